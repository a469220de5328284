"""``compliance diff``: two versions of the demo: one violation fixed, one added, one moved."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from helpers import DEMO

import compliance
from compliance.cli import main
from compliance.diff import diff_findings, diff_html, read_version
from compliance.outputs.files import findings_for_output

#: The revision: road RA's red line 60 → 30 m (RD01 fixed), road RB's 30 → 50 m
#: (RD01 new), plaza Q1's hard surface 25,000 → 30,000 m² (SQ01 still failing, 2.5 → 3.0 ha).
REVISION = """
UPDATE roads SET red_line_width_m = 30 WHERE id = 'RA';
UPDATE roads SET red_line_width_m = 50 WHERE id = 'RB';
UPDATE squares SET hard_area_m2 = 30000 WHERE id = 'Q1';
"""


def edit_gpkg(path: Path, sql: str) -> None:
    """Change attributes of a GeoPackage in place, as an editor saving a table does.

    GDAL's R-tree triggers name spatial SQL functions that plain SQLite lacks;
    attribute updates never call them, so they are stubs that refuse to run.
    """

    def refuse(_blob: object) -> None:
        raise RuntimeError("a geometry trigger ran on an attribute update")

    con = sqlite3.connect(path)
    try:
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            con.create_function(name, 1, refuse)
        with con:
            con.executescript(sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("versions")
    old, new = folder / "v1.gpkg", folder / "v2.gpkg"
    shutil.copy(DEMO, old)
    shutil.copy(DEMO, new)
    edit_gpkg(new, REVISION)
    return old, new


def _changes(diff: gpd.GeoDataFrame) -> set[tuple[str, str, str]]:
    moved = diff[diff["change"] != "unchanged"]
    return set(zip(moved["rule_id"], moved["feature_id"], moved["change"], strict=True))


def test_diff_of_two_demo_versions_reports_exactly_the_three_changes(
    versions: tuple[Path, Path], tmp_path: Path
) -> None:
    old, new = versions
    out = tmp_path / "diff"
    run = CliRunner().invoke(
        main, ["diff", str(old), str(new), "--profile", "hebi", "--out", str(out)]
    )
    assert run.exit_code == 1, run.output  # the revision still breaks rules
    assert "1 fixed, 1 new, 1 changed" in run.output
    diff = pyogrio.read_dataframe(out / "diff.geojson")
    assert _changes(diff) == {
        ("RD01", "RA", "fixed"),
        ("RD01", "RB", "new"),
        ("SQ01", "Q1", "changed"),
    }
    q1 = diff[diff["feature_id"] == "Q1"].iloc[0]
    assert q1["measured_before"] == pytest.approx(2.5)
    assert q1["measured"] == pytest.approx(3.0)
    assert q1["status_before"] == q1["status"] == "fail"
    ra = diff[diff["feature_id"] == "RA"].iloc[0]
    assert (ra["version"], ra["measured"]) == ("old", pytest.approx(60.0))
    # every finding of either version once: the unchanged ones are the demo's others
    v1 = findings_for_output(compliance.check(old, "hebi"))
    assert (diff["change"] == "unchanged").sum() == len(v1) - 2  # less RA fixed, Q1 changed
    page = (out / "diff.html").read_text(encoding="utf-8")
    assert "修改后复核" in page
    fixed_part = page.split('id="fixed"')[1].split('id="new"')[0]
    new_part = page.split('id="new"')[1].split('id="changed"')[0]
    assert "RD01 · RA" in fixed_part and "迎宾大道" in fixed_part
    assert "RD01 · RB" in new_part and "建设路" in new_part and "50.0" in new_part
    assert "RD01 · RB" not in fixed_part
    assert "2.50" in page.split('id="changed"')[1] and "3.00" in page.split('id="changed"')[1]


def test_diff_of_output_folders_equals_diff_of_schemes(
    versions: tuple[Path, Path], tmp_path: Path
) -> None:
    old, new = versions
    runner = CliRunner()
    for name, scheme in (("o1", old), ("o2", new)):
        r = runner.invoke(main, ["check", str(scheme), "-p", "hebi", "-o", str(tmp_path / name)])
        assert r.exit_code == 1, r.output
    out = tmp_path / "diff"
    args = ["diff", str(tmp_path / "o1"), str(tmp_path / "o2"), "--out", str(out), "--lang", "en"]
    run = runner.invoke(main, args)
    assert run.exit_code == 1, run.output
    diff = pyogrio.read_dataframe(out / "diff.geojson")
    assert _changes(diff) == {
        ("RD01", "RA", "fixed"),
        ("RD01", "RB", "new"),
        ("SQ01", "Q1", "changed"),
    }
    page = (out / "diff.html").read_text(encoding="utf-8")
    assert "Revised submission" in page and "Road red-line width" in page


def test_diff_exit_status_zero_when_new_breaks_no_rule_and_two_for_bad_input(
    versions: tuple[Path, Path], tmp_path: Path
) -> None:
    old, _ = versions
    clean = tmp_path / "clean.gpkg"
    gdf = pyogrio.read_dataframe(DEMO, layer="squares")
    pyogrio.write_dataframe(gdf[gdf["id"] == "Q3"], clean, layer="squares")
    runner = CliRunner()
    ok = runner.invoke(
        main, ["diff", str(old), str(clean), "-p", "national", "--out", str(tmp_path / "d")]
    )
    assert ok.exit_code == 0, ok.output
    diff = pyogrio.read_dataframe(tmp_path / "d" / "diff.geojson")
    fixed = diff[diff["change"] == "fixed"]
    assert {"RD01", "SQ01", "EC01"} <= set(fixed["rule_id"])  # layers gone: all fixed
    bad = runner.invoke(
        main, ["diff", str(old), str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "e")]
    )
    assert bad.exit_code == 2
    assert "nope.gpkg: no such file or folder" in bad.output
    assert not (tmp_path / "e").exists()


def test_findings_without_matching_ids_are_matched_by_geometry() -> None:
    """Ids lost on export (renumbered): the same rule's overlapping geometry is the same feature."""
    square = shapely.box(0, 0, 100, 100)
    line = shapely.LineString([(0, 0), (500, 0)])

    def findings(rows: list[tuple[str, str, float, shapely.Geometry]]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {
                "rule_id": [r[0] for r in rows],
                "feature_id": [r[1] for r in rows],
                "status": "fail",
                "measured": [r[2] for r in rows],
                "unit": "m",
            },
            geometry=[r[3] for r in rows],
            crs="EPSG:4547",
        )

    old = findings(
        [
            ("EC01", "1", 60.0, square),
            ("RD01", "2", 60.0, line),
            ("RD01", "3", 55.0, shapely.LineString([(0, 900), (500, 900)])),
        ]
    )
    new = findings(
        [
            ("EC01", "7", 60.0, shapely.box(0, 0, 100, 104)),  # moved an edge by 4 m
            ("RD01", "8", 50.0, shapely.LineString([(0, 0.5), (500, 0.5)])),  # nudged, value moved
            ("SQ01", "2", 3.0, square),  # another rule over the same place is no match
        ]
    )
    diff = diff_findings(old, new)
    got = set(zip(diff["rule_id"], diff["feature_id"], diff["change"], strict=True))
    assert got == {
        ("EC01", "7", "unchanged"),
        ("RD01", "8", "changed"),
        ("RD01", "3", "fixed"),
        ("SQ01", "2", "new"),
    }
    row = diff[diff["feature_id"] == "8"].iloc[0]
    assert (row["feature_id_before"], row["measured_before"]) == ("2", 60.0)
    assert np.isnan(diff[diff["feature_id"] == "2"]["measured_before"].iloc[0])


def test_diff_page_in_chinese_by_default(versions: tuple[Path, Path]) -> None:
    old, new = versions
    v1 = read_version(old, "hebi")
    v2 = read_version(new, "hebi")
    page = diff_html(diff_findings(v1.findings, v2.findings), v1, v2)
    assert '<html lang="zh-CN">' in page
    assert "已整改" in page and "新增问题" in page
    assert "修改版本仍有不符合的规则" in page
