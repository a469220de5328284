"""The rule as the engine runs it: limits, clause, parameters (pydantic models).

A :class:`Rule` is the effective rule of one profile for one target year:
its type's declaration (:mod:`compliance.rules.registry`: titles, measure,
layer, unit, comparison, default parameters) merged with what the profile's
plan states (limits, years, severity, wording, scope, clause, parameter
overrides).  :mod:`compliance.rules.catalogue` builds them from the rule files.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .units import UNITS

Comparison = Literal["<=", ">=", "<", ">", "between"]
Severity = Literal["fail", "warn"]

RULE_CODE = r"^[A-Z]{2}\d{2}$"


class Source(BaseModel):
    """Where a rule stands: seed file, section as printed, the sentence verbatim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: str = Field(description="file name in rules/seeds/, e.g. 002_7c2abb0a5bb26d87.txt")
    document: str = Field(description="the plan's title and number, in Chinese")
    document_en: str | None = Field(
        default=None,
        description="its English title and number; default from compliance.rules.documents",
    )
    section: str = Field(description="section as printed in the plan, e.g. 三(一)")
    quote: str = Field(description="the original Chinese sentence, verbatim", min_length=4)
    basis: str | None = Field(
        default=None,
        description="higher document the rule rests on, e.g. 建标〔2022〕53号; the quoted "
        "sentence is then the seed plan's restatement of it",
    )


class Target(BaseModel):
    """The limit of a rule for one target year (2023, 2025, 2030 …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    limit: float
    limit_low: float | None = None
    comparison: Comparison | None = Field(
        default=None,
        description="this year's comparison when it differs from the rule's (达到30% is >=, "
        "超过40% is >)",
    )
    severity: Severity | None = None
    wording: str | None = None
    source: Source | None = Field(
        default=None, description="the clause stating this year's limit, when not the rule's"
    )


class Rule(BaseModel):
    """One checkable rule with its limit, as a profile states it.

    ``comparison`` ``between`` holds the measured value within
    ``limit_low`` … ``limit`` (both inclusive).  A rule with ``targets`` has
    one limit per target year; the loader resolves it to the year asked for
    (:func:`choose_year`), so ``limit``, ``year`` and ``source`` are the
    effective ones and ``targets`` lists them all.

    ``applies_to: county`` marks a clause about county towns (县城): it is not
    applicable to a scheme whose ``boundary`` says it is a city (every
    ``kind`` given is ``city``), and applies to any other.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=RULE_CODE)
    title_zh: str
    title_en: str
    measure: str = Field(description="name of the check that measures it")
    layer: str = Field(description="input layer the findings are about")
    comparison: Comparison
    limit: float = Field(
        default=math.nan,
        description="the plan's limit; NaN for a rule whose plan states no number (BH02: "
        "相对集中布局), judged by its check's method (:attr:`has_limit`)",
    )
    limit_low: float | None = Field(default=None, description="lower bound of a 'between' rule")
    unit: str = Field(description="unit code of limit and measured values (rules.units.UNITS)")
    severity: Severity
    wording: str | None = Field(
        default=None, description="the plan's hedge that makes it a warning: 原则上, 力争…"
    )
    year: int | None = Field(default=None, description="target year of the limit")
    applies_to: Literal["county"] | None = Field(
        default=None, description="'county': a clause about county towns (县城) only"
    )
    targets: list[Target] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    source: Source

    @field_validator("unit")
    @classmethod
    def _unit_is_known(cls, value: str) -> str:
        if value not in UNITS:
            raise ValueError(f"unit '{value}' is unknown (known: {', '.join(UNITS)})")
        return value

    @model_validator(mode="after")
    def _range_is_complete(self) -> Rule:
        if self.comparison == "between":
            if self.limit_low is None:
                raise ValueError("comparison 'between' needs limit_low (the lower bound)")
            if self.limit_low > self.limit:
                raise ValueError(f"limit_low {self.limit_low} is above limit {self.limit}")
        return self

    @property
    def has_limit(self) -> bool:
        """False for a rule whose plan states no number (its check's method judges)."""
        return not math.isnan(self.limit)

    def passes(self, measured: float, limit: float | None = None) -> bool:
        """Whether a measured value satisfies the rule (NaN never passes)."""
        lim = self.limit if limit is None else limit
        if math.isnan(lim):
            raise ValueError(f"rule {self.code} states no limit: its check judges it")
        if self.comparison == "between":
            low = self.limit_low if self.limit_low is not None else float("-inf")
            return bool(low <= measured <= lim)
        return bool(_COMPARE[self.comparison](measured, lim))


_COMPARE = {
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}


def choose_year(years: list[int], year: int | None = None, today: date | None = None) -> int:
    """The target year whose limit applies.

    Parameters
    ----------
    years : list of int
        Target years a rule states (e.g. 2025 and 2030).
    year : int, optional
        The year asked for (``--year``).  Default: the current year, so that
        the nearest target year not yet passed applies.
    today : datetime.date, optional
        For tests; defaults to today.

    Returns
    -------
    int
        ``year`` itself when stated; else the nearest stated year after it;
        else (every target passed) the latest stated year.
    """
    asked = year if year is not None else (today or date.today()).year
    later = [y for y in years if y >= asked]
    return min(later) if later else max(years)
