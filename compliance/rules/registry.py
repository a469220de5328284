"""The registry: checks (measures bound to limits) and the one table of rule types.

A check takes the scheme, the rule and the rule's validated parameters and
returns an :class:`Evaluation`: one row per feature measured (or per pair,
or one for an aggregate), or the reason the rule cannot be evaluated.  It is
registered under a measure name with the unit its values come in
(:func:`register`).

A rule type (:class:`RuleType`) is declared once, beside its check in the
module of its family (:data:`FAMILY_MODULES`): code, titles, the check, the
layer its findings are about, the comparison, default parameters and its
documentation.  :data:`TYPES` holds them all, by code.  The profiles in
``rules/*.yaml`` carry only what a plan states (limits, years, severity,
scope, the clause, parameter overrides); :mod:`compliance.rules.catalogue`
merges the two into the effective :class:`~compliance.rules.model.Rule`.
The engine never knows a rule by its code.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import RuleFileError
from ..reading.contract import LAYERS
from ..reading.scheme import Scheme
from .model import RULE_CODE, Comparison, Rule
from .units import UNITS

#: Columns every evaluation row carries (plus ``geometry``).
ROW_COLUMNS = (
    "feature_id",  # id of the feature (or "a+b" for a pair, "*" for an aggregate)
    "subject_zh",  # what is measured, in a reviewer's words: 组团「北区」
    "subject_en",  # the same in English: cluster 'North'
    "measured",  # float, in the rule's unit
    "passed",  # bool
    "detail_zh",  # extra facts for the message (may be "")
    "detail_en",
    "method",  # how it was measured, in English
    "method_zh",  # the same in Chinese, for a review opinion
    "estimated",  # bool: the value rests on an estimate, not on data
    "limit",  # float: per-row limit, NaN for the rule's own
    "limit_low",  # float: per-row lower bound of a 'between' rule, NaN for the rule's own
    "doubtful",  # bool: a failure the data cannot establish (reason in the detail): a warning
)


class Params(BaseModel):
    """Base of every check's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Evaluation:
    """What a check returns.

    Attributes
    ----------
    rows : geopandas.GeoDataFrame or None
        One row per measured feature with :data:`ROW_COLUMNS` and a geometry
        in the measuring CRS (the place of the problem).  None when the rule
        could not be evaluated.
    not_evaluated : str or None
        Why the rule could not be evaluated at all (missing layer or field).
    not_evaluated_zh : str or None
        The same reason in Chinese.
    skipped : int
        Features of the layer that were not measured, with ``skip_reason``.
    skip_reason : str
        Why they were not measured, in English, e.g. ``1 not new; 2 without
        height_m or floors`` ("" when none was skipped).
    skip_reason_zh : str
        The same in Chinese, parts joined with "；", e.g.
        ``非新建 1 个；无高度与层数 2 个`` ("" when none was skipped).
    quantity_zh, quantity_en : str or None
        Name of the measured quantity in messages when it is not the rule's
        title, e.g. 至最近计入绿地的最远距离 / farthest distance to counted green.
    note, note_zh : str
        A fact about the whole rule for the summary note (English, Chinese),
        e.g. the coverage rate of all residential land ("" when none).
    criterion_zh, criterion_en : str or None
        For a rule whose plan states no number (:attr:`RuleType.has_limit`
        False): the test the check applies, said as the tool's method, e.g.
        本工具以 500 米内有其他 100 米以上建筑作为相对集中的判定条件.
    """

    rows: gpd.GeoDataFrame | None = None
    not_evaluated: str | None = None
    not_evaluated_zh: str | None = None
    skipped: int = 0
    skip_reason: str = ""
    skip_reason_zh: str = ""
    quantity_zh: str | None = None
    quantity_en: str | None = None
    note: str = ""
    note_zh: str = ""
    criterion_zh: str | None = None
    criterion_en: str | None = None


P = TypeVar("P", bound=Params)
CheckFn = Callable[[Scheme, Rule, Any], Evaluation]


