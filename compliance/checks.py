"""The checks: each binds a measure to a rule's limit and parameters.

Every check is registered under the ``measure`` name the rule files use, takes
the scheme (layers in a projected metric CRS), the rule and its validated
parameters, and returns an :class:`~compliance.registry.Evaluation`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from .catalogue import Rule
from .landuse import green_kind, is_construction, is_residential
from .measures.corridor import (
    cluster_pairs,
    min_width_m,
    narrower_than,
    net_corridors,
    passage_between,
)
from .measures.green import farthest_distance_m, merge_touching, service_area
from .measures.roads import strip_width_m
from .measures.structure import apportioned_population, area_km2
from .registry import Evaluation, Params, compare, label, make_rows, not_evaluated, register
from .scheme import Scheme

M2_PER_HA = 10_000.0

#: Green-space kinds as written in Chinese review opinions.
KIND_ZH = {"park": "公园绿地", "green": "绿地", "protective": "防护绿地"}


def _kinds_zh(kinds: list[str]) -> str:
    return "、".join(KIND_ZH.get(k, k) for k in kinds)


class NoParams(Params):
    """A check without parameters."""


#: Contract layers as a Chinese reviewer names them.
LAYER_ZH = {
    "clusters": "组团边界图层",
    "corridors": "生态廊道图层",
    "roads": "道路图层",
    "squares": "广场图层",
}


def missing_layer(name: str) -> Evaluation:
    """Not evaluated: the scheme has no such layer."""
    return not_evaluated(
        f"the scheme has no '{name}' layer", f"方案缺少{LAYER_ZH.get(name, '图层')} {name}"
    )


def _fmt_int(values: pd.Series | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float)).map(lambda v: f"{v:,.0f}")


def _fmt1(values: pd.Series | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float)).map(lambda v: f"{v:,.1f}")


# --------------------------------------------------------------------------- clusters


@register("cluster_area", NoParams)
def check_cluster_area(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """CL01: area of each cluster polygon, km²."""
    clusters = scheme.layer("clusters")
    if clusters is None:
        return missing_layer("clusters")
    area = area_km2(clusters.geometry)
    zh, en = label(clusters, "组团", "cluster")
    return Evaluation(
        make_rows(
            clusters,
            feature_id=clusters["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=area,
            passed=compare(rule, area),
            method=f"planar area of the cluster polygon in {scheme.crs_label}",
        )
    )


@register("cluster_density", NoParams)
def check_cluster_density(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """CL02: cluster population ÷ cluster area, persons/km².

    Population from the cluster's ``population`` attribute; where that is
    missing, summed from parcels' ``population`` apportioned by area share.
    """
    clusters = scheme.layer("clusters")
    if clusters is None:
        return missing_layer("clusters")
    own = (
        clusters["population"]
        if "population" in clusters.columns
        else pd.Series(np.nan, index=clusters.index)
    )
    parcels = scheme.layer("parcels")
    from_parcels = pd.Series(np.nan, index=clusters.index)
    if own.isna().any() and parcels is not None and "population" in parcels.columns:
        from_parcels = apportioned_population(clusters[own.isna()], parcels).reindex(clusters.index)
    population = own.fillna(from_parcels)
    usable = population.notna().to_numpy()
    if not usable.any():
        return not_evaluated(
            "no population: neither a 'population' field on clusters nor on parcels",
            "缺少人口数据：组团与地块均无 population 字段",
        )
    c = clusters[usable]
    pop = population[usable]
    area = area_km2(c.geometry)
    density = pop / area
    zh, en = label(c, "组团", "cluster")
    method = np.where(
        own[usable].notna(),
        "cluster 'population' attribute ÷ cluster area",
        "parcel 'population' apportioned by area share ÷ cluster area",
    )
    return Evaluation(
        make_rows(
            c,
            feature_id=c["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh="人口 "
            + _fmt_int(pop)
            + " 人，面积 "
            + _fmt1(area).str.replace(",", "")
            + " 平方公里",
            detail_en="population " + _fmt_int(pop) + ", area " + _fmt1(area) + " km2",
            method=method,
        ),
        skipped=int((~usable).sum()),
        skip_reason="no population for these clusters",
    )


# --------------------------------------------------------------------------- corridors


class CorridorWidthParams(Params):
    """Parameters of the corridor net-width measure."""

    min_narrow_area_m2: float = Field(10.0, ge=0)
    precision_m: float = Field(0.01, gt=0)


def corridor_obstacles(scheme: Scheme) -> gpd.GeoSeries | None:
    """Construction land and road land that do not count toward corridor width.

    Parcels whose ``land_use`` is construction land (2023 classes 06–13, 15,
    16; GB 50137 R, A, B, M, W, S, U, H), road-land polygons, and road
    centrelines buffered by half their ``red_line_width_m`` (roads without a
    width, such as footpaths, are not subtracted).
    """
    parts: list[np.ndarray] = []
    parcels = scheme.layer("parcels")
    if parcels is not None and "land_use" in parcels.columns:
        parts.append(parcels.geometry[is_construction(parcels["land_use"])].to_numpy())
    roads = scheme.layer("roads")
    if roads is not None:
        kind = roads.geometry.geom_type
        parts.append(roads.geometry[kind.str.contains("Polygon")].to_numpy())
        if "red_line_width_m" in roads.columns:
            lines = roads[kind.str.contains("LineString") & (roads["red_line_width_m"] > 0)]
            parts.append(
                shapely.buffer(
                    lines.geometry.to_numpy(),
                    lines["red_line_width_m"].to_numpy() / 2.0,
                    cap_style="flat",
                )
            )
    geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    if len(geoms) == 0:
        return None
    return gpd.GeoSeries(geoms, crs=scheme.crs)


@register("corridor_width", CorridorWidthParams)
def check_corridor_width(scheme: Scheme, rule: Rule, params: CorridorWidthParams) -> Evaluation:
    """EC01: minimum net width of each corridor, m; the narrowest stretch as geometry."""
    corridors = scheme.layer("corridors")
    if corridors is None:
        return missing_layer("corridors")
    net = net_corridors(corridors.geometry, corridor_obstacles(scheme))
    raw_width = min_width_m(
        net.to_numpy(),
        precision_m=params.precision_m,
        min_narrow_area_m2=params.min_narrow_area_m2,
    )
    # Reported (and compared) to 0.1 m: GEOS drops an eroded strip a few
    # hundredths of a metre before it vanishes, so a corridor drawn exactly
    # 100 m wide measures 99.98x m raw.
    width = np.round(raw_width, 1)
    passed = compare(rule, width)
    # The narrowest stretch: what an opening just wider than the minimum removes.
    step = max(1.0, 2 * params.precision_m)
    narrowest = narrower_than(net.to_numpy(), raw_width + step)
    below = shapely.area(narrower_than(net.to_numpy(), rule.limit))
    geoms = np.where(passed | shapely.is_empty(narrowest), net.to_numpy(), narrowest)
    zh, en = label(corridors, "生态廊道", "corridor")
    return Evaluation(
        make_rows(
            gpd.GeoSeries(geoms, crs=scheme.crs),
            feature_id=corridors["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=width,
            passed=passed,
            detail_zh=np.where(
                passed,
                "扣除建设用地和道路用地后的净宽度",
                "扣除建设用地和道路用地后，净宽度不足 "
                + f"{rule.limit:g}"
                + " 米的区段面积 "
                + _fmt_int(below)
                + " 平方米，图示为最窄处",
            ),
            detail_en=np.where(
                passed,
                "net of construction and road land",
                "net of construction and road land; "
                + _fmt_int(below)
                + f" m2 of it is narrower than {rule.limit:g} m; the narrowest stretch is drawn",
            ),
            method=(
                "minimum net width: corridor minus construction land and road land, "
                f"mitred morphological opening, bisection to {params.precision_m:g} m, "
                "reported to 0.1 m"
            ),
        ),
        quantity_zh="净宽度最窄处",
        quantity_en="narrowest net width",
    )


class ContinuityParams(Params):
    """Parameters of the corridor-continuity test."""

    search_distance_m: float = Field(1000.0, gt=0)
    min_break_area_m2: float = Field(10.0, ge=0)
    min_contact_m: float = Field(1.0, ge=0)


@register("corridor_continuity", ContinuityParams)
def check_corridor_continuity(scheme: Scheme, rule: Rule, params: ContinuityParams) -> Evaluation:
    """EC02: clusters within the search distance must be parted by a continuous corridor.

    A pair fails when the clusters are closer than the minimum corridor width
    (measured: the gap, m), or when a piece of the space between them not
    covered by the net corridors touches both (a break; measured: 0 m of
    corridor across it, its width in the message).
    """
    clusters = scheme.layer("clusters")
    if clusters is None:
        return missing_layer("clusters")
    if len(clusters) < 2:
        return not_evaluated(
            "fewer than two clusters in the 'clusters' layer", "组团边界图层中少于两个组团"
        )
    corridors = scheme.layer("corridors")
    pairs = cluster_pairs(clusters.geometry, params.search_distance_m)
    geoms = clusters.geometry.to_numpy()
    zh, en = label(clusters, "组团", "cluster")
    ids = clusters["feature_id"].to_numpy()
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    gap = pairs["gap_m"].to_numpy()
    too_close = ~compare(rule, gap)
    skipped = 0
    if corridors is None:
        broken = np.zeros(len(pairs), dtype=bool)
        widths = np.full(len(pairs), np.nan)
        breaks = np.full(len(pairs), None, dtype=object)
        skipped = int((~too_close).sum())
        pairs, i, j, gap, too_close = (
            pairs[too_close],
            i[too_close],
            j[too_close],
            gap[too_close],
            too_close[too_close],
        )
        broken, widths, breaks = broken[too_close], widths[too_close], breaks[too_close]
    else:
        net = net_corridors(corridors.geometry, corridor_obstacles(scheme))
        found = passage_between(
            clusters.geometry,
            pairs,
            net,
            min_area_m2=params.min_break_area_m2,
            min_contact_m=params.min_contact_m,
        )
        breaks = found["break"].to_numpy()
        widths = found["break_width_m"].to_numpy()
        broken = ~too_close & pd.notna(breaks)
    measured = np.where(broken, 0.0, gap)
    line = shapely.shortest_line(geoms[i], geoms[j])
    place = np.where(broken, breaks, line)
    subj_zh = zh.to_numpy()[i] + "与" + zh.to_numpy()[j] + "之间"
    subj_en = "between " + en.to_numpy()[i] + " and " + en.to_numpy()[j]
    detail_zh = np.where(
        too_close,
        "两组团最近距离 " + _fmt1(gap) + " 米，不足以布置生态廊道",
        np.where(
            broken,
            "组团间隙中有一处未被生态廊道覆盖的连通缺口，宽约 " + _fmt1(widths) + " 米",
            "组团间距 " + _fmt1(gap) + " 米，间隙由生态廊道贯通覆盖",
        ),
    )
    detail_en = np.where(
        too_close,
        "the clusters are " + _fmt1(gap) + " m apart, too close for a corridor",
        np.where(
            broken,
            "a gap not covered by the corridor connects the clusters, about "
            + _fmt1(widths)
            + " m wide",
            "the clusters are " + _fmt1(gap) + " m apart and the corridor spans the gap",
        ),
    )
    method = (
        "gap = shortest distance between cluster polygons; continuity = no piece of the gap "
        "(points within that distance of both clusters) left uncovered by the net corridors "
        "borders both clusters"
        + ("" if corridors is not None else " (not tested: no 'corridors' layer)")
    )
    return Evaluation(
        make_rows(
            gpd.GeoSeries(place, crs=scheme.crs),
            feature_id=ids[i].astype(str) + "+" + ids[j].astype(str),
            subject_zh=subj_zh,
            subject_en=subj_en,
            measured=measured,
            passed=~(too_close | broken),
            detail_zh=detail_zh,
            detail_en=detail_en,
            method=method,
        ),
        skipped=skipped,
        skip_reason="cluster pairs not tested for a break: the scheme has no 'corridors' layer",
        quantity_zh="可贯通的生态廊道宽度",
        quantity_en="width available to a continuous corridor",
    )


# --------------------------------------------------------------------------- roads


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
    zh, en = label(r, "道路", "road")
    zh = pd.Series(np.where(poly, zh.str.replace("道路", "道路用地", n=1), zh), index=r.index)
    detail_zh = np.where(estimated, "红线宽度按道路等级与车道数估算，需以规划红线核实", "")
    detail_en = np.where(
        estimated, "red line estimated from road class and lanes; verify against the plan", ""
    )
    reasons = []
    if excluded:
        reasons.append(f"{excluded} out of scope (class or not new)")
    if no_width:
        reasons.append(f"{no_width} without a red-line width")
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
            estimated=estimated,
        ),
        skipped=excluded + no_width,
        skip_reason="; ".join(reasons),
        quantity_zh="红线宽度",
        quantity_en="red-line width",
    )


# --------------------------------------------------------------------------- squares


@register("plaza_hard_area", NoParams)
def check_plaza_hard_area(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """SQ01: concentrated hard-surface area of each plaza, ha.

    From ``hard_area_m2`` where given, else the plaza polygon's area (saying so).
    """
    squares = scheme.layer("squares")
    if squares is None:
        return missing_layer("squares")
    attr = (
        squares["hard_area_m2"]
        if "hard_area_m2" in squares.columns
        else pd.Series(np.nan, index=squares.index)
    )
    has = attr.notna().to_numpy()
    area_m2 = np.where(has, attr.to_numpy(dtype=float), squares.area.to_numpy())
    ha = area_m2 / M2_PER_HA
    zh, en = label(squares, "广场", "plaza")
    return Evaluation(
        make_rows(
            squares,
            feature_id=squares["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=ha,
            passed=compare(rule, ha),
            detail_zh=np.where(
                has, "按 hard_area_m2 字段的集中硬地面积", "无硬地面积字段，按广场用地面积计"
            ),
            detail_en=np.where(
                has, "hard_area_m2 attribute", "no hard-surface area given: plaza polygon area"
            ),
            method=np.where(
                has,
                "hard_area_m2 attribute",
                f"plaza polygon area in {scheme.crs_label} (no hard_area_m2)",
            ),
        ),
        quantity_zh="集中硬地面积",
        quantity_en="concentrated hard-surface area",
    )


# --------------------------------------------------------------------------- green


def green_polygons(scheme: Scheme) -> gpd.GeoDataFrame | None:
    """Green spaces with their kind (``park``, ``green``, ``protective``).

    From the ``green_spaces`` layer (``kind`` missing → ``green``) and from
    parcels whose land use is park green (1401 / G1) or protective green
    (1402 / G2).  None when the scheme has neither.
    """
    frames = []
    gs = scheme.layer("green_spaces")
    if gs is not None:
        kind = (
            gs["kind"].astype("string").str.strip().str.lower().fillna("green")
            if "kind" in gs.columns
            else pd.Series("green", index=gs.index, dtype="string")
        )
        frames.append(
            gpd.GeoDataFrame(
                {"kind": kind.to_numpy()}, geometry=gs.geometry.to_numpy(), crs=scheme.crs
            )
        )
    parcels = scheme.layer("parcels")
    if parcels is not None and "land_use" in parcels.columns:
        kind = green_kind(parcels["land_use"])
        g = parcels[kind.notna()]
        frames.append(
            gpd.GeoDataFrame(
                {"kind": kind[kind.notna()].to_numpy()},
                geometry=g.geometry.to_numpy(),
                crs=scheme.crs,
            )
        )
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=scheme.crs)


def qualifying_greens(
    greens: gpd.GeoDataFrame, kinds: list[str], min_area_m2: float
) -> gpd.GeoSeries:
    """Green spaces of the given kinds, touching pieces merged, at least ``min_area_m2``."""
    merged = merge_touching(greens.geometry[greens["kind"].isin(kinds)])
    return merged[merged.area >= min_area_m2].reset_index(drop=True)


def residential_parcels(scheme: Scheme) -> gpd.GeoDataFrame | Evaluation:
    """Residential parcels (0701 / R), or the not-evaluated reason."""
    parcels = scheme.layer("parcels")
    if parcels is None or "land_use" not in parcels.columns:
        return not_evaluated(
            "the scheme has no 'parcels' layer with a 'land_use' field",
            "方案缺少带 land_use 字段的地块图层 parcels",
        )
    res = parcels[is_residential(parcels["land_use"])]
    if res.empty:
        return not_evaluated(
            "no residential parcel (land_use 0701 or R) in the scheme",
            "方案中没有居住用地地块（0701 或 R）",
        )
    return res


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
    greens = green_polygons(scheme)
    if greens is None:
        return not_evaluated(
            "no 'green_spaces' layer and no green parcels (1401/1402, G1/G2)",
            "方案缺少绿地图层 green_spaces，也无绿地地块（1401/1402、G1/G2）",
        )
    targets = qualifying_greens(greens, params.kinds, params.min_area_m2)
    cover = service_area(targets, rule.limit)
    geoms = res.geometry.to_numpy()
    uncovered = geoms if cover is None else shapely.difference(geoms, cover)
    un_area = shapely.area(uncovered)
    passed = un_area <= params.min_uncovered_m2
    distance = farthest_distance_m(
        res.geometry,
        targets,
        spacing_m=params.sample_spacing_m,
        extra=gpd.GeoSeries(np.where(passed, None, uncovered), crs=scheme.crs),
    )
    share = 100.0 * un_area / shapely.area(geoms)
    zh, en = label(res, "居住用地", "residential parcel")
    tier_zh = f"计入的绿地：{_kinds_zh(params.kinds)}，面积不小于 {params.min_area_m2:,.0f} 平方米"
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
                + _fmt_int(un_area)
                + " 平方米（占 "
                + _fmt1(share)
                + "%）；"
                + ("方案中没有符合条件的绿地；" if no_green else "")
                + tier_zh,
            ),
            detail_en=np.where(
                passed,
                f"counted: {', '.join(params.kinds)} of at least {params.min_area_m2:,.0f} m2",
                _fmt_int(un_area)
                + " m2 ("
                + _fmt1(share)
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
    greens = green_polygons(scheme)
    if greens is None:
        return not_evaluated(
            "no 'green_spaces' layer and no green parcels (1401/1402, G1/G2)",
            "方案缺少绿地图层 green_spaces，也无绿地地块（1401/1402、G1/G2）",
        )
    covers = [
        service_area(qualifying_greens(greens, t.kinds, t.min_area_m2), t.radius_m)
        for t in params.tiers  # a handful of tiers, not features
    ]
    cover = (
        shapely.union_all([c for c in covers if c is not None])
        if any(c is not None for c in covers)
        else None
    )
    land = shapely.union_all(res.geometry.to_numpy())
    total = shapely.area(land)
    uncovered = land if cover is None else shapely.difference(land, cover)
    share = 100.0 * (total - shapely.area(uncovered)) / total
    tiers_zh = "；".join(
        f"{_kinds_zh(t.kinds)} ≥ {t.min_area_m2:,.0f} 平方米按 {t.radius_m:g} 米"
        for t in params.tiers
    )
    tiers_en = "; ".join(
        f"{', '.join(t.kinds)} ≥ {t.min_area_m2:,.0f} m2 at {t.radius_m:g} m" for t in params.tiers
    )
    place = land if shapely.is_empty(uncovered) else uncovered
    outside_m2 = shapely.area(uncovered)
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
        )
    )
