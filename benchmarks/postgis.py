"""The checker against PostGIS on the same rules, side by side, on demand.

One command::

    python benchmarks/postgis.py [--sizes 10000 100000] [--reps 5] [--keep DIR]

builds the synthetic cities (``synthetic.py``), starts a throwaway
PostgreSQL cluster with PostGIS on 127.0.0.1 (Debian's ``postgresql`` and
``postgresql-NN-postgis-3``: ``initdb`` into a temporary folder, ``pg_ctl
start`` on a free port, the folder removed at the end), and for each size,
``--reps`` times, interleaved:

* loads every layer into PostGIS (``ogr2ogr``, COPY mode), builds GiST
  indexes and runs ANALYZE, each timed;
* reads the layers with plain pyogrio (the I/O floor; also through Arrow),
  and with ``compliance.read_scheme``;
* for each rule of the profile that SQL can express (``national``: CL01,
  CL02, EC01, EC02, RD01, SQ01, GR01, GR02) times our check of that rule
  alone (``compliance.evaluate`` with a one-rule profile, one thread) and
  the SQL a competent analyst writes for it (temporary tables and GiST
  indexes it needs included), the order alternating between repetitions;
* times the whole check (``evaluate``, every rule, default threads), the
  outputs (``write_outputs``, no map; and again without the office files,
  ``office=False``) and the CLI end to end
  (``compliance check CITY -p national --out DIR --no-map``, a process).

Both sides must agree on the number of violations of every rule (the script
says so, and exits with status 1 when they do not).  The table of medians
and ratios is printed and written into its own section of
``benchmarks/results.md`` (the rest of the file is kept).

Needs the PostgreSQL server, PostGIS and GDAL's ``ogr2ogr`` (Debian:
``apt-get install postgresql postgresql-15-postgis-3 gdal-bin``).  Run as
root, the cluster runs as the ``postgres`` user.  Not a unit test; CI does
not run it.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compliance import Result, Rule

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.md"
SECTION_START = "<!-- postgis:start -->"
SECTION_END = "<!-- postgis:end -->"

#: Server settings of the throwaway cluster: a disposable analysis database
#: (no durability needed), memory for sorts and index builds.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    # One process per query, as our side runs one rule on one thread (and so
    # that a session's CPU time is all of its query's).
    "max_parallel_workers_per_gather": "0",
    "autovacuum": "off",  # ANALYZE is run explicitly after loading
}

# --------------------------------------------------------------------------- SQL

#: Helper functions an analyst keeps in the database (created once, not timed):
#: the land-use codes read as the checker reads them (compliance.reading.landuse).
SQL_SETUP = r"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE OR REPLACE FUNCTION lu(code text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN c ~ '^[0-9]+$' AND length(c) % 2 = 1 THEN '0' || c ELSE c END
  FROM (SELECT regexp_replace(upper(trim(code)), '\.0$', '') AS c) s $$;
CREATE OR REPLACE FUNCTION is_residential(code text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(lu(code) LIKE '0701%' OR lu(code) ~ '^R[0-9]*$', false) $$;
CREATE OR REPLACE FUNCTION is_construction(code text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce((lu(code) ~ '^[0-9]{2,}$'
     AND left(lu(code), 2) IN ('06','07','08','09','10','11','12','13','15','16'))
     OR lu(code) ~ '^[RABMWSUH][0-9]*$', false) $$;
CREATE OR REPLACE FUNCTION green_kind(code text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN lu(code) LIKE '1401%' OR lu(code) = 'G1' THEN 'park'
              WHEN lu(code) LIKE '1402%' OR lu(code) = 'G2' THEN 'protective' END $$;
"""

