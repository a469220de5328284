"""The ``compliance`` command line: a thin layer over the library.

Exit status, as linters do: 0 when no rule failed, 1 when any rule failed, 2
for a usage or input error (one line on stderr, nothing written to ``--out``),
3 for an internal error (a bug; one line on stderr, nothing written).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import ComplianceError
from .wording import count_en

if TYPE_CHECKING:
    from .engine import Result

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _fail(message: str) -> None:
    click.echo(f"compliance: error: {message}", err=True)
    sys.exit(EXIT_INPUT)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, systemd, ``docker stop``), handled as Ctrl-C is."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt).

    So a terminated run cleans up as an interrupted one does: the temporary
    output folder is removed, one line is printed, the status is that of an
    interrupt.  Only the main thread can set a signal handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: BaseException) -> str:
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"


class _Group(click.Group):
    """Turns the checker's own errors into one line on stderr and exit 2."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's ``main``, with a usage error (a mistyped option) as one line and exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message(), err=True)  # the help, as asked for by no arguments
            sys.exit(EXIT_INPUT)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "compliance"
            _fail(f"{' '.join(exc.format_message().split())} (see {command} --help)")
        except click.ClickException as exc:
            click.echo(f"compliance: error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("interrupted; nothing was written")
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            with _sigterm_as_interrupt():
                return super().invoke(ctx)
        except ComplianceError as exc:
            _fail(str(exc))
        except KeyboardInterrupt as exc:
            _fail(f"{_interrupted(exc)}; nothing was written")
        except BrokenPipeError:
            # the reader (e.g. `| head`) went away: stop quietly
            sys.stderr.close()
            os._exit(EXIT_OK)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("COMPLIANCE_DEBUG"):
                raise
            click.echo(
                f"compliance: internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
                "(a bug: please report it with the input; set COMPLIANCE_DEBUG=1 for a traceback)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
        return None


rules_dir_option = click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Rule catalogue folder instead of the shipped one.",
)
year_option = click.option(
    "--year",
    type=int,
    default=None,
    help="Target year for rules with limits per year (2023, 2025, 2030); "
    "default: the nearest target year not yet passed.",
)
source_crs_option = click.option(
    "--source-crs",
    default=None,
    help="CRS of inputs that carry none: a DXF drawing (else recognised from a zone number "
    "in the eastings), a Shapefile without .prj (e.g. EPSG:4526); also source_crs: in --field-map.",
)
field_map_option = click.option(
    "--field-map",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML mapping of your layer and field names onto the contract's.",
)
profile_option = click.option(
    "--profile",
    "-p",
    default="national",
    show_default=True,
    help="Rule profile: national, xinjiang, alxa, hebi, jiaozuo, bayannur.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="compliance")
def main() -> None:
    """Check planning schemes against the spatial rules of China's carbon-peaking plans."""


@main.command("check")
@click.argument("scheme", type=click.Path(path_type=Path))
@profile_option
@click.option(
    "--out",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output directory (findings.geojson, summary.csv, map.html, report.html, "
    "findings.gpkg, opinion.docx, findings.xlsx, run.json).",
)
@year_option
@click.option(
    "--crs", default=None, help="Measuring CRS instead of the chosen one (e.g. EPSG:4547)."
)
@click.option(
    "--exceptions",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV or YAML of approved breaches (rule_id, feature_id, reason, approval_ref).",
)
@click.option(
    "--population-raster",
    type=click.Path(path_type=Path),
    default=None,
    help="GeoTIFF of persons per cell (population where no attribute gives it).",
)
@click.option(
    "--impervious-raster",
    type=click.Path(path_type=Path),
    default=None,
    help="GeoTIFF of impervious share per cell, 0-1 or 0-100 (permeable surface).",
)
@click.option(
    "--landcover-raster",
    type=click.Path(path_type=Path),
    default=None,
    help="GeoTIFF of land-cover classes (green-space ratio, permeable surface).",
)
@click.option(
    "--include-passes", is_flag=True, help="Write passing findings to findings.geojson too."
)
@click.option("--no-map", is_flag=True, help="Do not render map.html.")
@click.option(
    "--no-office",
    is_flag=True,
    help="Do not write opinion.docx and findings.xlsx (a faster run while drawing).",
)
@click.option("--force", is_flag=True, help="Replace --out when it exists and is not empty.")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of report.html and opinion.docx.",
)
@click.option(
    "--basemap",
    type=click.Choice(["osm", "tianditu", "none"]),
    default="osm",
    show_default=True,
    help="Basemap of map.html: OpenStreetMap, Tianditu 天地图 (needs --tianditu-key) or none; "
    "no GCJ-02 basemaps.",
)
@click.option(
    "--tianditu-key",
    envvar="TIANDITU_KEY",
    default=None,
    help="Tianditu key (tk) for --basemap tianditu; also read from TIANDITU_KEY.",
)
@click.option(
    "--cdn",
    is_flag=True,
    help="Load Leaflet from its CDN in map.html (a smaller page that needs a network); "
    "by default Leaflet is inside the page and it opens offline.",
)
@click.option(
    "--offline",
    is_flag=True,
    hidden=True,
    help="Accepted for old scripts: map.html is offline by default.",
)
@click.option(
    "--findings-crs",
    type=click.Choice(["4326", "measuring"]),
    default="4326",
    show_default=True,
    help="CRS of findings.gpkg: EPSG:4326, or the measuring CRS (CGCS2000 GK / UTM, metres).",
)
@click.option(
    "--field-map",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML mapping of your layer and field names onto the contract's.",
)
@source_crs_option
@click.option(
    "--inherited",
    type=click.Choice(["warn", "fail", "skip"]),
    default="warn",
    show_default=True,
    help="Rules the plan does not state (inherited from national, column inherited_from): "
    "report their violations as warnings, fail as their severity says, or leave them out.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@rules_dir_option
def check_cmd(
    scheme: Path,
    profile: str,
    out_dir: Path,
    year: int | None,
    crs: str | None,
    exceptions: Path | None,
    population_raster: Path | None,
    impervious_raster: Path | None,
    landcover_raster: Path | None,
    include_passes: bool,
    no_map: bool,
    no_office: bool,
    force: bool,
    lang: str,
    basemap: str,
    tianditu_key: str | None,
    cdn: bool,
    offline: bool,
    findings_crs: str,
    field_map: Path | None,
    source_crs: str | None,
    inherited: str,
    quiet: bool,
    rules_dir: Path | None,
) -> None:
    """Check SCHEME (GeoPackage, .gdb, .dxf, .zip or folder of layers); findings to --out."""
    from .engine import check
    from .outputs.files import check_out_dir, write_outputs

    del offline  # the default now: accepted so that old scripts keep working
    from .outputs.mapstyle import validate_basemap

    rasters: dict[str, str | Path] = {
        role: path
        for role, path in (
            ("population", population_raster),
            ("impervious", impervious_raster),
            ("landcover", landcover_raster),
        )
        if path is not None
    }
    # Fail fast, before the work, on what can be told from the options alone.
    inputs: list[tuple[str, str | Path | None]] = [
        ("input", scheme),
        *(("input", p) for p in rasters.values()),
        ("exceptions file", exceptions),
        ("field map", field_map),
        ("rule folder", rules_dir),
    ]
    check_out_dir(out_dir, force=force, inputs=inputs)
    key = None if no_map else validate_basemap(basemap, tianditu_key)
    result = check(
        scheme,
        profile,
        year=year,
        crs=crs,
        rasters=rasters,
        exceptions=exceptions,
        rules_dir=rules_dir,
        field_map=field_map,
        source_crs=source_crs,
        inherited=inherited,
        passes=include_passes,
    )
    write_outputs(
        result,
        out_dir,
        include_passes=include_passes,
        map_html=not no_map,
        force=force,
        lang=lang,
        basemap=basemap,
        tianditu_key=key,
        offline=not cdn,
        findings_crs=findings_crs,
        rules_dir=rules_dir,
        inputs={"field_map": field_map, "exceptions": exceptions},
        office=not no_office,
    )
    if not quiet:
        _print_summary(result, out_dir)
    sys.exit(result.exit_code)


def _print_summary(result: Result, out_dir: Path) -> None:
    from .engine import fmt

    click.echo(f"{result.scheme.source}  profile {result.profile.name}")
    click.echo(f"  measured in {result.scheme.crs_label}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    for warning in result.scheme.warnings:
        click.echo(f"  warning: {warning}")
    for row in result.summary.to_dict("records"):  # one line per rule
        unit = str(row["unit"])
        worst = fmt(float(row["worst"]), unit) if row["checked"] else "—"
        line = (
            f"  {row['rule_id']}  {row['status']:<13} {row['failed']:>4}/{row['checked']:<5} "
            f"worst {worst} {unit} (limit {fmt(float(row['limit']), unit)})  {row['title']}"
        )
        click.echo(line + (f"  [{row['note']}]" if row["note"] else ""))
    s = result.summary
    failed = int((s["status"] == "fail").sum())
    warned = int((s["status"] == "warn").sum())
    n_input = len(result.scheme.warnings)
    inputs = f", {count_en(n_input, 'input warning')}" if n_input else ""
    click.echo(f"{count_en(failed, 'rule')} failed, {warned} warned{inputs}; outputs in {out_dir}")


@main.command("inspect")
@click.argument("scheme", type=click.Path(path_type=Path))
@profile_option
@year_option
@field_map_option
@source_crs_option
@click.option("--crs", default=None, help="Measuring CRS instead of the chosen one.")
@rules_dir_option
def inspect_cmd(
    scheme: Path,
    profile: str,
    year: int | None,
    field_map: Path | None,
    source_crs: str | None,
    crs: str | None,
    rules_dir: Path | None,
) -> None:
    """Pre-flight: what each input of SCHEME is read as, and which rules can run with it.

    Prints each input layer (what it was recognised as, its CRS, features,
    fields mapped), the files not read and why, and for each rule of the
    profile whether it can run with this data or what it lacks.  Writes nothing.
    """
    from .inspect import inspect_lines, inspect_scheme

    result = inspect_scheme(
        scheme,
        profile,
        year=year,
        crs=crs,
        rules_dir=rules_dir,
        field_map=field_map,
        source_crs=source_crs,
    )
    for line in inspect_lines(result):
        click.echo(line)


@main.command("rules")
@profile_option
@year_option
@rules_dir_option
def rules_cmd(profile: str, year: int | None, rules_dir: Path | None) -> None:
    """Print the effective rules of a profile with limits, years and sources."""
    from .engine import fmt
    from .rules.catalogue import load_profile

    prof = load_profile(profile, rules_dir, year=year)
    click.echo(f"profile {prof.name}: {prof.title_zh} / {prof.title_en}")
    click.echo(f"plan: {prof.document}" + (f" ({prof.seed})" if prof.seed else ""))
    if prof.inherits:
        click.echo(f"inherits: {prof.inherits}")
    for rule in prof.rules.values():  # a handful of rules
        origin = (
            f"inherited from {prof.inherited_from(rule)} (not stated in this plan; warns by "
            "default, check --inherited)"
            if prof.inherited_from(rule)
            else "stated in this plan"
            if prof.seed is not None
            else "common national value"
        )
        by = f", by {rule.year}" if rule.year else ""
        if not rule.has_limit:
            limit = "no limit stated: judged by the check's method (params)"
        elif rule.comparison == "between" and rule.limit_low is not None:
            bound = f"{fmt(rule.limit_low, rule.unit)}–{fmt(rule.limit, rule.unit)}"
            limit = f"limit between {bound} {rule.unit}"
        else:
            limit = f"limit {rule.comparison} {fmt(rule.limit, rule.unit)} {rule.unit}"
        click.echo("")
        click.echo(f"{rule.code}  {rule.title_zh} / {rule.title_en}")
        click.echo(
            f"  {limit}{by}; severity {rule.severity}"
            + (f" ({rule.wording})" if rule.wording else "")
        )
        if len(rule.targets) > 1:
            targets = "; ".join(f"{t.year}: {fmt(t.limit, rule.unit)}" for t in rule.targets)
            click.echo(f"  targets {targets}")
        click.echo(f"  measure {rule.measure} on layer {rule.layer}; {origin}")
        if rule.params:
            click.echo(f"  params {rule.params}")
        s = rule.source
        click.echo(f"  source {s.seed} {s.document} {s.section}")
        click.echo(f"    “{s.quote}”")
        if s.basis:
            click.echo(f"    restating {s.basis} (the quoted sentence is the plan's restatement)")


@main.command("profiles")
@rules_dir_option
def profiles_cmd(rules_dir: Path | None) -> None:
    """List the rule profiles."""
    from .rules.catalogue import list_profiles, load_profile

    for name in list_profiles(rules_dir):
        prof = load_profile(name, rules_dir)
        parent = f" (inherits {prof.inherits})" if prof.inherits else ""
        click.echo(f"{name:<10} {prof.title_zh} / {prof.title_en}{parent}: {len(prof.rules)} rules")


@main.command("import-osm")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DEST when it exists.")
def import_osm_cmd(source: Path, dest: Path, overwrite: bool) -> None:
    """Turn an OpenStreetMap-derived GeoPackage SOURCE into a scheme GeoPackage DEST.

    Residential land use becomes parcels 0701, parks and green become
    green_spaces, roads get a red-line width (estimated from class and lanes
    where OSM has no width, and marked so), squares, buildings with floors,
    and the extract's extent becomes the boundary.
    """
    from .reading.osm import import_osm

    written = import_osm(source, dest, overwrite=overwrite)
    click.echo(f"wrote {written}")


@main.command("docs")
@click.option(
    "--out",
    "-o",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the page to this file (e.g. docs/catalogue.md) instead of stdout.",
)
@click.option(
    "--readme",
    "readme",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also regenerate the rule table of this README (between its markers).",
)
@rules_dir_option
def docs_cmd(out_file: Path | None, readme: Path | None, rules_dir: Path | None) -> None:
    """Render the rule catalogue as one Markdown page (every rule type, profile and clause)."""
    from .errors import InputError
    from .rules.docs import catalogue_markdown, replace_readme_table

    text = catalogue_markdown(rules_dir)
    if readme is not None:
        try:
            updated = replace_readme_table(readme.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{readme}: {exc}") from None
        readme.write_text(updated, encoding="utf-8", newline="\n")
        click.echo(f"wrote the rule table of {readme}")
    if out_file is None:
        if readme is None:
            click.echo(text, nl=False)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(text, encoding="utf-8", newline="\n")
    click.echo(f"wrote {out_file}")


@main.command("batch")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder: one folder per scheme, batch_summary.csv, overview.html.",
)
@click.option(
    "--scheduler", default=None, help="Address of an existing dask scheduler (tcp://host:8786)."
)
@click.option("--workers", type=int, default=None, help="Local worker processes (default: cores).")
@click.option("--force", is_flag=True, help="Re-check every scheme, even those unchanged.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def batch_cmd(
    manifest: Path,
    out_dir: Path,
    scheduler: str | None,
    workers: int | None,
    force: bool,
    no_progress: bool,
) -> None:
    """Check every scheme listed in MANIFEST (CSV or YAML) in parallel with dask; resumable."""
    from .batch import run_batch, summary_lines

    try:
        result = run_batch(
            manifest,
            out_dir,
            scheduler=scheduler,
            workers=workers,
            force=force,
            progress=not no_progress,
        )
    except KeyboardInterrupt as exc:
        _fail(
            f"{_interrupted(exc)}; the schemes checked so far are kept in {out_dir}, "
            "and the same command resumes with the others"
        )
    for line in summary_lines(result):
        click.echo(line)
    sys.exit(result.exit_code)


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@profile_option
@year_option
@click.option(
    "--out",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder for diff.geojson and diff.html.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of diff.html.",
)
@click.option("--force", is_flag=True, help="Replace --out when it exists and is not empty.")
@rules_dir_option
def diff_cmd(
    old: Path,
    new: Path,
    profile: str,
    year: int | None,
    out_dir: Path,
    lang: str,
    force: bool,
    rules_dir: Path | None,
) -> None:
    """Compare two versions (schemes, or output folders of `check`): fixed, new, changed.

    Exit status 0 when NEW breaks no rule, 1 when it does, 2 for bad input.
    """
    from .diff import CHANGES, diff_versions, write_diff
    from .outputs.files import check_out_dir

    check_out_dir(out_dir, force=force, inputs=[old, new])
    diff, v_old, v_new = diff_versions(old, new, profile, year=year, rules_dir=rules_dir)
    write_diff(diff, v_old, v_new, out_dir, lang=lang, force=force)
    counts = diff["change"].value_counts()
    click.echo(
        ", ".join(f"{int(counts.get(c, 0))} {c}" for c in CHANGES) + f"; outputs in {out_dir}"
    )
    sys.exit(int(v_new.failed))


@main.command("watch")
@click.argument("scheme", type=click.Path(path_type=Path))
@profile_option
@year_option
@click.option(
    "--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0: any free)."
)
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@source_crs_option
@field_map_option
@rules_dir_option
def watch_cmd(
    scheme: Path,
    profile: str,
    year: int | None,
    port: int,
    no_browser: bool,
    source_crs: str | None,
    field_map: Path | None,
    rules_dir: Path | None,
) -> None:
    """Check SCHEME, serve a live page on 127.0.0.1 and re-check on every save (Ctrl-C ends)."""
    from .watch import serve

    serve(
        scheme,
        profile,
        year=year,
        port=port,
        open_browser=not no_browser,
        rules_dir=rules_dir,
        source_crs=source_crs,
        field_map=field_map,
        say=click.echo,
    )


@main.command("qgis-plugin-path")
def qgis_plugin_path_cmd() -> None:
    """Print the folder of the QGIS plugin (copy or link it into QGIS's python/plugins)."""
    from .qgis_plugin import PLUGIN_DIR

    click.echo(str(PLUGIN_DIR))


def run() -> None:
    """The ``compliance`` console script: :func:`main`, then exit without the teardown.

    Python's orderly shutdown frees every object of every imported module
    (pandas, pyarrow, GDAL, PROJ, folium ...): about 0.15 s after a check that
    took 1.9 s, on a run a designer repeats while drawing.  Once the command
    has finished, its outputs are complete and closed (written into a
    temporary directory and moved into place), so the process flushes its
    streams, runs the ``atexit`` handlers (logging, multiprocessing) and
    leaves with the command's status through :func:`os._exit`.  While another
    thread still runs, it exits the usual way, which waits for it.
    """
    import atexit
    import threading

    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("text"): Python prints it and exits 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
