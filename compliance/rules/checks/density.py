"""Checks of density, road network, green ratios and permeable surface.

CL03 local peak density, RD02 road-network density, GR04 green-space ratio,
GR05 park green per capita, GR06 greenway length per capita, PM01 permeable
surface share, DN01 built-up population density and DN02 floor area ÷
construction land.  The ``boundary`` polygons stand for the built-up area
(建成区) the plans measure against; one row per boundary polygon.

Population comes from :func:`~compliance.rules.checks.common.population_of`: the
zone's own ``population``, else parcels' ``population`` apportioned by area,
else the population raster (partial-pixel weighted).  Land-cover classes are
ESA WorldCover 2020/2021 codes (10 tree cover, 20 shrubland, 30 grassland,
40 cropland, 50 built-up, 60 bare, 70 snow, 80 water, 90 wetland,
95 mangroves, 100 moss).

Rasters are read through :mod:`compliance.reading.raster` (exactextract, polygons
projected into the raster's CRS): a check that needs a raster which cannot be
read, or which does not overlap the zones at all, raises
:class:`~compliance.errors.InputError` (the CLI's exit status 2).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from ...reading.landuse import is_construction
from ...reading.raster import class_share, covered_share, impervious_percent
from ...reading.scheme import RasterInput, Scheme
from ..catalogue import Rule
from ..measures.buildings import floor_area_m2
from ..measures.density import (
    M2_PER_KM2,
    apportioned_sums,
    grid_cell_count,
    length_inside_m,
    representative_points,
    square_grid,
    sum_by_zone_containing,
)
from ..measures.geometry import clip_pairs, union_area_inside_m2, union_by_group
from ..registry import Evaluation, Params, compare, label, make_rows, not_evaluated, register
from .common import (
    FULL_COVER,
    M2_PER_HA,
    NoParams,
    density_detail,
    fmt1,
    fmt_int,
    green_polygons,
    greens_or_reason,
    has_population_source,
    kinds_zh,
    missing_layer,
    population_of,
    population_source_zh,
)

#: Reviewer nouns of the zones rows are about.
ZONE_NOUN = {"boundary": ("规划范围", "boundary"), "clusters": ("组团", "cluster")}
#: Most grid cells CL03 lays over a study area.
MAX_GRID_CELLS = 1_000_000
#: Persons per "10k persons" in GR06's unit.
PERSONS_PER_10K = 10_000.0
#: Metres per kilometre.
M_PER_KM = 1_000.0
#: How the impervious raster's values were read
#: (:func:`compliance.reading.raster.impervious_percent`), in Chinese.
SCALE_ZH = {"fraction 0–1": "比例 0–1", "percent 0–100": "百分比 0–100"}


def _boundary(scheme: Scheme) -> gpd.GeoDataFrame | Evaluation:
    boundary = scheme.layer("boundary")
    return missing_layer("boundary") if boundary is None else boundary


def _own_population(zones: gpd.GeoDataFrame) -> pd.Series:
    if "population" in zones.columns:
        return pd.to_numeric(zones["population"], errors="coerce").astype(float)
    return pd.Series(np.nan, index=zones.index)


def _no_population(where_en: str, where_zh: str) -> Evaluation:
    return not_evaluated(
        f"no population: no 'population' field on {where_en} or parcels and no population raster",
        f"缺少人口数据：{where_zh}与地块均无 population 字段，也无人口栅格",
    )


def _raster_name(raster: RasterInput) -> str:
    return f"{raster.path.name} ({raster.crs.to_string()})"


def _cover_note(share: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Message notes where a raster covers less than the whole zone."""
    partial = share.lt(FULL_COVER).fillna(False)
    pct = fmt1(100.0 * share.fillna(0.0)).to_numpy()
    zh = np.where(partial, "；栅格仅覆盖该范围的 " + pct + "%", "")
    en = np.where(partial, "; the raster covers only " + pct + " % of the area", "")
    return pd.Series(zh, index=share.index), pd.Series(en, index=share.index)


# --------------------------------------------------------------------------- CL03


#: Units of an area given in hectares, for :func:`density_detail`.
_HECTARES = {"unit_zh": "公顷", "unit_en": "ha"}


class LocalDensityParams(Params):
    """Parameters of the local peak density (CL03)."""

    method: Literal["grid", "parcels"] = "grid"
    grid_size_m: float = Field(1000.0, gt=0)
    min_cell_share: float = Field(0.5, ge=0, le=1)
    area_layer: str = "clusters"