#: The net corridors (corridor minus construction land, road land and road
#: centrelines buffered by half their red-line width), as EC01 and EC02 use
#: them.  ``{reach}`` is the largest half red-line width, so that the index
#: finds the centrelines whose buffer can reach a corridor.
SQL_NET = """
CREATE TEMP TABLE net AS
SELECT c.fid, c.id, CASE WHEN o.u IS NULL THEN c.geom ELSE ST_Difference(c.geom, o.u) END AS geom
FROM corridors c
LEFT JOIN LATERAL (
  SELECT ST_Union(g) AS u FROM (
    SELECT p.geom AS g FROM parcels p
     WHERE ST_Intersects(p.geom, c.geom) AND is_construction(p.land_use)
    UNION ALL
    SELECT r.geom FROM roads r
     WHERE ST_Intersects(r.geom, c.geom) AND GeometryType(r.geom) LIKE '%POLYGON'
    UNION ALL
    SELECT b FROM (
      SELECT ST_Buffer(r.geom, r.red_line_width_m / 2, 'endcap=flat') AS b FROM roads r
       WHERE ST_DWithin(r.geom, c.geom, {reach}) AND r.red_line_width_m > 0
         AND GeometryType(r.geom) LIKE '%LINESTRING') rb
     WHERE ST_Intersects(b, c.geom)
  ) obstacles
) o ON true;
"""

#: Qualifying green spaces of a service-radius rule buffered by the radius,
#: with the index the query needs: kinds as the checker reads them, touching
#: pieces merged (ST_ClusterDBSCAN at distance 0), polygons of at least the
#: minimum area.
SQL_RADII = """
CREATE TEMP TABLE radii AS
WITH g AS (
  SELECT geom FROM green_spaces WHERE coalesce(lower(trim(kind)), 'green') IN ({kinds})
  UNION ALL
  SELECT geom FROM parcels WHERE green_kind(land_use) IN ({kinds})
), c AS (
  SELECT ST_ClusterDBSCAN(geom, 0, 1) OVER () AS k, geom FROM g
), merged AS (
  SELECT (ST_Dump(ST_Union(geom))).geom AS geom FROM c GROUP BY k
)
SELECT ST_Buffer(geom, {radius}, 'quad_segs=32') AS geom FROM merged
 WHERE ST_Area(geom) >= {min_area} AND GeometryType(geom) = 'POLYGON';
CREATE INDEX ON radii USING gist (geom);
ANALYZE radii;
CREATE TEMP TABLE viol AS
SELECT id FROM (
  SELECT p.id, ST_Area(p.geom) AS area, ST_Area(coalesce(ST_Difference(p.geom,
           (SELECT ST_Union(b.geom) FROM radii b WHERE ST_Intersects(b.geom, p.geom))),
         p.geom)) AS uncovered
    FROM parcels p
   WHERE is_residential(p.land_use)
     AND NOT EXISTS (SELECT 1 FROM radii b WHERE ST_Covers(b.geom, p.geom))
) u
WHERE uncovered > {min_uncovered} AND uncovered >= {min_share} * area - 1e-9;
"""

