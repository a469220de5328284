"""Checking many schemes at once: every city and county of a province (批量审查).

A manifest (CSV or YAML) lists the schemes with their profile and year; each
is checked in a task of its own on a dask cluster (a local cluster of worker
processes by default, or an existing cluster by its scheduler address), and
writes the same outputs as ``compliance check`` into ``OUT/<name>/``.  A
scheme that cannot be checked is recorded with its one-line reason and the
batch goes on.

Resuming: every scheme's inputs, its profile's rule files and seeds, the year
and the checker's own code are hashed (SHA-256); ``OUT/batch_state.json``
records the hash of each scheme checked, written atomically as each one
completes.  A re-run skips the schemes whose hash is unchanged and whose
outputs are in place, so an interrupted batch resumes where it stopped.

Outputs beside the per-scheme folders:

* ``batch_summary.csv``: one row per scheme × rule, in manifest order whatever
  the order the tasks finished in: ``scheme_name``, ``scheme_path``,
  ``scheme_profile``, ``scheme_year``, ``run_status`` (``ok`` or ``error``),
  ``run_error``, then the columns of ``summary.csv``; a scheme that could not
  be checked has one row with its reason.
* ``overview.html``: a map of the schemes' outlines coloured by their number
  of violations, with each scheme's per-rule counts and a link to its map.
* ``batch_state.json``: the resume state.

Manifest columns (CSV header, or keys of each YAML entry):

========================  =====================================================
``scheme``                path of the GeoPackage or folder, relative to the
                          manifest's folder (required)
``profile``               rule profile (required)
``year``                  target year (optional)
``name``                  output folder name (optional; default from the path)
``population_raster``,    raster inputs (optional; in YAML also as
``impervious_raster``,    ``rasters: {population: …}``)
``landcover_raster``
``exceptions``            exceptions file (optional)
========================  =====================================================
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ComplianceError, InputError, OutputError
from .notes import Note
from .paths import check_output_name, refuse_inputs_inside
from .safeyaml import compose_yaml_text, construct, load_yaml_file
from .textfiles import read_user_text
from .wording import count_en

STATE_FILE = "batch_state.json"
SUMMARY_FILE = "batch_summary.csv"
OVERVIEW_FILE = "overview.html"
#: Columns of ``batch_summary.csv`` before those of each scheme's ``summary.csv``.
BATCH_COLUMNS = [
    "scheme_name",
    "scheme_path",
    "scheme_profile",
    "scheme_year",
    "run_status",
    "run_error",
]
RASTER_KEYS = {
    "population_raster": "population",
    "impervious_raster": "impervious",
    "landcover_raster": "landcover",
}
#: Version of the state file's layout.
STATE_VERSION = 1
_NAME_OK = re.compile(r"[^\w.\-]+", re.UNICODE)


# --------------------------------------------------------------------------- manifest


class ManifestEntry(BaseModel):
    """One scheme of a manifest, as written (paths still relative)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    scheme: str = Field(min_length=1, description="GeoPackage or folder, relative to the manifest")
    profile: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=1900, le=2100)
    name: str | None = Field(default=None, min_length=1)
    rasters: dict[Literal["population", "impervious", "landcover"], str] = Field(
        default_factory=dict
    )
    population_raster: str | None = None
    impervious_raster: str | None = None
    landcover_raster: str | None = None
    exceptions: str | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (value in (".", "..") or _NAME_OK.search(value)):
            raise ValueError(
                f"'{value}' is not a plain folder name (letters, digits, '_', '-', '.')"
            )
        return value

    def raster_paths(self) -> dict[str, str]:
        """Raster inputs by role, from ``rasters`` and the ``*_raster`` columns."""
        out: dict[str, str] = {str(k): v for k, v in self.rasters.items()}
        for key, role in RASTER_KEYS.items():
            value = getattr(self, key)
            if value:
                out[role] = value
        return out


@dataclass(frozen=True)
class Job:
    """One scheme to check: absolute paths, the output folder name and the input hash.

    Plain data, so that it pickles to a worker process.
    """

    name: str
    line: int
    scheme: str
    profile: str
    year: int | None
    rasters: dict[str, str]
    exceptions: str | None
    out_dir: str
    map_html: bool = True
    rules_dir: str | None = None
    digest: str = ""
    force: bool = False


def _empty_to_none(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v is None or str(v).strip() == "" else v) for k, v in row.items()}


