"""Measures of density: grids, lengths and areas inside zones, floor area.

All functions take geometries in a projected metric CRS (metres) and are
vectorised over features with shapely 2 and STRtree; results are aligned
with the zones passed in.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

#: Square metres in a square kilometre.
M2_PER_KM2 = 1_000_000.0


def square_grid(
    bounds: tuple[float, float, float, float], size_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Square cells of ``size_m`` covering ``bounds``, aligned to multiples of ``size_m``.

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` in a projected CRS, metres.
    size_m : float
        Cell side, metres.

    Returns
    -------
    cells : numpy.ndarray of shapely.Polygon
        The cells, row by row from the lower left.
    x_m, y_m : numpy.ndarray of float
        Lower-left corner of each cell, metres (multiples of ``size_m``).
    """
    minx, miny, maxx, maxy = bounds
    xs = np.arange(np.floor(minx / size_m), np.ceil(maxx / size_m)) * size_m
    ys = np.arange(np.floor(miny / size_m), np.ceil(maxy / size_m)) * size_m
    x, y = (a.ravel() for a in np.meshgrid(xs, ys))
    return shapely.box(x, y, x + size_m, y + size_m), x, y


def grid_cell_count(bounds: tuple[float, float, float, float], size_m: float) -> int:
    """Number of cells :func:`square_grid` would make, without making them."""
    minx, miny, maxx, maxy = bounds
    nx = np.ceil(maxx / size_m) - np.floor(minx / size_m)
    ny = np.ceil(maxy / size_m) - np.floor(miny / size_m)
    return int(nx * ny)


def length_inside_m(
    lines: np.ndarray, zones: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Length of lines inside each zone, metres, each line weighted.

    Parameters
    ----------
    lines : numpy.ndarray of LineString or MultiLineString
        Centrelines in a projected metric CRS.
    zones : numpy.ndarray of Polygon or MultiPolygon
        Zones in the same CRS.
    weights : numpy.ndarray of float, optional
        Factor per line (e.g. 0.5 for one carriageway of a dual carriageway);
        1 by default.

    Returns
    -------
    numpy.ndarray of float
        Σ (length of the line clipped to the zone × weight) per zone, metres.
    """
    w = np.ones(len(lines)) if weights is None else np.asarray(weights, dtype=float)
    if len(lines) == 0 or len(zones) == 0:
        return np.zeros(len(zones))
    zone_i, line_i = STRtree(lines).query(zones, predicate="intersects")
    clipped = shapely.intersection(lines[line_i], zones[zone_i])
    return np.bincount(zone_i, weights=shapely.length(clipped) * w[line_i], minlength=len(zones))


def area_inside_m2(cover: shapely.Geometry | None, zones: np.ndarray) -> np.ndarray:
    """Area of ``cover`` inside each zone, m² (0 where ``cover`` is None or empty)."""
    if cover is None or shapely.is_empty(cover):
        return np.zeros(len(zones))
    return np.asarray(shapely.area(shapely.intersection(zones, cover)), dtype=float)


def apportioned_sums(
    zones: np.ndarray, parcels: gpd.GeoDataFrame, fields: list[str]
) -> pd.DataFrame:
    """Parcel values and parcel area summed into zones, split by the share of area inside.

    Parameters
    ----------
    zones : numpy.ndarray of Polygon or MultiPolygon
        Zones in a projected metric CRS.
    parcels : geopandas.GeoDataFrame
        Polygons in the same CRS with numeric ``fields`` (no missing values).
    fields : list of str
        Fields to apportion (e.g. ``permeable_area_m2``).

    Returns
    -------
    pandas.DataFrame
        One row per zone (positional index): ``area_m2`` (area of the parcels
        inside the zone), each field (Σ value × share of the parcel inside),
        and ``parcels`` (number of parcels overlapping the zone).
    """
    out = pd.DataFrame({"area_m2": np.zeros(len(zones)), "parcels": np.zeros(len(zones))})
    for f in fields:  # a field or two
        out[f] = 0.0
    geoms = parcels.geometry.to_numpy()
    if len(geoms) == 0 or len(zones) == 0:
        return out
    zone_i, parcel_i = STRtree(geoms).query(zones, predicate="intersects")
    piece = shapely.area(shapely.intersection(geoms[parcel_i], zones[zone_i]))
    whole = shapely.area(geoms[parcel_i])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(whole > 0, piece / whole, 0.0)
    n = len(zones)
    out["area_m2"] = np.bincount(zone_i, weights=piece, minlength=n)
    out["parcels"] = np.bincount(zone_i, weights=(piece > 0).astype(float), minlength=n)
    for f in fields:
        values = parcels[f].to_numpy(dtype=float)[parcel_i]
        out[f] = np.bincount(zone_i, weights=values * share, minlength=n)
    return out


def sum_by_zone_containing(
    geoms: np.ndarray, values: np.ndarray, zones: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of values of features whose representative point lies in each zone.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Features (e.g. building footprints), projected metric CRS.
    values : numpy.ndarray of float
        Value per feature (NaN values are left out).
    zones : numpy.ndarray of Polygon or MultiPolygon
        Zones in the same CRS.

    Returns
    -------
    total : numpy.ndarray of float
        Σ values per zone.
    count : numpy.ndarray of int
        Number of features counted per zone.
    """
    n = len(zones)
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    if not ok.any() or n == 0:
        return np.zeros(n), np.zeros(n, dtype=int)
    points = shapely.point_on_surface(geoms[ok])
    point_i, zone_i = STRtree(zones).query(points, predicate="within")
    total = np.bincount(zone_i, weights=v[ok][point_i], minlength=n)
    count = np.bincount(zone_i, minlength=n)
    return total, count
