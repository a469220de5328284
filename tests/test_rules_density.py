"""Rules CL02 (raster fallback), CL03, RD02, GR04–GR06, PM01, DN01 and DN02.

Schemes are drawn in memory as axis-aligned boxes and lines in local metres
from (X0, Y0), EPSG:4547, so areas and lengths are exact.  Population rasters
are ``sample_data/rasters/demo_population.tif`` (80 persons per 100 m cell
over cluster S of the demo, 125 over N; see its README) or tiny GeoTIFFs
written into ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
from affine import Affine
from helpers import (
    GK,
    ROOT,
    X0,
    Y0,
    by_id,
    evaluate_rule,
    layer,
    line,
    make_rule,
    make_scheme,
    poly,
)
from pyproj import CRS

import compliance
from compliance.reading.scheme import RasterInput
from compliance.rules.registry import CHECKS, Evaluation

RASTERS = ROOT / "sample_data" / "rasters"
POP = RASTERS / "demo_population.tif"
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"


# --------------------------------------------------------------------------- helpers


def write_raster(
    path: Path, values: np.ndarray, *, x: float = 0.0, top: float = 1000.0, cell: float = 100.0
) -> Path:
    """A one-band GeoTIFF in EPSG:4547, upper-left corner at local (x, top)."""
    rows, cols = values.shape
    nodata = 255 if values.dtype == np.uint8 else -1.0
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=values.dtype,
        crs=GK,
        transform=Affine(cell, 0.0, X0 + x, 0.0, -cell, Y0 + top),
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def with_rasters(scheme: compliance.Scheme, **paths: Path) -> compliance.Scheme:
    """The scheme with raster inputs by role, as read_scheme(rasters=...) gives them."""
    for role, path in paths.items():
        with rasterio.open(path) as src:
            crs = CRS.from_user_input(src.crs.to_wkt())
            nodata = src.nodata
        scheme.rasters[role] = RasterInput(role=role, path=path, crs=crs, nodata=nodata)
    return scheme


def evaluate(scheme: compliance.Scheme, rule: compliance.Rule) -> Evaluation:
    """The check's own evaluation, without the engine's wording."""
    check = CHECKS[rule.measure]
    return check.fn(scheme, rule, check.validated_params(rule))


def rows(scheme: compliance.Scheme, rule: compliance.Rule) -> dict[str, dict]:
    ev = evaluate(scheme, rule)
    assert ev.rows is not None, ev.not_evaluated
    return {r["feature_id"]: r for r in ev.rows.to_dict("records")}


def not_evaluated_reason(scheme: compliance.Scheme, rule: compliance.Rule) -> str:
    ev = evaluate(scheme, rule)
    assert ev.rows is None
    assert ev.not_evaluated and ev.not_evaluated_zh
    return ev.not_evaluated


def cl02() -> compliance.Rule:
    return make_rule("CL02", "cluster_density", layer="clusters", limit=10_000, unit="persons/km2")


def cl03(**params: object) -> compliance.Rule:
    return make_rule(
        "CL03", "local_density", layer="parcels", limit=15_000, unit="persons/km2", params=params
    )


def rd02(**params: object) -> compliance.Rule:
    return make_rule(
        "RD02", "road_density", layer="roads", comparison=">", limit=8, unit="km/km2", params=params
    )


def gr04(**params: object) -> compliance.Rule:
    return make_rule(
        "GR04", "green_ratio", layer="boundary", comparison=">=", limit=40, unit="%", params=params
    )


def gr05() -> compliance.Rule:
    return make_rule(
        "GR05", "park_per_capita", layer="boundary", comparison=">=", limit=15, unit="m2/person"
    )


def gr06() -> compliance.Rule:
    return make_rule(
        "GR06",
        "greenway_per_capita",
        layer="greenways",
        comparison=">",
        limit=3.5,
        unit="km/10k persons",
    )


def pm01() -> compliance.Rule:
    return make_rule(
        "PM01", "permeable_share", layer="boundary", comparison=">=", limit=40, unit="%"
    )


def dn01() -> compliance.Rule:
    return make_rule(
        "DN01",
        "population_density",
        layer="boundary",
        comparison="between",
        limit_low=6_000,
        limit=10_000,
        unit="persons/km2",
        params={"zone_types": None},  # every boundary polygon: the zone filter has its cases
    )


def dn02(**fields: object) -> compliance.Rule:
    return make_rule(
        "DN02", "floor_area_ratio", **{"layer": "boundary", "limit": 0.8, "unit": "ratio", **fields}
    )


# --------------------------------------------------------------------------- CL02


def demo_clusters(**attrs: object) -> gpd.GeoDataFrame:
    """The demo's clusters N, S, E, W (local metres as in make_demo.py)."""
    return layer(
        poly("N", 0, 6150, 8000, 13150, **attrs),
        poly("S", 0, 0, 5000, 6000, **attrs),
        poly("E", 8080, 6150, 12080, 11150, **attrs),
        poly("W", -4150, 0, -150, 6000, **attrs),
    )


