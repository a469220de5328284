"""Checks of buildings, energy and urban renewal (BH, EN, GB, UR rules).

Heights, storeys and floor areas come from
:mod:`compliance.rules.measures.buildings`: attributes where present, else derived
from each other with a storey height (``floor_height_m``) and marked
estimated, so that a failure resting on an estimate is reported as a warning.
Buildings outside a rule's scope (not new, other uses) and buildings lacking
the value measured are counted in ``skipped`` with the reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from ...reading.scheme import Scheme
from ..measures.buildings import (
    DEFAULT_FLOOR_HEIGHT_M,
    RESIDENTIAL_USES,
    Estimate,
    building_districts,
    district_floor_areas,
    district_kind,
    flag,
    floor_area_m2,
    has_text,
    height_m,
    nearest_m,
    nearest_other_m,
    normalised_uses,
    numeric_field,
    storeys,
    use_in,
    zone_of,
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
from .common import Wording, fmt_fixed, fmt_general, missing_layer

#: Uses of public-institution buildings (公共机构建筑) and factories (厂房), EN01 default:
#: the ``use`` values, English and Chinese, that put a new building in scope.
PV_PUBLIC_USES = [
    "public",
    "government",
    "civic",
    "office",
    "school",
    "university",
    "college",
    "kindergarten",
    "hospital",
    "clinic",
    "library",
    "museum",
    "公共机构",
    "公共建筑",
    "机关",
    "机关办公",
    "行政办公",
    "办公",
    "政府",
    "事业单位",
    "学校",
    "中小学",
    "幼儿园",
    "高校",
    "医院",
    "卫生院",
    "图书馆",
    "博物馆",
    "科技馆",
    "文化馆",
    "体育馆",
]
PV_FACTORY_USES = [
    "factory",
    "industrial",
    "manufacture",
    "warehouse",
    "厂房",
    "工业",
    "工业厂房",
    "标准厂房",
    "仓库",
    "仓储",
]
PV_USES = [*PV_PUBLIC_USES, *PV_FACTORY_USES]

#: Non-residential uses that should adopt solar water heating (EN02 default).
SOLAR_THERMAL_USES = ["hospital", "school", "hotel", "swimming_pool", "bathhouse"]

# --------------------------------------------------------------------------- helpers


def _missing_field(field: str, why_en: str = "", why_zh: str = "") -> Evaluation:
    """Not evaluated: the buildings layer lacks a field the rule needs."""
    return not_evaluated(
        f"the 'buildings' layer has no '{field}' field" + (f" ({why_en})" if why_en else ""),
        f"建筑图层 buildings 缺少 {field} 字段" + (f"（{why_zh}）" if why_zh else ""),
    )


def _text(values: pd.Series | np.ndarray, spec: str) -> np.ndarray:
    """Numbers as text for messages (``format(v, spec)``), an object array aligned by position.

    ``spec`` is one of ``g``, ``.1f`` and ``,.0f``; vectorised
    (:func:`~compliance.rules.checks.common.fmt_fixed`).
    """
    if spec == "g":
        return fmt_general(values)
    if spec == ".1f":
        return fmt_fixed(values, 1, thousands=False)
    if spec == ",.0f":
        return fmt_fixed(values, 0)
    raise ValueError(f"unsupported number format {spec!r}")


#: Building uses (``use``) as Chinese findings name them; other values are quoted as given.
USE_ZH = {
    "residential": "住宅",
    "apartments": "公寓",
    "house": "住宅",
    "detached": "独立住宅",
    "terrace": "联排住宅",
    "dormitory": "宿舍",
    "affordable_housing": "保障性住房",
    "office": "办公",
    "government": "机关办公",
    "civic": "公共建筑",
    "public": "公共建筑",
    "commercial": "商业",
    "retail": "零售商业",
    "hotel": "旅馆",
    "school": "学校",
    "university": "高等院校",
    "college": "学院",
    "kindergarten": "幼儿园",
    "hospital": "医院",
    "clinic": "诊所",
    "museum": "博物馆",
    "library": "图书馆",
    "sports_hall": "体育馆",
    "stadium": "体育场",
    "train_station": "火车站",
    "transportation": "交通建筑",
    "industrial": "工业",
    "factory": "厂房",
    "warehouse": "仓库",
}


#: Investors (``investor``) as Chinese findings name them.
INVESTOR_ZH = {"government": "政府", "public": "政府"}


def _zh_values(values: np.ndarray, names: dict[str, str] = USE_ZH) -> np.ndarray:
    """Use or investor values for Chinese text: known English values translated, others in 「」."""
    text = pd.Series(values, dtype="string")
    known = text.str.lower().map(names)
    cjk = text.str.contains(r"[\u4e00-\u9fff]", regex=True)
    out = known.where(known.notna(), text.where(cjk.fillna(False), "「" + text + "」"))
    return out.fillna("").to_numpy(dtype=object)


def _obj(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


class _Sieve:
    """Features still in scope, with counted reasons (English, Chinese) for those dropped."""

    def __init__(self, index: pd.Index, noun_en: str = "building", noun_zh: str = "建筑") -> None:
        self.keep = pd.Series(True, index=index)
        self.noun_en, self.noun_zh = noun_en, noun_zh
        self.classifier = "栋" if noun_zh == "建筑" else "个"  # 建筑 1 栋, 更新单元 1 个
        self.reasons: list[str] = []
        self.reasons_zh: list[str] = []

    def drop(self, mask: pd.Series, reason: str, reason_zh: str) -> None:
        dropped = self.keep & mask.astype(bool)
        n = int(dropped.sum())
        if n:
            self.reasons.append(f"{n} {reason}")
            self.reasons_zh.append(f"{reason_zh} {n:,} {self.classifier}")
        self.keep &= ~dropped

    @property
    def skipped(self) -> int:
        return int((~self.keep).sum())

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def reason_zh(self) -> str:
        return "；".join(self.reasons_zh)

    def nothing_left(self) -> Evaluation:
        """Not evaluated: no feature is in scope with the data the rule needs.

        The engine has no finding to report then; the reasons say why.
        """
        return Evaluation(
            rows=None,
            not_evaluated=f"no {self.noun_en} in scope with the data the rule needs "
            f"({self.reason or 'the layer is empty'})",
            not_evaluated_zh=f"没有在适用范围内且数据齐全的{self.noun_zh}"
            f"（{'，'.join(self.reasons_zh) or '图层为空'}）",
            skipped=self.skipped,
            skip_reason=self.reason,
            skip_reason_zh=self.reason_zh,
        )


def _scope(
    b: gpd.GeoDataFrame, sieve: _Sieve, *, new_only: bool, uses: list[str] | None
) -> Evaluation | None:
    """Drop buildings that are not new (``new_only``) or not of ``uses``.

    Returns the not-evaluated reason when a field the scope needs is absent.
    """
    if new_only:
        new = flag(b, "is_new")
        if new is None:
            return _missing_field(
                "is_new", "the rule covers new buildings only", "该条仅适用于新建建筑"
            )
        sieve.drop(~new, "not new", "非新建")
    if uses is not None:
        if "use" not in b.columns:
            return _missing_field(
                "use", "the rule covers buildings of given uses", "该条仅适用于特定用途建筑"
            )
        sieve.drop(~has_text(b, "use"), "without a use", "无用途")
        sieve.drop(~use_in(b, uses), "of other uses", "其他用途")
    return None


def _is_residential(uses: list[str] | None) -> bool:
    return uses is not None and set(normalised_uses(uses)) <= set(RESIDENTIAL_USES)


def _scope_words(new_only: bool, uses: list[str] | None) -> tuple[str, str]:
    """How a detail names the buildings in scope: 新建住宅 / new residential building."""
    res = _is_residential(uses)
    zh = ("新建" if new_only else "") + ("住宅" if res else "建筑")
    en = ("new " if new_only else "") + ("residential building" if res else "building")
    return zh, en


def _buildings(scheme: Scheme) -> gpd.GeoDataFrame | Evaluation:
    b = scheme.layer("buildings")
    return missing_layer("buildings") if b is None else b


def _needs_height_or_floors(b: gpd.GeoDataFrame) -> Evaluation | None:
    if "height_m" in b.columns or "floors" in b.columns:
        return None
    return not_evaluated(
        "the 'buildings' layer has neither a 'height_m' nor a 'floors' field",
        "建筑图层 buildings 既无 height_m 字段也无 floors 字段",
    )


# --------------------------------------------------------------------------- BH01, BH03


def _scoped_estimate(
    scheme: Scheme,
    params: HeightParams | FloorsParams,
    estimate: Callable[[gpd.GeoDataFrame, float], Estimate],
    missing_en: str,
    missing_zh: str,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, _Sieve] | Evaluation:
    """Buildings in scope with a height or storeys value, for BH01/BH03 and BH04.

    Returns the buildings kept, their values and estimated flags (from
    ``estimate``: :func:`height_m` or :func:`storeys`) and the sieve that
    counted the rest; or the not-evaluated reason.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    if (ne := _needs_height_or_floors(b)) is not None:
        return ne
    sieve = _Sieve(b.index)
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=params.uses)) is not None:
        return ne
    e = estimate(b, params.floor_height_m)
    sieve.drop(e.values.isna(), missing_en, missing_zh)
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    return b[keep], e.values[keep].to_numpy(), e.estimated[keep].to_numpy(), sieve


