"""The reviewer's map: ``map.html``, a Folium (Leaflet) map of one check run.

The map shows every violation (``fail`` or ``warn`` finding) in a layer of its
rule, coloured by rule, over light context layers of the scheme (boundary,
clusters, corridors, green spaces), with a popup per violation that gives the
measured value, the limit, the finding and the clause it rests on.  A legend
lists the rules with their counts, the rules that could not be evaluated and
why, the measuring CRS and the profile; a title box names the scheme; a
violations list (违规清单) with a search box zooms to each violation and opens
its popup, as does a link ``map.html#rule=<rule_id>&fid=<feature_id>``.

Geometries arrive in the projected measuring CRS of the run and are drawn in
EPSG:4326 (longitude/latitude) over Web Mercator tiles: OpenStreetMap (WGS 84)
or Tianditu 天地图 (CGCS2000, within a metre or so of WGS 84), or no tiles at
all.  Basemaps in GCJ-02 or BD-09 (AMap/Gaode 高德, Baidu 百度, Tencent 腾讯)
are not offered: their offsets of hundreds of metres would misplace every
finding.  Measured values are never recomputed here: they are the findings'
``measured`` and ``limit``, printed with :func:`compliance.engine.fmt`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from pyproj import CRS, Transformer

from ..engine import UNIT_EN, UNIT_ZH, Result, clause_en, fmt
from ..notes import notes_text
from ..rules.documents import source_document_en
from ..wording import count_en, unit_label_en
from . import provenance as _provenance
from .mapstyle import BASEMAPS as BASEMAPS  # re-exported: the map's public names
from .mapstyle import FALLBACK_COLOURS as FALLBACK_COLOURS
from .mapstyle import RULE_COLOURS as RULE_COLOURS
from .mapstyle import rule_colour, validate_basemap
from .mapstyle import violation_href as violation_href

#: Leaflet vendored from the npm package ``leaflet`` (BSD-2-Clause, LICENSE
#: beside it), inlined into the page unless ``offline=False`` (``--cdn``).
LEAFLET_VERSION = "1.9.4"
LEAFLET_DIR = Path(__file__).parent / "assets" / "leaflet"
_LEAFLET_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"

#: Tianditu 天地图 WMTS tiles in Web Mercator (the ``_w`` services): ``{layer}``
#: is ``vec`` (map), ``cva`` (its annotation), ``img`` (imagery) or ``cia``.
TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
_TIANDITU_ATTR = (
    '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> 国家地理信息公共服务平台'
)
#: Background of a map without tiles (``basemap="none"``).
_NO_BASEMAP_BACKGROUND = "#f3f1ec"

#: Tolerance (metres, in the measuring CRS) for simplifying context layers.
CONTEXT_SIMPLIFY_M = 2.0
#: Tolerance (metres) for simplifying violation geometries before drawing: far below
#: what a screen shows, it keeps densified inputs from bloating the page.
VIOLATION_SIMPLIFY_M = 0.5

#: Coordinate grid in degrees for drawing: about 0.1 m for context, 1 cm for violations.
_CONTEXT_GRID_DEG = 1e-6
_VIOLATION_GRID_DEG = 1e-7

#: Context layers, bottom to top: layer name, legend label, Leaflet path options.
CONTEXT_LAYERS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "clusters",
        "城市组团 clusters",
        {"color": "#9e9e9e", "weight": 1, "fill_color": "#bdbdbd", "fill_opacity": 0.18},
    ),
    (
        "corridors",
        "生态廊道 corridors",
        {"color": "#78a86e", "weight": 1, "fill_color": "#a1d99b", "fill_opacity": 0.35},
    ),
    (
        "green_spaces",
        "绿地 green spaces",
        {"color": "#6aa84f", "weight": 1, "fill_color": "#c7e9c0", "fill_opacity": 0.45},
    ),
    (
        "boundary",
        "规划范围 boundary",
        {"color": "#616161", "weight": 2, "dash_array": "6 4", "fill": False},
    ),
)

_COMPARISON_TEXT = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}
_AREA_TYPES = ("Polygon", "MultiPolygon")
_LINES_PANE = "cc-violation-lines"
_CONTEXT_PANE = "cc-context"

#: Popup rows: property drawn, row label.
_POPUP_FIELDS: tuple[tuple[str, str], ...] = (
    ("p_rule", "规则 Rule"),
    ("p_status", "结论 Status"),
    ("p_feature", "对象 Feature"),
    ("p_measured", "量测值 Measured"),
    ("p_limit", "限值 Limit"),
    ("p_message", "说明 Finding"),
    ("p_method", "方法 Method"),
    ("p_clause", "依据 Clause"),
)

#: English labels of the context layers, by layer name (``--lang en``).
_CONTEXT_EN = {
    "clusters": "Urban clusters",
    "corridors": "Ecological corridors",
    "green_spaces": "Green spaces",
    "boundary": "Plan boundary",
}

#: English popup row labels, by property (``--lang en``).
_POPUP_EN = {
    "p_rule": "Rule",
    "p_status": "Status",
    "p_feature": "Feature",
    "p_measured": "Measured",
    "p_limit": "Limit",
    "p_message": "Finding",
    "p_method": "Method",
    "p_clause": "Clause",
}

#: Words of the map's boxes in each language: Chinese (with English glosses, as the
#: Chinese report labels its fields) and English alone.
_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "fail": "不符合 / fail",
        "warn": "提示 / warn",
        "estimated": "（估算 / estimated）",
        "not_found": "未找到 / not found: ",
        "legend": "图例 Legend",
        "violations": "违规项 Violations",
        "none": "未发现不符合或提示项 / no violations found",
        "n_fail": "不符合 fail {n}",
        "n_warn": "提示 warn {n}",
        "not_drawn_n": "{n} 处无图形 / not drawn",
        "ne_head": "未评估 / not evaluated",
        "ne": "未评估",
        "pass_head": "符合 / pass",
        "empty": "无检查对象 / nothing in scope",
        "context": "底图 Context",
        "crs": "量测坐标系 / measured in",
        "profile": "规则配置 / profile",
        "notes": "说明 notes",
        "help": "实线 solid = 不符合 fail；虚线 dashed = 提示 warn。"
        "点击图形查看量测值、限值与依据条文。",
        "list": "违规清单 Violations（{n}）",
        "search": "搜索 编号、名称、规则 / search",
        "search_label": "搜索违规项 / search violations",
        "not_drawn": "（无图形 / not drawn）",
        "title": "规划碳达峰合规检查 / Compliance map",
        "scheme": "方案 scheme",
        "profile_t": "规则 profile",
        "verdict": "不符合 fail {nf} 处（{rf} 条规则）· 提示 warn {nw} 处（{rw} 条规则）",
        "counts": "{verdict} · 符合 pass {rp} 条 · 未评估 not evaluated {rn} 条",
        "layer": "{code} {title} · {n} 处",
        "osm": "地图 OpenStreetMap",
        "esri": "影像 Esri World Imagery",
        "tdt_vec": "天地图 矢量 Tianditu map",
        "tdt_img": "天地图 影像 Tianditu imagery",
        "all": "全部（汇总）",
    },
    "en": {
        "fail": "fail",
        "warn": "warn",
        "estimated": " (estimated)",
        "not_found": "not found: ",
        "legend": "Legend",
        "violations": "Violations",
        "none": "no violations found",
        "n_fail": "fail {n}",
        "n_warn": "warn {n}",
        "not_drawn_n": "{n} not drawn",
        "ne_head": "Not evaluated",
        "ne": "not evaluated",
        "pass_head": "Passed",
        "empty": "nothing in scope",
        "context": "Context",
        "crs": "Measured in",
        "profile": "Profile",
        "notes": "Notes",
        "help": "Solid = fail; dashed = warning. Click a shape for the measured value, the limit "
        "and the clause.",
        "list": "Violations ({n})",
        "search": "search id, name, rule",
        "search_label": "search violations",
        "not_drawn": " (not drawn)",
        "title": "Compliance map",
        "scheme": "Scheme",
        "profile_t": "Profile",
        "verdict": "{fail_n} ({fail_r}) · {warn_n} ({warn_r})",
        "counts": "{verdict} · {pass_r} passed · {ne_r} not evaluated",
        "layer": "{code} {title} · {n}",
        "osm": "OpenStreetMap",
        "esri": "Esri World Imagery",
        "tdt_vec": "Tianditu map",
        "tdt_img": "Tianditu imagery",
        "all": "all (aggregate)",
    },
}


def _words(lang: str) -> dict[str, str]:
    """The map's words in ``lang`` (``zh`` or ``en``)."""
    if lang not in _WORDS:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    return _WORDS[lang]


