"""Checks of roads: red-line width (道路红线宽度)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from ...reading.scheme import Scheme
from ..measures.density import (
    M2_PER_KM2,
    length_inside_m,
)
from ..measures.roads import carriageway_pairs, strip_width_m
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
    spread,
)
from .common import (
    LAYER_ZH,
    M_PER_KM,
    ZONE_NOUN,
    fmt1,
    missing_layer,
)

#: OSM road classes (highway=…) as Chinese road grades (城市道路等级, GB 50220 / CJJ 37).
ROAD_CLASS_ZH = {
    "motorway": "高速公路",
    "trunk": "快速路",
    "primary": "主干路",
    "secondary": "次干路",
    "tertiary": "支路",
    "unclassified": "其他道路",
    "residential": "居住区道路",
    "living_street": "生活性街道",
}


class RedLineParams(Params):
    """Parameters of the red-line width check."""

    exclude_classes: list[str] = Field(default_factory=list)
    new_only: bool = False


def _red_line_words(
    r: gpd.GeoDataFrame, src: pd.Series, estimated: np.ndarray, poly: np.ndarray
) -> dict[str, np.ndarray]:
    """RD01's labels, details and method texts of the given roads, for :func:`make_rows`."""
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
    return {
        "subject_zh": zh.to_numpy(),
        "subject_en": en.to_numpy(),
        "detail_zh": np.where(estimated, "红线宽度按道路等级与车道数估算，需以规划红线核实", ""),
        "detail_en": np.where(
            estimated, "red line estimated from road class and lanes; verify against the plan", ""
        ),
        "method": method,
        "method_zh": method_zh,
    }


@register("red_line_width", RedLineParams, unit="m")
def check_red_line_width(
    scheme: Scheme, rule: Rule, params: RedLineParams, *, passes: bool = True
) -> Evaluation:
    """RD01: red-line width of each road, m.

    From ``red_line_width_m`` on centrelines (marked estimated when the
    layer's ``width_source`` says so), or measured across road-land polygons.
    With ``passes`` False (only violations reported) the roads within the
    limit get no label or method text ("").
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
    passed = compare(rule, w)
    src = (
        r["width_source"].astype("string").fillna("attribute")
        if "width_source" in r.columns
        else pd.Series("attribute", index=r.index, dtype="string")
    )
    estimated = src.str.startswith("estimated").fillna(False).to_numpy() & ~is_poly[usable]
    poly = is_poly[usable].to_numpy()
    # the roads whose findings are reported get their words; the others ""
    said = np.ones(len(r), dtype=bool) if passes else ~np.asarray(passed, dtype=bool)
    words = _red_line_words(r[said], src[said], estimated[said], poly[said])
    if not said.all():
        words = {key: spread(values, said, len(r)) for key, values in words.items()}
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
            measured=w,
            passed=passed,
            estimated=estimated,
            **words,
        ),
        skipped=excluded + no_width,
        skip_reason="; ".join(reasons),
        skip_reason_zh="；".join(reasons_zh),
        quantity_zh="红线宽度",
        quantity_en="red-line width",
    )


# --------------------------------------------------------------------------- squares


# --------------------------------------------------------------------------- RD02

#: Road classes of the network (OSM ``highway`` values): links and ramps (``*_link``),
#: motorways, service roads and paths are not streets of the network.
DEFAULT_ROAD_CLASSES = [
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
]


class RoadDensityParams(Params):
    """Parameters of the road-network density (RD02).

    ``pair_distance_m``, ``min_pair_overlap`` and ``min_pair_alignment``
    pair the carriageways of a dual carriageway
    (:func:`compliance.rules.measures.roads.carriageway_pairs`); method
    parameters of ours, not limits of a plan.
    """

    classes: list[str] = Field(default_factory=lambda: list(DEFAULT_ROAD_CLASSES))
    pair_distance_m: float = Field(40.0, gt=0)
    min_pair_overlap: float = Field(0.5, gt=0, le=1)
    min_pair_alignment: float = Field(0.7, gt=0, le=1)
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
        layer_zh = f"{LAYER_ZH.get(layer, '图层')} {layer} 的各个面"
        return zones, (f"each '{layer}' polygon", layer_zh), zh, en
    clusters = scheme.layer("clusters")
    if clusters is None:
        return not_evaluated(
            f"no area to measure over: no '{layer}' layer and no 'clusters' layer",
            f"缺少统计范围：方案无{LAYER_ZH.get(layer, '图层')} {layer}，也无组团边界图层 clusters",
        )
    union = gpd.GeoDataFrame(
        {"feature_id": ["*"]},
        geometry=[shapely.union_all(clusters.geometry.to_numpy())],
        crs=scheme.crs,
    )
    one = pd.Series(["全部组团范围"]), pd.Series(["all clusters"])
    over = (
        f"the union of 'clusters' (no '{layer}' layer)",
        f"组团边界图层 clusters 的并集（无{LAYER_ZH.get(layer, '图层')} {layer}）",
    )
    return union, over, one[0], one[1]


@register("road_density", RoadDensityParams, unit="km/km2")
def check_road_density(scheme: Scheme, rule: Rule, params: RoadDensityParams) -> Evaluation:
    """RD02: road-network density, km of centreline per km² of area.

    Centrelines of the counted ``classes`` (a road without ``road_class``
    counts) clipped to each area polygon (``area_layer``, default
    ``boundary``; else the union of ``clusters`` as one row ``*``) ÷ its area.
    Each road counts once along its centreline: one-way ways (``oneway``
    true; ``-1`` drawn against the traffic) paired as the two carriageways of
    a dual carriageway by :func:`~compliance.rules.measures.roads.carriageway_pairs`
    count half where they run alongside each other, whatever their class; a
    lone one-way street counts in full.  Road-land polygons are not
    centrelines and are skipped.
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
    c_lines = lines[counted]
    geom = c_lines.geometry.to_numpy()
    if "oneway" in c_lines.columns:
        flag = c_lines["oneway"].astype("string").str.strip().str.lower()
        reverse = (flag == "-1").fillna(False).to_numpy(dtype=bool)
        one_way = _truthy(c_lines["oneway"]).to_numpy()
    else:
        reverse = one_way = np.zeros(len(c_lines), dtype=bool)
    geom = np.where(reverse, shapely.reverse(geom), geom)
    ow_at = np.flatnonzero(one_way)
    alongside, beyond, paired = carriageway_pairs(
        geom[ow_at],
        max_gap_m=params.pair_distance_m,
        min_overlap=params.min_pair_overlap,
        min_alignment=params.min_pair_alignment,
    )
    # a paired carriageway: its part alongside the other counts half, the rest in full
    half = alongside[paired]
    rest = beyond[paired]
    whole = np.ones(len(geom), dtype=bool)
    whole[ow_at[paired]] = False
    pieces = np.concatenate([geom[whole], half, rest])
    weight = np.concatenate([np.ones(whole.sum()), np.full(len(half), 0.5), np.ones(len(rest))])
    geoms = zones.geometry.to_numpy()
    length_km = length_inside_m(pieces, geoms, weight) / M_PER_KM
    area_km2 = shapely.area(geoms) / M2_PER_KM2
    density = length_km / area_km2
    n_half = int(paired.sum())
    gap = f"{params.pair_distance_m:g}"
    lap = f"{params.min_pair_overlap:.0%}"
    half_zh = f"；{n_half} 条单向行驶的双幅路分幅沿并行段按一半计" if n_half else ""
    half_en = (
        f"; {n_half} one-way carriageways of dual carriageways counted half where they run "
        "alongside each other"
        if n_half
        else ""
    )
    return Evaluation(
        make_rows(
            zones,
            feature_id=zones["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=density,
            passed=compare(rule, density),
            detail_zh="道路中心线 "
            + fmt1(length_km)
            + " 公里，面积 "
            + fmt1(area_km2)
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
                + " (and roads without a class; links and ramps out) clipped to "
                + over
                + " ÷ its area; each road once: two one-way lines running in opposite "
                f"directions within {gap} m of each other, alongside for at least {lap} of "
                "the shorter (any class), are the carriageways of one dual carriageway and "
                "count half where alongside; a lone one-way street counts in full"
            ),
            method_zh=(
                "道路等级为"
                + "、".join(ROAD_CLASS_ZH.get(c, c) for c in params.classes)
                + "的道路（及无等级的道路；匝道、连接线不计）中心线裁切至"
                + over_zh
                + f"内的长度 ÷ 其面积；每条道路只计一次：相距 {gap} 米以内、方向相反、"
                f"并行长度不少于较短者 {lap} 的两条单向行驶道路（不论等级）视为同一双幅路的"
                "两幅，并行段各按一半计；单独的单向街道全长计入"
            ),
        ),
        skipped=polygons,
        skip_reason="road-land polygons are not centrelines and are not counted",
        skip_reason_zh="道路用地面不是道路中心线，不计入",
    )


