"""One feature of a million vertices: a corridor (EC01/EC02) against a plaza (SQ01).

A polygon exported from CAD or a GIS with its curves densified (a vertex every
few centimetres) can hold a million vertices.  ``run.py --vertices 1000000``
builds two schemes of one such polygon each, in EPSG:4547:

* ``corridor.gpkg``: a winding ecological corridor 20 km long, 120 m wide with
  an 80 m neck, between two clusters 1 km apart (EC01 net width, EC02
  continuity);
* ``plaza.gpkg``: a round plaza of 2 ha drawn with as many vertices (SQ01).

and reads and checks each in a process of its own (``run.py``'s ``child``),
so the corridor's time can be compared with the plaza's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

X0, Y0 = 520_000.0, 3_950_000.0
CRS = "EPSG:4547"


def corridor_polygon(vertices: int) -> shapely.Polygon:
    """A winding strip of about ``vertices`` vertices: 120 m wide, an 80 m neck 200 m long."""
    k = max(vertices // 2, 8)
    x = np.linspace(0.0, 20_000.0, k)
    y = 300.0 * np.sin(2 * np.pi * x / 4_000.0)
    slope = np.gradient(y, x)
    nx, ny = -slope / np.hypot(1, slope), 1 / np.hypot(1, slope)
    half = np.where(np.abs(x - 12_000.0) < 100.0, 40.0, 60.0)
    left = np.c_[x + nx * half, y + ny * half]
    right = np.c_[x - nx * half, y - ny * half][::-1]
    return shapely.Polygon(np.r_[left, right, left[:1]] + [X0, Y0])


def plaza_polygon(vertices: int) -> shapely.Polygon:
    """A round plaza of 2 ha drawn with ``vertices`` vertices."""
    t = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    r = np.sqrt(20_000.0 / np.pi)
    ring = np.c_[X0 + r * np.cos(t), Y0 + r * np.sin(t)]
    return shapely.Polygon(ring)


def build(vertices: int, folder: Path) -> dict[str, Path]:
    """Write ``corridor.gpkg`` and ``plaza.gpkg`` into ``folder``; return their paths."""
    import geopandas as gpd

    folder.mkdir(parents=True, exist_ok=True)
    corridor = folder / f"corridor_{vertices}.gpkg"
    plaza = folder / f"plaza_{vertices}.gpkg"
    if not corridor.exists():
        clusters = [
            shapely.box(X0 + 11_000, Y0 - 1_400, X0 + 13_000, Y0 - 500),
            shapely.box(X0 + 11_000, Y0 + 500, X0 + 13_000, Y0 + 1_400),
        ]
        gpd.GeoDataFrame(
            {"id": ["C1", "C2"], "population": [50_000, 50_000]}, geometry=clusters, crs=CRS
        ).to_file(corridor, layer="clusters", engine="pyogrio")
        gpd.GeoDataFrame({"id": ["E1"]}, geometry=[corridor_polygon(vertices)], crs=CRS).to_file(
            corridor, layer="corridors", engine="pyogrio"
        )
    if not plaza.exists():
        gpd.GeoDataFrame(
            {"id": ["P1"], "hard_area_m2": [15_000.0]}, geometry=[plaza_polygon(vertices)], crs=CRS
        ).to_file(plaza, layer="squares", engine="pyogrio")
    return {"corridor": corridor, "plaza": plaza}
