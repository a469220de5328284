"""The reviewer's map: ``map.html``, a Folium (Leaflet) map of one check run.

The map shows every violation (``fail`` or ``warn`` finding) in a layer of its
rule, coloured by rule, over light context layers of the scheme (boundary,
clusters, corridors, green spaces), with a popup per violation that gives the
measured value, the limit, the finding and the clause it rests on.  A legend
lists the rules with their counts, the rules that could not be evaluated and
why, the measuring CRS and the profile; a title box names the scheme.

Geometries arrive in the projected measuring CRS of the run and are drawn in
EPSG:4326 (longitude/latitude, the CRS of the web basemaps, which are WGS84
tiles, not GCJ-02).  Measured values are never recomputed here: they are the
findings' ``measured`` and ``limit``, printed with :func:`compliance.engine.fmt`.
"""

from __future__ import annotations

import html
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from pyproj import CRS, Transformer

from .engine import UNIT_ZH, Result, fmt

#: Colour of each rule of the shipped catalogue: fixed, so a rule keeps its
#: colour from run to run and from map to map.  No greens: green is context.
RULE_COLOURS: dict[str, str] = {
    "CL01": "#253494",  # navy
    "CL02": "#17becf",  # cyan
    "EC01": "#e41a1c",  # red
    "EC02": "#ff7f00",  # orange
    "GR01": "#984ea3",  # purple
    "GR02": "#f781bf",  # pink
    "GR03": "#a65628",  # brown
    "RD01": "#377eb8",  # blue
    "SQ01": "#d4a000",  # mustard
}

#: Colours for rule codes not in :data:`RULE_COLOURS`, picked by a CRC32 of the
#: code (stable across runs and Python processes, unlike ``hash``).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#1f77b4",
    "#d62728",
    "#9467bd",
    "#ff9896",
    "#c49c94",
    "#393b79",
)

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

_STATUS_TEXT = {"fail": "不符合 / fail", "warn": "提示 / warn"}
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

