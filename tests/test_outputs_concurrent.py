"""The files of a run written at once: the same files as one by one, and a failure still
leaves nothing behind and names the file written first one by one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from compliance.engine import Result
from compliance.errors import OutputError
from compliance.outputs import files, report, workbook
from compliance.outputs.files import write_outputs


def _contents(folder: Path) -> dict[str, bytes]:
    # run.json and the office files hold no time; report.html the date only
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.suffix in (".geojson", ".csv", ".html", ".json")
    }


def test_threads_write_what_one_writes(demo_hebi: Result, tmp_path: Path) -> None:
    write_outputs(demo_hebi, tmp_path / "one", threads=1, map_html=False)
    write_outputs(demo_hebi, tmp_path / "many", threads=4, map_html=False)
    one, many = _contents(tmp_path / "one"), _contents(tmp_path / "many")
    assert set(one) == {"findings.geojson", "summary.csv", "report.html", "run.json"}
    assert one == many
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(
        p.name for p in (tmp_path / "many").iterdir()
    )


def test_the_first_failure_in_writing_order_is_raised_and_nothing_is_left(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_outputs(demo_hebi, out, map_html=False)
    before = _contents(out)
    both_failed = threading.Barrier(2, timeout=30)

    def gpkg_fails(*args: object, **kwargs: object) -> None:
        both_failed.wait()  # the workbook fails too, at the same time
        raise OutputError("the GeoPackage failed")

    def workbook_fails(*args: object, **kwargs: object) -> None:
        both_failed.wait()
        raise OutputError("the workbook failed")

    monkeypatch.setattr(report, "write_findings_gpkg", gpkg_fails)
    monkeypatch.setattr(workbook, "write_workbook", workbook_fails)
    with pytest.raises(OutputError, match="GeoPackage"):
        write_outputs(demo_hebi, out, map_html=False, force=True, threads=4)
    assert _contents(out) == before  # the previous output, intact
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left


def test_writers_default_to_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files.os, "cpu_count", lambda: 16)
    assert files._writers(None) == files.MAX_WRITERS
    monkeypatch.setattr(files.os, "cpu_count", lambda: None)
    assert files._writers(None) == 1
    assert files._writers(0) == 1 and files._writers(3) == 3


def test_one_by_one_the_first_failure_is_raised_too(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(what: str):  # type: ignore[no-untyped-def]
        def writer(*args: object, **kwargs: object) -> None:
            raise OutputError(f"the {what} failed")

        return writer

    monkeypatch.setattr(workbook, "write_workbook", fails("workbook"))
    monkeypatch.setattr(report, "write_findings_gpkg", fails("GeoPackage"))
    with pytest.raises(OutputError, match="GeoPackage"):
        write_outputs(demo_hebi, tmp_path / "out", map_html=False)  # a small run: one by one
    assert list(tmp_path.iterdir()) == []


def test_small_runs_are_written_one_by_one() -> None:
    assert files._writers(None, files.PARALLEL_MIN_FINDINGS - 1) == 1
