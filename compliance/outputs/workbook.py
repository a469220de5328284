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

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from copy import copy
from itertools import chain, repeat
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
    *,
    every_row: bool = False,
) -> _Body | None:
    """Add a sheet: the header, widths, frozen header and filter, the rows of ``frame``.

    Only the rows that first use a style (a number format, a wrapped text)
    are given to openpyxl, so that it registers the styles in the order the
    whole sheet would; the returned :class:`_Body` writes every row's XML
    after the save (:func:`_splice`).  Every row goes through openpyxl when
    ``every_row`` is true or a value is not :func:`_plain`; None is returned
    then (and for a sheet without rows): the sheet is complete as saved.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    _append(ws, [header for _k, header, _w, _t in columns])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="ECECEA")
    for j, (_k, _h, width, _t) in enumerate(columns, start=1):
        c = ws.cell(row=1, column=j)
        c.font, c.fill = bold, fill
        c.alignment = Alignment(vertical="top", wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "B2"
    values = [_values(frame[k]) for k, _h, _w, _t in columns]
    every_row = every_row or not _plain(values)
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
    first: dict[tuple[int, str], int] = {}  # where each style is first used: its row

    def style(row: int, j: int, key: str, number_format: str | None) -> None:
        cell = ws.cell(row=row, column=j + 1)  # not ws[row]: that scans the sheet's width
        given = done.get((j, key))
        if given is not None:
            cell._style = copy(given)
            return
        if number_format is None:
            cell.alignment = wrap
        else:
            cell.number_format = number_format
        done[(j, key)] = cell._style
        first[(j, key)] = row

    n = len(frame)
    if every_row:
        rows: Iterable[int] = range(n)
    else:  # the rows that bring a style not used above them: a handful
        seen: set[tuple[int, str]] = {(j, kind) for j, kind in styled}
        rows = [0] if n else []
        if formats is not None:
            for i in range(n):  # one set look-up per row and value column
                if any((j, formats[i]) not in seen for j in value_cols):
                    seen.update((j, formats[i]) for j in value_cols)
                    if i:
                        rows.append(i)
    for i in rows:  # openpyxl writes row by row
        if every_row:
            _append(ws, [col[i] for col in values])
        else:
            for j, col in enumerate(values):
                value = col[i]
                if value is not None:
                    ws.cell(row=i + 2, column=j + 1, value=value)
                    _as_text(ws, i + 2, j + 1, value)
        for j, kind in styled:
            style(i + 2, j, kind, fixed[kind] if kind in fixed else None)
        if formats is not None:
            for j in value_cols:
                style(i + 2, j, formats[i], formats[i])
    if n:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n + 1}"
    if every_row or not n:
        return None
    ws.cell(row=n + 1, column=len(columns))  # the sheet's extent (<dimension>) as when full
    keys: list[Sequence[str] | None] = [
        [kind] * n if (j, kind) in styled else formats if j in value_cols and formats else None
        for j, (_k, _h, _w, kind) in enumerate(columns)
    ]
    return _Body(ws, values, keys, first)


class _Body:
    """The rows of a sheet, written as XML after openpyxl has saved its header (:func:`_splice`).

    The XML is what openpyxl writes for the same cells (``tests`` compare the
    two files member by member): inline strings with non-ASCII characters as
    character references, numbers as ``%.16g``, a style index on every styled
    cell.  Built column by column, without a ``Cell`` object per value.
    """

    def __init__(
        self,
        ws: Any,
        values: list[list[Any]],
        keys: list[Sequence[str] | None],
        first: dict[tuple[int, str], int],
    ) -> None:
        self.ws, self.values, self.keys, self.first = ws, values, keys, first

    def xml(self) -> str:
        """The ``<row>`` elements of rows 2 onwards; call after the workbook is saved."""
        from openpyxl.utils import get_column_letter

        # openpyxl numbered the styles while saving; a cell's index is its style's
        ids = {
            key: self.ws.cell(row=r, column=key[0] + 1).style_id for key, r in self.first.items()
        }
        n = len(self.values[0])
        numbers = [str(r) for r in range(2, n + 2)]
        columns = []
        for j, (col, keys) in enumerate(zip(self.values, self.keys, strict=True)):
            attrs = [""] * n if keys is None else [f' s="{ids[(j, k)]}"' for k in keys]
            columns.append(_cells_xml(get_column_letter(j + 1), numbers, col, attrs))
        opens = [f'<row r="{r}">' for r in numbers]
        cells = zip(opens, *columns, repeat("</row>", n), strict=False)  # repeat: endless
        return "".join(chain.from_iterable(cells))


#: What openpyxl does not write as a plain inline string: characters XML cannot hold,
#: error codes, texts it truncates (32,767 characters).
_NOT_PLAIN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})


def _as_text(ws: Any, row: int, column: int, value: Any) -> None:
    """Keep a text that starts with ``=`` a text: openpyxl would write it as a formula.

    A finding's text holds names from the scheme (a parcel called
    ``=HYPERLINK(…)``), the run sheet its file names: the reviewer's
    spreadsheet must show them, never run them.  Every sheet's cells are
    written through this (:func:`_append` or a cell and this).
    """
    if type(value) is str and value.startswith("=") and len(value) > 1:
        ws.cell(row=row, column=column).data_type = "s"


def _append(ws: Any, values: list[Any]) -> None:
    """``ws.append``, every text kept a text (:func:`_as_text`)."""
    ws.append(values)
    for j, value in enumerate(values, start=1):
        _as_text(ws, ws.max_row, j, value)


def _values(column: pd.Series) -> list[Any]:
    """A column's values as openpyxl is given them (:func:`_cell` of each), numbers at once."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fb":  # float64, bool
        out: list[Any] = column.to_numpy().tolist()
        if column.dtype.kind == "f":
            for i in np.flatnonzero(column.isna().to_numpy()):  # the missing values
                out[i] = None
        return out
    return [v if type(v) is str else _cell(v) for v in column.to_numpy(dtype=object)]