def _read_manifest_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, raw entry) for each scheme of a CSV or YAML manifest."""
    if not path.is_file():
        raise InputError(f"{path}: the manifest is not found; give a .csv or .yaml file")
    if path.suffix.lower() not in (".csv", ".yaml", ".yml"):
        raise InputError(f"{path}: a manifest is a .csv or .yaml file")
    text, _ = read_user_text(path, "the manifest")  # UTF-8, or GBK as Excel saves it
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise InputError(f"{path}:1: empty manifest; expected a header with 'scheme,profile'")
        rows = []
        for row in reader:  # one row per scheme: a manifest, not features
            if None in row:
                raise InputError(
                    f"{path}:{reader.line_num}: more cells than the header has columns"
                )
            if any(v and v.strip() for v in row.values()):
                rows.append((reader.line_num, _empty_to_none(row)))
        return rows
    node = compose_yaml_text(text, path)  # limited: a small file cannot exhaust memory
    try:
        data = construct(node)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if isinstance(data, dict) and set(data) == {"schemes"} and isinstance(node, yaml.MappingNode):
        data = data["schemes"]
        node = next(v for k, v in node.value if k.value == "schemes")
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise InputError(
            f"{path}:1: expected a list of schemes (or 'schemes:' with a list), "
            "each with 'scheme' and 'profile'"
        )
    rows = []
    for item, item_node in zip(data, node.value, strict=True):  # schemes of a manifest
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise InputError(f"{path}:{line}: expected 'scheme: …' and 'profile: …' here")
        rows.append((line, _empty_to_none(item)))
    return rows


def read_manifest(manifest: str | Path) -> list[tuple[int, ManifestEntry]]:
    """Read and validate a manifest.

    Parameters
    ----------
    manifest : str or pathlib.Path
        A ``.csv`` file with a header row, or a ``.yaml`` list of entries
        (or a mapping with one key ``schemes`` holding the list).

    Returns
    -------
    list of (int, ManifestEntry)
        The line of each entry in the file and the entry.

    Raises
    ------
    InputError
        The file cannot be read or parsed, an entry has an unknown key, lacks
        ``scheme`` or ``profile``, or has a value of the wrong type; names the
        file and line.
    """
    path = Path(manifest)
    out = []
    for line, raw in _read_manifest_rows(path):  # schemes of a manifest
        try:
            out.append((line, ManifestEntry.model_validate(raw)))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(map(str, err["loc"])) or "entry"
            raise InputError(f"{path}:{line}: {where}: {err['msg']}") from exc
    if not out:
        raise InputError(f"{path}: the manifest lists no scheme")
    return out


#: File stems that say nothing about the place: the folder's name is used with them.
GENERIC_STEMS = {"scheme", "schemes", "方案", "data", "index", "input", "layers"}


def _clean_name(text: str) -> str:
    return _NAME_OK.sub("_", text).strip("._") or "scheme"


def _default_names(entries: list[tuple[int, ManifestEntry]]) -> list[str]:
    """Output folder names: the given ones, else from the scheme path, widened until unique.

    The file's stem (the folder's name for a folder, or for a stem such as
    ``scheme``); where two entries would share it, the parent folder, then the
    profile and the year are added, and a number as a last resort.
    """
    options = []
    for _, e in entries:  # schemes of a manifest
        p = Path(e.scheme)
        stem = p.stem if p.suffix else p.name
        parent = p.parent.name
        first = f"{parent}_{stem}" if stem.lower() in GENERIC_STEMS and parent else stem
        wide = f"{parent}_{stem}" if parent else stem
        year = f"_{e.year}" if e.year else ""
        options.append(
            [_clean_name(first), _clean_name(wide), _clean_name(f"{wide}_{e.profile}{year}")]
        )
    level = [0] * len(entries)
    names = [e.name or opts[0] for (_, e), opts in zip(entries, options, strict=True)]
    given = [e.name is not None for _, e in entries]
    for _ in range(3):  # widen the clashing names, a level at a time
        clash = pd.Series(names).duplicated(keep=False).to_numpy()
        if not clash.any():
            return names
        for i in range(len(names)):  # schemes of a manifest
            if clash[i] and not given[i] and level[i] < 2:
                level[i] += 1
                names[i] = options[i][level[i]]
    used = {n for n, g in zip(names, given, strict=True) if g}
    for i, name in enumerate(names):  # a number for what still clashes
        if given[i]:
            continue
        k, unique = 2, name
        while unique in used:
            unique, k = f"{name}_{k}", k + 1
        names[i] = unique
        used.add(unique)
    return names


def plan_jobs(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    map_html: bool = True,
    rules_dir: str | Path | None = None,
    force: bool = False,
) -> list[Job]:
    """The jobs of a manifest: paths resolved, names unique, profiles known, hashes made.

    ``force`` lets each job replace a scheme folder that holds other files
    than an earlier output of this tool.

    Raises
    ------
    InputError
        The manifest is invalid (see :func:`read_manifest`), two entries
        share a ``name``, or an entry names an unknown profile; the message
        names the file and line.
    OutputError
        An input (the manifest, the rule folder, a scheme, raster or
        exceptions file of any entry) is, or lies inside, a scheme's output
        folder or is one of the batch's own files: the batch would delete or
        overwrite it (:func:`check_batch_paths`).  Nothing is written.
    """
    from .rules.catalogue import default_rules_dir, list_profiles

    path = Path(manifest)
    base = path.resolve().parent
    entries = read_manifest(path)
    names = _default_names(entries)
    seen: dict[str, int] = {}
    for (line, _), name in zip(entries, names, strict=True):  # schemes of a manifest
        if name in seen:
            raise InputError(
                f"{path}:{line}: name '{name}' is already used on line {seen[name]}; "
                "give each scheme its own name"
            )
        seen[name] = line
    rules = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    known = set(list_profiles(rules))
    for line, e in entries:  # schemes of a manifest
        if e.profile not in known:
            raise InputError(
                f"{path}:{line}: profile '{e.profile}' is unknown "
                f"(profiles: {', '.join(sorted(known))})"
            )

    def resolve(p: str | None) -> str | None:
        return None if p is None else str((base / p).resolve())

    out = Path(out_dir).resolve()
    code = _code_digest()
    jobs = []
    for (line, e), name in zip(entries, names, strict=True):  # schemes of a manifest
        rasters = {role: str(resolve(p)) for role, p in e.raster_paths().items()}
        job = Job(
            name=name,
            line=line,
            scheme=str(resolve(e.scheme)),
            profile=e.profile,
            year=e.year,
            rasters=rasters,
            exceptions=resolve(e.exceptions),
            out_dir=str(out / name),
            map_html=map_html,
            rules_dir=None if rules_dir is None else str(Path(rules_dir).resolve()),
            force=force,
        )
        jobs.append(job)
    check_batch_paths(path, out, jobs, rules_dir)
    return [_with_digest(job, rules, code) for job in jobs]


def check_batch_paths(
    manifest: str | Path, out_dir: str | Path, jobs: list[Job], rules_dir: str | Path | None
) -> None:
    """Refuse a batch whose outputs would delete or overwrite one of its inputs.

    Every scheme folder ``OUT/<name>/`` is replaced as a whole, and
    ``batch_summary.csv``, ``overview.html`` and ``batch_state.json`` are
    rewritten: none may be, or hold, the manifest, the rule folder, or a
    scheme, raster or exceptions file of any entry.  Output names are
    checked as ``compliance check`` checks ``--out``.

    Raises
    ------
    OutputError
        Naming the input and the output; nothing has been written.
    """
    out = Path(out_dir)
    check_output_name(out)
    inputs: list[tuple[str, str | Path | None]] = [
        ("manifest", manifest),
        ("rule folder", rules_dir),
    ]
    for job in jobs:  # schemes of a manifest
        inputs.append((f"input of scheme '{job.name}'", job.scheme))
        inputs.extend(
            (f"{role} raster of scheme '{job.name}'", p) for role, p in job.rasters.items()
        )
        inputs.append((f"exceptions file of scheme '{job.name}'", job.exceptions))
    outputs: list[tuple[str, str | Path]] = [
        (f"output folder of scheme '{job.name}'", job.out_dir) for job in jobs
    ]
    outputs += [("batch file", out / f) for f in (STATE_FILE, SUMMARY_FILE, OVERVIEW_FILE)]
    for job in jobs:  # schemes of a manifest
        check_output_name(job.out_dir)
    refuse_inputs_inside(inputs, outputs, fix="give the batch another --out or the scheme a name")


# --------------------------------------------------------------------------- hashing

_CHUNK = 1 << 20


def _hash_file(h: Any, path: Path) -> None:
    h.update(f"file:{path.name}:".encode())
    try:
        with path.open("rb") as fh:
            while block := fh.read(_CHUNK):
                h.update(block)
    except OSError as exc:
        h.update(f"unreadable:{exc.errno}".encode())


def _input_files(scheme: Path) -> list[Path]:
    """Every file a scheme is read from: the folder's files, or the file and its sidecars."""
    if scheme.is_dir():
        return sorted(p for p in scheme.rglob("*") if p.is_file())
    if not scheme.exists():
        return []
    siblings = [p for p in scheme.parent.glob(scheme.stem + ".*") if p.is_file()]
    sidecars = [scheme.with_name(scheme.name + s) for s in ("-wal", "-shm")]
    if scheme.suffix.lower() != ".shp":
        siblings = [scheme]
    return sorted({*siblings, *(p for p in sidecars if p.is_file())})


