"""Batch efficiency: ``compliance batch`` on 1 worker against N, and where the rest goes.

One command::

    python benchmarks/batch.py [--schemes 8] [--parcels 2000] [--workers 1 2] [--reps 3]

builds ``--schemes`` small synthetic cities (``synthetic.py``) and a manifest
of them, then runs :func:`compliance.batch.run_batch` on them with each
number of workers in turn, each run in a Python process of its own (as each
``compliance batch`` command starts its own cluster and worker processes),
``--reps`` times interleaved, every scheme checked
again each time (``force``), maps included as the batch writes them.  For
each run it splits the wall time into:

* planning: reading the manifest and hashing every input (for resuming);
* cluster start-up: creating the local dask cluster and its client (and the
  forkserver its workers are forked from, which imports the checker once);
* tasks: the seconds each scheme's task reported (reading, checking and
  writing its outputs, on its worker), summed and divided by the workers;
* the rest of running the tasks: waiting on the last tasks (imbalance),
  workers importing the checker before their first task, scheduling;
* batch outputs: ``batch_summary.csv`` and ``overview.html``.

Efficiency at N workers = time on 1 worker ÷ (N × time on N workers).  The
CPU seconds of every process (this one and the cluster's, which end with
the run) tell the work added by more workers from a machine busy with other
work: CPU on 1 ÷ CPU on N is 100 % when N workers do no more work than one.
The medians are printed and written into their own section of
``benchmarks/results.md``.  Not a unit test; CI does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
SECTION_START = "<!-- batch:start -->"
SECTION_END = "<!-- batch:end -->"


def build_batch(folder: Path, schemes: int, parcels: int) -> Path:
    """``schemes`` synthetic cities of about ``parcels`` parcels each, and their manifest."""
    sys.path.insert(0, str(HERE))
    from synthetic import build_city

    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "city_0.gpkg"
    if not first.exists():
        build_city(parcels, first)
    rows = ["scheme,profile,name"]
    for i in range(schemes):  # a handful of copies of one small city
        path = folder / f"city_{i}.gpkg"
        if not path.exists():
            shutil.copyfile(first, path)
        rows.append(f"{path.name},hebi,city_{i}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest


def one_run(manifest: Path, out: Path, workers: int) -> dict[str, float]:
    """One batch run on ``workers`` workers, its wall time split."""
    from compliance import batch

    spans: dict[str, float] = {"plan": 0.0, "startup": 0.0, "outputs": 0.0}
    real_client, real_plan = batch._client, batch.plan_jobs
    real_summary, real_overview = batch._summary_rows, batch.write_overview

    def client(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_client(*args, **kwargs)
        finally:
            spans["startup"] += time.perf_counter() - t

    def timed(fn: Any, span: str = "outputs") -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spans[span] += time.perf_counter() - t

        return wrapper

    batch._client = client
    batch.plan_jobs = timed(real_plan, "plan")
    batch._summary_rows = timed(real_summary)
    batch.write_overview = timed(real_overview)
    try:
        t = time.perf_counter()
        cpu = _cpu()
        result = batch.run_batch(manifest, out, workers=workers, progress=False, force=True)
        wall = time.perf_counter() - t
        _stop_forkserver()  # its CPU and its workers' count once it has ended
        cpu = _cpu() - cpu
    finally:
        batch._client, batch.plan_jobs = real_client, real_plan
        batch._summary_rows, batch.write_overview = real_summary, real_overview
    ok = result.schemes["status"] == "ok"
    if not ok.all():
        raise SystemExit(f"schemes failed: {result.schemes.loc[~ok, 'error'].tolist()}")
    tasks = float(result.schemes["seconds"].sum())
    return {
        "wall": wall,
        "plan": spans["plan"],
        "startup": spans["startup"],
        "tasks": tasks / workers,
        "task_sum": tasks,
        "outputs": spans["outputs"],
        "rest": wall - spans["plan"] - spans["startup"] - tasks / workers - spans["outputs"],
        "cpu": cpu,
    }


def _stop_forkserver() -> None:
    """Stop multiprocessing's forkserver, if this process started one, and wait for it.

    The local cluster's workers are forked from it (``compliance.batch``
    preloads the checker there): they are its children, and their CPU
    seconds reach this process's children's only when it ends.  A private
    method of the standard library (``ForkServer._stop``, what CPython's
    own tests call), acceptable in a benchmark.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (the cluster's workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def table(runs: dict[int, list[dict[str, float]]], schemes: int, parcels: int, reps: int) -> str:
    med = {w: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for w, rs in runs.items()}
    base = med[min(med)]["wall"] * min(med)
    lines = [
        f"{schemes} schemes of {parcels:,} parcels (profile `hebi`, maps included), "
        f"medians of {reps} interleaved runs, seconds:",
        "",
        "| workers | wall | planning (hashes) | cluster start-up | tasks ÷ workers "
        "| rest of running the tasks | batch summary + overview | task time summed | efficiency "
        "| CPU seconds, every process | CPU on 1 ÷ CPU on N |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base_cpu = med[min(med)]["cpu"]
    for w, m in sorted(med.items()):  # a few worker counts
        lines.append(
            f"| {w} | {m['wall']:.1f} | {m['plan']:.1f} | {m['startup']:.1f} "
            f"| {m['tasks']:.1f} | {m['rest']:.1f} "
            f"| {m['outputs']:.1f} | {m['task_sum']:.1f} | {base / (w * m['wall']):.0%} "
            f"| {m['cpu']:.1f} | {base_cpu / m['cpu']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path) -> None:
    """Put ``text`` between this benchmark's markers in ``path``, keeping the rest."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{SECTION_START}\n{text.rstrip()}\n{SECTION_END}\n"
    if SECTION_START in old and SECTION_END in old:
        head, rest = old.split(SECTION_START, 1)
        new = head + block + rest.split(SECTION_END, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + block
    path.write_text(new, encoding="utf-8")


def _in_process_of_its_own(manifest: Path, out: Path, workers: int) -> dict[str, float]:
    """:func:`one_run` in a fresh Python, as each ``compliance batch`` starts its cluster."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(manifest), str(out), str(workers)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"batch run failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--one"]:  # a run in a process of its own: figures as JSON
        manifest, out, workers = args_list[1:4]
        print(json.dumps(one_run(Path(manifest), Path(out), int(workers))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemes", type=int, default=8)
    parser.add_argument("--parcels", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, min(2, os.cpu_count() or 1)])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="build schemes here, reuse them")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (Markdown)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="compliance-batch-bench-"))
    runs: dict[int, list[dict[str, float]]] = {w: [] for w in args.workers}
    try:
        manifest = build_batch(work, args.schemes, args.parcels)
        with tempfile.TemporaryDirectory(prefix="compliance-batch-out-") as tmp:
            for rep in range(args.reps):  # interleaved: each worker count once per round
                for w in args.workers:  # a few worker counts
                    r = _in_process_of_its_own(manifest, Path(tmp) / f"w{w}", w)
                    runs[w].append(r)
                    print(f"  rep {rep + 1}, {w} workers: " + ", ".join(
                        f"{k} {v:.1f}" for k, v in r.items()), file=sys.stderr)  # fmt: skip
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    text = (
        f"## Batch efficiency ({date.today().isoformat()})\n\n"
        f"`python benchmarks/batch.py --schemes {args.schemes} --parcels {args.parcels} "
        f"--workers {' '.join(map(str, args.workers))} --reps {args.reps}` on "
        f"{os.cpu_count()} cores shared with other work (figures are noisy).\n\n"
        + table(runs, args.schemes, args.parcels, args.reps)
    )
    write_section(text, args.out)
    print(text)


if __name__ == "__main__":
    main()