class HeightParams(Params):
    """Parameters of the building-height check (BH01, BH03)."""

    new_only: bool = True
    uses: list[str] | None = None
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


#: What BH01/BH03/BH06 say of a building's height.
HEIGHT_WORDING = Wording(
    detail_zh=(
        "{scope_zh}，高度按 {floors} 层 × {fh:g} 米估算",
        "{scope_zh}，高度按 height_m 字段",
    ),
    detail_en=(
        "{scope_en}, height estimated as {floors} floors × {fh:g} m",
        "{scope_en}, height from the height_m field",
    ),
    method=("floors × {fh:g} m storey height (estimated)", "height_m attribute"),
    method_zh=("层数 × 层高 {fh:g} 米（估算）", "建筑高度取自 height_m 字段"),
)


@register("building_height", HeightParams, unit="m")
def check_building_height(scheme: Scheme, rule: Rule, params: HeightParams) -> Evaluation:
    """BH01/BH03/BH06: height of each (new) building of the uses in scope, m.

    ``height_m``, else ``floors`` × ``floor_height_m`` (estimated).  BH01
    holds every new building to 250 m (002 二(一)3); BH03 new residential
    buildings to 100 m (超高层住宅, 000 (一)2).  Buildings with neither field
    are skipped.
    """
    return _per_building(
        scheme,
        rule,
        params,
        height_m,
        ("without height_m or floors", "无高度与层数"),
        HEIGHT_WORDING,
        ("floors", "g"),
        ("建筑高度", "building height"),
    )


def _per_building(
    scheme: Scheme,
    rule: Rule,
    params: HeightParams | FloorsParams,
    estimate: Callable[[gpd.GeoDataFrame, float], Estimate],
    missing: tuple[str, str],
    wording: Wording,
    other: tuple[str, str],
    quantity: tuple[str | None, str | None] = (None, None),
) -> Evaluation:
    """One row per building in scope, its value from ``estimate`` and said by ``wording``.

    ``other`` names the field an estimate comes from and its number format
    (``("floors", "g")``: the template's ``{floors}``).
    """
    found = _scoped_estimate(scheme, params, estimate, *missing)
    if isinstance(found, Evaluation):
        return found
    s, value, est, sieve = found
    scope_zh, scope_en = _scope_words(params.new_only, params.uses)
    zh, en = label(s, "建筑", "building")
    texts = wording.rows(
        est,
        scope_zh=scope_zh,
        scope_en=scope_en,
        fh=params.floor_height_m,
        **{other[0]: _text(numeric_field(s, other[0]), other[1])},
    )
    return Evaluation(
        make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=value,
            passed=compare(rule, value),
            estimated=est,
            **texts,
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh=quantity[0],
        quantity_en=quantity[1],
    )


# --------------------------------------------------------------------------- BH02


class ClusteringParams(Params):
    """Parameters of the tall-building clustering check (BH02).

    ``min_height_m`` is inclusive (100 米以上 includes 100 m).  With
    ``new_only`` only new tall buildings are reported; existing tall
    buildings still count as their neighbours.
    """

    min_height_m: float = Field(100.0, ge=0)
    new_only: bool = False
    method: Literal["neighbours", "zones"] = "neighbours"
    max_gap_m: float = Field(
        500.0, gt=0, description="the tool's test of 相对集中: another such building this near"
    )
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