#: The analyst's SQL per rule code: statements that leave the violations in
#: the temporary table ``viol``.  Parameters in braces come from the rule.
RULE_SQL: dict[str, str] = {
    "CL01": """
CREATE TEMP TABLE viol AS
SELECT id, ST_Area(geom) / 1e6 AS km2 FROM clusters WHERE ST_Area(geom) / 1e6 > {limit};
""",
    "CL02": """
CREATE TEMP TABLE viol AS
SELECT id, density FROM (
  SELECT c.id, coalesce(c.population,
    (SELECT sum(p.population * ST_Area(ST_Intersection(p.geom, c.geom)) / ST_Area(p.geom))
       FROM parcels p WHERE ST_Intersects(p.geom, c.geom) AND p.population IS NOT NULL)
  ) / (ST_Area(c.geom) / 1e6) AS density
  FROM clusters c) d
WHERE density > {limit};
""",
    "EC01": SQL_NET
    + """
CREATE TEMP TABLE viol AS
SELECT id FROM net
 WHERE ST_IsEmpty(geom) OR ST_Area(geom) <= 0
    OR ST_Area(ST_Difference(geom, ST_Buffer(ST_Buffer(geom, -{limit} / 2.0,
         'join=mitre mitre_limit=5'), {limit} / 2.0, 'join=mitre mitre_limit=5')))
       > {min_narrow_area_m2};
""",
    "EC02": SQL_NET
    + """
CREATE INDEX ON net USING gist (geom);
CREATE TEMP TABLE pairs AS
SELECT a.id AS ai, b.id AS bi, a.geom AS ag, b.geom AS bg, ST_Distance(a.geom, b.geom) AS gap
  FROM clusters a JOIN clusters b
    ON a.fid < b.fid AND ST_DWithin(a.geom, b.geom, {search_distance_m});
CREATE TEMP TABLE viol AS
SELECT ai, bi FROM pairs WHERE gap < {limit}
UNION
SELECT ai, bi FROM (
  SELECT p.ai, p.bi, p.ag, p.bg, (ST_Dump(
      CASE WHEN n.u IS NULL THEN l.rest ELSE ST_Difference(l.rest, n.u) END)).geom AS part
    FROM pairs p
    CROSS JOIN LATERAL (
      SELECT ST_Difference(lens, (SELECT ST_Union(c.geom) FROM clusters c
                                   WHERE ST_Intersects(c.geom, lens))) AS rest
        FROM (SELECT ST_Intersection(ST_Buffer(p.ag, p.gap + 0.01),
                                     ST_Buffer(p.bg, p.gap + 0.01)) AS lens) s) l
    CROSS JOIN LATERAL (
      SELECT ST_Union(n.geom) AS u FROM net n
       WHERE ST_Intersects(n.geom, l.rest) AND NOT ST_IsEmpty(n.geom)) n
   WHERE p.gap >= {limit}) parts
 WHERE ST_Area(part) > {min_break_area_m2}
   AND ST_Length(ST_Intersection(ST_Boundary(part), ST_Buffer(ag, 0.01))) > {min_contact_m}
   AND ST_Length(ST_Intersection(ST_Boundary(part), ST_Buffer(bg, 0.01))) > {min_contact_m};
""",
    "RD01": """
CREATE TEMP TABLE viol AS
SELECT id, red_line_width_m FROM roads
 WHERE red_line_width_m > {limit}
   AND (road_class IS NULL OR road_class NOT IN ({exclude_classes}));
""",
    "SQ01": """
CREATE TEMP TABLE viol AS
SELECT id, coalesce(hard_area_m2, ST_Area(geom)) / 1e4 AS ha FROM squares
 WHERE coalesce(hard_area_m2, ST_Area(geom)) / 1e4 > {limit};
""",
    "GR01": SQL_RADII,
    "GR02": SQL_RADII,
}


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def rule_sql(rule: Rule, reach_m: float) -> str:
    """The analyst's SQL for one rule, parameters filled in."""
    import compliance  # noqa: F401  (registers the checks)
    from compliance.rules.registry import CHECKS

    params = CHECKS[rule.measure].validated_params(rule).model_dump()
    values: dict[str, object] = {"limit": rule.limit, "radius": rule.limit, "reach": reach_m}
    for key, value in params.items():
        values[key] = _quoted(value) if isinstance(value, list) else value
    if "min_area_m2" in params:
        values["min_area"] = params["min_area_m2"]
        values["min_uncovered"] = params.get("min_uncovered_m2", 1.0)
        values["min_share"] = params.get("min_uncovered_share", 0.0)
    return RULE_SQL[rule.code].format(**values)


# --------------------------------------------------------------------------- the cluster


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("pg_ctl")
    if exe is None:
        sys.exit(
            "PostgreSQL's server is not installed: apt-get install postgresql "
            "postgresql-15-postgis-3 (the versioned name from apt-cache search postgis)"
        )
    return Path(exe).resolve().parent


