"""Tests of the OpenStreetMap importer on the real sample extracts.

``sample_data/jiangxi_guixi/osm.gpkg`` (贵溪, county town) and
``sample_data/nanjing_xinjiekou/osm.gpkg`` (南京新街口) are copies of the
extracts in ``shared/data``; © OpenStreetMap contributors, ODbL 1.0 (see the
``SOURCE.md`` beside each).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from helpers import evaluate_rule, make_rule
from shapely import LineString, box

import compliance
from compliance.cli import main
from compliance.errors import InputError
from compliance.reading.osm import (
    DUAL_CARRIAGEWAY_CLASSES,
    ROAD_CLASS_RED_LINE_M,
    admin_kind,
    boundary_from_extent,
    estimate_red_line_width_m,
    facility_kinds,
    green_spaces_from_green,
    import_osm,
    parcels_from_landuse,
    parse_metres,
    squares_from_squares,
)

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
GUIXI = SAMPLES / "jiangxi_guixi" / "osm.gpkg"
NANJING = SAMPLES / "nanjing_xinjiekou" / "osm.gpkg"
SCHEME_LAYERS = (
    "boundary",
    "parcels",
    "roads",
    "squares",
    "green_spaces",
    "buildings",
    "facilities",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def layer_names(path: Path) -> set[str]:
    return {str(n) for n in pyogrio.list_layers(path)[:, 0]}


@pytest.fixture(scope="module")
def guixi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Guixi imported once: (scheme path, source hash taken before the import)."""
    before = sha256(GUIXI)
    dest = tmp_path_factory.mktemp("guixi") / "scheme.gpkg"
    assert import_osm(GUIXI, dest) == dest
    return dest, before


@pytest.fixture(scope="module")
def nanjing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("nanjing") / "scheme.gpkg"
    return import_osm(NANJING, dest)


@pytest.fixture(scope="module")
def guixi_roads(guixi: tuple[Path, str]) -> gpd.GeoDataFrame:
    return gpd.read_file(guixi[0], layer="roads")


# --------------------------------------------------------------------------- layers


def test_layers_present_and_absent(guixi: tuple[Path, str]) -> None:
    names = layer_names(guixi[0])
    assert names == {"boundary", "parcels", "roads", "green_spaces", "buildings", "facilities"}
    assert "clusters" not in names and "corridors" not in names
    assert "squares" not in names  # Guixi's extract maps no plaza
    for name in names:
        gdf = gpd.read_file(guixi[0], layer=name)
        assert gdf.crs.to_epsg() == 4326
        assert not (gdf.geometry.isna() | gdf.geometry.is_empty).any()


def test_nanjing_has_squares_without_hard_area(nanjing: Path) -> None:
    assert layer_names(nanjing) == set(SCHEME_LAYERS)
    squares = gpd.read_file(nanjing, layer="squares")
    # the three place=square plazas; 正洪街 (highway=pedestrian) is a pedestrian street
    assert sorted(squares["name"]) == ["大行宫市民广场", "新街口广场", "校训广场"]
    assert squares["hard_area_m2"].isna().all()


# --------------------------------------------------------------------------- roads


def test_secondary_without_lanes_gets_class_estimate(guixi_roads: gpd.GeoDataFrame) -> None:
    plain = guixi_roads[(guixi_roads["road_class"] == "secondary") & guixi_roads["lanes"].isna()]
    assert len(plain) == 34
    assert (plain["red_line_width_m"] == 36.0).all()
    assert (plain["width_source"] == "estimated:class").all()
    row = guixi_roads[guixi_roads["osm_id"] == 313248828].iloc[0]  # 水厂路
    assert row["road_class"] == "secondary" and pd.isna(row["lanes"])
    assert row["red_line_width_m"] == 36.0
    assert row["width_source"] == "estimated:class"


