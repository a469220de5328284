"""Checks of green space: service radius (服务半径) and coverage."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from ...reading.raster import class_share, covered_share, impervious_percent
from ...reading.scheme import Scheme
from ..measures.buildings import flag
from ..measures.density import (
    apportioned_sums,
    length_inside_m,
)
from ..measures.geometry import (
    dissolve,
    union_area_inside_m2,
    union_local,
)
from ..measures.green import max_distance_m, service_radii, uncovered_parts
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
    M2_PER_HA,
    M_PER_KM,
    PERSONS_PER_10K,
    SCALE_ZH,
    NoParams,
    boundary_or_missing,
    boundary_population,
    cover_note,
    fmt1,
    fmt_fixed,
    fmt_int,
    green_polygons,
    greens_or_reason,
    kinds_zh,
    missing_layer,
    population_source_zh,
    qualifying_greens,
    raster_name,
    residential_parcels,
)


class ServiceRadiusParams(Params):
    """Parameters of a service-radius rule: which green spaces count, when a parcel is short.

    ``min_uncovered_share``: a parcel is short of green when at least this
    share of it lies beyond the radius (a method parameter of ours, not a
    plan's limit); ``tolerance_m``: accuracy of the farthest distance.
    """

    kinds: list[str] = Field(default_factory=lambda: ["park", "green"])
    min_area_m2: float = Field(2000.0, ge=0)
    min_uncovered_share: float = Field(0.01, ge=0, le=1)
    min_uncovered_m2: float = Field(1.0, ge=0)
    tolerance_m: float = Field(0.1, gt=0)


def _farthest_m(
    geoms: np.ndarray,
    targets: np.ndarray,
    un_area: np.ndarray,
    passed: np.ndarray,
    radius: float,
    params: ServiceRadiusParams,
    passes: bool,
) -> np.ndarray:
    """Farthest distance to counted green of each parcel, m; see :func:`check_service_radius`.

    A parcel with nothing outside the service radii (buffers inscribed in
    the true radius) lies wholly within the radius: its farthest distance
    is at most ``radius``.  Unless passing findings are reported, such
    parcels are measured only when no other parcel is measured beyond
    ``radius + tolerance_m`` (then one of them may hold the worst value).
    """

    def farthest(parcels: np.ndarray) -> np.ndarray:
        return max_distance_m(parcels, targets, tolerance_m=params.tolerance_m, search_m=radius)

    need = ~passed | (un_area > 0)
    if passes or need.all():
        return farthest(geoms)
    distance = np.full(len(geoms), np.nan)
    distance[need] = farthest(geoms[need])
    if not np.nanmax(distance, initial=-np.inf) > radius + params.tolerance_m:
        distance[~need] = farthest(geoms[~need])
    return distance


@register("service_radius", ServiceRadiusParams, unit="m")
def check_service_radius(
    scheme: Scheme, rule: Rule, params: ServiceRadiusParams, *, passes: bool = True
) -> Evaluation:
    """GR01/GR02: each residential parcel lies within the radius (the limit) of green space.

    Straight-line radius buffered from the boundary of qualifying green
    spaces.  Measured: the farthest distance from any point of the parcel,
    interior included, to the nearest qualifying green space, m, within
    ``tolerance_m`` (:func:`~compliance.rules.measures.green.max_distance_m`).
    A parcel is short of green when at least ``min_uncovered_share`` of it
    (and more than ``min_uncovered_m2``) lies outside the radius; that part
    is drawn.  Otherwise it passes, and its finding states any small
    uncovered share.  Where the ``boundary`` is a study extent (``kind =
    extent``), a short parcel whose uncovered part lies within the radius of
    the extent's edge (green outside the data could serve it) warns instead
    of failing, and says why (``study_extent`` true marks one too, as
    ``import-osm`` writes).  The summary note gives the coverage rate of
    all residential land (服务半径覆盖率).

    With ``passes`` False (only violations reported) the farthest distance
    of a parcel wholly within the radius is not measured (NaN): it is at
    most the radius, and the summary's worst value comes from a parcel that
    is not, unless none is farther than the radius, when every parcel is
    measured.
    """
    res = residential_parcels(scheme)
    if isinstance(res, Evaluation):
        return res
    greens = greens_or_reason(scheme)
    if isinstance(greens, Evaluation):
        return greens
    targets = qualifying_greens(greens, params.kinds, params.min_area_m2)
    geoms = res.geometry.to_numpy()
    radius = rule.limit
    uncovered = uncovered_parts(geoms, service_radii(targets, radius))
    un_area = shapely.area(uncovered)
    area = shapely.area(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area > 0, un_area / area, 0.0)
    passed = (share < params.min_uncovered_share - 1e-12) | (un_area <= params.min_uncovered_m2)
    distance = _farthest_m(geoms, targets.to_numpy(), un_area, passed, radius, params, passes)
    # a study extent: the part farther than the radius inside its edge is surely uncovered
    doubtful = np.zeros(len(geoms), dtype=bool)
    boundary = scheme.layer("boundary")
    if boundary is not None and (~passed).any():
        kind = (
            boundary["kind"].astype("string").str.strip().str.lower()
            if "kind" in boundary.columns
            else pd.Series(pd.NA, index=boundary.index, dtype="string")
        )
        is_ext = (kind == "extent").fillna(False).to_numpy(dtype=bool)
        marked = flag(boundary, "study_extent")
        if marked is not None:
            is_ext |= marked.to_numpy(dtype=bool)
        ext = boundary.geometry[is_ext]
        if len(ext):
            inner = shapely.buffer(shapely.union_all(ext.to_numpy()), -radius)
            sure = shapely.area(shapely.intersection(uncovered[~passed], inner))
            with np.errstate(invalid="ignore", divide="ignore"):
                sure_share = np.where(area[~passed] > 0, sure / area[~passed], 0.0)
            doubtful[~passed] = (sure_share < params.min_uncovered_share - 1e-12) | (
                sure <= params.min_uncovered_m2
            )
    zh, en = label(res, "居住用地", "residential parcel")
    tier_zh = f"计入的绿地：{kinds_zh(params.kinds)}，面积不小于 {params.min_area_m2:,.0f} 平方米"
    tier_en = f"counted: {', '.join(params.kinds)} of at least {params.min_area_m2:,.0f} m2"
    no_green = len(targets) == 0
    pct = f"{params.min_uncovered_share:.0%}"
    un_zh = (
        "服务半径外面积 "
        + fmt_int(un_area)
        + " 平方米（占 "
        + pd.Series(fmt_fixed(100 * share, 2))
        + "%）"
    )
    un_en = (
        fmt_int(un_area) + " m2 (" + pd.Series(fmt_fixed(100 * share, 2)) + " %) outside the radius"
    )
    small = passed & (un_area > 0)
    detail_zh = np.where(
        passed,
        np.where(small, un_zh + f"，不足地块面积的 {pct}，视为覆盖；", "") + tier_zh,
        un_zh
        + "；"
        + np.where(
            doubtful,
            f"该部分均在研究范围边界 {radius:g} 米以内，范围外的绿地可能可以服务，列为提示；",
            "",
        )
        + ("方案中没有符合条件的绿地；" if no_green else "")
        + tier_zh,
    )
    detail_en = np.where(
        passed,
        np.where(small, un_en + f", under {pct} of the parcel, taken as covered; ", "") + tier_en,
        un_en
        + "; "
        + np.where(
            doubtful,
            f"all of it lies within {radius:g} m of the study extent's edge, where green "
            "outside the data could serve it, so this is a warning; ",
            "",
        )
        + ("no qualifying green space in the scheme; " if no_green else "")
        + tier_en,
    )
    total = float(area.sum())
    rate = 100.0 * (1.0 - float(un_area.sum()) / total) if total > 0 else float("nan")
    return Evaluation(
        make_rows(
            gpd.GeoSeries(np.where(passed, geoms, uncovered), crs=scheme.crs),
            feature_id=res["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=distance,
            passed=passed,
            detail_zh=detail_zh,
            detail_en=detail_en,
            method=(
                f"straight-line radius {radius:g} m from the boundary of "
                f"{', '.join(params.kinds)} ≥ {params.min_area_m2:g} m2; short of green when at "
                f"least {pct} of the parcel lies beyond it; farthest distance from any point "
                f"of the parcel (interior included) to counted green, within "
                f"{params.tolerance_m:g} m (branch and bound)"
            ),
            method_zh=(
                f"自面积不小于 {params.min_area_m2:,.0f} 平方米的{kinds_zh(params.kinds)}"
                f"边界按直线服务半径 {radius:g} 米作缓冲区；"
                f"地块在服务半径外的面积不少于其 {pct} 时判为未覆盖；"
                f"地块内任一点（含内部）至最近计入绿地的最远距离，精度 {params.tolerance_m:g} 米"
                "（分支定界）"
            ),
            doubtful=doubtful,
        ),
        quantity_zh="至最近计入绿地的最远距离",
        quantity_en="farthest distance to counted green space",
        note=f"coverage rate of all residential land within {radius:g} m: "
        f"{rate:.1f} % ({fmt_int(np.array([total - un_area.sum()]))[0]} of "
        f"{fmt_int(np.array([total]))[0]} m2)",
        note_zh=f"全部居住用地的 {radius:g} 米服务半径覆盖率 {rate:.1f}%"
        f"（{fmt_int(np.array([total - un_area.sum()]))[0]} / "
        f"{fmt_int(np.array([total]))[0]} 平方米）",
    )


class Tier(Params):
    """A size tier of park service radius."""

    kinds: list[str]
    min_area_m2: float = Field(ge=0)
    radius_m: float = Field(gt=0)


class CoverageParams(Params):
    """Parameters of the service-radius coverage share."""

    tiers: list[Tier]


@register("service_coverage", CoverageParams, unit="%")
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


# --------------------------------------------------------------------------- GR04, GR05


class GreenRatioParams(Params):
    """Parameters of the green-space ratio (GR04)."""

    kinds: list[str] = Field(default_factory=lambda: ["park", "green", "protective"])
    landcover_classes: list[float] = Field(default_factory=lambda: [10.0, 20.0, 30.0, 90.0, 95.0])


def _green_cover(
    scheme: Scheme, kinds: list[str], greens: gpd.GeoDataFrame | None = None
) -> np.ndarray | Evaluation:
    """Green spaces of the kinds, to be measured with overlaps counted once.

    Not evaluated without any green at all.  The polygons are not unioned
    here: :func:`~compliance.rules.measures.geometry.union_area_inside_m2` counts
    their overlaps once, zone by zone.
    """
    greens = greens_or_reason(scheme) if greens is None else greens
    if isinstance(greens, Evaluation):
        return greens
    return np.asarray(greens.geometry[greens["kind"].isin(kinds)].to_numpy(), dtype=object)


@register("green_ratio", GreenRatioParams, unit="%")
def check_green_ratio(scheme: Scheme, rule: Rule, params: GreenRatioParams) -> Evaluation:
    """GR04: green-space ratio of the built-up area (建成区绿地率), %.

    Green area inside each boundary polygon ÷ its area × 100.  Green area:
    ``green_spaces`` and green parcels (1401/G1, 1402/G2) of ``kinds``,
    merged so that overlapping or touching pieces count once.  Without any
    vector green, the land-cover raster: coverage-weighted share of cells in
    ``landcover_classes`` (ESA WorldCover codes; default 10 tree cover,
    20 shrubland, 30 grassland, 90 wetland, 95 mangroves).
    """
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    geoms = boundary.geometry.to_numpy()
    zh, en = label(boundary, "规划范围", "boundary")
    total_m2 = shapely.area(geoms)
    greens = green_polygons(scheme)
    landcover = scheme.rasters.get("landcover")
    if greens is None and landcover is not None:
        share = class_share(landcover, boundary.geometry, params.landcover_classes)
        known = share.notna().to_numpy()
        b = boundary[known]
        pct = 100.0 * share[known]
        cover_zh, cover_en = cover_note(covered_share(landcover, b.geometry))
        classes = ", ".join(f"{c:g}" for c in params.landcover_classes)
        return Evaluation(
            make_rows(
                b,
                feature_id=b["feature_id"],
                subject_zh=zh[known],
                subject_en=en[known],
                measured=pct,
                passed=compare(rule, pct),
                detail_zh="按土地覆盖栅格（ESA WorldCover 类别 " + classes + "）计" + cover_zh,
                detail_en="from the land-cover raster (ESA WorldCover classes "
                + classes
                + ")"
                + cover_en,
                method=(
                    f"land-cover raster {raster_name(landcover)}: coverage-weighted share of "
                    f"the boundary polygon in classes {classes}; the boundary taken as the "
                    "built-up area"
                ),
                method_zh=(
                    f"土地覆盖栅格 {raster_name(landcover)}：规划范围面内类别为 {classes} 的"
                    "面积占比，栅格按像元覆盖比例加权；以规划范围作为建成区"
                ),
            ),
            skipped=int((~known).sum()),
            skip_reason="boundary polygons outside the land-cover raster",
            skip_reason_zh="规划范围面位于土地覆盖栅格之外",
        )
    cover = _green_cover(scheme, params.kinds, greens)
    if isinstance(cover, Evaluation):
        return not_evaluated(
            "no 'green_spaces' layer, no green parcels (1401/1402, G1/G2) and no land-cover raster",
            "方案缺少绿地图层 green_spaces 与绿地地块（1401/1402、G1/G2），也无土地覆盖栅格",
        )
    green_m2 = union_area_inside_m2(cover, geoms)
    pct = 100.0 * green_m2 / total_m2
    return Evaluation(
        make_rows(
            boundary,
            feature_id=boundary["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=pct,
            passed=compare(rule, pct),
            detail_zh="绿地（"
            + kinds_zh(params.kinds)
            + "）面积 "
            + fmt1(green_m2 / M2_PER_HA)
            + " 公顷，范围面积 "
            + fmt1(total_m2 / M2_PER_HA)
            + " 公顷",
            detail_en="green ("
            + ", ".join(params.kinds)
            + ") "
            + fmt1(green_m2 / M2_PER_HA)
            + " ha of "
            + fmt1(total_m2 / M2_PER_HA)
            + " ha",
            method=(
                "area of green_spaces and green parcels of kinds "
                + ", ".join(params.kinds)
                + " (merged, overlaps counted once) inside the boundary polygon ÷ its area × 100; "
                "the boundary taken as the built-up area"
            ),
            method_zh=(
                "规划范围面内绿地图层 green_spaces 中的绿地与绿地地块（"
                + kinds_zh(params.kinds)
                + "；合并后重叠部分只计一次）的面积 ÷ 规划范围面积 × 100；以规划范围作为建成区"
            ),
        )
    )


class ParkPerCapitaParams(Params):
    """Parameters of park green per capita (GR05)."""

    kinds: list[str] = Field(default_factory=lambda: ["park"])


@register("park_per_capita", ParkPerCapitaParams, unit="m2/person")
def check_park_per_capita(scheme: Scheme, rule: Rule, params: ParkPerCapitaParams) -> Evaluation:
    """GR05: park green per capita (人均公园绿地面积), m²/person.

    Area of green spaces of ``kinds`` (default ``park``; park parcels
    1401/G1 included, overlaps counted once) inside each boundary polygon ÷
    its population (boundary ``population``, else parcels' ``population``
    apportioned by area share, else the population raster).
    """
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    cover = _green_cover(scheme, params.kinds)
    if isinstance(cover, Evaluation):
        return cover
    found = boundary_population(scheme, boundary)
    if isinstance(found, Evaluation):
        return found
    population, source, source_zh = found
    usable = (population > 0).to_numpy()
    b, pop = boundary[usable], population[usable]
    src, src_zh = source[usable], source_zh[usable]
    park_m2 = union_area_inside_m2(cover, b.geometry.to_numpy())
    per_capita = park_m2 / pop.to_numpy()
    zh, en = label(b, "规划范围", "boundary")
    return Evaluation(
        make_rows(
            b,
            feature_id=b["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=per_capita,
            passed=compare(rule, per_capita),
            detail_zh=kinds_zh(params.kinds)
            + "面积 "
            + fmt1(park_m2 / M2_PER_HA)
            + " 公顷，人口 "
            + fmt_int(pop)
            + " 人；"
            + population_source_zh(src).to_numpy(),
            detail_en=", ".join(params.kinds)
            + " "
            + fmt1(park_m2 / M2_PER_HA)
            + " ha, population "
            + fmt_int(pop),
            method=(
                "area of green spaces of kinds "
                + ", ".join(params.kinds)
                + " inside the boundary polygon ÷ population ("
                + src
                + ")"
            ),
            method_zh=("规划范围面内" + kinds_zh(params.kinds) + "面积 ÷ 人口（" + src_zh + "）"),
        ),
        skipped=int((~usable).sum()),
        skip_reason="boundary polygons without population data",
        skip_reason_zh="规划范围面无人口数据",
    )


@register("greenway_per_capita", NoParams, unit="km/10k persons")
def check_greenway_per_capita(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """GR06: greenway length per 10,000 persons (绿道长度/万人), km.

    Length of ``greenways`` inside each boundary polygon (km) ÷ its
    population × 10,000; population as GR05.
    """
    greenways = scheme.layer("greenways")
    if greenways is None:
        return missing_layer("greenways")
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    found = boundary_population(scheme, boundary)
    if isinstance(found, Evaluation):
        return found
    population, source, source_zh = found
    usable = (population > 0).to_numpy()
    b, pop = boundary[usable], population[usable]
    src, src_zh = source[usable], source_zh[usable]
    length_km = length_inside_m(greenways.geometry.to_numpy(), b.geometry.to_numpy()) / M_PER_KM
    per_10k = length_km / pop.to_numpy() * PERSONS_PER_10K
    zh, en = label(b, "规划范围", "boundary")
    return Evaluation(
        make_rows(
            b,
            feature_id=b["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=per_10k,
            passed=compare(rule, per_10k),
            detail_zh="绿道 "
            + fmt1(length_km)
            + " 公里，人口 "
            + fmt_int(pop)
            + " 人；"
            + population_source_zh(src).to_numpy(),
            detail_en="greenways " + fmt1(length_km) + " km, population " + fmt_int(pop),
            method="length of greenways inside the boundary polygon (km) ÷ population ("
            + src
            + ") × 10,000",
            method_zh="规划范围面内绿道长度（公里）÷ 人口（" + src_zh + "）× 10,000",
        ),
        skipped=int((~usable).sum()),
        skip_reason="boundary polygons without population data",
        skip_reason_zh="规划范围面无人口数据",
        quantity_zh="每万人拥有绿道长度",
        quantity_en="greenway length per 10,000 persons",
    )


# --------------------------------------------------------------------------- PM01


class PermeableParams(Params):
    """Parameters of the permeable-surface share (PM01)."""

    landcover_permeable_classes: list[float] = Field(
        default_factory=lambda: [10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 90.0, 95.0, 100.0]
    )


@register("permeable_share", PermeableParams, unit="%")
def check_permeable_share(scheme: Scheme, rule: Rule, params: PermeableParams) -> Evaluation:
    """PM01: permeable share of the built-up area (可渗透地面面积比例), %.

    Per boundary polygon, the first source that covers it:

    1. parcels' ``permeable_area_m2``: Σ permeable ÷ Σ area of the parcels
       that have it, each parcel apportioned by its share inside the polygon;
    2. the impervious raster: 100 − coverage-weighted mean imperviousness (%;
       values 0–1 read as fractions);
    3. the land-cover raster: coverage-weighted share of cells in
       ``landcover_permeable_classes`` (ESA WorldCover codes).
    """
    boundary = boundary_or_missing(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    parcels = scheme.layer("parcels")
    has_field = parcels is not None and "permeable_area_m2" in parcels.columns
    impervious = scheme.rasters.get("impervious")
    landcover = scheme.rasters.get("landcover")
    if not has_field and impervious is None and landcover is None:
        return not_evaluated(
            "no permeable surface data: no 'permeable_area_m2' field on parcels, "
            "no impervious raster and no land-cover raster",
            "缺少透水面数据：地块无 permeable_area_m2 字段，也无不透水面栅格或土地覆盖栅格",
        )
    idx = boundary.index
    pct = pd.Series(np.nan, index=idx)
    method = pd.Series("", index=idx, dtype=object)
    method_zh = pd.Series("", index=idx, dtype=object)
    det_zh = pd.Series("", index=idx, dtype=object)
    det_en = pd.Series("", index=idx, dtype=object)
    if has_field and parcels is not None:
        p = parcels[parcels["permeable_area_m2"].notna()]
        sums = apportioned_sums(boundary.geometry.to_numpy(), p, ["permeable_area_m2"])
        sums.index = idx
        ok = sums["area_m2"] > 0
        pct = pct.mask(ok, 100.0 * sums["permeable_area_m2"] / sums["area_m2"])
        method = method.mask(
            ok,
            "Σ parcels' permeable_area_m2 ÷ Σ area of the parcels that have it, "
            "apportioned by area share inside the boundary polygon",
        )
        method_zh = method_zh.mask(
            ok,
            "Σ 地块 permeable_area_m2 ÷ Σ 有该字段数据的地块面积，"
            "各地块按其在规划范围面内的面积比例分摊",
        )
        det_zh = det_zh.mask(
            ok,
            "按 "
            + fmt_int(sums["parcels"]).to_numpy()
            + " 块有透水面积数据的地块计：透水面积 "
            + fmt_int(sums["permeable_area_m2"]).to_numpy()
            + " 平方米，地块面积 "
            + fmt_int(sums["area_m2"]).to_numpy()
            + " 平方米",
        )
        det_en = det_en.mask(
            ok,
            "from "
            + fmt_int(sums["parcels"]).to_numpy()
            + np.where(sums["parcels"].to_numpy() == 1, " parcel", " parcels")
            + " with permeable_area_m2: "
            + fmt_int(sums["permeable_area_m2"]).to_numpy()
            + " m2 permeable of "
            + fmt_int(sums["area_m2"]).to_numpy()
            + " m2",
        )
    need = pct.isna()
    if need.any() and impervious is not None:
        sealed, scale = impervious_percent(impervious, boundary.geometry[need])
        sealed = sealed.reindex(idx)
        ok = need & sealed.notna()
        cover_zh, cover_en = cover_note(covered_share(impervious, boundary.geometry[ok]))
        pct = pct.mask(ok, 100.0 - sealed)
        method = method.mask(
            ok,
            f"100 − coverage-weighted mean of the impervious raster {raster_name(impervious)} "
            f"(values read as {scale}) over the boundary polygon",
        )
        method_zh = method_zh.mask(
            ok,
            f"100 − 不透水面栅格 {raster_name(impervious)} 在规划范围面内按像元覆盖比例加权的"
            f"平均值（数值按{SCALE_ZH.get(scale, scale)}读取）",
        )
        det_zh = det_zh.mask(
            ok,
            "按不透水面栅格计：不透水率 " + fmt1(sealed).to_numpy() + "%" + cover_zh.reindex(idx),
        )
        det_en = det_en.mask(
            ok,
            "from the impervious raster: "
            + fmt1(sealed).to_numpy()
            + " % sealed"
            + cover_en.reindex(idx),
        )
    need = pct.isna()
    if need.any() and landcover is not None:
        share = class_share(
            landcover, boundary.geometry[need], params.landcover_permeable_classes
        ).reindex(idx)
        ok = need & share.notna()
        cover_zh, cover_en = cover_note(covered_share(landcover, boundary.geometry[ok]))
        classes = ", ".join(f"{c:g}" for c in params.landcover_permeable_classes)
        pct = pct.mask(ok, 100.0 * share)
        method = method.mask(
            ok,
            f"coverage-weighted share of the land-cover raster {raster_name(landcover)} "
            f"in permeable classes {classes} over the boundary polygon",
        )
        method_zh = method_zh.mask(
            ok,
            f"土地覆盖栅格 {raster_name(landcover)} 中透水类别 {classes} 在规划范围面内的"
            "面积占比，栅格按像元覆盖比例加权",
        )
        det_zh = det_zh.mask(
            ok, "按土地覆盖栅格（ESA WorldCover 类别 " + classes + "）计" + cover_zh.reindex(idx)
        )
        det_en = det_en.mask(
            ok,
            "from the land-cover raster (ESA WorldCover classes "
            + classes
            + ")"
            + cover_en.reindex(idx),
        )
    known = pct.notna().to_numpy()
    b = boundary[known]
    zh, en = label(b, "规划范围", "boundary")
    return Evaluation(
        make_rows(
            b,
            feature_id=b["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=pct[known],
            passed=compare(rule, pct[known]),
            detail_zh=det_zh[known],
            detail_en=det_en[known],
            method=method[known] + "; the boundary taken as the built-up area",
            method_zh=method_zh[known] + "；以规划范围作为建成区",
        ),
        skipped=int((~known).sum()),
        skip_reason="boundary polygons without permeable surface data",
        skip_reason_zh="规划范围面无透水面数据",
    )


# --------------------------------------------------------------------------- rule types

_GARDEN_CITY = "国家园林城市评选标准（住房和城乡建设部，2022）"
_GREEN_STANDARDS = ("GB/T 51346-2019 城市绿地规划标准", "CJJ/T 85-2017 城市绿地分类标准")

declare(
    "GR01",
    title_zh="300米见绿",
    title_en="Green space within 300 m of residential land",
    check=check_service_radius,
    layer="parcels",
    comparison="<=",
    params={"kinds": ["park", "green"], "min_area_m2": 2000.0},
    doc=RuleDoc(
        what="Whether residential land lies within 300 m of green space (300米见绿), m.",
        why="The plans adopt the garden-city walking standard 300米见绿、500米见园.",
        how=(
            "Straight-line radius from the boundary of green spaces (parks and green ≥ "
            "2,000 m², touching pieces merged); a residential parcel (0701 / R) is short "
            "of green when at least 1 % of it (`min_uncovered_share`, a method parameter) "
            "lies outside, else it passes and states its small uncovered share; measured: "
            "the farthest distance from any point of the parcel, interior included, to "
            "counted green (within 0.1 m); the uncovered part drawn.  On a study extent "
            "(`kind = extent`) a parcel uncovered only within the radius of the extent's "
            "edge warns.  The summary note gives the coverage rate of all residential land."
        ),
        references=(_GARDEN_CITY, *_GREEN_STANDARDS),
    ),
)

declare(
    "GR02",
    title_zh="500米见园",
    title_en="Park within 500 m of residential land",
    check=check_service_radius,
    layer="parcels",
    comparison="<=",
    params={"kinds": ["park"], "min_area_m2": 5000.0},
    doc=RuleDoc(
        what="Whether residential land lies within 500 m of a park (500米见园), m.",
        why="The plans adopt the garden-city walking standard 300米见绿、500米见园.",
        how=("As GR01 with parks ≥ 5,000 m²."),
        references=(_GARDEN_CITY, *_GREEN_STANDARDS),
    ),
)

declare(
    "GR03",
    title_zh="城市公园绿地服务半径覆盖率",
    title_en="Park service-radius coverage of residential land",
    check=check_service_coverage,
    layer="parcels",
    comparison=">=",
    params={
        "tiers": [
            {"kinds": ["park"], "min_area_m2": 5000.0, "radius_m": 500.0},
            {"kinds": ["park"], "min_area_m2": 2000.0, "radius_m": 300.0},
        ]
    },
    doc=RuleDoc(
        what="Park service-radius coverage rate (公园绿地服务半径覆盖率) of residential land, %.",
        why="Hebi asks for 99 % by 2025, Jiaozuo 82 %.",
        how=(
            "Covered residential area ÷ all residential area; parks ≥ 5,000 m² at 500 m, "
            "≥ 2,000 m² at 300 m."
        ),
        references=_GREEN_STANDARDS,
    ),
)

declare(
    "GR04",
    title_zh="城市建成区绿地率",
    title_en="Green-space ratio of the built-up area",
    check=check_green_ratio,
    layer="boundary",
    comparison=">=",
    params={"kinds": ["park", "green", "protective"]},
    doc=RuleDoc(
        what="Green-space ratio of the built-up area (建成区绿地率), %.",
        why="The plans set a minimum green-space ratio for the built-up area.",
        how=(
            "Green spaces and green parcels (merged) inside the boundary ÷ its area; else "
            "the land-cover raster's green classes."
        ),
        references=("CJJ/T 85-2017 城市绿地分类标准",),
    ),
)

declare(
    "GR05",
    title_zh="城市人均公园绿地面积",
    title_en="Park green space per capita",
    check=check_park_per_capita,
    layer="boundary",
    comparison=">=",
    params={"kinds": ["park"]},
    doc=RuleDoc(
        what="Park green space per capita (人均公园绿地面积), m²/person.",
        why="Xinjiang's plan asks for 15 m² of park per person.",
        how=("Park area inside the boundary ÷ population."),
        references=("CJJ/T 85-2017 城市绿地分类标准",),
    ),
)

declare(
    "GR06",
    title_zh="城市建成区绿道长度",
    title_en="Greenway length per 10,000 people",
    check=check_greenway_per_capita,
    layer="greenways",
    comparison=">",
    doc=RuleDoc(
        what="Greenway (绿道) length per 10,000 people, km.",
        why="Hebi asks for more than 3.5 km of greenway per 10,000 people by 2030.",
        how=("`greenways` length inside the boundary ÷ population × 10,000."),
        references=("《绿道规划设计导则》（住房和城乡建设部，2016）",),
    ),
)

declare(
    "PM01",
    title_zh="城市建成区可渗透地面面积比例",
    title_en="Permeable share of the built-up area",
    check=check_permeable_share,
    layer="boundary",
    comparison=">=",
    doc=RuleDoc(
        what="Permeable share of the built-up area (可渗透地面面积比例), %.",
        why="Sponge-city targets: at least 40 % permeable by 2025 and 45 % by 2030.",
        how=(
            "Parcels' `permeable_area_m2`, else 100 − the imperviousness raster's "
            "coverage-weighted mean, else the land-cover raster's permeable classes."
        ),
        references=("GB/T 51345-2018 海绵城市建设评价标准",),
    ),
)