@dataclass(frozen=True)
class RuleProblem:
    """What is wrong with a rule given the checks, and where in the rule entry.

    Attributes
    ----------
    keys : tuple of str or int
        Path of the offending key inside the rule's entry in its profile file,
        e.g. ``("unit",)`` or ``("params", "new_ony")``; the catalogue loader
        turns it into a file and line.
    message : str
        What was expected and what was found, e.g. ``unit 'm' does not fit
        measure plaza_hard_area (expected ha)``.
    """

    keys: tuple[str | int, ...]
    message: str


@dataclass(frozen=True)
class Check:
    """A registered check: its function, its parameter model and its unit.

    Attributes
    ----------
    name : str
        The measure name (``plaza_hard_area``), shown in the docs and findings.
    fn : callable
        ``fn(scheme, rule, params) -> Evaluation``; a check that can save
        work on the features that pass also takes a keyword ``passes``
        (see :meth:`run`).
    params : type of Params
        Pydantic model of the rule's ``params`` (unknown keys are errors).
    unit : str
        The unit the measured values come in, a code of
        :data:`compliance.rules.units.UNITS`.
    """

    name: str
    fn: CheckFn
    params: type[Params]
    unit: str
    takes_passes: bool = False

    def run(self, scheme: Scheme, rule: Rule, *, passes: bool = True) -> Evaluation:
        """Run the check on a scheme with the rule's validated parameters.

        ``passes`` False says that only violations will be reported: a check
        whose function takes a keyword ``passes`` may then leave out what
        only a passing feature's finding would show (its labels and method
        texts; a measured value its verdict does not need), never anything
        of a violation or of the summary.

        Raises
        ------
        RuleFileError
            The rule's unit or parameters do not fit the check.
        """
        params = self.validated_params(rule)
        if self.takes_passes:
            return self.fn(scheme, rule, params, passes=passes)  # type: ignore[call-arg]
        return self.fn(scheme, rule, params)

    def unit_problem(self, rule: Rule) -> RuleProblem | None:
        """The problem with the rule's ``unit`` for this measure, or None when it fits."""
        if rule.unit == self.unit:
            return None
        return RuleProblem(
            ("unit",),
            f"unit '{rule.unit}' does not fit measure {self.name} (expected {self.unit})",
        )

    def params_problem(self, rule: Rule) -> RuleProblem | None:
        """The first problem with the rule's ``params`` for this check, or None."""
        try:
            self.params.model_validate(rule.params)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            return RuleProblem(
                ("params", *loc),
                f"params.{'.'.join(map(str, loc))}: {err['msg']} (measure {self.name})",
            )
        return None

    def validated_params(self, rule: Rule) -> Params:
        """The rule's ``params`` validated against this check's model.

        The rule's ``unit`` is checked too: it must be the one the measure
        produces (:attr:`unit`).

        Raises
        ------
        RuleFileError
            The unit does not fit the measure; a parameter is unknown or has
            the wrong type.  The catalogue loader reports the same problems
            with file and line (:func:`rule_problem`); this is the check for
            rules built in Python.
        """
        problem = self.unit_problem(rule)
        if problem is not None:
            raise RuleFileError(f"rule {rule.code} (measure {self.name}): {problem.message}")
        try:
            return self.params.model_validate(rule.params)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RuleFileError(
                f"rule {rule.code} (measure {self.name}): params."
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
            ) from exc


CHECKS: dict[str, Check] = {}


def _declared_at(depth: int = 2) -> str:
    """``module.py:line`` of the declaration being made (for errors at import)."""
    # one frame, without inspect.stack(), which reads the source of every frame on the
    # stack: called for each rule declared, it cost seconds at import
    frame = sys._getframe(depth)
    path = Path(frame.f_code.co_filename).resolve()
    package = Path(__file__).resolve().parents[2]  # the folder holding compliance/
    where = path.relative_to(package) if path.is_relative_to(package) else path
    return f"{where.as_posix()}:{frame.f_lineno}"


