"""The engine: run every rule of a profile over a scheme, collect findings.

Findings are records (pandera-style: one table, one row per finding), never
exceptions.  Each carries the contract's properties (``rule_id``, ``status``,
``layer``, ``feature_id``, ``measured``, ``limit``, ``unit``, ``message``,
``source``) plus ``method`` (and ``method_zh``, the same in Chinese),
``estimated``, ``severity``, ``title``, ``message_en`` and the clause's
parts, and a geometry in the measuring CRS.  The summary has one row per
rule; its ``note`` says what was skipped or why the rule was not evaluated,
and ``note_zh`` says the same in Chinese.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from .errors import RuleFileError
from .exceptions import apply_exceptions, read_exceptions
from .notes import Note
from .reading.scheme import Scheme, far_from_china_warning, read_scheme
from .rules import checks as _checks  # noqa: F401  (registers the checks)
from .rules.catalogue import Profile, Rule, load_profile
from .rules.checks.common import fmt_fixed
from .rules.documents import document_en, source_document_en
from .rules.registry import CHECKS, Evaluation, spread
from .rules.units import UNITS
from .wording import unit_labels_en

FINDING_COLUMNS = [
    "rule_id",
    "status",
    "layer",
    "feature_id",
    "measured",
    "limit",
    "unit",
    "message",
    "source",
    "method",
    "estimated",
    "severity",
    "title_zh",
    "title_en",
    "message_en",
    "source_seed",
    "source_section",
    "source_quote",
    "limit_low",
    "year",
    "exception_reason",
    "exception_ref",
    "method_zh",
    # appended last: scripts read the columns above by position
    "inherited_from",
]

SUMMARY_COLUMNS = [
    "rule_id",
    "title",
    "status",
    "checked",
    "failed",
    "worst",
    "limit",
    "unit",
    "source",
    # extensions of the contract
    "title_en",
    "severity",
    "year",
    "skipped",
    "note",
    "crs",
    "profile",
    "limit_low",
    "excepted",
    "note_zh",
    "inherited_from",
]

#: Unit labels and decimals, views of the one unit registry (:data:`compliance.rules.units.UNITS`).
UNIT_ZH = {code: u.zh for code, u in UNITS.items()}
UNIT_EN = {code: u.en_plain for code, u in UNITS.items()}
DECIMALS = {code: u.decimals for code, u in UNITS.items()}
#: Findings built at once; longer evaluations are built chunk by chunk.
FINDINGS_CHUNK = 200_000
STATUS_ORDER = {"fail": 4, "warn": 3, "excepted": 2, "pass": 1, "not_evaluated": 0}


def fmt(value: float, unit: str) -> str:
    """A measured value as printed in messages, to the unit's precision."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:,.{UNITS[unit].decimals}f}"


def fmt_values(values: np.ndarray, unit: str) -> np.ndarray:
    """:func:`fmt` over an array, vectorised: text per value, ``—`` for NaN."""
    v = np.asarray(values, dtype=float)
    text = fmt_fixed(v, UNITS[unit].decimals)
    text[np.isnan(v)] = "—"
    return text


#: CJK characters and punctuation (the ideographic space U+3000 excepted) for :func:`paste_quote`.
_CJK = "\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_EXTRACTION_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \t\u00a0\u3000]+(?=[{_CJK}0-9])|(?<=[0-9])[ \t\u00a0\u3000]+(?=[{_CJK}])"
)


def paste_quote(quote: str) -> str:
    """A clause as a reviewer pastes it: the spaces PDF extraction left in it removed.

    The seeds are text extracted from the plans' PDFs, with stray spaces
    (``2030年星 级…全 部达到``, ``不少于 100米``).  This removes spaces (and
    tabs, no-break and ideographic spaces) between two CJK characters and
    between a CJK character and a digit, either way round; it changes no
    other character.  A row of a table (its cells tab-separated in the
    seed: ``新建建筑中星级绿色建筑占比\t1\t30%\t预期性``) is shown with its
    cells separated by ``｜``.  ``source_quote`` keeps the seed verbatim.
    """
    if "\t" in quote.strip():
        cells = [c.strip() for c in quote.strip().split("\t")]
        return "｜".join(_EXTRACTION_SPACE.sub("", c) for c in cells if c)
    return _EXTRACTION_SPACE.sub("", quote)


