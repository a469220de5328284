"""Checks of urban structure: clusters (组团) and ecological corridors (生态廊道)."""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field
from shapely import STRtree

from ...reading.landuse import is_construction
from ...reading.scheme import Scheme
from ...wording import count_en
from ..measures.corridor import (
    cluster_pairs,
    min_width_m,
    narrower_than,
    net_corridors,
    passage_between,
)
from ..measures.density import (
    M2_PER_KM2,
    grid_cell_count,
    square_grid,
)
from ..measures.geometry import clip_pairs, union_by_group
from ..measures.structure import area_km2
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
    LAYER_ZH,
    MAX_GRID_CELLS,
    POP_FROM_ATTRIBUTE,
    POP_METHOD_ZH,
    NoParams,
    density_detail,
    fmt1,
    fmt_int,
    has_population_source,
    missing_layer,
    no_population,
    own_population,
    population_of,
    population_source_zh,
)


@register("cluster_area", NoParams, unit="km2")
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
            method_zh="组团边界面在量测坐标系中的平面面积",
        )
    )


@register("cluster_density", NoParams, unit="persons/km2")
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


@register("corridor_width", CorridorWidthParams, unit="m")
def check_corridor_width(
    scheme: Scheme, rule: Rule, params: CorridorWidthParams, *, passes: bool = True
) -> Evaluation:
    """EC01: minimum net width of each corridor, m; the narrowest stretch as geometry.

    With ``passes`` False (only violations reported) a corridor is measured
    only until it is known to be wider than the limit (its width NaN),
    unless no corridor is narrower, when every one is measured (the
    summary's worst value is then the narrowest of them).
    """
    corridors = scheme.layer("corridors")
    if corridors is None:
        return missing_layer("corridors")
    net = net_corridors(
        corridors.geometry, corridor_obstacles(scheme, corridors.geometry.to_numpy())
    )
    nets = net.to_numpy()
    raw_width = min_width_m(
        nets,
        precision_m=params.precision_m,
        min_narrow_area_m2=params.min_narrow_area_m2,
        wide_enough_m=None if passes else rule.limit,
    )
    wide = np.isnan(raw_width)  # known to be wider than the limit, not measured further
    # Reported (and compared) to 0.1 m: GEOS drops an eroded strip a few
    # hundredths of a metre before it vanishes, so a corridor drawn exactly
    # 100 m wide measures 99.98x m raw.
    width = np.round(raw_width, 1)
    passed = compare(rule, width) | wide
    if wide.any() and passed.all():  # no violation: the worst value is the narrowest of all
        raw_width[wide] = min_width_m(
            nets[wide],
            precision_m=params.precision_m,
            min_narrow_area_m2=params.min_narrow_area_m2,
        )
        width = np.round(raw_width, 1)
    # The narrowest stretch, drawn for the corridors too narrow: what an opening just
    # wider than the minimum removes; and their area narrower than the limit.
    step = max(1.0, 2 * params.precision_m)
    bad = np.flatnonzero(~passed)
    narrowest = narrower_than(nets[bad], raw_width[bad] + step)
    geoms = nets.copy()
    geoms[bad] = np.where(shapely.is_empty(narrowest), nets[bad], narrowest)
    below = np.zeros(len(nets))
    below[bad] = shapely.area(narrower_than(nets[bad], rule.limit))
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


@register("corridor_continuity", ContinuityParams, unit="m")
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


# --------------------------------------------------------------------------- CL03


#: Units of an area given in hectares, for :func:`density_detail`.
_HECTARES = {"unit_zh": "公顷", "unit_en": "ha"}


class LocalDensityParams(Params):
    """Parameters of the local peak density (CL03)."""

    method: Literal["grid", "parcels"] = "grid"
    grid_size_m: float = Field(1000.0, gt=0)
    min_cell_share: float = Field(0.5, ge=0, le=1)
    area_layer: str = "clusters"


