"""``compliance watch``: re-checks on save, pushes to the page, survives a half-written file.

The round trip runs in headless Chromium (the project's browser tests: see
``tests/test_browser.py``, which this module borrows its fixture from): the
page is opened, the GeoPackage is edited as an editor saves it, and the
page's lists change without a reload.  The latency is measured by
``benchmarks/watch_latency.py``, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import DEMO, ROOT
from test_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, REQUIRED, _missing
from test_diff import edit_gpkg

import compliance
from compliance.outputs.files import findings_for_output
from compliance.watch import Watcher, evaluate_incremental, shutdown_server, start_server

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

#: The save: road RA 60 → 30 m fixes RD01 on RA; road RB 30 → 50 m breaks it on RB.
SAVE = """
UPDATE roads SET red_line_width_m = 30 WHERE id = 'RA';
UPDATE roads SET red_line_width_m = 50 WHERE id = 'RB';
"""
WAIT_S = 20.0


def _keys(items: list[dict[str, Any]]) -> set[str]:
    return {f"{it['rule_id']}|{it['feature_id']}" for it in items}


@pytest.fixture
def scheme(tmp_path: Path) -> Path:
    copy = tmp_path / "scheme.gpkg"
    shutil.copy(DEMO, copy)
    return copy


@pytest.fixture
def served(scheme: Path) -> Iterator[tuple[Watcher, str]]:
    """A watcher of a copy of the demo (hebi), checked once, its page served, saves watched."""
    watcher = Watcher(scheme, "hebi")
    server, url = start_server(watcher, 0)
    watcher.recheck()
    stop = threading.Event()
    thread = threading.Thread(target=watcher.watch, args=(stop, lambda s: None), daemon=True)
    thread.start()
    time.sleep(0.3)  # the watch is set up
    try:
        yield watcher, url
    finally:
        stop.set()
        thread.join(10)
        shutdown_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium as in ``tests/test_browser.py``; 127.0.0.1 alone resolves."""
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"COMPLIANCE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--host-resolver-rules")]
    flags.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="compliance-chromium-") as profile:
        for flag in (*flags, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            yield driver
        finally:
            driver.quit()


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_watcher_reports_fixed_new_and_open_and_keeps_the_last_good_result(scheme: Path) -> None:
    watcher = Watcher(scheme, "hebi")
    first = watcher.recheck()
    assert first["error"] == "" and first["fixed"] == [] and first["new"] == []
    assert {"RD01|RA", "SQ01|Q1", "EC01|C2"} <= _keys(first["open"])
    cached = dict(watcher._cache)
    edit_gpkg(scheme, SAVE)
    second = watcher.recheck()
    # Only the edited layer of the GeoPackage was read again.
    assert [key[0] for key, hit in watcher._cache.items() if cached[key] is not hit] == ["roads"]
    assert _keys(second["fixed"]) == {"RD01|RA"}
    assert _keys(second["new"]) == {"RD01|RB"}
    assert "RD01|RA" not in _keys(second["open"]) and "SQ01|Q1" in _keys(second["open"])
    # A second event of the same save changes nothing: the page keeps the save's lists.
    repeat = watcher.recheck()
    assert repeat["version"] == second["version"] and _keys(repeat["fixed"]) == {"RD01|RA"}
    # Only the rules that read the roads ran again; the others were kept.
    assert "RD01" in watcher.rules_run and "SQ01" not in watcher.rules_run
    assert "GR01" not in watcher.rules_run
    # A half-written save: the reason, one line, and the last good result kept.
    good = scheme.read_bytes()
    scheme.write_bytes(good[:4096])
    broken = watcher.recheck()
    assert "truncated" in broken["error"] and "\n" not in broken["error"]
    assert broken["version"] == second["version"] + 1
    assert _keys(broken["open"]) == _keys(second["open"])
    assert _keys(broken["new"]) == {"RD01|RB"}
    scheme.write_bytes(good)
    again = watcher.recheck()
    assert again["error"] == "" and again["fixed"] == [] and again["new"] == []


def test_folder_scheme_rechecks_when_one_file_is_saved_and_reads_only_that_file(
    tmp_path: Path,
) -> None:
    import pyogrio

    folder = tmp_path / "scheme"
    folder.mkdir()
    for name, geom in pyogrio.list_layers(DEMO):
        if geom is not None:
            gdf = pyogrio.read_dataframe(DEMO, layer=name)
            pyogrio.write_dataframe(gdf, folder / f"{name}.geojson")
    watcher = Watcher(folder, "hebi")
    first = watcher.recheck()
    assert "SQ01|Q1" in _keys(first["open"])
    cached = dict(watcher._cache)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.watch, args=(stop, lambda s: None), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        squares = pyogrio.read_dataframe(folder / "squares.geojson")
        squares.loc[squares["id"] == "Q1", "hard_area_m2"] = 5000.0  # 0.5 ha: fixed
        tmp = folder / ".squares.tmp.geojson"
        pyogrio.write_dataframe(squares, tmp, driver="GeoJSON")
        tmp.replace(folder / "squares.geojson")  # saved as editors do: written, renamed
        state = watcher.wait_for(first["version"], WAIT_S)
    finally:
        stop.set()
        thread.join(10)
    assert _keys(state["fixed"]) == {"SQ01|Q1"} and state["new"] == []
    assert watcher.rules_run == ["SQ01"]
    reread = [key[0] for key, hit in watcher._cache.items() if cached.get(key) is not hit]
    assert reread == ["squares"]


def test_incremental_evaluation_equals_a_full_check(scheme: Path) -> None:
    watcher = Watcher(scheme, "hebi")
    watcher.recheck()
    edit_gpkg(scheme, SAVE)
    watcher.recheck()  # runs the roads' rules, keeps the others
    full = compliance.check(scheme, "hebi")
    runs = watcher._runs
    kept, ran = evaluate_incremental(full.scheme, watcher.profile, runs)
    assert ran == []  # nothing changed since the last check
    pd.testing.assert_frame_equal(
        full.findings.drop(columns="geometry"), kept.findings.drop(columns="geometry")
    )
    a, b = full.findings.geometry, kept.findings.geometry
    assert (a.geom_equals_exact(b, 1e-9) | (a.isna() & b.isna())).all()
    pd.testing.assert_frame_equal(full.summary, kept.summary)


def test_findings_geojson_and_events_are_served_on_localhost(
    served: tuple[Watcher, str], scheme: Path
) -> None:
    _, url = served
    assert url.startswith("http://127.0.0.1:")
    served_findings = json.loads(_get(url + "findings.geojson"))
    expected = findings_for_output(compliance.check(scheme, "hebi"))
    props = [f["properties"] for f in served_findings["features"]]
    assert len(props) == len(expected)
    assert set(props[0]) == set(expected.columns) - {"geometry"}
    assert {(p["rule_id"], p["feature_id"]) for p in props} == set(
        zip(expected["rule_id"], expected["feature_id"], strict=True)
    )
    page = _get(url).decode("utf-8")
    assert "/assets/leaflet.js" in page and "unpkg" not in page and "cdn" not in page.lower()
    assert _get(url + "assets/leaflet.js").startswith(b"/* @preserve")
    # The event stream sends the state on connecting, then after the save.
    with urllib.request.urlopen(url + "events", timeout=WAIT_S) as stream:
        events: list[dict[str, Any]] = []

        def read() -> None:
            data = ""
            for raw in stream:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data:
                    events.append(json.loads(data))
                    data = ""
                    if len(events) == 2:
                        return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + WAIT_S
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        edit_gpkg(scheme, SAVE)
        reader.join(WAIT_S)
    assert len(events) == 2, events
    assert _keys(events[1]["fixed"]) == {"RD01|RA"} and _keys(events[1]["new"]) == {"RD01|RB"}
    now = json.loads(_get(url + "findings.geojson"))
    rb = [f for f in now["features"] if f["properties"]["feature_id"] == "RB"]
    assert rb and rb[0]["properties"]["measured"] == 50.0


def test_watch_command_ends_cleanly_on_ctrl_c(scheme: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["watch", str(scheme), "-p", "hebi", "--port", "0", "--no-browser"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if " checked in " in line or not line:
            break
    assert any("http://127.0.0.1:" in line for line in lines), lines
    assert any(" checked in " in line for line in lines), lines
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().splitlines()[-1] == "compliance watch: stopped"
    assert "Traceback" not in err and "Traceback" not in out


# --- the page in a browser --------------------------------------------------------------------


def _list(driver: WebDriver, which: str) -> set[str]:
    keys = driver.execute_script(
        "return Array.prototype.map.call("
        f"  document.querySelectorAll('#{which} li[data-key]'),"
        "  function (li) { return li.getAttribute('data-key'); });"
    )
    return {str(k) for k in keys}


def test_page_shows_what_a_save_fixed_and_caused_without_reloading(
    browser: WebDriver,
    served: tuple[Watcher, str],
    scheme: Path,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    _, url = served
    browser.get(url)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-version')"),
        message="the page never received the first check",
    )
    browser.execute_script("window.ccNotReloaded = true;")
    assert "RD01|RA" in _list(browser, "open") and not _list(browser, "new")
    drawn = browser.execute_script("return window.ccState.features.features.length")
    assert drawn == len(browser.execute_script("return window.ccState.all"))

    edit_gpkg(scheme, SAVE)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "RD01|RB" in _list(d, "new"), message="the save never reached the page"
    )
    assert _list(browser, "fixed") == {"RD01|RA"}
    assert _list(browser, "new") == {"RD01|RB"}
    assert "RD01|RA" not in _list(browser, "open") and "SQ01|Q1" in _list(browser, "open")
    assert browser.execute_script("return window.ccNotReloaded === true")
    text = browser.find_element("id", "new").text
    assert "建设路" in text and "50.0" in text
    # the fixed violation is still drawn (dashed green), the new one in RD01's colour
    changes = browser.execute_script(
        "return window.ccState.features.features.filter(function (f) {"
        " return f.properties.rule_id === 'RD01'; }).map(function (f) {"
        " return f.properties.feature_id + ':' + f.properties.change; });"
    )
    assert set(changes) >= {"RA:fixed", "RB:new"}
    browser.save_screenshot(str(tmp_path / "watch.png"))

    good = scheme.read_bytes()
    scheme.write_bytes(good[:4096])  # a half-written save
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "truncated" in d.find_element("id", "error").text,
        message="the unreadable save never showed its reason",
    )
    assert browser.find_element("id", "error").is_displayed()
    assert _list(browser, "new") == {"RD01|RB"}  # the last good result stays
    scheme.write_bytes(good)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: not d.find_element("id", "error").is_displayed(),
        message="the error stayed after a good save",
    )


