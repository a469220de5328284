"""Measures of roads: red-line width (道路红线宽度), the carriageways of dual carriageways."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .geometry import union_by_group


def strip_width_m(polygons: gpd.GeoSeries) -> pd.Series:
    """Width of road-land polygons measured across their centreline, in metres.

    The polygon is taken as a strip of constant width ``w`` along a centreline
    of length ``L``: area ``A = w·L`` and perimeter ``P ≈ 2(L + w)``, so
    ``w = (P − √(P² − 16A)) / 4``.  Exact for rectangles and for networks of
    equal-width strips (a cross of two 40 m roads measures 40 m); an estimate
    for tapering polygons.  This is the red-line (道路红线) width when the
    polygon is the road land between red lines, never the carriageway.

    Parameters
    ----------
    polygons : geopandas.GeoSeries
        Road-land Polygons or MultiPolygons, projected metric CRS.

    Returns
    -------
    pandas.Series
        ``width_m`` aligned with ``polygons``.
    """
    area = polygons.area.to_numpy()
    perim = polygons.length.to_numpy()
    disc = np.clip(perim**2 - 16.0 * area, 0.0, None)
    return pd.Series((perim - np.sqrt(disc)) / 4.0, index=polygons.index, name="width_m")


def carriageway_pairs(
    lines: np.ndarray,
    *,
    max_gap_m: float = 40.0,
    min_overlap: float = 0.5,
    min_alignment: float = 0.7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the one-way carriageways of dual carriageways (双幅路) by geometry.

    Two one-way lines are the two carriageways of one road when they run
    alongside each other in opposite directions: (1) they come within
    ``max_gap_m`` of each other; (2) the part of line *a* within
    ``max_gap_m`` of line *b* is at least ``min_overlap`` of the shorter of
    the two; (3) that part runs along *b*: projected onto *b* (linear
    referencing) it spans at least ``min_alignment`` of its own length (a
    street crossing *b* spans almost nothing); (4) as *a* advances along
    that part, its projection on *b* goes backwards (opposite directions).
    Road class plays no part.  An STRtree query and array operations of
    shapely; no loop over lines.

    The part of a line alongside its partners is the line inside the union
    of their flat-ended ``max_gap_m`` corridors, and the rest is the line
    outside it: overlays of a line with a polygon, which the line crosses, so
    the two parts add up to the line's length exactly (set operations
    between a line and its own sub-lines are not robust in floating point).

    Parameters
    ----------
    lines : numpy.ndarray of LineString or MultiLineString
        One-way centrelines in a projected metric CRS, each drawn in its
        direction of travel (reverse ``oneway=-1`` ways first).
    max_gap_m : float
        Largest distance between the two carriageways, m (40 m: medians of
        urban dual carriageways are far narrower; GB 50220 / CJJ 37 cross
        sections).
    min_overlap : float
        Share of the shorter line that must run alongside the other, 0–1.
    min_alignment : float
        Projected span ÷ own length of the part alongside, 0–1 (0.7: within
        about 45° of parallel).

    Returns
    -------
    paired_part : numpy.ndarray of geometries
        For each line, the part of it running alongside a paired carriageway
        (an empty geometry when it has none): this part is one side of a
        road and counts half.
    rest : numpy.ndarray of geometries
        For each line, the rest of it (the whole line when it has no partner).
    paired : numpy.ndarray of bool
        Whether each line has a partner.
    """
    lines = np.asarray(lines, dtype=object)
    n = len(lines)
    empty = np.array([shapely.LineString()] * n, dtype=object) if n else np.empty(0, dtype=object)
    paired = np.zeros(n, dtype=bool)
    if n < 2:
        return empty, lines.copy(), paired
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="dwithin", distance=max_gap_m)
    keep = a != b
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return empty, lines.copy(), paired
    length = shapely.length(lines)
    corridor = shapely.buffer(lines, max_gap_m, cap_style="flat")
    part = shapely.line_merge(shapely.intersection(lines[a], corridor[b]))
    part_len = shapely.length(part)
    shorter = np.minimum(length[a], length[b])
    ok = part_len >= min_overlap * shorter
    # direction and alignment of the part alongside, by its projection on b
    start = shapely.line_interpolate_point(part, 0.0)
    end = shapely.line_interpolate_point(part, 1.0, normalized=True)
    s_b = shapely.line_locate_point(lines[b], start)
    e_b = shapely.line_locate_point(lines[b], end)
    span = e_b - s_b
    with np.errstate(invalid="ignore", divide="ignore"):
        aligned = np.abs(span) >= min_alignment * part_len
    ok &= aligned & (span < 0)
    ok &= part_len > 0
    if not ok.any():
        return empty, lines.copy(), paired
    keys, zones = union_by_group(corridor[b[ok]], a[ok])
    out = empty.copy()
    out[keys] = shapely.intersection(lines[keys], zones)
    rest = lines.copy()
    rest[keys] = shapely.difference(lines[keys], zones)
    paired[keys] = True
    return out, rest, paired