@register("local_density", LocalDensityParams, unit="persons/km2")
def check_local_density(scheme: Scheme, rule: Rule, params: LocalDensityParams) -> Evaluation:
    """CL03: population density of any sub-area (个别地段), persons/km².

    ``grid``: square cells of ``grid_size_m`` aligned to multiples of it in
    the measuring CRS, laid over the study area (union of ``area_layer``,
    default ``clusters``; else ``boundary``).  A cell's population is that of
    its part inside the study area (parcels' ``population`` apportioned by
    area share, else the population raster with partial-pixel weights);
    density = population ÷ that part's area.  Cells less than
    ``min_cell_share`` inside are skipped.  Rows per cell, feature id
    ``"x,y"``: the lower-left corner in metres.

    ``parcels``: each parcel's ``population`` (else the raster) ÷ its area.
    """
    if params.method == "parcels":
        return _local_density_parcels(scheme, rule)
    layer = params.area_layer
    zones = scheme.layer(layer)
    if zones is None and layer != "boundary":
        layer, zones = "boundary", scheme.layer("boundary")
    if zones is None:
        return not_evaluated(
            f"no study area to lay the grid over: no '{params.area_layer}' or 'boundary' layer",
            f"缺少网格统计范围：方案无 {params.area_layer} 图层，也无规划范围图层 boundary",
        )
    if not has_population_source(scheme):
        clusters = scheme.layer("clusters")
        if clusters is not None and own_population(clusters).notna().any():
            return _local_density_cluster_bound(clusters, rule)
        return no_population("the study area", "统计范围")
    zone_geoms = zones.geometry.to_numpy()
    minx, miny, maxx, maxy = (float(v) for v in zones.total_bounds)
    bounds = (minx, miny, maxx, maxy)
    size = params.grid_size_m
    n_cells = grid_cell_count(bounds, size)
    if n_cells > MAX_GRID_CELLS:
        return not_evaluated(
            f"a {size:g} m grid over the study area has {n_cells:,} cells "
            f"(at most {MAX_GRID_CELLS:,}); use a larger grid_size_m",
            f"{size:g} 米网格共 {n_cells:,} 格，超过上限 {MAX_GRID_CELLS:,} 格；请加大 grid_size_m",
        )
    cells, x, y = square_grid(bounds, size)
    # Each cell clipped to the union of the zones, zone by zone (no union of the layer).
    _, cell_i, piece = clip_pairs(cells, zone_geoms)
    touched, inside = union_by_group(piece, cell_i)
    cells, x, y = cells[touched], x[touched], y[touched]
    share = shapely.area(inside) / (size * size)
    keep = (share >= params.min_cell_share) & (share > 0)
    edge = int((~keep & (share > 0)).sum())
    ids = (
        pd.Series(np.round(x[keep]).astype(np.int64)).astype(str)
        + ","
        + pd.Series(np.round(y[keep]).astype(np.int64)).astype(str)
    )
    pieces = gpd.GeoDataFrame({"feature_id": ids.to_numpy()}, geometry=inside[keep], crs=scheme.crs)
    population, source, source_zh = population_of(scheme, pieces)
    known = population.notna().to_numpy()
    c, pop, src, src_zh = pieces[known], population[known], source[known], source_zh[known]
    area_km2 = c.geometry.area / M2_PER_KM2
    density = pop / area_km2
    skipped = edge + int((~known).sum())
    reasons, reasons_zh = [], []
    if edge:
        reasons.append(
            f"{count_en(edge, 'cell')} less than {params.min_cell_share:.0%} inside the study area"
        )
        reasons_zh.append(f"在统计范围内面积不足 {params.min_cell_share:.0%} 的网格 {edge} 个")
    if (~known).any():
        reasons.append(f"{count_en(int((~known).sum()), 'cell')} without population data")
        reasons_zh.append(f"无人口数据的网格 {int((~known).sum())} 个")
    cell_zh, cell_en = density_detail(
        pop,
        area_km2.to_numpy() * 100,
        **_HECTARES,
        area_zh="网格在统计范围内面积",
        area_en="cell area inside the study area",
    )
    return Evaluation(
        make_rows(
            c,
            feature_id=c["feature_id"],
            subject_zh=_cell_zh(c["feature_id"]),
            subject_en="grid cell " + c["feature_id"],
            measured=density,
            passed=compare(rule, density),
            detail_zh=cell_zh + "；" + population_source_zh(src).to_numpy(),
            detail_en=cell_en,
            method=(
                f"{size:g} m grid cells aligned to multiples of {size:g} m in {scheme.crs_label}, "
                f"clipped to the union of '{layer}'; population from "
                + src
                + " ÷ the cell's area inside"
            ),
            method_zh=(
                f"在量测坐标系中按 {size:g} 米整倍数对齐的 {size:g} 米网格，"
                f"裁切至{LAYER_ZH.get(layer, '图层')} {layer} 的并集；网格人口（"
                + src_zh
                + "）÷ 网格在统计范围内的面积"
            ),
        ),
        skipped=skipped,
        skip_reason="; ".join(reasons),
        skip_reason_zh="；".join(reasons_zh),
        quantity_zh="人口密度",
        quantity_en="population density of the grid cell",
    )