def test_lanes_give_the_lane_formula(guixi_roads: gpd.GeoDataFrame) -> None:
    laned = guixi_roads[guixi_roads["lanes"].notna()]
    assert len(laned) == 18
    lanes = laned["lanes"].astype(int).to_numpy()
    dual = (laned["oneway"] == "yes").to_numpy() & laned["road_class"].isin(
        DUAL_CARRIAGEWAY_CLASSES
    ).to_numpy()
    total = lanes * np.where(dual, 2, 1)
    expected = total * 3.5 + 2 * 5.0 + np.where(total >= 4, 2.0, 0.0)
    np.testing.assert_array_equal(laned["red_line_width_m"].to_numpy(), expected)
    assert (laned["width_source"] == "estimated:lanes").all()
    # way 313248139: secondary, lanes=2, oneway=yes → one carriageway of a
    # 4-lane dual carriageway: 4 × 3.5 + 10 + 2 = 26 m
    row = guixi_roads[guixi_roads["osm_id"] == 313248139].iloc[0]
    assert (row["road_class"], row["lanes"], row["oneway"]) == ("secondary", "2", "yes")
    assert row["red_line_width_m"] == 26.0


def test_non_vehicular_ways_have_no_width(guixi_roads: gpd.GeoDataFrame, nanjing: Path) -> None:
    nj = gpd.read_file(nanjing, layer="roads")
    for roads, classes in (
        (nj, ["footway", "steps", "pedestrian"]),
        (guixi_roads, ["construction", "track"]),
    ):
        ways = roads[roads["road_class"].isin(classes)]
        assert set(ways["road_class"]) == set(classes)
        assert ways["red_line_width_m"].isna().all()
        assert (ways["width_source"] == "none").all()
    assert len(nj[nj["road_class"] == "footway"]) == 120
    assert not nj["is_new"].any() and not guixi_roads["is_new"].any()


def test_estimates_from_tags() -> None:
    highway = pd.Series(["primary", "primary", "primary", "tertiary", "footway", "busway", None])
    width = pd.Series(["12 m", "40'", None, None, "3", None, None])
    lanes = pd.Series([None, "3", "2", "4", None, "2", None])
    oneway = pd.Series([None, "yes", "-1", "yes", None, None, None])
    width_m, source = estimate_red_line_width_m(highway, width, lanes, oneway)
    np.testing.assert_array_equal(
        width_m.to_numpy(),
        [12.0 + 10, 6 * 3.5 + 12, 4 * 3.5 + 12, 4 * 3.5 + 12, np.nan, np.nan, np.nan],
    )
    assert source.tolist() == [
        "estimated:osm-width",  # OSM width is the carriageway: + 2 x 5 m sidewalks
        "estimated:lanes",
        "estimated:lanes",
        "estimated:lanes",  # tertiary is not doubled: lanes=4 are all its lanes
        "none",
        "none",
        "none",
    ]
    assert ROAD_CLASS_RED_LINE_M["secondary"] == 36.0
    parsed = parse_metres(pd.Series(["12", "12 m", "12.5", "12m", "0", "3;4", "12,5", "ft"]))
    np.testing.assert_array_equal(
        parsed.to_numpy(), [12.0, 12.0, 12.5, 12.0, np.nan, np.nan, np.nan, np.nan]
    )


# --------------------------------------------------------------------------- other layers


def test_residential_landuse_becomes_0701(nanjing: Path) -> None:
    # Guixi's 4 landuse polygons are railway and industrial: Nanjing has residential.
    parcels = gpd.read_file(nanjing, layer="parcels")
    res = parcels[parcels["osm_landuse"] == "residential"]
    assert len(res) == 11
    assert (res["land_use"] == "0701").all()
    assert (parcels.loc[parcels["osm_landuse"] == "grass", "land_use"].isna()).all()
    assert "population" not in parcels.columns


def test_guixi_landuse_codes(guixi: tuple[Path, str]) -> None:
    parcels = gpd.read_file(guixi[0], layer="parcels")
    codes = dict(zip(parcels["osm_landuse"], parcels["land_use"], strict=True))
    assert codes == {"railway": "1201", "industrial": "1001"}


def test_park_green_becomes_park(guixi: tuple[Path, str], nanjing: Path) -> None:
    gs = gpd.read_file(guixi[0], layer="green_spaces")
    assert gs["kind"].tolist() == ["park"]
    source = gpd.read_file(NANJING, layer="green")
    nj = gpd.read_file(nanjing, layer="green_spaces")
    green = source[source["leisure"].fillna("") != "playground"]  # one playground: not green
    assert len(source) - len(green) == 1
    assert (nj["kind"] == np.where(green["is_park"], "park", "green")).all()
    assert (nj["kind"] == "park").sum() == 6


