"""Geometry helpers that scale: grouped unions, overlap groups, clipping to zones.

A union of every feature of a large layer (``shapely.union_all`` over a
city's green spaces or parcels) is one huge geometry, slow to build and slow
to use: every later difference or intersection with it walks all its edges.
These helpers keep the work local instead: features are grouped by an STRtree
query, unions are formed per group in one vectorised call, and clipping to a
zone is skipped for the features that lie inside it.  Every function works on
arrays of shapely geometries in one projected metric CRS and returns results
aligned by position.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of a graph of ``n`` nodes given by its edges.

    Label propagation with pointer jumping, vectorised with numpy: each node
    takes the smallest label among its neighbours until nothing changes.

    Parameters
    ----------
    n : int
        Number of nodes (0 … n-1).
    left, right : numpy.ndarray of int
        The two ends of each edge.

    Returns
    -------
    numpy.ndarray of int
        Per node, the smallest node index of its component.
    """
    label = np.arange(n, dtype=np.int64)
    a, b = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    if len(a) == 0:
        return label
    while True:  # rounds of propagation: O(log of the components' diameter)
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]  # pointer jumping
        label = label[label]
        if np.array_equal(label, before):
            return label


def union_by_group(geoms: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of the geometries of each group, vectorised over groups.

    Groups are padded into rows of a 2-D array (in buckets of similar size,
    so that one large group does not pad all the others) and unioned row by
    row with ``shapely.union_all(axis=1)``.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
    groups : numpy.ndarray of int
        Group of each geometry.

    Returns
    -------
    keys : numpy.ndarray of int
        The distinct groups, sorted.
    unions : numpy.ndarray of shapely geometries
        The union of each group's geometries, aligned with ``keys`` (the
        geometry itself for a group of one).
    """
    geoms = np.asarray(geoms, dtype=object)
    groups = np.asarray(groups, dtype=np.int64)
    keys, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    unions = np.empty(len(keys), dtype=object)
    if len(keys) == 0:
        return keys, unions
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(groups)) - np.repeat(starts, counts)  # position within its group
    g_sorted = inverse[order]
    bucket = np.ceil(np.log2(counts)).astype(np.int64)  # groups of size ≤ 2**bucket
    for size_log in np.unique(bucket):  # a few dozen size buckets at most
        members = np.flatnonzero(bucket == size_log)
        width = int(counts[members].max())
        table = np.full((len(members), width), None, dtype=object)
        row_of = np.full(len(keys), -1, dtype=np.int64)
        row_of[members] = np.arange(len(members))
        take = row_of[g_sorted] >= 0
        table[row_of[g_sorted[take]], rank[take]] = geoms[order[take]]
        # A group of one is its geometry; larger groups are unioned row by row.
        unions[members] = table[:, 0] if width == 1 else shapely.union_all(table, axis=1)
    return keys, unions


def overlap_groups(geoms: np.ndarray, *, touching: bool = False) -> np.ndarray:
    """Group polygons whose interiors overlap (or that touch, with ``touching``).

    Parameters
    ----------
    geoms : numpy.ndarray of Polygon or MultiPolygon
    touching : bool
        Also group polygons that only share boundary.

    Returns
    -------
    numpy.ndarray of int
        Group label per geometry (the smallest position in its group); a
        polygon that overlaps nothing is its own group.
    """
    geoms = np.asarray(geoms, dtype=object)
    left, right = STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not touching and len(left):
        inner = shapely.relate_pattern(geoms[left], geoms[right], "T********")
        left, right = left[inner], right[inner]
    return components(len(geoms), left, right)


def dissolve(geoms: np.ndarray, *, touching: bool = False) -> np.ndarray:
    """Polygons with overlapping (or touching) ones unioned; the others unchanged.

    The union of the result is the union of ``geoms``, and no two results
    overlap: areas add up.  Unlike one global union, only the groups that
    need it are unioned.

    Parameters
    ----------
    geoms : numpy.ndarray of Polygon or MultiPolygon
        Valid polygons in a projected metric CRS.
    touching : bool
        Merge polygons that only touch too (a park mapped in adjacent pieces
        becomes one polygon).

    Returns
    -------
    numpy.ndarray of shapely geometries
        One geometry per group, singletons first in input order, then the
        unions in group order.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    label = overlap_groups(geoms, touching=touching)
    size = np.bincount(label, minlength=len(geoms))
    alone = size[label] == 1
    shared = ~alone
    _, merged = union_by_group(geoms[shared], label[shared])
    return np.concatenate([geoms[alone], merged])


