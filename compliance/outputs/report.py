"""The reviewer's report: ``report.html`` and ``findings.gpkg``.

``report.html`` is one self-contained page per run, written for a planning
reviewer who pastes findings into a review opinion (审查意见) and prints the
page for a meeting: the run (scheme, profile, target years, measuring CRS,
date), a table of every rule with its status, worst value, limit and quoted
clause, and one section per violation with the sentence to copy, the measured
value and limit, the method, where it is (longitude/latitude and coordinates
in the measuring CRS), a small inline SVG map of it over the scheme's context
layers, and a link into ``map.html``.  No external CSS, scripts, fonts or
images: it opens offline, and it prints on A4 without cutting a table row or
a violation section in two.

``findings.gpkg`` holds the same findings for GIS software: one layer per
rule, all attributes as typed columns, EPSG:4326, and a ``summary`` table.

Measured values are never recomputed here: they are the findings'
``measured`` and ``limit``, printed with :func:`compliance.engine.fmt`.
"""

from __future__ import annotations

import functools
import html
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import pyogrio
import shapely
from markupsafe import Markup
from pyproj import CRS

from .. import __version__
from ..engine import (
    FINDING_COLUMNS,
    STATUS_ORDER,
    SUMMARY_COLUMNS,
    Result,
    fmt,
    paste_quote,
)
from ..errors import OutputError
from ..notes import notes_text
from ..rules.catalogue import Profile, Rule
from ..rules.checks.common import fmt_fixed
from ..rules.documents import document_en, source_document_en
from ..rules.units import UNITS
from .files import as_arrow_writes
from .mapstyle import rule_colour, violation_href
from .provenance import Provenance

#: Violation sections drawn per rule at most (most severe first); the rest are
#: counted and left to ``findings.geojson`` / ``findings.gpkg``.
MAX_SECTIONS_PER_RULE = 200
#: Of those, the ones drawn as a small map (the most severe); the others keep their
#: coordinates and their link into ``map.html``.  Drawing a map costs tens of
#: milliseconds (its surroundings queried, clipped and simplified): a city-wide
#: check would spend more on the report's maps than on the check.
MAX_MAPS_PER_RULE = 50

#: Size of each inline map, in CSS pixels.
SVG_WIDTH_PX = 360
SVG_HEIGHT_PX = 240
#: Vertices drawn in one inline map at most (context and violation together).
MAX_SVG_VERTICES = 1500
#: Margin around the violation, as a share of its larger side, and at least this many metres.
WINDOW_PAD_SHARE = 0.2
WINDOW_PAD_MIN_M = 40.0
#: Narrowest window shown, in metres (a point or a short line still gets its surroundings).
WINDOW_MIN_WIDTH_M = 240.0

#: A distance limit shorter than this on the map (pixels) is not drawn as a bar.
MIN_LIMIT_BAR_PX = 10.0

#: Statuses that get a section of their own.
VIOLATION_STATUSES = ("fail", "warn", "excepted")

#: Context layers drawn under a violation, bottom to top: layer, SVG style of
#: polygons, SVG style of lines (None: lines of that layer are not drawn).
CONTEXT_STYLES: tuple[tuple[str, str | None, str | None], ...] = (
    ("clusters", 'fill="#e6e6e6" stroke="#a8a8a8" stroke-width="0.8"', None),
    ("corridors", 'fill="#e3eedb" stroke="#a9c79c" stroke-width="0.8"', None),
    ("green_spaces", 'fill="#e4f1e1" stroke="#b3d3aa" stroke-width="0.6"', None),
    ("parcels", 'fill="none" stroke="#c4c4c4" stroke-width="0.6"', None),
    ("squares", 'fill="#efefef" stroke="#bdbdbd" stroke-width="0.6"', None),
    ("buildings", 'fill="#dadada" stroke="none"', None),
    (
        "roads",
        'fill="#e0e0e0" stroke="#b0b0b0" stroke-width="0.5"',
        'fill="none" stroke="#a0a0a0" stroke-width="1.4" stroke-linecap="round"',
    ),
    (
        "greenways",
        None,
        'fill="none" stroke="#9ccc9c" stroke-width="1" stroke-dasharray="3 2"',
    ),
    ("boundary", 'fill="none" stroke="#6e6e6e" stroke-width="1.2" stroke-dasharray="5 3"', None),
)

_COMPARISON = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}
_STATUS_COLOUR = {
    "fail": "#c62828",
    "warn": "#e65100",
    "excepted": "#5e35b1",
    "pass": "#2e7d32",
    "not_evaluated": "#757575",
}
#: Every label of the page, per language.  Chinese labels carry the English
#: term beside them where a bilingual reader is helped by it.
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "colon": "：",
        "lp": "（",
        "rp": "）",
        "title": "规划碳达峰合规审查报告",
        "subtitle": "Planning compliance report",
        "scheme": "方案 Scheme",
        "profile": "规则集 Profile",
        "document": "依据文件 Plan",
        "years": "目标年份 Target year",
        "years_default": "未指定 --year：取尚未到期的最近目标年",
        "years_asked": "按指定年份 --year",
        "years_none": "本规则集各规则均无目标年份",
        "crs": "量测坐标系 Measuring CRS",
        "crs_note": "长度、面积均在此投影坐标系中以米量测",
        "date": "检查日期 Date",
        "tool": "工具版本 Tool",
        "layers": "图层 Layers",
        "rasters": "栅格 Rasters",
        "notes": "说明 Notes",
        "counts_rules": "规则 Rules",
        "counts_findings": "问题 Findings",
        "rules_heading": "一、规则一览 Rules",
        "col_code": "编号 Code",
        "col_rule": "规则 Rule",
        "col_status": "结论 Status",
        "col_counts": "检查/问题/例外 checked/failed/excepted",
        "col_worst": "最不利值 Worst",
        "col_limit": "限值 Limit",
        "col_year": "年份 Year",
        "col_clause": "依据条文 Clause",
        "violations_heading": "二、问题清单 Violations",
        "ne_heading": "三、未评估的规则 Rules not evaluated",
        "ne_intro": "以下规则因缺少图层、字段或栅格而未评估，不作为符合或不符合的结论。",
        "col_reason": "未评估原因 Reason",
        "page": "页",
        "no_violations": "未发现不符合、提示或例外项。",
        "sentence": "审查意见 Sentence",
        "copy_label": "复制 / copy",
        "copied": "已复制 / copied",
        "copy_failed": "请手动选择复制 / select and copy",
        "measured": "量测值 Measured",
        "limit": "限值 Limit",
        "excess": "差值 By",
        "over": "超出",
        "under": "不足",
        "below_low": "低于下限",
        "unmeasurable": "无法量测",
        "estimated": "（估算值 estimated）",
        "method": "方法 Method",
        "feature": "对象 Feature",
        "all_features": "全部（汇总）",
        "layer": "图层",
        "location": "位置 Location",
        "lonlat": "经纬度（中心点，EPSG:4326）",
        "projected": "投影坐标",
        "no_geometry": "无图形（汇总性结论） no geometry",
        "exception": "例外 Exception",
        "approval": "批准文号",
        "clause": "依据 Clause",
        "map": "地图 Map",
        "open_map": "在地图中定位 / open in map",
        "maps_only": "按超限程度排序仅前 {shown} 处附小地图；其余 {n} 处见其坐标{where}。",
        "maps_where": "或在 map.html 中定位",
        "more": "另有 {n} 处未逐项列出（按超限程度排序仅列前 {shown} 处），"
        "见 findings.geojson / findings.gpkg。",
        "n_items": "{n} 处",
        "reason": "未评估原因",
        "note": "备注",
        "basis": "系对",
        "basis_after": "的转述",
        "figure": "图：{code} {fid}（{colour}色）及周边{context}；左下为比例尺{bar}；N 指向坐标北",
        "figure_bar": "，色条为限值 {limit}的图上长度",
        "limit_bar": "限值 {limit}",
        "context_none": "（无其他图层）",
        "north": "北",
        "km": "公里",
        "m": "米",
        "generated": "由 compliance 生成；同一结论亦见 map.html、findings.geojson、summary.csv",
        "status.fail": "不符合 fail",
        "status.warn": "提示 warn",
        "status.excepted": "例外 excepted",
        "status.pass": "符合 pass",
        "status.not_evaluated": "未评估 not evaluated",
        "severity_note": "提示（warn）为“原则上”“力争”等弹性要求或基于估算值的结论，需核实。",
    },
    "en": {
        "html_lang": "en",
        "colon": ": ",
        "lp": " (",
        "rp": ")",
        "title": "Planning compliance report",
        "subtitle": "规划碳达峰合规审查报告",
        "scheme": "Scheme",
        "profile": "Profile",
        "document": "Plan",
        "years": "Target year",
        "years_default": "no --year given: the nearest target year not yet passed",
        "years_asked": "as asked with --year",
        "years_none": "no rule of this profile has a target year",
        "crs": "Measuring CRS",
        "crs_note": "lengths and areas are measured in metres in this projected CRS",
        "date": "Date",
        "tool": "Tool",
        "layers": "Layers",
        "rasters": "Rasters",
        "notes": "Notes",
        "counts_rules": "Rules",
        "counts_findings": "Findings",
        "rules_heading": "1. Rules",
        "col_code": "Code",
        "col_rule": "Rule",
        "col_status": "Status",
        "col_counts": "Checked/ failed/ excepted",
        "col_worst": "Worst",
        "col_limit": "Limit",
        "col_year": "Year",
        "col_clause": "Clause",
        "violations_heading": "2. Violations",
        "ne_heading": "3. Rules not evaluated",
        "ne_intro": "These rules could not be evaluated (a layer, field or raster is missing); "
        "they are neither passed nor failed.",
        "col_reason": "Reason",
        "page": "page",
        "no_violations": "No fail, warn or excepted findings.",
        "sentence": "Sentence",
        "copy_label": "copy",
        "copied": "copied",
        "copy_failed": "select the text and copy it",
        "measured": "Measured",
        "limit": "Limit",
        "excess": "By",
        "over": "over by",
        "under": "short by",
        "below_low": "below the minimum by",
        "unmeasurable": "cannot be measured",
        "estimated": " (estimated)",
        "method": "Method",
        "feature": "Feature",
        "all_features": "all (aggregate)",
        "layer": "layer",
        "location": "Location",
        "lonlat": "longitude/latitude (centroid, EPSG:4326)",
        "projected": "projected",
        "no_geometry": "no geometry (an aggregate finding)",
        "exception": "Exception",
        "approval": "approval",
        "clause": "Clause",
        "map": "Map",
        "open_map": "open in map",
        "maps_only": "Small maps are drawn for the {shown} largest excesses only; the other {n} "
        "are located by their coordinates{where}.",
        "maps_where": " and in map.html",
        "more": "{n} more not listed here (the {shown} largest excesses are shown); "
        "see findings.geojson / findings.gpkg.",
        "n_items": "{n}",
        "reason": "not evaluated",
        "note": "note",
        "basis": "restating ",
        "basis_after": "",
        "figure": "Map: {code} {fid} (in {colour}) and its surroundings{context}; "
        "scale bar bottom left{bar}; N points to grid north",
        "figure_bar": ", the coloured bar is the limit of {limit} at the map's scale",
        "limit_bar": "limit {limit}",
        "context_none": " (no other layer)",
        "north": "N",
        "km": "km",
        "m": "m",
        "generated": "Generated by compliance; the same findings are in map.html, "
        "findings.geojson and summary.csv",
        "status.fail": "fail",
        "status.warn": "warn",
        "status.excepted": "excepted",
        "status.pass": "pass",
        "status.not_evaluated": "not evaluated",
        "severity_note": "A warning is a hedged requirement (原则上, 力争 …) or rests on an "
        "estimated value, to be verified.",
    },
}