def test_buildings_floors_height_use(nanjing: Path) -> None:
    b = gpd.read_file(nanjing, layer="buildings")
    assert len(b) == 1244
    assert b["floors"].notna().sum() == 130
    assert b["height_m"].max() == 337.5
    assert b["height_m"].min() > 0  # a tagged height of 0 is not a height
    assert not (b["use"] == "yes").any()
    assert (b["use"] == "residential").sum() == 74
    assert not b["is_new"].any()


def test_boundary_is_the_extent(guixi: tuple[Path, str]) -> None:
    boundary = gpd.read_file(guixi[0], layer="boundary")
    extent = gpd.read_file(GUIXI, layer="extent")
    # 贵溪市 (adcode 360681) is a county-level city: county-town clauses apply
    assert boundary["kind"].tolist() == ["county"]
    assert boundary["admin"].tolist() == ["鹰潭市贵溪市"]
    assert boundary["study_extent"].tolist() == ["yes"]
    assert boundary["population"].isna().all()
    metric = extent.estimate_utm_crs()
    b_km2 = boundary.to_crs(metric).area.sum() / 1e6
    e_km2 = extent.to_crs(metric).area.sum() / 1e6
    assert abs(b_km2 - e_km2) <= 0.01 * e_km2
    assert abs(e_km2 - 28.383) < 0.05  # not the 2475 km² county polygon


def test_boundary_drops_centre_population(nanjing: Path) -> None:
    assert gpd.read_file(NANJING, layer="centre")["population"].iloc[0] > 0
    assert gpd.read_file(nanjing, layer="boundary")["population"].isna().all()


# --------------------------------------------------------------------------- facilities


def test_nanjing_facilities_kinds_and_counts(nanjing: Path) -> None:
    fac = gpd.read_file(nanjing, layer="facilities")
    assert fac.crs.to_epsg() == 4326
    assert fac.groupby(["kind", "osm_tag"]).size().to_dict() == {
        ("clinic", "amenity=clinic"): 1,  # 秦淮区妇幼保健所
        ("clinic", "amenity=hospital"): 5,  # 2 areas + 3 nodes (八一医院 is both)
        ("market", "amenity=marketplace"): 2,  # 香铺营集贸市场, 科巷菜市场
        ("school", "amenity=school"): 17,  # 13 areas + 4 nodes
    }
    assert fac.geom_type.value_counts().to_dict() == {"MultiPolygon": 17, "Point": 8}
    assert (fac["osm_amenity"] == fac["osm_tag"].str.removeprefix("amenity=")).all()
    row = fac[fac["osm_id"] == 322654943].iloc[0]
    assert (row["kind"], row["name"], row["osm_type"]) == ("market", "香铺营集贸市场", "way")
    # unmapped amenities are dropped: 52 areas + 158 nodes in the source, 25 kept
    assert not fac["osm_amenity"].isin(["university", "pharmacy", "townhall", "parking"]).any()


def test_guixi_facilities_are_its_schools(guixi: tuple[Path, str]) -> None:
    fac = gpd.read_file(guixi[0], layer="facilities")
    assert sorted(fac["name"]) == ["贵溪五中", "贵溪市实验中学", "贵溪市第九中学", "贵溪市第四中学"]
    assert (fac["kind"] == "school").all()  # the 2 townhalls and the parking are dropped