def register(name: str, params: type[P], *, unit: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under a measure name.

    Parameters
    ----------
    name : str
        The measure name (shown in the docs and in ``compliance rules``).
    params : type of Params
        The check's parameter model.
    unit : str
        The unit the measured values come in: a code of
        :data:`compliance.rules.units.UNITS`.

    Raises
    ------
    RuleFileError
        At import: the unit is not in the registry, or the name is taken;
        the message names the module and line of the declaration.
    """
    where = _declared_at()
    if unit not in UNITS:
        raise RuleFileError(
            f"{where}: check {name}: unit '{unit}' is not in compliance.rules.units.UNITS "
            f"(known: {', '.join(UNITS)}); add a UnitSpec there"
        )
    if name in CHECKS:
        raise RuleFileError(f"{where}: check {name} is registered twice")

    def deco(fn: CheckFn) -> CheckFn:
        takes = "passes" in inspect.signature(fn).parameters
        CHECKS[name] = Check(name, fn, params, unit, takes_passes=takes)
        return fn

    return deco


#: Rule families: the code's letters and the module of ``compliance.rules.checks``
#: that declares the family's rules and holds their checks.
FAMILY_MODULES: dict[str, str] = {
    "CL": "structure",  # clusters (组团): area, density, local peaks
    "EC": "structure",  # ecological corridors (生态廊道)
    "RD": "roads",  # red lines (道路红线), road-network density
    "SQ": "open_space",  # plazas (广场)
    "GR": "green",  # green space: service radii, ratios, per capita, greenways
    "PM": "green",  # permeable surface
    "DN": "density",  # county-town density and floor-area ratio
    "BH": "buildings",  # heights and floors
    "EN": "buildings",  # energy: rooftop PV, solar thermal
    "GB": "buildings",  # green buildings (绿色建筑)
    "UR": "buildings",  # urban renewal (城市更新): demolished floor area
    "LC": "life_circle",  # 15-minute life circle (生活圈)
    "CM": "life_circle",  # complete residential communities (完整居住社区)
    "PF": "buildings",  # prefabricated construction (装配式建筑)
    "WL": "resilience",  # waterlogging points (易涝积水点)
}


@dataclass(frozen=True)
class RuleDoc:
    """A rule type's documentation, under the headings every rule has (as ruff does).

    Attributes
    ----------
    what : str
        What it checks, in one or two sentences.
    why : str
        Why the plans ask for it.
    how : str
        How it is measured: formula, data, method parameters.
    references : tuple of str
        National standards and technical documents the measurement follows.
    """

    what: str
    why: str
    how: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleType:
    """One rule type: everything about a code that does not depend on the plan.

    Attributes
    ----------
    code : str
        Family letters and a number (``EC01``), never reused.
    title_zh, title_en : str
        The rule's name; a profile may give its plan's own wording instead.
    check : callable
        The registered check function (:func:`register`) that measures it.
    layer : str
        The contract layer its findings are about.
    comparison : str
        ``<=``, ``<``, ``>=``, ``>`` or ``between``; a profile may state the
        strict or the inclusive form of the same direction (its plan's
        大于 or 不低于), or ``between``.
    params : mapping
        Default parameters of the check (the profile may override keys).
    doc : RuleDoc
        What it checks, why, how it is measured, references.
    declared_at : str
        ``module.py:line`` of the declaration.
    has_limit : bool
        False for a clause that states no number (BH02 相对集中布局): its
        profiles give no ``limit`` and its check judges each feature by its
        method's parameters, which are never shown as a limit.
    """

    code: str
    title_zh: str
    title_en: str
    check: CheckFn
    layer: str
    comparison: Comparison
    doc: RuleDoc
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    declared_at: str = ""
    has_limit: bool = True

    @property
    def measure(self) -> Check:
        """The registered check of this type."""
        return _CHECK_OF[self.check]

    @property
    def unit(self) -> str:
        """The unit of its measured values and limits."""
        return self.measure.unit

    @property
    def family(self) -> str:
        """The family letters of the code (``EC``)."""
        return self.code[:2]


#: The one table of rule types, by code (filled when the checks are imported).
TYPES: dict[str, RuleType] = {}
_CHECK_OF: dict[CheckFn, Check] = {}

#: The comparisons a profile may state for a type's comparison.
COMPATIBLE: dict[str, tuple[str, ...]] = {
    "<=": ("<=", "<", "between"),
    "<": ("<", "<=", "between"),
    ">=": (">=", ">", "between"),
    ">": (">", ">=", "between"),
    "between": ("between", "<=", ">="),
}


def declare(
    code: str,
    *,
    title_zh: str,
    title_en: str,
    check: CheckFn,
    layer: str,
    comparison: Comparison,
    doc: RuleDoc,
    params: Mapping[str, Any] | None = None,
    has_limit: bool = True,
) -> RuleType:
    """Declare a rule type once, in the check module of its family.

    Returns
    -------
    RuleType
        Also entered in :data:`TYPES`.

    Raises
    ------
    RuleFileError
        At import, naming the module and line: a malformed or repeated code,
        a module that is not its family's, an unregistered check, an unknown
        layer, or default parameters the check's model refuses.
    """
    where = _declared_at()
    check_of = {c.fn: c for c in CHECKS.values()}
    _CHECK_OF.update(check_of)
    problem = None
    module = inspect.getmodule(check)
    family_module = FAMILY_MODULES.get(code[:2])
    if not re.match(RULE_CODE, code):
        problem = "a code is two capital letters and two digits, e.g. EC01"
    elif code in TYPES:
        problem = f"declared twice (first at {TYPES[code].declared_at})"
    elif family_module is None:
        problem = f"family {code[:2]} has no module in FAMILY_MODULES; add it there"
    elif module is None or module.__name__.rsplit(".", 1)[-1] != family_module:
        problem = f"declare it in compliance/rules/checks/{family_module}.py, its family's module"
    elif check not in check_of:
        problem = "its check is not registered (decorate it with @register)"
    elif layer not in LAYERS:
        problem = f"layer '{layer}' is not a contract layer ({', '.join(LAYERS)})"
    else:
        try:
            check_of[check].params.model_validate(dict(params or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            problem = f"params.{'.'.join(map(str, err['loc']))}: {err['msg']}"
    if problem is not None:
        raise RuleFileError(f"{where}: rule type {code}: {problem}")
    rule_type = RuleType(
        code,
        title_zh,
        title_en,
        check,
        layer,
        comparison,
        doc,
        MappingProxyType(dict(params or {})),
        where,
        has_limit,
    )
    TYPES[code] = rule_type
    return rule_type


def rule_problem(rule: Rule) -> RuleProblem | None:
    """What is wrong with a rule given the registered checks, or None.

    Checks, in this order, that the rule's ``measure`` names a registered
    check, that its ``unit`` is one the measure produces and that its
    ``params`` validate against the check's model.  The catalogue loader
    calls this for every effective rule and reports the problem with the
    file and line of ``problem.keys`` inside the rule's entry.

    Parameters
    ----------
    rule : Rule
        An effective rule (inheritance and target year resolved).

    Returns
    -------
    RuleProblem or None
    """
    check = CHECKS.get(rule.measure)
    if check is None:
        return RuleProblem(
            ("measure",),
            f"measure '{rule.measure}' is unknown (known: {', '.join(sorted(CHECKS))})",
        )
    return check.unit_problem(rule) or check.params_problem(rule)


def not_evaluated(reason_en: str, reason_zh: str) -> Evaluation:
    """An evaluation saying the rule cannot be evaluated, and why (English, Chinese)."""
    return Evaluation(rows=None, not_evaluated=reason_en, not_evaluated_zh=reason_zh)


def compare(
    rule: Rule,
    measured: pd.Series | np.ndarray,
    limit: float | np.ndarray | None = None,
    limit_low: float | np.ndarray | None = None,
) -> np.ndarray:
    """Vectorised ``measured <comparison> limit``; NaN never passes.

    ``limit`` and ``limit_low`` default to the rule's and may be arrays, one
    per row, for rules whose limit depends on the feature (e.g. GB01).
    """
    values = np.asarray(measured, dtype=float)
    lim = np.asarray(rule.limit if limit is None else limit, dtype=float)
    with np.errstate(invalid="ignore"):
        if rule.comparison == "between":
            low_v = rule.limit_low if limit_low is None else limit_low
            low = np.asarray(-np.inf if low_v is None else low_v, dtype=float)
            out = (values >= low) & (values <= lim)
        elif rule.comparison == "<=":
            out = values <= lim
        elif rule.comparison == ">=":
            out = values >= lim
        elif rule.comparison == "<":
            out = values < lim
        else:
            out = values > lim
    return np.asarray(out & ~np.isnan(values), dtype=bool)


def spread(values: Any, at: np.ndarray, n: int) -> np.ndarray:
    """Texts written for some rows only, placed among ``n`` rows, "" in the others.

    ``at`` gives the rows (positions or a boolean mask of ``n``): the words of
    the findings that are reported, when passing ones are not
    (``evaluate(passes=False)``).
    """
    out = np.full(n, "", dtype=object)
    out[at] = values
    return out


def make_rows(
    gdf_or_geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    feature_id: Any,
    subject_zh: Any,
    subject_en: Any,
    measured: Any,
    passed: Any,
    method: Any,
    method_zh: Any,
    detail_zh: Any = "",
    detail_en: Any = "",
    estimated: Any = False,
    limit: Any = np.nan,
    limit_low: Any = np.nan,
    doubtful: Any = False,
) -> gpd.GeoDataFrame:
    """Assemble evaluation rows; scalars broadcast, arrays align by position.

    Parameters
    ----------
    gdf_or_geoms : geopandas.GeoSeries or geopandas.GeoDataFrame
        The rows' geometries (the place of each problem), measuring CRS.
    feature_id, subject_zh, subject_en, measured, passed
        See :data:`ROW_COLUMNS`; one value, or one per row.
    method : str or array-like of str
        How the value was measured, in English.
    method_zh : str or array-like of str
        The same in Chinese, as a reviewer writes it in a review opinion
        (numbers, field and layer names kept as in ``method``).
    detail_zh, detail_en : str or array-like of str
        Extra facts for the message ("" for none).
    estimated : bool or array-like of bool
        The value rests on an estimate.
    limit, limit_low : float or array-like of float
        Per-row limits for rules whose limit depends on the feature; NaN
        (the default) means the rule's own.
    doubtful : bool or array-like of bool
        A failure the data cannot establish (e.g. near the edge of a study
        extent): reported as a warning, the reason in the detail.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`ROW_COLUMNS` and ``geometry``, one row per geometry.
    """
    geoms = gdf_or_geoms.geometry if isinstance(gdf_or_geoms, gpd.GeoDataFrame) else gdf_or_geoms
    n = len(geoms)

    def col(v: Any) -> Any:
        return v.to_numpy() if isinstance(v, pd.Series | pd.Index) else v

    data = {
        "feature_id": col(feature_id),
        "subject_zh": col(subject_zh),
        "subject_en": col(subject_en),
        "measured": np.asarray(col(measured), dtype=float) if n else np.empty(0),
        "passed": np.asarray(col(passed), dtype=bool) if n else np.empty(0, dtype=bool),
        "detail_zh": col(detail_zh),
        "detail_en": col(detail_en),
        "method": col(method),
        "method_zh": col(method_zh),
        "estimated": col(estimated),
        "limit": np.broadcast_to(np.asarray(col(limit), dtype=float), (n,)),
        "limit_low": np.broadcast_to(np.asarray(col(limit_low), dtype=float), (n,)),
        "doubtful": np.broadcast_to(np.asarray(col(doubtful), dtype=bool), (n,)),
    }
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    return gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=geoms.crs)


def label(gdf: gpd.GeoDataFrame, noun_zh: str, noun_en: str) -> tuple[pd.Series, pd.Series]:
    """Reviewer labels of features: 组团「北区」 / cluster 'North'.

    Without a name, by id: 组团（编号 9） / cluster #9.
    """
    ids = gdf["feature_id"].astype(str)
    by_id_zh = noun_zh + "（编号 " + ids + "）"
    if "name" in gdf.columns:
        names = gdf["name"].astype("string").str.strip()
        has = names.notna() & (names != "")
        zh = pd.Series(np.where(has, noun_zh + "「" + names.fillna("") + "」", by_id_zh))
        en = pd.Series(np.where(has, noun_en + " '" + names.fillna("") + "'", noun_en + " #" + ids))
    else:
        zh, en = by_id_zh, noun_en + " #" + ids
    return pd.Series(zh.to_numpy(), index=gdf.index), pd.Series(en.to_numpy(), index=gdf.index)
