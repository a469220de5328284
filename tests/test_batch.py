"""Batch checks (compliance.batch): parallel runs, errors recorded, resume by hash, overview map."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import compliance
from compliance.batch import (
    BATCH_COLUMNS,
    OVERVIEW_FILE,
    STATE_FILE,
    SUMMARY_FILE,
    load_state,
    plan_jobs,
    read_manifest,
    run_batch,
)
from compliance.engine import SUMMARY_COLUMNS
from compliance.errors import InputError
from compliance.outputs.files import write_outputs

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"
GUIXI = ROOT / "sample_data" / "jiangxi_guixi" / "scheme.gpkg"
POPULATION = ROOT / "sample_data" / "rasters" / "demo_population.tif"


def _copies(folder: Path, *names: str) -> None:
    (folder / "copies").mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(DEMO, folder / "copies" / f"{name}.gpkg")


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, compliance.batch.BatchResult]:
    """All sample places, two copies of the demo and a broken path, checked once."""
    folder = tmp_path_factory.mktemp("province")
    _copies(folder, "淇滨区", "山城区")
    (folder / "manifest.csv").write_text(
        "scheme,profile,year,name,population_raster\n"
        f"{DEMO},hebi,2025,,{POPULATION}\n"
        f"{NANJING},national,,,\n"
        f"{GUIXI},jiaozuo,,,\n"
        "copies/淇滨区.gpkg,hebi,2030,,\n"
        "copies/山城区.gpkg,alxa,,shancheng,\n"
        "missing/鹿楼乡.gpkg,hebi,,,\n",
        encoding="utf-8",
    )
    result = run_batch(
        folder / "manifest.csv", folder / "out", processes=False, workers=2, progress=False
    )
    return folder, result


def _single(scheme: Path, profile: str, year: int | None, rasters: dict, out: Path) -> Path:
    result = compliance.check(scheme, profile, year=year, rasters=rasters)
    write_outputs(result, out, map_html=False)
    return out / "summary.csv"


def test_batch_summary_equals_single_runs(province, tmp_path):
    folder, result = province
    summary = pd.read_csv(folder / "out" / SUMMARY_FILE, dtype=object, keep_default_na=False)
    assert list(summary.columns) == [*BATCH_COLUMNS, *SUMMARY_COLUMNS]
    assert list(summary.columns[-2:]) == ["note_zh", "inherited_from"]
    ur01 = summary[(summary["scheme_name"] == "demo") & (summary["rule_id"] == "UR01")]
    assert ur01["note_zh"].tolist() == ["方案缺少城市更新单元图层 renewal_units"]
    bh01 = summary[(summary["scheme_name"] == "demo") & (summary["rule_id"] == "BH01")]
    assert bh01[["status", "note_zh"]].values.tolist() == [["pass", "未检查 1 项：非新建 1 栋"]]
    expected = [
        ("demo", DEMO, "hebi", 2025, {"population": POPULATION}),
        ("nanjing_xinjiekou_scheme", NANJING, "national", None, {}),
        ("jiangxi_guixi_scheme", GUIXI, "jiaozuo", None, {}),
        ("淇滨区", folder / "copies" / "淇滨区.gpkg", "hebi", 2030, {}),
        ("shancheng", folder / "copies" / "山城区.gpkg", "alxa", None, {}),
    ]
    assert list(dict.fromkeys(summary["scheme_name"])) == [e[0] for e in expected] + ["鹿楼乡"]
    for name, scheme, profile, year, rasters in expected:
        single = _single(scheme, profile, year, rasters, tmp_path / name)
        # the per-scheme outputs are those of `check`, byte for byte
        assert (folder / "out" / name / "summary.csv").read_bytes() == single.read_bytes()
        want = pd.read_csv(single, dtype=object, keep_default_na=False)
        got = summary[summary["scheme_name"] == name]
        assert (got["run_status"] == "ok").all()
        assert (got["scheme_profile"] == profile).all()
        pd.testing.assert_frame_equal(got[SUMMARY_COLUMNS].reset_index(drop=True), want)
    # the raster reached the worker: CL03 of the demo differs without it
    assert (folder / "out" / "demo" / "map.html").is_file()
    assert result.schemes["status"].tolist() == ["ok"] * 5 + ["error"]


def test_broken_scheme_recorded_and_batch_goes_on(province):
    folder, result = province
    row = result.schemes.set_index("name").loc["鹿楼乡"]
    assert row["status"] == "error"
    assert "鹿楼乡.gpkg: no such file or folder" in row["error"]
    summary = pd.read_csv(folder / "out" / SUMMARY_FILE, dtype=object, keep_default_na=False)
    broken = summary[summary["scheme_name"] == "鹿楼乡"]
    assert len(broken) == 1
    assert broken.iloc[0]["run_status"] == "error"
    assert "no such file or folder" in broken.iloc[0]["run_error"]
    assert broken.iloc[0]["rule_id"] == ""
    assert result.exit_code == 2  # a scheme could not be checked
    assert not (folder / "out" / "鹿楼乡").exists()


def test_rerun_skips_unchanged_schemes(province):
    folder, first = province
    before = {p: p.stat().st_mtime_ns for p in (folder / "out").glob("*/summary.csv")}
    again = run_batch(folder / "manifest.csv", folder / "out", processes=False, progress=False)
    assert again.schemes["reused"].all()
    assert again.notes == ["6 schemes unchanged since the last run, not checked again"]
    assert {p: p.stat().st_mtime_ns for p in (folder / "out").glob("*/summary.csv")} == before
    pd.testing.assert_frame_equal(again.summary, first.summary)


def test_overview_map_shows_each_scheme_and_its_counts(province):
    folder, result = province
    page = (folder / "out" / OVERVIEW_FILE).read_text(encoding="utf-8")
    for name, n in zip(result.schemes["name"], result.schemes["violations"], strict=True):
        if name == "鹿楼乡":
            assert "未能审查 not checked" in page and "鹿楼乡: " in page
            continue
        assert f"{name}: {n}" in page  # tooltip: name and number of violations
        assert f"{name}/map.html" in page  # link to the scheme's own map
    demo = result.schemes.set_index("name").loc["demo", "violations"]
    failed = pd.to_numeric(result.summary.query("scheme_name == 'demo'")["failed"]).sum()
    assert demo == failed > 0
    assert json.dumps("违规数 violations") in page  # the legend's caption, in the page's script


def test_changed_input_reruns_only_that_scheme(tmp_path):
    _copies(tmp_path, "a", "b")
    (tmp_path / "m.csv").write_text(
        "scheme,profile\ncopies/a.gpkg,hebi\ncopies/b.gpkg,hebi\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    kw = {"processes": False, "workers": 2, "progress": False, "map_html": False}
    first = run_batch(tmp_path / "m.csv", out, **kw)
    sq = first.summary.set_index(["scheme_name", "rule_id"])
    assert sq.loc[("a", "SQ01"), "worst"] == "2.5"  # plaza Q1, 25,000 m2
    squares = gpd.read_file(tmp_path / "copies" / "a.gpkg", layer="squares")
    squares.loc[squares["hard_area_m2"] == 25_000, "hard_area_m2"] = 31_000.0
    squares.to_file(tmp_path / "copies" / "a.gpkg", layer="squares", driver="GPKG")
    second = run_batch(tmp_path / "m.csv", out, **kw)
    assert second.schemes.set_index("name")["reused"].to_dict() == {"a": False, "b": True}
    sq = second.summary.set_index(["scheme_name", "rule_id"])
    assert sq.loc[("a", "SQ01"), "worst"] == "3.1"
    assert sq.loc[("b", "SQ01"), "worst"] == "2.5"
    forced = run_batch(tmp_path / "m.csv", out, force=True, **kw)
    assert not forced.schemes["reused"].any()


def test_interrupted_batch_resumes(tmp_path):
    _copies(tmp_path, "a", "b", "c", "d")
    (tmp_path / "m.yaml").write_text(
        "schemes:\n"
        + "".join(f"  - scheme: copies/{n}.gpkg\n    profile: national\n" for n in "abcd"),
        encoding="utf-8",
    )
    kw = {"processes": False, "workers": 1, "progress": False, "map_html": False}
    done: list[str] = []

    def stop_after_two(outcome: dict) -> None:
        done.append(outcome["name"])
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(tmp_path / "m.yaml", tmp_path / "out", on_result=stop_after_two, **kw)
    assert sorted(load_state(tmp_path / "out")) == sorted(done)
    resumed = run_batch(tmp_path / "m.yaml", tmp_path / "out", **kw)
    reused = resumed.schemes.set_index("name")["reused"]
    assert sorted(reused[reused].index) == sorted(done)
    assert resumed.schemes["status"].eq("ok").all()
    run_batch(tmp_path / "m.yaml", tmp_path / "fresh", **kw)
    assert (tmp_path / "out" / SUMMARY_FILE).read_bytes() == (
        tmp_path / "fresh" / SUMMARY_FILE
    ).read_bytes()


def test_batch_on_worker_processes(tmp_path, capsys):
    _copies(tmp_path, "a", "b")
    (tmp_path / "m.csv").write_text(
        "scheme,profile\ncopies/a.gpkg,national\ncopies/b.gpkg,hebi\n", encoding="utf-8"
    )
    result = run_batch(
        tmp_path / "m.csv", tmp_path / "out", workers=2, progress="always", map_html=False
    )
    assert result.schemes["status"].tolist() == ["ok", "ok"]
    assert result.exit_code == 1  # rules fail in the demo
    assert "2/2" in capsys.readouterr().err  # the progress bar: schemes done / total
    state = load_state(tmp_path / "out")
    assert set(state) == {"a", "b"} and all(len(s["digest"]) == 64 for s in state.values())
    assert (tmp_path / "out" / STATE_FILE).is_file()


#: What a worker process holds before its first task, as an expression: evaluated by
#: the builtin ``eval`` on each worker, nothing of this module is sent (unpickling a
#: function of this module would import the checker on the worker).
WORKER_START = (
    "{'preloaded': all(m in __import__('sys').modules"
    " for m in ('compliance.engine', 'compliance.outputs.map')),"
    " 'omp': __import__('os').environ.get('OMP_NUM_THREADS'),"
    " 'ctrl_c_ignored': __import__('signal').getsignal(2) == __import__('signal').SIG_IGN}"
)


def test_local_workers_start_with_the_checker_imported():
    """Workers fork from a server that imported the checker once, with dask's environment."""
    from compliance.batch import _client

    client, cluster = _client(None, 2, True)
    try:
        seen = list(client.run(eval, WORKER_START).values())
    finally:
        client.close()
        cluster.close()
    assert len(seen) == 2
    assert all(s["preloaded"] for s in seen)  # no worker imports it again
    assert all(s["omp"] == "1" for s in seen)  # dask's pre-spawn environment
    assert all(s["ctrl_c_ignored"] for s in seen)  # Ctrl-C is for the batch, not the workers


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.csv", "scheme,profile\na.gpkg,hebi\nb.gpkg,\n", "m.csv:3: profile: "),
        ("m.csv", "scheme,profile,colour\na.gpkg,hebi,red\n", "m.csv:2: colour: Extra inputs"),
        ("m.csv", "scheme,profile\na.gpkg,gotham\n", "m.csv:2: profile 'gotham' is unknown"),
        (
            "m.csv",
            "scheme,profile,name\na.gpkg,hebi,x\nb.gpkg,hebi,x\n",
            "m.csv:3: name 'x' is already used on line 2",
        ),
        (
            "m.yaml",
            "- scheme: a.gpkg\n  profile: hebi\n- scheme: b.gpkg\n  profile: hebi\n  yaer: 2025\n",
            "m.yaml:3: yaer: Extra inputs",
        ),
        ("m.yaml", "- scheme: a.gpkg\n  profile: hebi\n  year: soon\n", "m.yaml:1: year: "),
        ("m.txt", "a.gpkg hebi\n", "a manifest is a .csv or .yaml file"),
    ],
)
def test_manifest_errors_name_the_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        run_batch(tmp_path / name, tmp_path / "out", processes=False, progress=False)
    assert not (tmp_path / "out").exists()


