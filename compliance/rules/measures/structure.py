"""Measures of urban structure: cluster (组团) area and population density."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .geometry import clip_pairs

M2_PER_KM2 = 1_000_000.0


def area_km2(geoms: gpd.GeoSeries) -> pd.Series:
    """Planar area of each polygon in km².

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Polygons or MultiPolygons in a projected CRS with metre units.

    Returns
    -------
    pandas.Series
        ``area_km2``, aligned with ``geoms``.
    """
    return (geoms.area / M2_PER_KM2).rename("area_km2")


def apportioned_population(
    zones: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, field: str = "population"
) -> pd.Series:
    """Population of each zone summed from parcels, split by area share.

    A parcel lying partly in a zone contributes its population times the
    share of its area inside the zone (areal interpolation).

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygons (clusters) in a projected metric CRS.
    parcels : geopandas.GeoDataFrame
        Polygons with a numeric ``field`` (persons), same CRS as ``zones``.
    field : str
        Population field of ``parcels``.

    Returns
    -------
    pandas.Series
        ``population`` (persons) aligned with ``zones``; NaN where no parcel
        with a population overlaps the zone.
    """
    p = parcels.loc[parcels[field].notna(), [field, parcels.geometry.name]]
    geoms = p.geometry.to_numpy()
    p_area = shapely.area(geoms)
    zone_i, parcel_i, pieces = clip_pairs(geoms, zones.geometry.to_numpy())
    # only areas count: a zone meeting a parcel along an edge or at a corner gets nothing
    # (an overlay keeping polygons; clip_pairs copes with the collections GEOS may return)
    piece_area = shapely.area(pieces)
    keep = (piece_area > 0) & (p_area[parcel_i] > 0)
    zone_i, parcel_i = zone_i[keep], parcel_i[keep]
    share = piece_area[keep] / p_area[parcel_i]
    values = p[field].to_numpy(dtype=float)[parcel_i] * share
    sums = np.bincount(zone_i, weights=values, minlength=len(zones))
    met = np.bincount(zone_i, minlength=len(zones)) > 0
    return pd.Series(np.where(met, sums, np.nan), index=zones.index, name="population")
