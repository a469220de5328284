"""Writing a run's outputs: ``findings.geojson``, ``summary.csv``, ``map.html``,
``report.html``, ``findings.gpkg``, ``opinion.docx``, ``findings.xlsx``, ``run.json``.

Everything is written into a temporary directory beside ``--out`` and moved
into place only when complete, so a failed run leaves no partial output.  An
existing ``--out`` that is not empty is replaced only when asked to
(``force``), in one step.  The final swap is serialised by an exclusive lock
on a hidden file beside the directory (``.DIR.lock``, removed by the run that
holds it), so two runs into the same directory at once leave one complete
output of one run, never a mix and never a temporary directory.  An ``--out``
that is, or contains, an input of the run is refused: replacing it would
delete the input.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..engine import SUMMARY_COLUMNS, Result
from ..errors import OutputError
from ..inspect import input_facts
from ..paths import check_output_name, is_within, real_path, refuse_inputs_inside
from .provenance import Provenance
from .provenance import provenance as _provenance

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows: no advisory locks, swaps not serialised)
    fcntl = None  # type: ignore[assignment]

FINDINGS_FILE = "findings.geojson"
SUMMARY_FILE = "summary.csv"
MAP_FILE = "map.html"
REPORT_FILE = "report.html"
FINDINGS_GPKG_FILE = "findings.gpkg"
RUN_FILE = "run.json"
OPINION_FILE = "opinion.docx"
WORKBOOK_FILE = "findings.xlsx"

#: CRSs ``findings.gpkg`` may be written in (``--findings-crs``).
FINDINGS_CRS_CHOICES = ("4326", "measuring")


#: Grid the findings' coordinates are written on, degrees: the 7 decimals of
#: RFC 7946 GeoJSON as GDAL writes it (about 1 cm).
OUTPUT_GRID_DEG = 1e-7


def findings_for_output(result: Result, *, include_passes: bool = False) -> gpd.GeoDataFrame:
    """Findings as written to ``findings.geojson``, in EPSG:4326.

    Geometries are snapped to the written precision (:data:`OUTPUT_GRID_DEG`)
    so that every written geometry is valid: one too small to survive it (a
    gap of a millimetre, a zero-length line) becomes the point where it is,
    and an empty geometry becomes null.

    Parameters
    ----------
    result : Result
        Findings in the measuring CRS.
    include_passes : bool
        Also write the ``pass`` finding of every feature measured.  By
        default only ``fail``, ``warn`` and ``not_evaluated`` are written.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per finding, geometries in EPSG:4326, valid or null.
    """
    f = result.findings
    if not include_passes:
        f = f[f["status"] != "pass"]
    f = f.to_crs(4326)
    return f.set_geometry(_valid_at_output_precision(f.geometry.to_numpy()), crs=f.crs)


def _valid_at_output_precision(geoms: np.ndarray) -> np.ndarray:
    """Geometries on the output grid, valid; collapsed ones as their point, empty ones None."""
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    out = np.full(len(geoms), None, dtype=object)
    if not present.any():
        return out
    given = geoms[present]
    try:
        snapped = shapely.set_precision(given, OUTPUT_GRID_DEG)
    except shapely.errors.GEOSException:
        snapped = shapely.set_precision(shapely.make_valid(given), OUTPUT_GRID_DEG)
    collapsed = shapely.is_empty(snapped)
    if collapsed.any():
        where = shapely.centroid(given[collapsed])
        snapped[collapsed] = shapely.set_precision(where, OUTPUT_GRID_DEG)
    out[present] = snapped
    return out


def write_findings(result: Result, path: Path, *, include_passes: bool = False) -> None:
    """Write findings as GeoJSON (EPSG:4326, UTF-8, one feature per finding).

    GDAL's RFC 7946 writer, given the columns through Arrow (a fifth faster
    than feature by feature; the same bytes: :func:`as_arrow_writes`).
    """
    import pyogrio

    out = as_arrow_writes(findings_for_output(result, include_passes=include_passes))
    pyogrio.write_dataframe(
        out, path, driver="GeoJSON", layer_options={"RFC7946": "YES"}, use_arrow=True
    )


def _missing(value: object) -> bool:
    """None or NaN: what pyogrio writes as null (``pd.NA`` it writes ``"<NA>"``)."""
    return value is None or (isinstance(value, float) and value != value)


def as_arrow_writes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns of Python objects as texts, as pyogrio writes them.

    Written feature by feature, pyogrio makes a column of Python objects (the
    findings' ``year``: integers or None) a text field holding ``str`` of each
    value, missing ones null; through Arrow it would infer a type from the
    values instead (an integer field).  Converting first keeps the written
    field, and so the file, the same either way.
    """
    out = frame
    for c in frame.columns:  # a score of columns
        values = frame[c].to_numpy()
        if values.dtype != object or isinstance(frame[c], gpd.GeoSeries):
            continue
        missing = pd.isna(values)
        if pd.api.types.infer_dtype(values[~missing], skipna=False) in ("string", "empty") and all(
            _missing(v) for v in values[missing]
        ):
            continue  # texts and nulls already: Arrow writes them as pyogrio does
        if out is frame:
            out = frame.copy()
        out[c] = pd.Series(
            [None if _missing(v) else str(v) for v in values], index=frame.index, dtype=object
        )
    return out


