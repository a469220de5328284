"""Build the sample rasters of ``sample_data/rasters/``; ``README.md`` says what each holds.

Run from the repository root::

    python sample_data/rasters/make_rasters.py

It rewrites ``demo_population.tif`` (EPSG:4547), ``demo_population_4326.tif``
(the same persons regridded to EPSG:4326) and ``nanjing_impervious.tif``
(EPSG:4549, derived from ``sample_data/nanjing_xinjiekou/osm.gpkg``).  The
output is deterministic: the same inputs give the same cell values.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.features import geometry_mask, rasterize
from rasterio.warp import reproject, transform_bounds

from compliance.reading.osm import estimate_red_line_width_m

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "osm.gpkg"

# --------------------------------------------------------------------------- demo population

DEMO_CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, as sample_data/demo
X0, Y0 = 520_000.0, 3_950_000.0
CELL_M = 100.0
#: Grid extent in local metres: the demo's boundary polygon (-4500..12500, -500..13500).
GRID_X = (-4500.0, 12500.0)
GRID_Y = (-500.0, 13500.0)
#: Persons per 100 m cell on every cell touching a cluster of the demo (local metres of the
#: cells' block).  Each cluster's zonal sum equals its population in the demo (CL02).
BLOCKS = [
    # (name, x1, y1, x2, y2, persons per cell)
    ("S", 0.0, 0.0, 5000.0, 6000.0, 80.0),  # 8,000/km2 -> 240,000 in S (30 km2)
    ("N", 0.0, 6100.0, 8000.0, 13200.0, 125.0),  # 12,500/km2 -> 700,000 in N (56 km2)
    ("E", 8000.0, 6100.0, 12100.0, 11200.0, 75.0),  # 7,500/km2 -> 150,000 in E (20 km2)
    ("W", -4200.0, 0.0, -100.0, 6000.0, 250.0 / 3.0),  # 8,333.3/km2 -> 200,000 in W (24 km2)
]
#: Cell size of the EPSG:4326 copy, degrees (about 90 m east-west, 111 m north-south there).
CELL_DEG = 0.001


def demo_population() -> tuple[np.ndarray, Affine]:
    """Persons per 100 m cell over the demo, and the grid's transform (EPSG:4547)."""
    cols = round((GRID_X[1] - GRID_X[0]) / CELL_M)
    rows = round((GRID_Y[1] - GRID_Y[0]) / CELL_M)
    transform = Affine(CELL_M, 0.0, X0 + GRID_X[0], 0.0, -CELL_M, Y0 + GRID_Y[1])
    # local coordinates of the cell centres
    cx = GRID_X[0] + CELL_M * (np.arange(cols) + 0.5)
    cy = GRID_Y[1] - CELL_M * (np.arange(rows) + 0.5)
    xx, yy = np.meshgrid(cx, cy)
    persons = np.zeros((rows, cols), dtype="float32")
    for _, x1, y1, x2, y2, value in BLOCKS:  # four blocks
        inside = (xx > x1) & (xx < x2) & (yy > y1) & (yy < y2)
        persons[inside] = np.float32(value)
    return persons, transform