def _version_key(path: str) -> int:
    m = re.search(r"/postgresql/(\d+)/", path)
    return int(m.group(1)) if m else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster with PostGIS, on 127.0.0.1."""

    bindir: Path
    folder: Path
    port: int = 0
    as_user: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> Cluster:
        bindir = _pg_bin()
        folder = Path(tempfile.mkdtemp(prefix="compliance-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(folder, "postgres", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        c = cls(bindir, folder, _free_port(), as_user)
        data = folder / "data"
        c._run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--no-sync"])  # fmt: skip
        opts = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        opts += f" -p {c.port} -k {folder}"
        c._run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                "-o", opts, "start"])  # fmt: skip
        c.psql("CREATE DATABASE bench;", db="postgres")
        c.psql(SQL_SETUP)
        return c

    def _run(self, cmd: list[str]) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, text=True)

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname=bench user=postgres"

    def psql(self, sql: str, *, db: str = "bench") -> str:
        """Run SQL through psql; return what it printed (unaligned, tuples only)."""
        out = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db],
            input=sql, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout

    def timed(self, sql: str) -> tuple[float, float, str]:
        """Server seconds (psql's timing), the session's CPU seconds, and the output.

        The CPU seconds are the session's backend's (``/proc/PID/stat``, read by
        psql before and after the statements); with parallel query off (see
        :data:`SERVER_SETTINGS`) that is all the work of the statements.
        """
        with tempfile.NamedTemporaryFile(prefix="compliance-pg-cpu-") as stat:
            script = (
                "SELECT pg_backend_pid() AS bpid \\gset\n\\setenv BPID :bpid\n"
                f"\\! cat /proc/$BPID/stat >> {stat.name}\n"
                "\\timing on\n" + sql + "\n\\timing off\n"
                f"\\! cat /proc/$BPID/stat >> {stat.name}\n"
            )
            out = self.psql(script)
            lines = Path(stat.name).read_text().splitlines()
        ticks = []
        for line in lines[:2]:  # before and after
            f = line[line.rindex(")") + 2 :].split()  # the fields after "pid (comm) "
            ticks.append(int(f[11]) + int(f[12]))  # utime + stime
        cpu = (ticks[1] - ticks[0]) / os.sysconf("SC_CLK_TCK") if len(ticks) == 2 else float("nan")
        ms = [float(m) for m in re.findall(r"^Time: ([\d.]+) ms", out, flags=re.M)]
        rest = "\n".join(line for line in out.splitlines() if not line.startswith("Time: "))
        return sum(ms) / 1000.0, cpu, rest.strip()

    def cpu(self) -> float:
        """CPU seconds the cluster's processes have used so far (for the load).

        The postmaster's own and its reaped children's (sessions that have
        ended), and the live children's.
        """
        master = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])

        def fields(pid: int | str) -> list[str]:
            text = Path(f"/proc/{pid}/stat").read_text()
            return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "

        time.sleep(0.2)  # the last session's backend reaped
        total = sum(int(x) for x in fields(master)[11:15])  # utime, stime, cutime, cstime
        for proc in Path("/proc").iterdir():  # the cluster's live processes
            if not proc.name.isdigit():
                continue
            try:
                f = fields(proc.name)
            except (OSError, ValueError):
                continue
            if int(f[1]) == master:  # ppid
                total += int(f[11]) + int(f[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        try:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                       "immediate", "stop"])  # fmt: skip
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def load(cluster: Cluster, gpkg: Path, layers: list[str]) -> dict[str, float]:
    """Load every layer (ogr2ogr, COPY), then GiST indexes, then ANALYZE.

    Seconds of each, and CPU seconds of each (``*_cpu``: the server's, and
    ogr2ogr's for the load).
    """
    cluster.psql("".join(f"DROP TABLE IF EXISTS {name};" for name in layers))
    c0, g0 = cluster.cpu(), _children_cpu()
    t = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", f"PG:{cluster.dsn}", str(gpkg), *layers,
         "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=NONE",
         "-gt", "65536", "--config", "PG_USE_COPY", "YES"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    load_s = time.perf_counter() - t
    load_cpu = cluster.cpu() - c0 + _children_cpu() - g0
    index_s, index_cpu, _ = cluster.timed(
        "".join(f"CREATE INDEX ON {name} USING gist (geom);" for name in layers)
    )
    analyze_s, analyze_cpu, _ = cluster.timed("ANALYZE;")
    return {
        "load": load_s,
        "index": index_s,
        "analyze": analyze_s,
        "load_cpu": load_cpu,
        "index_cpu": index_cpu,
        "analyze_cpu": analyze_cpu,
    }


# --------------------------------------------------------------------------- the comparison


def _violations(result: Result) -> dict[str, int]:
    summary = result.summary
    return dict(zip(summary["rule_id"], summary["failed"].astype(int), strict=True))


def _cli(city: Path, profile: str, out: Path) -> tuple[float, float]:
    exe = Path(sys.executable).with_name("compliance")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "compliance.cli"]
    t, c = time.perf_counter(), _children_cpu()
    subprocess.run(
        [*cmd, "check", str(city), "-p", profile, "--out", str(out), "--no-map", "-q", "--force"],
        check=False, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    return time.perf_counter() - t, _children_cpu() - c


class _Clock:
    """Wall and CPU seconds of this process from the start of a step."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def compare_city(
    cluster: Cluster, city: Path, profile_name: str, reps: int, *, cli: bool = True
) -> dict:
    """Interleaved repetitions on one city; every figure's list of seconds, and the counts."""
    import pyogrio

    import compliance
    from compliance.outputs.files import write_outputs

    profile = compliance.load_profile(profile_name)
    rules = [r for code, r in profile.rules.items() if code in RULE_SQL]
    sql_rules = profile.model_copy(update={"rules": {r.code: r for r in rules}})
    layers = [name for name, _ in pyogrio.list_layers(city)]
    times: dict[str, list[float]] = {}
    ours_n: dict[str, int] = {}
    theirs_n: dict[str, int] = {}

    def note(key: str, seconds: float, cpu: float | None = None) -> None:
        times.setdefault(key, []).append(seconds)
        if cpu is not None:
            times.setdefault(key + "_cpu", []).append(cpu)

    with tempfile.TemporaryDirectory(prefix="compliance-pg-out-") as tmp:
        for rep in range(reps):  # a few repetitions, medians reported
            loaded = load(cluster, city, layers)
            for key, s in loaded.items():
                note("pg_" + key, s)
            note(
                "pg_load_total",
                loaded["load"] + loaded["index"] + loaded["analyze"],
                loaded["load_cpu"] + loaded["index_cpu"] + loaded["analyze_cpu"],
            )
            reach = float(cluster.psql("SELECT coalesce(max(red_line_width_m), 0) / 2 FROM roads;"))
            clock = _Clock()
            for name in layers:  # the layers, nothing more: the I/O floor
                pyogrio.read_dataframe(city, layer=name)
            note("floor", *clock.read())
            clock = _Clock()
            for name in layers:  # the same through Arrow
                pyogrio.read_dataframe(city, layer=name, use_arrow=True)
            note("floor_arrow", *clock.read())
            clock = _Clock()
            scheme = compliance.read_scheme(city)
            note("read", *clock.read())
            pg_total, pg_cpu = 0.0, 0.0
            for rule in rules:  # the profile's rules, each both ways
                one = profile.model_copy(update={"rules": {rule.code: rule}})
                sql = rule_sql(rule, reach) + "SELECT count(*) FROM viol;"
                if rep % 2 == 1:  # the order alternates between repetitions
                    s_pg, c_pg, out = cluster.timed(sql)
                clock = _Clock()
                # only the violations reported, as the CLI reports them
                res = compliance.evaluate(scheme, one, threads=1, passes=False)
                note("ours_" + rule.code, *clock.read())
                if rep % 2 == 0:
                    s_pg, c_pg, out = cluster.timed(sql)
                note("pg_" + rule.code, s_pg, c_pg)
                pg_total += s_pg
                pg_cpu += c_pg
                ours_n[rule.code] = _violations(res)[rule.code]
                theirs_n[rule.code] = int(out.splitlines()[-1])
            note("pg_queries", pg_total, pg_cpu)
            clock = _Clock()  # the rules PostGIS runs too, as PostGIS runs them
            result = compliance.evaluate(scheme, sql_rules, passes=False)
            note("check", *clock.read())
            whole = _violations(result)
            del result
            clock = _Clock()  # every rule of the profile: what the outputs are written of
            result = compliance.evaluate(scheme, profile, passes=False)
            note("check_all", *clock.read())
            for code in ours_n:  # the whole run finds what the single rules found
                if whole[code] != ours_n[code]:
                    raise SystemExit(f"{code}: {whole[code]} violations in the whole run, "
                                     f"{ours_n[code]} alone")  # fmt: skip
            clock = _Clock()
            write_outputs(result, Path(tmp) / f"out{rep}", map_html=False)
            note("outputs", *clock.read())
            clock = _Clock()  # the files the issue is about: findings, summary, report
            write_outputs(result, Path(tmp) / f"core{rep}", map_html=False, office=False)
            note("outputs_core", *clock.read())
            del result, scheme, res
            if cli:
                note("cli", *_cli(city, profile_name, Path(tmp) / "cli"))
            print(
                f"  rep {rep + 1}/{reps}: read {times['read'][-1]:.1f} s, check "
                f"{times['check'][-1]:.1f} s, PostGIS queries {pg_total:.1f} s "
                f"(CPU: read {times['read_cpu'][-1]:.1f} s, check {times['check_cpu'][-1]:.1f} s, "
                f"PostGIS queries {pg_cpu:.1f} s)",
                file=sys.stderr,
            )
    counts = {name: int(n) for name, n in _layer_counts(city).items()}
    return {"times": times, "ours": ours_n, "theirs": theirs_n, "counts": counts,
            "rules": [r.code for r in rules], "n_profile": len(profile.rules)}  # fmt: skip


def _layer_counts(city: Path) -> dict[str, int]:
    import pyogrio

    return {
        name: int(pyogrio.read_info(city, layer=name)["features"])
        for name, _ in pyogrio.list_layers(city)
    }


# --------------------------------------------------------------------------- the table


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def table(res: dict, reps: int) -> str:
    """Per rule and per step: wall seconds, CPU seconds and the ratios, medians."""
    t = {k: _med(v) for k, v in res["times"].items()}
    n = res["counts"]
    lines = [
        f"**{n['parcels']:,} parcels** ({n['roads']:,} roads, {n['buildings']:,} buildings, "
        f"{n['green_spaces']:,} green spaces, {n['clusters']:,} clusters, "
        f"{n['corridors']:,} corridors); medians of {reps} interleaved runs:",
        "",
        "| rule | ours (s) | PostGIS (s) | ours ÷ PostGIS | ours, CPU (s) | PostGIS, CPU (s) "
        "| ours ÷ PostGIS, CPU | violations (ours / PostGIS) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ours_sum = ours_cpu = 0.0
    for code in res["rules"]:  # the rules compared
        o, p = t["ours_" + code], t["pg_" + code]
        oc, pc = t["ours_" + code + "_cpu"], t["pg_" + code + "_cpu"]
        ours_sum += o
        ours_cpu += oc
        a, b = res["ours"][code], res["theirs"][code]
        agree = "agree" if a == b else "**DIFFER**"
        lines.append(
            f"| {code} | {o:.3f} | {p:.3f} | {o / p:.2f} | {oc:.2f} | {pc:.2f} "
            f"| {oc / max(pc, 0.01):.2f} | {a:,} / {b:,} ({agree}) |"
        )
    q, qc = t["pg_queries"], t["pg_queries_cpu"]
    lines.append(
        f"| rules one by one, summed | {ours_sum:.2f} | {q:.2f} | {ours_sum / q:.2f} "
        f"| {ours_cpu:.2f} | {qc:.2f} | {ours_cpu / qc:.2f} | |"
    )

    def row(label: str, key: str, versus: float | None = None, vs_cpu: float | None = None) -> str:
        wall, cpu = t.get(key), t.get(key + "_cpu")
        if wall is None:
            return f"| {label} | not run | | | |"
        ratio = f"{wall / versus:.2f}" if versus else ""
        ratio_cpu = f"{cpu / vs_cpu:.2f}" if vs_cpu and cpu is not None else ""
        cpu_text = f"{cpu:.2f}" if cpu is not None else ""
        return f"| {label} | {wall:.2f} | {ratio} | {cpu_text} | {ratio_cpu} |"

    load = t["pg_load_total"] + q
    load_cpu = t["pg_load_total_cpu"] + qc
    lines += [
        "",
        "| step | seconds | ÷ PostGIS queries | CPU seconds | ÷ PostGIS queries, CPU |",
        "|---|---:|---:|---:|---:|",
        row("our read (`read_scheme`)", "read"),
        row("reading the layers with pyogrio (the I/O floor)", "floor"),
        row("the same through Arrow (`use_arrow=True`)", "floor_arrow"),
        row(f"our check (`evaluate`, these {len(res['rules'])} rules)", "check", q, qc),
        row(
            f"our check of every rule of the profile ({res['n_profile']} rules; the outputs' run)",
            "check_all",
        ),
        row("our outputs (`write_outputs`, no map)", "outputs"),
        row(
            "of which without `opinion.docx` and `findings.xlsx` (`--no-office`: "
            "`findings.geojson`, `findings.gpkg`, `summary.csv`, `report.html`, `run.json`)",
            "outputs_core",
        ),
        row(
            "our end to end (`compliance check --no-map`, a process; ratios against "
            "PostGIS load + indexes + ANALYZE + queries)",
            "cli",
            load,
            load_cpu,
        ),
        row("PostGIS queries for the same rules", "pg_queries", q, qc),
        row("PostGIS load (`ogr2ogr`, COPY) + GiST indexes + ANALYZE", "pg_load_total"),
        "",
        f"- check ÷ PostGIS queries: {t['check'] / q:.2f} wall, "
        f"{t['check_cpu'] / qc:.2f} CPU; read ÷ I/O floor: {t['read'] / t['floor']:.2f} "
        f"({t['read'] / t['floor_arrow']:.2f} of the Arrow floor; CPU "
        f"{t['read_cpu'] / t['floor_cpu']:.2f}); outputs ÷ check: "
        f"{t['outputs'] / t['check_all']:.2f} wall, "
        f"{t['outputs_cpu'] / t['check_all_cpu']:.2f} CPU (without the office files "
        f"{t['outputs_core'] / t['check_all']:.2f} wall, "
        f"{t['outputs_core_cpu'] / t['check_all_cpu']:.2f} CPU)",
    ]
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import shapely

    pg = subprocess.run(
        [str(_pg_bin() / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores (shared with other work: figures are noisy); "
        f"Python {platform.python_version()}, shapely {shapely.__version__} "
        f"(GEOS {shapely.geos_version_string}); {pg}"
    )


def write_section(text: str, path: Path) -> None:
    """Put ``text`` between the section markers of ``path``, keeping the rest."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{SECTION_START}\n{text.rstrip()}\n{SECTION_END}\n"
    if SECTION_START in old and SECTION_END in old:
        head, rest = old.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
        new = head + block + tail
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + block
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians)")
    parser.add_argument("--profile", default="national")
    parser.add_argument("--keep", type=Path, default=None, help="build the cities here, reuse them")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (Markdown)")
    parser.add_argument(
        "--no-cli", action="store_true", help="do not time the CLI end to end (saves a run)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from synthetic import build_city

    work = args.keep or Path(tempfile.mkdtemp(prefix="compliance-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # A benchmark stopped with kill stops its cluster too (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    cluster = Cluster.start()
    parts = []
    differ = False
    try:
        for n in args.sizes:  # a few sizes
            path = work / f"city_{n}.gpkg"
            if not path.exists():
                build_city(n, path)
            print(f"{path.name}: {args.reps} interleaved runs", file=sys.stderr)
            res = compare_city(cluster, path, args.profile, args.reps, cli=not args.no_cli)
            differ |= res["ours"] != res["theirs"]
            parts.append(table(res, args.reps))
            print(parts[-1], file=sys.stderr)
            write_section(section(args, parts), args.out)  # each size as soon as it is done
    finally:
        cluster.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(section(args, parts))
    if differ:
        sys.exit("the two sides do not agree on every violation count")


def section(args: argparse.Namespace, parts: list[str]) -> str:
    """The results section: how it was run, the machine, a table per size."""
    return (
        f"## Against PostGIS ({date.today().isoformat()})\n\n"
        f"`python benchmarks/postgis.py --sizes {' '.join(map(str, args.sizes))} "
        f"--reps {args.reps}`: profile `{args.profile}`, the rules SQL can express; "
        "ours = `evaluate` with a one-rule profile on one thread; PostGIS = the analyst's "
        "SQL (temporary tables and indexes included), server time as psql reports it; "
        "CPU seconds: our process's (`time.process_time`, every thread's) and the query's "
        "PostgreSQL backend's (`/proc/PID/stat`, parallel query off), the fair measure "
        "on a machine shared with other work.\n\n"
        f"Machine: {machine()}.\n\n" + "\n".join(parts)
    )


if __name__ == "__main__":
    main()