_CSS = """
<style>
.cc-box {
    background: rgba(255, 255, 255, 0.95); padding: 6px 10px; border-radius: 5px;
    box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); color: #222;
    font: 13px/1.45 "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", sans-serif;
}
.cc-title {
    position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
    z-index: 1000; max-width: min(46%, calc(100% - 700px)); text-align: center;
}
.cc-title .cc-h { font-size: 16px; font-weight: bold; }
.cc-legend { max-height: 40vh; max-width: 380px; overflow-y: auto; }
.leaflet-control-layers-expanded {
    max-height: 46vh; overflow-y: auto; font: 12.5px/1.35 "Helvetica Neue", Arial,
    "PingFang SC", "Microsoft YaHei", sans-serif;
    max-width: 300px;  /* long English rule titles wrap, clear of the title box */
}
.cc-legend summary { font-weight: bold; cursor: pointer; }
.cc-legend .cc-sec { margin-top: 6px; font-weight: bold; }
.cc-legend .cc-row { margin: 2px 0; }
.cc-swatch {
    display: inline-block; width: 18px; height: 10px; margin-right: 5px;
    vertical-align: middle; border-width: 2px;
}
.cc-muted { color: #888; }
.cc-tiles-failed { max-width: 420px; font-size: 12px; }
.cc-prov { margin-top: 2px; word-break: break-all; }
.cc-small { font-size: 11px; }
.cc-box, .cc-box * { box-sizing: border-box; }
.foliumpopup table { border-collapse: collapse; }
.foliumpopup th {
    text-align: left; vertical-align: top; padding: 2px 8px 2px 0; white-space: nowrap;
    color: #555; font-weight: normal;
}
.foliumpopup td { min-width: 220px; max-width: 320px; white-space: normal; padding: 2px 0; }
.leaflet-popup-content { font-size: 13px; line-height: 1.45; }
.cc-index { width: 330px; max-width: calc(100vw - 80px); }
.cc-index summary { font-weight: bold; cursor: pointer; }
.cc-index .cc-search {
    width: 100%; margin: 5px 0 3px; padding: 3px 6px; font: inherit;
    border: 1px solid #bbb; border-radius: 3px;
}
.cc-index .cc-list { max-height: 42vh; overflow-y: auto; }
.cc-index .cc-gh { margin-top: 5px; font-weight: bold; }
.cc-index .cc-item {
    display: block; margin: 1px 0 1px 4px; padding: 1px 5px; border-left: 3px solid;
    color: #222; text-decoration: none; border-radius: 2px;
}
.cc-index a.cc-item:hover { background: #eef3fb; }
.cc-index .cc-item.cc-warn { border-left-style: dashed; }
.cc-index .cc-item.cc-active { background: #fff3bf; }
.cc-index .cc-undrawn { color: #888; }
.cc-index .cc-status { color: #b00020; }
</style>
"""