def source_text(rule: Rule) -> str:
    """The clause as one line: document, section, quote verbatim, seed file, what it restates."""
    s = rule.source
    basis = f"；系对{s.basis}的转述" if s.basis else ""
    return f"{s.document} {s.section}：“{s.quote}”（{s.seed}{basis}）"


def _reference_zh(rule: Rule) -> str:
    s = rule.source
    quote = paste_quote(s.quote)
    if s.basis:
        return f"{s.basis}（引自{s.document}{s.section}对该文件的转述：“{quote}”）"
    return f"{s.document}{s.section}：“{quote}”"


def citation_zh(rule: Rule, profile: Profile | None = None) -> str:
    """How a message cites the clause, in Chinese.

    A rule that rests on a higher document (``basis``) cites that document
    and says which plan's sentence restates it.  A rule the chosen
    ``profile``'s plan does not state (:meth:`Profile.inherited_from`) says
    so: 《焦作市…方案》未规定此项，参照…
    """
    if profile is not None and profile.inherited_from(rule):
        return f"{profile.document}未规定此项，参照{_reference_zh(rule)}。"
    return f"依据{_reference_zh(rule)}。"


def citation_en(rule: Rule, profile: Profile | None = None) -> str:
    """How an English message cites the clause: documents by title and number, never a file."""
    s = rule.source
    quote = paste_quote(s.quote)
    doc = source_document_en(s)
    if s.basis:
        ref = f"{document_en(s.basis)}, as restated in {doc}, section {s.section}: “{quote}”"
    else:
        ref = f"{doc}, section {s.section}: “{quote}”"
    if profile is not None and profile.inherited_from(rule):
        return f"{profile.plan_en} does not state this rule; applied from {ref}."
    return f"Clause: {ref}."


def clause_zh(rule: Rule, profile: Profile | None = None) -> str:
    """The clause as a heading shows it: document, section, the sentence to paste."""
    s = rule.source
    text = f"{s.document}{s.section}：“{paste_quote(s.quote)}”"
    if s.basis:
        text += f"（系对{s.basis}的转述）"
    if profile is not None and profile.inherited_from(rule):
        text = f"{profile.document}未规定此项，参照{text}"
    return text


def clause_en(rule: Rule, profile: Profile | None = None) -> str:
    """The clause as an English heading shows it (documents by title and number)."""
    return citation_en(rule, profile).removeprefix("Clause: ").rstrip(".")


#: What ``inherited`` may be: inherited rules warn (default), fail as their
#: severity says, or are left out.
INHERITED_MODES = ("warn", "fail", "skip")


@dataclass
class Result:
    """Findings and summary of one check run.

    Attributes
    ----------
    findings : geopandas.GeoDataFrame
        One row per finding (every feature measured, pass included, and one
        ``not_evaluated`` row per rule that could not be evaluated), columns
        :data:`FINDING_COLUMNS`, geometries in the measuring CRS.
    summary : pandas.DataFrame
        One row per rule, columns :data:`SUMMARY_COLUMNS`.
    profile : Profile
    scheme : Scheme
    """

    findings: gpd.GeoDataFrame
    summary: pd.DataFrame
    profile: Profile
    scheme: Scheme
    notes: list[str] = field(default_factory=list)

    @property
    def crs(self) -> CRS:
        """The measuring CRS."""
        return self.scheme.crs

    @property
    def violations(self) -> gpd.GeoDataFrame:
        """Findings with status ``fail`` or ``warn``."""
        return self.findings[self.findings["status"].isin(["fail", "warn"])]

    @property
    def exit_code(self) -> int:
        """0 when no rule failed, 1 when any did (warnings and exceptions do not)."""
        return int((self.summary["status"] == "fail").any())


def difference_units(unit: str) -> tuple[str, str]:
    """Labels of a difference between two values of ``unit`` (Chinese, English).

    A difference of percentages is in percentage points: 相差 49.0 个百分点.
    """
    if unit == "%":
        return " 个百分点", " percentage points"
    return UNITS[unit].zh, UNITS[unit].en_plain


