"""Benchmark ``check`` on synthetic cities of 10k, 100k and 1M parcels.

One command::

    python benchmarks/run.py [--sizes 10000 100000 1000000] [--profile hebi]

builds each city by tiling the central-Nanjing sample (``synthetic.py``: real
geometries, synthetic placement, roads, buildings and green in proportion)
into a GeoPackage in a temporary folder (``--keep DIR`` keeps and reuses
them), then for each size, in a fresh process of its own so that memory
peaks do not mix, times reading the inputs (``read_scheme``) and checking
them (``evaluate``, every rule of the profile), and reads the process's peak
resident memory.  It also times a designer's check of small schemes end to
end (``compliance check … --out``, import and map included;
``--latency-only`` times only those).  The tables are printed and written to
``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
RESULTS = HERE / "results.md"

#: A designer's small schemes for the latency figures: (label, scheme, extra options).
DESIGNER_RUNS: tuple[tuple[str, Path, tuple[str, ...]], ...] = (
    ("demo (25 features, 21 violations)", DEMO, ()),
    ("demo, `--no-map`", DEMO, ("--no-map",)),
    (
        "Guixi (356 features, 14 violations)",
        ROOT / "sample_data" / "jiangxi_guixi" / "scheme.gpkg",
        (),
    ),
    (
        "central Nanjing (1,891 features, 24 violations)",
        ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg",
        (),
    ),
)

#: Targets of the issue: seconds for 100k parcels, check ÷ read, growth 100k → 1M,
#: a designer's small scheme end to end.
TARGET_100K_S = 30.0
TARGET_CHECK_OVER_READ = 3.0
TARGET_DESIGNER_S = 2.0
LATENCY_HEAD = [
    f"| scheme | median (s) | fastest (s) | slowest (s) | target < {TARGET_DESIGNER_S:g} s |",
    "|---|---:|---:|---:|---|",
]


def child(path: str, profile: str) -> None:
    """Read and check one city in this process; print the figures as JSON."""
    t0 = time.perf_counter()
    import compliance

    t1 = time.perf_counter()
    scheme = compliance.read_scheme(path)
    t2 = time.perf_counter()
    result = compliance.evaluate(scheme, compliance.load_profile(profile))
    t3 = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = {name: len(gdf) for name, gdf in scheme.layers.items()}
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "read_s": t2 - t1,
                "check_s": t3 - t2,
                "findings": len(result.findings),
                "rules": len(result.summary),
                "evaluated": int((result.summary["status"] != "not_evaluated").sum()),
                "peak_mb": peak_kb / 1024.0,
                "counts": counts,
            }
        )
    )


def run_child(path: Path, profile: str) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--profile", profile],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    return figures


def designer_latency(scheme: Path, extra: tuple[str, ...] = (), runs: int = 5) -> list[float]:
    """Seconds of ``compliance check SCHEME -p hebi --out DIR``, end to end, each run a process.

    As a designer's repeated runs are: one run first, not counted, so that
    Python's bytecode cache of the package is written (``pip install -e``
    does not compile it; PYTHONDONTWRITEBYTECODE is lifted for these runs).
    """
    exe = Path(sys.executable).with_name("compliance")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "compliance.cli"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):  # a warm-up run, then a few: the median is reported
            out = Path(tmp) / f"out{i}"
            t = time.perf_counter()
            subprocess.run(
                [*cmd, "check", str(scheme), "-p", "hebi", "--out", str(out), "-q", *extra],
                check=False,
                capture_output=True,
                cwd=ROOT,
                env=env,
            )
            if i:
                times.append(time.perf_counter() - t)
    return times


def latency_lines() -> list[str]:
    """One table row per designer's scheme: median, fastest and slowest of five runs."""
    lines = []
    for label, scheme, extra in DESIGNER_RUNS:  # a few small schemes
        times = designer_latency(scheme, extra)
        median = statistics.median(times)
        verdict = "met" if median < TARGET_DESIGNER_S else "missed"
        lines.append(
            f"| {label} | {median:.2f} | {min(times):.2f} | {max(times):.2f} | {verdict} |"
        )
        print(lines[-1], file=sys.stderr)
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import shapely

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM; Python {platform.python_version()}, "
        f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), {platform.system()}"
    )