def test_manifest_names_are_unique_and_from_the_paths(tmp_path):
    (tmp_path / "m.csv").write_text(
        "scheme,profile,year\n"
        "north/scheme.gpkg,hebi,\n"
        "south/scheme.gpkg,hebi,\n"
        "x/demo.gpkg,hebi,2025\n"
        "x/demo.gpkg,hebi,2030\n",
        encoding="utf-8",
    )
    from compliance.batch import plan_jobs

    jobs = plan_jobs(tmp_path / "m.csv", tmp_path / "out")
    assert [j.name for j in jobs] == [
        "north_scheme",
        "south_scheme",
        "x_demo_hebi_2025",
        "x_demo_hebi_2030",
    ]
    assert [line for line, _ in read_manifest(tmp_path / "m.csv")] == [2, 3, 4, 5]


def test_batch_sent_to_an_existing_cluster(tmp_path):
    from dask.distributed import LocalCluster

    _copies(tmp_path, "a")
    (tmp_path / "m.csv").write_text("scheme,profile\ncopies/a.gpkg,national\n", encoding="utf-8")
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        result = run_batch(
            tmp_path / "m.csv",
            tmp_path / "out",
            scheduler=cluster.scheduler_address,
            progress=False,
            map_html=False,
        )
        assert cluster.scheduler is not None and cluster.status.name == "running"  # left running
    assert result.schemes["status"].tolist() == ["ok"]
    assert (tmp_path / "out" / "a" / "summary.csv").is_file()


