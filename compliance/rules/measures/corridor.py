"""Measures of ecological corridors (生态廊道) between urban clusters.

No national standard defines how the net width (净宽度) of a corridor is
measured.  The checker uses a morphological opening with mitred joins:

* the net corridor is the corridor polygon minus construction land and road
  land (roads as red-line polygons, or centrelines buffered by half their
  red-line width);
* a corridor is at least ``w`` wide everywhere when eroding it by ``w/2`` and
  dilating it back by ``w/2`` (both with mitred joins) loses no area.  Mitred
  joins give back square ends and corners exactly, so the ends and corners of
  a plain rectangle are not narrow places, while a neck narrower than ``w``
  vanishes in the erosion and is not restored;
* the minimum net width is found per corridor by bisection on ``w`` to a set
  precision, and the narrowest stretch is the area lost just above it.

Continuity between clusters is a topological test: in the gap between two
clusters (the points no farther than their distance from either), what the net
corridors do not cover must not connect one cluster to the other.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from .geometry import union_by_group
from .green import uncovered_parts

#: Tolerance of the inscribed circle that brackets the bisection of the width:
#: this share of the square root of the polygon's area, at least MIC_TOLERANCE_M metres.
MIC_TOLERANCE_SHARE = 0.02
MIC_TOLERANCE_M = 0.5

#: Mitre limit of the opening: corners sharper than about 23° are bevelled, so
#: their tips count as narrow (they are).
MITRE_LIMIT = 5.0


#: Corridors are simplified (Douglas-Peucker, topology kept) to this tolerance,
#: metres, before their width is measured: every edge moves by at most this, so
#: a width by at most twice it (0.02 m), well below the 0.1 m the width is
#: reported to.  A corridor digitised densely (a curve exported with a vertex
#: every few centimetres: a million vertices) keeps a few thousand, and its
#: width is measured in time proportional to its size.
SIMPLIFY_TOLERANCE_M = 0.01


def _simplified(geoms: np.ndarray) -> np.ndarray:
    # Plain Douglas-Peucker (fast); where it made a polygon invalid (two edges
    # within the tolerance of each other), the topology-preserving one (slower).
    simple = np.asarray(
        shapely.simplify(geoms, SIMPLIFY_TOLERANCE_M, preserve_topology=False), dtype=object
    )
    broken = ~shapely.is_valid(simple) & shapely.is_valid(geoms)
    if broken.any():
        simple[broken] = shapely.simplify(
            geoms[broken], SIMPLIFY_TOLERANCE_M, preserve_topology=True
        )
    return simple


#: Parts of an eroded corridor thinner than this on average (twice their area over
#: their perimeter), metres, are dropped before dilating back: where the
#: corridor is within this of the width tried all along, it counts as narrower
#: (a width error of at most about twice this).  Dilating such a hair-thin
#: strip, kilometres long, costs GEOS tens of seconds; dropping it, nothing.
SLIVER_THICKNESS_M = 0.005


def _without_slivers(eroded: np.ndarray) -> np.ndarray:
    parts, owner = shapely.get_parts(eroded, return_index=True)
    if len(parts) == 0:
        return eroded
    perimeter = shapely.length(parts)
    thick = 2.0 * shapely.area(parts) / np.where(perimeter > 0, perimeter, 1.0)
    keep = thick >= SLIVER_THICKNESS_M
    if keep.all():
        return eroded
    out = np.empty(len(eroded), dtype=object)
    shapely.multipolygons(parts[keep], indices=owner[keep], out=out)
    return np.where(shapely.is_missing(out), shapely.MultiPolygon(), out)


def _opened(geoms: np.ndarray, width_m: np.ndarray) -> np.ndarray:
    """The mitred opening of each polygon: eroded by half the width, dilated back."""
    half = width_m / 2.0
    eroded = shapely.buffer(geoms, -half, join_style="mitre", mitre_limit=MITRE_LIMIT)
    eroded = _without_slivers(np.asarray(eroded, dtype=object))
    return shapely.buffer(eroded, half, join_style="mitre", mitre_limit=MITRE_LIMIT)


def _opening_loss(geoms: np.ndarray, width_m: np.ndarray) -> np.ndarray:
    return shapely.difference(geoms, _opened(geoms, width_m))


#: Margin of the shortcut in :func:`_narrow`, m², and as a share of the polygon's
#: area: far above the rounding of GEOS's areas and overlays.
NARROW_MARGIN_M2 = 1.0
NARROW_MARGIN_SHARE = 1e-6


def _narrow(geoms: np.ndarray, width_m: np.ndarray, min_area_m2: float) -> np.ndarray:
    """Whether a mitred opening of each width loses more than ``min_area_m2``.

    The same as ``area(_opening_loss(...)) > min_area_m2``, without the
    overlay where the areas alone decide: what the opening loses is at least
    the polygon's area minus the opened area, so when that exceeds the
    threshold by a margin the polygon is narrow; the difference is computed
    only for the others.
    """
    opened = _opened(geoms, width_m)
    area = shapely.area(geoms)
    margin = NARROW_MARGIN_M2 + NARROW_MARGIN_SHARE * area
    narrow = area - shapely.area(opened) > min_area_m2 + margin
    rest = np.flatnonzero(~narrow)
    narrow[rest] = shapely.area(shapely.difference(geoms[rest], opened[rest])) > min_area_m2
    return narrow


def narrower_than(geoms: np.ndarray, width_m: float | np.ndarray) -> np.ndarray:
    """The parts of each polygon narrower than a width.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely Polygon or MultiPolygon
        In a projected CRS with metre units.
    width_m : float or numpy.ndarray
        Width in metres, one for all or one per polygon.

    Returns
    -------
    numpy.ndarray of shapely geometries
        What a mitred opening of width ``width_m`` removes; empty where the
        polygon is at least that wide everywhere.
    """
    widths = np.broadcast_to(np.asarray(width_m, dtype=float), (len(geoms),))
    return _opening_loss(_simplified(np.asarray(geoms, dtype=object)), widths)


def min_width_m(
    geoms: np.ndarray,
    *,
    precision_m: float = 0.01,
    min_narrow_area_m2: float = 10.0,
    wide_enough_m: float | None = None,
) -> np.ndarray:
    """Minimum net width of each polygon, in metres.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely Polygon or MultiPolygon
        In a projected CRS with metre units.
    precision_m : float
        Bisection stops when the bracket is narrower than this.
    min_narrow_area_m2 : float
        A mitred opening that loses less area than this (numerical slivers,
        ragged digitising) does not count as a narrow place.
    wide_enough_m : float, optional
        Stop measuring a polygon once it is known to be wider than this
        (the lower end of its bracket above it) and return NaN for it: when
        only whether it is wider than a limit matters.  The others get the
        same value as without it.

    Returns
    -------
    numpy.ndarray of float
        Largest width ``w`` such that the polygon loses less than
        ``min_narrow_area_m2`` under a mitred opening of width ``w``: the
        middle of the final bracket, within ``precision_m / 2`` of it; 0 for
        empty geometries.  The upper bracket is the
        diameter of the maximum inscribed circle (found to a tolerance of
        :data:`MIC_TOLERANCE_SHARE` × √area, at least :data:`MIC_TOLERANCE_M`,
        and widened by it).  Measured on the polygons simplified to
        :data:`SIMPLIFY_TOLERANCE_M` (a width changes by at most twice it).
    """
    geoms = _simplified(np.asarray(geoms, dtype=object))
    n = len(geoms)
    out = np.zeros(n)
    empty = shapely.is_empty(geoms) | (shapely.area(geoms) <= 0)
    live = ~empty
    if not live.any():
        return out
    radius = np.zeros(n)
    # A coarse inscribed circle: its radius is within the tolerance of the
    # largest, so the bracket below still holds the width.  (A fine tolerance
    # costs seconds on long strips, where every point of the axis is as good;
    # a coarse one costs a bisection step or two.)
    tolerance = np.maximum(
        MIC_TOLERANCE_M, MIC_TOLERANCE_SHARE * np.sqrt(shapely.area(geoms[live]))
    )
    mic = shapely.maximum_inscribed_circle(geoms[live], tolerance=tolerance)
    radius[live] = shapely.length(mic) + tolerance
    lo = np.zeros(n)
    hi = 2.0 * radius + 2.0 * precision_m
    active = live.copy()
    wide = np.zeros(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        mid = (lo[idx] + hi[idx]) / 2.0
        narrow = _narrow(geoms[idx], mid, min_narrow_area_m2)
        hi[idx] = np.where(narrow, mid, hi[idx])
        lo[idx] = np.where(narrow, lo[idx], mid)
        active[idx] = (hi[idx] - lo[idx]) > precision_m
        if wide_enough_m is not None:
            wide[idx] = lo[idx] > wide_enough_m
            active &= ~wide
    out[live] = (lo[live] + hi[live]) / 2.0
    out[wide] = np.nan
    return out


def net_corridors(corridors: gpd.GeoSeries, obstacles: gpd.GeoSeries | None) -> gpd.GeoSeries:
    """Corridor polygons minus the obstacles that overlap them.

    Parameters
    ----------
    corridors : geopandas.GeoSeries
        Corridor polygons, projected metric CRS.
    obstacles : geopandas.GeoSeries or None
        Construction land and road land polygons, same CRS.

    Returns
    -------
    geopandas.GeoSeries
        Net corridor geometry aligned with ``corridors``.
    """
    if obstacles is None or obstacles.empty:
        return corridors.copy()
    obs = obstacles.to_numpy()
    tree = STRtree(obs)
    ci, oi = tree.query(corridors.to_numpy(), predicate="intersects")
    if len(ci) == 0:
        return corridors.copy()
    which, cut = union_by_group(obs[oi], ci)  # the obstacles of each corridor, unioned
    base = corridors.to_numpy()
    result = base.copy()
    result[which] = shapely.difference(base[which], cut)
    return gpd.GeoSeries(result, index=corridors.index, crs=corridors.crs)


def cluster_pairs(clusters: gpd.GeoSeries, search_distance_m: float) -> pd.DataFrame:
    """Pairs of clusters within a search distance of each other.

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions in ``clusters``, ``i < j``, sorted) and
        ``gap_m``, the shortest distance between the two polygons in metres.
    """
    geoms = clusters.to_numpy()
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=search_distance_m)
    keep = left < right
    order = np.lexsort((right[keep], left[keep]))
    i, j = left[keep][order], right[keep][order]
    gap = shapely.distance(geoms[i], geoms[j])
    return pd.DataFrame({"i": i, "j": j, "gap_m": gap})


def passage_between(
    clusters: gpd.GeoSeries,
    pairs: pd.DataFrame,
    net: gpd.GeoSeries,
    *,
    min_area_m2: float = 10.0,
    min_contact_m: float = 1.0,
) -> pd.DataFrame:
    """Uncovered passages that connect two clusters through the gap between them.

    For each pair the gap is the lens of points no farther than the pair's
    shortest distance from either cluster (for two parallel edges, exactly the
    band between them), minus every cluster.  What of the lens the net
    corridors do not cover is a break when one connected piece of it shares
    more than ``min_contact_m`` of boundary with each of the two clusters.
    Pieces that meet a cluster only at a corner point are not breaks.

    Parameters
    ----------
    clusters : geopandas.GeoSeries
        Cluster polygons, projected metric CRS.
    pairs : pandas.DataFrame
        From :func:`cluster_pairs` (RangeIndex).
    net : geopandas.GeoSeries
        Net corridor polygons, same CRS.
    min_area_m2 : float
        Pieces smaller than this are slivers, not breaks.
    min_contact_m : float
        Boundary length a piece must share with each cluster, metres.

    Returns
    -------
    pandas.DataFrame
        One row per pair (same index as ``pairs``) with ``break`` (shapely
        geometry or None: the union of connecting pieces) and
        ``break_width_m`` (diameter of the largest circle inscribed in the
        break, NaN where there is none).
    """
    geoms = clusters.to_numpy()
    a, b = geoms[pairs["i"].to_numpy()], geoms[pairs["j"].to_numpy()]
    reach = pairs["gap_m"].to_numpy() + 0.01
    lens = shapely.intersection(shapely.buffer(a, reach), shapely.buffer(b, reach))
    # Minus every cluster, then minus the net corridors: per lens, only the
    # clusters and corridors that meet it (no union of the whole layers).
    between = uncovered_parts(lens, geoms)
    net_geoms = _simplified(net.to_numpy())
    uncovered = uncovered_parts(between, net_geoms[~shapely.is_empty(net_geoms)])
    parts, owner = shapely.get_parts(uncovered, return_index=True)
    edge = shapely.boundary(parts)

    def contact(cluster: np.ndarray) -> np.ndarray:
        shared = shapely.intersection(edge, shapely.buffer(cluster[owner], 0.01))
        return np.asarray(shapely.length(shared) > min_contact_m, dtype=bool)

    big = shapely.area(parts) > min_area_m2
    connects = big & contact(a) & contact(b)
    breaks = np.full(len(pairs), None, dtype=object)
    width = np.full(len(pairs), np.nan)
    if connects.any():
        frame = gpd.GeoDataFrame(
            {"pair": owner[connects]}, geometry=parts[connects], crs=clusters.crs
        )
        merged = frame.dissolve(by="pair").geometry
        mic = shapely.maximum_inscribed_circle(merged.to_numpy(), tolerance=0.01)
        pos = merged.index.to_numpy()
        breaks[pos] = merged.to_numpy()
        width[pos] = 2.0 * shapely.length(mic)
    return pd.DataFrame({"break": breaks, "break_width_m": width}, index=pairs.index)
