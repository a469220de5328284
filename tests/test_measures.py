"""The measures on shapes a reviewer would draw, with exact expected values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import GK
from shapely import affinity
from shapely.geometry import Polygon, box

from compliance.reading.crs import choose_metric_crs, gauss_kruger_epsg
from compliance.rules.measures.corridor import min_width_m, narrower_than
from compliance.rules.measures.green import farthest_distance_m
from compliance.rules.measures.roads import strip_width_m
from compliance.rules.measures.structure import apportioned_population

CRS = GK


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


# --------------------------------------------------------------------------- scaling helpers


def test_fmt_fixed_writes_what_python_writes():
    from compliance.rules.checks.common import fmt_fixed, fmt_general

    rng = np.random.default_rng(7)
    edge = [0.0, -0.0, -0.04, 0.05, 0.25, 2.675, 1.005, 999.95, -999.95, 1e15, 1e20, 0.5, 2.5]
    values = np.concatenate([rng.normal(0, 1e5, 2000), rng.normal(0, 5, 2000), edge])
    values = np.concatenate([values, [np.nan, np.inf, -np.inf], np.round(values[:500], 2)])
    for decimals in (0, 1, 2):
        for thousands in (True, False):
            spec = f"{',' if thousands else ''}.{decimals}f"
            want = [format(v, spec) for v in values.tolist()]
            assert fmt_fixed(values, decimals, thousands=thousands).tolist() == want
    whole = np.array([3.0, 18.0, 12.5, 1e7, -2.0, np.nan])
    assert fmt_general(whole).tolist() == [format(v, "g") for v in whole.tolist()]


def test_farthest_distance_equals_sampling_every_edge():
    """Non-convex targets (L shapes, rings) and extra boundaries: the same maximum."""
    rng = np.random.default_rng(3)
    centres = rng.random((150, 2)) * 4000
    parcels = shapely.buffer(shapely.points(centres), rng.random(150) * 150 + 20, quad_segs=2)
    t = rng.random((30, 2)) * 4000
    ells = shapely.difference(
        shapely.buffer(shapely.points(t), 120),
        shapely.box(t[:, 0], t[:, 1], t[:, 0] + 200, t[:, 1] + 200),
    )
    rings = shapely.difference(
        shapely.buffer(shapely.points(t + 300), 200), shapely.buffer(shapely.points(t + 300), 100)
    )
    targets = gpd.GeoSeries(np.concatenate([ells, rings]), crs=CRS)
    extra = np.where(
        rng.random(150) < 0.5,
        shapely.difference(parcels, shapely.buffer(shapely.points(centres), 30)),
        None,
    )
    got = farthest_distance_m(
        gpd.GeoSeries(parcels, crs=CRS), targets, spacing_m=7.0, extra=gpd.GeoSeries(extra, crs=CRS)
    )
    # every vertex and every point every 7 m along every edge, as sampled before
    rings_all = shapely.segmentize(shapely.boundary(np.concatenate([parcels, extra])), 7.0)
    xy, owner = shapely.get_coordinates(rings_all, return_index=True)
    (_, _), dist = shapely.STRtree(targets.to_numpy()).query_nearest(
        shapely.points(xy), return_distance=True, all_matches=False
    )
    want = pd.Series(dist).groupby(owner % 150).max().to_numpy()
    np.testing.assert_allclose(got.to_numpy(), want, rtol=0, atol=1e-9)


def test_local_unions_equal_the_global_union():
    from compliance.rules.measures.geometry import union_area_inside_m2, union_by_group, union_local
    from compliance.rules.measures.green import uncovered_parts

    rng = np.random.default_rng(11)
    discs = shapely.buffer(shapely.points(rng.random((400, 2)) * 3000), rng.random(400) * 120 + 10)
    groups = rng.integers(0, 50, 400)
    keys, unions = union_by_group(discs, groups)
    for k, u in zip(keys, unions, strict=True):  # 50 groups
        alone = shapely.union_all(discs[groups == k])
        assert shapely.area(shapely.symmetric_difference(u, alone)) < 1e-6
    zones = np.array([box(0, 0, 1500, 1500), box(1000, 1000, 3000, 3000)])
    whole = shapely.union_all(discs)
    np.testing.assert_allclose(
        union_area_inside_m2(discs, zones),
        shapely.area(shapely.intersection(zones, whole)),
        atol=1e-6,
    )
    assert abs(shapely.area(union_local(discs)) - shapely.area(whole)) < 1e-6
    parcels = shapely.box(
        rng.random(100) * 2800,
        rng.random(100) * 2800,
        rng.random(100) * 2800 + 200,
        rng.random(100) * 2800 + 200,
    )
    np.testing.assert_allclose(
        shapely.area(uncovered_parts(parcels, discs)),
        shapely.area(shapely.difference(parcels, whole)),
        atol=1e-6,
    )
