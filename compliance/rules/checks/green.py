"""Checks of green space: service radius (服务半径) and coverage."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pydantic import Field

from ...reading.scheme import Scheme
from ..catalogue import Rule
from ..measures.geometry import dissolve, union_local
from ..measures.green import farthest_distance_m, service_radii, uncovered_parts
from ..registry import Evaluation, Params, compare, label, make_rows, register
from .common import (
    fmt1,
    fmt_int,
    greens_or_reason,
    kinds_zh,
    qualifying_greens,
    residential_parcels,
)


class ServiceRadiusParams(Params):
    """Parameters of a service-radius rule: which green spaces count."""

    kinds: list[str] = Field(default_factory=lambda: ["park", "green"])
    min_area_m2: float = Field(2000.0, ge=0)
    min_uncovered_m2: float = Field(1.0, ge=0)
    sample_spacing_m: float = Field(10.0, gt=0)


@register("service_radius", ServiceRadiusParams)
def check_service_radius(scheme: Scheme, rule: Rule, params: ServiceRadiusParams) -> Evaluation:
    """GR01/GR02: each residential parcel lies within the radius (the limit) of green space.

    Straight-line radius buffered from the boundary of qualifying green
    spaces.  Measured: the farthest distance from the parcel to the nearest
    qualifying green space, m.  A parcel fails when more than
    ``min_uncovered_m2`` of it lies outside the radius; that part is drawn.
    """
    res = residential_parcels(scheme)
    if isinstance(res, Evaluation):
        return res
    greens = greens_or_reason(scheme)
    if isinstance(greens, Evaluation):
        return greens
    targets = qualifying_greens(greens, params.kinds, params.min_area_m2)
    geoms = res.geometry.to_numpy()
    uncovered = uncovered_parts(geoms, service_radii(targets, rule.limit))
    un_area = shapely.area(uncovered)
    passed = un_area <= params.min_uncovered_m2
    outside = uncovered.copy()
    outside[passed] = None  # the uncovered parts of failing parcels are sampled too
    distance = farthest_distance_m(
        res.geometry,
        targets,
        spacing_m=params.sample_spacing_m,
        extra=gpd.GeoSeries(outside, crs=scheme.crs),
        search_m=rule.limit,
    )
    share = 100.0 * un_area / shapely.area(geoms)
    zh, en = label(res, "居住用地", "residential parcel")
    tier_zh = f"计入的绿地：{kinds_zh(params.kinds)}，面积不小于 {params.min_area_m2:,.0f} 平方米"
    no_green = len(targets) == 0
    return Evaluation(
        make_rows(
            gpd.GeoSeries(np.where(passed, geoms, uncovered), crs=scheme.crs),
            feature_id=res["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=distance,
            passed=passed,
            detail_zh=np.where(
                passed,
                tier_zh,
                "服务半径外面积 "
                + fmt_int(un_area)
                + " 平方米（占 "
                + fmt1(share)
                + "%）；"
                + ("方案中没有符合条件的绿地；" if no_green else "")
                + tier_zh,
            ),
            detail_en=np.where(
                passed,
                f"counted: {', '.join(params.kinds)} of at least {params.min_area_m2:,.0f} m2",
                fmt_int(un_area)
                + " m2 ("
                + fmt1(share)
                + "%) outside the radius; "
                + ("no qualifying green space in the scheme; " if no_green else "")
                + f"counted: {', '.join(params.kinds)} of at least {params.min_area_m2:,.0f} m2",
            ),
            method=(
                f"straight-line radius {rule.limit:g} m from the boundary of "
                f"{', '.join(params.kinds)} ≥ {params.min_area_m2:g} m2; "
                "farthest distance sampled every "
                f"{params.sample_spacing_m:g} m on the parcel boundary"
            ),
            method_zh=(
                f"自面积不小于 {params.min_area_m2:g} 平方米的{kinds_zh(params.kinds)}"
                f"（{', '.join(params.kinds)}）边界按直线服务半径 {rule.limit:g} 米作缓冲区；"
                f"至最近计入绿地的最远距离沿地块边界每 {params.sample_spacing_m:g} 米取样量测"
            ),
        ),
        quantity_zh="至最近计入绿地的最远距离",
        quantity_en="farthest distance to counted green space",
    )


class Tier(Params):
    """A size tier of park service radius."""

    kinds: list[str]
    min_area_m2: float = Field(ge=0)
    radius_m: float = Field(gt=0)


class CoverageParams(Params):
    """Parameters of the service-radius coverage share."""

    tiers: list[Tier]


@register("service_coverage", CoverageParams)
def check_service_coverage(scheme: Scheme, rule: Rule, params: CoverageParams) -> Evaluation:
    """GR03: share of residential land inside the park service radii, %.

    Covered residential area ÷ all residential area × 100, with each tier's
    parks (kinds, minimum area) buffered by the tier's radius.  One finding
    for the whole scheme; the uncovered residential land is drawn.
    """
    res = residential_parcels(scheme)
    if isinstance(res, Evaluation):
        return res
    greens = greens_or_reason(scheme)
    if isinstance(greens, Evaluation):
        return greens
    radii = np.concatenate(
        [
            service_radii(qualifying_greens(greens, t.kinds, t.min_area_m2), t.radius_m)
            for t in params.tiers  # a handful of tiers, not features
        ]
    )
    # Parcels drawn over each other are merged first (overlaps counted once);
    # then per piece only the radii that reach it are subtracted (no global union).
    pieces = dissolve(res.geometry.to_numpy())
    parts = uncovered_parts(pieces, radii)
    total = float(shapely.area(pieces).sum())
    outside_m2 = float(shapely.area(parts).sum())
    uncovered = union_local(parts)
    share = 100.0 * (total - outside_m2) / total
    tiers_zh = "；".join(
        f"{kinds_zh(t.kinds)} ≥ {t.min_area_m2:,.0f} 平方米按 {t.radius_m:g} 米"
        for t in params.tiers
    )
    tiers_en = "; ".join(
        f"{', '.join(t.kinds)} ≥ {t.min_area_m2:,.0f} m2 at {t.radius_m:g} m" for t in params.tiers
    )
    place = union_local(pieces) if shapely.is_empty(uncovered) else uncovered
    return Evaluation(
        make_rows(
            gpd.GeoSeries([place], crs=scheme.crs),
            feature_id="*",
            subject_zh="全部居住用地",
            subject_en="all residential land",
            measured=[share],
            passed=compare(rule, np.array([share])),
            detail_zh=f"居住用地 {total:,.0f} 平方米，服务半径外 {outside_m2:,.0f} 平方米；"
            + tiers_zh,
            detail_en=f"residential land {total:,.0f} m2, {outside_m2:,.0f} m2 outside; "
            + tiers_en,
            method="covered residential area ÷ all residential area; straight-line radii: "
            + tiers_en,
            method_zh="服务半径覆盖的居住用地面积 ÷ 全部居住用地面积；直线服务半径：" + tiers_zh,
        )
    )