def _verdict(
    rule: Rule, measured: np.ndarray, limit: np.ndarray, low: np.ndarray, passed: np.ndarray
) -> pd.DataFrame:
    """The comparison in words, per row (limits may differ per row)."""
    u_zh, u_en = UNITS[rule.unit].zh, UNITS[rule.unit].en_plain
    d_zh, d_en = difference_units(rule.unit)

    def text(values: np.ndarray) -> np.ndarray:
        return fmt_values(values, rule.unit)

    lim = text(limit)
    over = text(measured - limit)
    u_en_at = unit_labels_en(lim, u_en)  # 1 point, 2 points
    above_zh = "超过上限 " + lim + u_zh + "，超出 " + over + d_zh
    above_en = "above the limit of " + lim + u_en_at + " by " + over + unit_labels_en(over, d_en)
    fail_zh: Any
    fail_en: Any
    ok_zh: Any
    ok_en: Any

    if not rule.has_limit:  # the plan states no number: the check's method judges
        fail_zh, fail_en = "不满足判定条件", "does not meet the test"
        ok_zh, ok_en = "满足判定条件", "meets the test"
    elif rule.comparison == "between":  # a lower bound: only a range has one
        lo, under = text(low), text(low - measured)
        below_zh = "低于下限 " + lo + u_zh + "，相差 " + under + d_zh
        below_en = (
            "below the minimum of " + lo + u_en + " by " + under + unit_labels_en(under, d_en)
        )
        is_below = measured < low
        fail_zh = np.where(is_below, below_zh, above_zh)
        fail_en = np.where(is_below, below_en, above_en)
        ok_zh = "符合 " + lo + "–" + lim + u_zh + "的要求"
        ok_en = "within the range " + lo + "–" + lim + u_en_at
    elif rule.comparison in ("<=", "<") and rule.limit == 0:  # 全面消除: none may remain
        fail_zh, fail_en = "不符合应为 0 的要求", "there should be none"
        ok_zh, ok_en = "符合应为 0 的要求", "none, as required"
    elif rule.comparison in ("<=", "<"):
        fail_zh, fail_en = above_zh, above_en
        ok_zh = "符合不超过 " + lim + u_zh + "的要求"
        ok_en = "within the limit of " + lim + u_en_at
    else:
        gap = text(limit - measured)
        fail_zh = "低于下限 " + lim + u_zh + "，相差 " + gap + d_zh
        fail_en = "below the minimum of " + lim + u_en_at + " by " + gap + unit_labels_en(gap, d_en)
        ok_zh = "符合不少于 " + lim + u_zh + "的要求"
        ok_en = "meets the minimum of " + lim + u_en_at
    strict = rule.comparison == ">" or (rule.comparison == "<" and rule.limit != 0)
    if rule.has_limit and strict:  # 低于 / 超过: the limit itself falls short
        word_zh, word_en = ("低于", "below") if rule.comparison == "<" else ("超过", "above")
        at = measured == limit
        fail_zh = np.where(at, "等于 " + lim + u_zh + "，未达到" + word_zh + "该值的要求", fail_zh)
        fail_en = np.where(
            at, "equal to " + lim + u_en_at + ", not " + word_en + " it as required", fail_en
        )
        ok_zh = "符合" + word_zh + " " + lim + u_zh + "的要求"
        ok_en = word_en + " " + lim + u_en_at + ", as required"
    # passed by the check's method although the value is beyond the limit (GR01: a sliver
    # under the share the method tolerates); the detail says why
    with np.errstate(invalid="ignore"):
        if rule.comparison in ("<=", "<"):
            past = measured > limit
        elif rule.comparison in (">=", ">"):
            past = measured < limit
        else:
            past = np.zeros(len(measured), dtype=bool)
    ok_zh = np.where(past, "超出部分未达本条判定比例，视为符合", ok_zh)
    ok_en = np.where(past, "beyond the limit only on a part below the method's threshold", ok_en)
    nan = np.isnan(measured)
    fail_zh = np.where(nan, "无法量测，视为不符合", fail_zh)
    fail_en = np.where(nan, "cannot be measured, treated as not met", fail_en)
    return pd.DataFrame(
        {"zh": np.where(passed, ok_zh, fail_zh), "en": np.where(passed, ok_en, fail_en)}
    )


