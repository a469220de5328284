"""What produced a run's outputs: tool version, rule-catalogue hash, input file hashes.

One place computes them (:func:`provenance`), and every output prints the same
facts: ``run.json``, the header of ``report.html``, the Word draft
``opinion.docx``, the title box of ``map.html`` and the workbook.  An opinion
pasted from them can then say which tool, which rules and which files gave it.

Also the one helper that gives a unit's precision (:func:`decimals`), so the
outputs that round values (``summary.csv``, ``findings.xlsx``) follow the same
table as the messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..engine import Result

#: Bytes read at a time when hashing a file.
_CHUNK = 1 << 20


def decimals(unit: str) -> int:
    """Decimals a value in ``unit`` is printed and rounded to (2 for a unit not listed).

    The table is the engine's (:data:`compliance.engine.DECIMALS`); only this
    function reads it here, so moving units to a registry repoints one line.
    """
    from ..engine import DECIMALS

    return int(DECIMALS.get(unit, 2))


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _files_of(path: Path) -> list[Path]:
    """The files a path stands for: itself, or every file under a folder (``.gdb``), sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.is_file() else []


def input_hashes(inputs: Mapping[str, str | Path | None]) -> dict[str, dict[str, str]]:
    """SHA-256 of each input file, by role.

    Parameters
    ----------
    inputs : mapping of str to path or None
        Role (``scheme``, ``field_map``, ``exceptions``, ``raster:population``
        …) to a file or folder; None is skipped.  A folder (a File
        Geodatabase, a folder of layers) gives one hash per file in it, keyed
        by its path relative to the folder.

    Returns
    -------
    dict
        ``{role: {file path: sha256}}``; a path that does not exist (a
        scheme built in memory) is left out.
    """
    out: dict[str, dict[str, str]] = {}
    for role, given in inputs.items():
        if given is None or str(given) == "":
            continue
        path = Path(given)
        files = _files_of(path)
        if not files:
            continue
        if path.is_dir():
            out[role] = {str(path / f.relative_to(path)): sha256_file(f) for f in files}
        else:
            out[role] = {str(path): sha256_file(path)}
    return out


def catalogue_hash(result: Result, rules_dir: str | Path | None = None) -> str:
    """SHA-256 over the rule files of the profile used and the seeds its rules quote.

    The profile's YAML file and those it inherits from (``inherits``), then
    the seed files cited by its rules (and the profile's own seed), each as
    ``name``, a NUL byte and the file's bytes, in a fixed order.  Two runs
    with the same hash applied the same rules quoting the same texts.

    Parameters
    ----------
    result : Result
        The run (its profile names the files).
    rules_dir : str or pathlib.Path, optional
        The catalogue folder the profile was loaded from; default the shipped one.

    Returns
    -------
    str
        Hex digest, or ``""`` when the profile's file is not in ``rules_dir``
        (a profile built in memory).
    """
    from ..rules.catalogue import default_rules_dir

    folder = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    files: list[Path] = []
    name: str | None = result.profile.name
    seen: set[str] = set()
    import yaml

    while name and name not in seen:  # the inheritance chain: a few files
        seen.add(name)
        path = folder / f"{name}.yaml"
        if not path.is_file():
            break
        files.append(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        name = data.get("inherits") if isinstance(data, dict) else None
    if not files:
        return ""
    seeds = {r.source.seed for r in result.profile.rules.values()}
    for rule in result.profile.rules.values():  # tens of rules
        seeds.update(t.source.seed for t in rule.targets if t.source is not None)
    if result.profile.seed:
        seeds.add(result.profile.seed)
    files += [folder / "seeds" / s for s in sorted(seeds) if (folder / "seeds" / s).is_file()]
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(folder)).encode("utf-8") + b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What produced a run: printed by every output.

    Attributes
    ----------
    tool_version : str
        ``compliance.__version__``.
    catalogue_sha256 : str
        :func:`catalogue_hash` of the profile's rule files and seeds.
    inputs : dict
        :func:`input_hashes`: ``{role: {path: sha256}}``.
    profile : str
    year : int or None
        The target year asked for (``--year``); None for the default.
    """

    tool_version: str
    catalogue_sha256: str
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    profile: str = ""
    year: int | None = None

    def as_dict(self) -> dict[str, object]:
        """For ``run.json``."""
        return {
            "tool": "compliance",
            "tool_version": self.tool_version,
            "catalogue_sha256": self.catalogue_sha256,
            "profile": self.profile,
            "year": self.year,
            "inputs": self.inputs,
        }

    def lines(self, lang: str = "zh") -> list[tuple[str, str]]:
        """Label and text of each fact, for a page or a document (hashes shortened to 16)."""
        zh = lang == "zh"
        rows = [
            ("工具版本 Tool" if zh else "Tool", f"compliance {self.tool_version}"),
            (
                "规则库校验值 Catalogue SHA-256" if zh else "Rule catalogue SHA-256",
                self.catalogue_sha256[:16] or "—",
            ),
        ]
        for role, files in self.inputs.items():
            for path, digest in files.items():
                label = ("输入文件 Input" if zh else "Input") + f" ({role})"
                rows.append((label, f"{Path(path).name}  sha256 {digest[:16]}"))
        return rows


def provenance(
    result: Result,
    *,
    rules_dir: str | Path | None = None,
    inputs: Mapping[str, str | Path | None] | None = None,
) -> Provenance:
    """The provenance of a run (hashes the files named; call once per run).

    Parameters
    ----------
    result : Result
    rules_dir : str or pathlib.Path, optional
        Catalogue folder the profile came from (``--rules-dir``).
    inputs : mapping, optional
        Input files by role beyond those the result knows (``field_map``,
        ``exceptions``); the scheme and its rasters are added here.
    """
    given: dict[str, str | Path | None] = {"scheme": result.scheme.source or None}
    for role, r in result.scheme.rasters.items():
        given[f"raster:{role}"] = r.path
    given.update(inputs or {})
    return Provenance(
        tool_version=__version__,
        catalogue_sha256=catalogue_hash(result, rules_dir),
        inputs=input_hashes(given),
        profile=result.profile.name,
        year=result.profile.year,
    )


def short_line(p: Provenance) -> str:
    """One line for a page footer or title box: version, catalogue and input hashes."""
    files: Iterable[str] = (
        f"{Path(path).name} {d[:12]}" for f in p.inputs.values() for path, d in f.items()
    )
    joined = "; ".join(files)
    return f"compliance {p.tool_version} · catalogue sha256 {p.catalogue_sha256[:12] or '—'}" + (
        f" · inputs: {joined}" if joined else ""
    )
