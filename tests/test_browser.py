"""The pages as a reviewer sees them: ``map.html`` and ``report.html`` in headless Chromium.

Selenium drives the Debian packages ``chromium`` and ``chromium-driver``
(``/usr/bin/chromium``, ``/usr/bin/chromedriver``; ``COMPLIANCE_CHROMIUM`` and
``COMPLIANCE_CHROMEDRIVER`` point elsewhere).  The driver is given by path, so
Selenium Manager never looks for or downloads a browser.  The tests skip,
saying why, where the browser, its driver, ``selenium`` or ``Pillow`` is
missing; with ``COMPLIANCE_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once it has
installed Chromium) they fail instead.

The demo is rendered with ``offline=True`` (Leaflet inlined) and no basemap, and
Chromium resolves no host names, so nothing leaves the machine.  Screenshots are
saved in the test's temporary directory (``pytest --basetemp DIR`` keeps them
where you want to look).
"""

from __future__ import annotations

import importlib.util
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from compliance.engine import Result
from compliance.outputs.map import RULE_COLOURS, render_map

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path(os.environ.get("COMPLIANCE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("COMPLIANCE_CHROMEDRIVER", "/usr/bin/chromedriver"))
REQUIRED = os.environ.get("COMPLIANCE_REQUIRE_BROWSER") == "1"
WINDOW = (1400, 1000)
WAIT_S = 10.0

#: Chromium without a sandbox (containers), a GPU, or any background traffic; no
#: host name resolves, so a page that reached for the network would show it.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium chromium-driver (.ci/run does)"
    if not CHROMEDRIVER.exists():
        return f"no ChromeDriver at {CHROMEDRIVER}: apt-get install chromium-driver"
    for module, package in (("selenium", "selenium"), ("PIL", "pillow")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="module")
def site(demo_hebi: Result, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's pages in one folder: map.html, map_osm.html and, when it exists, report.html."""
    out = tmp_path_factory.mktemp("browser")
    pages = {"dir": out, "map": out / "map.html", "map_osm": out / "map_osm.html"}
    render_map(demo_hebi, pages["map"], basemap="none", offline=True)
    render_map(demo_hebi, pages["map_osm"], basemap="osm", offline=True)
    if importlib.util.find_spec("compliance.outputs.report") is not None:
        from compliance.outputs.report import render_report  # type: ignore[import-not-found]

        pages["report"] = out / "report.html"
        render_report(demo_hebi, pages["report"], lang="zh", map_href="map.html")
    return pages


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"COMPLIANCE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="compliance-chromium-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            yield driver
        finally:
            driver.quit()


# --- helpers ----------------------------------------------------------------------------------


def _open(driver: WebDriver, path: Path, fragment: str = "") -> None:
    """Load a page afresh (a hash-only change would not reload it) and wait for the map."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(path.as_uri() + fragment)
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script(
            "return document.documentElement.getAttribute('data-cc-ready') === '1'"
            " && !window.ccViolations.map._animatingZoom"
        ),
        message=f"{path.name}: the map never became ready",
    )


def _popup(driver: WebDriver, feature: str) -> dict[str, str]:
    """The rows of the open popup (label: value), once it is the popup of ``feature``."""
    from selenium.webdriver.support.ui import WebDriverWait

    def rows(d: Any) -> dict[str, str]:
        pairs = d.execute_script(
            "var p = document.querySelectorAll('.leaflet-popup-content tr');"
            "return Array.prototype.map.call(p, function (tr) {"
            "  return [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()]; });"
        )
        out = {str(k): str(v) for k, v in pairs}
        return out if out.get("对象 Feature") == feature else {}

    WebDriverWait(driver, WAIT_S).until(rows, message=f"no popup of {feature}")
    return rows(driver)


def _shot(driver: WebDriver, path: Path) -> Path:
    """Save a screenshot once popups have faded in and no zoom is under way."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script(
            "var m = window.ccViolations && window.ccViolations.map;"
            "var p = document.querySelector('.leaflet-popup');"
            "return !(m && m._animatingZoom) && (!p || getComputedStyle(p).opacity === '1');"
        )
    )
    driver.save_screenshot(str(path))
    return path


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def _near(rgb: np.ndarray, colour: str, tolerance: int = 16) -> int:
    """How many pixels are within ``tolerance`` (per channel) of a ``#rrggbb`` colour."""
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(rgb - target).max(axis=2) <= tolerance).sum())


def _view(driver: WebDriver) -> dict[str, Any]:
    return dict(
        driver.execute_script(
            "var m = window.ccViolations.map, b = m.getBounds();"
            "return {zoom: m.getZoom(), south: b.getSouth(), west: b.getWest(),"
            " north: b.getNorth(), east: b.getEast(), hash: location.hash};"
        )
    )


# --- the map ----------------------------------------------------------------------------------