def test_cl02_population_from_the_raster_when_no_attribute_exists():
    scheme = with_rasters(make_scheme(clusters=demo_clusters()), population=POP)
    f = by_id(evaluate_rule(scheme, cl02()))
    assert f["N"]["measured"] == pytest.approx(12_500, rel=1e-9)
    assert f["S"]["measured"] == pytest.approx(8_000, rel=1e-9)
    assert f["E"]["measured"] == pytest.approx(7_500, rel=1e-9)
    assert f["W"]["measured"] == pytest.approx(200_000 / 24, rel=1e-6)
    assert [f[c]["status"] for c in "NSEW"] == ["fail", "pass", "pass", "pass"]
    assert "population raster demo_population.tif (EPSG:4547)" in f["N"]["method"]
    assert "人口 700,000 人" in f["N"]["message"]


def test_cl02_attribute_then_parcels_then_raster():
    clusters = demo_clusters()
    clusters["population"] = [560_000.0, np.nan, np.nan, np.nan]  # N: 10,000/km2
    parcels = layer(poly("P", 100, 100, 4900, 5900, population=300_000))  # inside S
    scheme = with_rasters(make_scheme(clusters=clusters, parcels=parcels), population=POP)
    f = by_id(evaluate_rule(scheme, cl02()))
    assert f["N"]["measured"] == pytest.approx(10_000)  # attribute, not the raster's 12,500
    assert f["S"]["measured"] == pytest.approx(10_000)  # parcels, not the raster's 8,000
    assert f["E"]["measured"] == pytest.approx(7_500)  # raster
    assert f["N"]["method"].startswith("cluster 'population' attribute")
    assert f["S"]["method"].startswith("parcels' 'population' apportioned")
    assert f["E"]["method"].startswith("population raster")


def test_cl02_without_any_population_names_the_raster():
    reason = not_evaluated_reason(make_scheme(clusters=demo_clusters()), cl02())
    assert "population raster" in reason and "'population' field" in reason


# --------------------------------------------------------------------------- CL03


def test_cl03_grid_from_the_population_raster():
    scheme = with_rasters(make_scheme(clusters=layer(poly("S", 0, 0, 5000, 6000))), population=POP)
    result = evaluate_rule(scheme, cl03())
    f = by_id(result)
    assert len(f) == 30  # 5 × 6 cells of 1 km
    assert {round(r["measured"], 6) for r in f.values()} == {8_000.0}
    assert f["520000,3950000"]["status"] == "pass"
    assert f["524000,3955000"]["geometry"].area == pytest.approx(1e6)
    assert "population raster demo_population.tif" in f["520000,3950000"]["method"]
    assert "人口由人口栅格按像元覆盖比例汇总" in f["520000,3950000"]["message"]


def test_cl03_grid_fails_the_dense_cell(tmp_path):
    values = np.full((10, 20), 100.0, dtype="float32")
    values[:, :10] = 200.0  # 20,000/km2 in the first kilometre
    raster = write_raster(tmp_path / "population.tif", values)
    scheme = with_rasters(
        make_scheme(boundary=layer(poly("b", 0, 0, 2000, 1000))), population=raster
    )
    f = by_id(evaluate_rule(scheme, cl03()))  # no clusters: the grid lies over the boundary
    assert f["520000,3950000"]["measured"] == pytest.approx(20_000)
    assert f["520000,3950000"]["status"] == "fail"
    assert f["521000,3950000"]["measured"] == pytest.approx(10_000)
    assert f["521000,3950000"]["status"] == "pass"
    assert "'boundary'" in f["520000,3950000"]["method"]


