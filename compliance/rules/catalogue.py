"""The rule catalogue: profiles of rules loaded from ``rules/*.yaml``.

A profile file names the plan it follows and lists rules by code.  A profile
may inherit another (every city profile inherits ``national``): the child's
entry for a code is merged key by key over the parent's, and ``params`` are
merged too, so a city states only what its own plan changes.  Every effective
rule is validated (unknown keys are errors) and its quote must stand verbatim
in the seed text it cites (``rules/seeds/``).  Errors name the file and line.
"""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import RuleFileError

Unit = Literal[
    "m",
    "m2",
    "ha",
    "km2",
    "persons/km2",
    "km/km2",
    "%",
    "floors",
    "ratio",
    "m2/person",
    "km/10k persons",
    "stars",
]
Comparison = Literal["<=", ">=", "<", ">", "between"]
Severity = Literal["fail", "warn"]

_RULE_CODE = r"^[A-Z]{2}\d{2}$"


class Source(BaseModel):
    """Where a rule stands: seed file, section as printed, the sentence verbatim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: str = Field(description="file name in rules/seeds/, e.g. 002_7c2abb0a5bb26d87.txt")
    document: str = Field(description="the plan's title and number, in Chinese")
    section: str = Field(description="section as printed in the plan, e.g. 三(一)")
    quote: str = Field(description="the original Chinese sentence, verbatim", min_length=4)
    basis: str | None = Field(
        default=None, description="higher document the rule restates, e.g. 建标〔2022〕53号"
    )


class Target(BaseModel):
    """The limit of a rule for one target year (2023, 2025, 2030 …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    limit: float
    limit_low: float | None = None
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

    code: str = Field(pattern=_RULE_CODE)
    title_zh: str
    title_en: str
    measure: str = Field(description="name of the check that measures it")
    layer: str = Field(description="input layer the findings are about")
    comparison: Comparison
    limit: float
    limit_low: float | None = Field(default=None, description="lower bound of a 'between' rule")
    unit: Unit
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

    @model_validator(mode="after")
    def _range_is_complete(self) -> Rule:
        if self.comparison == "between":
            if self.limit_low is None:
                raise ValueError("comparison 'between' needs limit_low (the lower bound)")
            if self.limit_low > self.limit:
                raise ValueError(f"limit_low {self.limit_low} is above limit {self.limit}")
        return self

    def passes(self, measured: float, limit: float | None = None) -> bool:
        """Whether a measured value satisfies the rule (NaN never passes)."""
        lim = self.limit if limit is None else limit
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


class Profile(BaseModel):
    """A profile: the effective rules of one plan, inheritance resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title_zh: str
    title_en: str
    seed: str | None = None
    document: str
    inherits: str | None = None
    year: int | None = Field(default=None, description="the year asked for, None for the default")
    rules: dict[str, Rule]

    def stated_in_plan(self, rule: Rule) -> bool:
        """True when the rule cites this profile's own plan, False when inherited."""
        return self.seed is not None and rule.source.seed == self.seed


class _ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str
    title_zh: str
    title_en: str
    seed: str | None = None
    document: str
    inherits: str | None = None
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)


def default_rules_dir() -> Path:
    """Folder of the shipped catalogue.

    ``$COMPLIANCE_RULES_DIR`` when set; else ``compliance/_rules`` in an
    installed wheel; else ``rules/`` beside the package in a source checkout.
    """
    env = os.environ.get("COMPLIANCE_RULES_DIR")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_rules"
    return packaged if packaged.is_dir() else package.parent / "rules"


def list_profiles(rules_dir: Path | None = None) -> list[str]:
    """Names of the profiles in a catalogue folder, sorted."""
    folder = rules_dir or default_rules_dir()
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _line_of(
    path: Path, text: str, keys: tuple[str | int, ...], *, exact: bool = False
) -> int | None:
    """1-based line of a key path in a YAML file, found through the composed node tree.

    The line of the deepest key found; with ``exact``, None unless every key is found.
    """
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None if exact else line
        for k, v in node.value:
            if k.value == str(key):
                line = k.start_mark.line + 1
                node = v
                break
        else:
            return None if exact else line
    return line


def _where(path: Path, text: str, keys: tuple[str | int, ...]) -> str:
    line = _line_of(path, text, keys)
    return f"{path}:{line}" if line else str(path)


#: The files of an inheritance chain that state a rule, parent first: (path, text).
_Files = tuple[tuple[Path, str], ...]


def _where_rule(files: _Files, keys: tuple[str | int, ...]) -> str:
    """File and line of a key of a rule, in the nearest file of the chain that states it."""
    for path, text in reversed(files):
        if _line_of(path, text, keys, exact=True) is not None:
            return _where(path, text, keys)
    return _where(*files[-1], keys)


@cache
def _seed_text(seeds_dir: Path, seed: str) -> str | None:
    f = seeds_dir / seed
    return f.read_text(encoding="utf-8") if f.is_file() else None


#: libyaml's safe loader when PyYAML was built with it (several times faster), else PyYAML's.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_profile_file(path: Path) -> tuple[_ProfileFile, str]:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RuleFileError(f"{at}: not valid YAML ({' '.join(str(exc).split())})") from exc
    try:
        return _ProfileFile.model_validate(data), text
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = tuple(err["loc"])
        raise RuleFileError(
            f"{_where(path, text, keys)}: {'.'.join(map(str, keys))}: {err['msg']}"
        ) from exc


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {**parent, **child}
    if "params" in parent and "params" in child:
        merged["params"] = {**parent["params"], **child["params"]}
    return merged