def clip_pairs(
    geoms: np.ndarray, zones: np.ndarray, *, predicate: str = "intersects"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each geometry clipped to each zone it meets, without clipping those inside.

    An STRtree query finds the (zone, geometry) pairs; a geometry covered by
    its zone is kept as it is, and only the geometries crossing a zone's edge
    are intersected with it, so a zone with thousands of vertices is not
    walked once per feature inside it.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Features (polygons or lines), projected metric CRS.
    zones : numpy.ndarray of Polygon or MultiPolygon
        Zones in the same CRS.
    predicate : str
        STRtree predicate selecting the pairs.

    Returns
    -------
    zone_i, geom_i : numpy.ndarray of int
        Positions of the pairs in ``zones`` and ``geoms``.
    clipped : numpy.ndarray of shapely geometries
        The part of the geometry inside the zone, per pair.
    """
    geoms = np.asarray(geoms, dtype=object)
    zones = np.asarray(zones, dtype=object)
    if len(geoms) == 0 or len(zones) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=object)
    tree = STRtree(geoms)
    zone_i, geom_i = tree.query(zones, predicate=predicate)
    inside_z, inside_g = tree.query(zones, predicate="contains_properly")
    n = len(geoms)
    inside = np.isin(zone_i * n + geom_i, inside_z * n + inside_g)
    clipped = geoms[geom_i].copy()
    cut = ~inside
    clipped[cut] = shapely.intersection(geoms[geom_i[cut]], zones[zone_i[cut]])
    return zone_i, geom_i, clipped


def union_area_inside_m2(geoms: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Area of the union of polygons inside each zone, m², overlaps counted once.

    Equal to ``area(intersection(zone, union_all(geoms)))`` without the
    global union: overlapping polygons are dissolved in groups
    (:func:`dissolve`), then the disjoint pieces are clipped to each zone
    (:func:`clip_pairs`) and their areas added.

    Parameters
    ----------
    geoms : numpy.ndarray of Polygon or MultiPolygon
        Projected metric CRS.
    zones : numpy.ndarray of Polygon or MultiPolygon
        Same CRS.

    Returns
    -------
    numpy.ndarray of float
        Area per zone, m²; 0 where nothing lies inside.
    """
    zones = np.asarray(zones, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0 or len(zones) == 0:
        return np.zeros(len(zones))
    pieces = dissolve(geoms)
    zone_i, _, clipped = clip_pairs(pieces, zones)
    return np.bincount(zone_i, weights=shapely.area(clipped), minlength=len(zones))


def union_local(geoms: np.ndarray) -> shapely.Geometry:
    """Union of polygons, formed group by group of touching polygons.

    The same area as ``shapely.union_all(geoms)``: polygons that touch or
    overlap are unioned together (:func:`dissolve`), and the groups, which do
    not touch one another, are collected into one MultiPolygon (a Polygon
    when there is one, an empty Polygon when there is none).  Much faster
    than one global union when the polygons fall into many separate groups
    (the parcels of a city).

    Parameters
    ----------
    geoms : numpy.ndarray of Polygon or MultiPolygon
        Projected metric CRS; null and empty geometries are ignored.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
    """
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    parts = shapely.get_parts(dissolve(geoms, touching=True))
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    if len(parts) == 0:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    return shapely.multipolygons(parts)