_CONTEXT_NAMES = {
    "zh": {
        "clusters": "组团",
        "corridors": "生态廊道",
        "green_spaces": "绿地",
        "parcels": "地块",
        "squares": "广场",
        "buildings": "建筑",
        "roads": "道路",
        "greenways": "绿道",
        "boundary": "规划范围",
    },
    "en": {
        "clusters": "clusters",
        "corridors": "corridors",
        "green_spaces": "green spaces",
        "parcels": "parcels",
        "squares": "squares",
        "buildings": "buildings",
        "roads": "roads",
        "greenways": "greenways",
        "boundary": "boundary",
    },
}
_COLOUR_WORD = {"zh": "规则", "en": "the rule's colour"}


# --------------------------------------------------------------------------- helpers


def _unit(unit: str, lang: str) -> str:
    spec = UNITS.get(unit)
    if spec is None:
        return " " + unit
    return spec.zh if lang == "zh" else spec.en


def crs_label_zh(crs: Any) -> str:
    """The measuring CRS as a Chinese surveyor names it.

    CGCS2000 3-degree Gauss-Krüger zones (EPSG:4534–4554 without the zone
    number in the easting, 4513–4533 with it) by their central meridian,
    UTM by its zone; anything else by its EPSG code and name.
    """
    c = CRS.from_user_input(crs)
    code = c.to_epsg() or 0
    if 4534 <= code <= 4554:
        return f"CGCS2000 3度带高斯-克吕格投影，中央经线 {75 + 3 * (code - 4534)}°E（EPSG:{code}）"
    if 4513 <= code <= 4533:
        zone = 25 + (code - 4513)
        return f"CGCS2000 3度带高斯-克吕格投影第 {zone} 带，中央经线 {3 * zone}°E（EPSG:{code}）"
    if 32601 <= code <= 32660 or 32701 <= code <= 32760:
        hemi = "N" if code < 32700 else "S"
        return f"WGS 84 UTM 投影 {code % 100}{hemi} 带（EPSG:{code}）"
    return f"EPSG:{code} {c.name}" if code else str(c.name)