@register("local_density", LocalDensityParams)
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
        return _no_population("the study area", "统计范围")
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
        reasons.append(f"{edge} cells less than {params.min_cell_share:.0%} inside the study area")
        reasons_zh.append(f"在统计范围内面积不足 {params.min_cell_share:.0%} 的网格 {edge} 个")
    if (~known).any():
        reasons.append(f"{int((~known).sum())} cells without population data")
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
            subject_zh="网格「" + c["feature_id"] + "」",
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
                f"在 {scheme.crs_label} 中按 {size:g} 米整倍数对齐的 {size:g} 米网格，"
                f"裁切至 '{layer}' 图层的并集；网格人口（" + src_zh + "）÷ 网格在统计范围内的面积"
            ),
        ),
        skipped=skipped,
        skip_reason="; ".join(reasons),
        skip_reason_zh="；".join(reasons_zh),
        quantity_zh="网格人口密度",
        quantity_en="population density of the grid cell",
    )


def _local_density_parcels(scheme: Scheme, rule: Rule) -> Evaluation:
    parcels = scheme.layer("parcels")
    if parcels is None:
        return missing_layer("parcels")
    own = _own_population(parcels)
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


# --------------------------------------------------------------------------- RD02

DEFAULT_ROAD_CLASSES = [
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
]


class RoadDensityParams(Params):
    """Parameters of the road-network density (RD02)."""

    classes: list[str] = Field(default_factory=lambda: list(DEFAULT_ROAD_CLASSES))
    dual_carriageway_classes: list[str] = Field(
        default_factory=lambda: ["motorway", "trunk", "primary", "secondary"]
    )
    area_layer: str = "boundary"


