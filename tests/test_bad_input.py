"""Bad input at the command line: one test per row of the README's bad-input table.

Every refused input ends with exit status 2, one line on stderr that names the
file, layer, feature or rule and the problem, nothing written to ``--out`` (no
temporary directory either) and the input byte-identical.  Every accepted one
ends with 0 or 1, says what it did in a note where the README says so, and
leaves the input byte-identical and no Python warning on stderr.

Rows whose behaviour was being wired were marked ``xfail``: ``LOADER``
for the catalogue loader's file-and-line reports (``compliance/catalogue.py``),
and the printing of the scheme's warnings by the command line.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from helpers import DEMO, GK, ROOT, X0, Y0
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from compliance.cli import main
from compliance.rules.registry import CHECKS

# ----------------------------------------------------------------------------- helpers


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    out: Path
    warnings: list[str]

    def summary(self) -> dict[str, dict[str, str]]:
        import csv

        with open(self.out / "summary.csv", encoding="utf-8", newline="") as fh:
            return {r["rule_id"]: r for r in csv.DictReader(fh)}

    def findings(self, rule_id: str) -> gpd.GeoDataFrame:
        f = gpd.read_file(self.out / "findings.geojson")
        return f[f["rule_id"] == rule_id]

    def run_info(self) -> dict[str, Any]:
        return dict(json.loads((self.out / "run.json").read_text("utf-8")))


def digest(path: Path) -> str:
    """Hash of a file, or of every file under a folder with its relative path."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


#: Warning categories Python shows an end user by default (others are hidden).
_SHOWN = (UserWarning, RuntimeWarning, FutureWarning, SyntaxWarning, UnicodeWarning, BytesWarning)


def check(scheme: Path, *args: str, profile: str = "hebi", inputs: tuple[Path, ...] = ()) -> Run:
    """Run ``compliance check`` on ``scheme``; assert every input is byte-identical after."""
    watched = [p for p in (scheme, *inputs) if p.exists()]
    before = [digest(p) for p in watched]
    out = scheme.parent / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliRunner().invoke(
            main, ["check", str(scheme), "--profile", profile, "--out", str(out), *args]
        )
    assert [digest(p) for p in watched] == before, "the input changed"
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if w.category in _SHOWN]
    return Run(res.exit_code, res.stdout, res.stderr, out, shown)


def refused(scheme: Path, *needles: str, args: tuple[str, ...] = (), **kw: Any) -> str:
    """Assert the run is refused: exit 2, one line naming ``needles``, nothing written."""
    r = check(scheme, *args, **kw)
    assert r.code == 2, (r.code, r.stdout, r.stderr)
    assert r.stderr.startswith("compliance: error: ") and r.stderr.count("\n") == 1, r.stderr
    for needle in needles:
        assert needle in r.stderr, (needle, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert not r.out.exists()
    assert not list(r.out.parent.glob(".out.*")), "a temporary directory was left behind"
    return r.stderr


def accepted(scheme: Path, *args: str, **kw: Any) -> Run:
    """Assert the run succeeds (exit 0 or 1) with complete outputs and no stray warning."""
    r = check(scheme, *args, "--no-map", **kw)
    assert r.code in (0, 1), (r.code, r.stderr)
    assert all("warning" in line for line in r.stderr.splitlines()), r.stderr
    assert r.warnings == [], r.warnings  # no Python warning for the user to puzzle over
    assert {"findings.geojson", "summary.csv", "run.json"} <= {p.name for p in r.out.iterdir()}
    return r


def gpkg(path: Path, **layers: gpd.GeoDataFrame) -> Path:
    """Write layers into one GeoPackage."""
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, engine="pyogrio")
    return path


def local(geoms: list[object], crs: str = GK, **columns: list[object]) -> gpd.GeoDataFrame:
    """A layer of these geometries and columns in the test CRS (EPSG:4547, metres)."""
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def square(x: float, y: float, size: float) -> Polygon:
    """A square of ``size`` metres at local offset (x, y)."""
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def plazas(tmp_path: Path, geoms: list[object], **columns: list[object]) -> Path:
    """A scheme of one ``squares`` layer with ids P0, P1, …"""
    ids = [f"P{i}" for i in range(len(geoms))]
    return gpkg(tmp_path / "scheme.gpkg", squares=local(geoms, id=ids, **columns))