def test_map_screenshot_shows_the_violations(
    browser: WebDriver, site: dict[str, Path], demo_hebi: Result
) -> None:
    _open(browser, site["map"])
    shot = _shot(browser, site["dir"] / "map.png")
    rgb = _pixels(shot.read_bytes())
    assert rgb.shape[0] > 500 and rgb.shape[1] > 1000, shot
    colours = np.unique(rgb.reshape(-1, 3), axis=0)
    assert len(colours) > 1000, f"{shot}: {len(colours)} colours, a blank page?"
    # Every violation lies in the view.
    off_screen = browser.execute_script(
        "var m = window.ccViolations.map, view = m.getBounds(), out = [];"
        "Object.keys(window.ccViolations.index).forEach(function (k) {"
        "  window.ccViolations.index[k].forEach(function (it) {"
        "    var b = it.layer.getBounds ? it.layer.getBounds() : null;"
        "    if (b && !view.intersects(b)) { out.push(k); } }); });"
        "return out;"
    )
    assert off_screen == []
    assert len(browser.execute_script("return Object.keys(window.ccViolations.index)")) == len(
        demo_hebi.violations
    )
    # With the boxes hidden, the rules' colours on screen are the violations drawn.
    browser.execute_script(
        "document.querySelector('.leaflet-control-container').style.visibility = 'hidden';"
        "document.querySelector('.cc-title').style.visibility = 'hidden';"
    )
    bare = _shot(browser, site["dir"] / "map_bare.png")
    rgb = _pixels(bare.read_bytes())
    # (CL01, inherited from national, now warns: dashed, on the outline CL02 warns on too,
    # so neither colour is drawn solid enough to count.)
    for code in ("EC01", "EC02", "GR01", "GR02", "RD01", "SQ01"):
        assert _near(rgb, RULE_COLOURS[code]) >= 15, f"{bare}: no {code} colour on the map"
    # The legend's swatches are hidden: a colour no violation of this run has is absent.
    assert _near(rgb, "#00ff00", tolerance=40) == 0


def test_list_entry_zooms_to_the_violation_and_opens_its_popup(
    browser: WebDriver, site: dict[str, Path]
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, site["map"])
    before = _view(browser)
    entry = browser.find_element(By.CSS_SELECTOR, 'a.cc-item[data-rule="RD01"][data-fid="RC"]')
    assert entry.text == "RD01 · RC 淇河路 · 50.0 米 / ≤ 40.0 米"
    entry.click()
    rows = _popup(browser, "RC 淇河路（roads）")
    assert rows["规则 Rule"] == "RD01 县城内部道路红线宽度"
    assert rows["量测值 Measured"] == "50.0 米" and rows["限值 Limit"] == "≤ 40.0 米"
    assert rows["依据 Clause"].endswith("三(一)：“县城内部道路红线宽度不超过 40米”")  # verbatim
    after = _view(browser)
    assert after["zoom"] >= before["zoom"] + 3, (before, after)
    assert after["hash"] == "#rule=RD01&fid=RC"  # the link to share
    assert "cc-active" in (entry.get_attribute("class") or "")
    _shot(browser, site["dir"] / "map_list_click.png")


def test_click_on_the_drawn_violation_opens_its_popup(
    browser: WebDriver, site: dict[str, Path]
) -> None:
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    _open(browser, site["map"])
    # Centre the centreline of road RA (迎宾大道, a line) and find it on screen.
    x, y, target = browser.execute_script(
        "var it = window.ccViolations.index['RD01|RA'][0], p = it.layer.feature.properties;"
        "var m = window.ccViolations.map; m.setView([p.cc_lat, p.cc_lon], 16, {animate: false});"
        "var pt = m.latLngToContainerPoint([p.cc_lat, p.cc_lon]);"
        "var r = m.getContainer().getBoundingClientRect();"
        "var x = Math.round(r.left + pt.x), y = Math.round(r.top + pt.y);"
        "var el = document.elementFromPoint(x, y);"
        "return [x, y, el === it.layer.getElement()];"
    )
    assert target, "the road's path is not the topmost element at its own point"
    action = ActionBuilder(browser)
    action.pointer_action.move_to_location(x, y)
    action.pointer_action.click()
    action.perform()
    rows = _popup(browser, "RA 迎宾大道（roads）")
    assert rows["量测值 Measured"] == "60.0 米" and rows["限值 Limit"] == "≤ 40.0 米"
    assert rows["依据 Clause"].endswith("三(一)：“县城内部道路红线宽度不超过 40米”")  # verbatim
    _shot(browser, site["dir"] / "map_path_click.png")


def test_search_box_filters_the_list(browser: WebDriver, site: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, site["map"])
    search = browser.find_element(By.CSS_SELECTOR, "input.cc-search")
    search.send_keys("淇河")

    def shown() -> list[str]:
        return [
            f"{a.get_attribute('data-rule')} {a.get_attribute('data-fid')}"
            for a in browser.find_elements(By.CSS_SELECTOR, ".cc-item")
            if a.is_displayed()
        ]

    assert shown() == ["RD01 RC"]
    search.clear()
    search.send_keys("gr0 r3")  # every word must match: rules GR01 and GR02 of parcel R3
    assert shown() == ["GR01 R3", "GR02 R3"]
    search.send_keys(Keys.ENTER)  # opens the first match
    assert _popup(browser, "R3 三号居住地块（parcels）")["规则 Rule"] == "GR01 300米见绿"