def _code_digest() -> str:
    """Hash of the checker's own code and version: new code re-checks every scheme."""
    from . import __version__

    h = hashlib.sha256(f"compliance {__version__}".encode())
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):  # the package's modules
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _profile_files(profile: str, rules_dir: Path) -> list[Path]:
    """The profile's rule file, those it inherits, and the seed texts."""
    files: list[Path] = []
    name: str | None = profile
    chain: set[str] = set()
    while name and name not in chain:  # the inheritance chain: a few files
        chain.add(name)
        f = rules_dir / f"{name}.yaml"
        if not f.is_file():
            break
        files.append(f)
        try:
            data = load_yaml_file(f) or {}
        except ComplianceError:  # the catalogue loader names the fault
            break
        parent = data.get("inherits") if isinstance(data, dict) else None
        name = str(parent) if parent else None
    seeds = rules_dir / "seeds"
    if seeds.is_dir():
        files.extend(sorted(p for p in seeds.iterdir() if p.is_file()))
    return files


def input_digest(job: Job, rules_dir: Path, code: str) -> str:
    """SHA-256 of everything a scheme's result depends on.

    The scheme's files (every file of a folder; a GeoPackage and its
    ``-wal``/``-shm``; a Shapefile and its sidecars), the rasters, the
    exceptions file, the profile's rule files (with those it inherits) and
    the seed texts, the year, the output options and the checker's code.
    """
    h = hashlib.sha256()
    h.update(f"state {STATE_VERSION}\ncode {code}\n".encode())
    h.update(f"profile {job.profile}\nyear {job.year}\nmap {job.map_html}\n".encode())
    h.update(f"scheme {job.scheme}\n".encode())
    for f in _input_files(Path(job.scheme)):  # the scheme's files
        _hash_file(h, f)
    for role, p in sorted(job.rasters.items()):  # three roles at most
        h.update(f"raster {role} {p}\n".encode())
        _hash_file(h, Path(p))
    if job.exceptions:
        h.update(f"exceptions {job.exceptions}\n".encode())
        _hash_file(h, Path(job.exceptions))
    for f in _profile_files(job.profile, rules_dir):  # the rule files
        _hash_file(h, f)
    return h.hexdigest()