def _plain(values: list[list[Any]]) -> bool:
    """Whether every value is one :func:`_cells_xml` writes as openpyxl does.

    Texts, numbers, booleans and missing values are (a text starting with
    ``=`` too: it is written as a text, never a formula, :func:`_as_text`);
    a text with a character XML cannot hold, an error code (``#N/A``) or
    one longer than Excel's 32,767 characters is not, nor any other type.
    The workbook of a sheet that is not plain is written by openpyxl alone.
    """
    for col in values:  # a dozen columns
        texts = [v for v in col if type(v) is str]
        if len(texts) + sum(1 for v in col if type(v) in _SCALARS) != len(col):
            return False
        if texts and (
            _NOT_PLAIN.search("".join(texts))
            or any(len(t) > 32767 for t in texts)
            or not _ERROR_CODES.isdisjoint(texts)
        ):
            return False
    return True


#: Types :func:`_cells_xml` writes besides ``str`` (as :func:`_cell` gives them).
_SCALARS = frozenset({float, int, bool, type(None)})


def _escaped(texts: list[str]) -> list[str]:
    """Texts as lxml serialises them in openpyxl's sheets: ``&<>`` and CR escaped, every
    character beyond ASCII a decimal character reference (``&#32534;``).

    Each distinct text is escaped once (a rule's title and clause repeat on
    every row of its violations).
    """
    if not texts:
        return []
    distinct = list(dict.fromkeys(texts))
    joined = "\x00".join(distinct)  # no text holds NUL (_plain)
    joined = (
        joined.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )
    escaped = joined.encode("ascii", "xmlcharrefreplace").decode("ascii").split("\x00")
    if len(distinct) == len(texts):
        return escaped
    of = dict(zip(distinct, escaped, strict=True))
    return [of[t] for t in texts]


def _cells_xml(letter: str, numbers: list[str], values: list[Any], attrs: list[str]) -> list[str]:
    """One column's ``<c>`` elements, one per row ("" for a cell openpyxl leaves out).

    As :func:`openpyxl.cell._writer.lxml_write_cell` writes them: a missing
    value is left out unless styled (then an empty numeric cell), an empty
    text is an empty inline string, a text with leading or trailing space
    keeps it (``xml:space``), a number is ``%.16g`` (infinite: empty), a
    boolean 1 or 0.
    """
    texts = iter(_escaped([v for v in values if type(v) is str]))
    out = []
    for number, value, s in zip(numbers, values, attrs, strict=True):  # the sheet's rows
        head = f'<c r="{letter}{number}"{s}'
        if value is None:
            out.append(f'{head} t="n"></c>' if s else "")
        elif type(value) is str:
            text = next(texts)
            if not value:
                out.append(f'{head} t="inlineStr"></c>')
            elif value != value.strip():
                out.append(f'{head} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
            else:
                out.append(f'{head} t="inlineStr"><is><t>{text}</t></is></c>')
        elif type(value) is bool:
            out.append(f'{head} t="b"><v>{int(value)}</v></c>')
        else:
            v = "%.16g" % value if math.isfinite(value) else ""  # noqa: UP031  (openpyxl's)
            out.append(f'{head} t="n"><v>{v}</v></c>')
    return out


def _splice(saved: bytes, bodies: list[_Body], path: str | Path) -> None:
    """Write ``path``: the workbook openpyxl saved, each body's rows put into its sheet."""
    by_member = {b.ws.path.lstrip("/"): b for b in bodies}
    with (
        zipfile.ZipFile(io.BytesIO(saved)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as dst,
    ):
        for info in src.infolist():  # the dozen members of a workbook, in openpyxl's order
            data = src.read(info)
            body = by_member.get(info.filename)
            if body is not None:
                xml = data.decode("utf-8")
                start = xml.index("</row>", xml.index("<sheetData>")) + len("</row>")
                end = xml.index("</sheetData>", start)
                data = (xml[:start] + body.xml() + xml[end:]).encode("utf-8")
            dst.writestr(info, data)


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
    bodies = [_sheet(wb, "summary 汇总", s, SUMMARY_SHEET, s["unit"].astype(str).to_numpy())]

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
    bodies.append(_sheet(wb, "violations 问题清单", table, VIOLATIONS_SHEET, units))

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
        _append(ws, list(row))
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
    spliced = [b for b in bodies if b is not None]
    try:
        if spliced:
            saved = io.BytesIO()
            wb.save(saved)
            _splice(saved.getvalue(), spliced, path)
        else:
            wb.save(str(path))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the workbook ({exc})") from exc
