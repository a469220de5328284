"""Helpers shared by the checks: labels, number formats, green spaces, residential land."""

from __future__ import annotations

import string
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ...reading.landuse import green_kind, is_residential
from ...reading.raster import covered_share, zonal_sum
from ...reading.scheme import RasterInput, Scheme
from ..measures.density import apportioned_sums
from ..measures.green import merge_touching
from ..measures.structure import apportioned_population
from ..registry import Evaluation, Params, not_evaluated

M2_PER_HA = 10_000.0

#: Green-space kinds as written in Chinese review opinions.
KIND_ZH = {"park": "公园绿地", "green": "绿地", "protective": "防护绿地"}


def kinds_zh(kinds: list[str]) -> str:
    return "、".join(KIND_ZH.get(k, k) for k in kinds)


class NoParams(Params):
    """A check without parameters."""


#: Contract layers as a Chinese reviewer names them.
LAYER_ZH = {
    "boundary": "边界图层",
    "clusters": "组团边界图层",
    "corridors": "生态廊道图层",
    "parcels": "地块图层",
    "roads": "道路图层",
    "squares": "广场图层",
    "green_spaces": "绿地图层",
    "buildings": "建筑图层",
    "renewal_units": "城市更新单元图层",
    "greenways": "绿道图层",
    "facilities": "公共服务设施图层",
    "height_zones": "高度控制区图层",
    "communities": "居住社区图层",
    "waterlogging_points": "易涝积水点图层",
    "districts": "居住小区等片区图层",
}


def missing_layer(name: str) -> Evaluation:
    """Not evaluated: the scheme has no such layer."""
    return not_evaluated(
        f"the scheme has no '{name}' layer", f"方案缺少{LAYER_ZH.get(name, '图层')} {name}"
    )


#: Largest scaled magnitude formatted arithmetically (beyond it Python formats, exactly).
_EXACT_LIMIT = 2.0**52
#: Digits of the largest integer part formatted arithmetically.
_MAX_DIGITS = 16


