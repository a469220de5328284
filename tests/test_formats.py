"""What planning offices and designers hand over: File Geodatabases, zips, DXF drawings, folders.

Every test builds its own input from the demo (``sample_data/demo``) in
``tmp_path``: a File Geodatabase written with GDAL's OpenFileGDB driver (roads
as two feature classes in a feature dataset, a field known only by its
Chinese alias), a zip of GBK Shapefiles without ``.cpg``, and a designer's DXF
site plan (ezdxf) in zone-numbered Gauss-Kruger coordinates with Chinese
layer names and text labels.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import ezdxf
import geopandas as gpd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from helpers import DEMO, X0, Y0

import compliance
from compliance.cli import main
from compliance.errors import InputError
from compliance.reading.dxf import zone_crs

pytestmark = [
    pytest.mark.filterwarnings("ignore:Field .* will be written as:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning"),
]

ZONE = 38  # Hebi lies in the 3-degree zone 38 (CM 114E): EPSG:4547 without the zone prefix
ZX0 = ZONE * 1_000_000 + X0  # the demo's origin as a zone-numbered easting


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def digest(path: Path) -> str:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def demo_layers() -> dict[str, gpd.GeoDataFrame]:
    return {n: gpd.read_file(DEMO, layer=n) for n, _ in pyogrio.list_layers(DEMO)}


def split_roads(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Roads as a GIS keeps them: centrelines and road land apart (one geometry type each)."""
    out = dict(layers)
    roads = out.pop("roads")
    lines = roads.geom_type.str.contains("Line")
    out["道路中心线"] = roads[lines]
    out["道路用地"] = roads[~lines]
    return out