def test_ctrl_c_stops_a_batch_on_worker_processes_with_one_line(tmp_path):
    """Ctrl-C reaches the whole process group: the workers of the local cluster too."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _copies(tmp_path, "a", "b", "c", "d", "e", "f")
    (tmp_path / "m.csv").write_text(
        "scheme,profile\n" + "".join(f"copies/{n}.gpkg,national\n" for n in "abcdef"),
        encoding="utf-8",
    )
    cmd = [sys.executable, "-m", "compliance.cli", "batch", str(tmp_path / "m.csv")]
    cmd += ["--out", str(tmp_path / "out"), "--workers", "2", "--no-progress"]
    # The batch starts as from a terminal: Ctrl-C not ignored (a child inherits an ignored one).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if len(load_state(tmp_path / "out")) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    done = set(load_state(tmp_path / "out"))
    assert proc.returncode == 2, (stdout, stderr, sorted(done), inherited)
    assert stderr == (
        f"compliance: error: interrupted; the schemes checked so far are kept in "
        f"{tmp_path / 'out'}, and the same command resumes with the others\n"
    )
    assert 1 <= len(done) < 6
    resumed = run_batch(tmp_path / "m.csv", tmp_path / "out", processes=False, progress=False)
    reused = resumed.schemes.set_index("name")["reused"]
    assert set(reused[reused].index) == done and resumed.schemes["status"].eq("ok").all()


# --------------------------------------------------------------------------- issue 15


def test_a_manifest_saved_as_gbk_by_excel_is_read(tmp_path):
    _copies(tmp_path, "淇滨区")
    text = "scheme,profile,name\ncopies/淇滨区.gpkg,hebi,淇滨区\n"
    (tmp_path / "m.csv").write_bytes(text.encode("gbk"))
    jobs = plan_jobs(tmp_path / "m.csv", tmp_path / "out")
    assert [(j.name, Path(j.scheme).name) for j in jobs] == [("淇滨区", "淇滨区.gpkg")]


@pytest.mark.parametrize("where", ["exceptions", "scheme", "manifest"])
def test_a_batch_input_inside_a_scheme_output_folder_is_refused_before_anything(tmp_path, where):
    """The batch replaces OUT/<name>/: an input there would be deleted with it."""
    from compliance.cli import main

    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    shutil.copy(DEMO, out / "a" / "a.gpkg" if where == "scheme" else tmp_path / "a.gpkg")
    scheme = "out/a/a.gpkg" if where == "scheme" else "a.gpkg"
    ex = ""
    if where == "exceptions":
        (out / "a" / "ex.csv").write_text("rule_id,feature_id,reason,approval_ref\n", "utf-8")
        ex = "out/a/ex.csv"
    manifest = (out / "a" if where == "manifest" else tmp_path) / "m.csv"
    rel = "../../" if where == "manifest" else ""
    manifest.write_text(
        f"scheme,profile,name,exceptions\n{rel}{scheme},hebi,a,{rel + ex if ex else ''}\n",
        encoding="utf-8",
    )
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    res = CliRunner().invoke(main, ["batch", str(manifest), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert res.stderr.count("\n") == 1 and "replacing it would delete the input" in res.stderr
    assert "output folder of scheme 'a'" in res.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_scheme_folder_holding_the_users_files_is_replaced_only_with_force(tmp_path):
    _copies(tmp_path, "a", "b")
    (tmp_path / "m.csv").write_text(
        "scheme,profile\ncopies/a.gpkg,hebi\ncopies/b.gpkg,hebi\n", encoding="utf-8"
    )
    notes = tmp_path / "out" / "a" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("my review notes", encoding="utf-8")
    kw: dict[str, Any] = {"progress": False, "processes": False, "workers": 1, "map_html": False}
    first = run_batch(tmp_path / "m.csv", tmp_path / "out", **kw)
    a, b = first.schemes.set_index("name").loc[["a", "b"]].to_dict("records")
    assert (a["status"], b["status"]) == ("error", "ok")
    assert "exists and is not empty; use --force" in a["error"]
    assert notes.read_text(encoding="utf-8") == "my review notes"
    assert load_state(tmp_path / "out")["a"]["kind"] == "output"  # not the input's fault
    again = run_batch(tmp_path / "m.csv", tmp_path / "out", force=True, **kw)
    assert again.schemes["status"].tolist() == ["ok", "ok"]
    assert not notes.exists()  # replaced, as asked with --force


def test_an_output_failure_is_recorded_as_retryable_and_retried(tmp_path, monkeypatch):
    import errno

    from compliance import batch
    from compliance.outputs import files

    _copies(tmp_path, "a")
    (tmp_path / "m.csv").write_text("scheme,profile\ncopies/a.gpkg,hebi\n", encoding="utf-8")
    (job,) = plan_jobs(tmp_path / "m.csv", tmp_path / "out", map_html=False)

    def full(*args: Any, **kw: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_summary", full)
    outcome = batch.check_one(job)
    assert (outcome["status"], outcome["kind"], outcome["exit_code"]) == ("error", "output", 2)
    assert "no space left on the device" in outcome["error"]
    assert not batch.is_current(job, outcome)  # the next run checks it again
    assert not (tmp_path / "out" / "a").exists()
    monkeypatch.undo()
    retried = batch.check_one(job)
    assert retried["status"] == "ok" and batch.is_current(job, retried)


def test_a_billion_laughs_yaml_manifest_is_refused(tmp_path):
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="refused"):
        plan_jobs(tmp_path / "m.yaml", tmp_path / "out")
