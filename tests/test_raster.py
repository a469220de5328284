"""Zonal statistics of rasters (compliance.reading.raster) and the sample rasters shipped.

``sample_data/rasters/demo_population.tif`` holds a known number of persons per
100 m cell over the demo scheme (see its README), so zonal sums are exact;
``demo_population_4326.tif`` holds the same persons regridded to EPSG:4326.
Small rasters for the other cases are written into ``tmp_path``.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine
from helpers import DEMO, GK, ROOT, X0, Y0
from pyproj import CRS
from shapely.geometry import box

from compliance.errors import InputError
from compliance.reading.raster import (
    as_multipolygons,
    class_share,
    covered_share,
    impervious_percent,
    zonal_mean,
    zonal_sum,
)
from compliance.reading.scheme import RasterInput

RASTERS = ROOT / "sample_data" / "rasters"
POP = RASTERS / "demo_population.tif"
POP_4326 = RASTERS / "demo_population_4326.tif"
IMPERVIOUS = RASTERS / "nanjing_impervious.tif"
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"


def local(*boxes: tuple[float, float, float, float]) -> gpd.GeoSeries:
    """Rectangles in local metres from (X0, Y0), EPSG:4547."""
    return gpd.GeoSeries(
        [box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2) for x1, y1, x2, y2 in boxes], crs=GK
    )


def write_raster(
    path: Path,
    values: np.ndarray,
    *,
    x: float = X0,
    top: float = Y0,
    cell: float = 100.0,
    crs: str = GK,
    nodata: float | None = None,
) -> Path:
    """A one-band GeoTIFF with its upper-left corner at (x, top)."""
    rows, cols = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=Affine(cell, 0.0, x, 0.0, -cell, top),
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


# --------------------------------------------------------------------------- sums


def test_cluster_sums_on_the_demo_population_grid_are_exact():
    clusters = gpd.read_file(DEMO, layer="clusters")
    sums = zonal_sum(POP, clusters.geometry)
    # N, S, E, W: cells cut in half at N's and W's edges, by 0.2/0.8 at E's
    assert sums.tolist() == pytest.approx([700_000, 240_000, 150_000, 200_000], rel=1e-7)
    assert sums.name == "zonal_sum"
    assert list(sums.index) == list(clusters.index)


def test_a_polygon_cutting_cells_in_half_gets_half_their_persons():
    # S holds 80 persons per 100 m cell.
    sums = zonal_sum(POP, local((0, 0, 50, 100), (50, 50, 1050, 1050), (0, 0, 25, 25)))
    assert sums.tolist() == [40.0, 8_000.0, 5.0]  # half a cell; 1 km2 over 121 cut cells


def test_sums_align_with_a_non_default_index():
    polys = local((0, 0, 100, 100), (0, 6150, 100, 6250))
    polys.index = ["b", "a"]
    sums = zonal_sum(POP, polys)
    assert sums.to_dict() == {"b": 80.0, "a": 125.0}


def test_epsg4326_copy_gives_the_same_sums():
    with rasterio.open(POP_4326) as src:
        assert CRS.from_user_input(src.crs) == CRS.from_epsg(4326)
    # Interior polygons (more than one cell from a populated edge): S, N, E, W.
    polys = local(
        (1000, 1000, 4000, 5000),
        (1020, 2037, 2020, 3037),
        (1000, 7000, 7000, 12000),
        (9000, 7000, 11000, 10000),
        (-3500, 500, -1000, 5500),
    )
    a = zonal_sum(POP, polys)
    b = zonal_sum(POP_4326, polys)
    assert a.tolist() == pytest.approx([96_000, 8_000, 375_000, 45_000, 104_166.67], rel=1e-6)
    assert b.to_numpy() == pytest.approx(a.to_numpy(), rel=0.005)
    # Whole clusters lose a little at their edges, where 4326 cells straddle them.
    clusters = gpd.read_file(DEMO, layer="clusters")
    whole = zonal_sum(POP_4326, clusters.geometry).to_numpy()
    assert whole == pytest.approx([700_000, 240_000, 150_000, 200_000], rel=0.015)


def test_polygons_in_another_crs_are_projected_to_the_raster():
    polys = local((50, 50, 1050, 1050)).to_crs(4326)
    assert zonal_sum(POP, polys).iloc[0] == pytest.approx(8_000, rel=1e-4)


def test_polygon_outside_the_raster_gets_nan_not_zero():
    sums = zonal_sum(POP, local((0, 0, 100, 100), (30_000, 30_000, 30_100, 30_100)))
    assert sums.iloc[0] == 80.0 and math.isnan(sums.iloc[1])


def test_raster_not_overlapping_any_polygon_is_an_input_error():
    far = gpd.GeoSeries([box(0, 0, 100, 100)], crs=GK)
    with pytest.raises(InputError, match="does not overlap") as err:
        zonal_sum(POP, far)
    assert "\n" not in str(err.value)


def test_unreadable_raster_is_an_input_error(tmp_path):
    bad = tmp_path / "population.tif"
    bad.write_text("not a GeoTIFF")
    with pytest.raises(InputError, match="cannot be read") as err:
        zonal_sum(bad, local((0, 0, 100, 100)))
    assert "\n" not in str(err.value)


def test_raster_without_crs_is_an_input_error(tmp_path):
    path = tmp_path / "p.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
        transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0),
    ) as dst:  # fmt: skip
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(InputError, match="has no CRS"):
        zonal_sum(path, local((0, -100, 100, 0)))


def test_raster_input_is_accepted():
    ri = RasterInput(role="population", path=POP, crs=CRS.from_epsg(4547), nodata=-1.0)
    assert zonal_sum(ri, local((0, 0, 200, 100))).iloc[0] == 160.0


# --------------------------------------------------------------------------- mean, classes


def test_zonal_mean_is_coverage_weighted_and_skips_nodata(tmp_path):
    values = np.array([[10.0, 20.0, -9.0], [30.0, 40.0, -9.0]], dtype="float32")
    path = write_raster(tmp_path / "v.tif", values, top=Y0 + 200, nodata=-9.0)
    means = zonal_mean(path, local((0, 100, 200, 200), (50, 0, 200, 100), (200, 0, 300, 200)))
    # row 1: (10 + 20) / 2; row 2: (0.5 * 30 + 40) / 1.5; third: nodata only
    assert means.iloc[0] == pytest.approx(15.0)
    assert means.iloc[1] == pytest.approx(55.0 / 1.5)
    assert math.isnan(means.iloc[2])


def test_class_share_counts_partial_cells(tmp_path):
    lc = np.array([[10, 10, 50, 80], [30, 50, 50, 255]], dtype="uint8")
    path = write_raster(tmp_path / "lc.tif", lc, top=Y0 + 200, nodata=255)
    polys = local((0, 0, 400, 200), (0, 100, 150, 200), (300, 0, 400, 100))
    share = class_share(path, polys, [10, 30, 80])
    # 7 valid cells, 4 in the classes; 1.5 cells of class 10; only nodata
    assert share.iloc[0] == pytest.approx(4 / 7)
    assert share.iloc[1] == pytest.approx(1.0)
    assert math.isnan(share.iloc[2])
    assert class_share(path, polys, [99]).iloc[:2].tolist() == [0.0, 0.0]


def test_covered_share_of_a_polygon_half_beyond_the_raster(tmp_path):
    path = write_raster(tmp_path / "v.tif", np.ones((2, 2), dtype="float32"), top=Y0 + 200)
    share = covered_share(path, local((0, 0, 200, 200), (100, 0, 300, 200)))
    assert share.tolist() == pytest.approx([1.0, 0.5])


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        (np.array([[0.7, 0.7], [0.2, 0.2]], dtype="float32"), "fraction 0–1"),
        (np.array([[70, 70], [20, 20]], dtype="uint8"), "percent 0–100"),
    ],
)
def test_impervious_percent_reads_fractions_and_percentages(tmp_path, values, scale):
    path = write_raster(tmp_path / "imp.tif", values, top=Y0 + 200)
    pct, how = impervious_percent(path, local((0, 0, 200, 200), (0, 100, 200, 200)))
    assert pct.tolist() == pytest.approx([45.0, 70.0])
    assert how == scale


def test_impervious_values_beyond_100_are_an_input_error(tmp_path):
    path = write_raster(tmp_path / "imp.tif", np.array([[300.0]], dtype="float32"), top=Y0 + 100)
    with pytest.raises(InputError, match="expected the impervious share"):
        impervious_percent(path, local((0, 0, 100, 100)))


def test_as_multipolygons_keeps_polygonal_parts():
    geoms = np.array(
        [
            box(0, 0, 1, 1),
            shapely.GeometryCollection([box(5, 5, 6, 6), shapely.LineString([(0, 0), (1, 1)])]),
            shapely.LineString([(0, 0), (1, 1)]),
        ],
        dtype=object,
    )
    out = as_multipolygons(geoms)
    assert shapely.get_type_id(out).tolist() == [6, 6, 6]
    assert shapely.area(out).tolist() == [1.0, 1.0, 0.0]


# --------------------------------------------------------------------------- sample rasters


@pytest.mark.parametrize(
    ("name", "epsg", "dtype"),
    [
        ("demo_population.tif", 4547, "float32"),
        ("demo_population_4326.tif", 4326, "float32"),
        ("nanjing_impervious.tif", 4549, "uint8"),
    ],
)
def test_sample_rasters_are_small_georeferenced_geotiffs(name, epsg, dtype):
    path = RASTERS / name
    assert path.stat().st_size < 200_000
    with rasterio.open(path) as src:
        assert src.driver == "GTiff"
        assert CRS.from_user_input(src.crs) == CRS.from_epsg(epsg)
        assert src.dtypes[0] == dtype
        assert src.nodata is not None
    assert name in (RASTERS / "README.md").read_text(encoding="utf-8")


def test_nanjing_impervious_mean_matches_an_independent_count():
    boundary = gpd.read_file(NANJING, layer="boundary").to_crs(4549)
    pct, scale = impervious_percent(IMPERVIOUS, boundary.geometry)
    with rasterio.open(IMPERVIOUS) as src:
        values = src.read(1)
        inside = rasterio.features.geometry_mask(
            boundary.geometry, out_shape=values.shape, transform=src.transform, invert=True
        )
    valid = inside & (values != 255)
    assert scale == "percent 0–100"
    assert pct.iloc[0] == pytest.approx(values[valid].mean(), abs=0.5)
    assert 80.0 < pct.iloc[0] < 100.0  # a city centre: mostly sealed where OSM maps the surface
