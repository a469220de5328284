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

from .geometry import dissolve, union_by_group

#: Segments per quarter circle when buffering service radii (arc error < 0.05 % of r).
QUAD_SEGS = 32
#: Widening rounds of :func:`nearest_distance_m` before a nearest query per point.
SEARCH_ROUNDS = 4


def merge_touching(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Union touching or overlapping polygons into single green spaces.

    A park mapped as several adjacent polygons is one park for the size tier.
    Only the groups of pieces that touch are unioned
    (:func:`compliance.rules.measures.geometry.dissolve`), never the whole layer.
    """
    if geoms.empty:
        return geoms
    merged = shapely.get_parts(dissolve(geoms.to_numpy(), touching=True))
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


def service_radii(greens: gpd.GeoSeries, radius_m: float) -> np.ndarray:
    """The straight-line service radius around each green space, not unioned.

    Parameters
    ----------
    greens : geopandas.GeoSeries
        Green-space polygons, projected metric CRS.
    radius_m : float
        Service radius in metres, buffered from the green-space boundary
        (:data:`QUAD_SEGS` segments per quarter circle).

    Returns
    -------
    numpy.ndarray of Polygon
        One buffer per green space (empty array when there is none).
    """
    return np.asarray(
        shapely.buffer(greens.to_numpy(), radius_m, quad_segs=QUAD_SEGS), dtype=object
    )


def uncovered_parts(polygons: np.ndarray, covers: np.ndarray) -> np.ndarray:
    """The part of each polygon outside the union of the covers.

    Equal to ``difference(polygon, union_all(covers))`` without the global
    union: a polygon covered by one cover is empty at once; for the others
    only the covers that meet it are unioned (one vectorised grouped union,
    :func:`compliance.rules.measures.geometry.union_by_group`) and subtracted.

    Parameters
    ----------
    polygons : numpy.ndarray of Polygon or MultiPolygon
        E.g. residential parcels, projected metric CRS.
    covers : numpy.ndarray of Polygon or MultiPolygon
        E.g. service radii buffered around green spaces, same CRS.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Aligned with ``polygons``: the uncovered part (an empty polygon when
        fully covered; the polygon itself when no cover meets it).
    """
    polygons = np.asarray(polygons, dtype=object)
    out = polygons.copy()
    covers = np.asarray(covers, dtype=object)
    if len(covers) == 0 or len(polygons) == 0:
        return out
    tree = STRtree(covers)
    inside, _ = tree.query(polygons, predicate="covered_by")
    out[inside] = shapely.Polygon()
    full = np.zeros(len(polygons), dtype=bool)
    full[inside] = True
    poly_i, cover_i = tree.query(polygons, predicate="intersects")
    keep = ~full[poly_i]
    if keep.any():
        which, unions = union_by_group(covers[cover_i[keep]], poly_i[keep])
        out[which] = shapely.difference(polygons[which], unions)
    return out


def nearest_distance_m(
    xy: np.ndarray,
    targets: np.ndarray,
    *,
    search_m: float = 300.0,
    tree: STRtree | None = None,
) -> np.ndarray:
    """Distance from each point to the nearest target, m, exactly, in widening rounds.

    Round by round (search distance ``search_m``, doubled each round) an
    STRtree query pairs the points still unresolved with every target within
    the search distance, and the distances of those pairs are computed in one
    vectorised call; a point with any target within the search distance has
    its nearest among them.  After :data:`SEARCH_ROUNDS` rounds the few far
    points left go to ``STRtree.query_nearest``.  Much faster than a nearest
    query per point when most points are near a target.

    Parameters
    ----------
    xy : numpy.ndarray of float, shape (n, 2)
        Point coordinates, projected metric CRS.
    targets : numpy.ndarray of shapely geometries
        Polygons (distance 0 inside) or any geometries, same CRS; not empty.
    search_m : float
        First search distance, m (e.g. the service radius).
    tree : shapely.STRtree, optional
        STRtree of ``targets`` when the caller has one.

    Returns
    -------
    numpy.ndarray of float
        Distance per point, m.
    """
    tree = STRtree(targets) if tree is None else tree
    pts = shapely.points(xy)
    out = np.full(len(pts), np.nan)
    todo = np.arange(len(pts))
    reach = float(search_m)
    for _ in range(SEARCH_ROUNDS):  # a few widening rounds, not features
        if len(todo) == 0:
            return out
        i, j = tree.query(pts[todo], predicate="dwithin", distance=reach)
        best = np.full(len(todo), np.inf)
        np.minimum.at(best, i, shapely.distance(pts[todo[i]], targets[j]))
        found = np.isfinite(best)
        out[todo[found]] = best[found]
        todo = todo[~found]
        reach *= 2.0
    if len(todo):
        (src, _), dist = tree.query_nearest(pts[todo], return_distance=True, all_matches=False)
        out[todo[src]] = dist
    return out


def farthest_distance_m(
    polygons: gpd.GeoSeries,
    targets: gpd.GeoSeries,
    *,
    spacing_m: float = 10.0,
    extra: gpd.GeoSeries | None = None,
    search_m: float = 300.0,
) -> pd.Series:
    """Farthest straight-line distance from each polygon to the nearest target.

    The distance field is sampled on the polygon boundary (every vertex, and
    points every ``spacing_m`` along each edge) and on the boundary of
    ``extra`` (e.g. the uncovered part) where given.  For a convex polygon
    and a convex target the maximum lies at a vertex, so it is exact there.

    Not every sample is computed, yet the result is the maximum over all
    of them: the distance to the nearest target changes by at most the
    distance moved, so between two samples of an edge ``s`` metres apart at
    distances ``d1`` and ``d2`` no sample exceeds ``(d1 + d2 + s) / 2``.  The
    vertices are computed first; then the samples of each edge are searched
    by halving, and a stretch whose bound does not exceed the polygon's
    largest distance so far is skipped.

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
    search_m : float
        First search distance for the nearest target (:func:`nearest_distance_m`),
        e.g. the service radius; it changes the speed, not the result.

    Returns
    -------
    pandas.Series
        ``distance_m`` aligned with ``polygons``; NaN when there is no target.
    """
    if targets.empty:
        return pd.Series(np.nan, index=polygons.index, name="distance_m")
    rings = [shapely.boundary(polygons.to_numpy())]
    if extra is not None:
        rings.append(shapely.boundary(extra.to_numpy()))
    parts, owner = shapely.get_parts(np.concatenate(rings), return_index=True)
    owner = owner % len(polygons)  # extra[k] belongs to polygons[k]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    who = owner[part]
    goal = targets.to_numpy()
    tree = STRtree(goal)
    dist = nearest_distance_m(coords, goal, search_m=search_m, tree=tree)
    most = np.full(len(polygons), -np.inf)
    np.maximum.at(most, who, dist)
    # The samples along each edge (GEOS segmentize: ceil(L / spacing) equal
    # steps), searched branch-and-bound: a run of samples between two known
    # ones is evaluated only while its Lipschitz bound exceeds the maximum.
    start = np.flatnonzero(part[1:] == part[:-1])
    delta = coords[start + 1] - coords[start]
    length = np.sqrt(delta[:, 0] ** 2 + delta[:, 1] ** 2)
    steps = np.maximum(np.ceil(length / spacing_m), 1.0)
    step_m = length / steps
    edge, lo, hi = np.arange(len(start)), np.zeros(len(start)), steps
    d_lo, d_hi = dist[start], dist[start + 1]
    while len(edge):  # rounds of halving: about log2(longest edge / spacing)
        owner_e = who[start[edge]]
        bound = (d_lo + d_hi + (hi - lo) * step_m[edge]) / 2.0
        open_ = (hi - lo > 1) & (bound + 1e-9 > most[owner_e])  # margin for rounding
        edge, lo, hi, d_lo, d_hi = edge[open_], lo[open_], hi[open_], d_lo[open_], d_hi[open_]
        if not len(edge):
            break
        mid = np.floor((lo + hi) / 2.0)
        frac = (mid * step_m[edge]) / length[edge]
        xy = coords[start[edge]] + frac[:, None] * delta[edge]
        d_mid = nearest_distance_m(xy, goal, search_m=search_m, tree=tree)
        np.maximum.at(most, who[start[edge]], d_mid)
        edge = np.concatenate([edge, edge])
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
        d_lo, d_hi = np.concatenate([d_lo, d_mid]), np.concatenate([d_mid, d_hi])
    most[np.isinf(most)] = np.nan
    return pd.Series(most, index=polygons.index, name="distance_m")


def max_distance_m(
    polygons: np.ndarray,
    targets: np.ndarray,
    *,
    tolerance_m: float = 0.1,
    search_m: float = 300.0,
) -> np.ndarray:
    """The greatest distance from any point of each polygon to the nearest target, m.

    The true maximum over the whole polygon, interior included (a parcel
    ringed by green is farthest from it in its middle), to within
    ``tolerance_m``: the result ``E`` and the true maximum ``T`` satisfy
    ``E ≤ T ≤ E + tolerance_m``.

    The boundary: every vertex, then each edge bisected (branch and bound:
    a stretch of length ``s`` between values ``d1`` and ``d2`` holds nothing
    above ``(d1 + d2 + s) / 2``) down to stretches of half the tolerance.
    The interior: branch and bound over a quadtree
    of square cells, all polygons at once, round by round.  The distance to
    the targets changes by at most the distance moved, so a cell of
    half-diagonal ``h`` whose centre lies at ``d`` holds no point farther
    than ``d + h``: cells that cannot beat the best value found are dropped.
    So is a cell within which one convex target is the nearest everywhere
    (no other target within ``d + 2h`` of its centre): the distance to a
    convex set is a convex function, whose maximum over the cell's part of
    the polygon lies on that part's edge (the polygon's boundary, measured
    already, or a neighbouring cell's).  The others split in four until
    ``h`` is below half the tolerance.

    Parameters
    ----------
    polygons : numpy.ndarray of Polygon or MultiPolygon
        E.g. residential parcels, projected metric CRS.
    targets : numpy.ndarray of Polygon or MultiPolygon
        E.g. qualifying green spaces, same CRS; distance 0 inside them.
    tolerance_m : float
        Largest amount by which the true maximum may exceed the result, m.
    search_m : float
        First search distance of :func:`nearest_distance_m` (speed only).

    Returns
    -------
    numpy.ndarray of float
        Per polygon, m; NaN when there is no target or the polygon is empty.
    """
    polygons = np.asarray(polygons, dtype=object)
    targets = np.asarray(targets, dtype=object)
    n = len(polygons)
    if n == 0 or len(targets) == 0:
        return np.full(n, np.nan)
    tree = STRtree(targets)
    convex = np.isclose(
        shapely.area(targets), shapely.area(shapely.convex_hull(targets)), rtol=1e-9, atol=1e-6
    )
    tol = tolerance_m / 2.0
    # prepared copies for the point-in-polygon tests of every round: never the caller's
    # geometries, which other rules read on other threads (preparing is not thread-safe)
    polygons = shapely.transform(polygons, lambda c: c)
    shapely.prepare(polygons)
    most = _boundary_max_m(polygons, targets, tree, convex, tol, search_m)
    b = shapely.bounds(polygons)
    ok = ~shapely.is_empty(polygons) & np.isfinite(b).all(axis=1)
    owner = np.flatnonzero(ok)
    cx, cy = (b[owner, 0] + b[owner, 2]) / 2.0, (b[owner, 1] + b[owner, 3]) / 2.0
    half = np.maximum(b[owner, 2] - b[owner, 0], b[owner, 3] - b[owner, 1]) / 2.0
    # candidate targets of each cell: (cell, target) pairs; a child cell's nearest target
    # and the targets near it are among its parent's (see _among)
    pairs: tuple[np.ndarray, np.ndarray] | None = None
    while len(owner):  # rounds: log2(polygon size / tolerance), all polygons at once
        hd = half * np.sqrt(2.0)
        pts = shapely.points(cx, cy)
        lone: np.ndarray | None = None
        if pairs is None:
            dc = nearest_distance_m(
                np.column_stack([cx, cy]), targets, search_m=search_m, tree=tree
            )
        else:  # distances to the parent's candidates give the nearest and the lone test
            dc, lone, d = _among(tree, targets, convex, pts, *pairs, 2.0 * hd)
        inside = shapely.intersects(polygons[owner], pts)  # prepared: point in polygon
        np.maximum.at(most, owner[inside], dc[inside])
        alive = dc + hd > most[owner] + tol
        # one convex target nearest throughout the cell: no interior maximum in it
        if lone is None:
            at = np.flatnonzero(alive)
            alive[at[_lone_convex(tree, convex, pts[at], dc[at] + 2.0 * hd[at])]] = False
        else:
            alive &= ~lone
        out = alive & ~inside
        if out.any():  # a cell whose centre is outside must still meet the polygon
            at = np.flatnonzero(out)
            lo_x, lo_y = cx[at] - half[at], cy[at] - half[at]
            cells = shapely.box(lo_x, lo_y, cx[at] + half[at], cy[at] + half[at])
            alive[at] = shapely.intersects(polygons[owner[at]], cells)
        small = alive & (hd <= tol)
        # a small cell meets the polygon: some point of it is at least dc - hd away
        np.maximum.at(most, owner[small], dc[small] - hd[small])
        alive &= ~small
        # a child's nearest target and those near it lie within dc + 2 hd of its parent
        reach = _with_margin(dc + 2.0 * hd)
        if pairs is None:
            at = np.flatnonzero(alive)
            i, j = tree.query(pts[at], predicate="dwithin", distance=reach[at])
            pairs = _children_pairs(at[i], j, alive, 4)
        else:
            keep = alive[pairs[0]] & (d <= reach[pairs[0]])
            pairs = _children_pairs(pairs[0][keep], pairs[1][keep], alive, 4)
        owner, cx, cy, half = owner[alive], cx[alive], cy[alive], half[alive] / 2.0
        owner = np.tile(owner, 4)
        cx = np.concatenate([cx - half, cx + half, cx - half, cx + half])
        cy = np.concatenate([cy - half, cy - half, cy + half, cy + half])
        half = np.tile(half, 4)
    most[np.isinf(most)] = np.nan
    return most


def _with_margin(reach: np.ndarray) -> np.ndarray:
    """A search distance widened by far more than the rounding of the distances compared."""
    return np.asarray(reach, dtype=float) * (1.0 + 1e-9) + 1e-6


def _children_pairs(
    cell: np.ndarray, target: np.ndarray, alive: np.ndarray, copies: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of the surviving cells, renumbered, handed to each of their children.

    Surviving cell ``k`` (the ``k``-th True of ``alive``) has its children
    at ``k``, ``k + n``, … ``k + (copies - 1) n`` (``n`` survivors), the
    order in which the callers tile them; ``copies`` 1 only renumbers.
    """
    n = int(alive.sum())
    new = np.cumsum(alive) - 1
    c = new[cell]
    return (
        np.concatenate([c + k * n for k in range(copies)]),
        np.tile(target, copies),
    )


def _among(
    tree: STRtree,
    targets: np.ndarray,
    convex: np.ndarray,
    pts: np.ndarray,
    cell: np.ndarray,
    target: np.ndarray,
    extra: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest distance of each point, whether one convex target alone lies within it + extra.

    The candidates are given as pairs (``cell``, ``target``): for each
    point, every target within its nearest distance + ``extra`` must be
    among them (a point inherits its parent's: the distance changes by at
    most the distance moved), more do no harm.  One vectorised distance per
    pair gives both the nearest target and the targets near it, where an
    STRtree query per point would compute the same distances again.  A point
    left without a candidate (none, when the candidates hold) goes to
    :func:`nearest_distance_m` and is not lone.

    Returns
    -------
    tuple of numpy.ndarray
        Nearest distance per point (m); lone flag per point; the distance
        of each pair (m).
    """
    d = shapely.distance(pts[cell], targets[target])
    best = np.full(len(pts), np.inf)
    np.minimum.at(best, cell, d)
    lost = ~np.isfinite(best)
    if lost.any():
        best[lost] = nearest_distance_m(shapely.get_coordinates(pts[lost]), targets, tree=tree)
    near = d <= best[cell] + extra[cell]
    count = np.bincount(cell[near], minlength=len(pts))
    lone = np.zeros(len(pts), dtype=bool)
    lone[cell[near]] = convex[target[near]]
    return best, (count == 1) & lone & ~lost, d


def _lone_convex(
    tree: STRtree, convex: np.ndarray, pts: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Whether exactly one target lies within ``reach`` of each point, and it is convex."""
    i, j = tree.query(pts, predicate="dwithin", distance=reach)
    count = np.bincount(i, minlength=len(pts))
    lone = np.zeros(len(pts), dtype=bool)
    lone[i] = convex[j]
    return (count == 1) & lone


def _boundary_max_m(
    polygons: np.ndarray,
    targets: np.ndarray,
    tree: STRtree,
    convex: np.ndarray,
    tol: float,
    search_m: float,
) -> np.ndarray:
    """Greatest distance to the targets along each polygon's boundary, within ``tol``, m.

    Every vertex, then the edges bisected, all at once: a stretch of length
    ``s`` between known values ``d1``, ``d2`` holds nothing above
    ``(d1 + d2 + s) / 2``; a stretch whose midpoint has one convex target
    within ``d + s`` (the same nearest target all along it) has its maximum
    at an end.  Stretches shorter than ``tol`` end the search.
    """
    n = len(polygons)
    most = np.full(n, -np.inf)
    coords, part = shapely.get_coordinates(
        shapely.get_parts(shapely.boundary(polygons)), return_index=True
    )
    _, owner = shapely.get_parts(shapely.boundary(polygons), return_index=True)
    if not len(coords):
        return most
    who = owner[part]
    dist = nearest_distance_m(coords, targets, search_m=search_m, tree=tree)
    np.maximum.at(most, who, dist)
    start = np.flatnonzero(part[1:] == part[:-1])
    a, b = coords[start], coords[start + 1]
    d_a, d_b, w = dist[start], dist[start + 1], who[start]
    pairs: tuple[np.ndarray, np.ndarray] | None = None  # candidates of each stretch's midpoint
    while len(a):  # rounds of halving: log2(longest edge / tol)
        seg = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        keep = (seg > tol) & ((d_a + d_b + seg) / 2.0 > most[w] + tol / 2.0)
        a, b, d_a, d_b, w, seg = a[keep], b[keep], d_a[keep], d_b[keep], w[keep], seg[keep]
        if not len(a):
            break
        mid = (a + b) / 2.0
        pts = shapely.points(mid)
        if pairs is None:
            bound = np.minimum(d_a, d_b) + seg / 2.0  # 1-Lipschitz from the nearer end
            i, j = tree.query(pts, predicate="dwithin", distance=_with_margin(bound) + seg)
        else:  # the stretches kept, renumbered
            at = keep[pairs[0]]
            i, j = _children_pairs(pairs[0][at], pairs[1][at], keep, 1)
        d_m, lone, d = _among(tree, targets, convex, pts, i, j, seg)
        np.maximum.at(most, w, d_m)
        go = ~lone
        # a half's midpoint lies seg / 4 from this one: its candidates are within d + seg
        near = go[i] & (d <= _with_margin(d_m + seg)[i])
        pairs = _children_pairs(i[near], j[near], go, 2)
        a, b, mid, d_a, d_b, d_m, w = a[go], b[go], mid[go], d_a[go], d_b[go], d_m[go], w[go]
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
        d_a, d_b = np.concatenate([d_a, d_m]), np.concatenate([d_m, d_b])
        w = np.concatenate([w, w])
    return most