def one_line_note(run: Run, *words: str) -> str:
    """The note or warning holding every word (fails when there is none).

    Searched in what the run printed and in ``run.json`` (``notes``,
    ``warnings``): that every one of those is printed too is
    :func:`test_reading_notes_and_warnings_are_printed`.
    """
    info = run.run_info()
    lines = [*(run.stdout + run.stderr).splitlines(), *info["notes"], *info.get("warnings", [])]
    notes = [line for line in lines if all(w in line for w in words)]
    assert notes, f"no note with {words} in:\n" + "\n".join(lines)
    return notes[0]


# ----------------------------------------------------------------------------- CRS


def test_no_crs_is_refused(tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # writing without a CRS warns
        gpd.GeoDataFrame(geometry=[square(0, 0, 100)]).to_file(folder / "clusters.shp")
    refused(folder, "clusters.shp", "has no CRS")


def test_crs_that_cannot_be_transformed_is_refused(tmp_path):
    mars = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="IAU_2015:49900")
    scheme = gpkg(tmp_path / "mars.gpkg", clusters=mars)
    refused(scheme, "mars.gpkg", "cannot be transformed")


def test_layers_in_different_crs_are_reprojected_with_a_note(tmp_path):
    squares = local([square(0, 0, 90)], id=["P0"]).to_crs(4326)  # 0.81 ha
    clusters = local([square(-500, -500, 2000)], id=["C0"])
    r = accepted(gpkg(tmp_path / "scheme.gpkg", squares=squares, clusters=clusters))
    one_line_note(r, "reprojected from EPSG:4326", "EPSG:4547", "squares")
    assert r.findings("SQ01").empty  # 0.81 ha passes Hebi's 1 ha
    assert float(r.summary()["SQ01"]["worst"]) == pytest.approx(0.81, abs=0.005)


def test_data_far_from_china_warns(tmp_path):
    helsinki = gpd.GeoDataFrame(
        {"id": ["P0"]}, geometry=[box(24.94, 60.16, 24.95, 60.17)], crs="EPSG:4326"
    )
    r = check(gpkg(tmp_path / "scheme.gpkg", squares=helsinki), "--no-map")
    assert r.code == 1  # 61.8 ha of plaza fails, measured in UTM 35N
    assert "EPSG:32635" in r.stdout
    assert "far from China" in r.stdout + r.stderr


# ----------------------------------------------------------------------------- geometry


def test_invalid_geometry_is_repaired_and_counted(tmp_path):
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    r = accepted(plazas(tmp_path, [bow_tie, square(200, 0, 100)]))
    one_line_note(r, "squares", "1 invalid", "repaired")
    assert r.run_info()["repaired_geometries"] == {"squares": 1}
    summary = r.summary()["SQ01"]
    assert (summary["checked"], summary["worst"]) == ("2", "1.0")  # two triangles: 0.5 ha


def test_null_and_empty_geometries_are_dropped_and_counted(tmp_path):
    r = accepted(plazas(tmp_path, [square(0, 0, 150), None, Polygon()]))
    one_line_note(r, "squares", "2 null or empty")
    assert r.run_info()["dropped_empty_geometries"] == {"squares": 2}
    assert r.findings("SQ01")["feature_id"].tolist() == ["P0"]  # 2.25 ha fails


def _one_point_geometries(scheme: Path) -> Path:
    """A GeoPackage whose road R1 is a line of one point and plaza P1 a ring of one point.

    Neither can be made by shapely, so the WKB is written by hand (pyogrio's raw
    writer passes it to GDAL unchecked).
    """
    from pyogrio.raw import write

    def wkb(kind: int, rings: int | None, points: list[tuple[float, float]]) -> bytes:
        head = struct.pack("<BI", 1, kind) + (struct.pack("<I", rings) if rings else b"")
        return (
            head + struct.pack("<I", len(points)) + b"".join(struct.pack("<dd", *p) for p in points)
        )

    road = [(X0, Y0), (X0 + 500, Y0)]
    geoms = [
        wkb(2, None, road),
        wkb(2, None, road[:1]),
        wkb(2, None, [(X0, Y0 + 300), (X0 + 500, Y0 + 300)]),
    ]
    write(
        scheme,
        np.array(geoms, dtype=object),
        [np.array(["R0", "R1", "R2"], dtype=object), np.array([60.0, 60.0, 30.0])],
        ["id", "red_line_width_m"],
        layer="roads",
        driver="GPKG",
        geometry_type="LineString",
        crs="EPSG:4547",
    )
    plaza = [
        shapely.to_wkb(square(0, 0, 150)),
        wkb(3, 1, [(X0, Y0)]),
        shapely.to_wkb(square(400, 0, 50)),
    ]
    write(
        scheme,
        np.array(plaza, dtype=object),
        [np.array(["P0", "P1", "P2"], dtype=object)],
        ["id"],
        layer="squares",
        driver="GPKG",
        geometry_type="Polygon",
        crs="EPSG:4547",
    )
    return scheme