def _with_digest(job: Job, rules_dir: Path, code: str) -> Job:
    from dataclasses import replace

    return replace(job, digest=input_digest(job, rules_dir, code))


# --------------------------------------------------------------------------- one scheme


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _footprint_wkt(scheme: Any) -> str | None:
    """The scheme's outline in EPSG:4326: its boundary, else the hull of its layers."""
    import geopandas as gpd
    import numpy as np
    import shapely

    boundary = scheme.layer("boundary")
    if boundary is not None:
        shape = shapely.union_all(boundary.geometry.to_numpy())
    else:
        hulls = [
            shapely.convex_hull(shapely.geometrycollections(gdf.geometry.to_numpy()))
            for gdf in scheme.layers.values()  # a dozen layers
            if not gdf.empty
        ]
        if not hulls:
            return None
        shape = shapely.convex_hull(shapely.geometrycollections(np.asarray(hulls)))
    if shape is None or shape.is_empty:
        return None
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        shape = shape.buffer(10.0)  # a point or a line: a small outline around it
    outline = gpd.GeoSeries([shape], crs=scheme.crs).simplify(5.0).to_crs(4326).iloc[0]
    return str(shapely.to_wkt(outline, rounding_precision=6))


def check_one(job: Job) -> dict[str, Any]:
    """Check one scheme and write its outputs: the task a batch runs on a worker.

    Never raises for a scheme that cannot be checked: the outcome says
    ``error`` with the one-line reason (``kind`` ``input`` for unusable
    input or rules, ``internal`` for a bug), and the batch goes on.

    Parameters
    ----------
    job : Job

    Returns
    -------
    dict
        ``name``, ``digest``, ``status`` (``ok`` or ``error``), ``error``,
        ``kind``, ``exit_code``, ``footprint`` (WKT, EPSG:4326), ``seconds``.
    """
    from .engine import check
    from .outputs.files import check_out_dir, holds_previous_output, write_outputs

    started = time.perf_counter()
    outcome: dict[str, Any] = {"name": job.name, "digest": job.digest, "footprint": None}
    try:
        # As `compliance check` does: a folder holding anything but an earlier output
        # of this tool is replaced only with --force.
        replace = job.force or holds_previous_output(job.out_dir)
        check_out_dir(job.out_dir, force=replace)
        result = check(
            job.scheme,
            job.profile,
            year=job.year,
            rasters=dict(job.rasters),
            exceptions=job.exceptions,
            rules_dir=None if job.rules_dir is None else Path(job.rules_dir),
            threads=1,  # the batch runs one scheme per worker: parallel across schemes
            passes=False,  # its outputs report violations only, as `compliance check` does
        )
        write_outputs(  # one thread, as the check: the batch is parallel across schemes
            result, job.out_dir, map_html=job.map_html, force=replace, threads=1
        )
        outcome.update(status="ok", error="", kind="", exit_code=result.exit_code)
        try:
            outcome["footprint"] = _footprint_wkt(result.scheme)
        except Exception:  # the outline is for the overview map only
            outcome["footprint"] = None
    except OutputError as exc:  # disk full, permissions, a folder of the user's: retried
        outcome.update(status="error", error=_one_line(exc), kind="output", exit_code=2)
    except ComplianceError as exc:
        outcome.update(status="error", error=_one_line(exc), kind="input", exit_code=2)
    except OSError as exc:  # the place failed outside the writers (e.g. the disk filled up)
        outcome.update(
            status="error",
            error=f"cannot write the output: {exc.strerror or _one_line(exc)}",
            kind="output",
            exit_code=2,
        )
    except Exception as exc:
        outcome.update(
            status="error",
            error=f"internal error: {type(exc).__name__}: {_one_line(exc)}",
            kind="internal",
            exit_code=3,
        )
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    return outcome


