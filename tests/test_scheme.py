"""Reading schemes: layouts, repair of invalid geometries, one measuring CRS."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import DEMO
from shapely.geometry import LineString, Polygon, box

import compliance
from compliance.cli import main
from compliance.reading.landuse import green_kind, is_construction, is_residential, normalize_codes

BOWTIE = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])


def test_gpkg_layers_and_feature_ids():
    scheme = compliance.read_scheme(DEMO)
    assert set(scheme.layers) == {
        "boundary",
        "clusters",
        "corridors",
        "parcels",
        "green_spaces",
        "roads",
        "squares",
        "buildings",
        "districts",
        "communities",
        "waterlogging_points",
    }
    assert scheme.crs.to_epsg() == 4547
    assert scheme.layers["clusters"]["feature_id"].tolist() == ["N", "S", "E", "W"]
    assert scheme.notes == []


def test_folder_of_files_in_different_crs(tmp_path):
    x0, y0 = 520_000, 3_950_000
    squares = gpd.GeoDataFrame(
        {"hard_area_m2": [None]}, geometry=[box(x0, y0, x0 + 200, y0 + 150)], crs="EPSG:4547"
    )
    squares.to_crs(4326).to_file(tmp_path / "squares.geojson")
    roads = gpd.GeoDataFrame(
        {"red_line_width_m": [45.0]},
        geometry=[LineString([(x0, y0 + 500), (x0 + 600, y0 + 500)])],
        crs="EPSG:4547",
    )
    with pytest.warns(RuntimeWarning, match="red_line_w"):  # dBase names are cut to 10
        roads.to_crs(32650).to_file(tmp_path / "roads.shp")
    (tmp_path / "notes.txt").write_text("not a layer")
    scheme = compliance.read_scheme(tmp_path)
    assert scheme.crs.to_epsg() == 4547  # the Gauss-Krüger zone of the data's centre
    assert sorted(scheme.layers) == ["roads", "squares"]
    assert any("reprojected from EPSG:4326" in n for n in scheme.notes)
    assert any("reprojected from EPSG:32650" in n for n in scheme.notes)
    result = compliance.evaluate(scheme, compliance.load_profile("national"))
    f = result.findings.set_index("rule_id")
    assert f.loc["SQ01", "measured"] == pytest.approx(3.0, abs=1e-4)
    assert f.loc["RD01", "measured"] == pytest.approx(45.0, abs=0.01)


def test_invalid_geometry_repaired_and_counted(tmp_path):
    x0, y0 = 520_000, 3_950_000
    bowtie = Polygon([(x0 + x, y0 + y) for x, y in BOWTIE.exterior.coords])
    gdf = gpd.GeoDataFrame(
        {"name": ["蝴蝶广场", "空"]}, geometry=[bowtie, Polygon()], crs="EPSG:4547"
    )
    gdf.to_file(tmp_path / "squares.gpkg")
    scheme = compliance.read_scheme(tmp_path)
    assert scheme.repaired == {"squares": 1}
    assert scheme.dropped_empty == {"squares": 1}
    assert scheme.layers["squares"].is_valid.all()
    assert scheme.layers["squares"].area.iloc[0] == pytest.approx(5000.0)
    where = tmp_path / "squares.gpkg"
    assert scheme.warnings == [
        f"{where}: 1 invalid geometries repaired with make_valid (first: feature 1, "
        f"Self-intersection[{x0 + 50} {y0 + 50}]); 几何无效已修复",
        f"{where}: 1 null or empty geometries dropped (first: feature 2); 空几何已忽略",
    ]
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["check", str(tmp_path), "--out", str(out), "--no-map"])
    assert res.exit_code == 0


def test_land_use_codes():
    codes = pd.Series(
        [
            "0701",
            701,
            "070102",
            "R2",
            "r",
            "1401",
            "G1",
            "1402",
            "G2",
            "1403",
            "0901",
            "B1",
            "0301",
            "E1",
            None,
            "701.0",
        ]
    )
    assert normalize_codes(codes).tolist()[:3] == ["0701", "0701", "070102"]
    assert is_residential(codes).tolist() == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert green_kind(codes).tolist()[5:10] == ["park", "park", "protective", "protective", pd.NA]
    assert is_construction(codes).tolist()[10:15] == [True, True, False, False, False]


def test_a_scheme_built_in_python_refuses_degrees_and_mixed_crs():
    import geopandas as gpd
    import pytest
    from shapely import box

    import compliance

    plaza = gpd.GeoDataFrame({"hard_area_m2": [None]}, geometry=[box(116, 39, 116.02, 39.02)])
    with pytest.raises(compliance.InputError, match=r"found EPSG:4326 .*geographic \(degrees\)"):
        compliance.Scheme(layers={"squares": plaza.set_crs(4326)}, crs="EPSG:4326")
    with pytest.raises(compliance.InputError, match=r"in US survey foot"):
        compliance.Scheme(layers={}, crs="EPSG:2249")
    with pytest.raises(compliance.InputError, match=r"layer 'squares' is in EPSG:4326"):
        compliance.Scheme(layers={"squares": plaza.set_crs(4326)}, crs="EPSG:4547")
    metric = plaza.set_crs(4326).to_crs(4547)
    assert compliance.Scheme(layers={"squares": metric}, crs=4547).crs.to_epsg() == 4547