def rounded_summary(result: Result) -> pd.DataFrame:
    """The summary as written: values rounded to their unit's precision, integer years.

    ``worst``, ``limit`` and ``limit_low`` are rounded to the decimals the
    messages print them with (:func:`compliance.outputs.provenance.decimals`),
    so ``5252.100840336135`` persons/km² is written ``5252.0``; ``year`` and
    the counts are integers (empty when missing), never ``2025.0``.
    """
    from .provenance import decimals

    out = result.summary[SUMMARY_COLUMNS].copy()
    places = out["unit"].astype(str).map(decimals).to_numpy()
    for c in ("worst", "limit", "limit_low"):
        values = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float, copy=True)
        for d in np.unique(places):  # a handful of precisions
            same = places == d
            values[same] = np.round(values[same], int(d))
        out[c] = values
    for c in ("year", "checked", "failed", "skipped", "excepted"):
        out[c] = pd.to_numeric(out[c], errors="coerce").round().astype("Int64")
    return out


def write_summary(result: Result, path: Path) -> None:
    """Write ``summary.csv``: UTF-8 without a BOM (scripts read it), one row per rule.

    Values rounded to their unit's precision and integer years
    (:func:`rounded_summary`).  Spreadsheet users open ``findings.xlsx``.
    """
    rounded_summary(result).to_csv(path, index=False, encoding="utf-8")


def run_info(result: Result, provenance: Provenance | None = None) -> dict[str, object]:
    """What the run was: scheme, profile, measuring CRS, repairs, notes, warnings, provenance."""
    s = result.scheme
    prov = {} if provenance is None else {"provenance": provenance.as_dict()}
    return {
        **prov,
        "scheme": s.source,
        "layer_sources": s.layer_sources,
        "profile": result.profile.name,
        "profile_document": result.profile.document,
        "year": result.profile.year,
        "crs": s.crs_label,
        "rasters": {role: str(r.path) for role, r in s.rasters.items()},
        "layers": {name: len(gdf) for name, gdf in s.layers.items()},
        "repaired_geometries": s.repaired,
        "dropped_empty_geometries": s.dropped_empty,
        "notes": result.notes,
        "warnings": s.warnings,
        "exit_code": result.exit_code,
        "inputs": input_facts(result),
    }


def _inputs_of(result: Result) -> list[Path]:
    paths = [Path(r.path) for r in result.scheme.rasters.values()]
    if result.scheme.source:
        paths.append(Path(result.scheme.source))
    return paths


