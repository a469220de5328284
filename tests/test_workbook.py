"""``findings.xlsx`` written fast: the rows' XML built column by column is the XML
openpyxl writes for the same cells, member for member of the workbook."""

from __future__ import annotations

import dataclasses
import functools
import math
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from compliance.engine import Result
from compliance.outputs import workbook
from compliance.outputs.provenance import provenance


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        # core.xml holds the time of saving
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _both(result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The workbook written as the tool writes it, and with openpyxl writing every row."""
    prov = provenance(result)
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    workbook.write_workbook(result, fast, provenance=prov)
    with monkeypatch.context() as m:
        m.setattr(workbook, "_sheet", functools.partial(workbook._sheet, every_row=True))
        workbook.write_workbook(result, slow, provenance=prov)
    return fast, slow


def test_rows_written_as_openpyxl_writes_them(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _both(demo_hebi, tmp_path, monkeypatch)
    a, b = _members(fast), _members(slow)
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name], name
    # and the fast path was taken: rows are there, not only the header
    wb = openpyxl.load_workbook(fast)
    assert wb["violations 问题清单"].max_row == 1 + int(
        demo_hebi.findings["status"].isin(["fail", "warn", "excepted"]).sum()
    )


#: Texts that test the escaping: markup, spaces kept, CR, tabs, beyond the BMP, empty.
TRICKY = [
    "a < b && c > d \"quoted\" 'single'",
    "  leading and trailing  ",
    "line\r\nbreak\tand tab",
    "组团「组团2」\u3000全角空格\u3000",
    "emoji \U0001f600 and 𠀀",
    "",
    "plain",
]


def _tricky(result: Result) -> Result:
    f = result.findings.copy()
    bad = np.flatnonzero(f["status"].isin(["fail", "warn"]).to_numpy())
    assert len(bad) >= len(TRICKY)
    for k, text in enumerate(TRICKY):
        f.iloc[bad[k], f.columns.get_loc("message")] = text
        f.iloc[bad[k], f.columns.get_loc("feature_id")] = text
    f.iloc[bad[0], f.columns.get_loc("measured")] = math.inf
    f.iloc[bad[1], f.columns.get_loc("measured")] = math.nan
    f.iloc[bad[2], f.columns.get_loc("exception_reason")] = None
    return dataclasses.replace(result, findings=f)


def test_tricky_values_as_openpyxl_writes_them(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _tricky(demo_hebi)
    fast, slow = _both(result, tmp_path, monkeypatch)
    a, b = _members(fast), _members(slow)
    for name in a:
        assert a[name] == b[name], name
    ws = openpyxl.load_workbook(fast)["violations 问题清单"]
    head = [c.value for c in ws[1]]
    got = [r[head.index("审查意见 message")].value for r in ws.iter_rows(min_row=2)]
    for text in TRICKY:
        # openpyxl reads an empty inline string back as None
        assert (text or None) in got


def test_error_code_text_left_to_openpyxl(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text openpyxl writes otherwise (an error code) sends the sheet its way."""
    f = demo_hebi.findings.copy()
    bad = np.flatnonzero(f["status"].isin(["fail", "warn"]).to_numpy())
    f.iloc[bad[1], f.columns.get_loc("message")] = "#N/A"
    result = dataclasses.replace(demo_hebi, findings=f)
    assert not workbook._plain([["#N/A"]])
    assert workbook._plain([["=", "=1+1", "a", 1.5, None, True, 3]])
    fast, slow = _both(result, tmp_path, monkeypatch)
    a, b = _members(fast), _members(slow)
    for name in a:
        assert a[name] == b[name], name


@pytest.mark.parametrize("error_code_too", [False, True])
def test_a_text_like_a_formula_stays_a_text(
    demo_hebi: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error_code_too: bool
) -> None:
    """A name such as =HYPERLINK(…) is shown, never run: no formula in the workbook.

    Either way the sheet is written (fast, or by openpyxl alone when an error
    code sends it there), both writers give the same members.
    """
    f = demo_hebi.findings.copy()
    bad = np.flatnonzero(f["status"].isin(["fail", "warn"]).to_numpy())
    evil = '=HYPERLINK("http://example.com","x")'
    f.iloc[bad[0], f.columns.get_loc("message")] = evil
    if error_code_too:
        f.iloc[bad[1], f.columns.get_loc("message")] = "#N/A"
    result = dataclasses.replace(demo_hebi, findings=f)
    fast, slow = _both(result, tmp_path, monkeypatch)
    a, b = _members(fast), _members(slow)
    for name in a:
        assert a[name] == b[name], name
    sheets = b"".join(v for k, v in a.items() if k.startswith("xl/worksheets/"))
    assert b"<f>" not in sheets  # no formula anywhere
    ws = openpyxl.load_workbook(fast)["violations 问题清单"]
    head = [c.value for c in ws[1]]
    cells = [r[head.index("审查意见 message")] for r in ws.iter_rows(min_row=2)]
    assert any(c.value == evil and c.data_type == "s" for c in cells)


def test_a_file_name_like_a_formula_stays_a_text_on_the_run_sheet(
    demo_hebi: Result, tmp_path: Path
) -> None:
    """The run sheet names the scheme's file: one called =1+1.gpkg is shown, not computed."""
    scheme = dataclasses.replace(demo_hebi.scheme, source="=1+1.gpkg")
    result = dataclasses.replace(demo_hebi, scheme=scheme)
    path = tmp_path / "w.xlsx"
    workbook.write_workbook(result, path, provenance=provenance(result))
    ws = openpyxl.load_workbook(path)["run 运行信息"]
    cell = next(r[1] for r in ws.iter_rows() if r[1].value == "=1+1.gpkg")
    assert cell.data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert all(b"<f>" not in z.read(n) for n in z.namelist() if "worksheets" in n)