def _raw_rules(
    name: str, rules_dir: Path, chain: tuple[str, ...]
) -> tuple[_ProfileFile, dict[str, tuple[dict[str, Any], _Files]]]:
    path = rules_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(list_profiles(rules_dir)) or "none"
        raise RuleFileError(f"unknown profile '{name}' (profiles in {rules_dir}: {known})")
    if name in chain:
        culprit = rules_dir / f"{chain[-1]}.yaml"  # its 'inherits' closes the cycle
        raise RuleFileError(
            f"{_where(culprit, culprit.read_text(encoding='utf-8'), ('inherits',))}: "
            f"profile '{chain[-1]}' inherits from itself through "
            f"{' -> '.join((*chain, name))}; fix 'inherits'"
        )
    pf, text = _read_profile_file(path)
    if pf.profile != name:
        raise RuleFileError(
            f"{_where(path, text, ('profile',))}: profile: '{pf.profile}' does not match the "
            f"file name '{name}.yaml'"
        )
    rules: dict[str, tuple[dict[str, Any], _Files]] = {}
    if pf.inherits:
        _, rules = _raw_rules(pf.inherits, rules_dir, (*chain, name))
    for code, entry in pf.rules.items():
        base, files = rules.get(code, ({}, ()))
        rules[code] = (_merge(base, {"code": code, **entry}), (*files, (path, text)))
    return pf, rules


def _resolve_targets(data: dict[str, Any], year: int | None) -> dict[str, Any]:
    """The rule's entry with the limit of the applicable target year filled in."""
    targets = data.get("targets")
    if not targets or not isinstance(targets, list):
        return data
    try:
        years = [int(t["year"]) for t in targets]
    except (KeyError, TypeError, ValueError):
        return data  # left for validation to report
    chosen = targets[years.index(choose_year(years, year))]
    resolved = {**data, "year": chosen["year"], "limit": chosen.get("limit")}
    for key in ("limit_low", "severity", "wording", "source"):
        if chosen.get(key) is not None:
            resolved[key] = chosen[key]
    return resolved


def load_profile(name: str, rules_dir: Path | None = None, *, year: int | None = None) -> Profile:
    """Load a profile with inheritance resolved and every rule validated.

    Parameters
    ----------
    name : str
        Profile name: the stem of a YAML file in the catalogue folder
        (``national``, ``xinjiang``, ``alxa``, ``hebi``, ``jiaozuo``, ``bayannur``).
    rules_dir : pathlib.Path, optional
        Catalogue folder; defaults to :func:`default_rules_dir`.  Seeds are
        read from its ``seeds/`` subfolder.
    year : int, optional
        Target year for rules with limits per year (:func:`choose_year`);
        default: the nearest target year not yet passed.

    Returns
    -------
    Profile

    Raises
    ------
    RuleFileError
        Unknown profile, invalid YAML, unknown or missing keys, a profile that
        inherits from itself, a seed file that does not exist, or a quote that
        does not stand verbatim in its seed.  The message names file and line.
    """
    from .registry import rule_problem  # imported here: the registry imports this module

    folder = (rules_dir or default_rules_dir()).resolve()
    pf, raw = _raw_rules(name, folder, ())
    seeds_dir = folder / "seeds"
    rules: dict[str, Rule] = {}
    for code, (data, files) in raw.items():
        try:
            rule = Rule.model_validate(_resolve_targets(data, year))
        except ValidationError as exc:
            err = exc.errors()[0]
            keys = ("rules", code, *err["loc"])
            raise RuleFileError(
                f"{_where_rule(files, keys)}: rule {code}: "
                f"{'.'.join(map(str, err['loc'])) or 'entry'}: {err['msg']}"
            ) from exc
        sources = [(("rules", code, "source"), rule.source)] + [
            (("rules", code, "targets"), t.source) for t in rule.targets if t.source is not None
        ]
        for keys, source in sources:
            seed_text = _seed_text(seeds_dir, source.seed)
            if seed_text is None:
                raise RuleFileError(
                    f"{_where_rule(files, (*keys, 'seed'))}: rule {code}: "
                    f"seed file '{source.seed}' not found in {seeds_dir}"
                )
            if source.quote not in seed_text:
                raise RuleFileError(
                    f"{_where_rule(files, (*keys, 'quote'))}: rule {code}: the quote "
                    f"“{source.quote}” is not found verbatim in {source.seed}; "
                    "copy it from the seed"
                )
        problem = rule_problem(rule)  # measure known, unit fits it, params valid
        if problem is not None:
            raise RuleFileError(
                f"{_where_rule(files, ('rules', code, *problem.keys))}: rule {code}: "
                f"{problem.message}"
            )
        rules[code] = rule
    return Profile(
        name=pf.profile,
        title_zh=pf.title_zh,
        title_en=pf.title_en,
        seed=pf.seed,
        document=pf.document,
        inherits=pf.inherits,
        year=year,
        rules=dict(sorted(rules.items())),
    )