def findings_key(result: compliance.Result) -> list[tuple[str, str, str, float]]:
    f = result.findings
    return sorted(
        zip(
            f["rule_id"],
            f["status"],
            f["feature_id"],
            f["measured"].round(6).fillna(-1.0),
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def demo_hebi_result() -> compliance.Result:
    return compliance.check(DEMO, "hebi")


# --------------------------------------------------------------------------- File Geodatabase


def write_gdb(path: Path) -> Path:
    """The demo as a File Geodatabase: 规划 feature dataset, parcels' land use by alias only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, gdf in split_roads(demo_layers()).items():
        opts = {"FEATURE_DATASET": "规划"} if name in ("parcels", "道路中心线", "道路用地") else {}
        if name == "parcels":  # the land-use field named F7, known by its alias 用地用海分类代码
            gdf = gdf.rename(columns={"land_use": "F7"})
            table = pa.table(
                {
                    **{c: gdf[c].to_numpy() for c in gdf.columns if c != "geometry"},
                    "geometry": shapely.to_wkb(gdf.geometry.to_numpy()),
                }
            )
            alias = {b"GDAL:OGR:alternative_name": "用地用海分类代码".encode()}
            fields = [f.with_metadata(alias) if f.name == "F7" else f for f in table.schema]
            fields[-1] = pa.field(
                "geometry", pa.binary(), metadata={b"ARROW:extension:name": b"ogc.wkb"}
            )
            table = table.cast(pa.schema(fields))
            pyogrio.write_arrow(
                table,
                path,
                layer=name,
                driver="OpenFileGDB",
                geometry_name="geometry",
                geometry_type="Polygon",
                crs="EPSG:4547",
                layer_options=opts,
                append=path.exists(),
            )
            continue
        pyogrio.write_dataframe(
            gdf, path, layer=name, driver="OpenFileGDB", layer_options=opts, append=path.exists()
        )
    return path


def test_file_geodatabase_gives_the_geopackage_findings(tmp_path, demo_hebi_result):
    gdb = write_gdb(tmp_path / "demo.gdb")
    before = digest(gdb)
    result = compliance.check(gdb, "hebi")
    assert findings_key(result) == findings_key(demo_hebi_result)
    assert digest(gdb) == before  # read only
    notes = " | ".join(result.notes)
    assert "fields read by their alias: F7 (alias 用地用海分类代码)" in notes
    assert "'道路中心线' and '道路用地' read together" in notes
    roads = next(i for i in result.scheme.inputs if i["layer"] == "roads")
    assert roads["features"] == 5 and roads["geometry_types"] == ["MultiLineString", "MultiPolygon"]
    parcels = next(i for i in result.scheme.inputs if i["layer"] == "parcels")
    assert parcels["fields_mapped"]["land_use"] == "用地用海分类代码"


# --------------------------------------------------------------------------- zips


def write_gbk_shapefiles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, gdf in split_roads(demo_layers()).items():
        gdf.to_file(folder / f"{name}.shp", encoding="GBK", engine="pyogrio")
        (folder / f"{name}.cpg").unlink(missing_ok=True)  # as many tools leave them
    return folder


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + str(f.relative_to(folder)))
    return dest


def test_zip_of_gbk_shapefiles_gives_the_geopackage_findings(tmp_path, demo_hebi_result):
    shp = write_gbk_shapefiles(tmp_path / "shp")
    archive = zip_folder(shp, tmp_path / "方案.zip", prefix="方案/")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = compliance.check(archive, "hebi")
    assert findings_key(result) == findings_key(demo_hebi_result)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted beside it
    assert list(result.scheme.layers["clusters"]["name"]) == [
        "北组团",
        "南组团",
        "东组团",
        "西组团",
    ]
    assert any("read as GB18030 (GBK)" in n for n in result.notes)
    assert "方案.zip/方案/squares.shp" in result.scheme.layer_sources["squares"]


def test_zip_of_a_geopackage_and_of_a_gdb(tmp_path, demo_hebi_result):
    with zipfile.ZipFile(tmp_path / "gpkg.zip", "w") as zf:
        zf.write(DEMO, "demo.gpkg")
    gdb = write_gdb(tmp_path / "src" / "demo.gdb")
    zip_folder(gdb.parent, tmp_path / "gdb.zip")
    for archive in (tmp_path / "gpkg.zip", tmp_path / "gdb.zip"):
        assert findings_key(compliance.check(archive, "hebi")) == findings_key(demo_hebi_result)


def test_zip_that_is_not_a_zip_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "scheme.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, _, err = run("inspect", str(bad))
    assert code == 2 and "cannot be read as a zip archive" in err and "\n" not in err.strip()


# --------------------------------------------------------------------------- DXF


def rect(x: float, y: float, w: float, h: float) -> list[tuple[float, float]]:
    return [
        (ZX0 + x, Y0 + y),
        (ZX0 + x + w, Y0 + y),
        (ZX0 + x + w, Y0 + y + h),
        (ZX0 + x, Y0 + y + h),
    ]


def write_site_plan(path: Path, *, zone_numbered: bool = True) -> Path:
    """A designer's 总平面图: Chinese CAD layers, labels as texts, a block with attributes."""
    shift = 0.0 if zone_numbered else -ZONE * 1_000_000
    doc = ezdxf.new("R2013")
    msp = doc.modelspace()
    for layer in (
        "用地红线",
        "ZP-建筑",
        "现状建筑",
        "广场",
        "绿地",
        "道路中心线",
        "地块",
        "文字",
        "图框",
    ):
        doc.layers.add(layer)

    def poly(points: list[tuple[float, float]], layer: str) -> None:
        msp.add_lwpolyline(
            [(x + shift, y) for x, y in points], close=True, dxfattribs={"layer": layer}
        )

    def text(s: str, x: float, y: float, layer: str = "文字") -> None:
        msp.add_text(s, dxfattribs={"layer": layer, "height": 3}).set_placement(
            (ZX0 + x + shift, Y0 + y)
        )

    poly(rect(0, 0, 600, 400), "用地红线")
    text("某某地块修建性详细规划", 10, 380, "用地红线")
    # the plaza: a hatch of 120 × 100 m = 1.2 ha, over Hebi's 1 ha (SQ01)
    h = msp.add_hatch(dxfattribs={"layer": "广场"})
    h.paths.add_polyline_path([(x + shift, y) for x, y in rect(300, 50, 120, 100)], is_closed=True)
    poly(rect(300, 50, 120, 100), "广场")  # its outline too, as designers draw it: read once
    text("中心广场", 350, 100)
    # parcels: a land-use code with its name, and a parcel number that is no code
    poly(rect(0, 190, 200, 200), "地块")
    text("R2 二类居住用地", 20, 380)
    poly(rect(200, 190, 200, 200), "地块")
    text("DK01", 220, 380)
    # a new residential tower of 26 floors, over 18 (BH04)
    poly(rect(50, 50, 40, 20), "ZP-建筑")
    text("1#住宅 26F", 55, 60)
    # a new office tower of 260 m, over 250 m (BH01)
    m = msp.add_mtext("2#办公\\PH=260m 62层", dxfattribs={"layer": "文字", "char_height": 3})
    m.set_location((ZX0 + 160 + shift, Y0 + 65))
    poly(rect(150, 50, 40, 40), "ZP-建筑")
    # a new low-rise house drawn as a block with attributes (passes)
    blk = doc.blocks.new("住宅单体")
    blk.add_lwpolyline([(0, 0), (30, 0), (30, 15), (0, 15)], close=True)
    blk.add_attdef("层数", (2, 2))
    blk.add_attdef("用途", (2, 6))
    ref = msp.add_blockref(
        "住宅单体", (ZX0 + 50 + shift, Y0 + 200), dxfattribs={"layer": "ZP-建筑"}
    )
    ref.add_auto_attribs({"层数": "6", "用途": "住宅"})
    # an existing 30-floor housing block: not new, out of BH04's scope
    poly(rect(450, 250, 40, 20), "现状建筑")
    text("住宅 30F", 455, 260)
    # a park and a road centreline; a drawing frame on an unrecognised layer
    poly(rect(450, 50, 100, 100), "绿地")
    text("街心公园", 480, 100)
    msp.add_line(
        (ZX0 + shift, Y0 + 180), (ZX0 + 600 + shift, Y0 + 180), dxfattribs={"layer": "道路中心线"}
    )
    text("迎宾大道 红线宽60m", 300, 186)  # beside the centreline: RD01 (county town ≤ 40 m)
    poly(rect(-50, -50, 700, 500), "图框")
    # the sheet in paper space: a title block at the origin, not part of the plan
    doc.paperspace().add_lwpolyline(
        [(0, 0), (420, 0), (420, 297), (0, 297)], close=True, dxfattribs={"layer": "建筑"}
    )
    doc.saveas(path)
    return path


def test_designers_dxf_site_plan_gives_the_plaza_and_tower_violations(tmp_path):
    dxf = write_site_plan(tmp_path / "总平面图.dxf")
    before = digest(dxf)
    result = compliance.check(dxf, "hebi")
    assert digest(dxf) == before
    v = result.violations
    sq = v[v["rule_id"] == "SQ01"]
    assert len(sq) == 1 and sq["measured"].iloc[0] == pytest.approx(1.2)
    b = result.scheme.layers["buildings"].set_index("name")
    assert b.loc["1#住宅", "floors"] == 26 and b.loc["1#住宅", "use"] == "residential"
    assert b.loc["2#办公", "height_m"] == 260 and b.loc["2#办公", "floors"] == 62
    bh01 = v[v["rule_id"] == "BH01"]
    assert list(bh01["measured"]) == [260.0]
    bh04 = v[v["rule_id"] == "BH04"]
    assert list(bh04["measured"]) == [26.0]  # the existing 30-floor block is not in scope
    assert bh04["feature_id"].iloc[0] == b.loc["1#住宅", "feature_id"]
    buildings = result.scheme.layers["buildings"]
    assert int(buildings["is_new"].sum()) == 3 and len(buildings) == 4
    block = buildings[buildings["floors"] == 6]
    assert len(block) == 1 and block["use"].iloc[0] == "residential"
    assert result.scheme.layers["green_spaces"]["kind"].tolist() == ["park"]
    roads = result.scheme.layers["roads"]
    assert roads.geom_type.tolist() == ["LineString"] and roads["name"].tolist() == ["迎宾大道"]
    assert list(v[v["rule_id"] == "RD01"]["measured"]) == [60.0]
    assert result.scheme.layers["parcels"]["land_use"].tolist() == ["R2", None]
    assert len(result.scheme.layers["squares"]) == 1
    notes = " | ".join(result.notes)
    assert "squares: 1 shapes drawn twice" in notes
    assert "zone number 38" in notes and "EPSG:4526" in notes
    assert any("图框" in n["file"] for n in result.scheme.not_read)


def test_dxf_in_a_zip_is_read_in_place(tmp_path):
    dxf = write_site_plan(tmp_path / "总平面图.dxf")
    with zipfile.ZipFile(tmp_path / "方案.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(dxf, "方案/总平面图.dxf")
    dxf.unlink()
    result = compliance.check(tmp_path / "方案.zip", "hebi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["方案.zip"]
    assert set(result.violations["rule_id"]) >= {"SQ01", "BH01", "BH04", "RD01"}


def test_dxf_of_an_older_cad_in_gbk_is_decoded(tmp_path):
    """An R2000 drawing in code page ANSI_936 (GBK), as older Chinese CAD saves it."""
    doc = ezdxf.new("R2000")
    doc.modelspace().add_lwpolyline(rect(0, 0, 40, 20), close=True, dxfattribs={"layer": "建筑"})
    doc.modelspace().add_text("1#住宅 20层", dxfattribs={"layer": "文字"}).set_placement(
        (ZX0 + 5, Y0 + 5)
    )
    doc.saveas(tmp_path / "utf.dxf")  # ezdxf writes \U+ escapes; make them GBK bytes
    text = (tmp_path / "utf.dxf").read_text(encoding="ascii")
    text = re.sub(r"\\U\+([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"(\$DWGCODEPAGE\s+3\s+)ANSI_\d+", r"\1ANSI_936", text)
    gbk = tmp_path / "gbk.dxf"
    gbk.write_bytes(text.encode("gbk"))
    assert "建筑".encode("gbk") in gbk.read_bytes()
    b = compliance.read_scheme(gbk).layers["buildings"]
    assert b[["name", "floors", "use"]].values.tolist() == [["1#住宅", 20.0, "residential"]]


def test_dxf_crs_from_the_option_and_without_one(tmp_path):
    dxf = write_site_plan(tmp_path / "site.dxf", zone_numbered=False)
    code, _, err = run("check", str(dxf), "--profile", "hebi", "--out", str(tmp_path / "out"))
    assert code == 2 and "--source-crs" in err and "\n" not in err.strip()
    assert not (tmp_path / "out").exists()
    result = compliance.check(dxf, "hebi", source_crs="EPSG:4547")
    assert list(result.violations.query("rule_id == 'BH01'")["measured"]) == [260.0]
    assert result.scheme.inputs[0]["crs_from"] == "--source-crs"
    mapping = tmp_path / "map.yaml"
    mapping.write_text("source_crs: EPSG:4547\n", encoding="utf-8")
    again = compliance.check(dxf, "hebi", field_map=mapping)
    assert findings_key(again) == findings_key(result)


def test_dxf_layers_and_existing_buildings_from_the_mapping_file(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(rect(0, 0, 40, 20), close=True, dxfattribs={"layer": "A-BLDG"})
    msp.add_lwpolyline(rect(100, 0, 40, 20), close=True, dxfattribs={"layer": "A-OLD"})
    msp.add_text("住宅 20层", dxfattribs={"layer": "T"}).set_placement((ZX0 + 5, Y0 + 5))
    msp.add_text("住宅 20层", dxfattribs={"layer": "T"}).set_placement((ZX0 + 105, Y0 + 5))
    dxf = tmp_path / "plan.dxf"
    doc.saveas(dxf)
    code, _, err = run("inspect", str(dxf))
    assert code == 2 and "no CAD layer named as a scheme layer" in err and "A-BLDG" in err
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "layers:\n  A-BLDG: buildings\n  A-OLD: buildings\ndxf:\n  existing_buildings: [A-OLD]\n",
        encoding="utf-8",
    )
    result = compliance.check(dxf, "hebi", field_map=mapping)
    b = result.scheme.layers["buildings"]
    assert b["floors"].tolist() == [20, 20] and b["is_new"].tolist() == [True, False]
    assert list(result.violations.query("rule_id == 'BH04'")["measured"]) == [20.0]


def test_dwg_is_refused_with_advice_to_save_as_dxf(tmp_path):
    dwg = tmp_path / "site.dwg"
    dwg.write_bytes(b"AC1027" + b"\0" * 100)
    code, _, err = run("check", str(dwg), "--out", str(tmp_path / "out"))
    assert code == 2 and "save the drawing as DXF" in err and "\n" not in err.strip()
    disguised = tmp_path / "site.dxf"
    disguised.write_bytes(dwg.read_bytes())
    code, _, err = run("inspect", str(disguised))
    assert code == 2 and "a DWG drawing saved under a .dxf name" in err


def test_zone_numbers_give_the_cgcs2000_zone_crs():
    import numpy as np

    crs, zone = zone_crs(np.array([38_520_000.0, 38_521_000.0]), np.array([3.95e6, 3.96e6]))
    assert (crs.to_epsg(), zone) == (4526, 38)
    assert zone_crs(np.array([25_500_000.0]), np.array([3e6]))[0].to_epsg() == 4513
    assert zone_crs(np.array([45_500_000.0]), np.array([3e6]))[0].to_epsg() == 4533
    assert zone_crs(np.array([520_000.0]), np.array([3.95e6])) is None  # no zone number
    assert zone_crs(np.array([38_999_000.0, 39_001_000.0]), np.array([3e6, 3e6])) is None


# --------------------------------------------------------------------------- folders


def test_folder_file_of_a_contract_name_in_a_format_not_read_is_an_error(tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    gpd.read_file(DEMO, layer="parcels").to_file(folder / "parcels.gpkg")
    (folder / "squares.kml").write_text("<kml/>", encoding="utf-8")
    code, _, err = run("check", str(folder), "--out", str(tmp_path / "out"))
    assert code == 2 and "squares.kml" in err and "KML is not a format the checker reads" in err
    (folder / "squares.kml").unlink()
    (folder / "绿地.kml").write_text("<kml/>", encoding="utf-8")
    code, _, err = run("inspect", str(folder))
    assert code == 2 and "绿地.kml" in err and "green_spaces" in err


def test_folder_inspect_lists_every_file_not_read_and_what_rules_lack(tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    gpd.read_file(DEMO, layer="parcels").to_file(folder / "parcels.gpkg")
    gpd.read_file(DEMO, layer="squares").to_file(folder / "道路规划说明.geojson")
    (folder / "说明.docx").write_bytes(b"PK")
    (folder / "old").mkdir()
    code, out, _ = run("inspect", str(folder), "--profile", "hebi")
    assert code == 0
    assert "parcels       ← " in out and "[contract]" in out
    assert "说明.docx: '.docx' is not a format the checker reads" in out
    assert "old: a folder inside the scheme folder" in out
    assert "道路规划说明.geojson: not a contract layer name" in out
    assert "SQ01  cannot run: " in out and "squares" in out
    assert "GR01  can run" in out


def test_folder_dxf_named_as_a_layer_is_that_layer(tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    gpd.read_file(DEMO, layer="parcels").to_file(folder / "parcels.gpkg")
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline(rect(0, 0, 150, 100), close=True)  # on layer 0
    doc.saveas(folder / "squares.dxf")
    result = compliance.check(folder, "hebi")
    sq = result.findings.query("rule_id == 'SQ01'")
    assert sq["measured"].tolist() == [pytest.approx(1.5)] and sq["status"].tolist() == ["fail"]


def test_run_json_carries_the_inputs(tmp_path):
    shp = write_gbk_shapefiles(tmp_path / "shp")
    archive = zip_folder(shp, tmp_path / "scheme.zip")
    out = tmp_path / "out"
    code, _, _ = run("check", str(archive), "--profile", "hebi", "--out", str(out), "--no-map")
    assert code == 1
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]
    layers = {i["layer"]: i for i in info["layers"]}
    assert layers["squares"]["features"] == 3 and layers["squares"]["recognised_by"] == "contract"
    assert layers["roads"]["fields_mapped"]["red_line_width_m"] == "red_line_w"
    rules = {r["rule_id"]: r for r in info["rules"]}
    assert rules["SQ01"]["can_run"] and not rules["UR01"]["can_run"]
    assert "renewal_units" in rules["UR01"]["lacks"]


def test_bad_inputs_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="--source-crs"):
        compliance.read_scheme(write_site_plan(tmp_path / "a.dxf"), source_crs="EPSG:99999999")