class _Box(MacroElement):
    """A block of HTML shown over the map: a Leaflet control, or centred at the top."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="cc-box {{ this.css_class }}">{{ this.body }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var box = document.getElementById({{ this.get_name()|tojson }});
            L.DomEvent.disableClickPropagation(box);
            L.DomEvent.disableScrollPropagation(box);
            {%- if this.position == "topcenter" %}
            {{ this._parent.get_name() }}.getContainer().appendChild(box);
            {%- else %}
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () { return box; };
            control.addTo({{ this._parent.get_name() }});
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, body: str, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "ComplianceBox"
        self.body = body
        self.position = position
        self.css_class = css_class


class _ViolationIndex(MacroElement):
    """The violations list (违规清单) with its search box, and the deep-link handler.

    Each entry and the link ``#rule=<rule_id>&fid=<feature_id>`` zoom to the
    violation's drawn parts, showing its rule's layer if it was hidden, and
    open its popup.  ``sources`` pairs each rule's layer group with its GeoJson
    layers (JavaScript variable names); every drawn feature carries
    ``cc_key`` (``rule_id|feature_id``) and ``cc_lat``/``cc_lon``, a point on
    it where the popup opens.  When ready, ``<html>`` gets ``data-cc-ready``
    and ``window.ccViolations.show(rule_id, feature_id)`` is available.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="cc-box cc-index">{{ this.body }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var box = document.getElementById({{ this.get_name()|tojson }});
            L.DomEvent.disableClickPropagation(box);
            L.DomEvent.disableScrollPropagation(box);
            var control = L.control({position: "topleft"});
            control.onAdd = function () { return box; };
            control.addTo(map);
            L.control.scale({imperial: false, maxWidth: 160}).addTo(map);

            var sources = [
            {%- for group, layers in this.sources %}
                {group: {{ group }}, layers: [{{ layers|join(", ") }}]},
            {%- endfor %}
            ];
            var index = {}, popups = [];
            sources.forEach(function (s) {
                s.layers.forEach(function (gj) {
                    if (gj.getPopup()) { popups.push(gj.getPopup()); }
                    gj.eachLayer(function (layer) {
                        var key = layer.feature.properties.cc_key;
                        var entry = {layer: layer, geojson: gj, group: s.group};
                        (index[key] = index[key] || []).push(entry);
                    });
                });
            });
            var details = box.querySelector("details");
            var status = box.querySelector(".cc-status");
            var input = box.querySelector(".cc-search");
            var count = box.querySelector(".cc-count");
            var entries = Array.prototype.slice.call(box.querySelectorAll(".cc-item"));
            var groups = Array.prototype.slice.call(box.querySelectorAll(".cc-group"));

            // Room left by the list (left), the title box (top), the layer control (right).
            function insets() {
                var el = map.getContainer(), rect = el.getBoundingClientRect();
                var out = {left: 10, top: 10, right: 10};
                if (details && details.open) {
                    out.left = box.getBoundingClientRect().right - rect.left + 10;
                }
                var title = el.querySelector(".cc-title");
                if (title) { out.top = title.getBoundingClientRect().bottom - rect.top + 10; }
                var corner = el.querySelector(".leaflet-top.leaflet-right");
                if (corner && corner.offsetWidth) {
                    out.right = rect.right - corner.getBoundingClientRect().left + 10;
                }
                var width = map.getSize().x;
                if (out.left + out.right > width - 120) { out.right = 10; }
                if (out.left + out.right > width - 120) { out.left = 10; }
                return out;
            }
            function updatePadding() {
                var room = insets();
                popups.forEach(function (p) {
                    p.options.autoPanPaddingTopLeft = L.point(room.left, room.top);
                });
                return room;
            }
            function boundsOf(items) {
                var b = L.latLngBounds([]);
                items.forEach(function (it) {
                    if (it.layer.getBounds) { b.extend(it.layer.getBounds()); }
                    else if (it.layer.getLatLng) { b.extend(it.layer.getLatLng()); }
                });
                return b;
            }
            function mark(key) {
                var active = null;
                entries.forEach(function (a) {
                    var on = a.getAttribute("data-rule") + "|" + a.getAttribute("data-fid") === key;
                    a.classList.toggle("cc-active", on);
                    if (on && !active) { active = a; }
                });
                return active;
            }
            // Zoom to a violation and open its popup; false when it is not drawn here.
            function show(rule, fid) {
                var key = rule + "|" + fid, items = index[key];
                if (map._animatingZoom) {  // a zoom in progress would swallow fitBounds
                    map.once("zoomend", function () { show(rule, fid); });
                    return (items && mark(key)) || !!items;
                }
                if (!items) {
                    status.textContent = {{ this.not_found|tojson }} + rule + " · " + fid;
                    mark(null);
                    return false;
                }
                status.textContent = "";
                items.forEach(function (it) {
                    if (!map.hasLayer(it.group)) { map.addLayer(it.group); }
                });
                var room = updatePadding();
                map.closePopup();
                map.fitBounds(boundsOf(items), {
                    paddingTopLeft: [room.left, room.top],
                    paddingBottomRight: [room.right, 30],
                    maxZoom: 17,
                    animate: false
                });
                var first = items[0], p = first.layer.feature.properties;
                // As a click on it would: its GeoJson layer opens the popup for it.
                first.layer.fire("click", {latlng: L.latLng(p.cc_lat, p.cc_lon)}, true);
                first.geojson.closeTooltip();  // the click's tooltip would sit under the popup
                return mark(key) || true;
            }
            function fromHash() {
                var q = {};
                location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
                    var i = kv.indexOf("=");
                    if (i < 1) { return; }
                    try {
                        q[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
                    } catch (err) { /* a malformed escape: ignore that pair */ }
                });
                if (q.rule && q.fid !== undefined) {
                    var active = show(q.rule, q.fid);
                    if (active && active.scrollIntoView) {
                        active.scrollIntoView({block: "nearest"});
                    }
                }
            }
            box.addEventListener("click", function (e) {
                var a = e.target.closest ? e.target.closest("a.cc-item") : null;
                if (!a) { return; }
                e.preventDefault();
                if (show(a.getAttribute("data-rule"), a.getAttribute("data-fid"))) {
                    try { history.replaceState(null, "", a.getAttribute("href")); } catch (err) { }
                }
            });
            if (input) {
                input.addEventListener("input", function () {
                    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
                    var shown = 0;
                    groups.forEach(function (g) {
                        var n = 0;
                        g.querySelectorAll(".cc-item").forEach(function (a) {
                            var text = a.getAttribute("data-text");
                            var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
                            a.style.display = ok ? "" : "none";
                            if (ok) { n += 1; }
                        });
                        g.style.display = n ? "" : "none";
                        shown += n;
                    });
                    count.textContent = words.length ? shown + " / " + entries.length : "";
                });
                input.addEventListener("keydown", function (e) {
                    if (e.key !== "Enter") { return; }
                    var first = entries.filter(function (a) {
                        return a.style.display !== "none" && a.tagName === "A";
                    })[0];
                    if (first) { first.click(); }
                });
            }
            if (details) { details.addEventListener("toggle", updatePadding); }
            window.addEventListener("resize", updatePadding);
            window.addEventListener("hashchange", fromHash);
            window.ccViolations = {map: map, show: show, index: index};
            var initial = {{ this.bounds|tojson }};  // [[south, west], [north, east]]
            setTimeout(function () {  // once laid out: fit clear of the boxes, unanimated
                var room = updatePadding();
                if (initial) {
                    map.fitBounds(initial, {
                        paddingTopLeft: [room.left, room.top],
                        paddingBottomRight: [room.right, 30],
                        maxZoom: 18,
                        animate: false
                    });
                }
                fromHash();
                document.documentElement.setAttribute("data-cc-ready", "1");
            }, 0);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        body: str,
        sources: list[tuple[str, list[str]]],
        bounds: list[list[float]] | None,
        not_found: str = "未找到 / not found: ",
    ) -> None:
        super().__init__()
        self._name = "ViolationIndex"
        self.body = body
        self.sources = sources
        self.bounds = bounds
        self.not_found = not_found


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _esc_series(s: pd.Series) -> pd.Series:
    """HTML-escape a column of text (popups are inserted as HTML by Leaflet)."""
    return (
        s.fillna("")
        .astype(str)
        .str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
        .str.replace('"', "&quot;", regex=False)
    )


def _drawable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows with a non-empty geometry; geometry collections split into their parts."""
    geoms = gdf.geometry.array
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = gdf[keep]
    collection = (out.geom_type == "GeometryCollection").to_numpy()
    if collection.any():
        parts = out[collection].explode(index_parts=False)
        out = pd.concat([out[~collection], parts])
        out = out[~out.geometry.is_empty]
    return out


def _to_wgs84(gdf: gpd.GeoDataFrame, crs: CRS | None, grid_deg: float) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 and round vertices to ``grid_deg`` (smaller HTML)."""
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    out = gdf.to_crs(4326)
    rounded = shapely.set_precision(out.geometry.array, grid_deg, mode="pointwise")
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326))