# --------------------------------------------------------------------------- state


def _write_atomic(path: Path, text: str) -> None:
    """Write a batch file whole or not at all; a full disk is an :class:`OutputError`."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(
                f"{path}: cannot be written ({exc.strerror or exc}); the schemes checked so far "
                "are kept, and the same command resumes once the place can take it"
            ) from exc
        raise


#: The batch's own files, whose temporary copies a killed run may leave (``.NAME.xxxx.tmp``).
_BATCH_TEMPORARY = re.compile(
    r"\.(?:"
    + "|".join(map(re.escape, ("batch_state.json", "batch_summary.csv", "overview.html")))
    + r")\.[a-z0-9_]{8}\.tmp"
)


def _clean_stale_files(out: Path) -> None:
    """Remove the temporary batch files a killed batch left in ``out``.

    A batch writes them only while it holds the state; one into the same
    folder at the same time is not supported, so any left is stale.
    """
    for entry in out.iterdir():  # the batch folder: its files and one folder per scheme
        if _BATCH_TEMPORARY.fullmatch(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)


def load_state(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The recorded outcome of each scheme of earlier runs into ``out_dir`` (empty if none)."""
    path = Path(out_dir) / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return {}
    schemes = data.get("schemes")
    return schemes if isinstance(schemes, dict) else {}


def _save_state(out: Path, state: dict[str, dict[str, Any]]) -> None:
    ordered = dict(sorted(state.items(), key=lambda kv: int(kv[1].get("line", 0))))
    _write_atomic(
        out / STATE_FILE,
        json.dumps({"version": STATE_VERSION, "schemes": ordered}, ensure_ascii=False, indent=1),
    )


def _outputs_in_place(job: Job) -> bool:
    folder = Path(job.out_dir)
    needed = ["summary.csv", "findings.geojson", "run.json"] + (
        ["map.html"] if job.map_html else []
    )
    return all((folder / f).is_file() for f in needed)


def is_current(job: Job, recorded: dict[str, Any] | None) -> bool:
    """Whether an earlier outcome still stands: same hash, and its outputs in place.

    An ``ok`` outcome stands while its outputs exist; an ``error`` outcome
    caused by the input (``kind`` ``input``) stands as long as the input is
    unchanged; a failure to write the output (``kind`` ``output``: a full
    disk, permissions, a folder holding other files), an internal error or a
    lost worker is always retried.
    """
    if not recorded or recorded.get("digest") != job.digest:
        return False
    if recorded.get("status") == "ok":
        return _outputs_in_place(job)
    return recorded.get("status") == "error" and recorded.get("kind") == "input"


# --------------------------------------------------------------------------- result


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out_dir : pathlib.Path
    schemes : pandas.DataFrame
        One row per scheme in manifest order: ``name``, ``scheme``,
        ``profile``, ``year``, ``status`` (``ok``/``error``), ``error``,
        ``exit_code``, ``violations``, ``reused`` (unchanged since an earlier
        run, not checked again), ``seconds``.
    summary : pandas.DataFrame
        The rows of ``batch_summary.csv``.
    """

    out_dir: Path
    schemes: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 when a scheme could not be checked, else 1 when any rule failed, else 0."""
        if (self.schemes["status"] == "error").any():
            return 2
        return int((self.schemes["exit_code"] == 1).any())