def check_out_dir(
    out_dir: str | Path,
    *,
    force: bool = False,
    inputs: Iterable[str | Path | tuple[str, str | Path | None]] = (),
) -> Path:
    """Refuse an output directory the run must not write; call before a long run.

    :func:`write_outputs` makes the same checks again when it moves the
    finished output into place; this lets a caller fail before the work.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output directory (``--out``).
    force : bool
        Replace an existing directory that is not empty.
    inputs : iterable of path, or of (label, path or None)
        The run's input files and folders (scheme, rasters, exceptions file,
        field map, rule folder), labelled for the message (``"input"`` when
        not): ``out_dir`` must be none of them and contain none of them
        (:func:`compliance.paths.refuse_inputs_inside`).

    Returns
    -------
    pathlib.Path
        ``out_dir`` resolved to an absolute path.

    Raises
    ------
    OutputError
        ``out_dir`` is an input or contains one; its name holds a control
        character or is too long for the file system
        (:func:`compliance.paths.check_output_name`); it exists and is not a
        directory; exists, is not empty and ``force`` is false.
    """
    check_output_name(out_dir)
    labelled = [i if isinstance(i, tuple) else ("input", i) for i in inputs]
    refuse_inputs_inside(labelled, [("output directory", out_dir)])
    out = real_path(out_dir)
    _check_existing(out, Path(out_dir), force=force)
    return out


