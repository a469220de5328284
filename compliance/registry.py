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

from .catalogue import Rule
from .errors import RuleFileError
from .scheme import Scheme

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
    quantity_zh, quantity_en : str or None
        Name of the measured quantity in messages when it is not the rule's
        title, e.g. 至最近计入绿地的最远距离 / farthest distance to counted green.
    """

    rows: gpd.GeoDataFrame | None = None
    not_evaluated: str | None = None
    not_evaluated_zh: str | None = None
    skipped: int = 0
    skip_reason: str = ""
    quantity_zh: str | None = None
    quantity_en: str | None = None


P = TypeVar("P", bound=Params)
CheckFn = Callable[[Scheme, Rule, Any], Evaluation]


@dataclass(frozen=True)
class Check:
    """A registered check: its function and its parameter model."""

    name: str
    fn: CheckFn
    params: type[Params]

    def validated_params(self, rule: Rule) -> Params:
        """The rule's ``params`` validated against this check's model.

        Raises
        ------
        RuleFileError
            A parameter is unknown or has the wrong type.
        """
        try:
            return self.params.model_validate(rule.params)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RuleFileError(
                f"rule {rule.code} (measure {self.name}): params."
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
            ) from exc


CHECKS: dict[str, Check] = {}


def register(name: str, params: type[P]) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under a measure name."""

    def deco(fn: CheckFn) -> CheckFn:
        CHECKS[name] = Check(name, fn, params)
        return fn

    return deco


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
    detail_zh: Any = "",
    detail_en: Any = "",
    estimated: Any = False,
    limit: Any = np.nan,
    limit_low: Any = np.nan,
) -> gpd.GeoDataFrame:
    """Assemble evaluation rows; scalars broadcast, arrays align by position.

    ``limit`` and ``limit_low`` are per-row limits for rules whose limit
    depends on the feature; NaN (the default) means the rule's own.
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
