"""Writing a run's outputs: ``findings.geojson``, ``summary.csv``, ``map.html``.

Everything is written into a temporary directory beside ``--out`` and moved
into place only when complete, so a failed run leaves no partial output and a
previous complete output is replaced in one step.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd

from .engine import SUMMARY_COLUMNS, Result
from .errors import OutputError

FINDINGS_FILE = "findings.geojson"
SUMMARY_FILE = "summary.csv"
MAP_FILE = "map.html"
RUN_FILE = "run.json"


def findings_for_output(result: Result, *, include_passes: bool = False) -> gpd.GeoDataFrame:
    """Findings as written to ``findings.geojson``, in EPSG:4326.

    Parameters
    ----------
    result : Result
    include_passes : bool
        Also write the ``pass`` finding of every feature measured.  By
        default only ``fail``, ``warn`` and ``not_evaluated`` are written.
    """
    f = result.findings
    if not include_passes:
        f = f[f["status"] != "pass"]
    return f.to_crs(4326)


def write_findings(result: Result, path: Path, *, include_passes: bool = False) -> None:
    """Write findings as GeoJSON (EPSG:4326, UTF-8, one feature per finding)."""
    out = findings_for_output(result, include_passes=include_passes)
    out.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})


def write_summary(result: Result, path: Path) -> None:
    """Write ``summary.csv`` (UTF-8), one row per rule."""
    result.summary[SUMMARY_COLUMNS].to_csv(path, index=False, encoding="utf-8")


def run_info(result: Result) -> dict[str, object]:
    """What the run was: scheme, profile, measuring CRS, repairs, notes."""
    s = result.scheme
    return {
        "scheme": s.source,
        "profile": result.profile.name,
        "profile_document": result.profile.document,
        "year": result.profile.year,
        "crs": s.crs_label,
        "rasters": {role: str(r.path) for role, r in s.rasters.items()},
        "layers": {name: len(gdf) for name, gdf in s.layers.items()},
        "repaired_geometries": s.repaired,
        "dropped_empty_geometries": s.dropped_empty,
        "notes": result.notes,
        "exit_code": result.exit_code,
    }


def write_outputs(
    result: Result,
    out_dir: str | Path,
    *,
    include_passes: bool = False,
    map_html: bool = True,
) -> Path:
    """Write all outputs of a run into ``out_dir``, atomically.

    Parameters
    ----------
    result : Result
    out_dir : str or pathlib.Path
        Output directory; created, or replaced as a whole when it exists.
    include_passes : bool
        Write passing findings to ``findings.geojson`` too.
    map_html : bool
        Render ``map.html``.

    Returns
    -------
    pathlib.Path
        The output directory.

    Raises
    ------
    OutputError
        The directory cannot be created or replaced.
    """
    out = Path(out_dir)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; outputs are for others to read
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output directory ({exc})") from exc
    try:
        write_findings(result, tmp / FINDINGS_FILE, include_passes=include_passes)
        write_summary(result, tmp / SUMMARY_FILE)
        if map_html:
            from .mapping import render_map

            render_map(result, tmp / MAP_FILE)
        (tmp / RUN_FILE).write_text(
            json.dumps(run_info(result), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace_dir(new: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory; choose another --out")
    old = None
    if out.exists():
        old = new.with_name(new.name + ".old")
        try:
            out.rename(old)
        except OSError as exc:
            raise OutputError(f"{out}: cannot replace the existing output ({exc})") from exc
    try:
        new.rename(out)
    except OSError as exc:
        if old is not None:
            old.rename(out)
        raise OutputError(f"{out}: cannot move the finished output into place ({exc})") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