def _truthy(values: pd.Series) -> pd.Series:
    """Boolean flags from a bool column or from text such as yes / true / 1."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["1", "-1", "true", "yes", "y", "t", "是"]).fillna(False).astype(bool)


def _areas(
    scheme: Scheme, layer: str
) -> tuple[gpd.GeoDataFrame, tuple[str, str], pd.Series, pd.Series] | Evaluation:
    """Zones to measure over: the layer's polygons, else the union of clusters as one zone.

    Returns the zones, what they are for the method text (English, Chinese)
    and their reviewer labels (Chinese, English); or the not-evaluated reason.
    """
    zones = scheme.layer(layer)
    if zones is not None:
        noun_zh, noun_en = ZONE_NOUN.get(layer, ("范围", "area"))
        zh, en = label(zones, noun_zh, noun_en)
        return zones, (f"each '{layer}' polygon", f"各 '{layer}' 图层面"), zh, en
    clusters = scheme.layer("clusters")
    if clusters is None:
        return not_evaluated(
            f"no area to measure over: no '{layer}' layer and no 'clusters' layer",
            f"缺少统计范围：方案无 {layer} 图层，也无组团边界图层 clusters",
        )
    union = gpd.GeoDataFrame(
        {"feature_id": ["*"]},
        geometry=[shapely.union_all(clusters.geometry.to_numpy())],
        crs=scheme.crs,
    )
    one = pd.Series(["全部组团范围"]), pd.Series(["all clusters"])
    over = (
        f"the union of 'clusters' (no '{layer}' layer)",
        f"'clusters' 图层的并集（无 '{layer}' 图层）",
    )
    return union, over, one[0], one[1]


@register("road_density", RoadDensityParams)
def check_road_density(scheme: Scheme, rule: Rule, params: RoadDensityParams) -> Evaluation:
    """RD02: road-network density, km of centreline per km² of area.

    Centrelines of the counted ``classes`` (a road without ``road_class``
    counts) clipped to each area polygon (``area_layer``, default
    ``boundary``; else the union of ``clusters`` as one row ``*``) ÷ its area.
    Each street counts once: a one-way way (``oneway`` true) of the
    ``dual_carriageway_classes`` is one carriageway of a dual carriageway and
    counts half.  Road-land polygons are not centrelines and are skipped.
    """
    roads = scheme.layer("roads")
    if roads is None:
        return missing_layer("roads")
    found = _areas(scheme, params.area_layer)
    if isinstance(found, Evaluation):
        return found
    zones, (over, over_zh), zh, en = found
    is_line = roads.geometry.geom_type.str.contains("LineString").to_numpy()
    polygons = int((~is_line).sum())
    lines = roads[is_line]
    if lines.empty:
        return not_evaluated(
            "the 'roads' layer has no centrelines (only road-land polygons)",
            "道路图层中没有道路中心线（仅有道路用地面域）",
        )
    if "road_class" in lines.columns:
        cls = lines["road_class"].astype("string").str.strip().str.lower()
    else:
        cls = pd.Series(pd.NA, index=lines.index, dtype="string")
    counted = (cls.isna() | cls.isin([c.lower() for c in params.classes])).to_numpy(dtype=bool)
    one_way = (
        _truthy(lines["oneway"]).to_numpy()
        if "oneway" in lines.columns
        else np.zeros(len(lines), dtype=bool)
    )
    dual = cls.isin([c.lower() for c in params.dual_carriageway_classes]).fillna(False).to_numpy()
    halved = counted & one_way & dual
    weight = np.where(halved, 0.5, 1.0)
    geoms = zones.geometry.to_numpy()
    length_km = (
        length_inside_m(lines.geometry.to_numpy()[counted], geoms, weight[counted]) / M_PER_KM
    )
    area_km2 = shapely.area(geoms) / M2_PER_KM2
    density = length_km / area_km2
    n_half = int(halved.sum())
    half_zh = f"；{n_half} 条单向行驶的双幅路分幅按一半计" if n_half else ""
    half_en = f"; {n_half} one-way carriageways of dual carriageways counted half" if n_half else ""
    return Evaluation(
        make_rows(
            zones,
            feature_id=zones["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh="道路中心线 "
            + fmt1(length_km).str.replace(",", "")
            + " 公里，面积 "
            + fmt1(area_km2).str.replace(",", "")
            + " 平方公里"
            + half_zh,
            detail_en="centrelines "
            + fmt1(length_km)
            + " km, area "
            + fmt1(area_km2)
            + " km2"
            + half_en,
            method=(
                "centreline length of road classes "
                + ", ".join(params.classes)
                + " (and roads without a class) clipped to "
                + over
                + " ÷ its area; one-way ways of "
                + ", ".join(params.dual_carriageway_classes)
                + " count half (each street once)"
            ),
            method_zh=(
                "道路等级为 "
                + ", ".join(params.classes)
                + " 的道路（及无等级的道路）中心线裁切至"
                + over_zh
                + "内的长度 ÷ 其面积；"
                + ", ".join(params.dual_carriageway_classes)
                + " 等级的单向行驶道路按一半计（每条街道只计一次）"
            ),
        ),
        skipped=polygons,
        skip_reason="road-land polygons are not centrelines and are not counted",
        skip_reason_zh="道路用地面不是道路中心线，不计入",
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


@register("green_ratio", GreenRatioParams)
def check_green_ratio(scheme: Scheme, rule: Rule, params: GreenRatioParams) -> Evaluation:
    """GR04: green-space ratio of the built-up area (建成区绿地率), %.

    Green area inside each boundary polygon ÷ its area × 100.  Green area:
    ``green_spaces`` and green parcels (1401/G1, 1402/G2) of ``kinds``,
    merged so that overlapping or touching pieces count once.  Without any
    vector green, the land-cover raster: coverage-weighted share of cells in
    ``landcover_classes`` (ESA WorldCover codes; default 10 tree cover,
    20 shrubland, 30 grassland, 90 wetland, 95 mangroves).
    """
    boundary = _boundary(scheme)
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
        cover_zh, cover_en = _cover_note(covered_share(landcover, b.geometry))
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
                    f"land-cover raster {_raster_name(landcover)}: coverage-weighted share of "
                    f"the boundary polygon in classes {classes}; the boundary taken as the "
                    "built-up area"
                ),
                method_zh=(
                    f"土地覆盖栅格 {_raster_name(landcover)}：规划范围面内类别为 {classes} 的"
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
            + fmt1(green_m2 / M2_PER_HA).str.replace(",", "")
            + " 公顷，范围面积 "
            + fmt1(total_m2 / M2_PER_HA).str.replace(",", "")
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
                "规划范围面内绿地图层 green_spaces 中的绿地与绿地地块（类型 "
                + ", ".join(params.kinds)
                + "；合并后重叠部分只计一次）的面积 ÷ 规划范围面积 × 100；以规划范围作为建成区"
            ),
        )
    )


class ParkPerCapitaParams(Params):
    """Parameters of park green per capita (GR05)."""

    kinds: list[str] = Field(default_factory=lambda: ["park"])


def _boundary_population(
    scheme: Scheme, boundary: gpd.GeoDataFrame
) -> tuple[pd.Series, pd.Series, pd.Series] | Evaluation:
    own = _own_population(boundary)
    if not has_population_source(scheme, own):
        return _no_population("the boundary", "规划范围")
    return population_of(scheme, boundary, own)


@register("park_per_capita", ParkPerCapitaParams)
def check_park_per_capita(scheme: Scheme, rule: Rule, params: ParkPerCapitaParams) -> Evaluation:
    """GR05: park green per capita (人均公园绿地面积), m²/person.

    Area of green spaces of ``kinds`` (default ``park``; park parcels
    1401/G1 included, overlaps counted once) inside each boundary polygon ÷
    its population (boundary ``population``, else parcels' ``population``
    apportioned by area share, else the population raster).
    """
    boundary = _boundary(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    cover = _green_cover(scheme, params.kinds)
    if isinstance(cover, Evaluation):
        return cover
    found = _boundary_population(scheme, boundary)
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
            + fmt1(park_m2 / M2_PER_HA).str.replace(",", "")
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
            method_zh=(
                "规划范围面内"
                + kinds_zh(params.kinds)
                + "（"
                + ", ".join(params.kinds)
                + "）面积 ÷ 人口（"
                + src_zh
                + "）"
            ),
        ),
        skipped=int((~usable).sum()),
        skip_reason="boundary polygons without population data",
        skip_reason_zh="规划范围面无人口数据",
    )


@register("greenway_per_capita", NoParams)
def check_greenway_per_capita(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """GR06: greenway length per 10,000 persons (绿道长度/万人), km.

    Length of ``greenways`` inside each boundary polygon (km) ÷ its
    population × 10,000; population as GR05.
    """
    greenways = scheme.layer("greenways")
    if greenways is None:
        return missing_layer("greenways")
    boundary = _boundary(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    found = _boundary_population(scheme, boundary)
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
            + fmt1(length_km).str.replace(",", "")
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


@register("permeable_share", PermeableParams)
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
    boundary = _boundary(scheme)
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
            + " parcels with permeable_area_m2: "
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
        cover_zh, cover_en = _cover_note(covered_share(impervious, boundary.geometry[ok]))
        pct = pct.mask(ok, 100.0 - sealed)
        method = method.mask(
            ok,
            f"100 − coverage-weighted mean of the impervious raster {_raster_name(impervious)} "
            f"(values read as {scale}) over the boundary polygon",
        )
        method_zh = method_zh.mask(
            ok,
            f"100 − 不透水面栅格 {_raster_name(impervious)} 在规划范围面内按像元覆盖比例加权的"
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
        cover_zh, cover_en = _cover_note(covered_share(landcover, boundary.geometry[ok]))
        classes = ", ".join(f"{c:g}" for c in params.landcover_permeable_classes)
        pct = pct.mask(ok, 100.0 * share)
        method = method.mask(
            ok,
            f"coverage-weighted share of the land-cover raster {_raster_name(landcover)} "
            f"in permeable classes {classes} over the boundary polygon",
        )
        method_zh = method_zh.mask(
            ok,
            f"土地覆盖栅格 {_raster_name(landcover)} 中透水类别 {classes} 在规划范围面内的"
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


# --------------------------------------------------------------------------- DN01, DN02


@register("population_density", NoParams)
def check_population_density(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """DN01: population density of the built-up area, persons/km².

    Population of each boundary polygon (its ``population``, else parcels'
    apportioned, else the population raster) ÷ its area.
    """
    boundary = _boundary(scheme)
    if isinstance(boundary, Evaluation):
        return boundary
    found = _boundary_population(scheme, boundary)
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
        skipped=int((~known).sum()),
        skip_reason="boundary polygons without population data",
        skip_reason_zh="规划范围面无人口数据",
    )


class FloorAreaRatioParams(Params):
    """Parameters of floor area ÷ construction land (DN02)."""

    floor_height_m: float = Field(3.0, gt=0)


@register("floor_area_ratio", FloorAreaRatioParams)
def check_floor_area_ratio(scheme: Scheme, rule: Rule, params: FloorAreaRatioParams) -> Evaluation:
    """DN02: total floor area ÷ construction-land area (建筑总面积与建设用地面积比值).

    Floor area of buildings whose representative point lies in each boundary
    polygon (:func:`compliance.rules.measures.buildings.floor_area_m2`: ``floor_area_m2``,
    else footprint × storeys, storeys from ``floors`` or ``height_m`` ÷
    ``floor_height_m`` rounded up; footprint-based areas estimated) ÷ the area of
    construction-land parcels (2023 classes 06–13, 15, 16; GB 50137 R, A, B,
    M, W, S, U, H) inside it, overlaps counted once.
    """
    boundary = _boundary(scheme)
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
        est, " (" + fmt_int(n_est_b).to_numpy() + " buildings estimated as footprint × floors)", ""
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
        + " buildings without floor area, floors or height left out, so the ratio is low",
        "",
    )
    no_land, no_data = int((~usable).sum()), int(area.isna().sum())
    reasons = [
        f"{no_land} boundary polygons without construction-land parcels inside" if no_land else "",
        f"{no_data} buildings without floor_area_m2, floors or height_m" if no_data else "",
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
            + " buildings"
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