def test_cl03_grid_from_parcels_with_partial_cells():
    clusters = layer(poly("A", 0, 0, 1500, 1000), poly("B", 2000, 0, 3000, 1000))
    parcels = layer(
        poly("P1", 0, 0, 500, 1000, population=16_000),  # cell 1: 16,000 in 1 km2
        poly("P2", 1000, 0, 1500, 1000, population=3_000),  # cell 2: half inside
    )
    result = evaluate_rule(make_scheme(clusters=clusters, parcels=parcels), cl03())
    f = by_id(result)
    assert f["520000,3950000"]["measured"] == pytest.approx(16_000)
    assert f["520000,3950000"]["status"] == "fail"
    assert f["521000,3950000"]["measured"] == pytest.approx(6_000)  # 3,000 ÷ 0.5 km2
    assert f["521000,3950000"]["geometry"].area == pytest.approx(500_000)
    assert "522000,3950000" not in f  # cluster B: no parcel there, no raster
    s = result.summary.iloc[0]
    assert s["skipped"] == 1 and "without population data" in s["note"]

    stricter = evaluate_rule(
        make_scheme(clusters=clusters, parcels=parcels), cl03(min_cell_share=0.6)
    )
    assert "521000,3950000" not in by_id(stricter)
    assert "less than 60% inside" in stricter.summary.iloc[0]["note"]


def test_cl03_parcel_method():
    parcels = layer(
        poly("P1", 0, 0, 500, 1000, population=10_000),
        poly("P2", 1000, 0, 1500, 1000, population=3_000),
        poly("P3", 2000, 0, 2500, 1000),
    )
    result = evaluate_rule(make_scheme(parcels=parcels), cl03(method="parcels"))
    f = by_id(result)
    assert (f["P1"]["measured"], f["P1"]["status"]) == (pytest.approx(20_000), "fail")
    assert (f["P2"]["measured"], f["P2"]["status"]) == (pytest.approx(6_000), "pass")
    assert "P3" not in f and result.summary.iloc[0]["skipped"] == 1


def test_cl03_not_evaluated_names_what_is_missing():
    parcels = layer(poly("P", 0, 0, 100, 100, population=10))
    assert "'clusters' or 'boundary'" in not_evaluated_reason(make_scheme(parcels=parcels), cl03())
    no_pop = make_scheme(clusters=layer(poly("A", 0, 0, 1000, 1000)))
    assert "population raster" in not_evaluated_reason(no_pop, cl03())
    assert "'parcels'" in not_evaluated_reason(no_pop, cl03(method="parcels"))


# --------------------------------------------------------------------------- RD02


def km2_boundary() -> gpd.GeoDataFrame:
    return layer(poly("b", 0, 0, 1000, 1000, population=10_000))


def test_rd02_dual_carriageway_counts_once():
    roads = layer(
        line("D1", (0, 500), (1000, 500), road_class="primary", oneway=True),
        line("D2", (1000, 520), (0, 520), road_class="primary", oneway=True),
    )
    f = by_id(evaluate_rule(make_scheme(boundary=km2_boundary(), roads=roads), rd02()))
    assert f["b"]["measured"] == pytest.approx(1.0)
    assert f["b"]["status"] == "fail"
    assert "2 条单向行驶的双幅路分幅沿并行段按一半计" in f["b"]["message"]


def test_rd02_classes_clipping_and_road_land():
    roads = layer(
        line("D1", (0, 500), (1000, 500), road_class="primary", oneway=True),
        line("D2", (1000, 520), (0, 520), road_class="primary", oneway=True),
        line("F", (0, 300), (1000, 300), road_class="footway"),  # not counted
        line("X", (0, 700), (1000, 700)),  # no class: counts
        line("L", (-500, 100), (1500, 100), road_class="Residential "),  # 1 km inside
        line("O", (0, 900), (1000, 900), road_class="residential", oneway=True),  # not dual
        poly("P", 0, 950, 1000, 990, road_class="primary"),  # road land: skipped
    )
    result = evaluate_rule(make_scheme(boundary=km2_boundary(), roads=roads), rd02())
    f = by_id(result)
    assert f["b"]["measured"] == pytest.approx(4.0)
    assert f["b"]["status"] == "fail"
    s = result.summary.iloc[0]
    assert s["skipped"] == 1 and "not centrelines" in s["note"]


