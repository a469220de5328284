"""The reviewer's map (``compliance.outputs.map.render_map``) on the demo scheme.

Folium writes layer names and GeoJSON properties as JSON with ``\\uXXXX``
escapes, so assertions on those read the page with the escapes decoded (what
the browser shows); the legend, title box and violations list are plain UTF-8
HTML.  How the page behaves in a browser is tested in ``test_browser.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import compliance
from compliance.engine import Result
from compliance.errors import InputError
from compliance.outputs.map import (
    LEAFLET_DIR,
    LEAFLET_VERSION,
    RULE_COLOURS,
    render_map,
    validate_basemap,
    violation_href,
)

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_FIT = re.compile(r"var initial = \[\[([-\d.e]+),\s*([-\d.e]+)\],\s*\[([-\d.e]+),\s*([-\d.e]+)\]\]")
_ENTRY = re.compile(
    r'<a href="#rule=([^&"]*)&amp;fid=([^"]*)" class="cc-item[^"]*" data-rule="([^"]*)"'
    r' data-fid="([^"]*)" data-text="([^"]*)"[^>]*>(.*?)</a>'
)


def _decoded(raw: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw)


def _render(
    result: Result, tmp_path: Path, name: str = "map.html", **options: object
) -> tuple[str, str]:
    """Render; return (raw HTML, HTML with JSON escapes decoded)."""
    out = tmp_path / name
    render_map(result, out, **options)  # type: ignore[arg-type]
    raw = out.read_bytes().decode("utf-8")
    return raw, _decoded(raw)


def _legend(raw: str) -> str:
    m = re.search(r'class="cc-box cc-legend">(.*?)</details>', raw, re.S)
    assert m, "legend not found"
    return m.group(1)


def _title_box(raw: str) -> str:
    m = re.search(r'class="cc-box cc-title">(.*?)</div>\s*\n', raw, re.S)
    assert m, "title box not found"
    return m.group(1)


def _index(raw: str) -> str:
    m = re.search(r'class="cc-box cc-index">(.*?)</details>', raw, re.S)
    assert m, "violations list not found"
    return m.group(1)


def _fit_bounds(raw: str) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the initial view the page fits."""
    m = _FIT.search(raw)
    assert m, "no initial bounds"
    lat0, lon0, lat1, lon1 = (float(g) for g in m.groups())
    return lon0, lat0, lon1, lat1


@pytest.fixture(scope="module")
def demo(demo_hebi: Result) -> Result:
    """The demo scheme checked against the Hebi profile (``conftest.demo_hebi``)."""
    return demo_hebi