def _findings_for(
    rule: Rule,
    ev: Evaluation,
    crs: CRS,
    profile: Profile | None = None,
    inherited: str = "warn",
    passes: bool = True,
) -> gpd.GeoDataFrame:
    """The findings of one rule's evaluation, with messages in Chinese and English.

    ``profile`` is the chosen profile: a rule its plan does not state is
    labelled ``inherited_from`` and cited as such, and with ``inherited``
    ``warn`` (the default) its violations warn instead of failing.  With
    ``passes`` False the messages of passing findings are left empty (only
    violations are reported; their messages are the same either way).
    """
    s = rule.source
    src = source_text(rule)
    inherited_from = profile.inherited_from(rule) if profile is not None else ""
    demoted = bool(inherited_from) and inherited == "warn" and rule.severity == "fail"
    severity = "warn" if demoted else rule.severity
    cite_zh, cite_en = citation_zh(rule, profile), citation_en(rule, profile)
    common = {
        "rule_id": rule.code,
        "layer": rule.layer,
        "limit": rule.limit,
        "limit_low": np.nan if rule.limit_low is None else rule.limit_low,
        "year": rule.year,
        "exception_reason": "",
        "exception_ref": "",
        "unit": rule.unit,
        "source": src,
        "severity": severity,
        "title_zh": rule.title_zh,
        "title_en": rule.title_en,
        "source_seed": s.seed,
        "source_section": s.section,
        "source_quote": s.quote,
        "inherited_from": inherited_from,
    }
    if ev.rows is None:
        reason_zh = ev.not_evaluated_zh or ev.not_evaluated or ""
        row = {
            **common,
            "status": "not_evaluated",
            "feature_id": "",
            "measured": np.nan,
            "message": f"{rule.title_zh}（{rule.code}）未评估：{reason_zh}。{cite_zh}",
            "message_en": f"{rule.title_en} ({rule.code}) not evaluated: {ev.not_evaluated}. "
            + cite_en,
            "method": "",
            "method_zh": "",
            "estimated": False,
        }
        return gpd.GeoDataFrame([row], columns=FINDING_COLUMNS, geometry=[None], crs=crs)
    rows = ev.rows
    if rows.empty:
        return gpd.GeoDataFrame(
            columns=[*FINDING_COLUMNS, "geometry"], geometry="geometry", crs=crs
        )
    if len(rows) > FINDINGS_CHUNK:
        # Messages are built a chunk of rows at a time: the text being assembled
        # stays small however many features a rule measured.
        parts = [
            _findings_for(
                rule,
                replace(ev, rows=rows.iloc[start : start + FINDINGS_CHUNK]),
                crs,
                profile,
                inherited,
                passes,
            )
            for start in range(0, len(rows), FINDINGS_CHUNK)  # chunks of rows
        ]
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    measured = rows["measured"].to_numpy(dtype=float)
    passed = rows["passed"].to_numpy(dtype=bool)
    limit = rows["limit"].fillna(rule.limit).to_numpy(dtype=float)
    rule_low = np.nan if rule.limit_low is None else rule.limit_low
    low = rows["limit_low"].fillna(rule_low).to_numpy(dtype=float)
    estimated = rows["estimated"].astype(bool).to_numpy()
    # A value that rests on an estimate cannot establish a violation: it warns.
    doubtful = (
        rows["doubtful"].astype(bool).to_numpy()
        if "doubtful" in rows.columns
        else estimated & False
    )
    status = np.where(passed, "pass", np.where(estimated | doubtful, "warn", severity))
    # the rows whose messages are written: every row, or only the violations
    said = np.arange(len(rows)) if passes else np.flatnonzero(~passed)
    message, message_en = _messages(
        rule,
        ev,
        rows.iloc[said],
        measured[said],
        limit[said],
        low[said],
        estimated[said],
        severity=severity,
        demoted=demoted,
        cite=(cite_zh, cite_en),
    )
    if len(said) < len(rows):
        message, message_en = spread(message, said, len(rows)), spread(message_en, said, len(rows))
    out = gpd.GeoDataFrame(
        {
            **common,
            "status": status,
            "feature_id": rows["feature_id"].astype(str).to_numpy(),
            "measured": measured,
            "limit": limit,
            "limit_low": low,
            "message": message,
            "message_en": message_en,
            "method": rows["method"].astype(str).to_numpy(),
            "method_zh": rows["method_zh"].astype(str).to_numpy(),
            "estimated": estimated,
        },
        geometry=rows.geometry.to_numpy(),
        crs=crs,
    )
    return out[[*FINDING_COLUMNS, "geometry"]]