def _cell_zh(ids: pd.Series) -> pd.Series:
    """A grid cell as a Chinese sentence names it: its south-west corner, X north, Y east.

    ``ids`` are ``"easting,northing"`` of the corners (the feature ids).
    """
    parts = ids.astype(str).str.extract(r"^(-?\d+),(-?\d+)$")  # two columns, even when empty
    east = pd.to_numeric(parts[0], errors="coerce").map(lambda v: f"{v:,.0f}").astype(str)
    north = pd.to_numeric(parts[1], errors="coerce").map(lambda v: f"{v:,.0f}").astype(str)
    return ("网格（西南角 X（北）" + north + " 米，Y（东）" + east + " 米）").astype(str)


def _local_density_cluster_bound(clusters: gpd.GeoDataFrame, rule: Rule) -> Evaluation:
    """CL03 with only the clusters' own populations: each average bounds the peak from below.

    The densest spot of a cluster is at least as dense as the cluster's
    average, so a cluster whose average exceeds the limit certainly holds a
    spot over it (a finding on the cluster, measured: the average, stated as
    a lower bound).  A cluster at or under the limit tells nothing about its
    peak: skipped, with the reason.
    """
    own = own_population(clusters)
    km2 = clusters.geometry.area / M2_PER_KM2
    with np.errstate(invalid="ignore", divide="ignore"):
        average = own / km2
    known = average.notna() & (km2 > 0)
    over = known & ~pd.Series(compare(rule, average.to_numpy()), index=clusters.index)
    c, avg, pop, area = clusters[over], average[over], own[over], km2[over]
    unknown = int((~known).sum())
    under = int((known & ~over).sum())
    reasons, reasons_zh = [], []
    if under:
        reasons.append(
            f"{count_en(under, 'cluster')} whose average is within the limit: with only the "
            "clusters' own "
            "population the local peak is unknown (add parcels' population or a raster)"
        )
        reasons_zh.append(
            f"平均密度未超限的组团 {under} 个：仅有组团人口，无法得知其个别地段的最高密度"
            "（请提供地块人口或人口栅格）"
        )
    if unknown:
        reasons.append(f"{count_en(unknown, 'cluster')} without population")
        reasons_zh.append(f"无人口数据的组团 {unknown} 个")
    if c.empty:
        return not_evaluated("; ".join(reasons), "；".join(reasons_zh))
    zh, en = label(c, "组团", "cluster")
    fact_zh, fact_en = density_detail(
        pop.to_numpy(), area.to_numpy(), area_zh="组团面积", area_en="cluster area"
    )
    return Evaluation(
        make_rows(
            c,
            feature_id=c["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=avg,
            passed=np.zeros(len(c), dtype=bool),
            detail_zh="组团平均密度即为其个别地段最高密度的下限；" + fact_zh.to_numpy(),
            detail_en="the cluster's average is a lower bound of its local peak; "
            + fact_en.to_numpy(),
            method="cluster population (population field) ÷ cluster area: a lower bound of "
            "the densest spot inside it (no parcels' population or raster to grid)",
            method_zh="组团人口（population 字段）÷ 组团面积，作为组团内个别地段最高密度的下限"
            "（无地块人口或人口栅格，无法分网格统计）",
        ),
        skipped=under + unknown,
        skip_reason="; ".join(reasons),
        skip_reason_zh="；".join(reasons_zh),
        quantity_zh="组团平均人口密度（个别地段最高密度下限）",
        quantity_en="cluster average density (lower bound of the local peak)",
    )


def _local_density_parcels(scheme: Scheme, rule: Rule) -> Evaluation:
    parcels = scheme.layer("parcels")
    if parcels is None:
        return missing_layer("parcels")
    own = own_population(parcels)
    if not own.notna().any() and "population" not in scheme.rasters:
        return not_evaluated(
            "no population: no 'population' field on parcels and no population raster",
            "缺少人口数据：地块无 population 字段，也无人口栅格",
        )
    population, source, source_zh = population_of(scheme, parcels, own)
    known = population.notna()
    p, pop, src, src_zh = parcels[known], population[known], source[known], source_zh[known]
    area_km2 = p.geometry.area / M2_PER_KM2
    with np.errstate(invalid="ignore", divide="ignore"):
        density = pop / area_km2
    zh, en = label(p, "地块", "parcel")
    parcel_zh, parcel_en = density_detail(
        pop, area_km2.to_numpy() * 100, **_HECTARES, area_zh="地块面积", area_en="parcel area"
    )
    return Evaluation(
        make_rows(
            p,
            feature_id=p["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh=parcel_zh + "；" + population_source_zh(src).to_numpy(),
            detail_en=parcel_en,
            method="parcel population (" + src + ") ÷ parcel area",
            method_zh="地块人口（" + src_zh + "）÷ 地块面积",
        ),
        skipped=int((~known).sum()),
        skip_reason="parcels without population data",
        skip_reason_zh="地块无人口数据",
        quantity_zh="地块人口密度",
        quantity_en="population density of the parcel",
    )


# --------------------------------------------------------------------------- rule types

declare(
    "CL01",
    title_zh="城市组团面积",
    title_en="Urban cluster area",
    check=check_cluster_area,
    layer="clusters",
    comparison="<=",
    doc=RuleDoc(
        what="The area of each urban cluster (组团) polygon.",
        why="The national plan asks for cities built as clusters of limited size "
        "(组团式发展), each no larger than 50 km², parted by ecological corridors.",
        how=("Planar area of each cluster polygon."),
        references=("《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）二(一)",),
    ),
)

declare(
    "CL02",
    title_zh="组团平均人口密度",
    title_en="Cluster average population density",
    check=check_cluster_density,
    layer="clusters",
    comparison="<=",
    doc=RuleDoc(
        what="Population ÷ area of each cluster, persons/km².",
        why="The plans cap the average density of a cluster at 10,000 persons/km² "
        "(原则上: a warning, not a hard failure).",
        how=(
            "Population ÷ area; population from the cluster's `population`, else parcels' "
            "`population` apportioned by area share, else the population raster."
        ),
        references=("《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）二(一)",),
    ),
)

declare(
    "CL03",
    title_zh="个别地段人口密度",
    title_en="Local peak population density",
    check=check_local_density,
    layer="parcels",
    comparison="<=",
    params={"method": "grid", "grid_size_m": 1000},
    doc=RuleDoc(
        what="The density of the densest spots (个别地段) inside the clusters, persons/km².",
        why="Hebi and Jiaozuo allow particular spots above the cluster average but cap "
        "them at 15,000 persons/km² (个别地段最高不超过): a binding maximum, not a hedge.",
        how=(
            "1 km grid over the clusters (or boundary), population per cell from parcels "
            "or the raster ÷ the cell's area inside; or per parcel.  With only the "
            "clusters' own `population`, a cluster's average is a lower bound of its "
            "peak: a cluster whose average exceeds the limit fails (the finding says it is a "
            "lower bound); one within it is skipped, its peak unknown."
        ),
        references=("GB 50180-2018 城市居住区规划设计标准",),
    ),
)

declare(
    "EC01",
    title_zh="生态廊道净宽度",
    title_en="Ecological corridor net width",
    check=check_corridor_width,
    layer="corridors",
    comparison=">=",
    params={"min_narrow_area_m2": 10.0, "precision_m": 0.01},
    doc=RuleDoc(
        what="The narrowest net width of each ecological corridor (生态廊道净宽度), m; the "
        "narrowest stretch is drawn.",
        why="Corridors between clusters must be continuous and at least 100 m wide net "
        "of construction land and roads.",
        how=(
            "Corridor minus construction land and road land (centrelines buffered by half "
            "their red line); minimum width by a mitred morphological opening, bisection "
            "to 0.01 m, reported to 0.1 m; the narrowest stretch drawn. Mitred joins give "
            "back square ends and corners, so the ends and corners of a plain rectangle "
            "are not narrow places. The outline is first simplified to 0.01 m (a width "
            "moves by at most 0.02 m), so a corridor of a million vertices takes seconds."
        ),
        references=("《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）二(一)",),
    ),
)

declare(
    "EC02",
    title_zh="组团间生态廊道贯通连续",
    title_en="Ecological corridor continuity between clusters",
    check=check_corridor_continuity,
    layer="clusters",
    comparison=">=",
    params={"search_distance_m": 1000.0, "min_break_area_m2": 10.0, "min_contact_m": 1.0},
    doc=RuleDoc(
        what="For each pair of clusters within `search_distance_m`: whether a continuous "
        "corridor at least the minimum width parts them, m.",
        why="The plans ask for corridors between clusters that run continuously (贯通连续).",
        how=(
            "For each pair of clusters within 1,000 m: fails when they are closer than "
            "100 m (measured: the gap) or when a piece of the gap between them (points "
            "within their distance of both) left uncovered by the net corridors borders "
            "both clusters — a break (measured: 0 m of corridor across it; its width is "
            "in the message)."
        ),
        references=("《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）二(一)",),
    ),
)