@pytest.fixture(scope="module")
def demo_page(demo: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _render(demo, tmp_path_factory.mktemp("map"))


def test_one_layer_per_violated_rule_with_count(demo: Result, demo_page: tuple[str, str]) -> None:
    _, text = demo_page
    counts = demo.violations["rule_id"].value_counts()
    titles = dict(zip(demo.summary["rule_id"], demo.summary["title"], strict=True))
    for code in ("EC01", "EC02", "GR01", "RD01", "SQ01"):
        assert f"{code} {titles[code]} · {counts[code]} 处" in text
    assert "EC01 生态廊道净宽度 · 1 处" in text
    assert "EC02 组团间生态廊道贯通连续 · 2 处" in text
    # Every rule with violations has its layer, and only those.
    assert len(re.findall(r"[A-Z]{2}\d{2} [^\"<]* · \d+ 处", text)) == len(counts)


def test_popup_gives_message_measure_limit_method(demo: Result, demo_page: tuple[str, str]) -> None:
    _, text = demo_page
    row = demo.findings.set_index(["rule_id", "feature_id"]).loc[("RD01", "RC")]
    assert "淇河路" in row["message"] and "50.0" in row["message"]
    assert row["message"] in text
    assert '"p_measured": "50.0 米"' in text
    assert '"p_limit": "≤ 40.0 米"' in text
    assert '"p_tip": "RD01 · RC 淇河路 · 50.0 米"' in text  # the feature's name from roads
    assert '"p_feature": "RC 淇河路（roads）"' in text
    # The method in Chinese, as the message is (the English one stays in the findings).
    assert row["method_zh"].startswith("道路用地面垂直于中心线方向的宽度")
    assert f'"p_method": "{row["method_zh"]}"' in text
    assert row["method"] not in text
    assert '"p_status": "不符合 / fail"' in text
    assert '"p_status": "提示 / warn"' in text  # CL02, a 原则上 rule


def test_popup_quotes_the_clause_with_document_and_section(demo_page: tuple[str, str]) -> None:
    _, text = demo_page
    document = "《鹤壁市城乡建设领域碳达峰行动方案》（鹤建综[2023]61号）"
    clause = f"{document} 三(一)：“广场集中硬地面积不超过 1 公顷”"
    assert "广场集中硬地面积不超过 1 公顷" in text
    assert f'"p_clause": "{clause}"' in text


def test_legend_names_crs_profile_and_rule_counts(demo: Result, demo_page: tuple[str, str]) -> None:
    raw, _ = demo_page
    legend = _legend(raw)
    assert "量测坐标系 / measured in" in legend
    assert "EPSG:4547" in legend and demo.scheme.crs_label in legend
    assert "hebi" in legend and "《鹤壁市城乡建设领域碳达峰行动方案》" in legend
    assert f"border-color:{RULE_COLOURS['EC01']}" in legend
    assert "<b>EC02</b> 组团间生态廊道贯通连续" in legend and "不符合 fail 2" in legend
    assert "<b>CL02</b> 组团平均人口密度" in legend and "提示 warn 1" in legend
    title = _title_box(raw)
    assert "demo.gpkg" in title and "hebi" in title
    assert "不符合 fail 21 处（13 条规则）" in title and "提示 warn 3 处（3 条规则）" in title


def test_lines_are_drawn_wide(demo_page: tuple[str, str]) -> None:
    raw, _ = demo_page
    styles = [json.loads(s) for s in re.findall(r"return (\{\"color\".*?\});", raw)]
    wide = {s["color"] for s in styles if s["weight"] >= 4}
    # EC02 (gap line N+E) and RD01 (centreline RA) have line violations.
    assert RULE_COLOURS["EC02"] in wide and RULE_COLOURS["RD01"] in wide


def test_fit_bounds_cover_the_violations(demo: Result, demo_page: tuple[str, str]) -> None:
    raw, _ = demo_page
    lon0, lat0, lon1, lat1 = _fit_bounds(raw)
    v = demo.violations
    v0, v1, v2, v3 = v[v.geometry.notna()].to_crs(4326).total_bounds
    layers = [demo.scheme.layers[n] for n in ("boundary", "clusters", "corridors", "green_spaces")]
    everything = pd.concat([v[v.geometry.notna()].geometry, *(g.geometry for g in layers)])
    e0, e1, e2, e3 = gpd.GeoSeries(everything, crs=demo.crs).to_crs(4326).total_bounds
    tol = 1e-4  # degrees (about 10 m): simplification of context layers and rounding
    assert lon0 <= v0 + tol and lat0 <= v1 + tol and lon1 >= v2 - tol and lat1 >= v3 - tol
    assert lon0 >= e0 - tol and lat0 >= e1 - tol and lon1 <= e2 + tol and lat1 <= e3 + tol


def test_not_evaluated_rule_listed_in_legend(tmp_path: Path) -> None:
    scheme = compliance.read_scheme(DEMO)
    del scheme.layers["squares"]
    result = compliance.evaluate(scheme, compliance.load_profile("hebi"))
    ne = result.summary.set_index("rule_id").loc["SQ01", "status"]
    assert ne == "not_evaluated"
    raw, text = _render(result, tmp_path)
    legend = _legend(raw)
    section = legend.split("未评估 / not evaluated", 1)[1]
    assert "<b>SQ01</b> 县城广场集中硬地面积 — 未评估" in section
    assert "squares" in section  # the reason
    assert "SQ01 县城广场集中硬地面积 ·" not in text  # no layer for it
    assert "EC01 生态廊道净宽度 · 1 处" in text  # the others still drawn


def test_no_violations_still_renders(tmp_path: Path) -> None:
    scheme = compliance.read_scheme(DEMO)
    squares = scheme.layers["squares"]
    scheme.layers = {"squares": squares[squares["feature_id"] == "Q3"]}  # 0.8 ha: passes
    result = compliance.evaluate(scheme, compliance.load_profile("hebi"))
    assert result.violations.empty
    assert result.findings.geometry.isna().any()  # not_evaluated rows
    raw, text = _render(result, tmp_path)
    assert "no violations found" in _legend(raw)
    assert "no violations found" in _title_box(raw)
    assert " 处" not in re.sub(r"<[^>]*>", "", _title_box(raw))
    assert not re.search(r"[A-Z]{2}\d{2} [^\"<]* · \d+ 处", text)
    # No context layer and no violation: the view falls back to the scheme's bounds.
    lon0, lat0, lon1, lat1 = _fit_bounds(raw)
    q0, q1, q2, q3 = scheme.layers["squares"].to_crs(4326).total_bounds
    assert lon0 <= q0 + 1e-6 and lat0 <= q1 + 1e-6 and lon1 >= q2 - 1e-6 and lat1 >= q3 - 1e-6
    assert lon1 - lon0 < 0.01 and lat1 - lat0 < 0.01


def test_violation_without_geometry_is_counted_not_drawn(demo: Result, tmp_path: Path) -> None:
    findings = demo.findings.copy()
    gr03 = findings.index[(findings["rule_id"] == "GR03") & (findings["status"] == "fail")]
    findings.loc[gr03, "geometry"] = None
    result = Result(findings, demo.summary, demo.profile, demo.scheme, demo.notes)
    raw, text = _render(result, tmp_path)
    assert "1 处无图形 / not drawn" in _legend(raw)
    assert "GR03 城市公园绿地服务半径覆盖率 ·" not in text
    # Listed, as plain text: nothing to zoom to.
    assert '<span class="cc-item cc-undrawn" data-rule="GR03" data-fid="*"' in _index(
        raw
    ) and "（无图形 / not drawn）</span>" in _index(raw)
    assert '"cc_key": "GR03|*"' not in text


def test_large_context_layer_is_simplified(tmp_path: Path) -> None:
    scheme = compliance.read_scheme(DEMO)
    boundary = scheme.layers["boundary"].copy()
    dense = shapely.segmentize(boundary.geometry.array, 1.0)  # tens of thousands of vertices
    boundary = boundary.set_geometry(gpd.GeoSeries(dense, crs=boundary.crs))
    assert shapely.get_num_coordinates(dense).sum() > 50_000
    scheme.layers["boundary"] = boundary
    result = compliance.evaluate(scheme, compliance.load_profile("hebi"))
    out = tmp_path / "map.html"
    render_map(result, out)
    assert out.stat().st_size < 400_000
    assert "规划范围 boundary" in _decoded(out.read_text(encoding="utf-8"))


def test_colours_are_stable_across_runs(demo: Result, tmp_path: Path) -> None:
    first, _ = _render(demo, tmp_path, "a.html")
    second, _ = _render(demo, tmp_path, "b.html")
    assert _legend(first) == _legend(second)
    text = _decoded(first)
    for code in ("EC01", "EC02", "GR01", "RD01", "SQ01"):  # layer names carry the swatch
        assert re.search(rf'color:{RULE_COLOURS[code]}\\?">■</span> {code} ', text)


def test_points_collections_and_estimates_are_drawn(demo: Result, tmp_path: Path) -> None:
    findings = demo.findings.copy()
    sq = findings.index[(findings["rule_id"] == "SQ01") & (findings["status"] == "fail")]
    q1, q2 = sq[0], sq[1]
    geoms = findings.geometry.array.copy()
    geoms[q1] = shapely.centroid(geoms[q1])  # a point violation
    geoms[q2] = shapely.GeometryCollection([geoms[q2], shapely.centroid(geoms[q2])])
    findings = findings.set_geometry(gpd.GeoSeries(geoms, index=findings.index, crs=demo.crs))
    findings.loc[q1, "estimated"] = True
    result = Result(findings, demo.summary, demo.profile, demo.scheme, demo.notes)
    raw, text = _render(result, tmp_path)
    assert "new L.CircleMarker(latlng, opts)" in raw
    assert raw.count('"type": "Point"') >= 2  # the point and the collection's point
    assert '"type": "GeometryCollection"' not in raw  # split into its parts
    assert "（估算 / estimated）" in text
    assert "SQ01 县城广场集中硬地面积 · 2 处" in text


# --- basemaps ---------------------------------------------------------------------------------


def test_basemap_osm_is_the_default(demo_page: tuple[str, str]) -> None:
    raw, _ = demo_page
    assert '"https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in raw
    assert "tianditu" not in raw
    for offset_provider in ("amap", "autonavi", "gaode", "baidu", "bdimg", "qq.com"):
        assert offset_provider not in raw.lower()


def test_basemap_tianditu_uses_the_key(demo: Result, tmp_path: Path) -> None:
    raw, text = _render(demo, tmp_path, basemap="tianditu", tianditu_key=" 0123abcd ")
    for layer in ("vec", "cva", "img", "cia"):  # map and imagery, each with its annotation
        url = (
            f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=0123abcd"
        )
        assert f'"{url}"' in text  # "&" is written "\\u0026" in the raw page
    assert raw.count('"subdomains": "01234567"') == 4
    assert "tile.openstreetmap.org" not in raw
    # Two base layers in the layer control: the map shown, the imagery only when chosen.
    base = dict(re.findall(r'"(天地图 \S+ Tianditu \w+)" : (feature_group_[0-9a-f]+)', text))
    assert list(base) == ["天地图 矢量 Tianditu map", "天地图 影像 Tianditu imagery"]
    assert f"{base['天地图 矢量 Tianditu map']}.addTo(map_" in raw
    assert f"{base['天地图 影像 Tianditu imagery']}.addTo(" not in raw
    assert "天地图 Tianditu</a> 国家地理信息公共服务平台" in text  # attribution


def test_basemap_tianditu_without_key_is_an_input_error(demo: Result, tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    for key in (None, "", "   "):
        with pytest.raises(InputError, match="--tianditu-key") as info:
            render_map(demo, out, basemap="tianditu", tianditu_key=key)
        assert "\n" not in str(info.value)
    assert not out.exists()
    # What the CLI calls before checking, so a missing key costs no run.
    assert validate_basemap("tianditu", " k1 ") == "k1"
    assert validate_basemap("osm", "k1") is None and validate_basemap("none") is None


def test_unknown_or_offset_basemap_is_refused(demo: Result, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="GCJ-02") as info:
        render_map(demo, tmp_path / "map.html", basemap="amap")
    assert "osm, tianditu, none" in str(info.value)


def test_basemap_none_draws_no_tiles(demo: Result, tmp_path: Path) -> None:
    raw, text = _render(demo, tmp_path, basemap="none")
    assert "L.tileLayer" not in raw and "tile.openstreetmap.org" not in raw
    assert re.search(r"#map_[0-9a-f]+ \{ background: #f3f1ec; \}", raw)
    # Everything else is still there.
    assert "EC01 生态廊道净宽度 · 1 处" in text
    assert "L.control.scale({imperial: false" in raw


# --- violations list and links --------------------------------------------------------------


def test_violations_list_has_an_entry_per_violation(
    demo: Result, demo_page: tuple[str, str]
) -> None:
    raw, _ = demo_page
    index = _index(raw)
    entries = _ENTRY.findall(index)
    v = demo.violations
    assert len(entries) == len(v) == 24
    assert {(e[2], e[3]) for e in entries} == set(
        zip(v["rule_id"], v["feature_id"].astype(str), strict=True)
    )
    assert all(e[0] == e[2] for e in entries)  # the href names the same violation
    assert f"违规清单 Violations（{len(v)}）" in index
    assert 'type="search" class="cc-search"' in index
    by_key = {(e[2], e[3]): e for e in entries}
    rc = by_key[("RD01", "RC")]
    assert rc[5] == "<b>RD01</b> · RC 淇河路 · 50.0 米 / ≤ 40.0 米"
    assert "rd01" in rc[4] and "淇河路" in rc[4] and "roads" in rc[4]  # what search matches
    assert by_key[("EC02", "N+E")][:2] == ("EC02", "N%2BE")  # percent-encoded in the href
    assert (
        by_key[("CL02", "N")][5]
        == "<b>CL02</b> · N 北组团 · 12,500 人/平方公里 / ≤ 10,000 人/平方公里"
    )
    assert by_key[("DN01", "county")][5].endswith(" / 6,000–10,000 人/平方公里")  # a range
    # Grouped by rule, in profile order, with the rule's colour.
    groups = re.findall(r'<div class="cc-group" data-rule="([A-Z]{2}\d{2})">', index)
    assert groups == [c for c in demo.summary["rule_id"] if c in set(v["rule_id"])]
    assert 'data-rule="EC01" data-fid="C2" data-text' in index
    assert f"border-left-color:{RULE_COLOURS['EC01']}" in index
    assert 'class="cc-item cc-warn" data-rule="CL02"' in index  # warn drawn dashed


def test_each_drawn_violation_carries_its_key(demo: Result, demo_page: tuple[str, str]) -> None:
    _, text = demo_page
    features = []
    for blob in re.findall(r"_add\((\{.*\})\);\n", text):
        collection = json.loads(blob)
        features += [f for f in collection["features"] if "cc_key" in f["properties"]]
    v = demo.violations
    assert len(features) == len(v)  # every violation of the demo has a geometry
    for f in features:
        p = f["properties"]
        assert p["cc_key"] == f"{p['rule_id']}|{p['feature_id']}"
        lon0, lat0, lon1, lat1 = shapely.geometry.shape(f["geometry"]).bounds
        assert lon0 <= p["cc_lon"] <= lon1 and lat0 <= p["cc_lat"] <= lat1  # popup anchor
    assert {f["properties"]["cc_key"] for f in features} == {
        f"{r}|{i}" for r, i in zip(v["rule_id"], v["feature_id"], strict=True)
    }


def test_hash_link_handler_is_in_the_page(demo_page: tuple[str, str]) -> None:
    raw, _ = demo_page
    assert 'window.addEventListener("hashchange", fromHash)' in raw
    assert "location.hash" in raw and "decodeURIComponent" in raw
    assert 'document.documentElement.setAttribute("data-cc-ready", "1")' in raw
    assert violation_href("EC01", "C2") == "map.html#rule=EC01&fid=C2"
    assert violation_href("EC02", "N+E", "../map.html") == "../map.html#rule=EC02&fid=N%2BE"
    assert violation_href("CL03", "521000,3951000") == "map.html#rule=CL03&fid=521000%2C3951000"


# --- assets -----------------------------------------------------------------------------------


def test_offline_page_loads_nothing_from_the_network(demo: Result, tmp_path: Path) -> None:
    raw, _ = _render(demo, tmp_path)  # offline is the default
    assert not re.search(r"<script[^>]*\bsrc=", raw)
    assert not re.search(r"<link[^>]*\bhref=", raw)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", raw)
    assert "url(images/" not in raw and "url(data:image/png;base64," in raw
    assert f"Leaflet {LEAFLET_VERSION}, a JS library for interactive maps" in raw
    assert "sourceMappingURL" not in raw
    for unused in ("jquery", "bootstrap", "fontawesome", "awesome-markers"):
        assert unused not in raw.lower()
    assert "openstreetmap" in raw  # the tiles alone come from the web
    # when they cannot load, the page says so once and draws on a plain background
    assert raw.count('layer.on("tileerror", failed)') == 1
    assert "basemap tiles could not be loaded" in _decoded(raw)


def test_cdn_page_links_leaflet_alone(demo: Result, tmp_path: Path) -> None:
    raw, _ = _render(demo, tmp_path, offline=False)
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', raw)
    links = re.findall(r'<link[^>]*\bhref="([^"]+)"', raw)
    cdn = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"
    assert scripts == [f"{cdn}/leaflet.js"] and links == [f"{cdn}/leaflet.css"]


def test_vendored_leaflet_ships_in_the_package() -> None:
    assert LEAFLET_DIR.is_relative_to(Path(compliance.__file__).parent)
    names = {p.relative_to(LEAFLET_DIR).as_posix() for p in LEAFLET_DIR.rglob("*") if p.is_file()}
    assert {"leaflet.js", "leaflet.css", "LICENSE", "images/layers.png"} <= names
    assert "BSD 2-Clause License" in (LEAFLET_DIR / "LICENSE").read_text(encoding="utf-8")
    head = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert f"Leaflet {LEAFLET_VERSION}" in head