def write_demo_population(path: Path) -> None:
    persons, transform = demo_population()
    profile = {
        "driver": "GTiff",
        "width": persons.shape[1],
        "height": persons.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": DEMO_CRS,
        "transform": transform,
        "nodata": -1.0,
        "compress": "deflate",
        "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(persons, 1)
        dst.update_tags(
            units="persons per cell",
            description="synthetic population of the demo scheme; see README.md",
        )


def write_demo_population_4326(src_path: Path, path: Path) -> None:
    """The same persons regridded to EPSG:4326 with GDAL's 'sum' resampling.

    'sum' adds the source cells under each target cell weighted by the share of
    each source cell covered, so persons are conserved (not densities averaged).
    """
    with rasterio.open(src_path) as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        west = np.floor(west / CELL_DEG) * CELL_DEG
        south = np.floor(south / CELL_DEG) * CELL_DEG
        east = np.ceil(east / CELL_DEG) * CELL_DEG
        north = np.ceil(north / CELL_DEG) * CELL_DEG
        cols = round((east - west) / CELL_DEG)
        rows = round((north - south) / CELL_DEG)
        transform = Affine(CELL_DEG, 0.0, west, 0.0, -CELL_DEG, north)
        out = np.full((rows, cols), -1.0, dtype="float32")
        reproject(
            rasterio.band(src, 1),
            out,
            src_transform=src.transform,
            src_crs=src.crs,
            src_nodata=src.nodata,
            dst_transform=transform,
            dst_crs="EPSG:4326",
            dst_nodata=-1.0,
            resampling=Resampling.sum,
        )
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": -1.0,
        "compress": "deflate",
        "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out, 1)
        dst.update_tags(
            units="persons per cell",
            description="demo_population.tif regridded to EPSG:4326 (GDAL sum); see README.md",
        )


# --------------------------------------------------------------------------- Nanjing imperviousness

NANJING_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E, the zone of Nanjing
NANJING_CELL_M = 10.0
#: Sub-cells per cell side when rasterising (1 m sub-cells: the share is counted in 1 %).
SUPERSAMPLE = 10
#: Assumed paved width, m, of ways without a red-line estimate (footways, steps, paths …),
#: and of pedestrian streets.
PATH_WIDTH_M = 3.0
PEDESTRIAN_WIDTH_M = 10.0
NODATA_U8 = 255
#: Sub-cell codes while rasterising.
PERMEABLE, SEALED, UNMAPPED = 0, 1, 2
#: A cell gets a value when at least this share of its sub-cells is mapped.
MIN_MAPPED = 0.5


def nanjing_surfaces() -> tuple[shapely.Geometry, shapely.Geometry, shapely.Geometry]:
    """(extent, sealed, permeable) of the Nanjing extract in EPSG:4549."""

    def read(layer: str) -> gpd.GeoDataFrame:
        return gpd.read_file(NANJING, layer=layer).to_crs(NANJING_CRS)

    extent = read("extent").geometry.iloc[0]
    roads = read("roads")

    def text(col: str) -> pd.Series:
        return roads[col] if col in roads.columns else pd.Series(pd.NA, index=roads.index)

    width_m, _ = estimate_red_line_width_m(
        text("highway"), text("width"), text("lanes"), text("oneway")
    )
    highway = roads["highway"].astype("string").str.strip().str.lower()
    width_m = width_m.fillna(
        pd.Series(np.where(highway == "pedestrian", PEDESTRIAN_WIDTH_M, PATH_WIDTH_M), roads.index)
    )
    half_width_m = width_m.to_numpy() / 2.0
    road_land = shapely.buffer(roads.geometry.to_numpy(), half_width_m, cap_style="flat")
    buildings = read("buildings").geometry.to_numpy()
    squares = read("squares").geometry.to_numpy()
    green = read("green").geometry.to_numpy()
    water = read("water").geometry.to_numpy()
    permeable = shapely.union_all(np.concatenate([green, water]))
    # Roads over green or water (bridges, park paths drawn as buffers) yield to them;
    # buildings and squares are mapped as drawn and stay sealed.
    sealed = shapely.union_all(
        [
            shapely.difference(shapely.union_all(road_land), permeable),
            shapely.union_all(np.concatenate([buildings, squares])),
        ]
    )
    sealed = shapely.intersection(sealed, extent)
    return extent, sealed, shapely.difference(shapely.intersection(permeable, extent), sealed)


def write_nanjing_impervious(path: Path) -> None:
    """Percent sealed of each 10 m cell, counted on 1 m sub-cells whose surface OSM maps.

    Sub-cells are sealed (buildings, squares, road land), permeable (green
    spaces, grass, water) or unmapped.  A cell's value is the sealed share of
    its mapped sub-cells; a cell less than half mapped is nodata (255).
    """
    extent, sealed, permeable = nanjing_surfaces()
    minx, miny, maxx, maxy = extent.bounds
    minx = np.floor(minx / NANJING_CELL_M) * NANJING_CELL_M
    miny = np.floor(miny / NANJING_CELL_M) * NANJING_CELL_M
    maxx = np.ceil(maxx / NANJING_CELL_M) * NANJING_CELL_M
    maxy = np.ceil(maxy / NANJING_CELL_M) * NANJING_CELL_M
    cols = round((maxx - minx) / NANJING_CELL_M)
    rows = round((maxy - miny) / NANJING_CELL_M)
    sub = NANJING_CELL_M / SUPERSAMPLE
    fine = rasterize(
        [(permeable, PERMEABLE), (sealed, SEALED)],
        out_shape=(rows * SUPERSAMPLE, cols * SUPERSAMPLE),
        transform=Affine(sub, 0.0, minx, 0.0, -sub, maxy),
        fill=UNMAPPED,
        dtype="uint8",
    )
    blocks = fine.reshape(rows, SUPERSAMPLE, cols, SUPERSAMPLE)
    n_sealed = (blocks == SEALED).sum(axis=(1, 3))
    n_mapped = (blocks != UNMAPPED).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.rint(100.0 * n_sealed / n_mapped)
    transform = Affine(NANJING_CELL_M, 0.0, minx, 0.0, -NANJING_CELL_M, maxy)
    outside = geometry_mask([extent], out_shape=(rows, cols), transform=transform)
    too_little = n_mapped < MIN_MAPPED * SUPERSAMPLE * SUPERSAMPLE
    values = np.where(outside | too_little, NODATA_U8, percent).astype("uint8")
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "uint8",
        "crs": NANJING_CRS,
        "transform": transform,
        "nodata": NODATA_U8,
        "compress": "deflate",
        "predictor": 2,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        dst.update_tags(
            units="percent of the cell sealed (0-100)",
            description=(
                "estimate derived from OpenStreetMap (c) OpenStreetMap contributors, ODbL 1.0; "
                "see README.md"
            ),
        )


if __name__ == "__main__":
    pop = HERE / "demo_population.tif"
    write_demo_population(pop)
    write_demo_population_4326(pop, HERE / "demo_population_4326.tif")
    write_nanjing_impervious(HERE / "nanjing_impervious.tif")
    for f in sorted(HERE.glob("*.tif")):
        print(f"wrote {f.relative_to(ROOT)} ({f.stat().st_size:,} bytes)")