def test_line_or_ring_of_one_point_is_dropped_and_named(tmp_path):
    r = accepted(_one_point_geometries(tmp_path / "scheme.gpkg"), profile="national")
    for layer, first in (("roads", "R1"), ("squares", "P1")):
        note = one_line_note(r, f"layer '{layer}'", "1 geometries cannot be built")
        assert f"(first: feature {first})" in note and "two distinct points" in note
    summary = r.summary()
    assert (summary["RD01"]["checked"], summary["RD01"]["failed"]) == ("2", "1")
    assert r.findings("RD01")["feature_id"].tolist() == ["R0"]  # 60 m > 40 m
    assert (summary["SQ01"]["checked"], summary["SQ01"]["failed"]) == ("2", "1")
    assert r.findings("SQ01")["feature_id"].tolist() == ["P0"]  # 2.25 ha > 2 ha


def _with_zm(scheme: Path, layer: str, geom_wkt: str) -> Path:
    """Rewrite the geometry of every feature of a GeoPackage layer as ``geom_wkt`` (Z, M, ZM).

    pyogrio cannot write measured geometries, so the GeoPackage blob is written
    directly: the GPKG header without envelope, then ISO WKB.
    """
    geom = shapely.from_wkt(geom_wkt)
    con = sqlite3.connect(scheme)
    try:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f'DROP TRIGGER "{trigger}"')  # R-tree triggers need GDAL's functions
        srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        blob = b"GP\x00\x01" + struct.pack("<i", srs)
        blob += shapely.to_wkb(geom, flavor="iso", output_dimension=4, byte_order=1)
        con.execute(f'UPDATE "{layer}" SET geom = ?', (blob,))
        con.execute("UPDATE gpkg_geometry_columns SET z = 1, m = 1")
        con.commit()
    finally:
        con.close()
    return scheme


def test_z_and_m_coordinates_are_measured_in_2d_with_a_note(tmp_path):
    x, y = X0, Y0
    zm = (
        f"POLYGON ZM (({x} {y} 50 1, {x + 200} {y} 50 2, {x + 200} {y + 200} 60 3, "
        f"{x} {y + 200} 60 4, {x} {y} 50 1))"
    )
    scheme = _with_zm(plazas(tmp_path, [square(0, 0, 10)]), "squares", zm)
    r = accepted(scheme)
    assert r.findings("SQ01")["measured"].tolist() == [4.0]  # 200 m × 200 m, heights ignored
    one_line_note(r, "squares", "Z")


def test_polygons_and_multipolygons_mix_in_one_layer(tmp_path):
    two = MultiPolygon([square(0, 0, 100), square(300, 0, 100)])
    r = accepted(plazas(tmp_path, [square(600, 0, 50), two]))
    f = r.findings("SQ01")
    assert (f["feature_id"].tolist(), f["measured"].tolist()) == (["P1"], [2.0])


def test_a_point_among_polygons_is_dropped_with_a_warning(tmp_path):
    r = accepted(plazas(tmp_path, [square(0, 0, 150), Point(X0, Y0)]))
    one_line_note(r, "squares", "1 features are not Polygon or MultiPolygon", "P1", "Point")
    assert r.summary()["SQ01"]["checked"] == "1"
    assert r.findings("SQ01")["feature_id"].tolist() == ["P0"]


def test_a_geometry_collection_among_polygons_is_dropped_with_a_warning(tmp_path):
    line = LineString([(X0, Y0), (X0, Y0 + 9)])
    mixed = shapely.GeometryCollection([square(0, 0, 100), line])
    r = accepted(plazas(tmp_path, [square(300, 0, 150), mixed]))
    one_line_note(r, "squares", "not Polygon or MultiPolygon", "P1", "GeometryCollection")
    assert r.findings("SQ01")["feature_id"].tolist() == ["P0"]


def test_a_layer_with_no_feature_of_its_geometry_type_is_refused(tmp_path):
    scheme = plazas(tmp_path, [Point(X0, Y0), Point(X0 + 5, Y0)])
    refused(scheme, "squares", "Point")