@register("tall_building_clustering", ClusteringParams, unit="m")
def check_tall_building_clustering(
    scheme: Scheme, rule: Rule, params: ClusteringParams
) -> Evaluation:
    """BH02: buildings of ``min_height_m`` and more laid out together (相对集中布局, 002 二(一)3).

    ``neighbours``: for each building of at least ``min_height_m`` (以上
    includes the number), the shortest distance between its footprint and
    that of the nearest other such building, new or existing, m; a lone tall
    building has no neighbour (measured NaN, fails).  ``zones``: the distance
    from the footprint to the nearest ``height_zones`` polygon, m (0 inside
    or touching), held to a per-row limit of 0.  With ``new_only`` only new
    buildings are reported (the clause: 新建100米以上的建筑).  Heights as in
    :func:`check_building_height`.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    if (ne := _needs_height_or_floors(b)) is not None:
        return ne
    new = flag(b, "is_new")
    if params.new_only and new is None:
        return _missing_field(
            "is_new", "the rule covers new buildings only", "该条仅适用于新建建筑"
        )
    zones = None
    if params.method == "zones":
        zones = scheme.layer("height_zones")
        if zones is None:
            return missing_layer("height_zones")
    fh, hmin = params.floor_height_m, params.min_height_m
    h = height_m(b, fh)
    tall_all = (h.values >= hmin).to_numpy()
    sieve = _Sieve(b.index)
    sieve.drop(h.values.isna(), "without height_m or floors", "无高度与层数")
    sieve.drop(h.values < hmin, f"lower than {hmin:g} m", f"高度低于 {hmin:g} 米")
    if params.new_only:
        assert new is not None
        sieve.drop(~new, "not new", "非新建")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    value = h.values[keep].to_numpy()
    est = h.estimated[keep].to_numpy()
    zh, en = label(s, "建筑", "building")
    head_zh = np.where(est, "高度按层数估算为 ", "高度 ") + _text(value, ".1f") + " 米"
    head_en = np.where(est, "height from floors ", "height ") + _text(value, ".1f") + " m"
    if zones is None:
        # neighbours among every tall building, new or existing
        tall = b[tall_all]
        tall_est = h.estimated[tall_all].to_numpy()
        t_zh, t_en = label(tall, "建筑", "building")
        near_all = nearest_other_m(tall.geometry)
        at = np.flatnonzero(keep[tall_all])  # rows of s among the tall ones
        lone = near_all.position[at] < 0
        other = np.where(lone, 0, near_all.position[at])
        dist = near_all.distance_m[at]
        estimated = est | (tall_est[other] & ~lone)
        nb_zh, nb_en = _obj(t_zh)[other], _obj(t_en)[other]
        detail_zh = np.where(
            lone,
            head_zh + f"，方案中没有其他高度 {hmin:g} 米以上的建筑",
            head_zh + f"，最近的另一栋高度 {hmin:g} 米以上的建筑为" + nb_zh,
        )
        detail_en = np.where(
            lone,
            head_en + f"; no other building of {hmin:g} m or more in the scheme",
            head_en + f"; nearest other building of {hmin:g} m or more: " + nb_en,
        )
        rows = make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=dist,
            passed=compare(rule, dist, limit=params.max_gap_m),
            detail_zh=detail_zh,
            detail_en=detail_en,
            method=f"shortest distance between footprints to the nearest other building "
            f"of {hmin:g} m or more, new or existing (STRtree); height from height_m, "
            f"else floors × {fh:g} m",
            method_zh=f"建筑基底与最近另一栋高度 {hmin:g} 米以上建筑（含现状）基底之间的最短距离"
            f"（STRtree）；高度取 height_m 字段，否则按层数 × {fh:g} 米",
            estimated=estimated,
        )
        q_zh = f"与最近另一栋 {hmin:g} 米以上建筑的间距"
        q_en = f"distance to the nearest other building of {hmin:g} m or more"
        c_zh = (
            f"本工具以 {params.max_gap_m:,g} 米内有其他 {hmin:g} 米以上建筑作为相对集中的判定条件"
        )
        c_en = (
            f"the tool takes another building over {hmin:g} m within {params.max_gap_m:,g} m "
            "as its test of 'laid out together'"
        )
    else:
        assert zones is not None
        near = nearest_m(s.geometry, zones.geometry)
        dist = near.distance_m
        z_zh, z_en = label(zones, "高度控制区", "height-control zone")
        at = np.where(near.position < 0, 0, near.position)
        inside = dist == 0
        rows = make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=dist,
            passed=compare(rule, dist, limit=0.0),
            detail_zh=np.where(
                inside,
                head_zh + "，位于" + _obj(z_zh)[at] + "内",
                head_zh + "，最近的高度控制区为" + _obj(z_zh)[at],
            ),
            detail_en=np.where(
                inside,
                head_en + "; inside " + _obj(z_en)[at],
                head_en + "; nearest zone: " + _obj(z_en)[at],
            ),
            method=f"distance from the footprint to the nearest height_zones polygon "
            f"(0 inside); height from height_m, else floors × {fh:g} m",
            method_zh="建筑基底至最近高度控制区 height_zones 面的距离（位于区内为 0）；"
            f"高度取 height_m 字段，否则按层数 × {fh:g} 米",
            estimated=est,
        )
        q_zh, q_en = "至最近高度控制区的距离", "distance to the nearest height-control zone"
        c_zh = "本工具以位于高度控制区（height_zones 图层）内作为相对集中的判定条件"
        c_en = "the tool takes standing in a height-control zone as its test of 'laid out together'"
    return Evaluation(
        rows,
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh=q_zh,
        quantity_en=q_en,
        criterion_zh=c_zh,
        criterion_en=c_en,
    )


# --------------------------------------------------------------------------- BH04, BH05


class FloorsParams(Params):
    """Parameters of the storeys check (BH04)."""

    new_only: bool = True
    uses: list[str] | None = Field(default_factory=lambda: list(RESIDENTIAL_USES))
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


#: What BH04 says of a building's storeys.
FLOORS_WORDING = Wording(
    detail_zh=(
        "{scope_zh}，高度 {height_m} 米，层数按高度 ÷ {fh:g} 米估算",
        "{scope_zh}，层数按 floors 字段",
    ),
    detail_en=(
        "{scope_en}, height {height_m} m, floors estimated as height ÷ {fh:g} m",
        "{scope_en}, floors from the floors field",
    ),
    method=("height_m ÷ {fh:g} m storey height, rounded up (estimated)", "floors attribute"),
    method_zh=("height_m ÷ 层高 {fh:g} 米，向上取整（估算）", "层数取自 floors 字段"),
)


@register("building_floors", FloorsParams, unit="floors")
def check_building_floors(scheme: Scheme, rule: Rule, params: FloorsParams) -> Evaluation:
    """BH04: storeys of each new residential building (新建住宅层数).

    ``floors``, else ``height_m`` ÷ ``floor_height_m`` rounded up
    (estimated).  18 floors in the national plan (000 四(六)), 12 in Alxa
    (001 二(一)3); a justified exception above the limit is recorded in the
    exceptions file.
    """
    return _per_building(
        scheme,
        rule,
        params,
        storeys,
        ("without floors or height_m", "无层数与高度"),
        FLOORS_WORDING,
        ("height_m", ".1f"),
        ("层数", "number of floors"),
    )


class LowRiseParams(Params):
    """Parameters of the low-rise share (BH05)."""

    new_only: bool = True
    uses: list[str] | None = Field(default_factory=lambda: list(RESIDENTIAL_USES))
    max_floors: float = Field(6, gt=0)
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


@register("low_rise_share", LowRiseParams, unit="%")
def check_low_rise_share(scheme: Scheme, rule: Rule, params: LowRiseParams) -> Evaluation:
    """BH05: share of new residential floor area in buildings of ≤ ``max_floors``, %.

    Σ floor area of new residential buildings of at most ``max_floors``
    storeys ÷ Σ floor area of all new residential buildings × 100 (000
    四(六): 6 层及以下住宅建筑面积占比应当不低于 70%).  Floor area from
    ``floor_area_m2``, else footprint × storeys; storeys from ``floors``, else
    height ÷ ``floor_height_m``; estimated when any counted value is.  One
    row ``*``; its geometry is the union of the taller buildings (all when
    none is taller).
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    if (ne := _needs_height_or_floors(b)) is not None:
        return ne
    sieve = _Sieve(b.index)
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=params.uses)) is not None:
        return ne
    fh, top = params.floor_height_m, params.max_floors
    n = storeys(b, fh)
    area = floor_area_m2(b, fh)
    sieve.drop(n.values.isna(), "without floors or height_m", "无层数与高度")
    sieve.drop(area.values.isna(), "without a floor area", "无建筑面积")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    scope_zh, scope_en = _scope_words(params.new_only, params.uses)
    fa = area.values[keep].to_numpy()
    low = n.values[keep].to_numpy() <= top
    total, low_total = float(fa.sum()), float(fa[low].sum())
    share = 100.0 * low_total / total if total > 0 else np.nan
    estimated = bool((area.estimated[keep] | n.estimated[keep]).any())
    geoms = s.geometry.to_numpy()
    place = shapely.union_all(geoms[~low] if (~low).any() else geoms)
    residential = _is_residential(params.uses)
    what_zh = "住宅" if residential else "建筑"
    what_en = "residential " if residential else ""
    return Evaluation(
        make_rows(
            gpd.GeoSeries([place], crs=scheme.crs),
            feature_id="*",
            subject_zh="全部" + scope_zh,
            subject_en="all " + scope_en + "s",
            measured=[share],
            passed=compare(rule, np.array([share])),
            detail_zh=f"{top:g}层及以下{what_zh}建筑面积 {low_total:,.0f} 平方米，"
            f"{scope_zh}总建筑面积 {total:,.0f} 平方米",
            detail_en=f"{what_en}floor area in buildings of {top:g} floors or fewer "
            f"{low_total:,.0f} m2 of {total:,.0f} m2 in all {scope_en}s",
            method=f"floor area of buildings of ≤ {top:g} floors ÷ all floor area × 100; "
            f"floor area from floor_area_m2, else footprint × floors (estimated); floors from "
            f"floors, else height_m ÷ {fh:g} m (estimated)",
            method_zh=f"{top:g} 层及以下建筑的建筑面积 ÷ 全部建筑面积 × 100；建筑面积取 "
            "floor_area_m2 字段，否则按基底面积 × 层数（估算）；层数取 floors 字段，否则按 "
            f"height_m ÷ {fh:g} 米（估算）",
            estimated=estimated,
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh=f"{top:g}层及以下{what_zh}建筑面积占比",
        quantity_en=f"share of floor area in buildings of {top:g} floors or fewer",
    )


# --------------------------------------------------------------------------- EN01, EN02


class PVParams(Params):
    """Parameters of the rooftop-PV coverage (EN01)."""

    new_only: bool = True
    uses: list[str] | None = Field(default_factory=lambda: list(PV_USES))


@register("pv_coverage", PVParams, unit="%")
def check_pv_coverage(scheme: Scheme, rule: Rule, params: PVParams) -> Evaluation:
    """EN01: rooftop PV coverage of each new public-institution building or factory, %.

    ``pv_area_m2`` ÷ ``roof_area_m2`` × 100; without a roof area the
    footprint area stands for it (the method says so).  Buildings without
    ``pv_area_m2`` are skipped; without the field the rule is not evaluated.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    if "pv_area_m2" not in b.columns:
        return _missing_field("pv_area_m2", "rooftop PV area", "屋顶光伏面积")
    sieve = _Sieve(b.index)
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=params.uses)) is not None:
        return ne
    pv_all = pd.to_numeric(b["pv_area_m2"], errors="coerce").astype(float)
    sieve.drop(pv_all.isna(), "without pv_area_m2", "无光伏面积")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    pv = pv_all[keep].to_numpy()
    roof_attr = (
        pd.to_numeric(s["roof_area_m2"], errors="coerce").astype(float).to_numpy()
        if "roof_area_m2" in s.columns
        else np.full(len(s), np.nan)
    )
    has_roof = roof_attr > 0
    roof = np.where(has_roof, roof_attr, s.geometry.area.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(roof > 0, 100.0 * pv / roof, np.nan)
    zh, en = label(s, "建筑", "building")
    pv_t, roof_t = _text(pv, ",.0f"), _text(roof, ",.0f")
    return Evaluation(
        make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=share,
            passed=compare(rule, share),
            detail_zh=np.where(
                has_roof,
                "光伏面积 " + pv_t + " 平方米，屋顶面积 " + roof_t + " 平方米",
                "光伏面积 " + pv_t + " 平方米，屋顶面积按基底面积 " + roof_t + " 平方米计",
            ),
            detail_en=np.where(
                has_roof,
                "PV " + pv_t + " m2 on a roof of " + roof_t + " m2",
                "PV " + pv_t + " m2; roof taken as the footprint, " + roof_t + " m2",
            ),
            method=np.where(
                has_roof,
                "pv_area_m2 ÷ roof_area_m2 × 100",
                "pv_area_m2 ÷ footprint area × 100 (no roof_area_m2)",
            ),
            method_zh=np.where(
                has_roof,
                "光伏面积 pv_area_m2 ÷ 屋顶面积 roof_area_m2 × 100",
                "光伏面积 pv_area_m2 ÷ 基底面积 × 100（无 roof_area_m2 字段）",
            ),
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh="屋顶光伏覆盖率",
        quantity_en="rooftop PV coverage",
    )


class SolarThermalParams(Params):
    """Parameters of the solar water-heating check (EN02)."""

    new_only: bool = True
    residential_uses: list[str] = Field(default_factory=lambda: list(RESIDENTIAL_USES))
    residential_max_floors: float = Field(12, gt=0)
    other_uses: list[str] = Field(default_factory=lambda: list(SOLAR_THERMAL_USES))
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


@register("solar_thermal", SolarThermalParams, unit="%")
def check_solar_thermal(scheme: Scheme, rule: Rule, params: SolarThermalParams) -> Evaluation:
    """EN02: solar water heating on new housing of ≤ 12 floors and on hospitals, schools … (%).

    In scope (001 二(二)10): new residential buildings of at most
    ``residential_max_floors`` storeys (``floors``, else height ÷
    ``floor_height_m``, estimated) and new buildings of ``other_uses``.
    Measured 100 when ``solar_thermal`` is true, else 0.  Without a
    ``solar_thermal`` field the rule is not evaluated.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    solar_all = flag(b, "solar_thermal")
    if solar_all is None:
        return _missing_field("solar_thermal", "solar water heating", "太阳能热水系统")
    sieve = _Sieve(b.index)
    in_uses = [*params.residential_uses, *params.other_uses]
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=in_uses)) is not None:
        return ne
    other_all = use_in(b, params.other_uses)
    res_all = use_in(b, params.residential_uses) & ~other_all
    fh, top = params.floor_height_m, params.residential_max_floors
    n = storeys(b, fh)
    sieve.drop(
        res_all & n.values.isna(), "residential without floors or height_m", "住宅无层数与高度"
    )
    sieve.drop(
        res_all & (n.values > top), f"residential above {top:g} floors", f"住宅超过 {top:g} 层"
    )
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    solar = solar_all[keep].to_numpy()
    res = res_all[keep].to_numpy()
    est = res & n.estimated[keep].to_numpy()
    value = np.where(solar, 100.0, 0.0)
    new_zh, new_en = ("新建", "new ") if params.new_only else ("", "")
    floors_t = _text(n.values[keep], "g")
    use_t = _obj(s["use"].astype("string").str.strip().fillna(""))
    what_zh = np.where(
        res,
        new_zh + "住宅，" + np.where(est, "层数按高度估算为 ", "") + floors_t + " 层",
        new_zh + "建筑，用途 " + _zh_values(use_t),
    )
    what_en = np.where(
        res,
        new_en
        + "residential, "
        + floors_t
        + " floors"
        + np.where(est, " estimated from height", ""),
        new_en + "building, use " + use_t,
    )
    zh, en = label(s, "建筑", "building")
    return Evaluation(
        make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=value,
            passed=compare(rule, value),
            detail_zh=what_zh + np.where(solar, "，已配置太阳能热水系统", "，未配置太阳能热水系统"),
            detail_en=what_en
            + np.where(solar, ", with solar water heating", ", without solar water heating"),
            method=np.where(
                res,
                f"solar_thermal attribute; residential ≤ {top:g} floors (floors, else "
                f"height_m ÷ {fh:g} m)",
                "solar_thermal attribute; use in " + ", ".join(params.other_uses),
            ),
            method_zh=np.where(
                res,
                f"取自 solar_thermal 字段；适用于 {top:g} 层及以下住宅（层数取 floors 字段，"
                f"否则按 height_m ÷ {fh:g} 米）",
                "取自 solar_thermal 字段；适用用途为 " + ", ".join(params.other_uses),
            ),
            estimated=est,
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh="太阳能热水系统配置比例",
        quantity_en="share with solar water heating",
    )