def test_rd02_dense_network_passes():
    roads = layer(*(line(f"R{i}", (0, y), (1000, y)) for i, y in enumerate(range(50, 1000, 100))))
    f = by_id(evaluate_rule(make_scheme(boundary=km2_boundary(), roads=roads), rd02()))
    assert (f["b"]["measured"], f["b"]["status"]) == (pytest.approx(10.0), "pass")


def test_rd02_falls_back_to_the_union_of_clusters():
    clusters = layer(poly("A", 0, 0, 1000, 1000), poly("B", 1000, 0, 2000, 1000))
    roads = layer(*(line(f"R{i}", (0, y), (2000, y)) for i, y in enumerate(range(50, 1000, 100))))
    f = by_id(evaluate_rule(make_scheme(clusters=clusters, roads=roads), rd02()))
    assert list(f) == ["*"]
    assert f["*"]["measured"] == pytest.approx(10.0)
    assert "the union of 'clusters'" in f["*"]["method"]


def test_rd02_not_evaluated_names_what_is_missing():
    roads = layer(line("R", (0, 0), (100, 0)))
    assert "'roads'" in not_evaluated_reason(make_scheme(boundary=km2_boundary()), rd02())
    assert "'boundary' layer and no 'clusters'" in not_evaluated_reason(
        make_scheme(roads=roads), rd02()
    )
    land = layer(poly("P", 0, 0, 100, 20))
    assert "no centrelines" in not_evaluated_reason(
        make_scheme(boundary=km2_boundary(), roads=land), rd02()
    )


# --------------------------------------------------------------------------- GR04


def test_gr04_from_green_spaces_and_green_parcels():
    greens = layer(
        poly("P", 0, 0, 200, 1000, kind="park"),  # 20 ha
        poly("G", 150, 0, 250, 1000, kind="green"),  # overlaps P: adds 5 ha
        poly("O", 1000, 0, 1200, 1000, kind="green"),  # outside, touching
    )
    parcels = layer(poly("Q", 500, 0, 650, 1000, land_use="1402"))  # protective, 15 ha
    f = by_id(
        evaluate_rule(
            make_scheme(boundary=km2_boundary(), green_spaces=greens, parcels=parcels), gr04()
        )
    )
    assert (f["b"]["measured"], f["b"]["status"]) == (pytest.approx(40.0), "pass")
    assert "面积 40.0 公顷，范围面积 100.0 公顷" in f["b"]["message"]

    only_park = evaluate_rule(make_scheme(boundary=km2_boundary(), green_spaces=greens), gr04())
    g = by_id(only_park)["b"]
    assert (g["measured"], g["status"]) == (pytest.approx(25.0), "fail")
    parks = by_id(
        evaluate_rule(
            make_scheme(boundary=km2_boundary(), green_spaces=greens), gr04(kinds=["park"])
        )
    )
    assert parks["b"]["measured"] == pytest.approx(20.0)


def test_gr04_from_a_land_cover_raster(tmp_path):
    lc = np.full((10, 10), 50, dtype="uint8")  # built-up
    lc[:, 0:3] = 10  # tree cover, 30 %
    lc[:, 3] = 30  # grassland, 10 %
    lc[:, 4] = 80  # water: not green
    raster = write_raster(tmp_path / "landcover.tif", lc)
    boundary = layer(poly("B1", 0, 0, 1000, 1000), poly("B2", 450, 0, 1000, 1000))
    scheme = with_rasters(make_scheme(boundary=boundary), landcover=raster)
    f = by_id(evaluate_rule(scheme, gr04()))
    assert (f["B1"]["measured"], f["B1"]["status"]) == (pytest.approx(40.0), "pass")
    assert (f["B2"]["measured"], f["B2"]["status"]) == (pytest.approx(0.0), "fail")
    assert "land-cover raster landcover.tif (EPSG:4547)" in f["B1"]["method"]
    assert "ESA WorldCover" in f["B1"]["message"]
    grass = by_id(evaluate_rule(scheme, gr04(landcover_classes=[30])))
    assert grass["B1"]["measured"] == pytest.approx(10.0)


