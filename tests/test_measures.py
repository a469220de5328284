"""The measures on shapes a reviewer would draw, with exact expected values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import affinity
from shapely.geometry import Polygon, box

from compliance.crs import choose_metric_crs, gauss_kruger_epsg
from compliance.measures.corridor import min_width_m, narrower_than
from compliance.measures.green import farthest_distance_m
from compliance.measures.roads import strip_width_m
from compliance.measures.structure import apportioned_population

CRS = "EPSG:4547"


@pytest.mark.parametrize("angle", [0, 17, 30, 45, 90])
def test_rotated_rectangle_width_is_its_short_side(angle):
    rect = affinity.rotate(box(0, 0, 2000, 130), angle, origin=(0, 0))
    width = min_width_m(np.array([rect]))[0]
    assert width == pytest.approx(130, abs=0.05)
    assert shapely.area(narrower_than(np.array([rect]), 129.0)[0]) < 1e-3  # slivers only


def test_l_shaped_bend_is_not_a_narrow_place():
    ell = shapely.union(box(0, 0, 1000, 120), box(0, 0, 120, 1000))
    assert min_width_m(np.array([ell]))[0] == pytest.approx(120, abs=0.05)


def test_corridor_exactly_at_limit_measures_the_limit():
    rect = box(0, 0, 5000, 100)
    assert round(min_width_m(np.array([rect]))[0], 1) == 100.0


def test_neck_width_and_place():
    # 200 m wide, with a 45 m neck over x 800..900
    poly = shapely.difference(box(0, 0, 2000, 200), box(800, 45, 900, 200))
    assert min_width_m(np.array([poly]))[0] == pytest.approx(45, abs=0.05)
    narrow = narrower_than(np.array([poly]), 100.0)[0]
    assert shapely.bounds(narrow) == pytest.approx((800, 0, 900, 45), abs=0.5)


def test_tapering_tip_is_narrow():
    wedge = Polygon([(0, 0), (2000, 0), (2000, 300)])  # a tip narrower than anything
    assert min_width_m(np.array([wedge]))[0] < 100


def test_empty_net_corridor_measures_zero():
    assert min_width_m(np.array([Polygon()]))[0] == 0.0


def test_strip_width_of_rectangle_and_cross():
    rect = box(0, 0, 600, 50)
    cross = shapely.union(box(-200, -20, 200, 20), box(-20, -200, 20, 200))
    widths = strip_width_m(gpd.GeoSeries([rect, cross], crs=CRS))
    assert widths.tolist() == pytest.approx([50.0, 40.0])


def test_farthest_distance_to_green():
    parcels = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    greens = gpd.GeoSeries([box(400, 0, 500, 50)], crs=CRS)
    d = farthest_distance_m(parcels, greens)
    assert d.iloc[0] == pytest.approx(np.hypot(400, 50))  # from corner (0, 100)


def test_population_is_split_by_area_share():
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=CRS)
    parcels = gpd.GeoDataFrame(
        {"population": [1000.0, 300.0, None]},
        geometry=[box(900, 0, 1100, 100), box(100, 100, 200, 200), box(0, 0, 10, 10)],
        crs=CRS,
    )
    pop = apportioned_population(zones, parcels)
    assert pop.tolist() == pytest.approx([500.0 + 300.0, 500.0])


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [(75.0, 4534), (76.3, 4534), (114.29, 4547), (118.78, 4549), (135.0, 4554), (20.0, None)],
)
def test_gauss_kruger_zone(lon, epsg):
    assert gauss_kruger_epsg(lon) == epsg


def test_metric_crs_outside_china_is_utm():
    assert choose_metric_crs(24.94, 60.17).to_epsg() == 32635  # Helsinki
    assert choose_metric_crs(114.29, 35.73).to_epsg() == 4547  # Hebi


def test_no_zone_for_nan_longitude():
    assert gauss_kruger_epsg(float("nan")) is None