def _summary_rows(jobs: list[Job], state: dict[str, dict[str, Any]]) -> pd.DataFrame:
    from .engine import SUMMARY_COLUMNS

    frames = []
    for job in jobs:  # schemes, in manifest order
        rec = state.get(job.name, {})
        head = {
            "scheme_name": job.name,
            "scheme_path": job.scheme,
            "scheme_profile": job.profile,
            "scheme_year": job.year,
        }
        if rec.get("status") == "ok":
            s = pd.read_csv(Path(job.out_dir) / "summary.csv", encoding="utf-8", dtype=object)
            frame = pd.DataFrame({**head, "run_status": "ok", "run_error": ""}, index=s.index)
            frames.append(pd.concat([frame, s], axis=1))
        else:
            reason = rec.get("error") or "not checked"
            frames.append(pd.DataFrame([{**head, "run_status": "error", "run_error": reason}]))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out.reindex(columns=[*BATCH_COLUMNS, *SUMMARY_COLUMNS])


def _violations(summary: pd.DataFrame) -> pd.Series:
    failed = pd.to_numeric(summary["failed"], errors="coerce").fillna(0)
    return failed.groupby(summary["scheme_name"], sort=False).sum().astype(int)


# --------------------------------------------------------------------------- overview map


def write_overview(
    path: str | Path,
    jobs: list[Job],
    state: dict[str, dict[str, Any]],
    summary: pd.DataFrame,
) -> Path:
    """Write ``overview.html``: each scheme's outline coloured by its number of violations.

    Outlines are the schemes' ``boundary`` layers, else the convex hull of
    their layers, in EPSG:4326.  A popup gives the scheme's per-rule counts
    (violations / checked and the rule's status) and links to its
    ``map.html``.  Schemes that could not be checked are listed in a box.
    """
    import branca.colormap as cm
    import folium
    import shapely

    counts = _violations(summary) if len(summary) else pd.Series(dtype=int)
    shapes = []
    for job in jobs:  # schemes
        wkt = state.get(job.name, {}).get("footprint")
        if wkt:
            shapes.append((job, shapely.from_wkt(wkt)))
    top = max([int(counts.get(j.name, 0)) for j, _ in shapes] + [1])
    colours = cm.LinearColormap(
        ["#1a9850", "#fee08b", "#d73027"], vmin=0, vmax=top, caption="违规数 violations"
    )
    if shapes:
        minx, miny, maxx, maxy = shapely.union_all([g for _, g in shapes]).bounds
        centre = [(miny + maxy) / 2, (minx + maxx) / 2]
    else:
        minx = miny = maxx = maxy = None
        centre = [35.0, 110.0]
    m = folium.Map(location=centre, zoom_start=6, tiles="OpenStreetMap", control_scale=True)
    for job, geom in shapes:  # one outline per scheme
        n = int(counts.get(job.name, 0))
        rows = summary[summary["scheme_name"] == job.name]
        table = "".join(
            f"<tr><td>{html.escape(str(r.rule_id))}</td><td>{html.escape(str(r.status))}</td>"
            f"<td style='text-align:right'>{html.escape(str(r.failed))} / "
            f"{html.escape(str(r.checked))}</td></tr>"
            for r in rows.itertuples()  # the scheme's rules
        )
        link = html.escape(f"{job.name}/map.html", quote=True)
        popup = (
            f"<b>{html.escape(job.name)}</b><br>{html.escape(job.profile)}"
            f"{' ' + str(job.year) if job.year else ''} · 违规 {n} violations<br>"
            f"<a href='{link}' target='_blank'>查看地图 open map</a>"
            "<table style='font-size:11px'><tr><th>rule</th><th>status</th>"
            f"<th>违规/检查 failed/checked</th></tr>{table}</table>"
        )
        colour = colours(n)
        folium.GeoJson(
            shapely.geometry.mapping(geom),
            name=job.name,
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": "#333333",
                "weight": 1,
                "fillOpacity": 0.6,
            },
            tooltip=f"{job.name}: {n}",
            popup=folium.Popup(popup, max_width=420),  # type: ignore[arg-type]
        ).add_to(m)
    colours.add_to(m)
    failed = [j for j in jobs if state.get(j.name, {}).get("status") != "ok"]
    if failed:
        items = "".join(
            f"<li>{html.escape(j.name)}: "
            f"{html.escape(str(state.get(j.name, {}).get('error')))}</li>"
            for j in failed  # schemes that could not be checked
        )
        box = (
            "<div style='position:fixed;bottom:20px;left:10px;z-index:9999;background:white;"
            "padding:6px;border:1px solid #999;max-width:420px;font-size:12px'>"
            f"<b>未能审查 not checked</b><ul>{items}</ul></div>"
        )
        m.get_root().html.add_child(folium.Element(box))  # type: ignore[attr-defined]
    if minx is not None:
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    out = Path(path)
    _write_atomic(out, m.get_root().render())
    return out


# --------------------------------------------------------------------------- the batch