def test_facility_kinds_from_tags() -> None:
    tags = [
        '{"amenity": "social_facility", "social_facility": "group_home", '
        '"social_facility:for": "senior"}',
        '{"amenity": "social_facility", "social_facility": "nursing_home"}',
        '{"amenity": "social_facility", "social_facility": "food_bank"}',
        '{"amenity": "kindergarten"}',
        '{"amenity": "pharmacy", "healthcare": "pharmacy"}',
        '{"amenity": "community_centre", "leisure": "pitch"}',
        '{"shop": "supermarket"}',
        "{}",
        None,
    ]
    src = gpd.GeoDataFrame(
        {
            "amenity": [None, None, None, None, None, None, None, None, "doctors"],
            "healthcare": [None, None, None, None, None, None, None, "centre", None],
            "leisure": [None, None, None, None, None, None, None, None, None],
            "tags": tags,
        },
        geometry=gpd.points_from_xy(range(9), range(9)),
        crs="EPSG:4326",
    )
    kind, tag = facility_kinds(src)
    assert kind.tolist() == [
        "elderly_care",
        "elderly_care",
        pd.NA,
        "kindergarten",
        pd.NA,
        "community_centre",  # amenity comes before leisure
        "market",
        "clinic",
        "clinic",
    ]
    assert tag.tolist() == [
        "social_facility:for=senior",
        "social_facility=nursing_home",
        pd.NA,
        "amenity=kindergarten",
        pd.NA,
        "amenity=community_centre",
        "shop=supermarket",
        "healthcare=centre",
        "amenity=doctors",
    ]


def test_nanjing_life_circle_from_imported_facilities(nanjing: Path) -> None:
    rule = make_rule(
        "LC01",
        "life_circle",
        layer="parcels",
        limit=1000.0,
        unit="m",
        params={"kinds": ["school", "clinic", "market"]},
    )
    f = evaluate_rule(compliance.read_scheme(nanjing), rule).findings.set_index("feature_id")
    assert len(f) == 11  # the 11 residential parcels
    assert f["status"].value_counts().to_dict() == {"fail": 6, "pass": 5}
    assert f.loc["7", "measured"] == pytest.approx(968.1, abs=0.05)
    assert "farthest: clinic at 968.1 m" in f.loc["7", "message_en"]


# --------------------------------------------------------------------------- files


def test_source_is_unchanged(guixi: tuple[Path, str]) -> None:
    assert sha256(GUIXI) == guixi[1]


def test_second_import_without_overwrite_raises(tmp_path: Path) -> None:
    dest = tmp_path / "scheme.gpkg"
    import_osm(GUIXI, dest)
    before = sha256(dest)
    with pytest.raises(InputError, match="already exists"):
        import_osm(GUIXI, dest)
    assert sha256(dest) == before
    import_osm(GUIXI, dest, overwrite=True)
    assert layer_names(dest) == {
        "boundary",
        "parcels",
        "roads",
        "green_spaces",
        "buildings",
        "facilities",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["scheme.gpkg"]  # no temporary left


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file") as err:
        import_osm(tmp_path / "nowhere.gpkg", tmp_path / "scheme.gpkg")
    assert "nowhere.gpkg" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "scheme.gpkg").exists()


def test_unreadable_source_raises(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"not a geopackage")
    with pytest.raises(InputError, match=r"broken\.gpkg"):
        import_osm(bad, tmp_path / "scheme.gpkg")


def test_dest_is_source_raises() -> None:
    with pytest.raises(InputError):
        import_osm(GUIXI, GUIXI, overwrite=True)