def _messages(
    rule: Rule,
    ev: Evaluation,
    rows: pd.DataFrame,
    measured: np.ndarray,
    limit: np.ndarray,
    low: np.ndarray,
    estimated: np.ndarray,
    *,
    severity: str,
    demoted: bool,
    cite: tuple[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """The Chinese and English message of each row of a rule's evaluation.

    ``measured``, ``limit``, ``low`` and ``estimated`` are the rows' values as
    :func:`_findings_for` read them, aligned with ``rows``.
    """
    cite_zh, cite_en = cite
    passed = rows["passed"].to_numpy(dtype=bool)
    verdict = _verdict(rule, measured, limit, low, passed)
    value = fmt_values(measured, rule.unit)
    u_zh, u_en = UNITS[rule.unit].zh, UNITS[rule.unit].en_plain
    detail_zh = rows["detail_zh"].astype(str).to_numpy()
    detail_en = rows["detail_en"].astype(str).to_numpy()
    if ev.criterion_zh:
        detail_zh = np.where(detail_zh != "", ev.criterion_zh + "；" + detail_zh, ev.criterion_zh)
    if ev.criterion_en:
        detail_en = np.where(detail_en != "", ev.criterion_en + "; " + detail_en, ev.criterion_en)
    paren_zh = np.where(detail_zh != "", "（" + detail_zh + "）", "")
    paren_en = np.where(detail_en != "", " (" + detail_en + ")", "")
    hedge_zh = f"；该条为“{rule.wording}”要求，列为提示" if rule.wording else ""
    hedge_en = f"; the plan says “{rule.wording}”, so this is a warning" if rule.wording else ""
    if demoted:
        hedge_zh += "；列为提示"
        hedge_en += "; reported as a warning"
    failing = ~passed
    est_zh = np.where(
        failing & estimated & (severity == "fail"), "；该值为估算值，列为提示，需核实", ""
    )
    est_en = np.where(
        failing & estimated & (severity == "fail"),
        "; the value is an estimate, so this is a warning to verify",
        "",
    )
    quantity_zh = ev.quantity_zh or rule.title_zh
    quantity_en = ev.quantity_en or rule.title_en.lower()
    message = (
        rows["subject_zh"].astype(str).to_numpy()
        + "的"
        + quantity_zh
        + "为 "
        + value
        + u_zh
        + "，"
        + verdict["zh"].to_numpy()
        + paren_zh
        + np.where(failing, hedge_zh, "")
        + est_zh
        + "。"
        + cite_zh
    )
    message_en = (
        rows["subject_en"].astype(str).to_numpy()
        + ": "
        + quantity_en
        + " is "
        + value
        + unit_labels_en(value, u_en)
        + ", "
        + verdict["en"].to_numpy()
        + paren_en
        + np.where(failing, hedge_en, "")
        + est_en
        + ". "
        + cite_en
    )
    return np.asarray(message, dtype=object), np.asarray(message_en, dtype=object)


def _worst(rule: Rule, f: gpd.GeoDataFrame) -> float:
    """The measured value farthest beyond the limit (or nearest to it when none is)."""
    m = f["measured"].to_numpy(dtype=float)
    ok = ~np.isnan(m)
    if not ok.any():
        return float("nan")
    m, limit, low = m[ok], f["limit"].to_numpy(dtype=float)[ok], f["limit_low"].to_numpy(float)[ok]
    if np.isnan(limit).all():  # a rule without a number: the largest value
        beyond = m if rule.comparison in ("<=", "<") else -m
    elif rule.comparison == "between":
        beyond = np.maximum(low - m, m - limit)
    elif rule.comparison in ("<=", "<"):
        beyond = m - limit
    else:
        beyond = limit - m
    return float(m[int(np.argmax(beyond))])


def _summary_row(
    rule: Rule,
    ev: Evaluation,
    f: gpd.GeoDataFrame,
    profile: Profile,
    crs_label: str,
    inherited: str = "warn",
) -> dict[str, object]:
    bad = f["status"].isin(["fail", "warn"])
    worst = _worst(rule, f)
    if ev.rows is None:
        status, note = "not_evaluated", ev.not_evaluated or ""
        note_zh = ev.not_evaluated_zh or note
    else:
        rank = f["status"].map(STATUS_ORDER).fillna(0).to_numpy(dtype=int)
        status = str(f["status"].iloc[int(rank.argmax())]) if len(f) else "pass"
        note = f"{ev.skipped} skipped: {ev.skip_reason}" if ev.skipped else ""
        reason_zh = ev.skip_reason_zh or ev.skip_reason
        note_zh = f"未检查 {ev.skipped:,} 项：{reason_zh}" if ev.skipped else ""
        if ev.note:
            note = (note + "; " if note else "") + ev.note
            note_zh = (note_zh + "；" if note_zh else "") + (ev.note_zh or ev.note)
        if len(f) == 0:
            note = (note + "; " if note else "") + "nothing in scope to check"
            note_zh = (note_zh + "；" if note_zh else "") + "范围内没有需要检查的对象"
    return {
        "rule_id": rule.code,
        "title": rule.title_zh,
        "status": status,
        "checked": 0 if ev.rows is None else len(f),
        "failed": int(bad.sum()),
        "worst": worst,
        "limit": rule.limit,
        "limit_low": rule.limit_low,
        "excepted": int((f["status"] == "excepted").sum()),
        "unit": rule.unit,
        "source": source_text(rule),
        "title_en": rule.title_en,
        "severity": "warn"
        if profile.inherited_from(rule) and inherited == "warn"
        else rule.severity,
        "year": rule.year,
        "skipped": ev.skipped,
        "note": note,
        "note_zh": note_zh,
        "crs": crs_label,
        "profile": profile.name,
        "inherited_from": profile.inherited_from(rule),
    }


#: Threads :func:`evaluate` runs rules on by default (at most; never more than the cores).
MAX_THREADS = 4

#: Below this many features (all layers together) :func:`evaluate` runs the rules
#: on one thread by default: on a designer's scheme each rule takes milliseconds,
#: and handing the GIL between threads costs more than the GEOS work they share.
#: Measured on 2 cores (hebi, 23 rules): 1,900 features 0.19 s on one thread,
#: 0.25-0.33 s on two; 14,000 about even; 144,000 features 1.8 s against 1.2 s.
SMALL_SCHEME_FEATURES = 10_000


def default_threads(scheme: Scheme | None = None) -> int:
    """Threads for :func:`evaluate`: the cores of this process, at most :data:`MAX_THREADS`.

    One for a ``scheme`` of fewer than :data:`SMALL_SCHEME_FEATURES` features.
    """
    if scheme is not None and sum(map(len, scheme.layers.values())) < SMALL_SCHEME_FEATURES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


#: What a county-town rule (``applies_to: county``) reports on a city's scheme.
NOT_A_COUNTY_TOWN = Evaluation(
    not_evaluated="not applicable: the clause is about county towns (县城) and the scheme's "
    "'boundary' says it is a city (kind = city)",
    not_evaluated_zh="不适用：该条针对县城，而方案规划范围图层 boundary 的 kind 为 city（城市）",
)


def is_city(scheme: Scheme) -> bool:
    """Whether the scheme says it is a city, not a county town (县城).

    True when the ``boundary`` layer has a ``kind`` and every value given is
    ``city`` (Chinese values such as 市 / 城市 are read as ``city``); False
    without a boundary, without kinds, or with any other kind (``county``,
    a mix, ``extent`` for an OpenStreetMap study area).  County-town rules
    apply unless it is True.
    """
    boundary = scheme.layer("boundary")
    if boundary is None or "kind" not in boundary.columns:
        return False
    kinds = boundary["kind"].dropna().astype(str).str.strip().str.lower()
    kinds = kinds[kinds != ""]
    return bool(len(kinds)) and bool((kinds == "city").all())


def is_county(scheme: Scheme) -> bool:
    """Whether the scheme says it is a county town: every ``boundary.kind`` given is ``county``."""
    boundary = scheme.layer("boundary")
    if boundary is None or "kind" not in boundary.columns:
        return False
    kinds = boundary["kind"].dropna().astype(str).str.strip().str.lower()
    kinds = kinds[kinds != ""]
    return bool(len(kinds)) and bool((kinds == "county").all())


#: Summary note of a county-town rule run on a study area of unknown status.
ASSUMED_COUNTY = (
    "applied by assumption: the boundary does not say whether the study area is a city or a "
    "county town (kind city / county)",
    "按县城假定适用：规划范围图层 boundary 未说明研究范围为城市还是县城"
    "（kind 字段为 city 或 county）",
)


def _run_rule(scheme: Scheme, rule: Rule, passes: bool = True) -> Evaluation:
    check = CHECKS.get(rule.measure)
    if check is None:
        raise RuleFileError(
            f"rule {rule.code}: measure '{rule.measure}' is unknown "
            f"(known: {', '.join(sorted(CHECKS))})"
        )
    return check.run(scheme, rule, passes=passes)


def evaluate(
    scheme: Scheme,
    profile: Profile,
    *,
    exceptions: pd.DataFrame | None = None,
    threads: int | None = None,
    inherited: str = "warn",
    passes: bool = True,
) -> Result:
    """Run every rule of a profile over a scheme.

    Rules are independent, and the geometry work of each runs in GEOS with
    Python's GIL released, so the rules run on several threads at once; the
    findings and the summary come back in the profile's order whatever the
    order they finish in.

    Parameters
    ----------
    scheme : Scheme
        Layers in a projected metric CRS (from :func:`compliance.read_scheme`).
    profile : Profile
        Effective rules (from :func:`compliance.load_profile`).
    exceptions : pandas.DataFrame, optional
        Approved breaches (:func:`compliance.exceptions.read_exceptions`):
        matching violations become ``excepted``.
    threads : int, optional
        Threads to run rules on; default :func:`default_threads` (one for a
        small scheme, where threads cost more than they save).  1 runs
        them one after the other (as a worker process of a batch does).
    inherited : {"warn", "fail", "skip"}
        Rules the profile's plan does not state (inherited from its parent,
        ``inherited_from``): ``warn`` (default) reports their violations as
        warnings, ``fail`` as their severity says, ``skip`` leaves them out.
    passes : bool
        Build the messages of passing findings too (default).  False leaves
        them empty, which saves most of the time of rules that measure many
        features and find few violations, when only violations are reported
        (``compliance check`` without ``--include-passes``); statuses,
        counts, summaries and the violations' messages and values are the
        same.  A check may also leave out what only a passing finding would
        show: its labels and method texts, and a costly measured value its
        verdict does not need (GR01/GR02's farthest distance of a parcel
        wholly within the radius is then NaN; the summary's ``worst`` is
        the same).

    Returns
    -------
    Result

    Raises
    ------
    RuleFileError
        A rule names a measure no check provides, or has invalid parameters.
    InputError
        A raster a rule needs cannot be read or does not overlap the scheme.
    """
    if inherited not in INHERITED_MODES:
        raise ValueError(
            f"inherited must be one of {', '.join(INHERITED_MODES)}, not {inherited!r}"
        )
    ex = exceptions if exceptions is not None else pd.DataFrame(columns=["rule_id"])
    rules = list(profile.rules.values())
    left_out = [r.code for r in rules if inherited == "skip" and profile.inherited_from(r)]
    rules = [r for r in rules if r.code not in left_out]
    for rule in rules:  # a handful of rules: unknown measures fail before any work
        if rule.measure not in CHECKS:
            _run_rule(scheme, rule)

    city = is_city(scheme)
    assumed = not city and not is_county(scheme)

    def one(rule: Rule) -> tuple[gpd.GeoDataFrame, dict[str, object], list[str]]:
        if city and rule.applies_to == "county":
            ev = NOT_A_COUNTY_TOWN
        else:
            ev = _run_rule(scheme, rule, passes)
        f = _findings_for(rule, ev, scheme.crs, profile, inherited, passes)
        f, unused = apply_exceptions(f, ex[ex["rule_id"] == rule.code])
        row = _summary_row(rule, ev, f, profile, scheme.crs_label, inherited)
        if assumed and rule.applies_to == "county":
            for key, text in zip(("note", "note_zh"), ASSUMED_COUNTY, strict=True):
                row[key] = f"{row[key]}{'；' if key == 'note_zh' else '; '}{text}".lstrip("; ；")
        return f, row, unused

    n_threads = default_threads(scheme) if threads is None else max(1, int(threads))
    if n_threads == 1 or len(rules) < 2:
        done = [one(rule) for rule in rules]
    else:
        with ThreadPoolExecutor(max_workers=min(n_threads, len(rules))) as pool:
            done = list(pool.map(one, rules))  # in the profile's order, however they finish
    frames = [f for f, _, _ in done]
    rows = [row for _, row, _ in done]
    notes = list(scheme.notes) + [note for _, _, unused in done for note in unused]
    county_rules = [r.code for r in rules if r.applies_to == "county"]
    if assumed and county_rules:
        notes.append(
            Note(
                f"county-town rules ({', '.join(county_rules)}) {ASSUMED_COUNTY[0]}",
                f"县城规则（{'、'.join(county_rules)}）{ASSUMED_COUNTY[1]}",
            )
        )
    if left_out:
        notes.append(
            Note(
                f"rules not stated in {profile.name}'s plan left out (inherited skip): "
                + ", ".join(left_out),
                f"{profile.document or profile.name}未规定、参照上级规则集的规则未检查"
                f"（--inherited skip）：{'、'.join(left_out)}",
            )
        )
    notes.extend(
        Note(
            f"exception for rule {code} ignored: the profile '{profile.name}' has no such rule",
            f"规则 {code} 的例外未采用：规则集 {profile.name} 无此规则",
        )
        for code in sorted(set(ex["rule_id"]) - set(profile.rules))
    )
    findings = gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=scheme.crs
    )
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return Result(findings=findings, summary=summary, profile=profile, scheme=scheme, notes=notes)


def check(
    scheme: str | Path | Scheme,
    profile: str | Profile = "national",
    *,
    year: int | None = None,
    crs: str | int | CRS | None = None,
    rasters: dict[str, str | Path] | None = None,
    exceptions: str | Path | pd.DataFrame | None = None,
    rules_dir: Path | None = None,
    field_map: str | Path | None = None,
    threads: int | None = None,
    source_crs: str | None = None,
    inherited: str = "warn",
    passes: bool = True,
) -> Result:
    """Check a scheme against a profile's rules.

    Parameters
    ----------
    scheme : str, pathlib.Path or Scheme
        A GeoPackage or folder of layers (see :func:`compliance.read_scheme`),
        or a scheme already read.
    profile : str or Profile
        Profile name (``national``, ``xinjiang``, ``alxa``, ``hebi``,
        ``jiaozuo``, ``bayannur``) or a loaded profile.
    year : int, optional
        Target year for rules with limits per year (2023, 2025, 2030);
        default: the nearest target year not yet passed.
    crs : optional
        Measuring CRS instead of the one chosen for the data (projected, metres).
    rasters : dict, optional
        Raster inputs by role (``population``, ``impervious``, ``landcover``),
        in addition to those found in a scheme folder.
    exceptions : str, pathlib.Path or pandas.DataFrame, optional
        Exceptions file (or its table) of approved breaches.
    rules_dir : pathlib.Path, optional
        Catalogue folder instead of the shipped one.
    field_map : str or pathlib.Path, optional
        YAML mapping of the scheme's layer and field names onto the contract's.
    threads : int, optional
        Threads to run the rules on (:func:`evaluate`); default: the cores, at most 4.
    source_crs : str, optional
        CRS of input layers that carry none (a DXF drawing), see
        :func:`compliance.read_scheme`.
    inherited : {"warn", "fail", "skip"}
        How rules the plan does not state (inherited from ``national``) are
        reported: as warnings (default), failing as their severity says, or
        left out (:func:`evaluate`).
    passes : bool
        Build the messages of passing findings too (:func:`evaluate`).

    Returns
    -------
    Result
        ``result.findings`` is a GeoDataFrame in the measuring CRS.

    Raises
    ------
    InputError
        The scheme, a raster or the exceptions file cannot be read or used.
    RuleFileError
        The profile is unknown or its rule files are invalid.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile, rules_dir, year=year)
    ex = read_exceptions(exceptions) if isinstance(exceptions, str | Path) else exceptions
    if isinstance(scheme, Scheme):
        sch = scheme
    else:
        sch = read_scheme(
            scheme, crs=crs, rasters=rasters, field_map=field_map, source_crs=source_crs
        )
        far = far_from_china_warning(sch)  # every profile is a Chinese plan's
        if far is not None:
            sch.warnings.append(far)
    return evaluate(sch, prof, exceptions=ex, threads=threads, inherited=inherited, passes=passes)
