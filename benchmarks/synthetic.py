"""Synthetic cities for benchmarks: a real sample place tiled on a grid.

The geometries are real (the OpenStreetMap extract of central Nanjing in
``sample_data/nanjing_xinjiekou/scheme.gpkg``); only their placement is made
up.  The place's extent is repeated on a grid with a gap between the copies:
each copy is a cluster (组团), the gaps are ecological corridors (生态廊道),
and every layer (parcels, roads, buildings, green spaces, squares,
facilities) is copied in the proportion of the original, so a city of
100,000 parcels has about 290,000 road centrelines and 935,000 buildings.

Made-up attributes, so that the density rules have data: each cluster's
``population`` (40,000–70,000 persons, in a fixed pattern), residential
parcels' ``population`` (400 persons per hectare) and the city boundary's
``population`` (the clusters' sum).

>>> from synthetic import build_city  # doctest: +SKIP
>>> build_city(100_000, "/tmp/city_100k.gpkg")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"
#: Layers copied from the sample place, with the columns kept.
COPIED = {
    "parcels": ["land_use", "name"],
    "roads": ["road_class", "red_line_width_m", "width_source", "is_new", "name", "oneway"],
    "squares": ["hard_area_m2", "name"],
    "green_spaces": ["kind", "name"],
    "buildings": ["floors", "height_m", "use", "is_new", "name"],
    "facilities": ["kind", "name"],
}
#: Corridor width between copies, m (passes EC01's 100 m).
GAP_M = 150.0
#: Persons per m² given to residential parcels (400 per hectare).
RESIDENTS_PER_M2 = 0.04
#: Tiles written to the GeoPackage at once.
CHUNK_TILES = 250


@dataclass(frozen=True)
class City:
    """What :func:`build_city` wrote."""

    path: Path
    tiles: int
    counts: dict[str, int]


def _read_sample(sample: Path) -> tuple[dict[str, gpd.GeoDataFrame], shapely.Polygon]:
    from compliance.reading.scheme import read_scheme

    scheme = read_scheme(sample)
    extent = scheme.layers["boundary"].geometry.iloc[0]
    layers = {}
    for name, cols in COPIED.items():
        gdf = scheme.layers.get(name)
        if gdf is None:
            continue
        keep = [c for c in cols if c in gdf.columns]
        layers[name] = gdf[[*keep, "feature_id", "geometry"]].reset_index(drop=True)
    return layers, extent


def _offsets(n_tiles: int, width: float, height: float, gap: float) -> np.ndarray:
    cols = math.ceil(math.sqrt(n_tiles))
    t = np.arange(n_tiles)
    return np.column_stack([(t % cols) * (width + gap), (t // cols) * (height + gap)])


def _tile(gdf: gpd.GeoDataFrame, tiles: np.ndarray, offsets: np.ndarray) -> gpd.GeoDataFrame:
    """``gdf`` copied once per tile, translated by the tile's offset (vectorised)."""
    n = len(gdf)
    rep = np.repeat(tiles, n)
    geoms = np.tile(gdf.geometry.to_numpy(), len(tiles))
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    moved = shapely.set_coordinates(geoms.copy(), coords + offsets[rep[owner]])
    data = {c: np.tile(gdf[c].to_numpy(), len(tiles)) for c in gdf.columns if c != "geometry"}
    ids = pd.Series(rep).astype(str) + "-" + pd.Series(data.pop("feature_id")).astype(str)
    return gpd.GeoDataFrame({"id": ids.to_numpy(), **data}, geometry=moved, crs=gdf.crs)


