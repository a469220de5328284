"""Checks of urban resilience (城市韧性): waterlogging points (易涝积水点), WL01."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ...reading.scheme import Scheme
from ..measures.buildings import flag
from ..model import Rule
from ..registry import Evaluation, Params, RuleDoc, compare, declare, make_rows, register
from .common import missing_layer


class WaterloggingParams(Params):
    """Parameters of the waterlogging-point check (WL01)."""

    within_boundary: bool = True


@register("waterlogging_points", WaterloggingParams, unit="points")
def check_waterlogging_points(scheme: Scheme, rule: Rule, params: WaterloggingParams) -> Evaluation:
    """WL01: waterlogging points (易涝积水点) of the built-up area not eliminated, count.

    Points of the ``waterlogging_points`` layer not ``resolved``, counting
    only those ``severe`` (严重影响生产生活安全) when the field is given,
    and only those within the ``boundary`` (the built-up area) when the
    scheme has one and ``within_boundary``.  One row ``*``; its geometry is
    the points still to be eliminated (the boundary when there are none).
    """
    pts = scheme.layer("waterlogging_points")
    if pts is None:
        return missing_layer("waterlogging_points")
    keep = np.ones(len(pts), dtype=bool)
    skipped_en, skipped_zh = [], []
    severe = flag(pts, "severe")
    if severe is not None:
        n = int((~severe.to_numpy()).sum())
        if n:
            skipped_en.append(f"{n} not severe")
            skipped_zh.append(f"非严重影响生产生活安全的积水点 {n} 处")
        keep &= severe.to_numpy()
    boundary = scheme.layer("boundary")
    if params.within_boundary and boundary is not None and not boundary.empty:
        area = shapely.union_all(boundary.geometry.to_numpy())
        inside = shapely.intersects(pts.geometry.to_numpy(), area)
        n = int((keep & ~inside).sum())
        if n:
            skipped_en.append(f"{n} outside the boundary")
            skipped_zh.append(f"规划范围外 {n} 处")
        keep &= inside
    s = pts[keep]
    resolved = flag(s, "resolved")
    open_ = ~resolved.to_numpy() if resolved is not None else np.ones(len(s), dtype=bool)
    count = float(open_.sum())
    geoms = s.geometry.to_numpy()
    if open_.any():
        place = shapely.union_all(geoms[open_])
    elif boundary is not None and not boundary.empty:
        place = shapely.union_all(boundary.geometry.to_numpy())
    else:
        place = shapely.union_all(geoms) if len(geoms) else None
    ids = s["feature_id"].astype(str).to_numpy()[open_][:5]
    more = int(count) > 5
    no_field_zh = "；图层无 resolved 字段，全部视为未消除" if resolved is None else ""
    no_field_en = "; no 'resolved' field: all taken as not eliminated" if resolved is None else ""
    detail_zh = (
        f"未消除的积水点编号 {'、'.join(ids)}{'等' if more else ''}" if count else "均已消除"
    ) + f"；纳入统计 {len(s):,} 处{no_field_zh}"
    detail_en = (
        f"not eliminated: {', '.join(ids)}{', …' if more else ''}" if count else "all eliminated"
    ) + f"; {len(s):,} counted{no_field_en}"
    return Evaluation(
        make_rows(
            gpd.GeoSeries([place], crs=scheme.crs),
            feature_id="*",
            subject_zh="规划范围内",
            subject_en="within the boundary",
            measured=[count],
            passed=compare(rule, np.array([count])),
            detail_zh=detail_zh,
            detail_en=detail_en,
            method="waterlogging_points not resolved (severe ones when 'severe' is given) "
            "within the boundary, counted",
            method_zh="规划范围内 resolved 字段不为是的易涝积水点"
            "（有 severe 字段时仅计严重者）的个数",
        ),
        skipped=len(pts) - len(s),
        skip_reason="; ".join(skipped_en),
        skip_reason_zh="；".join(skipped_zh),
        quantity_zh="未消除易涝积水点",
        quantity_en="waterlogging points not eliminated",
    )


declare(
    "WL01",
    title_zh="城市建成区易涝积水点消除",
    title_en="Waterlogging points of the built-up area eliminated",
    check=check_waterlogging_points,
    layer="waterlogging_points",
    comparison="<=",
    doc=RuleDoc(
        what="The number of waterlogging points (易涝积水点) of the built-up area that are "
        "not eliminated.",
        why="Bayannur: by 2025 eliminate the waterlogging points of the built-up area that "
        "seriously affect production and life (全面消除…易涝积水点).",
        how="Points of the `waterlogging_points` layer without `resolved` true, only those "
        "`severe` when the field is given, within the `boundary`; the limit is 0.",
        references=(
            "GB 51222-2017 城镇内涝防治技术规范 (Technical code for urban flooding prevention)",
        ),
    ),
)
