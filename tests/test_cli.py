"""The command line on real files: outputs, exit codes, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import geopandas as gpd
import make_demo
import pytest
from click.testing import CliRunner
from conftest import DEMO
from shapely.geometry import Point, box

import compliance
from compliance.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def digest(path: Path) -> str:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def test_check_writes_contract_outputs(tmp_path):
    out = tmp_path / "out"
    before = digest(DEMO)
    code, stdout, _ = run("check", str(DEMO), "--profile", "hebi", "--out", str(out))
    assert code == 1  # rules failed
    assert digest(DEMO) == before
    assert {p.name for p in out.iterdir()} >= {"findings.geojson", "summary.csv", "map.html"}
    assert "EPSG:4547" in stdout and "SQ01" in stdout

    findings = gpd.read_file(out / "findings.geojson")
    assert findings.crs.to_epsg() == 4326
    for prop in [
        "rule_id",
        "status",
        "layer",
        "feature_id",
        "measured",
        "limit",
        "unit",
        "message",
        "source",
    ]:
        assert prop in findings.columns
    assert set(findings["status"]) <= {"fail", "warn", "not_evaluated"}
    q2 = findings[(findings.rule_id == "SQ01") & (findings.feature_id == "Q2")].iloc[0]
    assert (q2.status, q2.measured, q2.limit, q2.unit) == ("fail", 1.8, 1.0, "ha")
    assert "002_7c2abb0a5bb26d87.txt" in q2.source

    with open(out / "summary.csv", encoding="utf-8", newline="") as fh:
        rows = {r["rule_id"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(rows.values())))[:9] == [
        "rule_id",
        "title",
        "status",
        "checked",
        "failed",
        "worst",
        "limit",
        "unit",
        "source",
    ]
    assert rows["SQ01"]["status"] == "fail" and rows["SQ01"]["failed"] == "2"
    assert rows["GR03"]["worst"] == "50.0"
    run_info = json.loads((out / "run.json").read_text("utf-8"))
    assert run_info["crs"].startswith("EPSG:4547")


def test_include_passes(tmp_path):
    out = tmp_path / "out"
    run("check", str(DEMO), "--out", str(out), "--include-passes", "--no-map")
    findings = gpd.read_file(out / "findings.geojson")
    assert (findings["status"] == "pass").sum() == 18  # 30 measured, 12 planted violations
    assert not (out / "map.html").exists()


def test_exit_zero_when_nothing_fails(tmp_path):
    scheme = tmp_path / "ok.gpkg"
    gpd.GeoDataFrame(
        {"hard_area_m2": [5000.0]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:4547"
    ).to_file(scheme, layer="squares")
    code, stdout, _ = run("check", str(scheme), "--out", str(tmp_path / "o"), "--no-map")
    assert code == 0
    assert "0 rules failed" in stdout


def test_rerun_replaces_output(tmp_path):
    out = tmp_path / "out"
    run("check", str(DEMO), "--out", str(out), "--no-map")
    (out / "stale.txt").write_text("old")
    run("check", str(DEMO), "--out", str(out), "--no-map")
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary leftovers


def test_rules_hebi_shows_one_hectare_plaza_with_its_clause():
    code, stdout, _ = run("rules", "--profile", "hebi")
    assert code == 0
    block = stdout.split("SQ01", 1)[1].split("\n\n", 1)[0]
    assert "limit <= 1.00 ha" in block
    assert "广场集中硬地面积不超过 1 公顷" in block
    assert "002_7c2abb0a5bb26d87.txt" in block and "三(一)" in block


def test_profiles_lists_all():
    code, stdout, _ = run("profiles")
    assert code == 0
    for name in ["national", "xinjiang", "alxa", "hebi", "jiaozuo", "bayannur"]:
        assert name in stdout


def test_same_results_in_wgs84_and_projected(tmp_path):
    in_wgs84 = tmp_path / "demo_4326.gpkg"
    in_utm = tmp_path / "demo_utm.gpkg"
    make_demo.write(in_wgs84, crs="EPSG:4326")
    make_demo.write(in_utm, crs="EPSG:32650")
    base = compliance.check(DEMO, "hebi").findings
    for path in (in_wgs84, in_utm):
        other = compliance.check(path, "hebi").findings
        assert other["rule_id"].tolist() == base["rule_id"].tolist()
        assert other["feature_id"].tolist() == base["feature_id"].tolist()
        assert other["status"].tolist() == base["status"].tolist()
        assert other["measured"].to_numpy() == pytest.approx(
            base["measured"].to_numpy(), abs=0.01, nan_ok=True
        )


# ----------------------------------------------------------------------------- bad input


def _scheme_dir(tmp_path: Path, name: str, gdf: gpd.GeoDataFrame, suffix: str = ".gpkg") -> Path:
    folder = tmp_path / "scheme"
    folder.mkdir()
    gdf.to_file(folder / f"{name}{suffix}")
    return folder


def no_crs(tmp_path: Path) -> Path:
    folder = _scheme_dir(
        tmp_path, "clusters", gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), suffix=".shp"
    )
    return folder


def mars_crs(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="IAU_2015:49900")
    return _scheme_dir(tmp_path, "clusters", gdf)


def unreadable(tmp_path: Path) -> Path:
    f = tmp_path / "broken.gpkg"
    f.write_bytes(b"this is not a geopackage" * 100)
    return f


def wrong_geometry(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(114.3, 35.7)], crs="EPSG:4326")
    return _scheme_dir(tmp_path, "clusters", gdf)


def text_in_number(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {"red_line_width_m": ["30", "40米"]},
        geometry=[box(0, 0, 10, 100), box(20, 0, 30, 100)],
        crs="EPSG:4547",
    )
    return _scheme_dir(tmp_path, "roads", gdf)


def missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.gpkg"


BAD = {
    "no CRS": (no_crs, "has no CRS"),
    "CRS that cannot be projected": (mars_crs, "cannot be transformed"),
    "unreadable file": (unreadable, "cannot be read"),
    "wrong geometry type": (wrong_geometry, "is a Point, expected Polygon or MultiPolygon"),
    "text where a number belongs": (text_in_number, "field 'red_line_width_m' holds text"),
    "missing file": (missing, "no such file or folder"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, case):
    make, expected = BAD[case]
    scheme = make(tmp_path)
    before = digest(scheme) if scheme.exists() else None
    out = tmp_path / "out"
    code, stdout, stderr = run("check", str(scheme), "--out", str(out))
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("compliance: error: ")
    assert expected in stderr
    assert "Traceback" not in stderr + stdout
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))  # no temporary directory left behind
    if before is not None:
        assert digest(scheme) == before


def test_unknown_profile_is_exit_2(tmp_path):
    out = tmp_path / "out"
    code, _, stderr = run("check", str(DEMO), "--profile", "beijing", "--out", str(out))
    assert code == 2 and "unknown profile 'beijing'" in stderr and not out.exists()


def test_geographic_measuring_crs_is_refused(tmp_path):
    code, _, stderr = run("check", str(DEMO), "--crs", "EPSG:4326", "--out", str(tmp_path / "o"))
    assert code == 2 and "not a projected CRS in metres" in stderr


def test_output_directory_follows_the_umask(tmp_path):
    import os

    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        run("check", str(DEMO), "--out", str(out), "--no-map")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