def test_gr04_not_evaluated_names_what_is_missing():
    greens = layer(poly("P", 0, 0, 200, 1000, kind="park"))
    assert "'boundary'" in not_evaluated_reason(make_scheme(green_spaces=greens), gr04())
    reason = not_evaluated_reason(make_scheme(boundary=km2_boundary()), gr04())
    assert "'green_spaces'" in reason and "land-cover raster" in reason


# --------------------------------------------------------------------------- GR05, GR06


def test_gr05_park_per_capita_exact():
    boundary = layer(
        poly("B1", 0, 0, 1000, 1000, population=10_000),
        poly("B2", 2000, 0, 3000, 1000, population=20_000),
    )
    greens = layer(
        poly("P1", 0, 0, 300, 500, kind="park"),  # 15 ha in B1
        poly("P2", 2000, 0, 2300, 500, kind="park"),  # 15 ha in B2
        poly("G", 500, 0, 1000, 1000, kind="green"),  # not a park
    )
    r = rows(make_scheme(boundary=boundary, green_spaces=greens), gr05())
    assert (r["B1"]["measured"], r["B1"]["passed"]) == (pytest.approx(15.0), True)
    assert (r["B2"]["measured"], r["B2"]["passed"]) == (pytest.approx(7.5), False)
    assert "'population' attribute" in r["B1"]["method"]


def test_gr05_population_from_the_raster_or_parcels():
    boundary = layer(poly("S1", 1000, 1000, 2000, 2000))  # inside demo cluster S: 8,000 persons
    greens = layer(poly("P", 1000, 1000, 1400, 1300, kind="park"))  # 12 ha
    scheme = with_rasters(make_scheme(boundary=boundary, green_spaces=greens), population=POP)
    r = rows(scheme, gr05())
    assert (r["S1"]["measured"], r["S1"]["passed"]) == (pytest.approx(15.0), True)
    assert "population raster demo_population.tif" in r["S1"]["method"]
    parcels = layer(poly("R", 1000, 1000, 2000, 2000, population=24_000))
    scheme = with_rasters(
        make_scheme(boundary=boundary, green_spaces=greens, parcels=parcels), population=POP
    )
    r = rows(scheme, gr05())
    assert (r["S1"]["measured"], r["S1"]["passed"]) == (pytest.approx(5.0), False)


def test_gr05_findings_through_the_engine():
    boundary = layer(poly("B", 0, 0, 1000, 1000, population=20_000))
    greens = layer(poly("P", 0, 0, 300, 500, kind="park"))
    f = by_id(evaluate_rule(make_scheme(boundary=boundary, green_spaces=greens), gr05()))
    assert (f["B"]["status"], f["B"]["measured"]) == ("fail", pytest.approx(7.5))


def test_gr05_not_evaluated_names_what_is_missing():
    greens = layer(poly("P", 0, 0, 300, 500, kind="park"))
    reason = not_evaluated_reason(
        make_scheme(boundary=layer(poly("B", 0, 0, 1000, 1000)), green_spaces=greens), gr05()
    )
    assert "population raster" in reason
    assert "'green_spaces'" in not_evaluated_reason(make_scheme(boundary=km2_boundary()), gr05())
    assert "'boundary'" in not_evaluated_reason(make_scheme(green_spaces=greens), gr05())


def test_gr06_greenway_per_10k_persons():
    boundary = layer(
        poly("B1", 0, 0, 2000, 2000, population=10_000),
        poly("B2", 5000, 0, 6000, 1000, population=10_000),
    )
    ways = layer(
        line("W1", (0, 100), (2000, 100)),  # 2 km
        line("W2", (0, 500), (4000, 500)),  # 2 km inside B1
        line("W3", (5000, 500), (6000, 500)),  # 1 km in B2
    )
    r = rows(make_scheme(boundary=boundary, greenways=ways), gr06())
    assert (r["B1"]["measured"], r["B1"]["passed"]) == (pytest.approx(4.0), True)
    assert (r["B2"]["measured"], r["B2"]["passed"]) == (pytest.approx(1.0), False)


