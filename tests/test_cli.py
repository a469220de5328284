"""The command line on real files: outputs, exit codes, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import make_demo
import pytest
from click.testing import CliRunner
from helpers import DEMO
from shapely.geometry import box

import compliance
from compliance.cli import main

#: What `check --no-map` writes.
NO_MAP_FILES = [
    "findings.geojson",
    "findings.gpkg",
    "findings.xlsx",
    "opinion.docx",
    "report.html",
    "run.json",
    "summary.csv",
]


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


# ----------------------------------------------------------------------------- outputs
# (bad input: tests/test_bad_input.py)


def test_rerun_with_force_replaces_output(tmp_path):
    out = tmp_path / "out"
    run("check", str(DEMO), "--out", str(out), "--no-map")
    (out / "stale.txt").write_text("old")
    code, _, stderr = run("check", str(DEMO), "--out", str(out), "--no-map", "--force")
    assert (code, stderr) == (1, "")
    assert sorted(p.name for p in out.iterdir()) == NO_MAP_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary leftovers, no lock


def test_existing_output_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "out"
    run("check", str(DEMO), "--out", str(out), "--no-map")
    (out / "stale.txt").write_text("old")
    before = digest(out)
    code, stdout, stderr = run("check", str(DEMO), "--profile", "hebi", "--out", str(out))
    assert code == 2
    assert (
        stderr == f"compliance: error: {out} exists and is not empty; use --force to replace it\n"
    )
    assert "Traceback" not in stdout
    assert digest(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_empty_existing_output_directory_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code, _, _ = run("check", str(DEMO), "--out", str(out), "--no-map")
    assert code == 1
    assert (out / "findings.geojson").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_output_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    code, _, stderr = run("check", str(DEMO), "--out", str(out), "--no-map")
    assert code == 2
    assert (
        stderr == f"compliance: error: {out}: exists and is not a directory; choose another --out\n"
    )
    assert out.read_text() == "not a folder"


def _folder_scheme(tmp_path: Path) -> Path:
    folder = tmp_path / "scheme"
    folder.mkdir()
    gpd.GeoDataFrame(
        {"hard_area_m2": [5000.0]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:4547"
    ).to_file(folder / "squares.gpkg")
    return folder


def test_output_into_the_scheme_folder_is_refused(tmp_path):
    folder = _folder_scheme(tmp_path)
    before = digest(folder)
    code, _, stderr = run("check", str(folder), "--out", str(folder), "--no-map")
    assert code == 2 and stderr.count("\n") == 1
    assert "the output directory is the input; replacing it would delete the input" in stderr
    assert digest(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scheme"]


def test_output_containing_the_scheme_is_refused_even_with_force(tmp_path):
    folder = _folder_scheme(tmp_path)
    before = digest(tmp_path)
    code, _, stderr = run(
        "check", str(folder / "squares.gpkg"), "--out", str(tmp_path), "--force", "--no-map"
    )
    assert code == 2 and stderr.count("\n") == 1
    assert f"the output directory contains the input {folder / 'squares.gpkg'}" in stderr
    assert digest(tmp_path) == before


def _read_only_dir(tmp_path: Path) -> Path:
    """A folder this process cannot create anything in (root ignores modes: use /sys)."""
    import os

    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    for candidate in (folder, Path("/sys")):
        try:
            (candidate / "probe").mkdir()
        except OSError:
            return candidate
        (candidate / "probe").rmdir()
    os.chmod(folder, 0o755)
    pytest.skip("no read-only folder available")


def test_output_in_a_read_only_place_is_one_line_exit_2(tmp_path):
    parent = _read_only_dir(tmp_path)
    out = parent / "out"
    code, stdout, stderr = run("check", str(DEMO), "--out", str(out), "--no-map")
    assert code == 2
    assert stderr.startswith(f"compliance: error: {out}: cannot create the output directory")
    assert stderr.count("\n") == 1 and "Traceback" not in stdout + stderr
    assert not out.exists()


def _check_process(out: Path, profile: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "compliance.cli", "check", str(DEMO), "--profile", profile]
    return subprocess.Popen(
        [*cmd, "--out", str(out), "--no-map", "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_one_complete_output(out: Path, profiles: list[str]) -> str:
    """The output holds every file of one run, of one of ``profiles``; nothing else is left."""
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # no tmp, no .old, no lock
    assert sorted(p.name for p in out.iterdir()) == NO_MAP_FILES
    info = json.loads((out / "run.json").read_text("utf-8"))
    profile = info["profile"]
    assert profile in profiles
    with open(out / "summary.csv", encoding="utf-8", newline="") as fh:
        summary = list(csv.DictReader(fh))
    assert {r["profile"] for r in summary} == {profile}
    rules = {r["rule_id"] for r in summary}
    assert rules == set(compliance.load_profile(profile).rules)
    findings = gpd.read_file(out / "findings.geojson")
    assert set(findings["rule_id"]) <= rules
    expected = sum(int(r["failed"]) for r in summary if r["status"] in ("fail", "warn"))
    assert expected <= len(findings)
    return str(profile)


def test_concurrent_runs_with_force_leave_one_complete_output(tmp_path):
    out = tmp_path / "out"
    profiles = ["national", "hebi", "jiaozuo"]
    for _ in range(3):
        procs = [_check_process(out, p, "--force") for p in profiles]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        assert all(code in (0, 1) and err == "" for code, err in results), results
        _assert_one_complete_output(out, profiles)


def test_concurrent_runs_without_force_one_wins_the_others_refused(tmp_path):
    out = tmp_path / "out"
    profiles = ["national", "hebi", "jiaozuo"]
    procs = [_check_process(out, p) for p in profiles]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    winners = [p for p, (code, _) in zip(profiles, results, strict=True) if code in (0, 1)]
    losers = [err for code, err in results if code == 2]
    assert len(winners) == 1 and len(losers) == 2, results
    for err in losers:
        assert (
            err == f"compliance: error: {out} exists and is not empty; use --force to replace it\n"
        )
    assert _assert_one_complete_output(out, profiles) == winners[0]


def test_output_directory_follows_the_umask(tmp_path):
    import os

    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        run("check", str(DEMO), "--out", str(out), "--no-map")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755


def _write_with_slow_renames(
    result: compliance.Result, out: Path, barrier: Any, queue: Any
) -> None:
    """In a worker: write outputs with every rename slowed, so unserialised swaps collide."""
    import time

    from compliance.outputs.files import write_outputs

    rename = Path.rename

    def slow_rename(self: Path, target: Path) -> Path:
        moved = rename(self, target)
        time.sleep(0.2)
        return moved

    Path.rename = slow_rename  # only in this worker process
    barrier.wait()
    try:
        write_outputs(result, out, map_html=False, force=True)
        queue.put("ok")
    except Exception as exc:  # reported to the test, which fails on it
        queue.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_swaps_are_serialised(tmp_path, demo_national, demo_hebi):
    import multiprocessing

    from compliance.outputs.files import write_outputs

    out = tmp_path / "out"
    write_outputs(demo_national, out, map_html=False)  # an existing output to replace
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    results = [demo_national, demo_hebi, demo_national]
    procs = [
        ctx.Process(target=_write_with_slow_renames, args=(r, out, barrier, queue)) for r in results
    ]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcomes == ["ok", "ok", "ok"]
    _assert_one_complete_output(out, ["national", "hebi"])


def _console(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``compliance`` console script (``compliance.cli:run``) in a process of its own."""
    code = "import sys; from compliance.cli import run; sys.argv[0] = 'compliance'; run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_console_script_exits_with_the_status_and_flushes_a_pipe(tmp_path):
    # run() leaves through os._exit, past Python's teardown: the command's status,
    # its complete outputs and every line it wrote to a pipe must survive it.
    failed = _console("check", str(DEMO), "--profile", "national", "--out", str(tmp_path / "a"))
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.rstrip().endswith(f"outputs in {tmp_path / 'a'}")
    assert "CL01" in failed.stdout and failed.stderr == ""
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted([*NO_MAP_FILES, "map.html"])

    bad = _console("check", str(tmp_path / "missing.gpkg"), "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("compliance: error: ") and bad.stderr.count("\n") == 1

    listed = _console("profiles")
    assert listed.returncode == 0 and "hebi" in listed.stdout.split()
