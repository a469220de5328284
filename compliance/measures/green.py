"""Measures of green space: service radius (服务半径) of green space and parks.

Chinese practice (garden-city evaluation, "300米见绿、500米见园"): a
straight-line radius buffered from the green-space boundary, residential land
(0701 / R) as the denominator, green spaces counted only above a size tier.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

#: Segments per quarter circle when buffering service radii (arc error < 0.05 % of r).
QUAD_SEGS = 32


def merge_touching(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Union touching or overlapping polygons into single green spaces.

    A park mapped as several adjacent polygons is one park for the size tier.
    """
    if geoms.empty:
        return geoms
    merged = shapely.get_parts(shapely.union_all(geoms.to_numpy()))
    merged = merged[shapely.get_type_id(merged) == shapely.GeometryType.POLYGON]
    return gpd.GeoSeries(merged, crs=geoms.crs)


def service_area(greens: gpd.GeoSeries, radius_m: float) -> shapely.Geometry | None:
    """Union of the straight-line service radii around green spaces.

    Parameters
    ----------
    greens : geopandas.GeoSeries
        Green-space polygons, projected metric CRS.
    radius_m : float
        Service radius in metres, buffered from the green-space boundary.

    Returns
    -------
    shapely geometry or None
        The area within ``radius_m`` of any green space; None when there is none.
    """
    if greens.empty:
        return None
    return shapely.union_all(shapely.buffer(greens.to_numpy(), radius_m, quad_segs=QUAD_SEGS))


def farthest_distance_m(
    polygons: gpd.GeoSeries,
    targets: gpd.GeoSeries,
    *,
    spacing_m: float = 10.0,
    extra: gpd.GeoSeries | None = None,
) -> pd.Series:
    """Farthest straight-line distance from each polygon to the nearest target.

    The distance field is sampled on the polygon boundary (every vertex, and
    points every ``spacing_m`` along each edge) and on the boundary of
    ``extra`` (e.g. the uncovered part) where given.  For a convex polygon
    and a convex target the maximum lies at a vertex, so it is exact there.

    Parameters
    ----------
    polygons : geopandas.GeoSeries
        Residential parcels, projected metric CRS.
    targets : geopandas.GeoSeries
        Green-space polygons; distance is 0 inside them.
    spacing_m : float
        Sampling step along edges, metres.
    extra : geopandas.GeoSeries, optional
        More geometries per polygon whose boundaries are sampled too.

    Returns
    -------
    pandas.Series
        ``distance_m`` aligned with ``polygons``; NaN when there is no target.
    """
    if targets.empty:
        return pd.Series(np.nan, index=polygons.index, name="distance_m")
    geoms = shapely.segmentize(shapely.boundary(polygons.to_numpy()), spacing_m)
    pts, owner = shapely.get_coordinates(geoms, return_index=True)
    if extra is not None:
        more = shapely.segmentize(shapely.boundary(extra.to_numpy()), spacing_m)
        extra_pts, extra_owner = shapely.get_coordinates(more, return_index=True)
        pts, owner = np.vstack([pts, extra_pts]), np.concatenate([owner, extra_owner])
    tree = STRtree(targets.to_numpy())
    (src, _), dist = tree.query_nearest(
        shapely.points(pts), return_distance=True, all_matches=False
    )
    best = pd.Series(dist, index=owner[src]).groupby(level=0).max()
    out = pd.Series(np.nan, index=range(len(polygons)))
    out.loc[best.index] = best.to_numpy()
    return pd.Series(out.to_numpy(), index=polygons.index, name="distance_m")