def test_gr06_population_from_the_raster_and_missing_inputs():
    boundary = layer(poly("S1", 1000, 1000, 2000, 2000))  # 8,000 persons from the raster
    ways = layer(line("W", (1000, 1500), (2000, 1500)), line("V", (1500, 1000), (1500, 2000)))
    scheme = with_rasters(make_scheme(boundary=boundary, greenways=ways), population=POP)
    r = rows(scheme, gr06())
    assert r["S1"]["measured"] == pytest.approx(2.5)  # 2 km ÷ 8,000 × 10,000
    assert "'greenways'" in not_evaluated_reason(make_scheme(boundary=km2_boundary()), gr06())
    no_pop = make_scheme(boundary=layer(poly("B", 0, 0, 1000, 1000)), greenways=ways)
    assert "population raster" in not_evaluated_reason(no_pop, gr06())


def test_gr06_findings_through_the_engine():
    ways = layer(line("W", (0, 500), (1000, 500)))
    f = by_id(evaluate_rule(make_scheme(boundary=km2_boundary(), greenways=ways), gr06()))
    assert (f["b"]["status"], f["b"]["measured"]) == ("fail", pytest.approx(1.0))


# --------------------------------------------------------------------------- PM01


def pm_boundary() -> gpd.GeoDataFrame:
    return layer(poly("B1", 0, 0, 1000, 1000), poly("B2", 2000, 0, 3000, 1000))


def pm_parcels() -> gpd.GeoDataFrame:
    return layer(
        poly("P1", 0, 0, 100, 100, permeable_area_m2=5_000.0),
        poly("P2", 100, 0, 200, 100, permeable_area_m2=3_000.0),
        poly("P3", 200, 0, 300, 100, permeable_area_m2=np.nan),  # no value: left out
        poly("P4", -50, 200, 50, 300, permeable_area_m2=10_000.0),  # half inside B1
    )


def test_pm01_from_parcels_permeable_area():
    f = by_id(evaluate_rule(make_scheme(boundary=pm_boundary(), parcels=pm_parcels()), pm01()))
    # (5,000 + 3,000 + 5,000) ÷ (10,000 + 10,000 + 5,000)
    assert (f["B1"]["measured"], f["B1"]["status"]) == (pytest.approx(52.0), "pass")
    assert "B2" not in f  # no parcel, no raster: skipped
    assert "permeable_area_m2" in f["B1"]["method"]
    assert "按 3 块有透水面积数据的地块计" in f["B1"]["message"]
    failing = pm_parcels()
    failing["permeable_area_m2"] = [1_000.0, 1_000.0, np.nan, 2_000.0]
    g = by_id(evaluate_rule(make_scheme(boundary=pm_boundary(), parcels=failing), pm01()))
    assert (g["B1"]["measured"], g["B1"]["status"]) == (pytest.approx(12.0), "fail")


@pytest.mark.parametrize(
    ("dtype", "low", "high", "scale"),
    [("float32", 0.2, 0.7, "fraction 0–1"), ("uint8", 20, 70, "percent 0–100")],
)
def test_pm01_from_an_impervious_raster(tmp_path, dtype, low, high, scale):
    values = np.full((10, 30), 255 if dtype == "uint8" else -1.0, dtype=dtype)
    values[:6, :10] = high  # B1: 60 % of cells 70 % sealed, 40 % of cells 20 % sealed
    values[6:, :10] = low
    values[:, 20:] = 0.9 if dtype == "float32" else 90  # B2: 90 % sealed
    raster = write_raster(tmp_path / "impervious.tif", values)
    scheme = with_rasters(make_scheme(boundary=pm_boundary()), impervious=raster)
    f = by_id(evaluate_rule(scheme, pm01()))
    assert (f["B1"]["measured"], f["B1"]["status"]) == (pytest.approx(50.0), "pass")
    assert (f["B2"]["measured"], f["B2"]["status"]) == (pytest.approx(10.0), "fail")
    assert f"values read as {scale}" in f["B1"]["method"]


def test_pm01_parcels_first_then_raster_per_polygon(tmp_path):
    values = np.full((10, 30), 0.9, dtype="float32")
    raster = write_raster(tmp_path / "impervious.tif", values)
    scheme = with_rasters(
        make_scheme(boundary=pm_boundary(), parcels=pm_parcels()), impervious=raster
    )
    f = by_id(evaluate_rule(scheme, pm01()))
    assert f["B1"]["measured"] == pytest.approx(52.0)  # parcels win where they are
    assert f["B2"]["measured"] == pytest.approx(10.0)  # the raster elsewhere
    assert "impervious raster impervious.tif" in f["B2"]["method"]