def _geojson(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of a frame already in EPSG:4326, for ``folium.GeoJson``.

    Written by GDAL's GeoJSON driver (pyogrio, into memory): given the frame
    itself, folium would build ``__geo_interface__`` twice, a Python dict per
    feature each time, with a ``bbox`` and an ``id`` the page does not use.
    Missing values are ``null``.
    """
    buffer = io.BytesIO()
    pyogrio.write_dataframe(gdf, buffer, driver="GeoJSON", layer="features")
    return cast("dict[str, Any]", json.loads(buffer.getvalue()))


def _union_boxes(boxes: list[np.ndarray]) -> tuple[float, float, float, float] | None:
    """The box covering (minx, miny, maxx, maxy) boxes; None when there are none."""
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (
        float(arr[:, 0].min()),
        float(arr[:, 1].min()),
        float(arr[:, 2].max()),
        float(arr[:, 3].max()),
    )


def _bounds(frames: Iterable[gpd.GeoDataFrame]) -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) of non-empty frames already in EPSG:4326."""
    return _union_boxes([f.total_bounds for f in frames if not f.empty])


def _scheme_bounds(result: Result) -> tuple[float, float, float, float] | None:
    """Bounds of all of the scheme's layers in EPSG:4326 (edges densified)."""
    boxes = []
    for gdf in result.scheme.layers.values():  # a handful of layers
        if gdf.empty or gdf.crs is None:
            continue
        minx, miny, maxx, maxy = gdf.total_bounds
        if not np.isfinite([minx, miny, maxx, maxy]).all():
            continue
        to_wgs84 = Transformer.from_crs(gdf.crs, 4326, always_xy=True)
        boxes.append(np.array(to_wgs84.transform_bounds(minx, miny, maxx, maxy)))
    return _union_boxes(boxes)


def _unit_text(unit: str, lang: str = "zh", value: str = "") -> str:
    """The unit with the space that separates it from a number (none before %).

    Chinese by default; English (``lang="en"``) in the singular after a ``value`` of 1.
    """
    if lang == "en":
        label = unit_label_en(value, UNIT_EN.get(unit, " " + unit))
        return label if label.strip() in ("%", "") else " " + label.strip()
    label = UNIT_ZH.get(unit, unit).strip()
    return label if label == "%" else " " + label


def _value_text(values: Iterable[float], units: Iterable[str], lang: str = "zh") -> list[str]:
    out = []
    for v, u in zip(values, units, strict=True):
        text = fmt(v, u)
        out.append(text + _unit_text(u, lang, text))
    return out


def _feature_names(result: Result, v: pd.DataFrame) -> pd.Series:
    """The ``name`` of each finding's feature in its input layer, aligned with ``v``; "" if none."""
    frames = [
        pd.DataFrame(
            {"layer": layer, "feature_id": gdf["feature_id"].astype(str), "name": gdf["name"]}
        )
        for layer, gdf in result.scheme.layers.items()  # a handful of layers
        if {"feature_id", "name"} <= set(gdf.columns)
    ]
    if not frames or v.empty:
        return pd.Series("", index=v.index, dtype=object)
    table = pd.concat(frames).dropna(subset=["name"])
    table = table.drop_duplicates(["layer", "feature_id"]).set_index(["layer", "feature_id"])
    keys = pd.MultiIndex.from_arrays(
        [v["layer"].fillna("").astype(str), v["feature_id"].astype(str)]
    )
    names = table["name"].astype(str).str.strip().reindex(keys).to_numpy()
    return pd.Series(names, index=v.index).fillna("").astype(str)


def _popup_properties(v: gpd.GeoDataFrame, result: Result, lang: str = "zh") -> gpd.GeoDataFrame:
    """The properties of violations: HTML-escaped popup rows, ids, and the list's text.

    Columns: ``rule_id``, ``status``, ``feature_id`` (as given), ``cc_key``
    (``rule_id|feature_id``, what the list and ``#rule=…&fid=…`` look up), one
    ``p_*`` column per popup row and ``p_tip``; ``l_text`` (the list entry) and
    ``l_search`` (lower-cased text the search box matches) are for the list only.
    """
    rules = result.profile.rules
    words = _words(lang)
    en = lang == "en"
    rule_id = v["rule_id"].astype(str)
    fid = v["feature_id"].astype(str)
    comparison = v["rule_id"].map(
        {code: _COMPARISON_TEXT.get(r.comparison, r.comparison) for code, r in rules.items()}
    )
    document = v["rule_id"].map(
        {
            code: source_document_en(r.source) if en else r.source.document
            for code, r in rules.items()
        }
    )
    measured = pd.Series(_value_text(v["measured"], v["unit"], lang), index=v.index)
    estimated = v["estimated"].fillna(False).astype(bool)
    measured = measured.where(~estimated, measured + words["estimated"])
    limit = pd.Series(_value_text(v["limit"], v["unit"], lang), index=v.index)
    limit = (comparison.fillna("") + " " + limit).str.strip()
    if "limit_low" in v.columns:  # a range: "6,000–10,000 人/平方公里"
        low = v["limit_low"].astype(float)
        ranged = (v["rule_id"].map({c: r.comparison for c, r in rules.items()}) == "between") & (
            low.notna()
        )
        if ranged.any():
            low_text = pd.Series(
                [fmt(x, u) for x, u in zip(low[ranged], v.loc[ranged, "unit"], strict=True)],
                index=v.index[ranged],
            )
            upper = pd.Series(
                _value_text(v.loc[ranged, "limit"], v.loc[ranged, "unit"], lang),
                index=low_text.index,
            )
            limit[ranged] = low_text + "–" + upper
    clause = (
        document.fillna("")
        + " "
        + v["source_section"].fillna("").astype(str)
        + "：“"
        + v["source_quote"].fillna("").astype(str)
        + "”"
    ).str.strip()
    if en:  # documents by English title and number, the clause as the English report cites it
        clause = v["rule_id"].map({code: clause_en(r) for code, r in rules.items()}).fillna("")
    # Rules not in the profile (a hand-built Result): the one-line source as recorded.
    clause = clause.where(document.notna(), v["source"].fillna("").astype(str))
    status = v["status"].map({"fail": words["fail"], "warn": words["warn"]})
    status = status.fillna(v["status"].astype(str))
    name = _feature_names(result, v)
    feature = fid + (" " + name).where(name != "", "")  # "RC 淇河路"
    # an aggregate finding (feature "*"): all features of the layer, not a star
    feature = feature.where(fid != "*", words["all"])
    layer = v["layer"].fillna("").astype(str)
    title = v["title_en" if en and "title_en" in v.columns else "title_zh"].fillna("").astype(str)
    # The popup speaks the map's language: the Chinese method (else the English) under zh.
    method = v["method"].fillna("").astype(str)
    if "method_zh" in v.columns and not en:
        method_zh = v["method_zh"].fillna("").astype(str)
        method = method_zh.where(method_zh != "", method)
    message = v["message_en" if en and "message_en" in v.columns else "message"]
    feature_layer = feature + (" (" + layer + ")" if en else "（" + layer + "）")
    props = pd.DataFrame(
        {
            "rule_id": rule_id,
            "status": v["status"].astype(str),
            "feature_id": fid,
            "cc_key": rule_id + "|" + fid,
            "p_rule": _esc_series(rule_id + " " + title),
            "p_status": _esc_series(status),
            "p_feature": _esc_series(feature_layer),
            "p_measured": _esc_series(measured),
            "p_limit": _esc_series(limit),
            "p_message": _esc_series(message),
            "p_method": _esc_series(method),
            "p_clause": _esc_series(clause),
            "p_tip": _esc_series(rule_id + " · " + feature + " · " + measured),
            "l_text": _esc_series(feature + " · " + measured + " / " + limit),
            "l_search": _esc_series(
                (rule_id + " " + title + " " + feature + " " + layer + " " + status).str.lower()
            ),
        },
        index=v.index,
    )
    return gpd.GeoDataFrame(props, geometry=v.geometry.array, crs=v.crs).reset_index(drop=True)


def _violation_style(colour: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Leaflet path options of a violation: solid for fail, dashed and lighter for warn."""

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        warn = feature["properties"].get("status") == "warn"
        kind = (feature.get("geometry") or {}).get("type", "")
        area = kind in _AREA_TYPES
        point = kind in ("Point", "MultiPoint")
        out: dict[str, Any] = {
            "color": colour,
            "fillColor": colour,
            "opacity": 0.75 if warn else 0.95,
            "weight": 3 if area else (2 if point else (5 if warn else 6)),
            "fillOpacity": (0.08 if warn else 0.22) if area else (0.45 if warn else 0.85),
            "dashArray": ("8 6" if area else "10 8") if warn else None,
            "lineCap": "round",
        }
        return out

    return style


def _violation_highlight(feature: dict[str, Any]) -> dict[str, Any]:
    kind = (feature.get("geometry") or {}).get("type", "")
    return {"weight": 5 if kind in _AREA_TYPES else 9, "fillOpacity": 0.4}


def _add_violation_layer(
    m: folium.Map,
    rule_id: str,
    props: gpd.GeoDataFrame,
    name: str,
    area_pane: str,
    lang: str = "zh",
) -> tuple[str, list[str]]:
    """One toggleable group for a rule: areas in their pane, lines and points above.

    Returns the JavaScript names of the group and of its GeoJson layers.
    """
    colour = rule_colour(rule_id)
    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
    is_area = props.geom_type.isin(_AREA_TYPES).to_numpy()
    fields = [f for f, _ in _POPUP_FIELDS]
    aliases = [_POPUP_EN[f] if lang == "en" else a for f, a in _POPUP_FIELDS]
    layers: list[str] = []
    for part, pane in ((props[is_area], area_pane), (props[~is_area], _LINES_PANE)):
        if part.empty:
            continue
        marker = None
        if part.geom_type.isin(["Point", "MultiPoint"]).any():
            marker = folium.CircleMarker(radius=7)
            marker.options["pane"] = pane  # path_options() drops it; points keep their pane
        geojson = folium.GeoJson(
            _geojson(part.reset_index(drop=True)),
            style_function=_violation_style(colour),
            highlight_function=_violation_highlight,
            control=False,
            popup=folium.GeoJsonPopup(
                fields=fields,
                aliases=aliases,
                localize=False,
                labels=True,
                max_width=460,
                auto_pan_padding_top_left=[20, 110],  # clear of the title box
            ),
            tooltip=folium.GeoJsonTooltip(fields=["p_tip"], labels=False, sticky=True),
            marker=marker,
            pane=pane,
        )
        geojson.add_to(group)
        layers.append(geojson.get_name())
    group.add_to(m)
    return group.get_name(), layers


def _swatch(colour: str, warn: bool) -> str:
    border = "dashed" if warn else "solid"
    fill = colour + ("22" if warn else "55")
    return (
        f'<span class="cc-swatch" style="border-style:{border};border-color:{colour};'
        f'background:{fill}"></span>'
    )


def _context_swatch(opts: dict[str, Any]) -> str:
    fill = opts.get("fill_color", "transparent") if opts.get("fill", True) else "transparent"
    border = "dashed" if opts.get("dash_array") else "solid"
    return (
        f'<span class="cc-swatch" style="border-style:{border};border-color:{opts["color"]};'
        f'background:{fill}"></span>'
    )


def _legend_html(
    result: Result,
    rule_order: list[str],
    titles: dict[str, str],
    counts: dict[str, tuple[int, int]],
    undrawn: pd.Series,
    context_present: list[tuple[str, dict[str, Any]]],
    lang: str = "zh",
) -> str:
    s = result.summary
    w = _words(lang)
    en = lang == "en"
    parts = [f"<details open><summary>{w['legend']}</summary>"]
    parts.append(f'<div class="cc-sec">{w["violations"]}</div>')
    if not counts:
        parts.append(f'<div class="cc-row">{w["none"]}</div>')
    for code in rule_order:
        if code not in counts:
            continue
        n_fail, n_warn = counts[code]
        tally = []
        if n_fail:
            tally.append(w["n_fail"].format(n=n_fail))
        if n_warn:
            tally.append(w["n_warn"].format(n=n_warn))
        missing = int(undrawn.get(code, 0))
        if missing:
            tally.append(w["not_drawn_n"].format(n=missing))
        tally_text = f" ({', '.join(tally)})" if en else f"（{'，'.join(tally)}）"
        parts.append(
            f'<div class="cc-row">{_swatch(rule_colour(code), n_fail == 0)}'
            f"<b>{_esc(code)}</b> {_esc(titles.get(code, ''))}"
            f' <span class="cc-small">{_esc(tally_text)}</span></div>'
        )
    ne = s[s["status"] == "not_evaluated"]
    if not ne.empty:
        f = result.findings
        column = "message_en" if en and "message_en" in f.columns else "message"
        reasons = f[f["status"] == "not_evaluated"].groupby("rule_id")[column].first().to_dict()
        parts.append(f'<div class="cc-sec cc-muted">{w["ne_head"]}</div>')
        ne_titles = ne["title_en"] if en and "title_en" in ne.columns else ne["title"]
        for code, title, note in zip(ne["rule_id"], ne_titles, ne["note"], strict=True):
            reason = reasons.get(code) or (note if isinstance(note, str) else "")
            parts.append(
                f'<div class="cc-row cc-muted"><b>{_esc(code)}</b> {_esc(title)} — {w["ne"]}'
                f' <span class="cc-small">{_esc(reason)}</span></div>'
            )
    passed = s[s["status"] == "pass"]
    if not passed.empty:
        empty_text = f" ({w['empty']})" if en else f"（{w['empty']}）"
        empty = f' <span class="cc-small cc-muted">{_esc(empty_text)}</span>'
        pass_titles = passed["title_en"] if en and "title_en" in passed.columns else passed["title"]
        listed = ("; " if en else "、").join(
            f"{_esc(c)} {_esc(t)}" + ("" if n else empty)
            for c, t, n in zip(passed["rule_id"], pass_titles, passed["checked"], strict=True)
        )
        parts.append(
            f'<div class="cc-sec">{w["pass_head"]}</div><div class="cc-row">{listed}</div>'
        )
    if context_present:
        parts.append(f'<div class="cc-sec">{w["context"]}</div>')
        for label, opts in context_present:
            parts.append(f'<div class="cc-row">{_context_swatch(opts)}{_esc(label)}</div>')
    prof = result.profile
    parts.append(
        f'<div class="cc-sec">{w["crs"]}: '
        f'<span style="font-weight:normal">{_esc(result.scheme.crs_label)}</span></div>'
    )
    title, plan = (prof.title_en, prof.plan_en) if en else (prof.title_zh, prof.document)
    parts.append(
        f'<div class="cc-row">{w["profile"]}: <b>{_esc(prof.name)}</b> {_esc(title)}'
        f" — {_esc(plan)}</div>"
    )
    if result.notes:
        notes = "<br>".join(_esc(n) for n in notes_text(result.notes, lang))
        parts.append(f'<div class="cc-row cc-muted cc-small">{w["notes"]}:<br>{notes}</div>')
    parts.append(f'<div class="cc-row cc-muted cc-small">{_esc(w["help"])}</div>')
    parts.append("</details>")
    return "".join(parts)


def _index_html(
    props: pd.DataFrame,
    drawn_keys: set[str],
    rule_order: list[str],
    titles: dict[str, str],
    lang: str = "zh",
) -> str:
    """The violations list: a search box, then per rule its entries (links to ``#rule=…&fid=…``).

    ``props`` holds every violation (drawn or not) with the columns of
    :func:`_popup_properties`; entries of violations without a drawn geometry
    are plain text.
    """
    n = len(props)
    w = _words(lang)
    parts = [
        f"<details open><summary>{_esc(w['list'].format(n=n))}</summary>",
        f'<input type="search" class="cc-search" placeholder="{_esc(w["search"])}"'
        f' aria-label="{_esc(w["search_label"])}" autocomplete="off">',
        '<div class="cc-small"><span class="cc-count"></span> ',
        '<span class="cc-status"></span></div>',
        '<div class="cc-list">',
    ]
    if n == 0:
        parts.append(f'<div class="cc-row">{w["none"]}</div>')
    else:
        rule = props["rule_id"].astype(str)
        fid = props["feature_id"].astype(str)
        href = "#rule=" + rule.map(lambda c: quote(c, safe="")) + "&amp;fid="
        href = href + fid.map(lambda f: quote(f, safe=""))
        drawn = props["cc_key"].isin(drawn_keys)
        kind = props["status"].map({"warn": " cc-warn"}).fillna("")
        colour = rule.map(rule_colour)
        attrs = (
            ' class="cc-item'
            + kind
            + '" data-rule="'
            + _esc_series(rule)
            + '" data-fid="'
            + _esc_series(fid)
            + '" data-text="'
            + props["l_search"]
            + '" style="border-left-color:'
            + colour
            + '"'
        )
        label = "<b>" + _esc_series(rule) + "</b> · " + props["l_text"]
        link = '<a href="' + href + '"' + attrs + ">" + label + "</a>"
        plain = (
            "<span"
            + attrs.str.replace('class="cc-item', 'class="cc-item cc-undrawn', regex=False)
            + ">"
            + label
            + _esc(w["not_drawn"])
            + "</span>"
        )
        entries = link.where(drawn, plain)
        for code in rule_order:  # one group per rule with violations
            mine = entries[(rule == code).to_numpy()]
            if mine.empty:
                continue
            tally = f"({len(mine)})" if lang == "en" else f"（{len(mine)}）"
            parts.append(
                f'<div class="cc-group" data-rule="{_esc(code)}"><div class="cc-gh">'
                f"{_swatch(rule_colour(code), False)}{_esc(code)} {_esc(titles.get(code, ''))}"
                f' <span class="cc-small">{tally}</span></div>' + "".join(mine) + "</div>"
            )
    parts.append("</div></details>")
    return "".join(parts)


def _tianditu_url(layer: str, key: str) -> str:
    return TIANDITU_URL.replace("{layer}", layer).replace("{key}", quote(key, safe=""))


def _add_basemap(m: folium.Map, basemap: str, tianditu_key: str | None, lang: str = "zh") -> None:
    """Base tile layers: OSM (+ Esri imagery), Tianditu map and imagery with labels, or none."""
    if basemap == "osm":
        # WGS84 tiles (no GCJ-02 offset) that need no API key.
        w = _words(lang)
        folium.TileLayer("OpenStreetMap", name=w["osm"]).add_to(m)
        folium.TileLayer("Esri.WorldImagery", name=w["esri"], show=False).add_to(m)
    elif basemap == "tianditu":
        assert tianditu_key is not None
        for base, labels, name, show in (
            ("vec", "cva", _words(lang)["tdt_vec"], True),
            ("img", "cia", _words(lang)["tdt_img"], False),
        ):
            # A base layer of two tile layers: the map or imagery, its annotation above.
            group = folium.FeatureGroup(name=name, overlay=False, control=True, show=show)
            for layer, z_index in ((base, 1), (labels, 2)):
                folium.TileLayer(
                    tiles=_tianditu_url(layer, tianditu_key),
                    attr=_TIANDITU_ATTR,
                    name=f"{name} {layer}",
                    subdomains="01234567",
                    max_native_zoom=18,
                    max_zoom=20,
                    control=False,
                    z_index=z_index,
                ).add_to(group)
            group.add_to(m)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _leaflet_head(offline: bool) -> str:
    """Leaflet's script and style: inlined from :data:`LEAFLET_DIR`, or linked from a CDN."""
    if not offline:
        return (
            f'<script src="{_LEAFLET_CDN}/leaflet.js"></script>\n'
            f'<link rel="stylesheet" href="{_LEAFLET_CDN}/leaflet.css"/>\n'
        )
    images = LEAFLET_DIR / "images"
    js = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.M)  # no map file here
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/([\w.-]+\.png)\)", lambda g: f"url({_data_uri(images / g[1])})", css)
    # Default marker icons as data URIs too (the map draws circle markers, not icons).
    icons = (
        "L.Icon.Default.imagePath = '';"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{_data_uri(images / 'marker-icon.png')}',"
        f"iconRetinaUrl: '{_data_uri(images / 'marker-icon-2x.png')}',"
        f"shadowUrl: '{_data_uri(images / 'marker-shadow.png')}'}});"
    )
    return (
        f"<!-- Leaflet {LEAFLET_VERSION}, BSD-2-Clause, (c) 2010-2023 Volodymyr Agafonkin,"
        " (c) 2010-2011 CloudMade -->\n"
        f"<style>\n{css}\n</style>\n<script>\n{js}\n</script>\n<script>{icons}</script>\n"
    )


#: Said once, in a box at the bottom left, when basemap tiles cannot be loaded.
TILES_FAILED_TEXT = (
    "底图无法加载（无网络或服务被阻断），方案在空白底图上显示 / "
    "basemap tiles could not be loaded (offline or blocked): the scheme is drawn on a plain "
    "background"
)
#: The same notice on an English map (``--lang en``).
TILES_FAILED_TEXT_EN = (
    "Basemap tiles could not be loaded (offline or blocked): the scheme is drawn on a plain "
    "background"
)


class _TilesFallback(MacroElement):
    """On the first tile that fails to load: a plain background and one notice."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, said = false;
            function failed() {
                if (said) { return; }
                said = true;
                map.getContainer().style.background = {{ this.background|tojson }};
                var note = L.control({position: "bottomleft"});
                note.onAdd = function () {
                    var div = L.DomUtil.create("div", "cc-box cc-tiles-failed");
                    div.textContent = {{ this.text|tojson }};
                    return div;
                };
                note.addTo(map);
            }
            function watch(layer) {
                if (layer instanceof L.TileLayer) { layer.on("tileerror", failed); }
            }
            map.eachLayer(watch);
            map.on("layeradd", function (e) { watch(e.layer); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lang: str = "zh") -> None:
        super().__init__()
        self._name = "TilesFallback"
        self.background = _NO_BASEMAP_BACKGROUND
        self.text = TILES_FAILED_TEXT_EN if lang == "en" else TILES_FAILED_TEXT


def _title_html(
    result: Result,
    violations: pd.DataFrame,
    prov: _provenance.Provenance | None = None,
    lang: str = "zh",
) -> str:
    s = result.summary
    n_fail = int((violations["status"] == "fail").sum())
    n_warn = int((violations["status"] == "warn").sum())
    rules_fail = int((s["status"] == "fail").sum())
    rules_warn = int((s["status"] == "warn").sum())
    rules_pass = int((s["status"] == "pass").sum())
    rules_ne = int((s["status"] == "not_evaluated").sum())
    prof = result.profile
    w = _words(lang)
    if lang == "en":
        verdict = w["none"]
        if n_fail + n_warn:
            verdict = w["verdict"].format(
                fail_n=count_en(n_fail, "failure"),
                fail_r=count_en(rules_fail, "rule"),
                warn_n=count_en(n_warn, "warning"),
                warn_r=count_en(rules_warn, "rule"),
            )
        counts = w["counts"].format(
            verdict=verdict, pass_r=count_en(rules_pass, "rule"), ne_r=count_en(rules_ne, "rule")
        )
        title, plan = prof.title_en, prof.plan_en
    else:
        verdict = w["none"]
        if n_fail + n_warn:
            verdict = w["verdict"].format(nf=n_fail, rf=rules_fail, nw=n_warn, rw=rules_warn)
        counts = w["counts"].format(verdict=verdict, rp=rules_pass, rn=rules_ne)
        title, plan = prof.title_zh, prof.document
    return (
        f'<div class="cc-h">{_esc(w["title"])}</div>'
        f"<div>{w['scheme']}: {_esc(result.scheme.source)}</div>"
        f"<div>{w['profile_t']}: {_esc(prof.name)} {_esc(title)} — {_esc(plan)}</div>"
        f"<div><b>{_esc(counts)}</b></div>"
        + (
            f'<div class="cc-small cc-muted cc-prov">{_esc(_provenance.short_line(prov))}</div>'
            if prov is not None
            else ""
        )
    )


def render_map(
    result: Result,
    path: Path,
    *,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    offline: bool = True,
    provenance: _provenance.Provenance | None = None,
    lang: str = "zh",
) -> None:
    """Render a check run as an interactive HTML map for review.

    The map (Folium/Leaflet) shows:

    * a basemap: ``"osm"`` OpenStreetMap (Esri World Imagery as the other
      base layer), ``"tianditu"`` Tianditu 天地图 map or imagery with their
      annotation layers (Web Mercator ``_w`` services, ``tk=tianditu_key``), or
      ``"none"`` (a plain background).  All are WGS 84 / CGCS2000 coordinates;
      GCJ-02 and BD-09 tiles (AMap, Baidu, Tencent) are not offered;
    * context layers of the scheme, under everything and toggleable: ``clusters``,
      ``corridors``, ``green_spaces`` (light grey and green fills) and
      ``boundary`` (grey dashed outline), each simplified with a tolerance of
      :data:`CONTEXT_SIMPLIFY_M` metres in the measuring CRS before reprojection;
    * one toggleable layer per rule with violations, named e.g.
      ``"EC01 生态廊道净宽度 · 2 处"``, coloured by rule (:data:`RULE_COLOURS`),
      ``fail`` solid and ``warn`` dashed and lighter, lines at least 5 px wide,
      points as circle markers; larger areas are stacked under smaller ones and
      lines and points over all areas, whatever is toggled;
    * a popup per violation (rule and title, status, feature id and name,
      measured value and limit in the rule's unit, the finding in Chinese, the
      method, whether the value is estimated, the clause quoted with its
      document and section) and a tooltip (rule, feature, measured value);
    * a violations list (违规清单, collapsible, top left): one entry per
      violation grouped by rule, ``"RD01 · RC 淇河路 · 50.0 米 / ≤ 40.0 米"``,
      that zooms to the violation and opens its popup, and a search box that
      filters the entries by feature id, name, rule or title;
    * a legend (rules drawn with colour and fail/warn counts, rules not
      evaluated with the reason, rules passed, the measuring CRS, the profile),
      a title box (scheme, profile, counts, and the provenance: tool version,
      rule-catalogue and input hashes) and a metric scale bar.

    When a basemap tile fails to load (no network, a blocked server), the page
    says so once (:data:`TILES_FAILED_TEXT`, bottom left) and draws the scheme
    on a plain background; nothing else the page runs comes from the network.

    Opening ``map.html#rule=<rule_id>&fid=<feature_id>`` (both percent-encoded,
    see :func:`violation_href`) zooms to that violation and opens its popup, on
    load and whenever the hash changes.  Every drawn violation carries the
    GeoJSON properties ``rule_id``, ``feature_id`` and ``cc_key``
    (``"<rule_id>|<feature_id>"``).

    The view is fitted to the violations and context layers, or to all of the
    scheme's layers when there are neither.  Findings without a geometry
    (``not_evaluated`` rows, or aggregate findings) are not drawn but counted
    and listed.

    Parameters
    ----------
    result : compliance.engine.Result
        A check run.  ``result.findings`` and ``result.scheme.layers`` are in
        the projected measuring CRS (metres); they are reprojected to EPSG:4326
        for drawing and are not modified.
    path : pathlib.Path
        HTML file to write (UTF-8); overwritten if it exists.
    basemap : {"osm", "tianditu", "none"}
        The base tiles (:data:`BASEMAPS`).
    tianditu_key : str, optional
        The Tianditu key (``tk``), required with ``basemap="tianditu"``.  It is
        written into the page.
    offline : bool
        True (the default): inline Leaflet's script, style and images
        (vendored in :data:`LEAFLET_DIR`) so the page needs no network, tiles
        aside.  False (``--cdn``): load Leaflet from a CDN, a smaller page.
        Either way the page loads no jQuery, Bootstrap or Font Awesome.
    provenance : Provenance, optional
        What produced the run (:func:`compliance.outputs.provenance.provenance`),
        shown in the title box.
    lang : {"zh", "en"}
        The map's language.  ``zh`` (default): Chinese labels with English
        glosses, the Chinese findings, methods and notes, clauses by their
        Chinese documents.  ``en``: English alone — labels, layer names,
        status words, rule titles, the English findings and methods, notes,
        and clauses cited by the document's English title and number (never
        a file name); only the quoted clause and feature names stay Chinese.

    Returns
    -------
    None

    Raises
    ------
    InputError
        ``basemap`` is not one of :data:`BASEMAPS`, or is ``"tianditu"``
        without a key.
    """
    key = validate_basemap(basemap, tianditu_key)
    words = _words(lang)
    crs = result.findings.crs or result.scheme.crs
    findings = result.findings
    bad = findings[findings["status"].isin(["fail", "warn"])]
    geoms = bad.geometry.array
    undrawn = bad.loc[shapely.is_missing(geoms) | shapely.is_empty(geoms), "rule_id"]
    undrawn_counts = undrawn.value_counts()
    listed = _popup_properties(bad, result, lang)  # every violation, drawn or not
    drawable = _drawable(listed)
    drawable = drawable.set_geometry(
        drawable.geometry.simplify(VIOLATION_SIMPLIFY_M, preserve_topology=True)
    )

    # Context layers, simplified in metres, then reprojected.
    context: list[tuple[str, str, dict[str, Any], gpd.GeoDataFrame]] = []
    for name, label, opts in CONTEXT_LAYERS:  # four layers at most
        gdf = result.scheme.layers.get(name)
        if gdf is None or gdf.empty:
            continue
        simple = gpd.GeoDataFrame(
            geometry=gdf.geometry.simplify(CONTEXT_SIMPLIFY_M, preserve_topology=True),
            crs=gdf.crs,
        )
        simple = _drawable(simple)
        if simple.empty:
            continue
        label = _CONTEXT_EN.get(name, name) if lang == "en" else label
        context.append((name, label, opts, _to_wgs84(simple, crs, _CONTEXT_GRID_DEG)))

    props = _to_wgs84(drawable, crs, _VIOLATION_GRID_DEG)
    props = props.drop(columns=["l_text", "l_search"]).reset_index(drop=True)
    anchor = shapely.point_on_surface(props.geometry.array)  # where a popup opens
    props["cc_lat"] = np.round(shapely.get_y(anchor), 7)
    props["cc_lon"] = np.round(shapely.get_x(anchor), 7)

    bounds = _bounds([props, *(c[3] for c in context)]) or _scheme_bounds(result)
    if bounds is None:
        location, zoom = [35.0, 105.0], 4  # China, when the scheme has no features
    else:
        location, zoom = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 13
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=False)
    # Leaflet alone: none of folium's jQuery, Bootstrap, Font Awesome, awesome-markers.
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = _esc(f"{result.profile.name} — {Path(result.scheme.source).name}")
    root.header.add_child(Element(_leaflet_head(offline)), name="leaflet")
    root.header.add_child(Element(_CSS), name="compliance_css")
    if basemap == "none":
        root.header.add_child(
            Element(f"<style>#{m.get_name()} {{ background: {_NO_BASEMAP_BACKGROUND}; }}</style>"),
            name="compliance_background",
        )
    _add_basemap(m, basemap, key, lang)
    if basemap != "none":
        _TilesFallback(lang).add_to(m)

    folium.map.CustomPane(_CONTEXT_PANE, z_index=350, pointer_events=False).add_to(m)
    for _name, label, opts, gdf in context:
        folium.GeoJson(
            _geojson(gdf),
            name=label,
            interactive=False,
            pane=_CONTEXT_PANE,
            smooth_factor=0.5,
            **opts,
        ).add_to(m)

    # Rules in profile order; extra codes (a hand-built Result) after them.
    rule_order = [str(c) for c in result.summary["rule_id"]]
    rule_order += [c for c in pd.unique(bad["rule_id"].astype(str)) if c not in rule_order]
    title_column = "title_en" if lang == "en" else "title"
    titles = dict(zip(result.summary["rule_id"], result.summary[title_column], strict=True))
    titles.update(
        {
            k: v
            for k, v in bad.groupby("rule_id")["title_en" if lang == "en" else "title_zh"]
            .first()
            .items()
            if k not in titles
        }
    )
    table = pd.crosstab(bad["rule_id"], bad["status"]).reindex(
        columns=["fail", "warn"], fill_value=0
    )
    counts = {
        str(code): (int(n_fail), int(n_warn))
        for code, n_fail, n_warn in zip(table.index, table["fail"], table["warn"], strict=True)
    }

    # Stacking: the rule with the largest areas lowest, lines and points above all areas.
    area_of = drawable.geometry.area.groupby(drawable["rule_id"].to_numpy()).max()
    stack = {code: i for i, code in enumerate(area_of.sort_values(ascending=False).index)}
    lines_z = max(480, 402 + len(stack))  # above every area pane, under markers (600)
    folium.map.CustomPane(_LINES_PANE, z_index=lines_z, pointer_events=True).add_to(m)
    panes: dict[str, str] = {}
    for code, i in stack.items():  # one pane per rule with violations
        panes[code] = f"cc-violations-{i}"
        folium.map.CustomPane(panes[code], z_index=401 + i, pointer_events=True).add_to(m)

    sources: list[tuple[str, list[str]]] = []
    for code in rule_order:  # one layer per rule with violations
        if code not in counts:
            continue
        part = props[props["rule_id"] == code]
        n = sum(counts[code])
        colour = rule_colour(code)
        name = f'<span style="color:{colour}">■</span> ' + _esc(
            words["layer"].format(code=code, title=titles.get(code, ""), n=n)
        )
        if part.empty:
            continue
        sources.append(
            _add_violation_layer(m, code, part, name, panes.get(code, "overlayPane"), lang)
        )

    context_present = [(label, opts) for _n, label, opts, _g in context]
    legend = _legend_html(result, rule_order, titles, counts, undrawn_counts, context_present, lang)
    _Box(legend, "bottomright", "cc-legend").add_to(m)
    _Box(_title_html(result, bad, provenance, lang), "topcenter", "cc-title").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    # The view is fitted by the list's script (clear of the boxes, unanimated).
    fit = None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]
    index_html = _index_html(listed, set(props["cc_key"]), rule_order, titles, lang)
    _ViolationIndex(index_html, sources, fit, words["not_found"]).add_to(m)
    m.save(str(path))
