"""Registry binding measure names in the rule files to check functions.

A check takes the scheme, the rule and the rule's validated parameters and
returns an :class:`Evaluation`: one row per feature measured (or per pair,
or one for an aggregate), or the reason the rule cannot be evaluated.  The
engine never knows a rule by its code; rule files name a ``measure``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import RuleFileError
from ..reading.scheme import Scheme
from .catalogue import Rule

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
    """

    rows: gpd.GeoDataFrame | None = None
    not_evaluated: str | None = None
    not_evaluated_zh: str | None = None
    skipped: int = 0
    skip_reason: str = ""
    skip_reason_zh: str = ""
    quantity_zh: str | None = None
    quantity_en: str | None = None


P = TypeVar("P", bound=Params)
CheckFn = Callable[[Scheme, Rule, Any], Evaluation]

#: The unit each measure produces, by measure name: a rule binding a measure
#: must state its limit in one of these (the checks do not convert units).
#: A check may also declare its units when it registers (``register(...,
#: units=...)``); this table is the declaration for the checks registered
#: without one.
MEASURE_UNITS: dict[str, tuple[str, ...]] = {
    # structure: clusters, corridors
    "cluster_area": ("km2",),
    "cluster_density": ("persons/km2",),
    "corridor_width": ("m",),
    "corridor_continuity": ("m",),
    # roads, open space
    "red_line_width": ("m",),
    "road_density": ("km/km2",),
    "plaza_hard_area": ("ha",),
    # green
    "service_radius": ("m",),
    "service_coverage": ("%",),
    "green_ratio": ("%",),
    "permeable_share": ("%",),
    "park_per_capita": ("m2/person",),
    "greenway_per_capita": ("km/10k persons",),
    # density
    "local_density": ("persons/km2",),
    "population_density": ("persons/km2",),
    "floor_area_ratio": ("ratio",),
    # buildings and energy
    "building_height": ("m",),
    "tall_building_clustering": ("m",),
    "building_floors": ("floors",),
    "low_rise_share": ("%",),
    "demolition_share": ("%",),
    "pv_coverage": ("%",),
    "solar_thermal": ("%",),
    "green_star": ("stars",),
    # life circle
    "life_circle": ("m",),
}


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
    """A registered check: its function, its parameter model and its units.

    Attributes
    ----------
    name : str
        The measure name rule files use (``measure: plaza_hard_area``).
    fn : callable
        ``fn(scheme, rule, params) -> Evaluation``.
    params : type of Params
        Pydantic model of the rule's ``params`` (unknown keys are errors).
    units : tuple of str
        Units the measure produces; a rule must state its limit in one of
        them.  Empty when undeclared (then any unit is accepted).
    """

    name: str
    fn: CheckFn
    params: type[Params]
    units: tuple[str, ...] = ()

    def unit_problem(self, rule: Rule) -> RuleProblem | None:
        """The problem with the rule's ``unit`` for this measure, or None when it fits."""
        if not self.units or rule.unit in self.units:
            return None
        return RuleProblem(
            ("unit",),
            f"unit '{rule.unit}' does not fit measure {self.name} "
            f"(expected {' or '.join(self.units)})",
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

        The rule's ``unit`` is checked too: it must be one the measure
        produces (:attr:`units`).

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


def register(
    name: str, params: type[P], *, units: tuple[str, ...] | None = None
) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under a measure name.

    Parameters
    ----------
    name : str
        The measure name rule files use.
    params : type of Params
        The check's parameter model.
    units : tuple of str, optional
        Units the measure produces; default: :data:`MEASURE_UNITS` ``[name]``.
    """
    declared = tuple(units) if units is not None else MEASURE_UNITS.get(name, ())

    def deco(fn: CheckFn) -> CheckFn:
        CHECKS[name] = Check(name, fn, params, declared)
        return fn

    return deco


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
    from . import checks as _checks  # noqa: F401  (registers the checks; imported late: cycle)

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
    }
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    return gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=geoms.crs)


def label(gdf: gpd.GeoDataFrame, noun_zh: str, noun_en: str) -> tuple[pd.Series, pd.Series]:
    """Reviewer labels of features: 组团「北区」 / cluster 'North', else by id."""
    ids = gdf["feature_id"].astype(str)
    if "name" in gdf.columns:
        names = gdf["name"].astype("string").str.strip()
        has = names.notna() & (names != "")
        zh = pd.Series(
            np.where(has, noun_zh + "「" + names.fillna("") + "」", noun_zh + " #" + ids)
        )
        en = pd.Series(np.where(has, noun_en + " '" + names.fillna("") + "'", noun_en + " #" + ids))
    else:
        zh, en = noun_zh + " #" + ids, noun_en + " #" + ids
    return pd.Series(zh.to_numpy(), index=gdf.index), pd.Series(en.to_numpy(), index=gdf.index)