_CSS = """
<style>
.cc-box {
    background: rgba(255, 255, 255, 0.95); padding: 6px 10px; border-radius: 5px;
    box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); color: #222;
    font: 13px/1.45 "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", sans-serif;
}
.cc-title {
    position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
    z-index: 1000; max-width: 46%; text-align: center;
}
.cc-title .cc-h { font-size: 16px; font-weight: bold; }
.cc-legend { max-height: 55vh; max-width: 380px; overflow-y: auto; }
.cc-legend summary { font-weight: bold; cursor: pointer; }
.cc-legend .cc-sec { margin-top: 6px; font-weight: bold; }
.cc-legend .cc-row { margin: 2px 0; }
.cc-swatch {
    display: inline-block; width: 18px; height: 10px; margin-right: 5px;
    vertical-align: middle; border-width: 2px;
}
.cc-muted { color: #888; }
.cc-small { font-size: 11px; }
.foliumpopup td { max-width: 320px; white-space: normal; }
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


def _rule_colour(rule_id: str) -> str:
    known = RULE_COLOURS.get(rule_id)
    if known is not None:
        return known
    return FALLBACK_COLOURS[zlib.crc32(rule_id.encode("utf-8")) % len(FALLBACK_COLOURS)]


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


def _unit_text(unit: str) -> str:
    """The Chinese unit with the space that separates it from a number (none before %)."""
    label = UNIT_ZH.get(unit, unit).strip()
    return label if label == "%" else " " + label


def _value_text(values: Iterable[float], units: Iterable[str]) -> list[str]:
    return [fmt(v, u) + _unit_text(u) for v, u in zip(values, units, strict=True)]


def _popup_properties(v: gpd.GeoDataFrame, result: Result) -> gpd.GeoDataFrame:
    """The properties drawn for violations: HTML-escaped text, one column per popup row."""
    rules = result.profile.rules
    comparison = v["rule_id"].map(
        {code: _COMPARISON_TEXT.get(r.comparison, r.comparison) for code, r in rules.items()}
    )
    document = v["rule_id"].map({code: r.source.document for code, r in rules.items()})
    measured = pd.Series(_value_text(v["measured"], v["unit"]), index=v.index)
    estimated = v["estimated"].fillna(False).astype(bool)
    measured = measured.where(~estimated, measured + "（估算 / estimated）")
    limit = pd.Series(_value_text(v["limit"], v["unit"]), index=v.index)
    limit = (comparison.fillna("") + " " + limit).str.strip()
    clause = (
        document.fillna("")
        + " "
        + v["source_section"].fillna("").astype(str)
        + "：“"
        + v["source_quote"].fillna("").astype(str)
        + "”"
    ).str.strip()
    # Rules not in the profile (a hand-built Result): the one-line source as recorded.
    clause = clause.where(document.notna(), v["source"].fillna("").astype(str))
    status = v["status"].map(_STATUS_TEXT).fillna(v["status"].astype(str))
    props = pd.DataFrame(
        {
            "rule_id": v["rule_id"].astype(str),
            "status": v["status"].astype(str),
            "p_rule": _esc_series(
                v["rule_id"].astype(str) + " " + v["title_zh"].fillna("").astype(str)
            ),
            "p_status": _esc_series(status),
            "p_feature": _esc_series(
                v["feature_id"].astype(str) + "（" + v["layer"].fillna("").astype(str) + "）"
            ),
            "p_measured": _esc_series(measured),
            "p_limit": _esc_series(limit),
            "p_message": _esc_series(v["message"]),
            "p_method": _esc_series(v["method"]),
            "p_clause": _esc_series(clause),
            "p_tip": _esc_series(
                v["rule_id"].astype(str) + " · " + v["feature_id"].astype(str) + " · " + measured
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
) -> None:
    """One toggleable group for a rule: areas in their pane, lines and points above."""
    colour = _rule_colour(rule_id)
    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
    is_area = props.geom_type.isin(_AREA_TYPES).to_numpy()
    fields = [f for f, _ in _POPUP_FIELDS]
    aliases = [a for _, a in _POPUP_FIELDS]
    for part, pane in ((props[is_area], area_pane), (props[~is_area], _LINES_PANE)):
        if part.empty:
            continue
        marker = None
        if part.geom_type.isin(["Point", "MultiPoint"]).any():
            marker = folium.CircleMarker(radius=7)
            marker.options["pane"] = pane  # path_options() drops it; points keep their pane
        folium.GeoJson(
            part.reset_index(drop=True),
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
        ).add_to(group)
    group.add_to(m)


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
) -> str:
    s = result.summary
    parts = ["<details open><summary>图例 Legend</summary>"]
    parts.append('<div class="cc-sec">违规项 Violations</div>')
    if not counts:
        parts.append('<div class="cc-row">未发现不符合或提示项 / no violations found</div>')
    for code in rule_order:
        if code not in counts:
            continue
        n_fail, n_warn = counts[code]
        tally = []
        if n_fail:
            tally.append(f"不符合 fail {n_fail}")
        if n_warn:
            tally.append(f"提示 warn {n_warn}")
        missing = int(undrawn.get(code, 0))
        if missing:
            tally.append(f"{missing} 处无图形 / not drawn")
        parts.append(
            f'<div class="cc-row">{_swatch(_rule_colour(code), n_fail == 0)}'
            f"<b>{_esc(code)}</b> {_esc(titles.get(code, ''))}"
            f' <span class="cc-small">（{_esc("，".join(tally))}）</span></div>'
        )
    ne = s[s["status"] == "not_evaluated"]
    if not ne.empty:
        f = result.findings
        reasons = f[f["status"] == "not_evaluated"].groupby("rule_id")["message"].first().to_dict()
        parts.append('<div class="cc-sec cc-muted">未评估 / not evaluated</div>')
        for code, title, note in zip(ne["rule_id"], ne["title"], ne["note"], strict=True):
            reason = reasons.get(code) or (note if isinstance(note, str) else "")
            parts.append(
                f'<div class="cc-row cc-muted"><b>{_esc(code)}</b> {_esc(title)} — 未评估'
                f' <span class="cc-small">{_esc(reason)}</span></div>'
            )
    passed = s[s["status"] == "pass"]
    if not passed.empty:
        empty = ' <span class="cc-small cc-muted">（无检查对象 / nothing in scope）</span>'
        listed = "、".join(
            f"{_esc(c)} {_esc(t)}" + ("" if n else empty)
            for c, t, n in zip(passed["rule_id"], passed["title"], passed["checked"], strict=True)
        )
        parts.append(f'<div class="cc-sec">符合 / pass</div><div class="cc-row">{listed}</div>')
    if context_present:
        parts.append('<div class="cc-sec">底图 Context</div>')
        for label, opts in context_present:
            parts.append(f'<div class="cc-row">{_context_swatch(opts)}{_esc(label)}</div>')
    prof = result.profile
    parts.append(
        f'<div class="cc-sec">量测坐标系 / measured in: '
        f'<span style="font-weight:normal">{_esc(result.scheme.crs_label)}</span></div>'
    )
    parts.append(
        f'<div class="cc-row">规则配置 / profile: <b>{_esc(prof.name)}</b> {_esc(prof.title_zh)}'
        f" — {_esc(prof.document)}</div>"
    )
    if result.notes:
        notes = "<br>".join(_esc(n) for n in result.notes)
        parts.append(f'<div class="cc-row cc-muted cc-small">说明 notes:<br>{notes}</div>')
    parts.append(
        '<div class="cc-row cc-muted cc-small">实线 solid = 不符合 fail；虚线 dashed = 提示 warn。'
        "点击图形查看量测值、限值与依据条文。</div>"
    )
    parts.append("</details>")
    return "".join(parts)


def _title_html(result: Result, violations: pd.DataFrame) -> str:
    s = result.summary
    n_fail = int((violations["status"] == "fail").sum())
    n_warn = int((violations["status"] == "warn").sum())
    rules_fail = int((s["status"] == "fail").sum())
    rules_warn = int((s["status"] == "warn").sum())
    rules_pass = int((s["status"] == "pass").sum())
    rules_ne = int((s["status"] == "not_evaluated").sum())
    prof = result.profile
    if n_fail + n_warn == 0:
        verdict = "未发现不符合或提示项 / no violations found"
    else:
        verdict = (
            f"不符合 fail {n_fail} 处（{rules_fail} 条规则）· 提示 warn {n_warn} 处"
            f"（{rules_warn} 条规则）"
        )
    counts = f"{verdict} · 符合 pass {rules_pass} 条 · 未评估 not evaluated {rules_ne} 条"
    return (
        '<div class="cc-h">规划碳达峰合规检查 / Compliance map</div>'
        f"<div>方案 scheme: {_esc(result.scheme.source)}</div>"
        f"<div>规则 profile: {_esc(prof.name)} {_esc(prof.title_zh)} — {_esc(prof.document)}</div>"
        f"<div><b>{_esc(counts)}</b></div>"
    )


def render_map(result: Result, path: Path) -> None:
    """Render a check run as an interactive HTML map for review.

    The map (Folium/Leaflet, basemap tiles loaded from the web) shows:

    * context layers of the scheme, under everything and toggleable: ``clusters``,
      ``corridors``, ``green_spaces`` (light grey and green fills) and
      ``boundary`` (grey dashed outline), each simplified with a tolerance of
      :data:`CONTEXT_SIMPLIFY_M` metres in the measuring CRS before reprojection;
    * one toggleable layer per rule with violations, named e.g.
      ``"EC01 生态廊道净宽度 · 2 处"``, coloured by rule (:data:`RULE_COLOURS`),
      ``fail`` solid and ``warn`` dashed and lighter, lines at least 5 px wide,
      points as circle markers; larger areas are stacked under smaller ones and
      lines and points over all areas, whatever is toggled;
    * a popup per violation (rule and title, status, measured value and limit in
      the rule's unit, the finding in Chinese, the method, whether the value is
      estimated, the clause quoted with its document and section) and a tooltip
      (rule, feature id, measured value);
    * a legend (rules drawn with colour and fail/warn counts, rules not
      evaluated with the reason, rules passed, the measuring CRS, the profile),
      a title box (scheme, profile, counts) and a scale bar.

    The view is fitted to the violations and context layers, or to all of the
    scheme's layers when there are neither.  Findings without a geometry
    (``not_evaluated`` rows, or aggregate findings) are not drawn but counted.

    Parameters
    ----------
    result : compliance.engine.Result
        A check run.  ``result.findings`` and ``result.scheme.layers`` are in
        the projected measuring CRS (metres); they are reprojected to EPSG:4326
        for drawing and are not modified.
    path : pathlib.Path
        HTML file to write (UTF-8); overwritten if it exists.

    Returns
    -------
    None
    """
    crs = result.findings.crs or result.scheme.crs
    findings = result.findings
    bad = findings[findings["status"].isin(["fail", "warn"])]
    drawable = _drawable(bad)
    drawable = drawable.set_geometry(
        drawable.geometry.simplify(VIOLATION_SIMPLIFY_M, preserve_topology=True)
    )
    geoms = bad.geometry.array
    undrawn = bad.loc[shapely.is_missing(geoms) | shapely.is_empty(geoms), "rule_id"]
    undrawn_counts = undrawn.value_counts()

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
        context.append((name, label, opts, _to_wgs84(simple, crs, _CONTEXT_GRID_DEG)))

    props = _popup_properties(_to_wgs84(drawable, crs, _VIOLATION_GRID_DEG), result)

    bounds = _bounds([props, *(c[3] for c in context)]) or _scheme_bounds(result)
    if bounds is None:
        location, zoom = [35.0, 105.0], 4  # China, when the scheme has no features
    else:
        location, zoom = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 13
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True)
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = _esc(f"{result.profile.name} — {Path(result.scheme.source).name}")
    root.header.add_child(Element(_CSS), name="compliance_css")
    # WGS84 tiles (no GCJ-02 offset) that need no API key.
    folium.TileLayer("OpenStreetMap", name="地图 OpenStreetMap").add_to(m)
    folium.TileLayer("Esri.WorldImagery", name="影像 Esri World Imagery", show=False).add_to(m)

    folium.map.CustomPane(_CONTEXT_PANE, z_index=350, pointer_events=False).add_to(m)
    for _name, label, opts, gdf in context:
        folium.GeoJson(
            gdf, name=label, interactive=False, pane=_CONTEXT_PANE, smooth_factor=0.5, **opts
        ).add_to(m)

    # Rules in profile order; extra codes (a hand-built Result) after them.
    rule_order = [str(c) for c in result.summary["rule_id"]]
    rule_order += [c for c in pd.unique(bad["rule_id"].astype(str)) if c not in rule_order]
    titles = dict(zip(result.summary["rule_id"], result.summary["title"], strict=True))
    titles.update(
        {k: v for k, v in bad.groupby("rule_id")["title_zh"].first().items() if k not in titles}
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

    for code in rule_order:  # one layer per rule with violations
        if code not in counts:
            continue
        part = props[props["rule_id"] == code]
        n = sum(counts[code])
        colour = _rule_colour(code)
        name = (
            f'<span style="color:{colour}">■</span> '
            f"{_esc(code)} {_esc(titles.get(code, ''))} · {n} 处"
        )
        if part.empty:
            continue
        _add_violation_layer(m, code, part, name, panes.get(code, "overlayPane"))

    context_present = [(label, opts) for _n, label, opts, _g in context]
    legend = _legend_html(result, rule_order, titles, counts, undrawn_counts, context_present)
    _Box(legend, "bottomright", "cc-legend").add_to(m)
    _Box(_title_html(result, bad), "topcenter", "cc-title").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if bounds is not None:
        m.fit_bounds(
            [[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(30, 30), max_zoom=18
        )
    m.save(str(path))