def test_cli_import(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "scheme.gpkg"
    runner = CliRunner()
    ok = runner.invoke(main, ["import-osm", str(GUIXI), str(dest)])
    assert ok.exit_code == 0, ok.output
    assert f"wrote {dest}" in ok.output
    again = runner.invoke(main, ["import-osm", str(GUIXI), str(dest)])
    assert again.exit_code == 2
    assert "already exists" in again.output


@pytest.mark.parametrize("place", ["jiangxi_guixi", "nanjing_xinjiekou"])
def test_sample_scheme_matches_conversion(place: str, tmp_path: Path) -> None:
    committed = SAMPLES / place / "scheme.gpkg"
    fresh = import_osm(SAMPLES / place / "osm.gpkg", tmp_path / "scheme.gpkg")
    assert layer_names(committed) == layer_names(fresh)
    for name in layer_names(fresh):
        assert_geodataframe_equal(
            gpd.read_file(committed, layer=name), gpd.read_file(fresh, layer=name)
        )


# --------------------------------------------------------------------------- end to end


def test_check_imported_nanjing(nanjing: Path) -> None:
    result = compliance.check(nanjing, "national")
    summary = result.summary.set_index("rule_id")
    status = summary["status"]
    # 秦淮区、玄武区、鼓楼区 are districts of Nanjing: the county-town clauses do not apply
    assert gpd.read_file(nanjing, layer="boundary")["kind"].tolist() == ["city"]
    assert status["RD01"] == status["SQ01"] == "not_evaluated"
    assert "kind = city" in summary.loc["RD01", "note"]
    assert not any("by assumption" in n for n in result.notes)
    assert status["CL01"] == "not_evaluated"
    assert status["EC01"] == "not_evaluated"


# --------------------------------------------------------------------------- county or city


def test_admin_kind_from_division_codes_and_names() -> None:
    admin = pd.DataFrame(
        {
            "adcode": ["320102", "360681", "410621", "152921", None, None, None],
            "district": ["玄武区", "贵溪市", "浚县", "阿拉善左旗", "某某区", "某某县", "某某旗"],
        }
    )
    assert admin_kind(admin).tolist() == [
        "city",  # 01–20: 市辖区
        "county",  # 81–99: 县级市
        "county",  # 21–80: 县
        "county",  # a banner (旗)
        "city",
        "county",
        "county",
    ]


def _extent_and_admin(codes: list[str]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    extent = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(118.0, 32.0, 118.02, 32.02)], crs=4326)
    halves = [box(117.9, 31.9, 118.01, 32.1), box(118.01, 31.9, 118.2, 32.1)]
    admin = gpd.GeoDataFrame(
        {"adcode": codes, "city": ["某市"] * len(codes), "district": ["甲", "乙"][: len(codes)]},
        geometry=halves[: len(codes)],
        crs=4326,
    )
    return extent, admin


def test_extent_over_a_district_and_a_county_is_unknown() -> None:
    extent, admin = _extent_and_admin(["320102", "320121"])
    b = boundary_from_extent(extent, admin)
    assert b["kind"].tolist() == ["extent"]
    assert b["admin"].tolist() == ["某市甲、某市乙"]
    extent, admin = _extent_and_admin(["320102", "320104"])
    assert boundary_from_extent(extent, admin)["kind"].tolist() == ["city"]
    assert boundary_from_extent(extent, None)["kind"].tolist() == ["extent"]


def test_unknown_status_says_county_rules_were_assumed(tmp_path: Path) -> None:
    extent, admin = _extent_and_admin(["320102", "320121"])
    boundary = boundary_from_extent(extent, admin)
    roads = gpd.GeoDataFrame(
        {"road_class": ["primary"], "red_line_width_m": [50.0]},
        geometry=[LineString([(118.001, 32.01), (118.019, 32.01)])],
        crs=4326,
    )
    path = tmp_path / "s.gpkg"
    boundary.to_file(path, layer="boundary")
    roads.to_file(path, layer="roads")
    result = compliance.check(path, "national")
    s = result.summary.set_index("rule_id")
    assert s.loc["RD01", "status"] == "fail"
    assert "applied by assumption" in s.loc["RD01", "note"]
    assert "按县城假定适用" in s.loc["RD01", "note_zh"]
    assert "applied by assumption" not in s.loc["GR01", "note"]
    assert any("county-town rules (RD01, SQ01) applied by assumption" in n for n in result.notes)


def test_osm_green_and_plaza_mapping() -> None:
    green = gpd.GeoDataFrame(
        {
            "leisure": ["park", "playground", "pitch", None, None],
            "landuse": [None, None, None, "greenfield", "park"],
            "is_park": [True, False, False, False, False],
        },
        geometry=[box(0, 0, 1, 1)] * 5,
        crs=4326,
    )
    gs = green_spaces_from_green(green)
    assert gs["kind"].tolist() == ["park", "park"]  # leisure=park and landuse=park
    squares = gpd.GeoDataFrame(
        {
            "place": ["square", None, None],
            "highway": [None, "pedestrian", "pedestrian"],
            "name": ["新街口广场", "正洪街", "理学院北广场"],
        },
        geometry=[box(0, 0, 1, 1)] * 3,
        crs=4326,
    )
    assert squares_from_squares(squares)["name"].tolist() == ["新街口广场", "理学院北广场"]
    landuse = gpd.GeoDataFrame({"landuse": ["park"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    assert parcels_from_landuse(landuse)["land_use"].tolist() == ["1401"]