def test_multi_part_feature_is_measured_as_one(tmp_path):
    parts = MultiPolygon([square(0, 0, 100), square(300, 0, 100), square(600, 0, 100)])
    r = accepted(plazas(tmp_path, [parts]))
    f = r.findings("SQ01")
    assert (f["feature_id"].tolist(), f["measured"].tolist()) == (["P0"], [3.0])


def test_zero_area_sliver_is_dropped_and_counted(tmp_path):
    sliver = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0)])  # a ring with no area
    r = accepted(plazas(tmp_path, [square(500, 0, 150), sliver]))
    assert r.summary()["SQ01"]["checked"] == "1"  # the sliver is not a plaza of 0 ha
    one_line_note(r, "squares", "zero area", "P1")


# ----------------------------------------------------------------------------- attributes


def roads(tmp_path: Path, widths: list[object]) -> Path:
    lines = [LineString([(X0, Y0 + 100 * i), (X0 + 500, Y0 + 100 * i)]) for i in range(len(widths))]
    layer = local(
        lines,
        id=[f"R{i}" for i in range(len(widths))],
        red_line_width_m=widths,
        road_class=["secondary"] * len(widths),
    )
    return gpkg(tmp_path / "scheme.gpkg", roads=layer)


def test_number_with_its_unit_as_text_is_parsed(tmp_path):
    r = accepted(roads(tmp_path, ["30", "45米", "０.０５公里"]), profile="national")
    f = r.findings("RD01")
    assert (f["feature_id"].tolist(), f["measured"].tolist()) == (["R1", "R2"], [45.0, 50.0])


@pytest.mark.parametrize("text", ["四十米", "40 apples", "30-40米"])
def test_text_that_is_not_a_number_is_refused(tmp_path, text):
    scheme = roads(tmp_path, ["30", text])
    refused(scheme, "roads", "red_line_width_m", "R1", text, profile="national")


def test_negative_and_absurd_values_are_flagged_and_skipped(tmp_path):
    buildings = local(
        [square(0, 0, 20), square(100, 0, 20), square(200, 0, 20)],
        id=["B0", "B1", "B2"],
        height_m=[30.0, -12.0, 5000.0],
        use=["residential"] * 3,
        is_new=[True] * 3,
    )
    r = accepted(gpkg(tmp_path / "scheme.gpkg", buildings=buildings))
    one_line_note(r, "height_m", "B1", "-12")
    assert r.findings("BH01").empty  # neither -12 m nor 5000 m is measured as a height


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_geopackage_is_refused(tmp_path, damage):
    data = DEMO.read_bytes()
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"not a gpkg" * 99)
    refused(broken, "broken.gpkg", "cannot be read")


