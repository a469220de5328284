"""The findings for spreadsheet users: ``findings.xlsx`` (openpyxl).

Excel on Chinese Windows opens a CSV without a BOM as GBK and garbles it;
``summary.csv`` stays UTF-8 without a BOM because scripts read it, and this
workbook is what a spreadsheet user opens.  Three sheets:

* ``summary`` (汇总): one row per rule, the columns of ``summary.csv`` and
  the reason a rule was not evaluated;
* ``violations`` (问题清单): one row per ``fail``, ``warn`` or ``excepted``
  finding, with the sentence, the clause and the centre's longitude/latitude;
* ``run`` (运行信息): scheme, profile, CRS, tool version, catalogue and input hashes.

Numbers are stored as numbers rounded to their unit's precision
(:func:`compliance.outputs.provenance.decimals`) with a number format of as
many decimals, years and counts as integers; the header row is frozen and
filtered, and the columns have widths that fit their text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from copy import copy
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..engine import Result
from ..errors import OutputError
from .provenance import Provenance, decimals

#: Violations written at most (Excel holds 1,048,576 rows).
MAX_ROWS = 1_000_000

#: Columns of the ``summary`` sheet: key, header, width (characters), kind.
SUMMARY_SHEET: tuple[tuple[str, str, int, str], ...] = (
    ("rule_id", "编号 rule_id", 9, "text"),
    ("title", "规则 title", 26, "text"),
    ("title_en", "title (en)", 30, "text"),
    ("status", "结论 status", 13, "text"),
    ("checked", "检查 checked", 9, "int"),
    ("failed", "问题 failed", 9, "int"),
    ("excepted", "例外 excepted", 9, "int"),
    ("worst", "最不利值 worst", 13, "value"),
    ("limit_low", "下限 limit_low", 11, "value"),
    ("limit", "限值 limit", 11, "value"),
    ("unit", "单位 unit", 12, "text"),
    ("year", "年份 year", 8, "int"),
    ("severity", "严重性 severity", 10, "text"),
    ("note_zh", "说明 note", 40, "text"),
    ("source", "依据条文 source", 60, "text"),
)

#: Columns of the ``violations`` sheet.
VIOLATIONS_SHEET: tuple[tuple[str, str, int, str], ...] = (
    ("rule_id", "编号 rule_id", 9, "text"),
    ("title_zh", "规则 title", 22, "text"),
    ("status", "结论 status", 10, "text"),
    ("layer", "图层 layer", 12, "text"),
    ("feature_id", "对象 feature_id", 16, "text"),
    ("measured", "量测值 measured", 13, "value"),
    ("limit", "限值 limit", 11, "value"),
    ("excess", "差值 excess", 12, "value"),
    ("unit", "单位 unit", 12, "text"),
    ("estimated", "估算 estimated", 9, "bool"),
    ("lon", "经度 lon", 12, "deg"),
    ("lat", "纬度 lat", 11, "deg"),
    ("message", "审查意见 message", 70, "text"),
    ("message_en", "message (en)", 60, "text"),
    ("source", "依据条文 source", 60, "text"),
    ("exception_reason", "例外理由 exception", 20, "text"),
    ("exception_ref", "批准文号 approval", 16, "text"),
)


def _excess(result: Result, v: pd.DataFrame) -> np.ndarray:
    """How far each value lies beyond its limit (positive), in the rule's unit."""
    comparison = (
        v["rule_id"]
        .astype(str)
        .map({c: r.comparison for c, r in result.profile.rules.items()})
        .fillna("<=")
        .to_numpy(dtype=object)
    )
    m = v["measured"].to_numpy(dtype=float)
    lim = v["limit"].to_numpy(dtype=float)
    low = pd.to_numeric(v["limit_low"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        upper = m - lim
        lower = lim - m
        between = np.fmax(low - m, m - lim)
    return np.where(
        comparison == "between", between, np.where(np.isin(comparison, [">=", ">"]), lower, upper)
    )


def _round_by_unit(values: np.ndarray, units: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    places = np.array([decimals(str(u)) for u in pd.unique(units)])
    for u, d in zip(pd.unique(units), places, strict=True):  # a handful of units
        same = units == u
        out[same] = np.round(out[same], int(d))
    return out


def _number_format(places: int) -> str:
    """Excel number format with thousands separators and ``places`` decimals."""
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def _cell(value: Any) -> Any:
    """A value as openpyxl writes it: None for NaN/NA, Python scalars."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sheet(
    wb: Any,
    title: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, int, str]],
    units: np.ndarray | None,
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.append([header for _k, header, _w, _t in columns])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="ECECEA")
    for j, (_k, _h, width, _t) in enumerate(columns, start=1):
        c = ws.cell(row=1, column=j)
        c.font, c.fill = bold, fill
        c.alignment = Alignment(vertical="top", wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "B2"
    values = [frame[k].to_numpy(dtype=object) for k, _h, _w, _t in columns]
    value_cols = [j for j, c in enumerate(columns) if c[3] == "value"]
    formats = [_number_format(decimals(str(u))) for u in units] if units is not None else None
    fixed = {"int": "0", "deg": "0.000000"}
    wrap = Alignment(wrap_text=True, vertical="top")
    styled = [
        (j, kind)
        for j, (_k, _h, width, kind) in enumerate(columns)
        if kind in fixed or (kind == "text" and width >= 40)
    ]
    # A cell's style, once set on a first cell, is copied to the others (openpyxl
    # registers a style each time one is set, comparing it with every one it holds).
    done: dict[tuple[int, str], Any] = {}

    def style(row: int, j: int, key: str, number_format: str | None) -> None:
        cell = ws.cell(row=row, column=j + 1)  # not ws[row]: that scans the sheet's width
        first = done.get((j, key))
        if first is not None:
            cell._style = copy(first)
            return
        if number_format is None:
            cell.alignment = wrap
        else:
            cell.number_format = number_format
        done[(j, key)] = cell._style

    for i in range(len(frame)):  # openpyxl writes row by row
        ws.append([_cell(col[i]) for col in values])
        for j, kind in styled:
            style(i + 2, j, kind, fixed[kind] if kind in fixed else None)
        if formats is not None:
            for j in value_cols:
                style(i + 2, j, formats[i], formats[i])
    if len(frame):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"


def write_workbook(
    result: Result, path: str | Path, *, provenance: Provenance | None = None
) -> None:
    """Write ``findings.xlsx``: a summary sheet, a violations sheet and the run's facts.

    Parameters
    ----------
    result : compliance.engine.Result
        A check run; findings in the measuring CRS (centres reprojected to
        EPSG:4326 here).  Not modified.
    path : str or pathlib.Path
        ``.xlsx`` file to write; overwritten.
    provenance : Provenance, optional
        Tool version and hashes, written on the ``run`` sheet.

    Raises
    ------
    OutputError
        The file cannot be written.
    """
    from openpyxl import Workbook

    from .files import rounded_summary

    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)

    s = rounded_summary(result)
    extra = result.summary.reindex(columns=["note_zh", "note"])
    s["note_zh"] = extra["note_zh"].where(extra["note_zh"].astype(bool), extra["note"]).fillna("")
    _sheet(wb, "summary 汇总", s, SUMMARY_SHEET, s["unit"].astype(str).to_numpy())

    f = result.findings
    v = f[f["status"].isin(["fail", "warn", "excepted"])].iloc[:MAX_ROWS]
    units = v["unit"].astype(str).to_numpy()
    table = pd.DataFrame(v.drop(columns=v.geometry.name)).reset_index(drop=True)
    table["measured"] = _round_by_unit(v["measured"].to_numpy(dtype=float), units)
    table["limit"] = _round_by_unit(v["limit"].to_numpy(dtype=float), units)
    table["excess"] = _round_by_unit(_excess(result, v), units)
    table["estimated"] = v["estimated"].fillna(False).astype(bool).to_numpy()
    geoms = v.geometry.to_numpy()
    has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    lon = np.full(len(v), np.nan)
    lat = np.full(len(v), np.nan)
    if has.any() and v.crs is not None:
        c = gpd.GeoSeries(shapely.centroid(geoms[has]), crs=v.crs).to_crs(4326)
        lon[has], lat[has] = np.round(c.x.to_numpy(), 6), np.round(c.y.to_numpy(), 6)
    table["lon"], table["lat"] = lon, lat
    _sheet(wb, "violations 问题清单", table, VIOLATIONS_SHEET, units)

    ws = wb.create_sheet("run 运行信息")
    prof = result.profile
    rows: list[tuple[str, Any]] = [
        ("方案 scheme", result.scheme.source),
        ("规则集 profile", f"{prof.name} — {prof.title_zh}"),
        ("依据文件 plan", prof.document),
        ("目标年份 year", prof.year),
        ("量测坐标系 CRS", result.scheme.crs_label),
    ]
    if provenance is not None:
        rows += [
            ("工具版本 tool", f"compliance {provenance.tool_version}"),
            ("规则库 SHA-256 catalogue", provenance.catalogue_sha256),
        ]
        rows += [
            (f"输入 input ({role})", f"{file}  sha256 {digest}")
            for role, files in provenance.inputs.items()
            for file, digest in files.items()
        ]
    for row in rows:  # a dozen facts
        ws.append(list(row))
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
    try:
        wb.save(str(path))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the workbook ({exc})") from exc
