"""The rule catalogue as one Markdown page (``docs/catalogue.md``).

The page is generated from the profiles in ``rules/*.yaml``, as sqlfluff and
ruff generate their rule lists from the code: it cannot drift from what the
checker loads.  ``compliance docs --out docs/catalogue.md`` writes it; a test
holds the committed page equal to :func:`catalogue_markdown`.

The output is deterministic: it does not depend on the date (rules with limits
per target year list every target with its own clause), nor on the order of
files on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .catalogue import Profile, Rule, default_rules_dir, list_profiles, load_profile

_SYMBOL = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def _num(value: float) -> str:
    """A limit as printed: thousands separated, no trailing zeros (15,000; 39.5; 0.8)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _limit(rule: Rule) -> str:
    """The limit with its comparison and unit, e.g. ``≤ 50 km2`` or ``0.6–0.8 ratio``."""
    if rule.comparison == "between":
        low = "−∞" if rule.limit_low is None else _num(rule.limit_low)
        return f"{low}–{_num(rule.limit)} {rule.unit}"
    return f"{_SYMBOL[rule.comparison]} {_num(rule.limit)} {rule.unit}"


def _severity(rule: Rule) -> str:
    return f"{rule.severity} ({rule.wording})" if rule.wording else rule.severity


def _source(rule: Rule, plan_document: str) -> str:
    """The clause: section, seed file, the quote, and the document when not the plan's own."""
    s = rule.source
    parts = [f"{s.section} · `{s.seed}`"]
    if s.document != plan_document:
        parts.append(s.document)
    parts.append(f"“{s.quote}”")
    if s.basis:
        parts.append(f"restating {s.basis}")
    return "<br>".join(_cell(p) for p in parts)


#: Loads a profile for a target year: ``load(name, year)``.
_Loader = Callable[[str, int], Profile]


def _per_year(name: str, rule: Rule, load: _Loader) -> list[tuple[int, Rule]]:
    """The rule resolved for each of its target years (one entry when it has no targets)."""
    if not rule.targets:
        return [(rule.year or 0, rule)]
    return [
        (t.year, load(name, t.year).rules[rule.code])
        for t in sorted(rule.targets, key=lambda t: t.year)
    ]


def _rule_row(profile: Profile, rule: Rule, load: _Loader) -> str:
    """One row of a profile's table; a rule with target years shows each year's limit."""
    resolved = _per_year(profile.name, rule, load)
    if rule.targets:
        limit = "<br>".join(f"{y}: {_limit(r)}" for y, r in resolved)
        year = "targets " + ", ".join(str(y) for y, _ in resolved)
        severities = [_severity(r) for _, r in resolved]
        severity = (
            severities[0]
            if len(set(severities)) == 1
            else "<br>".join(f"{y}: {s}" for (y, _), s in zip(resolved, severities, strict=True))
        )
        source = "<br>".join(f"{y}: {_source(r, profile.document)}" for y, r in resolved)
        stated = any(profile.stated_in_plan(r) for _, r in resolved)
    else:
        limit = _limit(rule)
        year = str(rule.year) if rule.year else "—"
        severity = _severity(rule)
        source = _source(rule, profile.document)
        stated = profile.stated_in_plan(rule)
    origin = "stated in plan" if stated else f"inherited ({profile.inherits})"
    if profile.seed is None:
        origin = "common value"
    cells = [
        f"`{rule.code}`",
        f"{_cell(rule.title_zh)}<br>{_cell(rule.title_en)}",
        limit,
        year,
        severity,
        f"`{rule.measure}` on `{rule.layer}`"
        + ("<br>county towns (县城) only" if rule.applies_to == "county" else ""),
        source,
        origin,
    ]
    return "| " + " | ".join(cells) + " |"


def _params(params: dict[str, Any]) -> str:
    text = yaml.safe_dump(
        params, default_flow_style=True, allow_unicode=True, sort_keys=True, width=10**6
    ).strip()
    return " ".join(text.split()).replace("`", "'")


def _order(profiles: dict[str, Profile]) -> list[str]:
    """Profiles by inheritance depth, then name: ``national`` before the cities."""

    def depth(name: str) -> int:
        seen, n, parent = {name}, 0, profiles[name].inherits
        while parent is not None and parent in profiles and parent not in seen:
            seen.add(parent)
            n += 1
            parent = profiles[parent].inherits
        return n

    return sorted(profiles, key=lambda n: (depth(n), n))