def _progress_bar(progress: bool | Literal["always"], total: int) -> Any:
    """A rich progress bar on stderr (done/total, elapsed, time left), or None."""
    show = progress == "always" or (progress is True and sys.stderr.isatty())
    if not show or total == 0:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    bar.start()
    bar.add_task("schemes", total=total)
    return bar


#: Modules the local workers' processes start with already imported (the checker,
#: its readers and writers): importing them takes seconds of CPU, which every worker
#: would spend again before its first scheme.
WORKER_PRELOAD = (
    "compliance.batch",
    "compliance.engine",
    "compliance.outputs.files",
    "compliance.outputs.report",
    "compliance.outputs.map",
    "compliance.outputs.workbook",
    "compliance.outputs.opinion",
)


def _preloaded_forkserver() -> Any:
    """Dask's forkserver multiprocessing context, its server holding the checker imported.

    Local worker processes are then forked from a process that imported
    the checker once, instead of each spawning a fresh Python that imports
    it again (seconds of CPU per worker, which 16 workers spend 16 times).
    The server starts with dask's pre-spawn environment (``OMP_NUM_THREADS=1``
    …), as a spawned worker would.  Where the platform has no forkserver
    (Windows, macOS defaults aside), returns None and dask spawns as usual.
    """
    import multiprocessing
    import multiprocessing.forkserver

    import dask
    from distributed.utils import get_mp_context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        ctx = get_mp_context()  # sets dask's own preload (distributed, numpy, pandas …)
        env = {
            str(k): str(v)
            for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}).items()
        }
    ctx.set_forkserver_preload(["distributed", "geopandas", "shapely", *WORKER_PRELOAD])
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        multiprocessing.forkserver.ensure_running()  # inherits this environment
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ctx


def _client(scheduler: str | None, workers: int | None, processes: bool) -> tuple[Any, Any]:
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or _cores()
    # Workers log nothing below CRITICAL: a failed scheme is reported as its
    # outcome, and on Ctrl-C or close a worker would log a lost heartbeat with
    # a traceback.
    with _workers_ignore_ctrl_c(), warnings.catch_warnings():
        # the forkserver too starts with Ctrl-C ignored: the workers forked from it inherit that
        forked = processes and _preloaded_forkserver() is not None
        method = "forkserver" if forked else "spawn"
        # The scheduler's HTTP server (health checks) moves to another port when
        # 8787 is taken (another cluster on the machine): nothing for the user.
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
    return Client(cluster), cluster