def _value(value: float, unit: str, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return fmt(value, unit) + _unit(unit, lang)


def _keep_unit(text: str, unit: str, lang: str) -> Markup:
    """``text`` (escaped) with each unit in a no-wrap span: "平方公里" never breaks in two."""
    u = _unit(unit, lang).strip()
    escaped = str(Markup.escape(text))
    if not u:
        return Markup(escaped)
    kept = Markup(' <span class="nb">{}</span>').format(u)
    return Markup(escaped.replace(" " + str(Markup.escape(u)), str(kept)))


def _limit_text(
    comparison: str | None, limit: float, low: float | None, unit: str, lang: str
) -> str:
    """``≤ 40.0 米``, ``≥ 100.0 m`` or ``6,000–10,000 人/平方公里`` for a range."""
    if comparison == "between" and low is not None and not math.isnan(low):
        return fmt(low, unit) + "–" + fmt(limit, unit) + _unit(unit, lang)
    symbol = _COMPARISON.get(comparison or "", "")
    return (symbol + " " + _value(limit, unit, lang)).strip()


def _excess(
    comparison: str | None, measured: np.ndarray, limit: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """How far each value lies beyond its limit, in the rule's unit (NaN measured: +inf)."""
    with np.errstate(invalid="ignore"):
        if comparison == "between":
            out = np.fmax(low - measured, measured - limit)
        elif comparison in (">=", ">"):
            out = limit - measured
        else:  # "<=", "<", or unknown: an upper limit
            out = measured - limit
    return np.where(np.isnan(measured), np.inf, out)


def _excess_text(
    comparison: str | None, measured: float, limit: float, low: float, unit: str, lang: str
) -> str:
    lab = LABELS[lang]
    if math.isnan(measured):
        return lab["unmeasurable"]
    if math.isnan(limit) and not (comparison == "between" and not math.isnan(low)):
        return "—"  # a rule without a number: its check's method judges

    def diff(value: float) -> str:  # a difference of percentages is in percentage points
        if unit != "%":
            return _value(value, unit, lang)
        return fmt(value, unit) + (" 个百分点" if lang == "zh" else " percentage points")

    if comparison == "between" and not math.isnan(low) and measured < low:
        return lab["below_low"] + " " + diff(low - measured)
    if comparison in (">=", ">"):
        return lab["under"] + " " + diff(limit - measured)
    return lab["over"] + " " + diff(measured - limit)


def _text(value: object) -> str:
    """A text cell, empty for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


# --------------------------------------------------------------------------- SVG maps


@dataclass(frozen=True)
class _ContextLayer:
    name: str
    geoms: np.ndarray  # shapely geometries in the measuring CRS
    tree: shapely.STRtree
    polygon_style: str | None
    line_style: str | None


def _context_layers(result: Result) -> list[_ContextLayer]:
    """The scheme's context layers with a spatial index each (built once per report, the
    layers at once)."""

    def layer(style: tuple[str, str | None, str | None]) -> _ContextLayer | None:
        name, polygon_style, line_style = style
        gdf = result.scheme.layers.get(name)
        if gdf is None or gdf.empty:
            return None
        if (
            result.findings.crs is not None
            and gdf.crs is not None
            and gdf.crs != result.findings.crs
        ):
            gdf = gdf.to_crs(result.findings.crs)
        geoms = gdf.geometry.to_numpy()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if len(geoms) == 0:
            return None
        return _ContextLayer(name, geoms, shapely.STRtree(geoms), polygon_style, line_style)

    size = sum(len(g) for g in result.scheme.layers.values())
    return [c for c in _each(layer, CONTEXT_STYLES, size) if c is not None]


#: Features of the context layers from which the report's GEOS work is spread over threads
#: (below, a thread's start costs more than it saves).
THREADED_MIN_FEATURES = 50_000


def _each(fn: Callable[[Any], Any], items: Sequence[Any], size: int) -> list[Any]:
    """``fn`` of each item, in order: a thread each (at most the cores) when ``size``
    features are at stake (GEOS releases Python's lock), else one after the other."""
    threads = min(len(items), os.cpu_count() or 1)
    if size < THREADED_MIN_FEATURES or threads <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


def _singles(geoms: np.ndarray) -> np.ndarray:
    """Single-part geometries (multi-parts and collections exploded, nested ones too)."""
    parts = shapely.get_parts(geoms)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        parts = shapely.get_parts(parts)
    return parts[~shapely.is_empty(parts)]


def _singles_of(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_singles` of many maps' geometries at once, with the map of each part."""
    parts, which = shapely.get_parts(geoms, return_index=True)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        parts, inner = shapely.get_parts(parts, return_index=True)
        which = which[inner]
    keep = ~shapely.is_empty(parts)
    return parts[keep], owner[which[keep]]


@dataclass(frozen=True)
class _Window:
    """The part of the plane an inline map shows, and how it maps to pixels."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    @property
    def scale(self) -> float:
        """Pixels per metre."""
        return SVG_WIDTH_PX / (self.maxx - self.minx)

    @classmethod
    def around(cls, geom: shapely.Geometry, min_width: float = WINDOW_MIN_WIDTH_M) -> _Window:
        minx, miny, maxx, maxy = shapely.bounds(geom)
        pad = max(WINDOW_PAD_SHARE * max(maxx - minx, maxy - miny), WINDOW_PAD_MIN_M)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        aspect = SVG_WIDTH_PX / SVG_HEIGHT_PX
        w = max(maxx - minx, (maxy - miny) * aspect, min_width)
        h = w / aspect
        return cls(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _path_d(parts: np.ndarray, win: _Window) -> str:
    """SVG path data of single-part polygons and lines, in the window's pixels (vectorised)."""
    return _paths_d(parts, np.zeros(len(parts), dtype=np.intp), [win])[0]


def _paths_d(parts: np.ndarray, owner: np.ndarray, wins: list[_Window]) -> list[str]:
    """:func:`_path_d` of many maps at once: the path data of the parts of each window.

    ``parts`` are single-part polygons or lines, ``owner`` the window (index
    into ``wins``) each belongs to, non-decreasing; one text per window ("" for
    a window without parts).
    """
    out = [""] * len(wins)
    if len(parts) == 0:
        return out
    kind = shapely.get_type_id(parts)
    # Exteriors one way, holes the other: the default non-zero fill leaves holes empty.
    is_area = kind == 3
    rings, ring_of = shapely.get_rings(shapely.orient_polygons(parts[is_area]), return_index=True)
    is_line = (kind == 1) | (kind == 2)
    lines = parts[is_line]
    # per window, its rings before its lines (as one window's parts are passed in one kind)
    path_owner = np.concatenate([owner[is_area][ring_of], owner[is_line]])
    order = np.argsort(path_owner, kind="stable")
    paths = np.concatenate([rings, lines])[order]
    closed = np.concatenate([np.ones(len(rings), bool), shapely.get_type_id(lines) == 2])[order]
    path_owner = path_owner[order]
    xy, idx = shapely.get_coordinates(paths, return_index=True)
    if len(xy) == 0:
        return out
    # A ring repeats its first vertex at the end: drop it, close with Z.
    last = np.r_[idx[1:] != idx[:-1], True]
    keep = ~(last & closed[idx])
    xy, idx = xy[keep], idx[keep]
    if len(xy) == 0:
        return out
    first = np.r_[True, idx[1:] != idx[:-1]]
    last = np.r_[idx[1:] != idx[:-1], True]
    w = path_owner[idx]
    minx = np.array([win.minx for win in wins])
    maxy = np.array([win.maxy for win in wins])
    scale = np.array([win.scale for win in wins])
    px = np.round((xy[:, 0] - minx[w]) * scale[w], 1)
    py = np.round((maxy[w] - xy[:, 1]) * scale[w], 1)
    # "%.1f" of each coordinate (fmt_fixed: the same text, without a Python call each)
    tokens = (
        np.where(first, "M", "L").astype(object)
        + fmt_fixed(px, 1, thousands=False)
        + " "
        + fmt_fixed(py, 1, thousands=False)
    )
    tokens[last & closed[idx]] += "Z"
    text = tokens.tolist()
    bounds = np.searchsorted(w, np.arange(len(wins) + 1))
    for k in np.flatnonzero(np.diff(bounds)):  # windows with vertices
        joined = "".join(text[bounds[k] : bounds[k + 1]])
        out[k] = joined.replace(".0L", "L").replace(".0 ", " ").replace(".0Z", "Z")
    return out


def _circles(points: np.ndarray, win: _Window, style: str, r: float) -> str:
    if len(points) == 0:
        return ""
    xy = shapely.get_coordinates(points)
    px = np.round((xy[:, 0] - win.minx) * win.scale, 1)
    py = np.round((win.maxy - xy[:, 1]) * win.scale, 1)
    return "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" {style}/>'
        for x, y in zip(px.tolist(), py.tolist(), strict=True)
    )


def _fit_vertices(geoms: np.ndarray, tolerance: float, budget: int, *, drop: bool) -> np.ndarray:
    """Simplify until the geometries hold at most ``budget`` vertices.

    The tolerance (metres) grows by the factor the budget is exceeded by (at
    least 2), three times at most; context geometries (``drop``) may collapse
    to empty and are then dropped, and if still over budget only the largest
    are kept.
    """
    if len(geoms) == 0:
        return geoms
    out = geoms
    for _ in range(4):
        out = shapely.simplify(geoms, tolerance, preserve_topology=not drop)
        if drop:
            out = out[~(shapely.is_missing(out) | shapely.is_empty(out))]
        n = int(shapely.get_num_coordinates(out).sum())
        if n <= budget:
            return out
        tolerance *= max(2.0, n / budget)
    if not drop:
        return out
    b = shapely.bounds(out)
    order = np.argsort(-np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), kind="stable")
    cum = np.cumsum(shapely.get_num_coordinates(out)[order])
    return out[np.sort(order[cum <= budget])]


def _fit_context(
    parts: np.ndarray, owner: np.ndarray, tolerance: np.ndarray, budget: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_vertices` (``drop=True``) of many maps' context parts at once.

    ``owner`` is each part's map (non-decreasing), ``tolerance`` and
    ``budget`` are per map.  Returns the parts kept, simplified, and their
    maps, in order: for each map what :func:`_fit_vertices` returns for its
    parts alone.
    """
    n_maps = len(tolerance)
    if len(parts) == 0:
        return parts, owner
    tolerance = np.asarray(tolerance, dtype=float).copy()
    b = shapely.bounds(parts)
    size = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    size[shapely.get_type_id(parts) != 3] = np.inf  # lines always keep their ends
    result: list[tuple[np.ndarray, np.ndarray]] = []
    active = np.zeros(n_maps, dtype=bool)
    active[owner] = True
    last_out = np.empty(0, dtype=object)
    last_owner = np.empty(0, dtype=np.intp)
    for _ in range(4):
        mine = active[owner]
        tol = tolerance[owner[mine]]
        # A polygon narrower than the tolerance collapses to empty under Douglas-Peucker
        # (every vertex lies within the tolerance of the ring's ends): dropped unsimplified.
        keep = ~(size[mine] < tol)
        out = shapely.simplify(parts[mine][keep], tol[keep], preserve_topology=False)
        out_owner = owner[mine][keep]
        present = ~(shapely.is_missing(out) | shapely.is_empty(out))
        out, out_owner = out[present], out_owner[present]
        n = np.bincount(out_owner, weights=shapely.get_num_coordinates(out), minlength=n_maps)
        done = active & (n <= budget)
        fits = done[out_owner]
        result.append((out[fits], out_owner[fits]))
        active &= ~done
        last_out, last_owner = out[~fits], out_owner[~fits]
        tolerance[active] *= np.maximum(2.0, n[active] / budget[active])
        if not active.any():
            break
    bounds = np.searchsorted(last_owner, np.arange(n_maps + 1))  # owners are in order
    for m in np.flatnonzero(active):  # over budget after four tries: the largest kept
        out = last_out[bounds[m] : bounds[m + 1]]
        b = shapely.bounds(out)
        order = np.argsort(-np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), kind="stable")
        cum = np.cumsum(shapely.get_num_coordinates(out)[order])
        kept = out[np.sort(order[cum <= budget[m]])]
        result.append((kept, np.full(len(kept), m, dtype=np.intp)))
    geoms = np.concatenate([g for g, _ in result]) if result else np.empty(0, dtype=object)
    owners = np.concatenate([o for _, o in result]) if result else np.empty(0, dtype=np.intp)
    order = np.argsort(owners, kind="stable")
    return geoms[order], owners[order]


def _scale_bar(win: _Window, lang: str) -> str:
    """A scale bar of 1, 2 or 5 × 10ⁿ metres, about a quarter of the map wide."""
    target_m = (win.maxx - win.minx) / 4
    power = 10 ** math.floor(math.log10(target_m))
    length_m = max(step * power for step in (1, 2, 5) if step * power <= target_m)
    lab = LABELS[lang]
    if length_m >= 1000:
        text = f"{length_m / 1000:g} {lab['km']}"
    else:
        text = f"{length_m:g} {lab['m']}"
    w = length_m * win.scale
    x0, y0 = 10.0, SVG_HEIGHT_PX - 12.0
    return (
        '<g class="scale">'
        f'<rect x="{x0 - 4}" y="{y0 - 16}" width="{w + 8:.1f}" height="22" fill="#fff" '
        'fill-opacity="0.8"/>'
        f'<path d="M{x0} {y0 - 4}V{y0}H{x0 + w:.1f}V{y0 - 4}" fill="none" stroke="#222" '
        'stroke-width="1.5"/>'
        f'<text x="{x0 + w / 2:.1f}" y="{y0 - 6}" text-anchor="middle" font-size="10" '
        f'fill="#222">{text}</text></g>'
    )


def _limit_bar(win: _Window, length_m: float, label: str, colour: str) -> str:
    """A bar as long as a distance limit (service radius, corridor width) at the map's scale."""
    w = length_m * win.scale
    x0, y0 = 10.0, SVG_HEIGHT_PX - 36.0
    return (
        '<g class="limit-bar">'
        f'<rect x="{x0 - 4}" y="{y0 - 15}" width="{max(w, 60.0) + 8:.1f}" height="20" '
        'fill="#fff" fill-opacity="0.8"/>'
        f'<path d="M{x0} {y0}H{x0 + w:.1f}" stroke="{colour}" stroke-width="4" '
        'stroke-linecap="butt"/>'
        f'<text x="{x0}" y="{y0 - 5}" font-size="10" fill="#222">'
        f"{html.escape(label)}</text></g>"
    )


def _north_arrow(lang: str) -> str:
    x, y = SVG_WIDTH_PX - 18.0, 10.0
    label = LABELS[lang]["north"]
    return (
        '<g class="north">'
        f'<path d="M{x} {y}L{x + 6} {y + 16}L{x} {y + 12}L{x - 6} {y + 16}Z" fill="#222"/>'
        f'<text x="{x}" y="{y + 28}" text-anchor="middle" font-size="10" fill="#222">'
        f"{label}</text></g>"
    )


@dataclass(frozen=True)
class MapSpec:
    """One inline map to draw (see :func:`svg_map` for the fields)."""

    geom: shapely.Geometry
    colour: str
    status: str
    label: str = ""
    limit_m: float | None = None
    limit_label: str = ""


def svg_map(
    geom: shapely.Geometry,
    context: list[_ContextLayer],
    *,
    colour: str,
    status: str,
    lang: str = "zh",
    label: str = "",
    limit_m: float | None = None,
    limit_label: str = "",
) -> tuple[str, list[str]]:
    """A small map of one violation over its surroundings, as an inline SVG element.

    Parameters
    ----------
    geom : shapely.Geometry
        The violation (polygon, line or point; multi-parts and collections
        allowed) in the projected measuring CRS, metres.
    context : list
        The scheme's context layers (from :func:`_context_layers`), same CRS;
        only features within the window are drawn (STRtree query), clipped to
        it and simplified to about a pixel.
    colour : str
        The rule's colour, ``#rrggbb``.
    status : str
        ``fail`` (solid), ``warn`` (dashed) or ``excepted`` (dotted, lighter).
    lang : str
        ``zh`` or ``en``, for the scale bar and north arrow.
    label : str
        Accessible name of the figure (escaped here).
    limit_m : float, optional
        A distance limit the violation is held to (the 300 m service radius,
        the 100 m corridor width), metres: drawn as a bar of that length in
        the rule's colour above the scale bar, labelled ``limit_label``
        (unless shorter than :data:`MIN_LIMIT_BAR_PX`); the window is then
        at least 2.2 times as wide.

    Returns
    -------
    svg : str
        ``<svg>…</svg>``, :data:`SVG_WIDTH_PX` × :data:`SVG_HEIGHT_PX`, at most
        :data:`MAX_SVG_VERTICES` vertices; north is up (grid north of the CRS).
    drawn : list of str
        Names of the context layers drawn.
    """
    spec = MapSpec(geom, colour, status, label, limit_m, limit_label)
    return svg_maps([spec], context, lang=lang)[0]


def _fid_text(fid: str, lab: dict[str, str]) -> str:
    """A feature as a heading names it: 全部（汇总） for an aggregate finding, not ``*``."""
    return lab.get("all_features", fid) if fid == "*" else fid


def svg_maps(
    specs: list[MapSpec], context: list[_ContextLayer], *, lang: str = "zh"
) -> list[tuple[str, list[str]]]:
    """:func:`svg_map` of many violations at once, each map as :func:`svg_map` draws it alone.

    The context layers are queried, clipped, simplified and written out for
    all maps together, layer by layer (one STRtree query and one text layout
    per layer, not per map).

    Parameters
    ----------
    specs : list of MapSpec
        The violations (geometries in the projected measuring CRS, metres),
        their colour, status, label and distance limit.
    context : list
        The scheme's context layers (:func:`_context_layers`).
    lang : str
        ``zh`` or ``en``.

    Returns
    -------
    list of (str, list of str)
        Per spec, the SVG element and the names of the context layers drawn.
    """
    n = len(specs)
    wins: list[_Window] = []
    subjects: list[np.ndarray] = []
    budgets = np.zeros(n, dtype=np.int64)
    for i, spec in enumerate(specs):  # the maps of a report: at most some hundreds per rule
        limit_m = spec.limit_m
        show_limit = limit_m is not None and math.isfinite(limit_m) and limit_m > 0
        min_width = max(WINDOW_MIN_WIDTH_M, 2.2 * limit_m) if show_limit and limit_m else None
        win = _Window.around(spec.geom, min_width or WINDOW_MIN_WIDTH_M)
        subject = _fit_vertices(  # 1.0 / win.scale: metres per pixel
            _singles(np.array([spec.geom])),
            0.5 * (1.0 / win.scale),
            MAX_SVG_VERTICES // 2,
            drop=False,
        )
        budget = MAX_SVG_VERTICES - int(shapely.get_num_coordinates(subject).sum())
        budgets[i] = max(budget // max(len(context), 1), 50)
        wins.append(win)
        subjects.append(subject)
    px_m = np.array([1.0 / win.scale for win in wins])
    minx = np.array([win.minx for win in wins])
    miny = np.array([win.miny for win in wins])
    maxx = np.array([win.maxx for win in wins])
    maxy = np.array([win.maxy for win in wins])
    bodies: list[list[str]] = [[] for _ in range(n)]
    drawn: list[list[str]] = [[] for _ in range(n)]
    boxes = shapely.box(minx, miny, maxx, maxy)

    def layer_paths(layer: _ContextLayer) -> list[tuple[int, list[str]]]:
        """The paths of one context layer on every map that shows it (GEOS mostly)."""
        owner, hit = layer.tree.query(boxes)
        order = np.argsort(owner, kind="stable")  # by map, each map's hits as queried alone
        owner, hits = owner[order], layer.geoms[hit[order]]
        b = shapely.bounds(hits)
        big = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= px_m[owner]  # under a pixel
        owner, hits, b = owner[big], hits[big], b[big]
        # What lies strictly inside its window is its own clip (GEOS gives back its parts:
        # the same parts, once exploded below); only what crosses the frame is clipped.
        inside = (
            (b[:, 0] > minx[owner])
            & (b[:, 1] > miny[owner])
            & (b[:, 2] < maxx[owner])
            & (b[:, 3] < maxy[owner])
        )
        clipped = hits.copy()
        crossing = np.flatnonzero(~inside)
        bounds = np.searchsorted(owner[crossing], np.arange(n + 1))
        for m in np.flatnonzero(np.diff(bounds)):  # maps with hits across their frame
            k = crossing[bounds[m] : bounds[m + 1]]
            clipped[k] = shapely.clip_by_rect(hits[k], minx[m], miny[m], maxx[m], maxy[m])
        parts, part_owner = _singles_of(clipped, owner)
        parts, part_owner = _fit_context(parts, part_owner, 0.8 * px_m, budgets)
        kind = shapely.get_type_id(parts)
        area, line = kind == 3, (kind == 1) | (kind == 2)
        has_area = np.bincount(part_owner[area], minlength=n) > 0
        has_line = np.bincount(part_owner[line], minlength=n) > 0
        area_d = _paths_d(parts[area], part_owner[area], wins) if layer.polygon_style else None
        line_d = _paths_d(parts[line], part_owner[line], wins) if layer.line_style else None
        out = []
        for m in np.flatnonzero(has_area | has_line):  # maps with this layer in view
            pieces = []
            if area_d is not None and has_area[m]:
                pieces.append(f'<path d="{area_d[m]}" {layer.polygon_style}/>')
            if line_d is not None and has_line[m]:
                pieces.append(f'<path d="{line_d[m]}" {layer.line_style}/>')
            if pieces:
                out.append((int(m), pieces))
        return out

    # The layers at once, a thread each (GEOS releases Python's lock), drawn in their order.
    paths = _each(layer_paths, context, sum(len(layer.geoms) for layer in context))
    for layer, on_maps in zip(context, paths, strict=True):
        for m, pieces in on_maps:  # the maps that show the layer
            bodies[m].extend(pieces)
            drawn[m].append(layer.name)
    # the violations themselves, all maps' at once
    subject_parts = np.concatenate([np.empty(0, dtype=object), *subjects])
    subject_owner = np.repeat(np.arange(n), [len(x) for x in subjects])
    kind = shapely.get_type_id(subject_parts)
    area, line = kind == 3, (kind == 1) | (kind == 2)
    area_d = _paths_d(subject_parts[area], subject_owner[area], wins)
    line_d = _paths_d(subject_parts[line], subject_owner[line], wins)
    has_area = np.bincount(subject_owner[area], minlength=n) > 0
    has_line = np.bincount(subject_owner[line], minlength=n) > 0
    out = []
    for i, spec in enumerate(specs):  # the maps of a report
        win, subject, body = wins[i], subjects[i], bodies[i]
        status, colour, limit_m = spec.status, spec.colour, spec.limit_m
        show_limit = limit_m is not None and math.isfinite(limit_m) and limit_m > 0
        dash = {"warn": ' stroke-dasharray="6 3"', "excepted": ' stroke-dasharray="2 2"'}.get(
            status, ""
        )
        opacity = "0.18" if status == "excepted" else "0.35"
        if has_area[i]:
            body.append(
                f'<path class="violation" d="{area_d[i]}" fill="{colour}" '
                f'fill-opacity="{opacity}" stroke="{colour}" stroke-width="2"{dash} '
                'stroke-linejoin="round"/>'
            )
        if has_line[i]:
            d = line_d[i]
            body.append(
                f'<path d="{d}" fill="none" stroke="#fff" stroke-width="6" '
                'stroke-linecap="round" stroke-linejoin="round"/>'
            )
            body.append(
                f'<path class="violation" d="{d}" fill="none" stroke="{colour}" stroke-width="4"'
                f'{dash} stroke-linecap="round" stroke-linejoin="round"/>'
            )
        points = subject[shapely.get_type_id(subject) == 0]
        body.append(_circles(points, win, f'fill="{colour}" stroke="#fff" stroke-width="1.5"', 5.0))
        svg = (
            f'<svg class="minimap" viewBox="0 0 {SVG_WIDTH_PX} {SVG_HEIGHT_PX}" '
            f'width="{SVG_WIDTH_PX}" height="{SVG_HEIGHT_PX}" role="img" '
            f'aria-label="{html.escape(spec.label, quote=True)}">'
            f'<rect width="{SVG_WIDTH_PX}" height="{SVG_HEIGHT_PX}" fill="#fcfcfa"/>'
            + "".join(body)
            + (
                _limit_bar(win, limit_m, spec.limit_label, colour)
                if show_limit and limit_m and limit_m * win.scale >= MIN_LIMIT_BAR_PX
                else ""
            )
            + _scale_bar(win, lang)
            + _north_arrow(lang)
            + "</svg>"
        )
        out.append((svg, drawn[i]))
    return out


# --------------------------------------------------------------------------- the page


def _years(result: Result, lang: str) -> str:
    """Target years in force and the rules each applies to."""
    lab = LABELS[lang]
    by_year: dict[int, list[str]] = {}
    for code, rule in result.profile.rules.items():  # tens of rules
        if rule.year is not None:
            by_year.setdefault(int(rule.year), []).append(code)
    sep, comma = ("；", "、") if lang == "zh" else ("; ", ", ")
    parts = [
        f"{y}（{comma.join(c)}）" if lang == "zh" else f"{y} ({comma.join(c)})"
        for y, c in sorted(by_year.items())
    ]
    text = sep.join(parts) if parts else lab["years_none"]
    if result.profile.year is not None:
        how = f"{lab['years_asked']} {result.profile.year}"
    else:
        how = lab["years_default"]
    return f"{text} — {how}" if parts else text


def _clause(rule: Rule, profile: Profile, lang: str) -> dict[str, str]:
    """A rule's clause for the page: document (English title in English), section, the
    sentence to paste (:func:`paste_quote`), the document it restates, and whether the
    plan of the profile leaves the rule to its parent."""
    s = rule.source
    inherited = ""
    if profile.inherited_from(rule):
        inherited = (
            f"{profile.document}未规定此项，参照"
            if lang == "zh"
            else f"{profile.plan_en} does not state this rule; applied from"
        )
    basis = s.basis or ""
    return {
        "document": s.document if lang == "zh" else source_document_en(s),
        "section": s.section,
        "quote": paste_quote(s.quote),
        "basis": basis if lang == "zh" or not basis else document_en(basis),
        "inherited": inherited,
    }


def _rule_rows(result: Result, lang: str, shown: set[str]) -> list[dict[str, Any]]:
    """One row of the rule table per summary row."""
    rules = result.profile.rules
    rows = []
    for r in result.summary.to_dict("records"):  # one per rule
        code = str(r["rule_id"])
        rule = rules.get(code)
        low = None if pd.isna(r["limit_low"]) else float(r["limit_low"])
        comparison = rule.comparison if rule is not None else None
        if rule is not None:
            clause = _clause(rule, result.profile, lang)
        else:
            clause = {"document": "", "section": "", "quote": str(r["source"]), "basis": ""}
        reason = ""
        # The summary's note in the page's language (the English one when a Chinese is missing).
        note = _text(r.get("note_zh")) if lang == "zh" else ""
        note = note or _text(r.get("note"))
        if r["status"] == "not_evaluated":
            reason, note = note, ""
        rows.append(
            {
                "code": code,
                "title": r["title"] if lang == "zh" else r["title_en"],
                "title_alt": r["title_en"] if lang == "zh" else r["title"],
                "status": str(r["status"]),
                "status_text": LABELS[lang][f"status.{r['status']}"],
                "checked": int(r["checked"]),
                "failed": int(r["failed"]),
                "excepted": int(r["excepted"]),
                "worst": _keep_unit(
                    _value(float(r["worst"]), str(r["unit"]), lang), str(r["unit"]), lang
                ),
                "limit": _keep_unit(
                    _limit_text(comparison, float(r["limit"]), low, str(r["unit"]), lang),
                    str(r["unit"]),
                    lang,
                ),
                "year": "" if pd.isna(r["year"]) else str(int(r["year"])),
                "clause": clause,
                "reason": reason,
                "note": note,
                "anchor": f"rule-{code}" if code in shown else "",
            }
        )
    return rows


def _violation_groups(
    result: Result,
    lang: str,
    map_href: str | None,
    max_per_rule: int,
    max_maps: int = MAX_MAPS_PER_RULE,
) -> list[dict[str, Any]]:
    """Sections per rule: the most severe violations first, at most ``max_per_rule``, the
    first ``max_maps`` of them with a small map."""
    f = result.findings
    v = f[f["status"].isin(VIOLATION_STATUSES)]
    if v.empty:
        return []
    rules = result.profile.rules
    order = [str(c) for c in result.summary["rule_id"]]
    order += [c for c in pd.unique(v["rule_id"].astype(str)) if c not in order]
    context = _context_layers(result)
    crs: CRS | None = f.crs
    lab = LABELS[lang]
    # The violations shown, chosen for all rules at once: per rule, the most severe
    # first (fail, warn, excepted), then the largest excess, then the feature id.
    rule_ids = v["rule_id"].astype(str).to_numpy()
    comparisons = (
        pd.Series(rule_ids)
        .map({code: rule.comparison for code, rule in rules.items()})  # a handful of rules
        .fillna("")
        .to_numpy(dtype=object)
    )
    measured = v["measured"].to_numpy(dtype=float)
    limit = v["limit"].to_numpy(dtype=float)
    low = v["limit_low"].to_numpy(dtype=float)
    excess = np.full(len(v), np.nan)
    for comparison in pd.unique(comparisons):  # a handful of comparison kinds
        same = comparisons == comparison
        excess[same] = _excess(comparison or None, measured[same], limit[same], low[same])
    rank = v["status"].map(STATUS_ORDER).fillna(0).to_numpy()
    rule_pos = pd.Series(range(len(order)), index=order).reindex(rule_ids).to_numpy()
    sort = np.lexsort((v["feature_id"].astype(str).to_numpy(), -excess, -rank, rule_pos))
    ranked = v.iloc[sort]
    shown = ranked[ranked.groupby("rule_id", sort=False).cumcount().to_numpy() < max_per_rule]
    all_geoms = shown.geometry.to_numpy()
    all_has_geom = ~(shapely.is_missing(all_geoms) | shapely.is_empty(all_geoms))
    all_centroids = np.where(
        all_has_geom, shapely.centroid(np.where(all_has_geom, all_geoms, None)), None
    )
    all_lonlat = (
        gpd.GeoSeries(all_centroids, crs=crs).to_crs(4326).to_numpy() if crs is not None else None
    )
    all_records = shown.drop(columns=shown.geometry.name).to_dict("records")
    shown_ids = shown["rule_id"].astype(str).to_numpy()
    counts_of = v.groupby("rule_id")["status"].value_counts()
    totals = pd.Series(rule_ids).value_counts()
    with_map = all_has_geom & (shown.groupby("rule_id", sort=False).cumcount() < max_maps)
    maps = _maps_of(all_records, all_geoms, with_map.to_numpy(), context, lang)
    groups = []
    for code in order:  # one group per rule
        rows = np.flatnonzero(shown_ids == code)
        if len(rows) == 0:
            continue
        rule = rules.get(code)
        comparison = rule.comparison if rule is not None else None
        has_geom, centroids = all_has_geom[rows], all_centroids[rows]
        lonlat = all_lonlat[rows] if all_lonlat is not None else None
        records = [all_records[k] for k in rows]
        colour = rule_colour(code)
        items = []
        for i, row in enumerate(records):  # at most max_per_rule
            unit = str(row["unit"])
            fid = str(row["feature_id"])
            shown = _fid_text(fid, lab)
            status = str(row["status"])
            m, lim = float(row["measured"]), float(row["limit"])
            lo = float(row["limit_low"]) if not pd.isna(row["limit_low"]) else math.nan
            svg, drawn = "", list[str]()
            xy = lon_lat = ""
            if has_geom[i]:
                names = _CONTEXT_NAMES[lang]
                limit_value = _value(lim, unit, lang)
                svg, drawn = maps.get(rows[i], ("", []))
                c: Any = centroids[i]
                xy = (
                    f"X（北）{c.y:,.1f} 米，Y（东）{c.x:,.1f} 米"
                    if lang == "zh"
                    else f"E {c.x:,.1f} m, N {c.y:,.1f} m"
                )
                if lonlat is not None:
                    p = lonlat[i]
                    lon_lat = f"{p.x:.6f}, {p.y:.6f}"
                joiner = "、" if lang == "zh" else ", "
                ctx = joiner.join(names[d] for d in drawn) if drawn else ""
                context_text = (
                    (ctx if lang == "zh" else ": " + ctx) if drawn else lab["context_none"]
                )
                caption = lab["figure"].format(
                    code=code,
                    fid=shown,
                    colour=_COLOUR_WORD[lang],
                    context=context_text,
                    bar=lab["figure_bar"].format(limit=limit_value)
                    if 'class="limit-bar"' in svg
                    else "",
                )
            else:
                caption = ""
            estimated = bool(row["estimated"]) if not pd.isna(row["estimated"]) else False
            items.append(
                {
                    "id": f"{code}-{i + 1}",
                    "fid": fid,
                    "fid_text": shown,
                    "layer": str(row["layer"]),
                    "status": status,
                    "status_text": lab[f"status.{status}"],
                    "sentence": str(row["message"] if lang == "zh" else row["message_en"]),
                    "measured": _keep_unit(_value(m, unit, lang), unit, lang)
                    + (lab["estimated"] if estimated else ""),
                    "limit": _keep_unit(_limit_text(comparison, lim, lo, unit, lang), unit, lang),
                    "excess": _keep_unit(
                        _excess_text(comparison, m, lim, lo, unit, lang), unit, lang
                    ),
                    "method": (_text(row.get("method_zh")) if lang == "zh" else "")
                    or _text(row.get("method")),
                    "exception_reason": _text(row["exception_reason"]),
                    "exception_ref": _text(row["exception_ref"]),
                    "lonlat": lon_lat,
                    "xy": xy,
                    "svg": Markup(svg),  # built from numbers and escaped labels only
                    "caption": caption,
                    "href": violation_href(code, fid, map_href) if map_href else "",
                }
            )
        first = records[0]
        if rule is not None:
            clause = _clause(rule, result.profile, lang)
        else:
            clause = {"document": "", "section": "", "quote": str(first["source"]), "basis": ""}
        counts = counts_of[code]
        total = int(totals[code])
        unmapped = int(all_has_geom[rows].sum()) - sum(int(k) in maps for k in rows)
        groups.append(
            {
                "code": code,
                "colour": colour,
                "title": str(first["title_zh"] if lang == "zh" else first["title_en"]),
                "title_alt": str(first["title_en"] if lang == "zh" else first["title_zh"]),
                "counts": [
                    (s, lab[f"status.{s}"], int(counts.get(s, 0)))
                    for s in VIOLATION_STATUSES
                    if counts.get(s, 0)
                ],
                "clause": clause,
                "items": items,
                "more": lab["more"].format(n=total - len(rows), shown=len(rows))
                if total > len(rows)
                else "",
                "maps_note": lab["maps_only"].format(
                    shown=max_maps, n=unmapped, where=lab["maps_where"] if map_href else ""
                )
                if unmapped
                else "",
            }
        )
    return groups


def _maps_of(
    records: list[dict[str, Any]],
    geoms: np.ndarray,
    has_geom: np.ndarray,
    context: list[_ContextLayer],
    lang: str,
) -> dict[int, tuple[str, list[str]]]:
    """The inline map of each violation shown that has a geometry, by its position, all at once."""
    lab = LABELS[lang]
    specs, where = [], []
    for k in np.flatnonzero(has_geom):  # the violations shown: at most max_per_rule per rule
        row = records[k]
        code, unit, lim = str(row["rule_id"]), str(row["unit"]), float(row["limit"])
        specs.append(
            MapSpec(
                geoms[k],
                colour=rule_colour(code),
                status=str(row["status"]),
                label=f"{code} {_fid_text(str(row['feature_id']), lab)}",
                limit_m=lim if unit == "m" and math.isfinite(lim) and lim <= 2000 else None,
                limit_label=lab["limit_bar"].format(limit=_value(lim, unit, lang)),
            )
        )
        where.append(int(k))
    return dict(zip(where, svg_maps(specs, context, lang=lang), strict=True))


#: Unit words of running text (clauses, sentences) kept on one line, longest first.
_UNIT_WORDS = re.compile(
    "(万人/平方公里|人/平方公里|公里/平方公里|平方公里|平方米/人|平方米|公里/万人|公顷)"
)


def keep_units(text: object) -> Markup:
    """Jinja filter: ``text`` escaped, its unit words (平方公里, 公顷 …) in no-wrap spans."""
    escaped = str(Markup.escape(text))
    return Markup(_UNIT_WORDS.sub(r'<span class="nb">\1</span>', escaped))


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The page's Jinja environment, made once: its template is compiled once per process."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["keep_units"] = keep_units
    return env


def render_report(
    result: Result,
    path: str | Path,
    *,
    lang: str = "zh",
    map_href: str | None = "map.html",
    max_per_rule: int = MAX_SECTIONS_PER_RULE,
    max_maps_per_rule: int = MAX_MAPS_PER_RULE,
    today: date | None = None,
    provenance: Provenance | None = None,
) -> None:
    """Write the reviewer's report of a check run: one self-contained HTML page.

    The page holds, in Chinese (``lang="zh"``, English terms beside the
    labels) or English (``lang="en"``, with ``message_en``):

    * the run: scheme, profile (name and plan document), target years in
      force and the rules they apply to, measuring CRS, date, layer sizes,
      notes, and counts of rules and findings by status;
    * a table of every rule of the summary: code, title, status badge,
      checked / failed / excepted, worst value with unit, limit (ranges as
      low–high), target year, the clause (document, section, quote, and the
      higher document it restates), the reason when ``not_evaluated``;
    * per rule with ``fail``, ``warn`` or ``excepted`` findings, one section
      per finding, most severe first (status, then the largest excess over
      the limit), at most ``max_per_rule`` with the rest counted: the
      sentence to paste (``message`` or ``message_en``) with a copy button
      that works offline, measured value and limit with unit and the excess,
      the method, whether the value is estimated, the exception's reason and
      approval, feature id and layer, the centroid as longitude/latitude
      (EPSG:4326, 6 decimals) and as X/Y in the measuring CRS, an inline SVG
      map (:func:`svg_map`; the first ``max_maps_per_rule`` of a rule, drawn
      together by :func:`svg_maps`) and a link ``map.html#rule=<code>&fid=<id>``
      (:func:`compliance.outputs.map.violation_href`).

    No external resources: CSS and the copy script are inline, the maps are
    inline SVG, fonts are the system's.  Printing gives A4 pages with table
    rows and violation sections never split, the table header repeated, and
    no buttons.  Every text is HTML-escaped (Jinja2 autoescape).  The output
    depends only on the result, the options and the date.

    Parameters
    ----------
    result : compliance.engine.Result
        A check run; findings and scheme layers in the projected measuring
        CRS (metres).  Not modified.
    path : str or pathlib.Path
        HTML file to write (UTF-8); overwritten if it exists.
    lang : {"zh", "en"}
        Language of the labels and sentences.
    map_href : str or None
        The map's path relative to the report; None when no map is written
        (no links then).
    max_per_rule : int
        Violation sections per rule at most.
    max_maps_per_rule : int
        Of a rule's sections, the first (most severe) this many get an inline
        map; the group says so when it lists more.  The others keep their
        coordinates and link into the map.
    today : datetime.date, optional
        The run date printed; default today.
    provenance : Provenance, optional
        Tool version, rule-catalogue and input hashes for the header; by
        default the tool version alone.

    Raises
    ------
    ValueError
        ``lang`` is neither ``zh`` nor ``en``.
    OutputError
        The file cannot be written.
    """
    if lang not in LABELS:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    lab = LABELS[lang]
    s = result.summary
    groups = _violation_groups(result, lang, map_href, max_per_rule, max_maps_per_rule)
    shown = {g["code"] for g in groups}
    f = result.findings
    rule_counts = [
        (st, lab[f"status.{st}"], int((s["status"] == st).sum()))
        for st in ("fail", "warn", "excepted", "pass", "not_evaluated")
    ]
    finding_counts = [
        (st, lab[f"status.{st}"], int((f["status"] == st).sum())) for st in VIOLATION_STATUSES
    ]
    prof = result.profile
    scheme = result.scheme
    # Failures first, then warnings, exceptions and passes; rules not evaluated last, apart.
    rule_rows = sorted(
        _rule_rows(result, lang, shown), key=lambda r: -STATUS_ORDER.get(r["status"], 0)
    )
    context = {
        "lab": lab,
        "lang": lang,
        "scheme": scheme.source or "—",
        "profile_name": prof.name,
        "profile_title": prof.title_zh if lang == "zh" else prof.title_en,
        "document": prof.document if lang == "zh" else prof.plan_en,
        "years": _years(result, lang),
        "crs": crs_label_zh(scheme.crs) if lang == "zh" else scheme.crs_label,
        "date": (today or date.today()).isoformat(),
        "layers": ", ".join(f"{k} {len(g)}" for k, g in scheme.layers.items()),
        "rasters": ", ".join(f"{k}: {Path(r.path).name}" for k, r in scheme.rasters.items()),
        "notes": notes_text(result.notes, lang),
        "rule_counts": rule_counts,
        "finding_counts": finding_counts,
        "rules": [r for r in rule_rows if r["status"] != "not_evaluated"],
        "not_evaluated": [r for r in rule_rows if r["status"] == "not_evaluated"],
        "groups": groups,
        "status_colour": _STATUS_COLOUR,
        "svg_width": SVG_WIDTH_PX,
        "provenance": (
            provenance.lines(lang)
            if provenance is not None
            else [(lab["tool"], f"compliance {__version__}")]
        ),
        "tool_version": __version__,
    }
    text = _environment().get_template("report.html.j2").render(**context)
    _write_text(Path(path), text)


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the report ({exc})") from exc


# --------------------------------------------------------------------------- findings.gpkg

#: Geometry families of a GeoPackage layer: suffix when a rule has several, OGR type.
_FAMILIES = {
    2: ("polygons", "MultiPolygon"),
    1: ("lines", "MultiLineString"),
    0: ("points", "MultiPoint"),
}


def _as_family(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geometry family of each row and its geometry as written.

    Returns the family (2 areas, 1 lines, 0 points, -1 no geometry) and the
    geometries, a collection reduced to a multi-part of its parts of the
    highest dimension.
    """
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    out = geoms.copy()
    out[missing] = None
    dim = shapely.get_dimensions(out)  # -1 for None
    dim[missing] = -1
    coll = shapely.get_type_id(out) == 7
    if coll.any():
        idx = np.flatnonzero(coll)
        parts, which = shapely.get_parts(out[idx], return_index=True)
        while len(parts) and (shapely.get_type_id(parts) >= 4).any():  # nested multi-parts
            sub, j = shapely.get_parts(parts, return_index=True)
            parts, which = sub, which[j]
        keep = shapely.get_dimensions(parts) == dim[idx][which]
        parts, which = parts[keep], which[keep]
        builders = (
            (2, shapely.multipolygons),
            (1, shapely.multilinestrings),
            (0, shapely.multipoints),
        )
        for d, make in builders:
            rows = np.flatnonzero(dim[idx] == d)
            if len(rows) == 0:
                continue
            mine = np.isin(which, rows)
            out[idx[rows]] = make(parts[mine], indices=np.searchsorted(rows, which[mine]))
    return dim.astype(int), out


def _typed_findings(f: gpd.GeoDataFrame) -> pd.DataFrame:
    """Finding attributes with GeoPackage-friendly types (TEXT, REAL, BOOLEAN, INTEGER)."""
    cols = {c: f[c] if c in f.columns else pd.Series(pd.NA, index=f.index) for c in FINDING_COLUMNS}
    out = pd.DataFrame(index=f.index)
    for c in FINDING_COLUMNS:
        col = cols[c]
        if c in ("measured", "limit", "limit_low"):
            out[c] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif c == "estimated":
            out[c] = col.fillna(False).astype(bool)
        elif c == "year":
            out[c] = pd.to_numeric(col, errors="coerce").round().astype("Int32")
        else:
            text = col.astype("string")  # str of each value, NA where missing
            out[c] = text.astype(object).where(text.notna(), None)
    return out


def write_findings_gpkg(
    result: Result,
    path: str | Path,
    *,
    include_passes: bool = False,
    crs: int | str = 4326,
) -> None:
    """Write the findings as a GeoPackage: one layer per rule, ``not_evaluated``,
    ``summary``, and QGIS styles.

    Layers:

    * one per rule code with findings (``fail``, ``warn``, ``excepted`` and
      ``not_evaluated``; ``pass`` too with ``include_passes``), named by the
      code (``EC01``), EPSG:4326 (or the measuring CRS with
      ``crs="measuring"``), every finding property a column: text as
      TEXT (UTF-8, as GeoPackage always is), ``measured``, ``limit``,
      ``limit_low`` REAL, ``estimated`` BOOLEAN (an INTEGER 0/1), ``year``
      INTEGER (NULL when the rule has no target year).  The layer's
      identifier and description (``gpkg_contents``; QGIS shows them) give
      the rule's title in Chinese and English and its clause.
    * geometries are promoted to multi-part types (``MultiPolygon``,
      ``MultiLineString``, ``MultiPoint``) so each layer has one declared
      type.  A rule whose findings mix families (EC02: a polygon break and a
      line gap) gets one layer per family, ``EC02_polygons``,
      ``EC02_lines``, ``EC02_points``: QGIS and ArcGIS open a layer of one
      declared type directly, while a generic ``GEOMETRY`` layer makes QGIS
      ask which sub-layer to load and is not supported as a feature class by
      ArcGIS.  A geometry collection keeps its parts of the highest
      dimension.  Findings without geometry (aggregate findings) stay in the
      rule's layer with a NULL geometry, in its first family layer.
    * ``not_evaluated``: one non-spatial table holding the finding of every
      rule not evaluated (its ``message`` says why), instead of a
      geometry-less table per rule cluttering the layer list.
    * ``summary``: a non-spatial table, one row per rule, the columns of
      ``summary.csv``.
    * ``layer_styles``: the default QGIS style of each rule layer
      (:mod:`compliance.outputs.gpkgstyle`): colour of the rule as on
      ``map.html``, ``fail`` solid, ``warn`` dashed, as QML and SLD.

    Parameters
    ----------
    result : compliance.engine.Result
        A check run; findings in the measuring CRS (reprojected here).
    path : str or pathlib.Path
        ``.gpkg`` file; replaced as a whole when it exists (written beside it
        and moved into place).
    include_passes : bool
        Also write every ``pass`` finding.
    crs : int, str
        ``4326`` (default, longitude/latitude) or ``"measuring"``: the
        projected measuring CRS of the run (metres), as measured.

    Raises
    ------
    OutputError
        The file cannot be written.
    """
    path = Path(path)
    f = result.findings
    if not include_passes:
        f = f[f["status"] != "pass"]
    if f.crs is not None and len(f) and crs != "measuring":
        f = f.to_crs(crs)
    order = [str(c) for c in result.summary["rule_id"]]
    order += [c for c in pd.unique(f["rule_id"].astype(str)) if c not in order]
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    try:
        tmp.unlink(missing_ok=True)
        with _sqlite_without_sync():
            _write_gpkg_layers(result, f, order, tmp)
        os.replace(tmp, path)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the GeoPackage ({exc})") from exc


@contextmanager
def _sqlite_without_sync() -> Iterator[None]:
    """SQLite without fsync or rollback journal while the GeoPackage is written (a
    temporary file moved into place when complete, so an interrupted write leaves
    nothing half-written): one fsync and journal per layer would make writing
    several times slower."""
    options = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "OFF"}
    old = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)


def _write_gpkg_layers(result: Result, f: gpd.GeoDataFrame, order: list[str], tmp: Path) -> None:
    from .gpkgstyle import write_layer_styles

    rules = result.profile.rules
    # typed and grouped by family once for all rules, then sliced per rule
    typed = _typed_findings(f)
    family, written = _as_family(f.geometry.to_numpy())
    rule_ids = f["rule_id"].astype(str).to_numpy()
    not_evaluated = f["status"].astype(str).to_numpy() == "not_evaluated"
    styled: list[tuple[str, str, str, str]] = []
    for code in order:  # one layer per rule
        mine = (rule_ids == code) & ~not_evaluated
        if not mine.any():
            continue
        part = f[mine]
        rule = rules.get(code)
        title_zh = rule.title_zh if rule else str(part["title_zh"].iloc[0])
        title_en = rule.title_en if rule else str(part["title_en"].iloc[0])
        clause = (
            f"{rule.source.document} {rule.source.section}：“{rule.source.quote}”"
            if rule
            else str(part["source"].iloc[0])
        )
        attrs, fam, geoms = typed[mine], family[mine], written[mine]
        present = [d for d in (2, 1, 0) if (fam == d).any()]
        if not present:
            _write_layer(tmp, attrs.reset_index(drop=True), code, title_zh, title_en, clause)
            continue
        for k, d in enumerate(present):
            sel = (fam == d) | ((fam == -1) & (k == 0))
            name = code if len(present) == 1 else f"{code}_{_FAMILIES[d][0]}"
            gdf = gpd.GeoDataFrame(
                attrs[sel].reset_index(drop=True),
                geometry=gpd.GeoSeries(geoms[sel], crs=f.crs),
            )
            _write_layer(tmp, gdf, name, title_zh, title_en, clause, _FAMILIES[d][1])
            styled.append((name, code, _FAMILIES[d][0], f"{code} {title_zh}"))
    if not_evaluated.any():
        _write_layer(
            tmp,
            typed[not_evaluated].reset_index(drop=True),
            "not_evaluated",
            "未评估的规则",
            "rules not evaluated",
            "each row: a rule that could not be evaluated; message says why",
        )
    summary = result.summary.reindex(columns=SUMMARY_COLUMNS).copy()
    for c in ("checked", "failed", "skipped", "excepted"):
        summary[c] = pd.to_numeric(summary[c], errors="coerce").astype("Int64")
    summary["year"] = pd.to_numeric(summary["year"], errors="coerce").round().astype("Int32")
    for c in ("worst", "limit", "limit_low"):
        summary[c] = pd.to_numeric(summary[c], errors="coerce").astype("float64")
    _write_layer(
        tmp,
        summary,
        "summary",
        "规则汇总",
        "summary of the rules",
        f"{result.profile.name}: {result.profile.document}; CRS {result.scheme.crs_label}",
    )
    write_layer_styles(tmp, styled)


#: Rows from which a GeoPackage layer is written through Arrow.
ARROW_MIN_ROWS = 1000


def _write_layer(
    path: Path,
    frame: pd.DataFrame,
    name: str,
    title_zh: str,
    title_en: str,
    clause: str,
    geometry_type: str | None = None,
) -> None:
    kwargs: dict[str, Any] = {}
    if geometry_type is not None:
        kwargs = {"geometry_type": geometry_type, "promote_to_multi": True}
    # Through Arrow a layer of many rows is written faster, one of a few slower (a fixed
    # cost per layer); the table is the same either way (as_arrow_writes).
    arrow = len(frame) >= ARROW_MIN_ROWS
    pyogrio.write_dataframe(
        as_arrow_writes(frame) if arrow else frame,
        path,
        layer=name,
        driver="GPKG",
        use_arrow=arrow,
        layer_options={
            "IDENTIFIER": f"{name} {title_zh}",
            "DESCRIPTION": f"{title_zh} / {title_en} — {clause}",
        },
        **kwargs,
    )