def _overview_title(code: str, order: list[str], profiles: dict[str, Profile]) -> str:
    """A rule's name for the overview: the root profile's title, else the most general
    (shortest) of the cities' titles."""
    titles = [profiles[n].rules[code].title_en for n in order if code in profiles[n].rules]
    root = profiles[order[0]].rules.get(code)
    return root.title_en if root is not None else min(titles, key=lambda s: (len(s), s))


def _overview(order: list[str], profiles: dict[str, Profile], load: _Loader) -> list[str]:
    codes = sorted({c for p in profiles.values() for c in p.rules})
    head = "| code | rule | " + " | ".join(order) + " |"
    lines = [head, "|" + "---|" * (len(order) + 2)]
    for code in codes:
        title = _overview_title(code, order, profiles)
        cells = []
        for name in order:
            prof = profiles[name]
            rule = prof.rules.get(code)
            if rule is None:
                cells.append("—")
                continue
            resolved = _per_year(name, rule, load)
            if rule.targets:
                text = "<br>".join(f"{_limit(r)} ({y})" for y, r in resolved)
            else:
                text = _limit(rule) + (f" ({rule.year})" if rule.year else "")
            if prof.seed is not None and not any(prof.stated_in_plan(r) for _, r in resolved):
                text += " ⁱ"
            cells.append(text)
        lines.append(f"| `{code}` | {_cell(title)} | " + " | ".join(cells) + " |")
    return lines


def catalogue_markdown(rules_dir: Path | None = None) -> str:
    """Render the rule catalogue as one Markdown page.

    For each profile: its title, plan document, seed and parent; a table of
    its effective rules (code, Chinese and English title, limit with
    comparison and unit, target year or years, severity with the plan's hedge,
    measure and layer, the quoted clause with seed file and section, and
    whether the profile's own plan states the rule or inherits it); and the
    parameters each rule binds.  An overview table of code × profile comes
    first.

    Parameters
    ----------
    rules_dir : pathlib.Path, optional
        Catalogue folder (``rules/``); defaults to
        :func:`compliance.rules.catalogue.default_rules_dir`.

    Returns
    -------
    str
        The Markdown page, ending with a newline.  The same catalogue always
        gives the same text: target years are listed, not resolved against
        today's date.

    Raises
    ------
    compliance.errors.RuleFileError
        A profile does not load (see :func:`compliance.rules.catalogue.load_profile`).
    """
    folder = (rules_dir or default_rules_dir()).resolve()
    profiles = {name: load_profile(name, folder) for name in list_profiles(folder)}

    @cache
    def load(name: str, year: int) -> Profile:
        return load_profile(name, folder, year=year)

    order = _order(profiles)
    out: list[str] = [
        "# Rule catalogue",
        "",
        "<!-- Generated by `compliance docs --out docs/catalogue.md` from rules/*.yaml; "
        "do not edit by hand. -->",
        "",
        "Every rule the checker ships, per profile, with the clause of the plan that "
        "states it (seed file in `rules/seeds/`, section as printed, the sentence "
        "verbatim). Codes are listed in `spec/RULES.md`. A city profile inherits "
        "`national` and overrides what its own plan states.",
        "",
        "Severity `fail` is a binding limit; `warn` is a limit the plan hedges "
        "(原则上, 力争, 个别地段, 一般, 推动 …, quoted in brackets). Rules with "
        "limits for several target years list each year with its clause; `compliance "
        "check --year` picks one, by default the nearest target year not yet passed.",
        "",
        "## Overview",
        "",
        "Limits per profile; ⁱ marks a rule inherited from the parent profile rather "
        "than stated in the profile's own plan.",
        "",
        *_overview(order, profiles, load),
        "",
    ]
    for name in order:
        prof = profiles[name]
        out += [
            f"## {name}: {prof.title_zh} / {prof.title_en}",
            "",
            f"- Plan: {prof.document}",
            f"- Seed: `{prof.seed}`" if prof.seed else "- Seed: none (common national values)",
            f"- Inherits: `{prof.inherits}`" if prof.inherits else "- Inherits: nothing",
            f"- Rules: {len(prof.rules)}, of which "
            f"{sum(prof.stated_in_plan(r) for r in prof.rules.values())} stated in this plan",
            "",
            "| code | rule | limit | year | severity | measure | clause | origin |",
            "|---|---|---|---|---|---|---|---|",
        ]
        out += [_rule_row(prof, rule, load) for rule in prof.rules.values()]
        with_params = [r for r in prof.rules.values() if r.params]
        if with_params:
            out += ["", "Parameters:", ""]
            out += [f"- `{r.code}`: `{_params(r.params)}`" for r in with_params]
        out.append("")
    return "\n".join(out)