def test_watch_bad_input_is_one_line_and_exit_2(scheme: Path, tmp_path: Path) -> None:
    import socket

    from click.testing import CliRunner

    from compliance.cli import main

    runner = CliRunner()
    missing = runner.invoke(main, ["watch", str(tmp_path / "nope.gpkg"), "--no-browser"])
    assert missing.exit_code == 2
    assert "nope.gpkg: no such file or folder" in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = runner.invoke(
            main, ["watch", str(scheme), "--port", str(port), "--no-browser", "-p", "hebi"]
        )
    assert busy.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in busy.output and "--port" in busy.output
    assert "Traceback" not in busy.output


def test_watch_rechecks_a_dxf_drawing_when_it_is_saved(tmp_path: Path) -> None:
    import ezdxf
    from test_formats import write_site_plan

    dxf = write_site_plan(tmp_path / "总平面图.dxf")
    watcher = Watcher(dxf, "hebi")
    first = watcher.recheck()
    assert first["error"] == ""
    towers = [it for it in first["open"] if it["rule_id"] == "BH04"]
    assert len(towers) == 1 and "26" in towers[0]["message"]
    stop = threading.Event()
    thread = threading.Thread(target=watcher.watch, args=(stop, lambda s: None), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        # The designer lowers tower 1# to 16 floors and raises the 6-floor house to 20.
        doc = ezdxf.readfile(dxf)
        for entity in doc.modelspace().query("TEXT"):
            if entity.dxf.text == "1#住宅 26F":
                entity.dxf.text = "1#住宅 16F"
        for ref in doc.modelspace().query("INSERT"):
            ref.get_attrib("层数").dxf.text = "20"
        doc.saveas(dxf)
        state = watcher.wait_for(first["version"], WAIT_S)
    finally:
        stop.set()
        thread.join(10)
    assert state["error"] == ""
    assert [it["rule_id"] for it in state["fixed"]] == ["BH04"]
    assert "26" in state["fixed"][0]["message"]
    assert [it["rule_id"] for it in state["new"]] == ["BH04"]
    assert "20" in state["new"][0]["message"]