# --------------------------------------------------------------------------- GB01


class StarTier(Params):
    """One requirement of green-building stars: which buildings, how many stars.

    A building matches when its use is in ``uses`` (None: any), its investor
    in ``investors`` (None: any), its floor area ≥ ``min_floor_area_m2`` and
    its height ≥ ``min_height_m`` (以上: inclusive) and > ``above_height_m``
    (超高层: over 100 m, GB 50352-2019 3.1.2); ``except_uses`` leave a use out
    (民用建筑: not industrial).  With ``district_kinds``, the building must
    also lie in a district of the ``districts`` layer of one of those kinds
    (``residential`` 居住小区, ``new_urban`` 城市新建区, ``eco`` 绿色生态城区)
    whose gross floor area is ≥ ``min_district_floor_area_m2`` (阿拉善
    二(二)6: 建筑面积5万平方米以上的居住小区 is a district of 50,000 m², not a
    building of that size).
    """

    uses: list[str] | None = None
    except_uses: list[str] | None = None
    investors: list[str] | None = None
    min_floor_area_m2: float = Field(0.0, ge=0)
    min_height_m: float = Field(0.0, ge=0)
    above_height_m: float = Field(0.0, ge=0)
    district_kinds: list[Literal["residential", "new_urban", "eco"]] | None = None
    min_district_floor_area_m2: float = Field(0.0, ge=0)
    stars: int = Field(ge=0, le=3)


class GreenStarParams(Params):
    """Parameters of the green-building star check (GB01)."""

    new_only: bool = True
    tiers: list[StarTier] = Field(
        default_factory=lambda: [StarTier.model_validate({"stars": 1})], min_length=1
    )
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