def table(rows: list[dict], profile: str) -> str:
    head = (
        f"| parcels | buildings | roads | read (s) | check (s) | total (s) | check ÷ read "
        f"| peak memory (MB) | findings | rules evaluated ({profile}) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:  # one row per size
        c = r["counts"]
        lines.append(
            f"| {c.get('parcels', 0):,} | {c.get('buildings', 0):,} | {c.get('roads', 0):,} "
            f"| {r['read_s']:.1f} | {r['check_s']:.1f} | {r['read_s'] + r['check_s']:.1f} "
            f"| {r['check_s'] / r['read_s']:.2f} | {r['peak_mb']:,.0f} | {r['findings']:,} "
            f"| {r['evaluated']} of {r['rules']} |"
        )
    return head + "\n".join(lines) + "\n"


def verdicts(rows: list[dict]) -> list[str]:
    out = []

    def near(size: int) -> dict | None:
        return next((r for r in rows if abs(r["counts"]["parcels"] / size - 1) < 0.1), None)

    r100 = near(100_000)
    if r100:
        total = r100["read_s"] + r100["check_s"]
        out.append(
            f"- 100k parcels, every rule: check {r100['check_s']:.1f} s, read + check "
            f"{total:.1f} s (target < {TARGET_100K_S:.0f} s): "
            + ("met" if total < TARGET_100K_S else f"missed by {total - TARGET_100K_S:.1f} s")
        )
    for r in rows:
        ratio = r["check_s"] / r["read_s"]
        out.append(
            f"- {r['counts']['parcels']:,} parcels: check ÷ read = {ratio:.2f} "
            f"(target ≤ {TARGET_CHECK_OVER_READ:g}): "
            + ("met" if ratio <= TARGET_CHECK_OVER_READ else "missed")
        )
    r1m = near(1_000_000)
    if r100 and r1m:
        scale = r1m["counts"]["parcels"] / r100["counts"]["parcels"]
        growth = r1m["check_s"] / r100["check_s"]
        out.append(
            f"- 100k → 1M parcels (× {scale:.1f}): check time × {growth:.1f} "
            + ("(linear or better: met)" if growth <= scale * 1.1 else "(worse than linear)")
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--profile", default="hebi", help="rule profile (default: hebi)")
    parser.add_argument("--keep", type=Path, default=None, help="build the cities here, reuse them")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (Markdown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--latency-only", action="store_true", help="only the designer's small schemes"
    )
    args = parser.parse_args(argv)
    if args.latency_only:
        print("\n".join(LATENCY_HEAD + latency_lines()))
        return
    if args.child:
        child(args.child, args.profile)
        return
    sys.path.insert(0, str(HERE))
    from synthetic import build_city

    work = args.keep or Path(tempfile.mkdtemp(prefix="compliance-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in args.sizes:  # a few sizes
            path = work / f"city_{n}.gpkg"
            if not path.exists():
                t = time.perf_counter()
                city = build_city(n, path)
                print(
                    f"built {path.name}: {city.counts['parcels']:,} parcels, "
                    f"{city.counts['buildings']:,} buildings in {time.perf_counter() - t:.0f} s",
                    file=sys.stderr,
                )
            figures = run_child(path, args.profile)
            rows.append(figures)
            print(table([figures], args.profile).splitlines()[-1], file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    latency = latency_lines()
    text = (
        f"# Benchmark results ({date.today().isoformat()})\n\n"
        f"Machine: {machine()}.\n\n"
        f"`python benchmarks/run.py --sizes {' '.join(map(str, args.sizes))} "
        f"--profile {args.profile}`: synthetic cities tiled from central Nanjing; every rule of "
        f"the `{args.profile}` profile; read = `read_scheme`, check = `evaluate`; each size in "
        "a process of its own (peak = its peak resident memory).\n\n"
        + table(rows, args.profile)
        + "\n"
        + "\n".join(verdicts(rows))
        + "\n\nDesigner latency, `compliance check SCHEME -p hebi --out DIR` end to end "
        "(Python start-up and imports, reading, 23 rules, every output and the map), "
        f"five runs each after a warm-up (target < {TARGET_DESIGNER_S:g} s):\n\n"
        + "\n".join(LATENCY_HEAD + latency)
        + "\n"
    )
    args.out.write_text(text + kept_sections(args.out), encoding="utf-8")
    print(text)


def kept_sections(path: Path) -> str:
    """The sections other benchmarks (postgis.py, batch.py) wrote into ``path``, to keep."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    found = re.finditer(r"<!-- (\w+):start -->.*?<!-- \1:end -->\n?", old, flags=re.S)
    return "".join("\n" + m.group(0) for m in found)


if __name__ == "__main__":
    main()
