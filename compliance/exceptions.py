"""Justified exceptions (确需…应严格充分论证): approved breaches, reported, never hidden.

The plans allow some breaches after strict review: housing above 18 floors
"确需建设…应严格充分论证" and the like.  An exceptions file lists them, one
row per approved breach, as CSV (UTF-8) or YAML (a list of mappings):

=================  ==========================================================
``rule_id``        the rule's code, e.g. ``BH04``
``feature_id``     the feature's id as in the findings (``*`` for an aggregate)
``reason``         why the breach is justified (论证结论)
``approval_ref``   the approval's reference, e.g. ``鹤自然资规〔2024〕12号``
``layer``          optional: the layer, when ids repeat across layers
=================  ==========================================================

A ``fail`` or ``warn`` finding that matches becomes ``excepted``: it stays in
every output with the reason and reference, and it no longer fails the run.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .notes import Note
from .safeyaml import load_yaml_file
from .textfiles import read_user_text

REQUIRED = ("rule_id", "feature_id", "reason", "approval_ref")
OPTIONAL = ("layer",)


def read_exceptions(path: str | Path) -> pd.DataFrame:
    """Read an exceptions file.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` (UTF-8, or GBK as Excel saves it on Chinese Windows; a header
        row) or ``.yaml`` / ``.yml`` (a list of mappings).

    Returns
    -------
    pandas.DataFrame
        Columns ``rule_id``, ``feature_id``, ``reason``, ``approval_ref``,
        ``layer`` (empty when not given), all text.

    Raises
    ------
    InputError
        The file is missing or unreadable, a required column is missing, a
        column is unknown, or a required value is empty (named with its row).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: exceptions file not found")
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            data = load_yaml_file(p) or []  # limited: a small file cannot exhaust memory
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise InputError(
                    f"{p}: expected a YAML list of mappings with keys {', '.join(REQUIRED)}"
                )
            frame = pd.DataFrame(data)
            first_row = 1
        else:
            if p.stat().st_size == 0:
                raise InputError(
                    f"{p}: the exceptions file is empty; it needs a header line "
                    f"{','.join(REQUIRED)} and one line per exception (or leave out --exceptions)"
                )
            text, _ = read_user_text(p, "the exceptions file")  # UTF-8, or GBK from Excel
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            first_row = 2  # the header is line 1
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"{p}: cannot be read as CSV (UTF-8) or YAML ({' '.join(str(exc).split())})"
        ) from exc
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"{p}: the exceptions file cannot be read ({reason})") from exc
    unknown = sorted(set(frame.columns) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InputError(
            f"{p}: unknown column(s) {', '.join(unknown)}; "
            f"expected {', '.join(REQUIRED + OPTIONAL)}"
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{p}: missing column(s) {', '.join(missing)}")
    cols = list(REQUIRED + OPTIONAL)
    frame = frame.reindex(columns=cols, fill_value="").astype("string").fillna("").astype(str)
    frame = frame.apply(lambda col: col.str.strip())
    empty = (frame[list(REQUIRED)] == "").any(axis=1).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        col = next(c for c in REQUIRED if frame[c].iloc[i] == "")
        where = f"line {i + first_row}" if first_row == 2 else f"entry {i + 1}"
        raise InputError(
            f"{p}: {where}: '{col}' is empty; every exception needs {', '.join(REQUIRED)}"
        )
    return frame


def apply_exceptions(
    findings: pd.DataFrame, exceptions: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Mark the violations an exception covers as ``excepted``.

    Parameters
    ----------
    findings : pandas.DataFrame or geopandas.GeoDataFrame
        Findings from the engine.
    exceptions : pandas.DataFrame
        From :func:`read_exceptions`.

    Returns
    -------
    findings : same type as given
        With matching ``fail``/``warn`` rows set to ``excepted`` and their
        ``exception_reason``, ``exception_ref`` and message filled in.
    notes : list of str
        One note per exception that matched no violation.
    """
    out = findings.copy()
    if exceptions.empty:
        return out, []
    keys = ["rule_id", "feature_id"]
    ex = exceptions.reset_index(drop=True).assign(_ex=lambda d: d.index)
    candidates = out.reset_index()[["index", *keys, "layer", "status"]].merge(ex, on=keys)
    layer_ok = (candidates["layer_y"] == "") | (candidates["layer_y"] == candidates["layer_x"])
    hit = candidates[layer_ok & candidates["status"].isin(["fail", "warn"])]
    hit = hit.drop_duplicates("index")
    rows = hit["index"].to_numpy()
    out.loc[rows, "status"] = "excepted"
    out.loc[rows, "exception_reason"] = hit["reason"].to_numpy()
    out.loc[rows, "exception_ref"] = hit["approval_ref"].to_numpy()
    out.loc[rows, "message"] = (
        out.loc[rows, "message"].to_numpy()
        + "（已按"
        + hit["approval_ref"].to_numpy()
        + "论证批准为例外："
        + hit["reason"].to_numpy()
        + "）"
    )
    out.loc[rows, "message_en"] = (
        out.loc[rows, "message_en"].to_numpy()
        + " Excepted by "
        + hit["approval_ref"].to_numpy()
        + ": "
        + hit["reason"].to_numpy()
        + "."
    )
    unused = ex[~ex["_ex"].isin(hit["_ex"])]
    notes: list[str] = [
        Note(
            f"exception {r.rule_id} {r.feature_id} ({r.approval_ref}) matches no violation",
            f"例外 {r.rule_id} 编号 {r.feature_id}（{r.approval_ref}）未对应任何不符合项",
        )
        for r in unused.itertuples()
    ]
    return out, notes