def test_deep_link_zooms_to_the_violation(browser: WebDriver, site: dict[str, Path]) -> None:
    # On load, as the report links it.
    _open(browser, site["map"], "#rule=EC01&fid=C2")
    rows = _popup(browser, "C2 西部生态廊道（corridors）")
    assert rows["量测值 Measured"] == "60.0 米" and rows["限值 Limit"] == "≥ 100.0 米"
    assert rows["依据 Clause"].endswith("二(一)1：“组团间的生态廊道应贯通连续,净宽度不少于 100米”")
    assert _view(browser)["zoom"] >= 15
    _shot(browser, site["dir"] / "map_hash.png")
    # On a hash change, to a violation whose layer was switched off (and an encoded "+").
    shown = browser.execute_script(
        "var m = window.ccViolations.map, g = window.ccViolations.index['EC02|N+E'][0].group;"
        "m.removeLayer(g); location.hash = '#rule=EC02&fid=N%2BE'; return m.hasLayer(g);"
    )
    assert shown is False
    rows = _popup(browser, "N+E（clusters）")
    assert (
        rows["规则 Rule"] == "EC02 组团间生态廊道贯通连续" and rows["量测值 Measured"] == "80.0 米"
    )
    assert browser.execute_script(
        "return window.ccViolations.map.hasLayer(window.ccViolations.index['EC02|N+E'][0].group)"
    )
    # A link to nothing says so, and breaks nothing.
    browser.execute_script("location.hash = '#rule=EC01&fid=nope'")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(
        lambda d: (
            "未找到 / not found: EC01 · nope" in d.find_element("css selector", ".cc-status").text
        )
    )


def test_map_works_when_the_tiles_cannot_load(browser: WebDriver, site: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, site["map_osm"])  # OSM tiles, no host resolves
    assert browser.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
    browser.find_element(By.CSS_SELECTOR, 'a.cc-item[data-rule="SQ01"][data-fid="Q1"]').click()
    assert _popup(browser, "Q1 人民广场（squares）")["量测值 Measured"] == "2.50 公顷"


def test_default_map_draws_its_violations_with_the_network_off(
    browser: WebDriver, site: dict[str, Path], demo_hebi: Result
) -> None:
    """The map as ``compliance check`` writes it by default (Leaflet inlined, OSM tiles)
    in a browser that is offline: the violations are drawn, the page says once that the
    tiles could not load, and the map lies on a plain background."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = site["dir"] / "map_default.html"
    render_map(demo_hebi, page)  # the defaults of `compliance check`
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        _open(browser, page)
        WebDriverWait(browser, WAIT_S).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".cc-tiles-failed"),
            message="no notice that the tiles failed",
        )
        notices = browser.find_elements(By.CSS_SELECTOR, ".cc-tiles-failed")
        assert len(notices) == 1 and "could not be loaded" in notices[0].text
        background = browser.execute_script(
            "return getComputedStyle(window.ccViolations.map.getContainer()).backgroundColor"
        )
        assert background == "rgb(243, 241, 236)"
        drawn = browser.execute_script(
            "var out = {}, index = window.ccViolations.index;"
            "Object.keys(index).forEach(function (k) {"
            "  var on = index[k].some(function (it) { return !!it.layer._map; });"
            "  var rule = k.split('|')[0];"
            "  if (on) { out[rule] = (out[rule] || 0) + 1; } });"
            "return out;"
        )
        v = demo_hebi.violations
        v = v[~v.geometry.is_empty & v.geometry.notna()]
        assert drawn == {str(k): int(n) for k, n in v["rule_id"].value_counts().items()}
        rgb = _pixels(_shot(browser, site["dir"] / "map_offline.png").read_bytes())
        for code in ("EC01", "RD01", "SQ01"):
            assert _near(rgb, RULE_COLOURS[code], 24) > 50, code
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )


# --- the report -------------------------------------------------------------------------------


def test_report_shows_the_violations_and_links_into_the_map(
    browser: WebDriver, site: dict[str, Path]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if "report" not in site:
        pytest.skip("compliance.outputs.report (render_report) is not in the tree yet")
    browser.get("about:blank")
    browser.get(site["report"].as_uri())
    body = browser.find_element(By.TAG_NAME, "body").text
    for seen in ("RD01", "淇河路", "EC01", "西部生态廊道", "60.0"):
        assert seen in body, f"report.html does not show {seen}"
    _shot(browser, site["dir"] / "report.png")
    links = browser.find_elements(By.CSS_SELECTOR, 'a[href*="#rule=EC01&fid=C2"]')
    assert links, "report.html has no link to map.html#rule=EC01&fid=C2"
    assert (links[0].get_attribute("href") or "").endswith("map.html#rule=EC01&fid=C2")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", links[0])
    links[0].click()
    if len(browser.window_handles) > 1:  # a link may open the map in a new tab
        browser.switch_to.window(browser.window_handles[-1])
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.current_url.endswith("map.html#rule=EC01&fid=C2")
    )
    assert _popup(browser, "C2 西部生态廊道（corridors）")["量测值 Measured"] == "60.0 米"
