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

from .geometry import clip_pairs

#: Square metres in a square kilometre.
M2_PER_KM2 = 1_000_000.0
#: Up to this many zones, points are placed zone by zone; beyond it through an STRtree.
MANY_ZONES = 64


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
    zone_i, line_i, clipped = clip_pairs(lines, zones)
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
    zone_i, parcel_i, clipped = clip_pairs(geoms, zones)
    piece = shapely.area(clipped)
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


#: Features turned into representative points at once (bounds the memory of the points).
POINT_CHUNK = 500_000


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """Coordinates of a point inside each geometry (:func:`shapely.point_on_surface`).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Projected metric CRS; not null or empty.

    Returns
    -------
    numpy.ndarray of float, shape (n, 2)
        x, y of each geometry's point, in chunks of :data:`POINT_CHUNK` so
        that millions of buildings never exist as point objects at once.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty((len(geoms), 2))
    for start in range(0, len(geoms), POINT_CHUNK):  # chunks, each vectorised
        part = shapely.point_on_surface(geoms[start : start + POINT_CHUNK])
        out[start : start + len(part)] = shapely.get_coordinates(part)
    return out


def zones_containing(xy: np.ndarray, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, zone) pairs of the points lying inside each zone (not on its edge).

    Parameters
    ----------
    xy : numpy.ndarray of float, shape (n, 2)
        Point coordinates, projected metric CRS.
    zones : numpy.ndarray of Polygon or MultiPolygon
        Zones in the same CRS (prepared copies are used; the zones are not changed).

    Returns
    -------
    point_i, zone_i : numpy.ndarray of int
    """
    zones = np.asarray(zones, dtype=object)
    own = shapely.transform(zones, lambda c: c)  # copies, prepared for fast point tests
    shapely.prepare(own)
    points, found = [], []
    if len(zones) <= MANY_ZONES:
        bounds = shapely.bounds(zones)
        for z in range(len(zones)):  # a few zones (boundary polygons), each vectorised
            minx, miny, maxx, maxy = bounds[z]
            near = np.flatnonzero(
                (xy[:, 0] >= minx) & (xy[:, 0] <= maxx) & (xy[:, 1] >= miny) & (xy[:, 1] <= maxy)
            )
            hit = near[shapely.contains_xy(own[z], xy[near, 0], xy[near, 1])]
            points.append(hit)
            found.append(np.full(len(hit), z, dtype=np.int64))
    else:
        tree = STRtree(zones)
        for start in range(0, len(xy), POINT_CHUNK):  # chunks of points, each vectorised
            p_i, z_i = tree.query(shapely.points(xy[start : start + POINT_CHUNK]))
            p_i = p_i + start
            inside = shapely.contains_xy(own[z_i], xy[p_i, 0], xy[p_i, 1])
            points.append(p_i[inside])
            found.append(z_i[inside])
    if not points:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(points), np.concatenate(found)


def sum_by_zone_containing(
    geoms: np.ndarray,
    values: np.ndarray,
    zones: np.ndarray,
    *,
    points: np.ndarray | None = None,
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
    points : numpy.ndarray of float, shape (n, 2), optional
        The features' representative points (:func:`representative_points`)
        when the caller sums several values over the same features.

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
    xy = representative_points(geoms[ok]) if points is None else points[ok]
    point_i, zone_i = zones_containing(xy, zones)
    total = np.bincount(zone_i, weights=v[ok][point_i], minlength=n)
    count = np.bincount(zone_i, minlength=n)
    return total, count
