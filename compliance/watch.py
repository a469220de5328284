"""``compliance watch``: a self-check that answers while a designer draws.

A local web server (bound to 127.0.0.1 only) checks a scheme, serves a live
page — the violations on a map in the colours of ``map.html``, and beside it
what the last save fixed, what it caused and what is still open, then every
finding — and checks again whenever a file of the scheme is saved (a
GeoPackage and its ``-wal``, any file of a scheme folder, a DXF drawing),
pushing the result to the page with server-sent events: no reload.

The process stays alive between saves, so nothing is imported or loaded
twice: the profile is loaded once, and the layers are read through a cache
(:func:`compliance.reading.scheme.read_scheme` with ``cache``) that reads a
file again only when its size or modification time changed.  A save that
leaves the scheme unreadable (a half-written file) shows the one-line reason
on the page and keeps the last good result.

Endpoints: ``/`` the page, ``/events`` the server-sent events (one ``state``
event per check, the first on connecting), ``/state.json`` the current
state, ``/findings.geojson`` the current findings with the properties of
``findings.geojson`` (:func:`compliance.outputs.files.findings_for_output`),
``/assets/…`` Leaflet, served from the package (no CDN).
"""

from __future__ import annotations

import json
import threading
import time
import webbrowser
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .diff import VIOLATION, diff_findings
from .errors import ComplianceError, InputError
from .outputs.mapstyle import rule_colour
from .wording import count_en

if TYPE_CHECKING:
    from .engine import Result
    from .reading.scheme import Scheme
    from .rules.catalogue import Profile

ASSETS = Path(__file__).parent / "outputs" / "assets" / "leaflet"
PAGE = Path(__file__).parent / "outputs" / "templates" / "watch.html"
HOST = "127.0.0.1"
DEFAULT_PORT = 8765

#: Milliseconds watchfiles waits for a burst of writes (one save) to settle.
STEP_MS = 50

#: Features of the scheme drawn as grey context on the page, at most (all layers).
MAX_CONTEXT_FEATURES = 20_000

#: Seconds between keep-alive comments on an idle event stream.
KEEPALIVE_S = 15.0

#: Files beside a GeoPackage that are no save of their own: SQLite's shared memory
#: (changes when the file is only read) and rollback journal (comes and goes with a
#: write of the GeoPackage itself, which is seen).
_READ_ONLY_NOISE = ("-shm", "-journal")