def _shapefile(tmp_path: Path, encoding: str = "UTF-8") -> Path:
    folder = tmp_path / "scheme"
    folder.mkdir()
    layer = local([square(0, 0, 200)], id=["P0"], name=["人民广场"], hard_area_m2=[20_000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # field names cut to 10 characters: intended
        layer.to_file(folder / "squares.shp", encoding=encoding)
    return folder


def test_shapefile_missing_shx_is_read_with_its_index_rebuilt_aside(tmp_path):
    folder = _shapefile(tmp_path)
    (folder / "squares.shx").unlink()
    r = accepted(folder)  # the folder is byte-identical after: no .shx written beside it
    one_line_note(r, "squares.shp", ".shx")
    assert r.findings("SQ01")["measured"].tolist() == [2.0]  # hard_area_m2 20,000 m²


def test_shapefile_missing_dbf_is_refused(tmp_path):
    folder = _shapefile(tmp_path)
    (folder / "squares.dbf").unlink()
    refused(folder, "squares.shp", "squares.dbf")


def test_gbk_shapefile_without_cpg_is_decoded(tmp_path):
    folder = _shapefile(tmp_path, encoding="GBK")
    (folder / "squares.cpg").unlink()
    r = accepted(folder)
    message = r.findings("SQ01")["message"].iloc[0]
    assert message.startswith("广场「人民广场」的集中硬地面积为 2.00 公顷")
    one_line_note(r, "squares", "GBK")


def test_empty_layer_is_not_evaluated(tmp_path):
    empty = local([], id=[])
    clusters = local([square(0, 0, 1000)], id=["C0"], population=[5000])
    r = accepted(gpkg(tmp_path / "scheme.gpkg", squares=empty, clusters=clusters))
    assert r.summary()["SQ01"]["status"] == "not_evaluated"
    assert r.summary()["CL01"]["status"] == "pass"


def test_scheme_with_no_features_at_all_is_refused(tmp_path):
    scheme = gpkg(tmp_path / "scheme.gpkg", squares=local([], id=[]))
    refused(scheme, "no features")


def test_chinese_layer_name_is_recognised(tmp_path):
    scheme = gpkg(tmp_path / "scheme.gpkg", 广场=local([square(0, 0, 150)], id=["P0"]))
    r = accepted(scheme)
    assert r.findings("SQ01")["measured"].tolist() == [2.25]


def test_chinese_file_and_folder_names_are_read(tmp_path):
    folder = tmp_path / "鹤壁方案"
    folder.mkdir()
    scheme = gpkg(folder / "控规.gpkg", squares=local([square(0, 0, 150)], id=["P0"]))
    r = accepted(scheme)
    assert r.findings("SQ01")["measured"].tolist() == [2.25]
    assert "鹤壁方案/控规.gpkg" in r.run_info()["scheme"]


def test_reading_notes_and_warnings_are_printed(tmp_path):
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    squares = local([bow_tie, None, Point(X0, Y0)], id=["P0", "P1", "P2"]).to_crs(4326)
    r = accepted(gpkg(tmp_path / "scheme.gpkg", squares=squares))
    info = r.run_info()
    written = [*info["notes"], *info["warnings"]]
    assert len(written) >= 4  # reprojected, repaired, null dropped, point dropped
    printed = r.stdout + r.stderr
    for line in written:
        assert line in printed, line


def test_missing_scheme_is_refused(tmp_path):
    refused(tmp_path / "nowhere.gpkg", "nowhere.gpkg", "no such file or folder")


def test_scheme_without_contract_layers_is_refused(tmp_path):
    scheme = gpkg(tmp_path / "scheme.gpkg", plazas=local([square(0, 0, 100)]))
    refused(scheme, "scheme.gpkg", "no layer named as the data contract expects")


# ----------------------------------------------------------------------------- rule files


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue to break."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    return folder


def edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` once; return the line of the first changed line."""
    text = path.read_text("utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), "utf-8")
    diff = (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
    common = next(diff, min(len(old), len(new)))
    return text[: text.index(old) + common].count("\n") + 1


def rule_run(tmp_path: Path, catalogue: Path, profile: str = "hebi") -> str:
    """The one error line of a run of the demo with a broken catalogue."""
    scheme = tmp_path / "demo.gpkg"
    shutil.copy(DEMO, scheme)
    args = ("--rules-dir", str(catalogue))
    return refused(scheme, args=args, profile=profile, inputs=(catalogue,))


def test_rule_file_unknown_key_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(catalogue / "hebi.yaml", "  SQ01:\n    limit: 1\n", "  SQ01:\n    limt: 1\n")
    err = rule_run(tmp_path, catalogue)
    assert f"hebi.yaml:{line}: rule SQ01: limt: not a key of a profile's rule" in err


def test_rule_file_restating_the_rule_type_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(
        catalogue / "hebi.yaml",
        "  SQ01:\n    limit: 1\n",
        "  SQ01:\n    measure: plaza_hard_area\n    limit: 1\n",
    )
    err = rule_run(tmp_path, catalogue)
    assert (
        f"hebi.yaml:{line}: rule SQ01: measure: declared once by the rule type "
        "(compliance/rules/checks/open_space.py:" in err
    )


def test_rule_file_code_without_a_rule_type_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(catalogue / "hebi.yaml", "  SQ01:\n", "  SQ09:\n")
    err = rule_run(tmp_path, catalogue)
    assert f"hebi.yaml:{line}: rule SQ09: no rule type declares this code" in err


def test_rule_file_unknown_parameter_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(
        catalogue / "national.yaml", "  RD01:\n", "  RD01:\n    params:\n      new_ony: false\n"
    )
    line += 1  # the parameter's line, below 'params:'
    err = rule_run(tmp_path, catalogue)
    assert f"national.yaml:{line}: rule RD01: params.new_ony: Extra inputs" in err


def test_rule_file_unit_that_does_not_fit_the_measure_is_refused(tmp_path, catalogue):
    line = edit(
        catalogue / "hebi.yaml", "  SQ01:\n    limit: 1\n", "  SQ01:\n    limit: 1\n    unit: m\n"
    )
    err = rule_run(tmp_path, catalogue)
    expected = f"hebi.yaml:{line}: rule SQ01: unit 'm' does not fit measure plaza_hard_area"
    assert expected + " (expected ha or a unit of the same dimension)" in err


def test_rule_file_unknown_unit_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(catalogue / "hebi.yaml", "  GR03:\n", "  GR03:\n    unit: percent\n")
    err = rule_run(tmp_path, catalogue)
    assert f"hebi.yaml:{line}: rule GR03: unit 'percent' is unknown (known: m, m2," in err


def test_rule_file_profile_inheriting_itself_is_refused_with_file_and_line(tmp_path, catalogue):
    line = edit(
        catalogue / "national.yaml",
        "profile: national\n",
        "profile: national\ninherits: national\n",
    )
    err = rule_run(tmp_path, catalogue, profile="national")
    assert f"national.yaml:{line}: profile 'national' inherits from itself" in err


def test_rule_file_quote_missing_from_its_seed_is_refused(tmp_path, catalogue):
    line = edit(catalogue / "hebi.yaml", "不超过 1 公顷", "不超过1公顷")
    err = rule_run(tmp_path, catalogue)
    assert (
        f"hebi.yaml:{line}: rule SQ01: the quote “广场集中硬地面积不超过1公顷” is not found" in err
    )


def test_unknown_profile_is_refused(tmp_path):
    scheme = tmp_path / "demo.gpkg"
    shutil.copy(DEMO, scheme)
    refused(scheme, "unknown profile 'beijing'", profile="beijing")


def test_measuring_crs_that_is_not_projected_is_refused(tmp_path):
    scheme = tmp_path / "demo.gpkg"
    shutil.copy(DEMO, scheme)
    refused(
        scheme, "--crs 'EPSG:4326' is not a projected CRS in metres", args=("--crs", "EPSG:4326")
    )


def test_every_check_declares_the_unit_of_its_measure():
    from compliance import list_profiles, load_profile
    from compliance.rules.registry import TYPES, rule_problem
    from compliance.rules.units import UNITS

    assert all(check.unit in UNITS for check in CHECKS.values())
    assert CHECKS["plaza_hard_area"].unit == "ha"
    assert {t.measure.name for t in TYPES.values()} == set(CHECKS)  # no check without a rule
    for name in list_profiles():  # the shipped catalogue fits
        for rule in load_profile(name).rules.values():
            assert rule_problem(rule) is None, (name, rule.code)
            assert rule.unit == TYPES[rule.code].unit


def test_rule_built_in_python_with_a_unit_that_does_not_fit_is_refused():
    from helpers import evaluate_rule, make_rule, make_scheme

    from compliance import RuleFileError
    from compliance.rules.registry import RuleProblem, rule_problem

    rule = make_rule("SQ01", "plaza_hard_area", layer="squares", unit="m2")
    assert rule_problem(rule) == RuleProblem(
        ("unit",), "unit 'm2' does not fit measure plaza_hard_area (expected ha)"
    )
    scheme = make_scheme(squares=local([square(0, 0, 100)], id=["P0"]))
    with pytest.raises(RuleFileError, match=r"^rule SQ01 \(measure plaza_hard_area\): unit 'm2'"):
        evaluate_rule(scheme, rule)
    typo = rule.model_copy(update={"params": {"x": 1}, "unit": "ha"})
    assert rule_problem(typo) == RuleProblem(
        ("params", "x"), "params.x: Extra inputs are not permitted (measure plaza_hard_area)"
    )
    unknown = rule.model_copy(update={"measure": "plaza_soft_area"})
    assert rule_problem(unknown) == RuleProblem(
        ("measure",), f"measure 'plaza_soft_area' is unknown (known: {', '.join(sorted(CHECKS))})"
    )


def test_every_row_of_the_readme_table_names_tests_that_exist():
    import re

    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("| bad input | what the tool does | exit status | test |", 1)[1]
    lines = table.splitlines()[2:]  # after the header's separator row
    rows = lines[: next((i for i, r in enumerate(lines) if not r.startswith("|")), len(lines))]
    named = [name for row in rows for name in re.findall(r"`(test_\w+)`", row.rsplit("|", 2)[1])]
    assert len(rows) >= 30 and len(named) >= len(rows)
    defined = {
        name
        for module in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", module.read_text("utf-8"), re.MULTILINE)
    }
    missing = sorted(set(named) - defined)
    assert missing == [], missing