def _cores() -> int:
    """The cores this process may run on (its CPU affinity), not all the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _input_bytes(job: Job) -> int:
    """Size of a scheme's files, to start the largest first."""
    return sum(f.stat().st_size for f in _input_files(Path(job.scheme)) if f.is_file())


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (they inherit it), then restore it.

    Ctrl-C in a terminal reaches the whole process group: each dask worker
    process would print a KeyboardInterrupt traceback
    (https://github.com/dask/distributed/issues/1925).  This process alone
    handles the interrupt and closes the cluster, which stops the workers.
    A Ctrl-C while the cluster starts (a second or two) is ignored too.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_batch(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool | Literal["always"] = True,
    force: bool = False,
    processes: bool = True,
    map_html: bool = True,
    rules_dir: str | Path | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchResult:
    """Check every scheme of a manifest in parallel and write the batch outputs.

    Parameters
    ----------
    manifest : str or pathlib.Path
        CSV or YAML manifest (see the module's documentation).
    out_dir : str or pathlib.Path
        Batch output folder: one folder per scheme, ``batch_summary.csv``,
        ``overview.html`` and ``batch_state.json``.
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``); the
        workers need ``compliance`` installed and the input paths readable.
        Default: a local cluster.
    workers : int, optional
        Worker processes of the local cluster; default: one per core.
    progress : bool or "always"
        Show a progress bar (schemes done, time left) on stderr when it is a
        terminal; ``"always"`` shows it anyway; False never.
    force : bool
        Check every scheme again, even those unchanged since the last run.
    processes : bool
        Local cluster of processes (default) or of threads in this process.
    map_html : bool
        Render each scheme's ``map.html``.
    rules_dir : str or pathlib.Path, optional
        Catalogue folder instead of the shipped one.
    on_result : callable, optional
        Called with each scheme's outcome as it completes (after the state
        is saved).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        The manifest is invalid (file and line named).
    OutputError
        ``out_dir`` cannot be created or written.
    KeyboardInterrupt
        Interrupted: the schemes completed so far are recorded, and a re-run
        resumes with the others.
    """
    out = Path(out_dir).resolve()
    if scheduler is None and processes:
        # the workers' forkserver imports the checker while the inputs are hashed
        with _workers_ignore_ctrl_c():
            _preloaded_forkserver()
    jobs = plan_jobs(manifest, out, map_html=map_html, rules_dir=rules_dir, force=force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the batch output folder ({exc})") from exc
    _clean_stale_files(out)
    state = load_state(out)
    state = {j.name: state[j.name] for j in jobs if j.name in state}  # drop schemes not listed
    reused = {j.name for j in jobs if not force and is_current(j, state.get(j.name))}
    todo = [j for j in jobs if j.name not in reused]
    notes: list[str] = [
        Note(
            f"{count_en(len(reused), 'scheme')} unchanged since the last run, not checked again",
            f"{len(reused):,} 个方案自上次运行以来未改动，未重新检查",
        )
    ] * bool(reused)
    seconds: dict[str, float] = {}
    bar = _progress_bar(progress, len(todo))
    try:
        if todo:
            _run_jobs(todo, state, out, scheduler, workers, processes, bar, on_result, seconds)
    finally:
        if bar is not None:
            bar.stop()
    summary = _summary_rows(jobs, state)
    _write_atomic(out / SUMMARY_FILE, summary.to_csv(index=False))
    write_overview(out / OVERVIEW_FILE, jobs, state, summary)
    counts = _violations(summary) if len(summary) else pd.Series(dtype=int)
    schemes = pd.DataFrame(
        [
            {
                "name": j.name,
                "scheme": j.scheme,
                "profile": j.profile,
                "year": j.year,
                "status": state.get(j.name, {}).get("status", "error"),
                "error": state.get(j.name, {}).get("error", ""),
                "exit_code": state.get(j.name, {}).get("exit_code", 3),
                "violations": int(counts.get(j.name, 0)),
                "reused": j.name in reused,
                "seconds": seconds.get(j.name, 0.0),
            }
            for j in jobs  # schemes
        ]
    )
    schemes["year"] = schemes["year"].astype("Int64")
    return BatchResult(out_dir=out, schemes=schemes, summary=summary, notes=notes)


def summary_lines(result: BatchResult) -> list[str]:
    """What a batch did, one line per scheme and a last line of totals (for the CLI).

    Each line: name, ``ok``/``error``, violations or the reason, and whether it
    was reused unchanged from an earlier run.
    """
    lines = []
    for r in result.schemes.itertuples():  # one line per scheme
        if r.status == "ok":
            again = " (unchanged, not checked again)" if bool(r.reused) else ""
            what = f"{count_en(int(str(r.violations)), 'violation')}{again}"
        else:
            what = str(r.error)
        lines.append(f"  {r.name}  {r.status:<5} {what}")
    ok = int((result.schemes["status"] == "ok").sum())
    lines.append(
        f"{ok} of {count_en(len(result.schemes), 'scheme')} checked; summary in "
        f"{result.out_dir / SUMMARY_FILE}, map in {result.out_dir / OVERVIEW_FILE}"
    )
    return lines


def _run_jobs(
    todo: list[Job],
    state: dict[str, dict[str, Any]],
    out: Path,
    scheduler: str | None,
    workers: int | None,
    processes: bool,
    bar: Any,
    on_result: Callable[[dict[str, Any]], None] | None,
    seconds: dict[str, float],
) -> None:
    from dask.distributed import as_completed

    client, cluster = _client(scheduler, workers, processes)
    futures = []
    try:
        by_key = {}
        # Largest schemes first: a big one started last would keep one worker busy
        # while the others idle (longest-processing-time-first scheduling).
        size = {job.name: _input_bytes(job) for job in todo}
        order = sorted(todo, key=lambda job: size[job.name], reverse=True)
        for rank, job in enumerate(order):  # one task per scheme
            fut = client.submit(
                check_one,
                job,
                key=f"compliance-{job.name}-{job.digest[:12]}",
                priority=len(order) - rank,
            )
            by_key[fut.key] = job
            futures.append(fut)
        for fut in as_completed(futures):  # as the schemes finish
            job = by_key[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died (memory) or the task was lost
                outcome = {
                    "name": job.name,
                    "digest": job.digest,
                    "status": "error",
                    "error": f"worker failed: {type(exc).__name__}: {_one_line(exc)}",
                    "kind": "internal",
                    "exit_code": 3,
                    "footprint": None,
                    "seconds": 0.0,
                }
            outcome.update(scheme=job.scheme, profile=job.profile, year=job.year, line=job.line)
            state[job.name] = outcome
            seconds[job.name] = float(outcome.get("seconds", 0.0))
            _save_state(out, state)
            if bar is not None:
                bar.advance(bar.task_ids[0])
            if on_result is not None:
                on_result(outcome)
    finally:
        for fut in futures:
            fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
