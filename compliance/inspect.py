"""A pre-flight of a scheme: what each input was read as, and which rules can run with it.

``compliance inspect SCHEME --profile P`` prints, before anyone reads a report,

- each input layer: what it was recognised as (and by what: the contract's
  name, a recognised Chinese name, the mapping file), its CRS (as given, or
  how it was set), the features read and used, the fields mapped;
- every file or layer seen and not read, and why;
- each rule of the profile: whether it can run with this data, or what it
  lacks.

What a rule needs is not listed here by hand: the rules are run, and a rule
that reports ``not_evaluated`` gives its reason (the engine's), so the answer
follows the catalogue as it changes.  :func:`input_facts` is what ``run.json``
carries under ``inputs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .engine import Result
from .wording import count_en


def input_facts(result: Result) -> dict[str, Any]:
    """The facts of a run's inputs, as ``run.json`` holds them under ``inputs``.

    Parameters
    ----------
    result : Result
        A check run.

    Returns
    -------
    dict
        ``layers`` (per input layer read: ``layer``, ``source``,
        ``recognised_by``, ``crs``, ``features``, ``features_used``,
        ``geometry_types``, ``fields_mapped``), ``not_read`` (``file``,
        ``reason``), ``rules`` (per rule: ``rule_id``, ``title``,
        ``can_run``, ``checked``, and ``lacks``, the engine's reason, when
        it cannot).
    """
    s = result.scheme
    rules = []
    for row in result.summary.to_dict("records"):  # one row per rule
        can = row["status"] != "not_evaluated"
        item: dict[str, Any] = {
            "rule_id": row["rule_id"],
            "title": row["title"],
            "can_run": bool(can),
            "checked": int(row["checked"]),
        }
        if not can:
            item["lacks"] = str(row["note"])
            item["lacks_zh"] = str(row.get("note_zh", ""))
        rules.append(item)
    return {
        "scheme": s.source,
        "measuring_crs": s.crs_label,
        "layers": s.inputs,
        "not_read": s.not_read,
        "rasters": {role: str(r.path) for role, r in s.rasters.items()},
        "rules": rules,
    }


def inspect_lines(result: Result) -> list[str]:
    """The pre-flight as printed lines (English, with the Chinese reason where it helps)."""
    facts = input_facts(result)
    out = [f"{facts['scheme']}  profile {result.profile.name}"]
    out.append(f"  measured in {facts['measuring_crs']}")
    out.append("input layers:")
    for info in facts["layers"]:
        crs = info.get("crs", "no CRS")
        if info.get("crs_from"):
            crs += f" (from {info['crs_from']})"
        used = info.get("features_used", 0)
        feats = count_en(info.get("features", 0), "feature")
        if used != info.get("features", 0):
            feats += f", {used} used"
        mapped = {k: v for k, v in (info.get("fields_mapped") or {}).items()}
        fields = ", ".join(k if k == v else f"{k} ← {v}" for k, v in mapped.items()) or "none"
        out.append(f"  {info['layer']:<13} ← {info['source']} [{info['recognised_by']}]")
        types = "/".join(info.get("geometry_types", []))
        out.append(f"                  {feats} ({types}); CRS {crs}; fields: {fields}")
    for role, path in facts["rasters"].items():
        out.append(f"  {role + ' raster':<13} ← {path}")
    if facts["not_read"]:
        out.append("not read:")
        for item in facts["not_read"]:
            out.append(f"  {item['file']}: {item['reason']}")
    out.append(f"rules of {result.profile.name}:")
    for r in facts["rules"]:
        if r["can_run"]:
            out.append(f"  {r['rule_id']}  can run ({r['checked']} checked)  {r['title']}")
        else:
            out.append(f"  {r['rule_id']}  cannot run: {r['lacks']}  {r['title']}")
    runnable = sum(r["can_run"] for r in facts["rules"])
    out.append(f"{runnable} of {count_en(len(facts['rules']), 'rule')} can run with this data")
    for note in result.notes:
        out.append(f"  note: {note}")
    for warning in result.scheme.warnings:
        out.append(f"  warning: {warning}")
    return out


def inspect_scheme(
    scheme: str | Path,
    profile: str = "national",
    **options: Any,
) -> Result:
    """Read a scheme and run a profile's rules over it, for :func:`inspect_lines`.

    Parameters
    ----------
    scheme : str or pathlib.Path
        As :func:`compliance.check` takes it.
    profile : str
    **options
        ``year``, ``crs``, ``rasters``, ``rules_dir``, ``field_map``,
        ``source_crs``, as :func:`compliance.check` takes them.

    Returns
    -------
    Result

    Raises
    ------
    InputError, RuleFileError
        As :func:`compliance.check`.
    """
    from .engine import check

    return check(scheme, profile, **options)
