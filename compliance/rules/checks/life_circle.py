"""Check of the 15-minute life circle (十五分钟生活圈, LC01).

GB 50180-2018 《城市居住区规划设计标准》 (2.0.2–2.0.4, 4.0.1) defines the
residential life circles by walking: the 15-minute circle reaches its
facilities within about 800–1,000 m on foot, the 10-minute circle within
500 m, the 5-minute circle within 300 m; its appendix B lists the facilities
of each circle (初中、卫生服务中心、菜市场或生鲜超市、社区服务中心、养老院、
运动场地 for 15 minutes; 小学 for 10; 幼儿园、托儿所 for 5).  The rule's
limit is the walking distance (1,000 m by default) and ``kinds`` the facility
kinds every residential parcel must reach within it.

Facilities come from the ``facilities`` layer (Points or Polygons with a
``kind`` text, compared case-insensitively); :mod:`compliance.reading.osm` builds it
from OpenStreetMap amenities.  Distances start at the parcel's
representative point (:func:`shapely.point_on_surface`) and end at the
facility's nearest point: a facility polygon (a school campus) is reached at
its boundary, and the distance is 0 inside it.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from ...reading.scheme import Scheme
from ...wording import count_en
from ..measures.buildings import flag
from ..measures.network import (
    nearest_distance_m,
    network_distance_m,
    snap_to_nodes,
    walk_network,
)
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
from .common import fmt1, missing_layer, residential_parcels

#: Facility kinds of the 15-minute life circle required by default (GB 50180-2018 附录 B).
DEFAULT_KINDS = ("school", "clinic", "market", "community_centre", "elderly_care", "sports")

#: Facility kinds as a Chinese reviewer names them.
KIND_ZH = {
    "school": "中小学",
    "kindergarten": "幼儿园",
    "clinic": "医疗卫生设施",
    "market": "菜市场或生鲜超市",
    "community_centre": "社区服务中心",
    "elderly_care": "养老设施",
    "sports": "体育设施",
}

#: Network method: the search stops at this multiple of the rule's limit;
#: farther facilities count as unreachable.
NETWORK_CUTOFF_FACTOR = 3.0

#: Road classes nobody walks on (pedestrians are barred from expressways,
#: 《道路交通安全法》第六十七条): left out of the walking network.
NOT_WALKABLE = ("motorway", "motorway_link")


class LifeCircleParams(Params):
    """Parameters of the life-circle rule.

    Attributes
    ----------
    kinds : list of str
        Facility kinds every residential parcel must reach (``kind`` values of
        the ``facilities`` layer, case-insensitive).
    method : {"straight", "network"}
        Straight-line distance, or walking distance along the ``roads``
        centrelines.
    max_snap_m : float
        Network method: the farthest a parcel's representative point or a
        facility may lie from its nearest road node, m; beyond it the parcel
        is unreachable (and such a facility is left out).
    """

    kinds: list[str] = Field(default_factory=lambda: list(DEFAULT_KINDS), min_length=1)
    method: Literal["straight", "network"] = "straight"
    max_snap_m: float = Field(200.0, gt=0)


def _names_zh(kinds: list[str]) -> str:
    return "、".join(f"{KIND_ZH.get(k, k)}（{k}）" for k in kinds)


def _join(acc: np.ndarray, add: np.ndarray, name: str | np.ndarray, sep: str) -> np.ndarray:
    """Append ``name`` (one text, or one per row) to ``acc`` where ``add`` is true, with ``sep``."""
    return np.where(add, np.where(acc == "", name, acc + sep + name), acc)


@register("life_circle", LifeCircleParams, unit="m")
def check_life_circle(scheme: Scheme, rule: Rule, params: LifeCircleParams) -> Evaluation:
    """LC01: each residential parcel reaches every required facility kind within the limit.

    Per residential parcel (land use 0701 / R) and required kind, the distance
    in metres from the parcel's representative point to the nearest facility
    of that kind (0 inside a facility polygon):

    - ``straight``: the straight line (an STRtree nearest query per kind);
    - ``network``: the walk along the ``roads`` centrelines
      (:func:`compliance.rules.measures.network.walk_network`; every class but
      motorways, footways included; road-land polygons are not centrelines
      and are ignored).  The parcel's point and each facility are snapped to
      their nearest road node; walk = parcel snap + path + facility snap,
      from one Dijkstra search per kind, stopped at
      :data:`NETWORK_CUTOFF_FACTOR` × the limit.

    Measured: the largest of these distances, m (GB 50180-2018: 15-minute
    circle ≈ 800–1,000 m walk, 10-minute 500 m, 5-minute 300 m); the detail
    names the farthest kind.  Measured is NaN, and the parcel fails, when a
    required kind has no facility in the scheme, when a kind cannot be
    reached along the network within the search radius, or when the parcel
    lies farther than ``max_snap_m`` from the road network; the detail says
    which.

    Not evaluated without residential parcels, without a ``facilities`` layer
    or its ``kind`` field, and (network) without road centrelines.
    """
    res = residential_parcels(scheme)
    if isinstance(res, Evaluation):
        return res
    facilities = scheme.layer("facilities")
    if facilities is None:
        return not_evaluated(
            "the scheme has no 'facilities' layer", "方案缺少公共服务设施图层 facilities"
        )
    if "kind" not in facilities.columns:
        return not_evaluated(
            "the 'facilities' layer has no 'kind' field",
            "公共服务设施图层 facilities 缺少 kind 字段",
        )
    kinds = list(dict.fromkeys(k.strip().lower() for k in params.kinds))
    fac_kind = (
        facilities["kind"].astype("string").str.strip().str.lower().fillna("").to_numpy(object)
    )
    fac_geoms = facilities.geometry.to_numpy()
    origins = shapely.point_on_surface(res.geometry.to_numpy())
    n = len(origins)
    present = [k for k in kinds if (fac_kind == k).any()]
    missing = [k for k in kinds if k not in present]
    distance = np.full((n, len(kinds)), np.nan)  # m, per parcel and required kind
    off_network = np.zeros(n, dtype=bool)
    snap_m = np.full(n, np.nan)
    limit_m = float(rule.limit)
    kinds_en = ", ".join(kinds)

    if params.method == "straight":
        for j, k in enumerate(kinds):  # a handful of kinds, not features
            distance[:, j] = nearest_distance_m(origins, fac_geoms[fac_kind == k])
        method = (
            "straight-line distance from the parcel's representative point to the nearest "
            f"facility of each kind (0 inside a facility polygon); measured = the largest "
            f"over {kinds_en}"
        )
        method_zh = (
            "自地块代表点至每类设施中最近一处的直线距离（位于设施面内为 0）；"
            f"量测值取各类设施（{kinds_en}）距离中的最大值"
        )
    else:
        roads = scheme.layer("roads")
        road_geoms = np.empty(0, dtype=object) if roads is None else roads.geometry.to_numpy()
        is_line = np.isin(
            shapely.get_type_id(road_geoms),
            [shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING],
        )
        walkable = is_line.copy()
        if roads is not None and "road_class" in roads.columns:
            cls = roads["road_class"].astype("string").str.strip().str.lower()
            walkable &= ~cls.isin(NOT_WALKABLE).fillna(False).to_numpy(dtype=bool)
        network = walk_network(road_geoms[walkable])
        if len(network.nodes) == 0:
            return not_evaluated(
                "method 'network' needs road centrelines and the scheme's 'roads' layer "
                "has no walkable LineString",
                "按路网量测需要道路中心线，方案的道路图层 roads 中没有可步行的线要素",
            )
        p_node, snap_m = snap_to_nodes(network, origins)
        off_network = ~(snap_m <= params.max_snap_m)
        f_node, f_snap = snap_to_nodes(network, fac_geoms)
        f_on = f_snap <= params.max_snap_m
        cutoff_m = NETWORK_CUTOFF_FACTOR * limit_m
        for j, k in enumerate(kinds):  # a handful of kinds, not features
            sel = (fac_kind == k) & f_on
            node_m = network_distance_m(network, f_node[sel], f_snap[sel], cutoff_m=cutoff_m)
            walk = snap_m + node_m[np.where(p_node >= 0, p_node, 0)]
            distance[:, j] = np.where(off_network | ~np.isfinite(walk), np.nan, walk)
        left_out = int((~f_on & np.isin(fac_kind, kinds)).sum())
        method = (
            "walking distance along the roads centreline network (motorways excluded) from "
            "the parcel's representative point to the nearest facility of each kind, both "
            f"snapped to their nearest road node (at most {params.max_snap_m:g} m; "
            f"{count_en(left_out, 'facility')} farther from the network left out); search radius "
            f"{cutoff_m:,.0f} m; measured = the largest over {kinds_en}"
        )
        method_zh = (
            "沿 roads 图层道路中心线路网（不含高速公路）自地块代表点至每类设施中最近一处的"
            "步行距离，两端均接入最近的路网节点（接入距离不超过 "
            f"{params.max_snap_m:g} 米；{left_out} 处距路网更远的设施未计入）；搜索半径 "
            f"{cutoff_m:,.0f} 米；量测值取各类设施（{kinds_en}）距离中的最大值"
        )

    known = ~np.isnan(distance)
    any_known = known.any(axis=1)
    ranked = np.where(known, distance, -np.inf)
    farthest_m = np.where(any_known, ranked.max(axis=1), np.nan)
    far_j = ranked.argmax(axis=1)
    far_kind = np.asarray(kinds, dtype=object)[far_j]
    measured = np.where(known.all(axis=1), farthest_m, np.nan)  # NaN: a kind not reached
    passed = compare(rule, measured)

    kind_s = pd.Series(far_kind, dtype=object)
    far_zh = kind_s.map(KIND_ZH).fillna(kind_s).to_numpy(dtype=object)
    complete = known.all(axis=1)
    far_text_zh = np.where(
        any_known,
        np.where(complete, "最远为", "可量测的设施中最远为")
        + far_zh
        + "（"
        + far_kind
        + "）"
        + fmt1(farthest_m)
        + " 米",
        "",
    )
    far_text_en = np.where(
        any_known,
        np.where(complete, "farthest: ", "farthest measured: ")
        + far_kind
        + " at "
        + fmt1(farthest_m)
        + " m",
        "",
    )
    n_beyond = np.zeros(n, dtype=np.int64)
    beyond_zh = np.full(n, "", dtype=object)
    beyond_en = np.full(n, "", dtype=object)
    unreach_zh = np.full(n, "", dtype=object)
    unreach_en = np.full(n, "", dtype=object)
    for j, k in enumerate(kinds):  # a handful of kinds, not features
        over = known[:, j] & ~compare(rule, distance[:, j])
        n_beyond += over
        beyond_zh = _join(beyond_zh, over, f"{KIND_ZH.get(k, k)}（{k}）", "、")
        beyond_en = _join(beyond_en, over, k, ", ")
        lost = ~known[:, j] & ~off_network & (k in present)
        unreach_zh = _join(unreach_zh, lost, f"{KIND_ZH.get(k, k)}（{k}）", "、")
        unreach_en = _join(unreach_en, lost, k, ", ")

    parts_zh = [
        far_text_zh,
        np.where(n_beyond > 1, f"超过 {limit_m:,.0f} 米的设施：" + beyond_zh, ""),
        np.where(
            unreach_zh != "",
            f"沿路网 {NETWORK_CUTOFF_FACTOR * limit_m:,.0f} 米内无法到达（路网不连通或更远）："
            + unreach_zh,
            "",
        ),
        np.where(
            off_network,
            "代表点距最近路网节点 "
            + fmt1(snap_m)
            + f" 米，超过 {params.max_snap_m:g} 米的接入距离，无法沿路网到达",
            "",
        ),
    ]
    parts_en = [
        far_text_en,
        np.where(n_beyond > 1, f"beyond {limit_m:,.0f} m: " + beyond_en, ""),
        np.where(
            unreach_en != "",
            f"not reachable within {NETWORK_CUTOFF_FACTOR * limit_m:,.0f} m along the road "
            "network (not connected, or farther): " + unreach_en,
            "",
        ),
        np.where(
            off_network,
            "representative point "
            + fmt1(snap_m)
            + f" m from the nearest road node, beyond max_snap_m {params.max_snap_m:g} m: "
            "unreachable along the network",
            "",
        ),
    ]
    if missing:
        parts_zh.append(np.full(n, "方案中没有以下设施：" + _names_zh(missing), dtype=object))
        parts_en.append(
            np.full(n, "no facility of kind " + ", ".join(missing) + " in the scheme", dtype=object)
        )
    detail_zh = np.full(n, "", dtype=object)
    detail_en = np.full(n, "", dtype=object)
    for zh, en in zip(parts_zh, parts_en, strict=True):  # a few message parts
        detail_zh = _join(detail_zh, zh != "", np.asarray(zh, dtype=object), "；")
        detail_en = _join(detail_en, en != "", np.asarray(en, dtype=object), "; ")

    subject_zh, subject_en = label(res, "居住用地", "residential parcel")
    return Evaluation(
        make_rows(
            res.geometry,
            feature_id=res["feature_id"],
            subject_zh=subject_zh,
            subject_en=subject_en,
            measured=measured,
            passed=passed,
            detail_zh=detail_zh,
            detail_en=detail_en,
            method=method,
            method_zh=method_zh,
        ),
        quantity_zh=(
            "至最远一类必需设施的" + ("步行距离" if params.method == "network" else "直线距离")
        ),
        quantity_en=(
            "distance "
            + ("along the road network" if params.method == "network" else "in a straight line")
            + " to the farthest required facility kind"
        ),
    )


# --------------------------------------------------------------------------- rule types

declare(
    "LC01",
    title_zh="十五分钟生活圈",
    title_en="15-minute life circle (everyday facilities within walking distance)",
    check=check_life_circle,
    layer="parcels",
    comparison="<=",
    params={
        "kinds": ["school", "clinic", "market", "community_centre", "elderly_care", "sports"],
        "method": "straight",
    },
    doc=RuleDoc(
        what="For each residential parcel, the farthest of the distances to the nearest "
        "facility of each required kind, m.",
        why="The plans ask for complete 15-minute community life circles (十五分钟生活圈).",
        how=(
            "From each residential parcel to the nearest facility of every required kind, "
            "straight-line or along the walkable road network (networkx); ≤ 1,000 m (GB "
            "50180-2018: 15-minute walk 800–1,000 m)."
        ),
        references=("GB 50180-2018 城市居住区规划设计标准",),
    ),
)


# --------------------------------------------------------------------------- CM01


class CommunityParams(Params):
    """Parameters of the complete-community coverage (CM01)."""

    weight: Literal["count", "area"] = "count"


@register("complete_community_coverage", CommunityParams, unit="%")
def check_complete_community_coverage(
    scheme: Scheme, rule: Rule, params: CommunityParams
) -> Evaluation:
    """CM01: complete residential communities (完整居住社区) as a share of all, %.

    Communities with ``complete`` true ÷ all features of the ``communities``
    layer × 100, by number (``weight: count``, as 覆盖率 is reported) or by
    area.  One row ``*``; its geometry is the union of the communities that
    are not complete (all when every one is).  Without the layer or the
    ``complete`` field the rule is not evaluated.
    """
    c = scheme.layer("communities")
    if c is None:
        return missing_layer("communities")
    done = flag(c, "complete")
    if done is None:
        return not_evaluated(
            "the 'communities' layer has no 'complete' field (complete community: yes/no)",
            "居住社区图层 communities 缺少 complete 字段（是否为完整居住社区）",
        )
    if c.empty:
        return not_evaluated("the 'communities' layer is empty", "居住社区图层 communities 为空")
    ok = done.to_numpy()
    w = np.ones(len(c)) if params.weight == "count" else c.geometry.area.to_numpy()
    total = float(w.sum())
    share = 100.0 * float(w[ok].sum()) / total if total > 0 else np.nan
    geoms = c.geometry.to_numpy()
    place = shapely.union_all(geoms[~ok] if (~ok).any() else geoms)
    n_ok, n = int(ok.sum()), len(c)
    ids = c["feature_id"].astype(str).to_numpy()[~ok][:5]
    more = n - n_ok > 5
    names_zh = f"；未达标社区编号 {'、'.join(ids)}{'等' if more else ''}" if n > n_ok else ""
    names_en = f"; not complete: {', '.join(ids)}{', …' if more else ''}" if n > n_ok else ""
    by_zh = "个数" if params.weight == "count" else "面积"
    return Evaluation(
        make_rows(
            gpd.GeoSeries([place], crs=scheme.crs),
            feature_id="*",
            subject_zh="全部居住社区",
            subject_en="all residential communities",
            measured=[share],
            passed=compare(rule, np.array([share])),
            detail_zh=f"完整居住社区 {n_ok:,} 个，居住社区共 {n:,} 个{names_zh}",
            detail_en=f"{n_ok:,} complete of {count_en(n, 'community')}{names_en}",
            method=f"communities with complete true ÷ all communities × 100, by {params.weight}",
            method_zh=f"complete 字段为是的居住社区 ÷ 全部居住社区 × 100，按{by_zh}计",
        ),
        quantity_zh="完整居住社区覆盖率",
        quantity_en="complete-community coverage",
    )


declare(
    "CM01",
    title_zh="完整居住社区覆盖率",
    title_en="Complete residential community coverage",
    check=check_complete_community_coverage,
    layer="communities",
    comparison=">=",
    doc=RuleDoc(
        what="The share of residential communities that are complete communities "
        "(完整居住社区), %.",
        why="Hebi (50 % by 2025, 60 % by 2030, 预期性) and Jiaozuo (60 % or more by 2030) "
        "set a coverage of complete communities.",
        how="Features of the `communities` layer with `complete` true ÷ all of them, by "
        "number (or by area with `weight: area`); one aggregate finding drawn on the "
        "communities that are not complete. Whether a community is complete is the "
        "reviewer's input, judged against 《完整居住社区建设标准（试行）》.",
        references=("《完整居住社区建设标准（试行）》（建科规〔2020〕7号）",),
    ),
)
