"""The inline maps clip only what crosses their frame: GEOS gives back, as the clip of a
geometry strictly inside a rectangle, the geometry's own parts (what the maps draw)."""

from __future__ import annotations

import numpy as np
import shapely
from helpers import DEMO

import compliance


def _parts_wkb(geoms: np.ndarray) -> list[bytes]:
    return list(shapely.to_wkb(shapely.get_parts(geoms)))


def test_clip_of_what_lies_inside_is_its_parts() -> None:
    scheme = compliance.read_scheme(DEMO)
    geoms = np.concatenate([g.geometry.to_numpy() for g in scheme.layers.values()])
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    made = np.array(
        [
            shapely.Polygon(
                [(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]]
            ),
            shapely.MultiPolygon(
                [shapely.box(0, 0, 1, 1), shapely.Polygon([(5, 5), (6, 5), (6, 7)])]
            ),
            shapely.MultiLineString([[(0, 0), (3, 4), (3, 9)], [(5, 5), (1, 1)]]),
            shapely.LineString([(0, 0), (1, 1), (0, 0), (2, 5)]),
            shapely.Polygon([(0, 0), (0, 10), (10, 10), (10, 0)]),  # clockwise
        ],
        dtype=object,
    )
    geoms = np.concatenate([geoms, made])
    assert len(geoms) > 20
    for g in geoms:  # a few dozen
        minx, miny, maxx, maxy = shapely.bounds(g)
        clipped = shapely.clip_by_rect(g, minx - 0.5, miny - 0.5, maxx + 0.5, maxy + 0.5)
        assert _parts_wkb(np.array([clipped])) == _parts_wkb(np.array([g]))