def _tier_words(
    t: StarTier,
    use: np.ndarray,
    investor: np.ndarray,
    everyone: tuple[str, str],
    district: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What makes a tier apply to each building, naming the building's own use and investor.

    The tier's full lists of uses and investors can be long; a reviewer needs
    only the value that matched.
    """
    n = len(use)
    zh: list[np.ndarray] = []
    en: list[np.ndarray] = []
    if t.uses is not None:
        zh.append("用途为 " + _zh_values(use))
        en.append("use " + use)
    if t.investors is not None:
        zh.append("投资主体为 " + _zh_values(investor, INVESTOR_ZH))
        en.append("investor " + investor)
    if t.min_floor_area_m2 > 0:
        zh.append(np.full(n, f"建筑面积不小于 {t.min_floor_area_m2:,.0f} 平方米", dtype=object))
        en.append(np.full(n, f"floor area ≥ {t.min_floor_area_m2:,.0f} m2", dtype=object))
    if t.min_height_m > 0:
        zh.append(np.full(n, f"高度不小于 {t.min_height_m:g} 米", dtype=object))
        en.append(np.full(n, f"height ≥ {t.min_height_m:g} m", dtype=object))
    if t.above_height_m > 0:
        zh.append(np.full(n, f"高度大于 {t.above_height_m:g} 米", dtype=object))
        en.append(np.full(n, f"height > {t.above_height_m:g} m", dtype=object))
    if t.district_kinds is not None and district is not None:
        zh.append(district[0])
        en.append(district[1])
    if not zh:
        return np.full(n, everyone[0], dtype=object), np.full(n, everyone[1], dtype=object)
    out_zh, out_en = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    for k, (a, b) in enumerate(zip(zh, en, strict=True)):  # at most four parts
        out_zh = out_zh + ("，" if k else "") + a
        out_en = out_en + (", " if k else "") + b
    return out_zh, out_en


#: What a district of each kind is called in a finding (Chinese, English).
DISTRICT_NOUNS = {
    "residential": ("居住小区", "residential district"),
    "new_urban": ("城市新建区", "new urban district"),
    "eco": ("绿色生态城区", "green eco-district"),
}


def _district_words(
    districts: gpd.GeoDataFrame,
    d_kind: np.ndarray,
    d_area: pd.DataFrame,
    d_bi: np.ndarray,
    d_di: np.ndarray,
    matched: np.ndarray,
    n: int,
    with_area: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """For each building, the district that puts it in a tier, as a finding names it.

    ``位于居住小区「锦园」（建筑面积 62,000 平方米）内`` (the floor area when the
    tier tests it); empty where no district matched (the building is then not
    in the tier).
    """
    nouns = [DISTRICT_NOUNS.get(k, DISTRICT_NOUNS["residential"]) for k in d_kind]  # per district
    nouns_zh = np.array([zh for zh, _ in nouns], dtype=object)
    nouns_en = np.array([en for _, en in nouns], dtype=object)
    ids = districts["feature_id"].astype(str).to_numpy(dtype=object)
    if "name" in districts.columns:
        names = districts["name"].astype("string").str.strip().fillna("").to_numpy(dtype=object)
    else:
        names = np.full(len(districts), "", dtype=object)
    has = names != ""
    fa = d_area["floor_area_m2"].to_numpy(dtype=float)
    fa_t = fmt_fixed(fa, 0)
    est_zh = np.where(d_area["estimated"].to_numpy(), "，估算", "")
    est_en = np.where(d_area["estimated"].to_numpy(), ", estimated", "")
    area_zh = "（建筑面积 " + fa_t + " 平方米" + est_zh + "）" if with_area else ""
    area_en = " (floor area " + fa_t + " m2" + est_en + ")" if with_area else ""
    said_zh = (
        "位于"
        + nouns_zh
        + np.where(has, "「" + names + "」", "（编号 " + ids + "）")
        + area_zh
        + "内"
    )
    said_en = "in " + nouns_en + np.where(has, " '" + names + "'", " #" + ids) + area_en
    out_zh = np.full(n, "", dtype=object)
    out_en = np.full(n, "", dtype=object)
    # the first matching district of each building (reverse order: the first wins)
    out_zh[d_bi[matched][::-1]] = said_zh[d_di[matched][::-1]]
    out_en[d_bi[matched][::-1]] = said_en[d_di[matched][::-1]]
    return out_zh, out_en


@register("green_star", GreenStarParams, unit="stars")
def check_green_star(scheme: Scheme, rule: Rule, params: GreenStarParams) -> Evaluation:
    """GB01: green-building star level (绿色建筑星级) of each new building, stars.

    The required stars of a building are the most of the ``tiers`` it
    matches (001 二(二)6: public buildings ≥ 20,000 m² at least 1 star; 002
    二(四)1: government-invested public buildings at least 2 stars; 004
    四(十一): super-high-rise 3 stars), held as a per-row limit against
    ``green_star``.  Floor area and height as in :mod:`compliance.rules.measures.buildings`
    (estimated when derived).  Skipped: buildings matching no tier, buildings
    lacking a value a tier tests that could raise the requirement, and
    buildings without ``green_star``.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    if "green_star" not in b.columns:
        return _missing_field("green_star", "green-building star level", "绿色建筑星级")
    tiers = params.tiers
    for field, wanted in (
        ("use", any(t.uses is not None for t in tiers)),
        ("investor", any(t.investors is not None for t in tiers)),
    ):
        if wanted and field not in b.columns:
            return _missing_field(field, "the rule's tiers depend on it", "星级要求按该字段分档")
    sieve = _Sieve(b.index)
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=None)) is not None:
        return ne
    fh = params.floor_height_m
    area = floor_area_m2(b, fh)
    height = height_m(b, fh)
    n = len(b)
    stars = np.array([t.stars for t in tiers], dtype=float)
    sure = np.zeros((len(tiers), n), dtype=bool)
    maybe = np.zeros((len(tiers), n), dtype=bool)
    no_districts = np.zeros(len(tiers), dtype=bool)  # tiers that need the missing layer
    district_words: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(tiers)
    districts = scheme.layer("districts")
    if districts is not None and any(t.district_kinds is not None for t in tiers):
        d_kind = district_kind(districts).to_numpy(dtype=object)
        d_pairs = building_districts(b, districts)
        d_bi, d_di = d_pairs
        d_area = district_floor_areas(districts, area, d_pairs)
    for k, t in enumerate(tiers):  # a handful of tiers, not features
        known = np.ones(n, dtype=bool)
        ok = np.ones(n, dtype=bool)
        for field, values in (("use", t.uses), ("investor", t.investors)):
            if values is not None:
                present = has_text(b, field).to_numpy()
                known &= present
                ok &= ~present | use_in(b, values, field).to_numpy()
        if t.except_uses is not None:
            present = has_text(b, "use").to_numpy()
            known &= present
            ok &= ~present | ~use_in(b, t.except_uses, "use").to_numpy()
        if t.district_kinds is not None and districts is None:
            known &= False
            no_districts[k] = True
        elif t.district_kinds is not None:
            kinds = d_kind[d_di]
            kind_ok = np.isin(kinds.astype(str), t.district_kinds) & ~pd.isna(kinds)
            d_fa = d_area["floor_area_m2"].to_numpy()[d_di]
            big = d_fa >= t.min_district_floor_area_m2
            open_ = ~d_area["complete"].to_numpy()[d_di]  # a missing floor area could tip it
            in_sure = np.zeros(n, dtype=bool)
            in_sure[d_bi[kind_ok & big]] = True
            in_maybe = np.zeros(n, dtype=bool)
            in_maybe[d_bi[kind_ok & ~big & open_]] = True
            ok &= in_sure | in_maybe
            known &= in_sure | ~in_maybe
            district_words[k] = _district_words(
                districts,
                d_kind,
                d_area,
                d_bi,
                d_di,
                kind_ok & big,
                n,
                t.min_district_floor_area_m2 > 0,
            )
        for measure, minimum, strict in (
            (area.values, t.min_floor_area_m2, False),
            (height.values, t.min_height_m, False),
            (height.values, t.above_height_m, True),
        ):
            if minimum > 0:
                v = measure.to_numpy()
                known &= ~np.isnan(v)
                ok &= np.isnan(v) | ((v > minimum) if strict else (v >= minimum))
        sure[k] = ok & known
        maybe[k] = ok & ~known
    required = np.where(sure, stars[:, None], -np.inf).max(axis=0)
    could = np.where(maybe, stars[:, None], -np.inf).max(axis=0)
    sieve.drop(
        pd.Series(np.isinf(required) & np.isinf(could), index=b.index),
        "matching no tier",
        "不属于任何星级要求档",
    )
    if no_districts.any():
        need_d = np.where(maybe & no_districts[:, None], stars[:, None], -np.inf).max(axis=0)
        sieve.drop(
            pd.Series(need_d > required, index=b.index),
            "in a residential district or area the requirement depends on, which "
            "needs a 'districts' layer",
            "星级要求取决于所在居住小区等片区、方案无片区图层的",
        )
    sieve.drop(
        pd.Series(could > required, index=b.index),
        "lacking use, investor, floor area or height to tell the required stars",
        "缺少判定星级要求所需的用途、投资主体、建筑面积或高度",
    )
    star_all = pd.to_numeric(b["green_star"], errors="coerce").astype(float)
    sieve.drop(star_all.isna(), "without green_star", "无绿色建筑星级")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    need = required[keep]
    which = np.where(sure[:, keep], stars[:, None], -np.inf).argmax(axis=0)
    value = star_all[keep].to_numpy()
    uses_area = any(t.min_floor_area_m2 > 0 for t in tiers)
    uses_height = any(t.min_height_m > 0 or t.above_height_m > 0 for t in tiers)
    est = (area.estimated[keep].to_numpy() & uses_area) | (
        height.estimated[keep].to_numpy() & uses_height
    )
    every_zh, every_en = _scope_words(params.new_only, None)
    everyone = ("全部" + every_zh, "all " + every_en + "s")

    def text_of(field: str) -> np.ndarray:
        if field not in s.columns:
            return np.full(len(s), "", dtype=object)
        return _obj(s[field].astype("string").str.strip().fillna(""))

    use_t, investor_t = text_of("use"), text_of("investor")
    words = [  # a handful of tiers
        _tier_words(
            t,
            use_t,
            investor_t,
            everyone,
            None if w is None else (w[0][keep], w[1][keep]),
        )
        for t, w in zip(tiers, district_words, strict=True)
    ]
    rows_at = np.arange(len(s))
    tier_zh = np.stack([w[0] for w in words])[which, rows_at]
    tier_en = np.stack([w[1] for w in words])[which, rows_at]
    need_t = _text(need, "g")
    area_zh = np.where(uses_area, "；建筑面积 " + _text(area.values[keep], ",.0f") + " 平方米", "")
    area_en = np.where(uses_area, "; floor area " + _text(area.values[keep], ",.0f") + " m2", "")
    zh, en = label(s, "建筑", "building")
    return Evaluation(
        make_rows(
            s,
            feature_id=s["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=value,
            passed=compare(rule, value, limit=need),
            detail_zh="适用要求：" + tier_zh + "，不低于 " + need_t + " 星" + area_zh,
            detail_en="tier " + tier_en + ": at least " + need_t + " stars" + area_en,
            method="green_star attribute against the most stars of the matching tiers; "
            "floor area from floor_area_m2, else footprint × floors (estimated)",
            method_zh="green_star 字段对照所符合各档要求中的最高星级；建筑面积取 floor_area_m2 "
            "字段，否则按基底面积 × 层数（估算）",
            estimated=est,
            limit=need,
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh="绿色建筑星级",
        quantity_en="green-building star level",
    )


# --------------------------------------------------------------------------- UR01


class DemolitionParams(Params):
    """Parameters of the demolition share of renewal units (UR01)."""

    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


@register("demolition_share", DemolitionParams, unit="%")
def check_demolition_share(scheme: Scheme, rule: Rule, params: DemolitionParams) -> Evaluation:
    """UR01: demolished ÷ existing floor area of each urban-renewal unit, %.

    From the unit's ``existing_floor_area_m2`` / ``demolished_floor_area_m2``;
    where a unit lacks one, from the buildings whose representative point lies
    in it: existing = floor area of buildings not ``is_new`` (all buildings
    when the layer has no ``is_new``), demolished = those of them with
    ``demolished`` true.  Floor area from ``floor_area_m2``, else footprint ×
    storeys (estimated).  原则上不超过现状总建筑面积的20% (000 (一)1).
    """
    units = scheme.layer("renewal_units")
    if units is None:
        return missing_layer("renewal_units")
    idx = units.index

    ex_attr = numeric_field(units, "existing_floor_area_m2")
    dem_attr = numeric_field(units, "demolished_floor_area_m2")
    b = scheme.layer("buildings")
    usable = b is not None and "demolished" in b.columns
    existing_rule = "buildings not is_new"
    existing_rule_zh = "is_new 不为真的建筑"
    ex_b = dem_b = pd.Series(np.nan, index=idx)
    ex_est = dem_est = pd.Series(False, index=idx)
    if b is not None and usable:
        fa = floor_area_m2(b, params.floor_height_m)
        new = flag(b, "is_new")
        existing = ~new if new is not None else pd.Series(True, index=b.index)
        demolished = flag(b, "demolished")
        assert demolished is not None
        zone = pd.Series(zone_of(units, b), index=b.index)
        frame = pd.DataFrame(
            {
                "zone": zone,
                "fa": fa.values,
                "est": fa.estimated,
                "dem": demolished & existing,
            }
        )[existing & (zone >= 0)]
        frame["unknown"] = frame["fa"].isna()
        frame["dem_fa"] = frame["fa"].where(frame["dem"], 0.0)
        frame["dem_est"] = frame["est"] & frame["dem"]
        frame["dem_unknown"] = frame["unknown"] & frame["dem"]
        flags = ["est", "dem_est", "unknown", "dem_unknown"]
        frame[flags] = frame[flags].astype(float)  # summed: > 0 where any building is so
        g = frame.groupby("zone")[["fa", "dem_fa", *flags]].sum(min_count=1)
        g = g.reindex(np.arange(len(units)), fill_value=0.0)  # a unit with no building: 0 m2
        unknown = g["unknown"].to_numpy() > 0
        ex_b = pd.Series(np.where(unknown, np.nan, g["fa"].to_numpy(dtype=float)), index=idx)
        dem_unknown = g["dem_unknown"].to_numpy() > 0
        dem_b = pd.Series(
            np.where(dem_unknown, np.nan, g["dem_fa"].to_numpy(dtype=float)), index=idx
        )
        ex_est = pd.Series(g["est"].to_numpy() > 0, index=idx)
        dem_est = pd.Series(g["dem_est"].to_numpy() > 0, index=idx)
        if new is None:
            existing_rule = "every building, the layer having no is_new field"
            existing_rule_zh = "全部建筑（建筑图层无 is_new 字段）"
    if not (ex_attr.notna() & dem_attr.notna()).any() and not usable:
        return not_evaluated(
            "the renewal units have no 'existing_floor_area_m2' and 'demolished_floor_area_m2' "
            "and the scheme has no 'buildings' layer with a 'demolished' field",
            "更新单元缺少 existing_floor_area_m2、demolished_floor_area_m2 字段，"
            "方案也无带 demolished 字段的建筑图层 buildings",
        )
    ex_from_b, dem_from_b = ex_attr.isna(), dem_attr.isna()
    existing_m2 = ex_attr.fillna(ex_b)
    demolished_m2 = dem_attr.fillna(dem_b)
    sieve = _Sieve(idx, "renewal unit", "更新单元")
    sieve.drop(existing_m2.isna(), "without an existing floor area", "无现状建筑面积")
    sieve.drop(existing_m2 <= 0, "with no existing floor area", "现状建筑面积为 0")
    sieve.drop(demolished_m2.isna(), "without a demolished floor area", "无拆除建筑面积")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    u = units[keep]
    ex, dem = existing_m2[keep].to_numpy(), demolished_m2[keep].to_numpy()
    share = 100.0 * dem / ex
    est = ((ex_from_b & ex_est) | (dem_from_b & dem_est))[keep].to_numpy()
    from_b = (ex_from_b | dem_from_b)[keep].to_numpy()
    src_ex = np.where(ex_from_b[keep], "the buildings inside", "existing_floor_area_m2")
    src_dem = np.where(dem_from_b[keep], "the buildings inside", "demolished_floor_area_m2")
    src_ex_zh = np.where(ex_from_b[keep], "单元内建筑", "existing_floor_area_m2 字段")
    src_dem_zh = np.where(dem_from_b[keep], "单元内建筑", "demolished_floor_area_m2 字段")
    zh, en = label(u, "更新单元", "renewal unit")
    dem_t, ex_t = _text(dem, ",.0f"), _text(ex, ",.0f")
    return Evaluation(
        make_rows(
            u,
            feature_id=u["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=share,
            passed=compare(rule, share),
            detail_zh="拆除建筑面积 " + dem_t + " 平方米 / 现状建筑面积 " + ex_t + " 平方米",
            detail_en="demolished floor area " + dem_t + " m2 / existing " + ex_t + " m2",
            method=np.where(
                from_b,
                "demolished ÷ existing floor area × 100; demolished from "
                + src_dem
                + ", existing from "
                + src_ex
                + f" (by representative point; existing: {existing_rule}; floor area from "
                "floor_area_m2, else footprint × floors, estimated)",
                "demolished_floor_area_m2 ÷ existing_floor_area_m2 × 100 (unit attributes)",
            ),
            method_zh=np.where(
                from_b,
                "拆除建筑面积 ÷ 现状建筑面积 × 100；拆除建筑面积取自"
                + src_dem_zh
                + "，现状建筑面积取自"
                + src_ex_zh
                + f"（按建筑代表点归属；现状建筑：{existing_rule_zh}；建筑面积取 floor_area_m2 "
                "字段，否则按基底面积 × 层数估算）",
                "demolished_floor_area_m2 ÷ existing_floor_area_m2 × 100（取自更新单元字段）",
            ),
            estimated=est,
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        quantity_zh="拆除建筑面积占现状建筑面积比例",
        quantity_en="demolished share of existing floor area",
    )


# --------------------------------------------------------------------------- rule types

_RESIDENTIAL = [*RESIDENTIAL_USES]
_GB50352 = "GB 50352-2019 民用建筑设计统一标准"

declare(
    "BH01",
    title_zh="新建250米以上建筑",
    title_en="New buildings of 250 m or more",
    check=check_building_height,
    layer="buildings",
    comparison="<",
    params={"new_only": True, "uses": None},
    doc=RuleDoc(
        what="The height of each new building, m.",
        why="Hebi strictly limits new buildings of 250 m and over (严格限制新建250米以上建筑).",
        how=(
            "`height_m`, else floors × 3 m (estimated).  250 米以上 includes 250 m (以上、以下、"
            "以内包括本数, 民法典第一千二百五十九条), so a building passes only below 250 m."
        ),
        references=(_GB50352,),
    ),
)

declare(
    "BH02",
    title_zh="新建100米以上建筑相对集中布局",
    title_en="New buildings of 100 m or more clustered",
    check=check_tall_building_clustering,
    layer="buildings",
    comparison="<=",
    params={"min_height_m": 100, "new_only": True, "method": "neighbours", "max_gap_m": 500},
    has_limit=False,
    doc=RuleDoc(
        what="Whether each new building of 100 m or more stands near other such buildings "
        "or in a height-control zone, m.",
        why="Hebi asks for new buildings of 100 m and more to be laid out relatively together "
        "(新建100米以上的建筑应相对集中布局).",
        how=(
            "The plan states no number. The tool's test (a method parameter, never a limit): "
            "another building of 100 m or more (100 米以上 includes 100 m), new or existing, "
            "within `max_gap_m` (500 m) of the footprint, or, with `method: zones`, inside a "
            "`height_zones` polygon; only new buildings (`is_new`) are reported."
        ),
        references=(_GB50352,),
    ),
)

declare(
    "BH03",
    title_zh="新建超高层住宅",
    title_en="New super-high-rise housing (over 100 m)",
    check=check_building_height,
    layer="buildings",
    comparison="<=",
    params={"new_only": True, "uses": _RESIDENTIAL},
    doc=RuleDoc(
        what="The height of each new residential building, m.",
        why="Xinjiang's plan: generally no new super-high-rise housing (超高层住宅, over 100 m).",
        how=("Height of new residential buildings."),
        references=(_GB50352,),
    ),
)

declare(
    "BH06",
    title_zh="严格控制新建超高层建筑",
    title_en="New super-high-rise buildings (over 100 m) strictly controlled",
    check=check_building_height,
    layer="buildings",
    comparison="<=",
    params={"new_only": True, "uses": None},
    doc=RuleDoc(
        what="The height of each new building, m: a super-high-rise building (超高层建筑, "
        "over 100 m) is reported for review.",
        why="Xinjiang, Alxa and Hebi strictly control new super-high-rise buildings "
        "(严格控制新建超高层建筑): control, not a ban, so each one is a warning.",
        how="`height_m`, else floors × 3 m (estimated); new buildings of every use.  A "
        "building of exactly 100 m is not super-high-rise (GB 50352-2019: over 100 m).",
        references=("GB 50352-2019 民用建筑设计统一标准",),
    ),
)

declare(
    "BH04",
    title_zh="新建住宅层数",
    title_en="Floors of new housing",
    check=check_building_floors,
    layer="buildings",
    comparison="<=",
    params={"new_only": True, "uses": _RESIDENTIAL},
    doc=RuleDoc(
        what="The storeys of each new residential building (新建住宅层数).",
        why="County towns: new housing of 18 floors at most (12 in Alxa); above it only "
        "where truly needed and strictly justified (a recorded exception).",
        how=("`floors`, else height ÷ 3 m (estimated); a justified case goes in `--exceptions`."),
        references=("《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）",),
    ),
)

declare(
    "BH05",
    title_zh="6层及以下住宅建筑面积占比",
    title_en="Share of new housing floor area in buildings of 6 floors or fewer",
    check=check_low_rise_share,
    layer="buildings",
    comparison=">=",
    params={"new_only": True, "uses": _RESIDENTIAL, "max_floors": 6},
    doc=RuleDoc(
        what="The share of new residential floor area in buildings of at most 6 floors, %.",
        why="County towns: at least 70 % of new housing in buildings of 6 floors or fewer.",
        how=("Floor-area-weighted share."),
        references=("《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）",),
    ),
)

declare(
    "EN01",
    title_zh="新建公共机构建筑、新建厂房屋顶光伏覆盖率",
    title_en="Rooftop PV coverage of new public-institution buildings and new factories",
    check=check_pv_coverage,
    layer="buildings",
    comparison=">=",
    params={"new_only": True, "uses": PV_USES},
    doc=RuleDoc(
        what="Rooftop PV coverage of each new public-institution building or factory, %.",
        why="The plans aim at PV on half of the roofs of new public buildings and factories.",
        how=(
            "`pv_area_m2` ÷ `roof_area_m2` (else the footprint) of new public-institution "
            "buildings and factories.  In scope: new buildings whose `use` is one of "
            + ", ".join(PV_PUBLIC_USES)
            + " (public institutions, 公共机构) or "
            + ", ".join(PV_FACTORY_USES)
            + " (factories, 厂房); case-insensitive, whole value."
        ),
        references=("GB 55015-2021 建筑节能与可再生能源利用通用规范",),
    ),
)

declare(
    "EN02",
    title_zh="太阳能光热建筑一体化",
    title_en="Solar thermal on housing of 12 floors or fewer, hospitals, schools, hotels, "
    "pools, bathhouses",
    check=check_solar_thermal,
    layer="buildings",
    comparison=">=",
    params={
        "residential_uses": _RESIDENTIAL,
        "residential_max_floors": 12,
        "other_uses": [*SOLAR_THERMAL_USES, "医院", "学校", "宾馆", "游泳池", "公共浴室"],
    },
    doc=RuleDoc(
        what="Whether each building in scope has solar water heating (`solar_thermal`), %.",
        why="Alxa promotes solar thermal on housing of 12 floors or fewer and on "
        "hospitals, schools, hotels, pools and bathhouses.",
        how=("`solar_thermal` of the buildings in scope."),
        references=("GB 55015-2021 建筑节能与可再生能源利用通用规范",),
    ),
)

declare(
    "GB01",
    title_zh="新建建筑绿色建筑星级",
    title_en="Green-building star level of new buildings",
    check=check_green_star,
    layer="buildings",
    comparison=">=",
    params={"new_only": True},
    doc=RuleDoc(
        what="The green-building star level (绿色建筑星级) of each new building in scope.",
        why="The plans ask for star-rated green buildings for public, large and "
        "government-invested buildings (tiers differ by plan).",
        how=(
            "`green_star` against the stars each profile requires by use, investor, floor "
            "area and height (per building), and by the district a building lies in (a "
            "`districts` layer: Alxa's 建筑面积5万平方米以上的居住小区 is the district's floor "
            "area — its `floor_area_m2`, else the sum of its buildings' — not a building's; "
            "城市新建区 and 绿色生态城区 require one star of every civil building in them)."
        ),
        references=("GB/T 50378-2019 绿色建筑评价标准",),
    ),
)

declare(
    "UR01",
    title_zh="城市更新单元拆除建筑面积占比",
    title_en="Demolished share of floor area in an urban-renewal unit",
    check=check_demolition_share,
    layer="renewal_units",
    comparison="<=",
    doc=RuleDoc(
        what="Demolished floor area ÷ existing floor area of each urban-renewal unit, %.",
        why="The plans keep demolition in urban renewal to 20 % of the existing floor "
        "area in principle (原则上).",
        how=(
            "Demolished ÷ existing floor area, from the unit's attributes or the "
            "buildings inside it."
        ),
        references=("《关于在实施城市更新行动中防止大拆大建问题的通知》（建科〔2021〕63号）",),
    ),
)


# --------------------------------------------------------------------------- GB02, GB03, PF01

#: What a new-building share counts (``new_building_share``'s ``counts``): the floor
#: area counted in Chinese, the same in English, the fields read.
_SHARE_OF = {
    "green_standard": (
        "执行绿色建筑标准的建筑面积",
        "floor area meeting green-building standards",
        ("green_standard", "green_star"),
    ),
    "star_rated": ("星级绿色建筑面积", "floor area in star-rated green buildings", ("green_star",)),
    "prefabricated": (
        "装配式建筑面积",
        "floor area in prefabricated construction",
        ("prefabricated", "prefab_floor_area_m2"),
    ),
}


class ShareParams(Params):
    """Parameters of the new-building share checks (GB02, GB03, PF01)."""

    counts: Literal["green_standard", "star_rated", "prefabricated"]
    new_only: bool = True
    uses: list[str] | None = None
    min_stars: int = Field(1, ge=1, le=3)
    floor_height_m: float = Field(DEFAULT_FLOOR_HEIGHT_M, gt=0)


@register("new_building_share", ShareParams, unit="%")
def check_new_building_share(scheme: Scheme, rule: Rule, params: ShareParams) -> Evaluation:
    """GB02, GB03, PF01: share of the floor area of new buildings that counts, %.

    Σ floor area counted ÷ Σ floor area of the new buildings in scope × 100.
    Counted (``counts``): ``green_standard`` — buildings with
    ``green_standard`` true, or a ``green_star`` of 1 or more (a star-rated
    building meets the standard); ``star_rated`` — ``green_star`` ≥
    ``min_stars``; ``prefabricated`` — ``prefab_floor_area_m2`` where given,
    else the whole floor area of buildings with ``prefabricated`` true.
    Floor area from ``floor_area_m2``, else footprint × storeys (estimated).
    One row ``*`` for all new buildings; its geometry is the union of the
    buildings that do not count (all when every one counts).

    Raises nothing: without the fields the rule is not evaluated.
    """
    b = _buildings(scheme)
    if isinstance(b, Evaluation):
        return b
    word_zh, word_en, fields = _SHARE_OF[params.counts]
    if not any(f in b.columns for f in fields):
        return _missing_field(" / ".join(fields), word_en, word_zh)
    sieve = _Sieve(b.index)
    if (ne := _scope(b, sieve, new_only=params.new_only, uses=params.uses)) is not None:
        return ne
    fh = params.floor_height_m
    area = floor_area_m2(b, fh)
    sieve.drop(area.values.isna(), "without a floor area", "无建筑面积")
    keep = sieve.keep.to_numpy()
    if not keep.any():
        return sieve.nothing_left()
    s = b[keep]
    fa = area.values[keep].to_numpy(dtype=float)
    stars = (
        pd.to_numeric(s["green_star"], errors="coerce").fillna(0).to_numpy(dtype=float)
        if "green_star" in s.columns
        else np.zeros(len(s))
    )
    if params.counts == "green_standard":
        std = flag(s, "green_standard")
        ok = (std.to_numpy() if std is not None else np.zeros(len(s), bool)) | (stars >= 1)
        counted = np.where(ok, fa, 0.0)
    elif params.counts == "star_rated":
        ok = stars >= params.min_stars
        counted = np.where(ok, fa, 0.0)
    else:
        pre = flag(s, "prefabricated")
        whole = np.where(pre.to_numpy() if pre is not None else np.zeros(len(s), bool), fa, 0.0)
        part = (
            pd.to_numeric(s["prefab_floor_area_m2"], errors="coerce").to_numpy(dtype=float)
            if "prefab_floor_area_m2" in s.columns
            else np.full(len(s), np.nan)
        )
        counted = np.where(np.isnan(part), whole, np.minimum(part, fa))
        ok = counted >= fa
    total, got = float(fa.sum()), float(counted.sum())
    share = 100.0 * got / total if total > 0 else np.nan
    geoms = s.geometry.to_numpy()
    place = shapely.union_all(geoms[~ok] if (~ok).any() else geoms)
    scope_zh, scope_en = _scope_words(params.new_only, params.uses)
    n_bad = int((~ok).sum())
    ids = s["feature_id"].astype(str).to_numpy()[~ok][:5]
    listed = "、".join(ids) + ("等" if n_bad > 5 else "")
    bad_zh = f"；未计入的{scope_zh} {n_bad:,} 栋（编号 {listed}）" if n_bad else ""
    bad_en = (
        f"; {n_bad:,} not counted ({', '.join(ids)}{', …' if n_bad > 5 else ''})" if n_bad else ""
    )
    what_zh = {
        "green_standard": "green_standard 为是或 green_star ≥ 1 的建筑",
        "star_rated": f"green_star ≥ {params.min_stars} 的建筑",
        "prefabricated": "prefab_floor_area_m2 字段的装配式建筑面积，否则 prefabricated 为是的建筑",
    }[params.counts]
    what_en = {
        "green_standard": "buildings with green_standard true or green_star ≥ 1",
        "star_rated": f"buildings with green_star ≥ {params.min_stars}",
        "prefabricated": "prefab_floor_area_m2 where given, else buildings with prefabricated true",
    }[params.counts]
    return Evaluation(
        make_rows(
            gpd.GeoSeries([place], crs=scheme.crs),
            feature_id="*",
            subject_zh="全部" + scope_zh,
            subject_en="all " + scope_en + "s",
            measured=[share],
            passed=compare(rule, np.array([share])),
            detail_zh=f"{word_zh} {got:,.0f} 平方米，"
            f"{scope_zh}总建筑面积 {total:,.0f} 平方米{bad_zh}",
            detail_en=f"{got:,.0f} m2 of {total:,.0f} m2 of {scope_en}s{bad_en}",
            method=f"floor area counted ({what_en}) ÷ floor area of all {scope_en}s × 100; "
            "floor area from floor_area_m2, else footprint × floors (estimated)",
            method_zh=f"计入的建筑面积（{what_zh}）÷ 全部{scope_zh}建筑面积 × 100；建筑面积取 "
            "floor_area_m2 字段，否则按基底面积 × 层数（估算）",
            estimated=bool(area.estimated[keep].any()),
        ),
        skipped=sieve.skipped,
        skip_reason=sieve.reason,
        skip_reason_zh=sieve.reason_zh,
        # 全部新建建筑的绿色建筑面积占比 (one 的, as a reviewer writes it)
        quantity_zh="绿色建筑面积占比" if params.counts == "green_standard" else word_zh + "占比",
        quantity_en="share of " + word_en,
    )


_GB50378 = "GB/T 50378-2019 绿色建筑评价标准 (Assessment standard for green building)"
_GB51129 = "GB/T 51129-2017 装配式建筑评价标准 (Standard for assessment of prefabricated building)"

declare(
    "GB02",
    title_zh="城镇新建建筑执行绿色建筑标准比例",
    title_en="Share of new urban buildings meeting green-building standards",
    check=check_new_building_share,
    layer="buildings",
    comparison=">=",
    params={"counts": "green_standard"},
    doc=RuleDoc(
        what="The share of the floor area of new buildings that meets green-building "
        "standards (执行绿色建筑标准), %.",
        why="Every plan asks new urban buildings to meet green-building standards in full "
        "(全面执行 / 100%执行绿色建筑标准); Hebi's indicator table marks it 约束性.",
        how="Floor area of new buildings with `green_standard` true (or a `green_star` of 1 "
        "or more) ÷ floor area of all new buildings; floor area from `floor_area_m2`, else "
        "footprint × floors. One aggregate finding drawn on the buildings that do not meet it.",
        references=(_GB50378,),
    ),
)

declare(
    "GB03",
    title_zh="新建建筑中星级绿色建筑占比",
    title_en="Share of star-rated green buildings among new buildings",
    check=check_new_building_share,
    layer="buildings",
    comparison=">=",
    params={"counts": "star_rated", "min_stars": 1},
    doc=RuleDoc(
        what="The share of the floor area of new buildings rated one star or more, %.",
        why="Xinjiang (星级绿色建筑占比超过30%) and Hebi (30 % by 2030, 预期性) set a share of "
        "star-rated green buildings.",
        how="Floor area of new buildings with `green_star` ≥ 1 ÷ floor area of all new "
        "buildings; one aggregate finding.",
        references=(_GB50378,),
    ),
)

declare(
    "PF01",
    title_zh="装配式建筑占新建建筑面积比例",
    title_en="Prefabricated share of new floor area",
    check=check_new_building_share,
    layer="buildings",
    comparison=">=",
    params={"counts": "prefabricated"},
    doc=RuleDoc(
        what="The share of the floor area of new buildings built as prefabricated "
        "construction (装配式建筑), %.",
        why="Xinjiang (25 % in 2023, 30 % by 2025, over 40 % by 2030: 超过, 40 % itself "
        "falls short), Hebi (力争 40 % by 2025) and Bayannur (力争 30 % by 2025) set "
        "prefabricated shares of new floor area; Jiaozuo asks every new-start project to "
        "adopt prefabricated construction in full (应全部采用装配式建造技术: 100 %).",
        how="`prefab_floor_area_m2` where given, else the floor area of new buildings with "
        "`prefabricated` true, ÷ floor area of all new buildings; one aggregate finding.",
        references=(_GB51129,),
    ),
)
