"""The rule catalogue: profiles of rules loaded from ``rules/*.yaml``.

A profile file names the plan it follows and lists rules by code, with only
what that plan states: limit(s), target year(s), severity and the plan's
hedging wording, scope (``applies_to``), the clause, parameter overrides and,
optionally, the plan's own title.  Everything else about a code (measure,
layer, unit, comparison, default parameters, documentation) is its rule
type's, declared once in :mod:`compliance.rules.checks`
(:data:`compliance.rules.registry.TYPES`).

A profile may inherit another (every city profile inherits ``national``):
the child's entry for a code is merged key by key over the parent's, and
``params`` are merged too.  Every effective rule is validated (unknown keys
are errors; a unit that is not the measure's must convert to it) and its
quote must stand verbatim in the seed text it cites (``rules/seeds/``).
Errors name the file and line.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import RuleFileError
from . import checks as _checks  # noqa: F401  (declares the rule types)
from .model import Rule as Rule
from .model import Source as Source
from .model import choose_year
from .registry import COMPATIBLE, TYPES, RuleType
from .units import UNITS

#: What a profile's entry for a rule may state: what its plan says.
ENTRY_KEYS = frozenset(
    {
        "title_zh",
        "title_en",
        "comparison",
        "limit",
        "limit_low",
        "unit",
        "severity",
        "wording",
        "year",
        "applies_to",
        "targets",
        "params",
        "source",
    }
)


class Profile(BaseModel):
    """A profile: the effective rules of one plan, inheritance resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title_zh: str
    title_en: str
    seed: str | None = None
    document: str
    document_en: str | None = None
    inherits: str | None = None
    year: int | None = Field(default=None, description="the year asked for, None for the default")
    rules: dict[str, Rule]

    def stated_in_plan(self, rule: Rule) -> bool:
        """True when the rule cites this profile's own plan, False when inherited."""
        return self.seed is not None and rule.source.seed == self.seed

    def inherited_from(self, rule: Rule) -> str:
        """The profile a rule comes from when this profile's plan does not state it, else "".

        A profile without a plan of its own (``national``, no ``seed``) states
        every rule it carries; a city profile inherits from its parent every
        rule whose clause is not in its own plan.
        """
        if self.seed is None or self.stated_in_plan(rule):
            return ""
        return self.inherits or ""

    @property
    def plan_en(self) -> str:
        """The English title and number of this profile's plan."""
        from .documents import document_en

        return self.document_en or document_en(self.document)


class _ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str
    title_zh: str
    title_en: str
    seed: str | None = None
    document: str
    document_en: str | None = None
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


def _with_type(code: str, entry: dict[str, Any], files: _Files) -> dict[str, Any]:
    """A profile's entry for a rule completed by its rule type's declaration.

    Raises
    ------
    RuleFileError
        No type declares the code; the entry has a key a profile does not
        state (the type's); a comparison of the other direction; a unit that
        is unknown or of another dimension than the measure's.  File and line.
    """
    rule_type = TYPES.get(code)
    if rule_type is None:
        raise RuleFileError(
            f"{_where_rule(files, ('rules', code))}: rule {code}: no rule type declares this "
            f"code (declared: {', '.join(sorted(TYPES))}); declare it in "
            "compliance/rules/checks/ (README: Adding a rule)"
        )
    extra = sorted(set(entry) - ENTRY_KEYS - {"code"})
    if extra:
        key = extra[0]
        owned = key in ("measure", "layer", "code")
        raise RuleFileError(
            f"{_where_rule(files, ('rules', code, key))}: rule {code}: {key}: "
            + (
                f"declared once by the rule type ({rule_type.declared_at}), not in a profile"
                if owned
                else f"not a key of a profile's rule (keys: {', '.join(sorted(ENTRY_KEYS))})"
            )
        )
    comparison = entry.get("comparison", rule_type.comparison)
    if comparison not in COMPATIBLE[rule_type.comparison]:
        raise RuleFileError(
            f"{_where_rule(files, ('rules', code, 'comparison'))}: rule {code}: comparison "
            f"'{comparison}' does not fit the rule type's '{rule_type.comparison}' "
            f"(allowed: {', '.join(COMPATIBLE[rule_type.comparison])})"
        )
    data = {
        "code": code,
        "title_zh": rule_type.title_zh,
        "title_en": rule_type.title_en,
        **entry,
        "measure": rule_type.measure.name,
        "layer": rule_type.layer,
        "comparison": comparison,
        "unit": rule_type.unit,
        "params": {**rule_type.params, **(entry.get("params") or {})},
    }
    stated = entry.get("unit", rule_type.unit)
    if stated != rule_type.unit:
        data = _converted(data, stated, rule_type, files)
    return data


def _converted(
    data: dict[str, Any], stated: object, rule_type: RuleType, files: _Files
) -> dict[str, Any]:
    """The entry's limits converted from the unit it states to its measure's unit."""
    keys = ("rules", rule_type.code, "unit")
    if not isinstance(stated, str) or stated not in UNITS:
        raise RuleFileError(
            f"{_where_rule(files, keys)}: rule {rule_type.code}: unit '{stated}' is unknown "
            f"(known: {', '.join(UNITS)})"
        )
    source, target = UNITS[stated], UNITS[rule_type.unit]
    try:

        def conv(value: object) -> object:
            return source.convert(float(value), target) if isinstance(value, int | float) else value

        out = {k: conv(v) if k in ("limit", "limit_low") else v for k, v in data.items()}
        if isinstance(data.get("targets"), list):
            out["targets"] = [
                {k: conv(v) if k in ("limit", "limit_low") else v for k, v in t.items()}
                if isinstance(t, dict)
                else t
                for t in data["targets"]
            ]
    except ValueError:
        raise RuleFileError(
            f"{_where_rule(files, keys)}: rule {rule_type.code}: unit '{stated}' does not fit "
            f"measure {rule_type.measure.name} (expected {rule_type.unit} or a unit of the "
            "same dimension)"
        ) from None
    return out


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
    for key in ("limit_low", "comparison", "severity", "wording", "source"):
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
    folder = (rules_dir or default_rules_dir()).resolve()
    pf, raw = _raw_rules(name, folder, ())
    seeds_dir = folder / "seeds"
    rules: dict[str, Rule] = {}
    for code, (entry, files) in raw.items():
        data = _with_type(code, entry, files)
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
        if TYPES[code].has_limit and not rule.has_limit:
            raise RuleFileError(
                f"{_where_rule(files, ('rules', code))}: rule {code}: no limit; state the "
                "plan's number as 'limit' (or per year under 'targets')"
            )
        if not TYPES[code].has_limit and (rule.has_limit or rule.targets):
            raise RuleFileError(
                f"{_where_rule(files, ('rules', code, 'limit'))}: rule {code}: its plan states "
                "no number; the method's parameters go under 'params', never as 'limit'"
            )
        problem = TYPES[code].measure.params_problem(rule)
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
        document_en=pf.document_en,
        inherits=pf.inherits,
        year=year,
        rules=dict(sorted(rules.items())),
    )