def test_pm01_from_a_land_cover_raster(tmp_path):
    lc = np.full((10, 30), 50, dtype="uint8")
    lc[:, :4] = 30  # grassland
    lc[:, 4] = 80  # water: permeable
    raster = write_raster(tmp_path / "landcover.tif", lc)
    scheme = with_rasters(make_scheme(boundary=pm_boundary()), landcover=raster)
    f = by_id(evaluate_rule(scheme, pm01()))
    assert (f["B1"]["measured"], f["B1"]["status"]) == (pytest.approx(50.0), "pass")
    assert (f["B2"]["measured"], f["B2"]["status"]) == (pytest.approx(0.0), "fail")


def test_pm01_on_nanjing_with_the_derived_impervious_raster():
    raster = RASTERS / "nanjing_impervious.tif"
    scheme = compliance.read_scheme(NANJING, rasters={"impervious": raster})
    f = evaluate_rule(scheme, pm01()).findings.iloc[0]
    boundary = scheme.layers["boundary"].to_crs(4549)
    with rasterio.open(raster) as src:
        values = src.read(1)
        inside = rasterio.features.geometry_mask(
            boundary.geometry, out_shape=values.shape, transform=src.transform, invert=True
        )
    expected = 100.0 - values[inside & (values != 255)].mean()
    assert f["measured"] == pytest.approx(expected, abs=0.5)
    assert f["status"] == "fail"  # about 7 % permeable where OSM maps the surface
    assert "nanjing_impervious.tif (EPSG:4549)" in f["method"]
    assert "栅格仅覆盖该范围的 42.7%" in f["message"]


def test_pm01_not_evaluated_names_what_is_missing():
    reason = not_evaluated_reason(make_scheme(boundary=pm_boundary()), pm01())
    assert "permeable_area_m2" in reason and "impervious raster" in reason
    assert "land-cover raster" in reason
    assert "'boundary'" in not_evaluated_reason(make_scheme(parcels=pm_parcels()), pm01())


# --------------------------------------------------------------------------- DN01


def test_dn01_between_six_and_ten_thousand():
    boundary = layer(
        poly("B1", 0, 0, 2000, 1000, population=16_000),
        poly("B2", 3000, 0, 4000, 1000, population=12_000),
        poly("B3", 5000, 0, 6000, 1000, population=5_000),
    )
    f = by_id(evaluate_rule(make_scheme(boundary=boundary), dn01()))
    assert (f["B1"]["measured"], f["B1"]["status"]) == (pytest.approx(8_000), "pass")
    assert (f["B2"]["measured"], f["B2"]["status"]) == (pytest.approx(12_000), "fail")
    assert (f["B3"]["measured"], f["B3"]["status"]) == (pytest.approx(5_000), "fail")
    assert "低于下限 6,000" in f["B3"]["message"]


def test_dn01_population_from_the_raster_and_from_parcels():
    boundary = layer(poly("S", 0, 0, 5000, 6000), poly("N", 0, 6150, 8000, 13150))
    scheme = with_rasters(make_scheme(boundary=boundary), population=POP)
    f = by_id(evaluate_rule(scheme, dn01()))
    assert (f["S"]["measured"], f["S"]["status"]) == (pytest.approx(8_000, rel=1e-9), "pass")
    assert (f["N"]["measured"], f["N"]["status"]) == (pytest.approx(12_500, rel=1e-9), "fail")
    assert "人口由人口栅格按像元覆盖比例汇总" in f["S"]["message"]
    parcels = layer(poly("R", 0, 0, 1000, 1000, population=270_000))
    g = by_id(evaluate_rule(make_scheme(boundary=boundary.iloc[:1], parcels=parcels), dn01()))
    assert g["S"]["measured"] == pytest.approx(9_000)


def test_dn01_not_evaluated_names_what_is_missing():
    reason = not_evaluated_reason(make_scheme(boundary=layer(poly("B", 0, 0, 10, 10))), dn01())
    assert "population raster" in reason and "'population' field" in reason
    parcels = layer(poly("R", 0, 0, 1000, 1000, population=1))
    assert "'boundary'" in not_evaluated_reason(make_scheme(parcels=parcels), dn01())