# --------------------------------------------------------------------------- rule types

declare(
    "RD01",
    title_zh="县城内部道路红线宽度",
    title_en="Road red-line width (county town)",
    check=check_red_line_width,
    layer="roads",
    comparison="<=",
    params={
        "exclude_classes": ["motorway", "motorway_link", "trunk", "trunk_link"],
        "new_only": False,
    },
    doc=RuleDoc(
        what="The red-line width (道路红线宽度) of each road, m.",
        why="County towns should keep their internal roads to a red-line width of 40 m "
        "at most (no wide avenues).",
        how=(
            "`red_line_width_m` of centrelines, or the width of road-land polygons across "
            "their centreline, w = (P − √(P² − 16A)) / 4 (exact for strips and crosses of "
            "equal width), never the carriageway; motorways and trunk roads out of scope; "
            "in Alxa only new roads."
        ),
        references=(
            "《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）",
            "CJJ 37-2012 城市道路工程设计规范",
        ),
    ),
)

declare(
    "RD02",
    title_zh="城市道路网密度",
    title_en="Urban road network density",
    check=check_road_density,
    layer="roads",
    comparison=">=",
    doc=RuleDoc(
        what="Road-network density of the built-up area, km/km².",
        why="The plans ask for a dense network of small blocks (窄马路、密路网): more "
        "than 8 km/km² (Hebi, Jiaozuo) or 8.5 km/km² by 2025 (Alxa, Bayannur).",
        how=(
            "Centreline km of trunk, primary, secondary, tertiary, unclassified, residential "
            "and living_street roads (and roads without a class) inside each boundary polygon "
            "÷ its area; links and ramps (`*_link`) are out.  Each road once, along its "
            "centreline: two one-way lines in opposite directions within 40 m of each other "
            "and alongside for at least 50 % of the shorter (within about 45° of parallel), "
            "whatever their class, are the carriageways of one dual carriageway and count "
            "half where alongside; a lone one-way street counts in full."
        ),
        references=("GB/T 51328-2018 城市综合交通体系规划标准",),
    ),
)
