"""Checks of urban structure: clusters (组团) and ecological corridors (生态廊道)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field
from shapely import STRtree

from ...reading.landuse import is_construction
from ...reading.scheme import Scheme
from ..catalogue import Rule
from ..measures.corridor import (
    cluster_pairs,
    min_width_m,
    narrower_than,
    net_corridors,
    passage_between,
)
from ..measures.structure import area_km2
from ..registry import Evaluation, Params, compare, label, make_rows, not_evaluated, register
from .common import (
    POP_FROM_ATTRIBUTE,
    POP_METHOD_ZH,
    NoParams,
    density_detail,
    fmt1,
    fmt_int,
    missing_layer,
    population_of,
)


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
            method_zh=f"组团边界面在 {scheme.crs_label} 中的平面面积",
        )
    )


@register("cluster_density", NoParams)
def check_cluster_density(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """CL02: cluster population ÷ cluster area, persons/km².

    Population from the cluster's ``population`` attribute; where that is
    missing, summed from parcels' ``population`` apportioned by area share;
    where neither gives one, the population raster summed with partial-pixel
    weights (:func:`~compliance.rules.checks.common.population_of`).
    """
    clusters = scheme.layer("clusters")
    if clusters is None:
        return missing_layer("clusters")
    own = (
        clusters["population"]
        if "population" in clusters.columns
        else pd.Series(np.nan, index=clusters.index)
    )
    population, source, source_zh = population_of(scheme, clusters, own)
    usable = population.notna().to_numpy()
    if not usable.any():
        return not_evaluated(
            "no population: no 'population' field on clusters or parcels and no population raster",
            "缺少人口数据：组团与地块均无 population 字段，也无人口栅格",
        )
    c = clusters[usable]
    pop = population[usable]
    area = area_km2(c.geometry)
    density = pop / area
    zh, en = label(c, "组团", "cluster")
    method = (
        source[usable].replace(POP_FROM_ATTRIBUTE, "cluster " + POP_FROM_ATTRIBUTE)
        + " ÷ cluster area"
    )
    method_zh = (
        source_zh[usable].replace(
            POP_METHOD_ZH[POP_FROM_ATTRIBUTE], "组团 " + POP_METHOD_ZH[POP_FROM_ATTRIBUTE]
        )
        + " ÷ 组团面积"
    )
    return Evaluation(
        make_rows(
            c,
            feature_id=c["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh=density_detail(pop, area)[0],
            detail_en=density_detail(pop, area)[1],
            method=method,
            method_zh=method_zh,
        ),
        skipped=int((~usable).sum()),
        skip_reason="no population for these clusters",
        skip_reason_zh="组团无人口数据",
    )


# --------------------------------------------------------------------------- corridors


class CorridorWidthParams(Params):
    """Parameters of the corridor net-width measure."""

    min_narrow_area_m2: float = Field(10.0, ge=0)
    precision_m: float = Field(0.01, gt=0)


def corridor_obstacles(scheme: Scheme, near: np.ndarray | None = None) -> gpd.GeoSeries | None:
    """Construction land and road land that do not count toward corridor width.

    Parcels whose ``land_use`` is construction land (2023 classes 06–13, 15,
    16; GB 50137 R, A, B, M, W, S, U, H), road-land polygons, and road
    centrelines buffered by half their ``red_line_width_m`` (roads without a
    width, such as footpaths, are not subtracted).

    Parameters
    ----------
    scheme : Scheme
    near : numpy.ndarray of Polygon, optional
        The corridors: only obstacles that can reach them are made (a city's
        roads are not all buffered to cut a few corridors).
    """
    parts: list[np.ndarray] = []
    tree = None if near is None else STRtree(np.asarray(near, dtype=object))

    def reaching(geoms: np.ndarray, reach_m: float = 0.0) -> np.ndarray:
        if tree is None:
            return np.ones(len(geoms), dtype=bool)
        hit = np.zeros(len(geoms), dtype=bool)
        if reach_m > 0:
            hit[tree.query(geoms, predicate="dwithin", distance=reach_m)[0]] = True
        else:
            hit[tree.query(geoms, predicate="intersects")[0]] = True
        return hit

    parcels = scheme.layer("parcels")
    if parcels is not None and "land_use" in parcels.columns:
        built = parcels.geometry[is_construction(parcels["land_use"])].to_numpy()
        parts.append(built[reaching(built)])
    roads = scheme.layer("roads")
    if roads is not None:
        kind = roads.geometry.geom_type
        land = roads.geometry[kind.str.contains("Polygon")].to_numpy()
        parts.append(land[reaching(land)])
        if "red_line_width_m" in roads.columns:
            lines = roads[kind.str.contains("LineString") & (roads["red_line_width_m"] > 0)]
            geoms = lines.geometry.to_numpy()
            half = lines["red_line_width_m"].to_numpy(dtype=float) / 2.0
            close = reaching(geoms, float(half.max()) if len(half) else 0.0)
            parts.append(shapely.buffer(geoms[close], half[close], cap_style="flat"))
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
    net = net_corridors(
        corridors.geometry, corridor_obstacles(scheme, corridors.geometry.to_numpy())
    )
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
    # A corridor wholly taken by construction or road land has no net part to draw:
    # the whole corridor is the place of the problem.
    geoms = np.where(shapely.is_empty(geoms), corridors.geometry.to_numpy(), geoms)
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
                + fmt_int(below)
                + " 平方米，图示为最窄处",
            ),
            detail_en=np.where(
                passed,
                "net of construction and road land",
                "net of construction and road land; "
                + fmt_int(below)
                + f" m2 of it is narrower than {rule.limit:g} m; the narrowest stretch is drawn",
            ),
            method=(
                "minimum net width: corridor minus construction land and road land, "
                f"mitred morphological opening, bisection to {params.precision_m:g} m, "
                "reported to 0.1 m"
            ),
            method_zh=(
                "最小净宽度：生态廊道扣除建设用地和道路用地后，以斜接形态学开运算量测，"
                f"二分法求至 {params.precision_m:g} 米，结果保留至 0.1 米"
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
    (measured: the gap, m; drawn as the shortest line across it, or where the
    clusters meet or overlap when they touch), or when a piece of the space between them not
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
        # Without corridors only the gaps can be tested: report the pairs too close.
        skipped = int((~too_close).sum())
        keep = too_close
        pairs, i, j, gap = pairs[keep], i[keep], j[keep], gap[keep]
        too_close = np.ones(len(pairs), dtype=bool)
        broken = np.zeros(len(pairs), dtype=bool)
        widths = np.full(len(pairs), np.nan)
        breaks = np.full(len(pairs), None, dtype=object)
    else:
        net = net_corridors(
            corridors.geometry, corridor_obstacles(scheme, corridors.geometry.to_numpy())
        )
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
    touching = gap == 0
    if touching.any():
        # No gap to draw: where the clusters meet (their shared point or edge) or overlap.
        met = shapely.intersection(geoms[i][touching], geoms[j][touching])
        lost = shapely.is_empty(met)
        met[lost] = shapely.get_point(line[touching][lost], 0)
        line[touching] = met
    place = np.where(broken, breaks, line)
    subj_zh = zh.to_numpy()[i] + "与" + zh.to_numpy()[j] + "之间"
    subj_en = "between " + en.to_numpy()[i] + " and " + en.to_numpy()[j]
    detail_zh = np.where(
        too_close,
        "两组团最近距离 " + fmt1(gap) + " 米，不足以布置生态廊道",
        np.where(
            broken,
            "组团间隙中有一处未被生态廊道覆盖的连通缺口，宽约 " + fmt1(widths) + " 米",
            "组团间距 " + fmt1(gap) + " 米，间隙由生态廊道贯通覆盖",
        ),
    )
    detail_en = np.where(
        too_close,
        "the clusters are " + fmt1(gap) + " m apart, too close for a corridor",
        np.where(
            broken,
            "a gap not covered by the corridor connects the clusters, about "
            + fmt1(widths)
            + " m wide",
            "the clusters are " + fmt1(gap) + " m apart and the corridor spans the gap",
        ),
    )
    method = (
        "gap = shortest distance between cluster polygons; continuity = no piece of the gap "
        "(points within that distance of both clusters) left uncovered by the net corridors "
        "borders both clusters"
        + ("" if corridors is not None else " (not tested: no 'corridors' layer)")
    )
    method_zh = (
        "间距 = 组团边界面之间的最短距离；贯通性 = 组团间隙（与两个组团的距离均在该间距以内的点）"
        "中未被生态廊道（扣除建设用地和道路用地后）覆盖的部分，没有一处同时与两个组团相接"
        + ("" if corridors is not None else "（未检查贯通性：方案缺少生态廊道图层 corridors）")
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
            method_zh=method_zh,
        ),
        skipped=skipped,
        skip_reason="cluster pairs not tested for a break: the scheme has no 'corridors' layer",
        skip_reason_zh="组团对未检查生态廊道断口：方案缺少生态廊道图层 corridors",
        quantity_zh="可贯通的生态廊道宽度",
        quantity_en="width available to a continuous corridor",
    )


# --------------------------------------------------------------------------- roads
