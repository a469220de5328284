"""Measures of urban structure: cluster (组团) area and population density."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

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
    p = parcels.loc[parcels[field].notna(), [field, parcels.geometry.name]].copy()
    p = p[p.area > 0]
    if p.empty:
        return pd.Series(float("nan"), index=zones.index, name="population")
    p["_parcel_area"] = p.area
    z = gpd.GeoDataFrame({"_zone": zones.index}, geometry=zones.geometry.to_numpy(), crs=zones.crs)
    pieces = gpd.overlay(z, p, how="intersection", keep_geom_type=True)
    if pieces.empty:
        return pd.Series(float("nan"), index=zones.index, name="population")
    share = pieces.area / pieces["_parcel_area"]
    sums = (pieces[field] * share).groupby(pieces["_zone"]).sum()
    return sums.reindex(zones.index).rename("population")