_ITEM_COLUMNS = ["rule_id", "feature_id", "status", "title_zh", "title_en", "message", "unit"]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _items(f: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as list entries of the page: code, feature, status, title, sentence, values."""
    if f.empty:
        return []
    out = f[_ITEM_COLUMNS].astype(str).copy()
    out["measured"] = pd.to_numeric(f["measured"], errors="coerce").round(6).to_numpy()
    before = f["measured_before"] if "measured_before" in f.columns else np.nan
    out["measured_before"] = pd.to_numeric(before, errors="coerce")
    out["colour"] = out["rule_id"].map({c: rule_colour(c) for c in pd.unique(out["rule_id"])})
    records: list[dict[str, Any]] = json.loads(out.to_json(orient="records", force_ascii=False))
    return records


#: Stands for "every layer" among the layers a rule read (it iterated over them).
_ALL_LAYERS = "*"


class _TrackedLayers(dict[str, gpd.GeoDataFrame]):
    """A scheme's layers that note which of them a rule looks at."""

    def __init__(self, layers: dict[str, gpd.GeoDataFrame], seen: set[str]) -> None:
        super().__init__(layers)
        self.seen = seen

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        self.seen.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        self.seen.add(str(name))
        return super().__contains__(name)

    def __iter__(self) -> Any:
        self.seen.add(_ALL_LAYERS)
        return super().__iter__()

    def keys(self) -> Any:
        self.seen.add(_ALL_LAYERS)
        return super().keys()

    def values(self) -> Any:
        self.seen.add(_ALL_LAYERS)
        return super().values()

    def items(self) -> Any:
        self.seen.add(_ALL_LAYERS)
        return super().items()


def layer_digest(gdf: gpd.GeoDataFrame) -> str:
    """A digest of a layer's content: columns, attribute values and geometries (as WKB).

    Two reads of an unchanged layer give the same digest; any edit of a value
    or a vertex changes it.  Vectorised (pandas' row hashes).
    """
    import hashlib

    import shapely

    h = hashlib.blake2b(digest_size=16)
    h.update(repr(list(gdf.columns)).encode("utf-8"))
    attrs = gdf.drop(columns=gdf.geometry.name).astype(str)
    h.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    wkb = pd.Series(shapely.to_wkb(gdf.geometry.to_numpy(), hex=True), dtype=object).fillna("")
    h.update(pd.util.hash_pandas_object(wkb, index=False).to_numpy().tobytes())
    return h.hexdigest()


class _RuleRun:
    """One rule's result with what it was computed from."""

    def __init__(
        self, setting: object, deps: dict[str, str | None], every: bool, result: Any
    ) -> None:
        self.setting = setting
        self.deps = deps
        self.every = every
        self.result = result
        self.summary_rows: list[dict[str, Any]] = result.summary.to_dict("records")

    def still_valid(self, setting: object, digests: dict[str, str]) -> bool:
        if setting != self.setting:
            return False
        if self.every and set(digests) != {n for n, d in self.deps.items() if d is not None}:
            return False  # a layer added or removed: a rule that looked at them all runs
        return all(digests.get(name) == d for name, d in self.deps.items())


def evaluate_incremental(
    scheme: Scheme,
    profile: Profile,
    runs: dict[str, _RuleRun],
    *,
    threads: int | None = None,
    digests: dict[str, str] | None = None,
) -> tuple[Result, list[str]]:
    """:func:`compliance.evaluate`, re-running only the rules whose layers changed.

    Each rule runs over the scheme with its layers watched, so the layers it
    reads (``scheme.layer(name)``) are known; its findings are kept in
    ``runs`` with a digest of each of those layers (:func:`layer_digest`).
    On the next call a rule is run again only when one of its layers, the
    measuring CRS or a raster input changed.  Findings and summary come back
    in the profile's order, as from :func:`compliance.evaluate`.

    Parameters
    ----------
    scheme : Scheme
    profile : Profile
    runs : dict
        Kept by the caller between calls (one per scheme and profile); filled here.
    threads : int, optional
        Threads for the rules that run; default
        :func:`compliance.engine.default_threads` of the scheme.
    digests : dict, optional
        :func:`layer_digest` of each layer, when the caller has them already.

    Returns
    -------
    (Result, list of str)
        The result, and the codes of the rules that ran (the others were kept).
    """
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from .engine import SUMMARY_COLUMNS, Result, default_threads, evaluate

    if digests is None:
        digests = {name: layer_digest(gdf) for name, gdf in scheme.layers.items()}
    rasters = []
    for role, r in sorted(scheme.rasters.items()):  # a few rasters at most
        st = Path(r.path).stat()
        rasters.append((role, str(r.path), st.st_size, st.st_mtime_ns))
    setting = (scheme.crs.to_wkt(), tuple(rasters), profile.model_dump_json())
    stale = [
        code
        for code in profile.rules
        if code not in runs or not runs[code].still_valid(setting, digests)
    ]

    def run(code: str) -> tuple[str, _RuleRun]:
        seen: set[str] = set()
        tracked = replace(scheme, layers=_TrackedLayers(scheme.layers, seen))
        seen.clear()  # what building the scheme looked at (its checks of every layer)
        one = profile.model_copy(update={"rules": {code: profile.rules[code]}})
        result = evaluate(tracked, one, threads=1)
        every = _ALL_LAYERS in seen
        names = set(digests) | seen if every else seen
        deps = {n: digests.get(n) for n in names if n != _ALL_LAYERS}
        return code, _RuleRun(setting, deps, every, result)

    n = default_threads(scheme) if threads is None else max(1, threads)
    if n == 1 or len(stale) < 2:
        fresh = [run(code) for code in stale]
    else:
        with ThreadPoolExecutor(max_workers=min(n, len(stale))) as pool:
            fresh = list(pool.map(run, stale))
    runs.update(fresh)
    for code in list(runs):  # rules no longer in the profile
        if code not in profile.rules:
            del runs[code]
    parts = [runs[code].result for code in profile.rules]
    findings = gpd.GeoDataFrame(
        pd.concat([r.findings for r in parts], ignore_index=True),
        geometry="geometry",
        crs=scheme.crs,
    )
    rows = [row for code in profile.rules for row in runs[code].summary_rows]  # one per rule
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    result = Result(
        findings=findings, summary=summary, profile=profile, scheme=scheme, notes=list(scheme.notes)
    )
    return result, stale


def _geojson(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(gdf.to_json(drop_id=True, to_wgs84=True))
    return out


class Watcher:
    """A scheme, its profile and the result of the last check; checks again on demand.

    Parameters
    ----------
    scheme : str or pathlib.Path
        A GeoPackage, a folder of layers, or any scheme
        :func:`compliance.read_scheme` reads.
    profile : str
        Rule profile (``national``, ``hebi`` …), loaded once.
    year : int, optional
        Target year (see :func:`compliance.check`).
    rules_dir : pathlib.Path, optional
        Catalogue folder instead of the shipped one.
    source_crs : str, optional
        CRS of inputs that carry none (a DXF drawing), as ``--source-crs``.
    field_map : str or pathlib.Path, optional
        Mapping file of layer and field names (``--field-map``), read once.

    Raises
    ------
    RuleFileError
        The profile is unknown or its rule files are invalid.
    InputError
        The scheme does not exist, or the mapping file is invalid.
    """

    def __init__(
        self,
        scheme: str | Path,
        profile: str = "national",
        *,
        year: int | None = None,
        rules_dir: Path | None = None,
        source_crs: str | None = None,
        field_map: str | Path | None = None,
    ) -> None:
        from .reading.fields import load_field_map
        from .rules.catalogue import load_profile

        self.path = Path(scheme).resolve()
        if not self.path.exists():
            raise InputError(
                f"{scheme}: no such file or folder; give a GeoPackage or a folder of layers"
            )
        self.profile = load_profile(profile, rules_dir, year=year)
        self.source_crs = source_crs
        self.field_map = None if field_map is None else load_field_map(field_map)
        self._cache: dict[Any, Any] = {}
        self._runs: dict[str, _RuleRun] = {}
        self.rules_run: list[str] = []  # the rules the last check ran (the others were kept)
        self._changed = threading.Condition()
        self._findings: gpd.GeoDataFrame | None = None  # as written, EPSG:4326
        self._findings_json = b'{"type": "FeatureCollection", "features": []}'
        self._context: dict[str, Any] | None = None
        self._context_layers: dict[str, tuple[str, list[Any]]] = {}
        self._measured: gpd.GeoDataFrame | None = None  # non-pass findings, measuring CRS
        self._digests: dict[str, str] = {}  # of the layers at the last good check
        self.state: dict[str, Any] = {"version": 0}

    # --------------------------------------------------------------------------- checking

    def recheck(self) -> dict[str, Any]:
        """Check the scheme as it is on disk now and publish the result.

        Returns
        -------
        dict
            The new state (see :meth:`snapshot`): on success the findings and
            what changed since the last good check; when the scheme cannot be
            read or checked, ``error`` (one line) and the last good result.
            When no layer changed since the last good check (a second event
            of the same save), the state as it was: no new version, and the
            page keeps what the save fixed and caused.
        """
        from .outputs.files import findings_for_output
        from .reading.scheme import far_from_china_warning, read_scheme

        start = time.perf_counter()
        cpu_start = time.process_time()
        try:
            scheme = read_scheme(
                self.path,
                cache=self._cache,
                source_crs=self.source_crs,
                field_map=self.field_map,
            )
            far = far_from_china_warning(scheme)
            if far is not None:
                scheme.warnings.append(far)
            digests = {name: layer_digest(gdf) for name, gdf in scheme.layers.items()}
            if digests == self._digests and not self.state.get("error"):
                # A second event of the same save (or a touch): nothing to tell, so
                # the page keeps what the save fixed and caused.
                return self.state
            result, self.rules_run = evaluate_incremental(
                scheme, self.profile, self._runs, digests=digests
            )
            findings = findings_for_output(result)
        except ComplianceError as exc:
            return self._publish(error=" ".join(str(exc).split()), start=start, cpu_start=cpu_start)
        self._digests = digests
        # Compared in the measuring CRS: no projection to match geometries.
        measured = result.findings[result.findings["status"] != "pass"]
        previous = self._measured
        if previous is None or not previous.crs.equals(measured.crs):
            previous = measured  # the first check: everything is open
        diff = diff_findings(previous, measured)
        self._measured = measured
        self._findings = findings
        self._findings_json = findings.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")
        self._context = self._scheme_context(scheme, digests)
        return self._publish(
            error="",
            start=start,
            cpu_start=cpu_start,
            diff=diff,
            failed_rules=int((result.summary["status"] == "fail").sum()),
            warnings=list(scheme.warnings),
        )

    def _scheme_context(self, scheme: Scheme, digests: dict[str, str]) -> dict[str, Any] | None:
        """The scheme's layers as grey context (EPSG:4326), unless too many features.

        Each layer's features are kept by its digest: only edited layers are
        converted again.
        """
        if sum(map(len, scheme.layers.values())) > MAX_CONTEXT_FEATURES:
            return None
        features: list[Any] = []
        kept: dict[str, tuple[str, list[Any]]] = {}
        for name, gdf in scheme.layers.items():  # a dozen layers at most
            hit = self._context_layers.get(name)
            if hit is None or hit[0] != digests[name]:
                frame = gpd.GeoDataFrame({"layer": [name] * len(gdf)}, geometry=gdf.geometry)
                hit = (digests[name], _geojson(frame)["features"])
            kept[name] = hit
            features.extend(hit[1])
        self._context_layers = kept
        return {"type": "FeatureCollection", "features": features}

    def _publish(
        self,
        *,
        error: str,
        start: float,
        cpu_start: float,
        diff: gpd.GeoDataFrame | None = None,
        failed_rules: int | None = None,
        warnings: list[str] | None = None,
    ) -> dict[str, Any]:
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        with self._changed:
            state = dict(self.state)
            state.update(
                version=int(state.get("version", 0)) + 1,
                checked_at=_now(),
                elapsed_s=round(elapsed, 3),
                cpu_s=round(cpu, 3),
                error=error,
                scheme=str(self.path),
                profile=self.profile.name,
                year=self.profile.year,
            )
            if diff is not None:
                # Rows of "fixed" carry the old finding's status: the violation resolved.
                bad = diff["status"].isin(VIOLATION)
                fixed = diff[(diff["change"] == "fixed") & bad]
                new = diff[(diff["change"] == "new") & bad]
                still = diff[diff["change"].isin(["changed", "unchanged"]) & bad]
                current = diff[diff["version"] == "new"]
                cols = ["rule_id", "feature_id", "status", "change", "title_zh", "message"]
                # Largest first, so a road or a plaza is drawn over the cluster it lies in.
                order = np.argsort(-shapely.area(diff.geometry.to_numpy()), kind="stable")
                drawn = diff.iloc[order]
                features = gpd.GeoDataFrame(
                    drawn[cols], geometry=drawn.geometry.to_numpy(), crs=diff.crs
                )
                features["colour"] = features["rule_id"].map(
                    {c: rule_colour(c) for c in pd.unique(features["rule_id"])}
                )
                state.update(
                    last_good_at=state["checked_at"],
                    fixed=_items(fixed),
                    new=_items(new),
                    open=_items(still),
                    all=_items(current),
                    failed_rules=failed_rules,
                    rules_run=list(self.rules_run),
                    rules_total=len(self.profile.rules),
                    warnings=warnings or [],
                    features=_geojson(features),
                    context=self._context,
                )
            self.state = state
            self._changed.notify_all()
        return state

    def snapshot(self) -> dict[str, Any]:
        """The current state: what the page shows.

        Keys: ``version`` (counts checks), ``checked_at``, ``elapsed_s``,
        ``error`` (one line; empty when the last check succeeded),
        ``last_good_at``, ``fixed``, ``new``, ``open`` (violations the last
        good check resolved, caused and left), ``all`` (every finding),
        ``failed_rules``, ``features`` (GeoJSON of the findings, fixed ones
        included, with ``change`` and ``colour``), ``context`` (the scheme's
        layers) and the scheme, profile and year.
        """
        with self._changed:
            return self.state

    def wait_for(self, version: int, timeout: float) -> dict[str, Any]:
        """The state once its version is above ``version``, or as it is after ``timeout`` s."""
        with self._changed:
            self._changed.wait_for(lambda: int(self.state["version"]) > version, timeout)
            return self.state

    @property
    def findings_geojson(self) -> bytes:
        """The current findings as ``findings.geojson`` holds them (UTF-8 GeoJSON)."""
        with self._changed:
            return self._findings_json

    # --------------------------------------------------------------------------- watching

    def _watched(self) -> tuple[Path, bool, Callable[[Any, str], bool]]:
        """Where to watch, whether recursively, and which changes count."""
        if self.path.is_dir():

            def in_folder(change: Any, name: str) -> bool:
                base = Path(name).name
                return not base.startswith(".") and not base.endswith(_READ_ONLY_NOISE)

            return self.path, True, in_folder
        stem = self.path.name

        def of_file(change: Any, name: str) -> bool:
            base = Path(name).name
            return base.startswith(stem) and not base.endswith(_READ_ONLY_NOISE)

        # The folder, not the file: a save that writes a new file and renames it
        # over the old one replaces the inode a file watch would follow.
        return self.path.parent, False, of_file

    def watch(
        self,
        stop: threading.Event | None = None,
        on_check: Callable[[dict[str, Any]], None] = print,
    ) -> None:
        """Check again after every save until ``stop`` is set (or Ctrl-C in the main thread).

        Parameters
        ----------
        stop : threading.Event, optional
            Ends the loop when set.
        on_check : callable
            Called with the state after each check (the CLI prints a line).
        """
        import watchfiles

        where, recursive, wanted = self._watched()
        for _changes in watchfiles.watch(
            where,
            watch_filter=wanted,
            step=STEP_MS,
            debounce=1000,
            stop_event=stop,
            recursive=recursive,
            raise_interrupt=True,
        ):
            on_check(self.recheck())


# ------------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows one line per check, not one per request."""

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        watcher = self.server.watcher
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(PAGE.read_bytes(), "text/html; charset=utf-8")
        elif path == "/findings.geojson":
            self._send(watcher.findings_geojson, "application/geo+json; charset=utf-8")
        elif path == "/state.json":
            body = json.dumps(watcher.snapshot(), ensure_ascii=False).encode("utf-8")
            self._send(body, "application/json; charset=utf-8")
        elif path == "/events":
            self._events(watcher)
        elif path.startswith("/assets/"):
            self._asset(path.removeprefix("/assets/"))
        else:
            self._send(b"not found", "text/plain; charset=utf-8", 404)

    def _asset(self, name: str) -> None:
        types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        file = (ASSETS / name).resolve()
        if file.parent not in (ASSETS.resolve(), (ASSETS / "images").resolve()) or (
            not file.is_file() or file.suffix not in types
        ):
            self._send(b"not found", "text/plain; charset=utf-8", 404)
            return
        self._send(file.read_bytes(), types[file.suffix])

    def _events(self, watcher: Watcher) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seen = -1
        try:
            while not self.server.closing.is_set():
                state = watcher.wait_for(seen, KEEPALIVE_S)
                if int(state["version"]) > seen:
                    seen = int(state["version"])
                    data = json.dumps(state, ensure_ascii=False)
                    self.wfile.write(f"event: state\ndata: {data}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the page was closed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, watcher: Watcher) -> None:
        self.watcher = watcher
        self.closing = threading.Event()
        super().__init__((HOST, port), _Handler)


def start_server(watcher: Watcher, port: int = DEFAULT_PORT) -> tuple[_Server, str]:
    """Serve ``watcher``'s page on 127.0.0.1 in a background thread.

    Parameters
    ----------
    watcher : Watcher
    port : int
        TCP port; 0 picks a free one.

    Returns
    -------
    (server, url)
        The server (``shutdown_server(server)`` stops it) and the page's address.

    Raises
    ------
    InputError
        The port is taken or cannot be bound.
    """
    try:
        server = _Server(port, watcher)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {HOST}:{port} ({exc.strerror or exc}); "
            "another program uses it: choose another --port (0 picks a free one)"
        ) from exc
    threading.Thread(target=server.serve_forever, name="compliance-watch", daemon=True).start()
    return server, f"http://{HOST}:{server.server_address[1]}/"


def shutdown_server(server: _Server) -> None:
    """Stop serving and close the event streams."""
    server.closing.set()
    with server.watcher._changed:
        server.watcher._changed.notify_all()
    server.shutdown()
    server.server_close()


def _line(state: dict[str, Any]) -> str:
    at = str(state.get("checked_at", ""))[11:19]
    if state.get("error"):
        return f"{at} cannot check: {state['error']} (the page keeps the last good result)"
    return (
        f"{at} checked in {state['elapsed_s']:.2f} s: {len(state['fixed'])} fixed, "
        f"{len(state['new'])} new, {len(state['open'])} still open; "
        f"{count_en(state['failed_rules'], 'rule')} failed"
    )


def serve(
    scheme: str | Path,
    profile: str = "national",
    *,
    year: int | None = None,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    rules_dir: Path | None = None,
    source_crs: str | None = None,
    field_map: str | Path | None = None,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Check ``scheme``, serve the live page and check again on every save until Ctrl-C.

    Parameters
    ----------
    scheme : str or pathlib.Path
        The scheme to watch (GeoPackage, folder of layers …).
    profile, year, rules_dir, source_crs, field_map
        As for :func:`compliance.check`.
    port : int
        Port on 127.0.0.1 (0: any free port).
    open_browser : bool
        Open the page in the default browser.
    say : callable
        Where the one line per check goes.
    stop : threading.Event, optional
        Ends serving when set (besides Ctrl-C).

    Raises
    ------
    InputError
        The scheme does not exist or the port cannot be bound.  A scheme
        that cannot be read is not an error here: the page says why.
    RuleFileError
        The profile is unknown.
    """
    watcher = Watcher(
        scheme,
        profile,
        year=year,
        rules_dir=rules_dir,
        source_crs=source_crs,
        field_map=field_map,
    )
    server, url = start_server(watcher, port)
    try:
        say(
            f"compliance watch: {url}  (scheme {watcher.path}, profile {watcher.profile.name}; "
            "Ctrl-C stops)"
        )
        say(_line(watcher.recheck()))
        if open_browser:
            webbrowser.open(url)
        watcher.watch(stop, on_check=lambda state: say(_line(state)))
    except KeyboardInterrupt:
        say("compliance watch: stopped")
    finally:
        shutdown_server(server)