def build_city(
    n_parcels: int, path: str | Path, *, sample: str | Path = SAMPLE, gap_m: float = GAP_M
) -> City:
    """Write a synthetic city of about ``n_parcels`` parcels as a GeoPackage.

    Parameters
    ----------
    n_parcels : int
        Parcels wanted; the city has whole copies of the sample, so the count
        is rounded up to a multiple of the sample's parcels (133 for Nanjing).
    path : str or pathlib.Path
        GeoPackage to write (replaced when it exists).
    sample : str or pathlib.Path
        The real scheme to tile (its ``boundary`` is the tile).
    gap_m : float
        Width of the corridor between copies, m.

    Returns
    -------
    City
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    layers, extent = _read_sample(Path(sample))
    minx, miny, maxx, maxy = extent.bounds
    width, height = maxx - minx, maxy - miny
    n_tiles = max(1, math.ceil(n_parcels / len(layers["parcels"])))
    offsets = _offsets(n_tiles, width, height, gap_m)
    crs = layers["parcels"].crs
    counts: dict[str, int] = {}
    for start in range(0, n_tiles, CHUNK_TILES):  # chunks of tiles, to bound memory
        tiles = np.arange(start, min(n_tiles, start + CHUNK_TILES))
        for name, gdf in layers.items():
            out = _tile(gdf, tiles, offsets)
            if name == "parcels":
                res = out["land_use"].astype("string").isin(["0701"]).fillna(False).to_numpy()
                out["population"] = np.where(res, np.round(out.area * RESIDENTS_PER_M2), np.nan)
            _write(out, path, name)
            counts[name] = counts.get(name, 0) + len(out)
    _write(_clusters(extent, offsets, crs), path, "clusters")
    corridors = _corridors(offsets, (minx, miny, width, height), gap_m, crs)
    _write(corridors, path, "corridors")
    clusters_pop = _cluster_population(n_tiles)
    # No 'kind': a boundary that says "city" would make the county-town rules
    # (RD01, SQ01, DN01, DN02, BH04, BH05) not applicable, and they are to be timed too.
    boundary = gpd.GeoDataFrame(
        {"id": ["city"], "population": [float(clusters_pop.sum())]},
        geometry=[
            shapely.box(
                minx, miny, *(np.array([minx, miny]) + offsets.max(axis=0) + [width, height])
            )
        ],
        crs=crs,
    )
    _write(boundary, path, "boundary")
    counts.update(clusters=n_tiles, corridors=len(corridors), boundary=1)
    return City(path=path, tiles=n_tiles, counts=counts)


def _cluster_population(n_tiles: int) -> np.ndarray:
    return 40_000.0 + (np.arange(n_tiles) * 7_919 % 30_001)


def _clusters(extent: shapely.Geometry, offsets: np.ndarray, crs: object) -> gpd.GeoDataFrame:
    coords = shapely.get_coordinates(extent)
    boxes = shapely.polygons(coords[None, :, :] + offsets[:, None, :])
    n = len(offsets)
    return gpd.GeoDataFrame(
        {
            "id": [f"C{t}" for t in range(n)],
            "name": [f"组团{t}" for t in range(n)],
            "population": _cluster_population(n),
        },
        geometry=boxes,
        crs=crs,
    )


def _corridors(
    offsets: np.ndarray, frame: tuple[float, float, float, float], gap: float, crs: object
) -> gpd.GeoDataFrame:
    """A strip in the gap to the right of and above each copy that has a neighbour there."""
    minx, miny, width, height = frame
    occupied = {tuple(np.round(o, 3)) for o in offsets}
    x0, y0 = minx + offsets[:, 0], miny + offsets[:, 1]
    right = np.array([(round(o[0] + width + gap, 3), round(o[1], 3)) in occupied for o in offsets])
    above = np.array([(round(o[0], 3), round(o[1] + height + gap, 3)) in occupied for o in offsets])
    top = np.where(above, y0 + height + gap, y0 + height)  # the vertical strip covers the corner
    vertical = shapely.box(x0 + width, y0, x0 + width + gap, top)[right]
    horizontal = shapely.box(x0, y0 + height, x0 + width, y0 + height + gap)[above]
    geoms = np.concatenate([vertical, horizontal])
    ids = [f"V{t}" for t in np.flatnonzero(right)] + [f"H{t}" for t in np.flatnonzero(above)]
    return gpd.GeoDataFrame({"id": ids, "name": [f"廊道{i}" for i in ids]}, geometry=geoms, crs=crs)


def _write(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    append = path.exists() and layer in {n for n, _ in pyogrio.list_layers(path)}
    pyogrio.write_dataframe(gdf, path, layer=layer, append=append, promote_to_multi=False)
