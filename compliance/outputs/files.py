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
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..engine import SUMMARY_COLUMNS, Result
from ..errors import OutputError
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
    """Write findings as GeoJSON (EPSG:4326, UTF-8, one feature per finding)."""
    out = findings_for_output(result, include_passes=include_passes)
    out.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})


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
    }


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _inputs_of(result: Result) -> list[Path]:
    paths = [Path(r.path) for r in result.scheme.rasters.values()]
    if result.scheme.source:
        paths.append(Path(result.scheme.source))
    return paths


def check_out_dir(
    out_dir: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = ()
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
    inputs : iterable of str or pathlib.Path
        The run's input files and folders (scheme, rasters, exceptions file):
        ``out_dir`` must be none of them and contain none of them.

    Returns
    -------
    pathlib.Path
        ``out_dir`` resolved to an absolute path.

    Raises
    ------
    OutputError
        ``out_dir`` is an input or contains one; exists and is not a
        directory; exists, is not empty and ``force`` is false.
    """
    out = Path(out_dir).resolve()
    for given in inputs:
        inp = Path(given).resolve()
        if _is_within(inp, out):
            what = "is the input" if inp == out else f"contains the input {given}"
            raise OutputError(
                f"{out_dir}: the output directory {what}; replacing it would delete the "
                "input: choose another --out"
            )
    _check_existing(out, Path(out_dir), force=force)
    return out


def _check_existing(out: Path, shown: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{shown}: exists and is not a directory; choose another --out")
    if not force and out.is_dir() and any(out.iterdir()):
        raise OutputError(f"{shown} exists and is not empty; use --force to replace it")


@contextmanager
def _swap_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.NAME.lock`` beside ``out``; remove it when done.

    A waiter that wakes on a lock file its holder has already removed retries
    on the current file, so at most one run holds the lock at a time.  Where
    the platform has no ``fcntl`` (Windows) nothing is locked.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock = out.with_name(f".{out.name}.lock")
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
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
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

        prov = _provenance(result, rules_dir=rules_dir, inputs=inputs)
        write_findings(result, tmp / FINDINGS_FILE, include_passes=include_passes)
        write_findings_gpkg(
            result,
            tmp / FINDINGS_GPKG_FILE,
            include_passes=include_passes,
            crs="measuring" if findings_crs == "measuring" else 4326,
        )
        write_summary(result, tmp / SUMMARY_FILE)
        if office:
            write_workbook(result, tmp / WORKBOOK_FILE, provenance=prov)
            write_opinion(result, tmp / OPINION_FILE, lang=lang, provenance=prov)
        if map_html:
            from .map import render_map

            render_map(
                result,
                tmp / MAP_FILE,
                basemap=basemap,
                tianditu_key=tianditu_key,
                offline=offline,
                provenance=prov,
            )
        render_report(
            result,
            tmp / REPORT_FILE,
            lang=lang,
            map_href=MAP_FILE if map_html else None,
            provenance=prov,
        )
        (tmp / RUN_FILE).write_text(
            json.dumps(run_info(result, prov), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        with _swap_lock(out):
            _check_existing(out, shown, force=force)  # again: another run may have finished
            old = _replace_dir(tmp, out, shown)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        if isinstance(exc, OSError) and exc.errno in _PLACE_ERRORS:
            raise OutputError(
                f"{shown}: cannot write the output ({_reason(exc)}); choose another --out"
            ) from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return Path(out_dir)


#: errno values that say the place cannot take the output (not a bug of the checker).
_PLACE_ERRORS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG}
)


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


def _replace_dir(new: Path, out: Path, shown: Path) -> Path | None:
    """Move ``new`` to ``out``; return where the previous ``out`` went (to delete), if any."""
    old = None
    if out.exists():
        old = new.with_name(new.name[: -len(".tmp")] + ".old")
        try:
            out.rename(old)
        except OSError as exc:
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
