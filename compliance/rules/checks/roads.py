"""Checks of roads: red-line width (道路红线宽度)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ...reading.scheme import Scheme
from ..catalogue import Rule
from ..measures.roads import strip_width_m
from ..registry import Evaluation, Params, compare, label, make_rows, not_evaluated, register
from .common import (
    missing_layer,
)


class RedLineParams(Params):
    """Parameters of the red-line width check."""

    exclude_classes: list[str] = Field(default_factory=list)
    new_only: bool = False


@register("red_line_width", RedLineParams)
def check_red_line_width(scheme: Scheme, rule: Rule, params: RedLineParams) -> Evaluation:
    """RD01: red-line width of each road, m.

    From ``red_line_width_m`` on centrelines (marked estimated when the
    layer's ``width_source`` says so), or measured across road-land polygons.
    """
    roads = scheme.layer("roads")
    if roads is None:
        return missing_layer("roads")
    keep = pd.Series(True, index=roads.index)
    if params.exclude_classes and "road_class" in roads.columns:
        keep &= ~roads["road_class"].astype("string").isin(params.exclude_classes).fillna(False)
    if params.new_only:
        if "is_new" not in roads.columns:
            return not_evaluated(
                "the rule covers new roads only and the 'roads' layer has no 'is_new' field",
                "该条仅适用于新规划道路，道路图层缺少 is_new 字段",
            )
        keep &= roads["is_new"].astype(bool)
    is_poly = roads.geometry.geom_type.str.contains("Polygon")
    attr = (
        roads["red_line_width_m"]
        if "red_line_width_m" in roads.columns
        else pd.Series(np.nan, index=roads.index)
    )
    width = attr.where(~is_poly, strip_width_m(roads.geometry.where(is_poly)))
    usable = keep & width.notna()
    excluded = int((~keep).sum())
    no_width = int((keep & width.isna()).sum())
    r = roads[usable]
    if r.empty:
        return not_evaluated(
            "no road in scope has a 'red_line_width_m' value or a road-land polygon",
            "范围内道路均无红线宽度 red_line_width_m，也无道路用地面域",
        )
    w = width[usable]
    src = (
        r["width_source"].astype("string").fillna("attribute")
        if "width_source" in r.columns
        else pd.Series("attribute", index=r.index, dtype="string")
    )
    estimated = src.str.startswith("estimated").fillna(False).to_numpy() & ~is_poly[usable]
    poly = is_poly[usable].to_numpy()
    method = np.where(
        poly,
        "width of the road-land polygon across its centreline, w = (P − √(P² − 16A)) / 4",
        np.where(
            estimated,
            "red line estimated from road class and lanes (" + src.to_numpy() + ")",
            "red_line_width_m attribute",
        ),
    )
    method_zh = np.where(
        poly,
        "道路用地面垂直于中心线方向的宽度，w = (P − √(P² − 16A)) / 4",
        np.where(
            estimated,
            "道路红线宽度按道路等级与车道数估算（" + src.to_numpy() + "）",
            "道路红线宽度取自 red_line_width_m 字段",
        ),
    )
    zh, en = label(r, "道路", "road")
    zh = pd.Series(np.where(poly, zh.str.replace("道路", "道路用地", n=1), zh), index=r.index)
    detail_zh = np.where(estimated, "红线宽度按道路等级与车道数估算，需以规划红线核实", "")
    detail_en = np.where(
        estimated, "red line estimated from road class and lanes; verify against the plan", ""
    )
    reasons, reasons_zh = [], []
    if excluded:
        reasons.append(f"{excluded} out of scope (class or not new)")
        reasons_zh.append(f"道路等级不适用或非新建 {excluded} 条")
    if no_width:
        reasons.append(f"{no_width} without a red-line width")
        reasons_zh.append(f"无红线宽度 {no_width} 条")
    return Evaluation(
        make_rows(
            r,
            feature_id=r["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=w,
            passed=compare(rule, w),
            detail_zh=detail_zh,
            detail_en=detail_en,
            method=method,
            method_zh=method_zh,
            estimated=estimated,
        ),
        skipped=excluded + no_width,
        skip_reason="; ".join(reasons),
        skip_reason_zh="；".join(reasons_zh),
        quantity_zh="红线宽度",
        quantity_en="red-line width",
    )


# --------------------------------------------------------------------------- squares