def _check_existing(out: Path, shown: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{shown}: exists and is not a directory; choose another --out")
    if not force and out.is_dir() and any(not _is_ours(p, out) for p in out.iterdir()):
        raise OutputError(f"{shown} exists and is not empty; use --force to replace it")


#: Names of this tool's temporary folders of an output ``NAME``: ``.NAME.xxxxxxxx.tmp``
#: (being written) and ``.NAME.xxxxxxxx.old`` (the output it replaced, being deleted),
#: ``xxxxxxxx`` from :func:`tempfile.mkdtemp`.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.(?:tmp|old)")

#: Files of an output folder written by this tool (and by its other writers), by suffix;
#: a folder holding ``run.json`` and only such files is a previous output of this tool.
OUTPUT_SUFFIXES = frozenset(
    {".geojson", ".csv", ".html", ".gpkg", ".json", ".docx", ".xlsx", ".pdf", ".png", ".svg"}
)


def _is_temporary(path: Path, out: Path) -> bool:
    """Whether ``path`` is named as one of this tool's temporary folders of ``out``."""
    m = _TEMPORARY.fullmatch(path.name)
    return m is not None and m["name"] == out.name and path.is_dir() and not path.is_symlink()


def holds_previous_output(folder: str | Path) -> bool:
    """Whether a folder holds an output of this tool and nothing else.

    True for a folder with a ``run.json`` this tool wrote (a JSON object with
    ``scheme``, ``profile`` and ``exit_code``) whose other entries are all
    files with a suffix of :data:`OUTPUT_SUFFIXES` (or this tool's temporary
    folders).  A folder a user keeps other files in (notes, sub-folders) is
    not: replacing it would delete them.
    """
    p = Path(folder)
    try:
        info = json.loads((p / RUN_FILE).read_text(encoding="utf-8"))
        if not isinstance(info, dict) or not {"scheme", "profile", "exit_code"} <= set(info):
            return False
        return all(
            _is_temporary(e, p)
            or (e.is_file() and not e.is_symlink() and e.suffix.lower() in OUTPUT_SUFFIXES)
            for e in p.iterdir()  # the few files of one output
        )
    except (OSError, ValueError):
        return False


def clean_stale_temporaries(out: str | Path, *, keep: Iterable[str | Path] = ()) -> list[Path]:
    """Remove the temporary folders a killed run of this tool left beside ``out`` (or in it).

    A run holds an exclusive ``flock`` on its temporary folder from its
    creation until the output is in place; a folder named as a temporary
    folder of ``out`` that no process holds was left by a run that was
    killed (SIGKILL, power loss) and is removed.  A folder another run is
    writing is locked and kept.  Call with the swap lock held (see
    :func:`write_outputs`), so no run is between creating its folder and
    locking it.

    Parameters
    ----------
    out : str or pathlib.Path
        The output folder.
    keep : iterable of path
        Inputs of the run: a folder that is or holds one is never removed.

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    target = real_path(out)
    kept = list(keep)
    places = [target.parent] + ([target] if target.is_dir() else [])
    removed = []
    for place in places:
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for entry in entries:  # the folder's entries: a handful
            if not _is_temporary(entry, target):
                continue
            if any(is_within(k, entry) for k in kept):
                continue
            if _lock_dir(entry, wait=False) is None:
                continue  # a run is writing it
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _lock_dir(folder: Path, *, wait: bool) -> int | None:
    """An open descriptor holding an exclusive flock on ``folder``; None when another holds it.

    The lock goes with the descriptor: closing it (or the process ending,
    however it ends) releases it.  Without ``fcntl`` (Windows) no lock is
    taken and a descriptor of -1 is returned.
    """
    if fcntl is None:  # pragma: no cover
        return -1
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock_dir(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


@contextmanager
def _swap_lock(out: Path, lock: Path | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``.NAME.lock`` beside ``out``; remove it when done.

    A waiter that wakes on a lock file its holder has already removed retries
    on the current file, so at most one run holds the lock at a time.  Where
    the platform has no ``fcntl`` (Windows) nothing is locked.  ``lock``
    names another lock file (inside ``out`` when ``out`` is a mount point).
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock = lock if lock is not None else out.with_name(f".{out.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)  # removed by the previous holder: lock the new one
    try:
        yield
    finally:
        try:
            lock.unlink()
        finally:
            os.close(fd)  # closing releases the lock


def _is_mount_point(out: Path) -> bool:
    """An existing folder that cannot be renamed over (a mount point, e.g. a Docker volume)."""
    try:
        return out.is_dir() and not out.is_symlink() and os.path.ismount(out)
    except OSError:
        return False


def write_outputs(
    result: Result,
    out_dir: str | Path,
    *,
    include_passes: bool = False,
    map_html: bool = True,
    force: bool = False,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    offline: bool = True,
    findings_crs: str = "4326",
    rules_dir: str | Path | None = None,
    inputs: dict[str, str | Path | None] | None = None,
    office: bool = True,
    threads: int | None = None,
) -> Path:
    """Write all outputs of a run into ``out_dir``, atomically.

    The files are written into a temporary directory beside ``out_dir`` and
    moved into place when complete, under an exclusive lock on
    ``.NAME.lock`` beside it: concurrent runs into the same directory leave
    the complete output of one of them.  On any error nothing is left behind:
    no temporary directory, no partial output, any previous output intact.

    Parameters
    ----------
    result : Result
    out_dir : str or pathlib.Path
        Output directory; created (with its parents) when missing.
    include_passes : bool
        Write passing findings to ``findings.geojson`` too.
    map_html : bool
        Render ``map.html``.
    force : bool
        Replace ``out_dir`` as a whole when it exists and is not empty.
        Without it such a directory is an error.  An empty directory is
        always replaced.
    lang : {"zh", "en"}
        Language of ``report.html`` and ``opinion.docx``.
    basemap, tianditu_key, offline
        Of ``map.html``: see :func:`compliance.outputs.map.render_map`
        (``offline`` True by default: Leaflet inlined).
    findings_crs : {"4326", "measuring"}
        CRS of ``findings.gpkg``: EPSG:4326 (default) or the measuring CRS
        of the run (CGCS2000 Gauss-Krüger or UTM, metres).
    rules_dir : str or pathlib.Path, optional
        Catalogue folder the profile came from, for its hash (provenance).
    inputs : dict, optional
        Input files by role not known to the result (``field_map``,
        ``exceptions``), hashed into the provenance.
    office : bool
        Write ``opinion.docx`` and ``findings.xlsx`` (python-docx and
        openpyxl add about half a second; a designer's watch loop may skip them).
    threads : int, optional
        Files written at once, each by a thread of its own (default: the
        cores, at most :data:`MAX_WRITERS`, for a run of
        :data:`PARALLEL_MIN_FINDINGS` findings or more; 1 writes them one by
        one in the calling thread).  The
        files are the same either way; when several writers fail, the error
        raised is the one of the file written first one by one
        (:data:`_WRITE_ORDER`).

    Returns
    -------
    pathlib.Path
        The output directory.

    Raises
    ------
    OutputError
        ``out_dir`` exists and is not empty (without ``force``), is not a
        directory, is or contains the scheme or a raster of the run, or
        cannot be created or replaced (e.g. a read-only place).
    """
    out = check_out_dir(out_dir, force=force, inputs=_inputs_of(result))
    shown = Path(out_dir)
    created = _missing_parents(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp, held = _make_temporary(out, keep=_inputs_of(result))
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(
            f"{shown}: cannot create the output directory in {out.parent} "
            f"({_reason(exc)}); choose another --out"
        ) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; outputs are for others to read
        from .opinion import write_opinion
        from .report import render_report, write_findings_gpkg
        from .workbook import write_workbook

        gpkg_crs: int | str = "measuring" if findings_crs == "measuring" else 4326
        workers = _writers(threads, len(result.findings))
        with _Inline() if workers == 1 else ThreadPoolExecutor(workers, "out") as pool:
            # The writers run at once: GEOS, hashing and zlib release Python's lock;
            # GDAL's writers and the office files hold it.  Each writes a file of its own.
            written = {
                FINDINGS_FILE: pool.submit(
                    write_findings, result, tmp / FINDINGS_FILE, include_passes=include_passes
                ),
                SUMMARY_FILE: pool.submit(write_summary, result, tmp / SUMMARY_FILE),
            }
            try:
                prov = _provenance(result, rules_dir=rules_dir, inputs=inputs)
                written[REPORT_FILE] = pool.submit(
                    render_report,
                    result,
                    tmp / REPORT_FILE,
                    lang=lang,
                    map_href=MAP_FILE if map_html else None,
                    provenance=prov,
                )  # the longest: started before the others that wait for a thread
                written[FINDINGS_GPKG_FILE] = pool.submit(
                    write_findings_gpkg,
                    result,
                    tmp / FINDINGS_GPKG_FILE,
                    include_passes=include_passes,
                    crs=gpkg_crs,
                )
                if map_html:
                    from .map import render_map

                    written[MAP_FILE] = pool.submit(
                        render_map,
                        result,
                        tmp / MAP_FILE,
                        basemap=basemap,
                        tianditu_key=tianditu_key,
                        offline=offline,
                        provenance=prov,
                        lang=lang,
                    )
                if office:
                    written[WORKBOOK_FILE] = pool.submit(
                        write_workbook, result, tmp / WORKBOOK_FILE, provenance=prov
                    )
                    written[OPINION_FILE] = pool.submit(
                        write_opinion, result, tmp / OPINION_FILE, lang=lang, provenance=prov
                    )
                # the first failure in the order the files were once written one by one
                for name in _WRITE_ORDER:
                    if name in written:
                        written[name].result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # nothing writes into tmp after
                raise
        (tmp / RUN_FILE).write_text(
            json.dumps(run_info(result, prov), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        with _swap_lock(out, _lock_file(out)):
            _check_existing(out, shown, force=force)  # again: another run may have finished
            old = _replace_dir(tmp, out, shown)
    except BaseException as exc:
        _unlock_dir(held)
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        place_error = _place_error(exc, shown, tmp)
        if place_error is not None:
            raise place_error from exc
        raise
    _unlock_dir(held)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return Path(out_dir)


#: Files written at once at most (the writers of a run: eight files).
MAX_WRITERS = 4

#: The order the files were written in one by one: the first failure in it is raised.
_WRITE_ORDER = (
    FINDINGS_FILE,
    FINDINGS_GPKG_FILE,
    SUMMARY_FILE,
    WORKBOOK_FILE,
    OPINION_FILE,
    MAP_FILE,
    REPORT_FILE,
)


#: Findings below which the files are written one by one in the calling thread: a small
#: run's files take tens of milliseconds, less than a thread's first reprojection (PROJ
#: sets up a transformation once per thread).
PARALLEL_MIN_FINDINGS = 20_000


def _writers(threads: int | None, findings: int = PARALLEL_MIN_FINDINGS) -> int:
    """Writer threads: ``threads``; by default the cores (at most :data:`MAX_WRITERS`),
    or 1 for a run of fewer than :data:`PARALLEL_MIN_FINDINGS` findings."""
    if threads is not None:
        return max(1, int(threads))
    if findings < PARALLEL_MIN_FINDINGS:
        return 1
    return max(1, min(MAX_WRITERS, os.cpu_count() or 1))


class _Inline:
    """An executor that runs each task at once in the calling thread (``threads=1``)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:  # raised in writing order, as by the threads
            done.set_exception(exc)
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


#: errno values that say the place cannot take the output (not a bug of the checker).
_PLACE_ERRORS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG}
)


