"""Checks of county-town density: DN01 built-up population density, DN02 floor area ÷
construction land.

The ``boundary`` polygons stand for the built-up area (建成区) the plans
measure against; one row per boundary polygon.  Population comes from
:func:`~compliance.rules.checks.common.population_of`: the zone's own
``population``, else parcels' ``population`` apportioned by area, else the
population raster (partial-pixel weighted).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ...reading.landuse import is_construction
from ...reading.scheme import Scheme
from ...wording import count_en
from ..measures.buildings import floor_area_m2, normalised_uses
from ..measures.density import (
    M2_PER_KM2,
    representative_points,
    sum_by_zone_containing,
)
from ..measures.geometry import union_area_inside_m2
from ..model import Rule
from ..registry import (
    Evaluation,
    Params,
    RuleDoc,
    compare,
    declare,
    label,
    make_rows,
    not_evaluated,
    register,
)
from .common import (
    boundary_or_missing,
    boundary_population,
    density_detail,
    fmt_int,
    missing_layer,
    population_source_zh,
)

# --------------------------------------------------------------------------- DN01, DN02


#: Values of ``boundary.zone_type`` that mark an ecological-function zone (生态功能区) or a
#: major agricultural-production zone (农产品主产区), DN01's condition (case-insensitive).
ZONE_TYPES = [
    "生态功能区",
    "重点生态功能区",
    "农产品主产区",
    "ecological",
    "agricultural",
]


class ZonedDensityParams(Params):
    """Parameters of the built-up density of zoned county towns (DN01).

    ``zone_types``: the ``boundary.zone_type`` values the clause applies to;
    None applies it to every boundary polygon.
    """

    zone_types: list[str] | None = Field(default_factory=lambda: list(ZONE_TYPES))


@register("population_density", ZonedDensityParams, unit="persons/km2")
def check_population_density(scheme: Scheme, rule: Rule, params: ZonedDensityParams) -> Evaluation:
    """DN01: population density of the built-up area, persons/km².

    Population of each boundary polygon (its ``population``, else parcels'
    apportioned, else the population raster) ÷ its area.  The clause covers
    county towns in ecological-function or major agricultural-production
    zones (位于生态功能区、农产品主产区的县城): only boundary polygons whose
    ``zone_type`` is one of ``zone_types`` are measured; without such a
    polygon the rule is not applicable (not evaluated, with the reason).
    """
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    outside = 0
    if params.zone_types is not None:
        wanted = ", ".join(params.zone_types)
        wanted_zh = "、".join(params.zone_types)
        if "zone_type" not in boundary.columns:
            return not_evaluated(
                "not applicable: the clause is about county towns in ecological-function or "
                "major agricultural-production zones, and the 'boundary' layer has no "
                f"'zone_type' field saying so (one of: {wanted})",
                "不适用：该条针对位于生态功能区、农产品主产区的县城，而规划范围图层 boundary "
                f"无 zone_type 字段说明其主体功能区类型（取值：{wanted_zh}）",
            )
        zone = boundary["zone_type"].astype("string").str.strip().str.lower()
        inside = zone.isin(normalised_uses(params.zone_types)).fillna(False).to_numpy(dtype=bool)
        if not inside.any():
            return not_evaluated(
                "not applicable: the clause is about county towns in ecological-function or "
                "major agricultural-production zones, and no 'boundary' polygon has such a "
                f"zone_type (one of: {wanted})",
                "不适用：该条针对位于生态功能区、农产品主产区的县城，而规划范围图层 boundary "
                f"中没有 zone_type 为上述类型的范围（取值：{wanted_zh}）",
            )
        outside = int((~inside).sum())
        boundary = boundary[inside]
    found = boundary_population(scheme, boundary)
    if isinstance(found, Evaluation):
        return found
    population, source, source_zh = found
    known = population.notna().to_numpy()
    b, pop, src, src_zh = boundary[known], population[known], source[known], source_zh[known]
    area_km2 = b.geometry.area / M2_PER_KM2
    density = pop / area_km2
    zh, en = label(b, "规划范围", "boundary")
    return Evaluation(
        make_rows(
            b,
            feature_id=b["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh=density_detail(pop, area_km2)[0]
            + "；"
            + population_source_zh(src).to_numpy(),
            detail_en=density_detail(pop, area_km2)[1],
            method="population (" + src + ") ÷ boundary area; the boundary taken as built-up",
            method_zh="人口（" + src_zh + "）÷ 规划范围面积；以规划范围作为建成区",
        ),
        skipped=int((~known).sum()) + outside,
        skip_reason="; ".join(
            t
            for t in (
                f"{int((~known).sum())} boundary polygons without population data"
                if (~known).any()
                else "",
                f"{outside} boundary polygons outside ecological-function and "
                "agricultural-production zones (zone_type)"
                if outside
                else "",
            )
            if t
        ),
        skip_reason_zh="；".join(
            t
            for t in (
                f"无人口数据的规划范围面 {int((~known).sum())} 个" if (~known).any() else "",
                f"不属于生态功能区、农产品主产区（zone_type）的规划范围面 {outside} 个"
                if outside
                else "",
            )
            if t
        ),
    )


class FloorAreaRatioParams(Params):
    """Parameters of floor area ÷ construction land (DN02)."""

    floor_height_m: float = Field(3.0, gt=0)


@register("floor_area_ratio", FloorAreaRatioParams, unit="ratio")
def check_floor_area_ratio(scheme: Scheme, rule: Rule, params: FloorAreaRatioParams) -> Evaluation:
    """DN02: total floor area ÷ construction-land area (建筑总面积与建设用地面积比值).

    Floor area of buildings whose representative point lies in each boundary
    polygon (:func:`compliance.rules.measures.buildings.floor_area_m2`: ``floor_area_m2``,
    else footprint × storeys, storeys from ``floors`` or ``height_m`` ÷
    ``floor_height_m`` rounded up; footprint-based areas estimated) ÷ the area of
    construction-land parcels (2023 classes 06–13, 15, 16; GB 50137 R, A, B,
    M, W, S, U, H) inside it, overlaps counted once.
    """
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    parcels = scheme.layer("parcels")
    if parcels is None or "land_use" not in parcels.columns:
        return not_evaluated(
            "the scheme has no 'parcels' layer with a 'land_use' field",
            "方案缺少带 land_use 字段的地块图层 parcels",
        )
    buildings = scheme.layer("buildings")
    if buildings is None:
        return missing_layer("buildings")
    area, estimated = floor_area_m2(buildings, params.floor_height_m)
    geoms = boundary.geometry.to_numpy()
    b_geoms = buildings.geometry.to_numpy()
    points = representative_points(b_geoms)
    total, count = sum_by_zone_containing(b_geoms, area.to_numpy(), geoms, points=points)
    n_est, _ = sum_by_zone_containing(
        b_geoms, np.where(area.notna(), estimated.astype(float), np.nan), geoms, points=points
    )
    construction = parcels.geometry[is_construction(parcels["land_use"])].to_numpy()
    land_m2 = union_area_inside_m2(construction, geoms)  # overlaps counted once
    usable = land_m2 > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(usable, total / land_m2, np.nan)
    b = boundary[usable]
    zh, en = label(b, "规划范围", "boundary")
    n_est_b = n_est[usable]
    est = n_est_b > 0
    est_zh = np.where(est, "，其中 " + fmt_int(n_est_b).to_numpy() + " 栋按基底面积×层数估算", "")
    est_en = np.where(
        est,
        " ("
        + fmt_int(n_est_b).to_numpy()
        + np.where(n_est_b == 1, " building", " buildings")
        + " estimated as footprint × floors)",
        "",
    )
    n_none, _ = sum_by_zone_containing(
        b_geoms, area.isna().to_numpy(dtype=float), geoms, points=points
    )
    none_b = n_none[usable]
    none_zh = np.where(
        none_b > 0,
        "；" + fmt_int(none_b).to_numpy() + " 栋无面积、层数与高度，未计入，比值偏低",
        "",
    )
    none_en = np.where(
        none_b > 0,
        "; "
        + fmt_int(none_b).to_numpy()
        + np.where(none_b == 1, " building", " buildings")
        + " without floor area, floors or height left out, so the ratio is low",
        "",
    )
    no_land, no_data = int((~usable).sum()), int(area.isna().sum())
    reasons = [
        f"{no_land} boundary polygons without construction-land parcels inside" if no_land else "",
        f"{count_en(no_data, 'building')} without floor_area_m2, floors or height_m"
        if no_data
        else "",
    ]
    reasons_zh = [
        f"范围内无建设用地地块的规划范围面 {no_land} 个" if no_land else "",
        f"无 floor_area_m2、floors 与 height_m 的建筑 {no_data} 栋" if no_data else "",
    ]
    return Evaluation(
        make_rows(
            b,
            feature_id=b["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=ratio[usable],
            passed=compare(rule, ratio[usable]),
            detail_zh="建筑总面积 "
            + fmt_int(total[usable]).to_numpy()
            + " 平方米（"
            + fmt_int(count[usable]).to_numpy()
            + " 栋"
            + est_zh
            + "），建设用地面积 "
            + fmt_int(land_m2[usable]).to_numpy()
            + " 平方米"
            + none_zh,
            detail_en="floor area "
            + fmt_int(total[usable]).to_numpy()
            + " m2 in "
            + fmt_int(count[usable]).to_numpy()
            + np.where(count[usable] == 1, " building", " buildings")
            + est_en
            + ", construction land "
            + fmt_int(land_m2[usable]).to_numpy()
            + " m2"
            + none_en,
            method=(
                "floor area of buildings whose representative point lies in the boundary "
                "polygon (floor_area_m2, else footprint × floors, floors from height_m ÷ "
                f"{params.floor_height_m:g} m rounded up) ÷ area of construction-land "
                "parcels inside it"
            ),
            method_zh=(
                "代表点位于规划范围面内的建筑的建筑面积（取 floor_area_m2 字段，否则按基底面积 × "
                f"层数，层数由 height_m ÷ {params.floor_height_m:g} 米向上取整）÷ 范围内"
                "建设用地地块的面积"
            ),
            estimated=est,
        ),
        skipped=no_land + no_data,
        skip_reason="; ".join(r for r in reasons if r),
        skip_reason_zh="；".join(r for r in reasons_zh if r),
        quantity_zh="建筑总面积与建设用地面积比值",
        quantity_en="floor area to construction land ratio",
    )


# --------------------------------------------------------------------------- rule types

_COUNTY_OPINION = "《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）"

declare(
    "DN01",
    title_zh="县城建成区人口密度",
    title_en="Population density of the county-town built-up area",
    check=check_population_density,
    layer="boundary",
    comparison="between",
    doc=RuleDoc(
        what="Population density of the county-town built-up area, persons/km².",
        why="County towns in ecological-function or major agricultural-production zones "
        "(位于生态功能区、农产品主产区的县城) are to be compact: 6,000–10,000 persons/km² of "
        "built-up area.",
        how=(
            "Population ÷ boundary area, for boundary polygons whose `zone_type` is "
            + " / ".join(ZONE_TYPES)
            + "; without such a polygon (or without the field) the rule is not applicable "
            "and says why."
        ),
        references=(_COUNTY_OPINION,),
    ),
)

declare(
    "DN02",
    title_zh="县城建筑总面积与建设用地面积比值",
    title_en="Floor area to construction land ratio (county town)",
    check=check_floor_area_ratio,
    layer="boundary",
    comparison="<=",
    doc=RuleDoc(
        what="Total floor area ÷ construction-land area of the county town "
        "(建筑总面积与建设用地面积比值).",
        why="County towns should not be built too densely: the ratio at most 0.8 "
        "(0.6–0.8 in Hebi).",
        how=("Building floor area inside ÷ construction-land parcels inside."),
        references=(_COUNTY_OPINION, "GB 50137-2011 城市用地分类与规划建设用地标准"),
    ),
)