def fmt_fixed(values: object, decimals: int, *, thousands: bool = True) -> np.ndarray:
    """Numbers as text with fixed decimals, as ``f"{v:,.{decimals}f}"`` does, vectorised.

    The text is identical to Python's formatting, character for character
    (correct rounding of the binary value, ``-0.0`` keeps its sign, ``nan``,
    ``inf``): digits are laid out arithmetically in a character matrix, and
    the rare values whose rounding numpy could get wrong (within rounding
    noise of a half, or beyond 2⁵² after scaling) are formatted by Python.

    Parameters
    ----------
    values : array-like of float
        Numbers, any shape (flattened).
    decimals : int
        Digits after the decimal point, 0–6.
    thousands : bool
        Group the integer part with commas (``12,345.6``).

    Returns
    -------
    numpy.ndarray of str (object dtype)
        One text per value, in order.
    """
    v = np.asarray(values, dtype=float).ravel()
    out = np.empty(len(v), dtype=object)
    spec = f"{',' if thousands else ''}.{decimals}f"
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(v) * scale
        half_gap = np.abs(scaled - np.floor(scaled) - 0.5)
        ok = np.isfinite(scaled) & (scaled < _EXACT_LIMIT) & (half_gap > scaled * 1e-15 + 1e-9)
    # NaN and infinities as Python writes them ("nan", "inf", "-inf"), without a call each
    out[np.isnan(v)] = "nan"
    out[np.isposinf(v)] = "inf"
    out[np.isneginf(v)] = "-inf"
    rest = np.flatnonzero(~ok & np.isfinite(v))
    out[rest] = [format(x, spec) for x in v[rest].tolist()]  # near-ties and huge values only
    if not ok.any():
        return out
    number = np.rint(scaled[ok]).astype(np.int64)
    unit = 10**decimals
    whole, frac = number // unit, number % unit
    sign = np.signbit(v[ok]).astype(np.int64)
    digits = 1 + sum((whole >= 10**k).astype(np.int64) for k in range(1, _MAX_DIGITS))
    commas = (digits - 1) // 3 if thousands else np.zeros_like(digits)
    int_len = sign + digits + commas
    width = int(int_len.max()) + (decimals + 1 if decimals else 0)
    # One row of characters per value; the last column is a sink for places a value lacks.
    stride = width + 1
    chars = np.zeros(len(number) * stride, dtype=np.uint32)
    base = np.arange(len(number), dtype=np.int64) * stride
    sink = base + width
    chars[base[sign == 1]] = ord("-")
    rest_digits = whole.copy()
    for k in range(int(digits.max())):  # digit places, not features
        pos = sign + digits - 1 - k + commas - (k // 3 if thousands else 0)
        has = digits > k
        chars[np.where(has, base + pos, sink)] = ord("0") + rest_digits % 10
        rest_digits //= 10
        if thousands and k and k % 3 == 0:
            chars[np.where(has, base + pos + 1, sink)] = ord(",")
    if decimals:
        chars[base + int_len] = ord(".")
        for j in range(decimals):  # decimal places
            chars[base + int_len + 1 + j] = ord("0") + (frac // 10 ** (decimals - 1 - j)) % 10
    chars[sink] = 0  # trailing NULs end a numpy string
    text = chars.view(f"<U{stride}")
    out[np.flatnonzero(ok)] = text.astype(object)
    return out


def fmt_general(values: object) -> np.ndarray:
    """Numbers as ``format(v, "g")`` writes them (``18``, ``12.5``), vectorised for integers.

    Integral values below 10⁶ (storeys, stars) are laid out by
    :func:`fmt_fixed`; any other value is formatted by Python.
    """
    v = np.asarray(values, dtype=float).ravel()
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(v) & (np.abs(v) < 1e6) & (np.floor(v) == v) & ~np.signbit(v)
    out = np.empty(len(v), dtype=object)
    out[whole] = fmt_fixed(v[whole], 0, thousands=False)
    rest = np.flatnonzero(~whole)
    out[rest] = [format(x, "g") for x in v[rest].tolist()]  # fractional values only
    return out


def fmt_int(values: pd.Series | np.ndarray) -> pd.Series:
    """Whole numbers with thousands separators (``12,345``), as a Series by position."""
    return pd.Series(fmt_fixed(values, 0))


def density_detail(
    population: pd.Series | np.ndarray,
    area: pd.Series | np.ndarray,
    *,
    area_zh: str = "面积",
    area_en: str = "area",
    unit_zh: str = "平方公里",
    unit_en: str = "km2",
) -> tuple[pd.Series, pd.Series]:
    """Message facts of a density: population and area, in Chinese and English.

    ``area`` is in the unit named by ``unit_zh`` / ``unit_en`` (km² by default).
    """
    pop, text = fmt_int(population), fmt1(area)
    zh = "人口 " + pop + f" 人，{area_zh} " + text + f" {unit_zh}"
    en = "population " + pop + f", {area_en} " + text + f" {unit_en}"
    return zh, en


def fmt1(values: pd.Series | np.ndarray) -> pd.Series:
    """Numbers to one decimal with thousands separators (``1,234.5``), as a Series by position."""
    return pd.Series(fmt_fixed(values, 1))


# --------------------------------------------------------------------------- clusters


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


def greens_or_reason(scheme: Scheme) -> gpd.GeoDataFrame | Evaluation:
    """:func:`green_polygons`, or the not-evaluated reason when the scheme has no green."""
    greens = green_polygons(scheme)
    if greens is None:
        return not_evaluated(
            "no 'green_spaces' layer and no green parcels (1401/1402, G1/G2)",
            "方案缺少绿地图层 green_spaces，也无绿地地块（1401/1402、G1/G2）",
        )
    return greens


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


# --------------------------------------------------------------------------- population

#: Where :func:`population_of` took a zone's population from (method text, English).
POP_FROM_ATTRIBUTE = "'population' attribute"
POP_FROM_PARCELS = "parcels' 'population' apportioned by area share"
POP_FROM_RASTER = "population raster"
#: The same in Chinese, for messages.
POP_SOURCE_ZH = {
    POP_FROM_ATTRIBUTE: "人口取自 population 字段",
    POP_FROM_PARCELS: "人口由地块 population 按面积比例分摊汇总",
    POP_FROM_RASTER: "人口由人口栅格按像元覆盖比例汇总",
}
#: The same in Chinese, for method texts (``method_zh``).
POP_METHOD_ZH = {
    POP_FROM_ATTRIBUTE: "population 字段",
    POP_FROM_PARCELS: "地块 population 字段按面积比例分摊",
    POP_FROM_RASTER: "人口栅格",
}
#: Below this share of a zone over valid raster cells, the method says so.
FULL_COVER = 0.995
#: Parcels overlapping a zone by less than this, m², give it no population (slivers).
MIN_OVERLAP_M2 = 1.0


def has_population_source(scheme: Scheme, own: pd.Series | None = None) -> bool:
    """Whether any population source exists: ``own`` values, parcels' field, or the raster."""
    parcels = scheme.layer("parcels")
    return bool(
        (own is not None and own.notna().any())
        or (parcels is not None and "population" in parcels.columns)
        or "population" in scheme.rasters
    )


def population_source_zh(method: pd.Series) -> pd.Series:
    """Chinese wording of :func:`population_of`'s method text, per zone ("" when none)."""
    out = pd.Series("", index=method.index, dtype=object)
    for en, zh in POP_SOURCE_ZH.items():  # three sources
        out = out.mask(method.astype(str).str.startswith(en), zh)
    return out


def population_of(
    scheme: Scheme,
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    own: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Population of each zone, persons, and where it came from (English, Chinese).

    Precedence, zone by zone: the zone's own ``population`` value when the
    caller passes it (``own``); else parcels' ``population`` apportioned by
    the share of each parcel's area inside the zone
    (:func:`compliance.rules.measures.structure.apportioned_population`; a zone
    overlapping populated parcels by less than :data:`MIN_OVERLAP_M2` in all
    gets none from them); else the
    population raster (persons per cell) summed with partial-pixel weights
    (:func:`compliance.reading.raster.zonal_sum`, polygons projected into the
    raster's CRS); else NaN.

    Parameters
    ----------
    scheme : Scheme
        Layers in the projected metric CRS; ``scheme.rasters["population"]`` if any.
    zones : geopandas.GeoDataFrame or GeoSeries
        Polygons (clusters, boundary polygons, grid cells) in the scheme's CRS.
    own : pandas.Series, optional
        The zones' own population (persons), aligned with ``zones``; NaN where
        unknown.

    Returns
    -------
    population : pandas.Series
        Persons, float, aligned with ``zones``; NaN where no source gives one.
    method : pandas.Series
        English text per zone: :data:`POP_FROM_ATTRIBUTE`,
        :data:`POP_FROM_PARCELS`, or :data:`POP_FROM_RASTER` followed by the
        raster's file, CRS and (when below :data:`FULL_COVER`) the share of
        the zone it covers; "" where NaN.
    method_zh : pandas.Series
        The same in Chinese (:data:`POP_METHOD_ZH`, the raster's file and
        CRS kept as they are), for ``method_zh`` texts; "" where NaN.

    Raises
    ------
    InputError
        The population raster is needed but cannot be read or does not overlap
        the zones at all.
    """
    geoms = zones.geometry
    frame = gpd.GeoDataFrame(geometry=geoms.to_numpy(), index=zones.index, crs=geoms.crs)
    population = (
        pd.Series(np.nan, index=zones.index, dtype=float)
        if own is None
        else pd.to_numeric(own, errors="coerce").astype(float).reindex(zones.index)
    )
    method = pd.Series(
        np.where(population.notna(), POP_FROM_ATTRIBUTE, ""), index=zones.index, dtype=object
    )
    method_zh = pd.Series(
        np.where(population.notna(), POP_METHOD_ZH[POP_FROM_ATTRIBUTE], ""),
        index=zones.index,
        dtype=object,
    )
    parcels = scheme.layer("parcels")
    need = population.isna()
    if need.any() and parcels is not None and "population" in parcels.columns:
        found = apportioned_population(frame[need], parcels).reindex(zones.index)
        populated = parcels[parcels["population"].notna()]
        overlap_m2 = apportioned_sums(frame.geometry[need].to_numpy(), populated, [])["area_m2"]
        overlap_m2.index = frame.index[need]
        # A zone that only grazes a parcel (reprojection or drawing slivers) has no data.
        filled = need & found.notna() & (overlap_m2.reindex(zones.index) >= MIN_OVERLAP_M2)
        population = population.where(~filled, found)
        method = method.mask(filled, POP_FROM_PARCELS)
        method_zh = method_zh.mask(filled, POP_METHOD_ZH[POP_FROM_PARCELS])
    need = population.isna()
    raster = scheme.rasters.get("population")
    if need.any() and raster is not None:
        found = zonal_sum(raster, frame.geometry[need]).reindex(zones.index)
        filled = need & found.notna()
        share = covered_share(raster, frame.geometry[filled]).reindex(zones.index)
        text = (
            f"{POP_FROM_RASTER} {raster.path.name} ({raster.crs.to_string()}): "
            "sum of persons per cell weighted by the share of each cell covered"
        )
        partial = share.lt(FULL_COVER).fillna(False)
        covers = pd.Series(fmt_fixed(100.0 * share, 1, thousands=False), index=share.index)
        method = method.mask(filled, text).mask(
            filled & partial, text + "; the raster covers only " + covers + " % of the zone"
        )
        text_zh = (
            f"{POP_METHOD_ZH[POP_FROM_RASTER]} {raster.path.name}（{raster.crs.to_string()}）："
            "各像元人口按像元覆盖比例加权求和"
        )
        method_zh = method_zh.mask(filled, text_zh).mask(
            filled & partial, text_zh + "；栅格仅覆盖该范围的 " + covers + " %"
        )
        population = population.where(~filled, found)
    return (
        population.rename("population"),
        method.rename("population_method"),
        method_zh.rename("population_method_zh"),
    )


# --------------------------------------------------------------------------- zones

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


def boundary_or_missing(scheme: Scheme) -> gpd.GeoDataFrame | Evaluation:
    boundary = scheme.layer("boundary")
    return missing_layer("boundary") if boundary is None else boundary


def own_population(zones: gpd.GeoDataFrame) -> pd.Series:
    if "population" in zones.columns:
        return pd.to_numeric(zones["population"], errors="coerce").astype(float)
    return pd.Series(np.nan, index=zones.index)


def no_population(where_en: str, where_zh: str) -> Evaluation:
    return not_evaluated(
        f"no population: no 'population' field on {where_en} or parcels and no population raster",
        f"缺少人口数据：{where_zh}与地块均无 population 字段，也无人口栅格",
    )


def raster_name(raster: RasterInput) -> str:
    return f"{raster.path.name} ({raster.crs.to_string()})"


def cover_note(share: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Message notes where a raster covers less than the whole zone."""
    partial = share.lt(FULL_COVER).fillna(False)
    pct = fmt1(100.0 * share.fillna(0.0)).to_numpy()
    zh = np.where(partial, "；栅格仅覆盖该范围的 " + pct + "%", "")
    en = np.where(partial, "; the raster covers only " + pct + " % of the area", "")
    return pd.Series(zh, index=share.index), pd.Series(en, index=share.index)


def boundary_population(
    scheme: Scheme, boundary: gpd.GeoDataFrame
) -> tuple[pd.Series, pd.Series, pd.Series] | Evaluation:
    """The boundary's population (value, method, method in Chinese), or why there is none."""
    own = own_population(boundary)
    if not has_population_source(scheme, own):
        return no_population("the boundary", "规划范围")
    return population_of(scheme, boundary, own)


# --------------------------------------------------------------------------- wording


def render(template: str, n: int, **values: object) -> np.ndarray:
    """A check's wording rendered for ``n`` rows, vectorised: ``str.format`` per row.

    A field is a scalar (formatted once with its spec, ``{fh:g}``) or an
    array of ``n`` values: numbers with a ``.Nf`` / ``,.Nf`` spec are laid
    out by :func:`fmt_fixed`, ``g`` by :func:`fmt_general`; anything else
    (texts already made) is taken as it is.

    Parameters
    ----------
    template : str
        The wording, Chinese or English, with ``{name:spec}`` fields.
    n : int
        Rows.
    **values
        The fields' values.

    Returns
    -------
    numpy.ndarray of str (object dtype), shape (n,)

    Raises
    ------
    KeyError
        A field of the template has no value.
    """
    out = np.full(n, "", dtype=object)
    for literal, name, spec, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is None:
            continue
        value = values[name]
        if np.ndim(value) == 0:  # type: ignore[arg-type]
            out = out + format(value, spec or "")
        elif spec == "g":
            out = out + fmt_general(value)
        elif spec and spec.endswith("f"):
            out = out + fmt_fixed(value, int(spec[:-1].lstrip(",.") or 0), thousands="," in spec)
        else:
            out = out + np.asarray(value, dtype=object).astype(str)
    return out


@dataclass(frozen=True)
class Wording:
    """What a check says of each row, as templates (see :func:`render`).

    Each template is a pair: the wording of a row whose value is estimated,
    and of a row measured from data (the same text twice where it does not
    matter).

    Attributes
    ----------
    detail_zh, detail_en : tuple of str
        Facts for the message, Chinese and English.
    method, method_zh : tuple of str
        How the value was obtained, English and Chinese.
    """

    detail_zh: tuple[str, str]
    detail_en: tuple[str, str]
    method: tuple[str, str]
    method_zh: tuple[str, str]

    def rows(self, estimated: np.ndarray, **values: object) -> dict[str, np.ndarray]:
        """``detail_zh``, ``detail_en``, ``method``, ``method_zh`` for each row."""
        n = len(estimated)
        return {
            key: np.where(estimated, render(pair[0], n, **values), render(pair[1], n, **values))
            for key, pair in (
                ("detail_zh", self.detail_zh),
                ("detail_en", self.detail_en),
                ("method", self.method),
                ("method_zh", self.method_zh),
            )
        }