#: Words of an error (GDAL's, a library's) that say the disk is full.
_NO_SPACE = ("no space left", "disk quota", "disk full", "not enough space")


def _place_error(exc: BaseException, shown: Path, tmp: Path) -> OutputError | None:
    """The one-line error of a failure of the place (disk full, permissions), else None.

    GDAL and other writers report a full disk in their own words and name the
    temporary folder (removed by then): the message names ``--out`` instead.
    """
    if not isinstance(exc, Exception):
        return None
    text = " ".join(str(exc).split())
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        w in text.lower() for w in _NO_SPACE
    )
    if not full:
        try:  # a writer's failure ("Cannot write feature") with the disk (nearly) full
            full = shutil.disk_usage(tmp.parent).free < LOW_SPACE_BYTES
        except OSError:
            full = False
    if full:
        return OutputError(
            f"{shown}: cannot write the output: no space left on the device; "
            "free some space or choose another --out (nothing was written)"
        )
    if isinstance(exc, OutputError):  # a writer's own: name --out, not the temporary folder
        return OutputError(text.replace(str(tmp), str(shown)))
    if isinstance(exc, OSError) and exc.errno in _PLACE_ERRORS:
        return OutputError(
            f"{shown}: cannot write the output ({_reason(exc)}); choose another --out"
        )
    return None


