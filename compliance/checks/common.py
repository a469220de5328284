"""Helpers shared by the checks: labels, number formats, green spaces, residential land."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..landuse import green_kind, is_residential
from ..measures.green import merge_touching
from ..registry import Evaluation, Params, not_evaluated
from ..scheme import Scheme

M2_PER_HA = 10_000.0

#: Green-space kinds as written in Chinese review opinions.
KIND_ZH = {"park": "公园绿地", "green": "绿地", "protective": "防护绿地"}


def kinds_zh(kinds: list[str]) -> str:
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


def fmt_int(values: pd.Series | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float)).map(lambda v: f"{v:,.0f}")


def fmt1(values: pd.Series | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float)).map(lambda v: f"{v:,.1f}")


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