# --------------------------------------------------------------------------- DN02


def dn02_parcels() -> gpd.GeoDataFrame:
    return layer(
        poly("R", 0, 0, 500, 200, land_use="0701"),  # 100,000 m2
        poly("C", 500, 0, 1000, 100, land_use="B1"),  # 50,000 m2
        poly("G", 0, 500, 1000, 1000, land_use="1401"),  # park: not construction land
    )


def dn02_buildings(*extra: dict) -> gpd.GeoDataFrame:
    return layer(
        poly("H1", 10, 10, 60, 60, floor_area_m2=60_000.0),
        poly("H2", 100, 10, 150, 60, floor_area_m2=30_000.0),
        poly("H9", 2000, 0, 2050, 50, floor_area_m2=1e6),  # outside the boundary
        *extra,
    )


def test_dn02_at_most_0_8_and_between_0_6_and_0_8():
    between = dn02(comparison="between", limit_low=0.6, limit=0.8)
    ok = make_scheme(boundary=km2_boundary(), parcels=dn02_parcels(), buildings=dn02_buildings())
    r = rows(ok, dn02())["b"]
    assert (r["measured"], r["passed"]) == (pytest.approx(0.6), True)  # 90,000 ÷ 150,000
    assert rows(ok, between)["b"]["passed"]
    dense = make_scheme(
        boundary=km2_boundary(),
        parcels=dn02_parcels(),
        buildings=dn02_buildings(poly("H4", 200, 10, 250, 60, floor_area_m2=45_000.0)),
    )
    assert (rows(dense, dn02())["b"]["measured"], rows(dense, dn02())["b"]["passed"]) == (
        pytest.approx(0.9),
        False,
    )
    assert not rows(dense, between)["b"]["passed"]
    sparse = make_scheme(
        boundary=km2_boundary(), parcels=dn02_parcels(), buildings=dn02_buildings().iloc[[0, 2]]
    )
    assert rows(sparse, dn02())["b"]["measured"] == pytest.approx(0.4)
    assert rows(sparse, dn02())["b"]["passed"]  # ≤ 0.8
    assert not rows(sparse, between)["b"]["passed"]  # below 0.6


def test_dn02_estimated_floor_area_is_marked():
    buildings = dn02_buildings(
        poly("H5", 200, 10, 250, 60, floors=12.0),  # 2,500 m2 × 12 = 30,000, estimated
        poly("H6", 300, 10, 350, 60, height_m=30.0),  # 10 storeys: 25,000, estimated
        poly("H7", 400, 10, 450, 60),  # nothing known
    )
    scheme = make_scheme(boundary=km2_boundary(), parcels=dn02_parcels(), buildings=buildings)
    r = rows(scheme, dn02())["b"]
    assert r["measured"] == pytest.approx(145_000 / 150_000)
    assert (r["passed"], r["estimated"]) == (False, True)
    assert "2 栋按基底面积×层数估算" in r["detail_zh"]
    assert "1 栋无面积、层数与高度，未计入，比值偏低" in r["detail_zh"]
    ev = evaluate(scheme, dn02())
    assert ev.skipped == 1 and "1 building without floor_area_m2" in ev.skip_reason


def test_dn02_estimated_failure_warns_through_the_engine():
    buildings = dn02_buildings(poly("H5", 200, 10, 250, 60, floors=15.0))  # 37,500 estimated
    scheme = make_scheme(boundary=km2_boundary(), parcels=dn02_parcels(), buildings=buildings)
    f = by_id(evaluate_rule(scheme, dn02()))
    assert (f["b"]["status"], f["b"]["measured"]) == ("warn", pytest.approx(0.85))


def test_dn02_not_evaluated_names_what_is_missing():
    assert "'land_use'" in not_evaluated_reason(
        make_scheme(boundary=km2_boundary(), buildings=dn02_buildings()), dn02()
    )
    assert "'buildings'" in not_evaluated_reason(
        make_scheme(boundary=km2_boundary(), parcels=dn02_parcels()), dn02()
    )
    assert "'boundary'" in not_evaluated_reason(
        make_scheme(parcels=dn02_parcels(), buildings=dn02_buildings()), dn02()
    )