#: Free space below which a writer's failure in the output's place is taken for a full disk.
LOW_SPACE_BYTES = 4 * 1024 * 1024


def _lock_file(out: Path) -> Path:
    """The swap lock: beside ``out``, or inside it when it is a mount point."""
    name = f".{out.name}.lock"
    return out / name if _is_mount_point(out) else out.with_name(name)


def _make_temporary(out: Path, *, keep: Iterable[str | Path]) -> tuple[Path, int | None]:
    """A new temporary folder for ``out``, locked, after removing stale ones.

    Beside ``out``, or inside it when ``out`` is a mount point (an empty
    Docker volume cannot be renamed over: the files are moved into it).
    Made under the swap lock so that no cleaner sees it before it is locked.
    """
    place = out if _is_mount_point(out) else out.parent
    with _swap_lock(out, _lock_file(out)):
        clean_stale_temporaries(out, keep=keep)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=place))
        return tmp, _lock_dir(tmp, wait=False)


def _reason(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or " ".join(str(exc).split())


def _missing_parents(out: Path) -> list[Path]:
    """Ancestors of ``out`` that do not exist yet, deepest first."""
    return [p for p in out.parents if not p.exists()]


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            break


def _is_ours(path: Path, out: Path) -> bool:
    return _is_temporary(path, out) or path.name == f".{out.name}.lock"


def _fill_in_place(new: Path, out: Path) -> None:
    """Replace the contents of ``out`` (a mount point) by those of ``new``, file by file.

    Used where ``out`` itself cannot be renamed: the previous contents
    (checked replaceable before) are removed and each finished file moved in.
    Not one step as a whole, but every file is complete.
    """
    for entry in list(out.iterdir()):  # the previous output's few files
        if entry == new or _is_ours(entry, out):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in list(new.iterdir()):  # the new output's few files
        shutil.move(str(entry), str(out / entry.name))
    new.rmdir()


def _replace_dir(new: Path, out: Path, shown: Path) -> Path | None:
    """Move ``new`` to ``out``; return where the previous ``out`` went (to delete), if any."""
    old = None
    if new.parent == out:  # out is a mount point: fill it
        _fill_in_place(new, out)
        return None
    if out.exists():
        old = new.with_name(new.name[: -len(".tmp")] + ".old")
        try:
            out.rename(old)
        except OSError as exc:
            if exc.errno in (errno.EBUSY, errno.EXDEV) and out.is_dir():
                _fill_in_place(new, out)  # a bind mount os.path.ismount does not see
                return None
            raise OutputError(
                f"{shown}: cannot replace the existing output ({_reason(exc)})"
            ) from exc
    try:
        new.rename(out)
    except OSError as exc:
        if old is not None:
            old.rename(out)
        raise OutputError(
            f"{shown}: cannot move the finished output into place ({_reason(exc)})"
        ) from exc
    return old
