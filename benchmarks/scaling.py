"""Scaling benchmarks (DESIGN.md §11, issue 9): executions per second with ``--workers 1``
against ``--workers N`` and against a Dask LocalCluster with N worker processes, on one
stress scenario and on the matrix, measured side by side in one run. Run from the
repository root::

    .venv/bin/python benchmarks/scaling.py            # ~4 minutes on 2 cores
    .venv/bin/python benchmarks/scaling.py --quick    # ~1 minute (smaller matrix)

Throughput is wall-clock by nature (N processes work at once): each configuration runs
``--repeats`` times and the median is taken; the load average before and after is printed
because the machine may be shared. Every parallel run must reproduce the single-worker
run exactly (same executions and ``trace_hash``; the same matrix JSON but the per-cell
seconds): the script says SAME or DIFFERENT for each. Goals: ``--workers 2`` >= 1.8x the
executions/s of ``--workers 1`` on a 2-core machine, a 2-worker LocalCluster >= 1.6x, and
``zonesim matrix --check`` <= 60 s wall on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.matrix import Budget, columns_for, find_scenarios, run_matrix
from zonesim.parallel import default_workers

ROOT = Path(__file__).resolve().parent.parent
STRESS = ROOT / "scenarios" / "stress" / "pcp-pressure-mixed-orders.toml"
WORKERS_GOAL = 1.8
CLUSTER_GOAL = 1.6
MATRIX_GOAL_S = 60.0


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_now() -> float:
    """CPU seconds of this process and of its reaped children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median wall seconds and median CPU seconds (this process + the workers it
    reaped) of ``fn``, and its last result."""
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    for _ in range(repeats):
        c = cpu_now()
        t = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_now() - c)
    return statistics.median(walls), statistics.median(cpus), result


def _burn(n: int) -> float:
    x = 0
    for i in range(n):
        x += i * i
    return float(x)


def calibrate(n: int) -> float:
    """How much faster N CPU-bound processes get through N equal loops than one process
    gets through one: the parallelism this machine gives right now (a shared machine
    gives less than N)."""
    import multiprocessing

    loop = 10_000_000
    t = time.perf_counter()
    _burn(loop)
    one = time.perf_counter() - t
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n) as pool:
        pool.map(_burn, [1000] * n)  # start the workers outside the timing
        t = time.perf_counter()
        pool.map(_burn, [loop] * n)
        many = time.perf_counter() - t
    return n * one / many


def explore_run(executions: int, **kw: Any) -> Callable[[], Any]:
    def run() -> Any:
        e = Engine(load_scenario(STRESS), parse_policy("v5.15"))
        return explore(e, StrategyConfig("pct", 0), executions=executions, artifacts=None,
                       **kw)

    return run


def same(a: Any, b: Any) -> str:
    return "SAME" if a == b else "DIFFERENT"


def bench_explore(n: int, executions: int, repeats: int) -> tuple[float, Any]:
    """``--workers 1`` against ``--workers n``, with no thread in this process: the pool
    forks its workers, as ``zonesim explore --workers n`` does (a caller with a thread --
    a Dask client, a LocalCluster -- gets forkserver workers, whose CPU this process
    cannot see). Returns the single worker's rate and report."""
    print(f"== explore {STRESS.name}, policy v5.15, pct seed 0, {executions} executions "
          f"(wall, median of {repeats}; load {load()}) ==")
    print(f"  this machine now runs {n} CPU-bound processes {calibrate(n):.2f}x as fast as one "
          f"(the ceiling for any speedup below)")
    t1, c1, r1 = timed(explore_run(executions, workers=1), repeats)
    tn, cn, rn = timed(explore_run(executions, workers=n), repeats)
    rate1, raten = r1.executions / t1, rn.executions / tn
    r = raten / rate1
    print(f"  --workers 1: {t1:.2f} s, {rate1:.1f} executions/s ({c1:.2f} s CPU)")
    print(f"  --workers {n}: {tn:.2f} s, {raten:.1f} executions/s -> {r:.2f}x "
          f"(goal >= {WORKERS_GOAL:g}x for 2 workers)  [{'PASS' if r >= WORKERS_GOAL else 'FAIL'}]"
          f"  result {same(r1.to_json(), rn.to_json())}")
    print(f"    CPU of coordinator + workers {cn:.2f} s = {cn / c1:.2f}x the single worker's "
          f"CPU (the work the parallel run adds: probe, boots, coordination)")
    print(f"  (load after: {load()})")
    return rate1, r1


def bench_cluster(n: int, executions: int, repeats: int, cluster: str, rate1: float,
                  r1: Any) -> None:
    tc, _, rc = timed(explore_run(executions, cluster=cluster), repeats)
    ratec = rc.executions / tc
    rr = ratec / rate1
    print(f"  LocalCluster, {n} worker processes: {tc:.2f} s, {ratec:.1f} executions/s "
          f"-> {rr:.2f}x (goal >= {CLUSTER_GOAL:g}x)  "
          f"[{'PASS' if rr >= CLUSTER_GOAL else 'FAIL'}]  "
          f"result {same(r1.to_json(), rc.to_json())}")
    print(f"  (load after: {load()})")


def matrix_doc(m: Any) -> Any:
    doc = m.to_json()
    for row in doc["rows"]:
        for cell in row["cells"].values():
            cell.pop("seconds")
    return doc


def bench_matrix(n: int, quick: bool, tmp: Path) -> None:
    files = find_scenarios([ROOT / "scenarios" / "seed"])
    entries = [(str(f), load_scenario(f)) for f in files]
    if quick:
        entries = entries[3:]  # the vmem cases: the DFS-exhaustive half of the matrix
    cols = columns_for([s for _, s in entries], None)
    what = "scenarios/seed (vmem-* only)" if quick else "scenarios/seed (zonesim matrix --check)"
    print(f"== matrix {what}: {len(entries)} scenarios x {len(cols)} designs "
          f"(wall, one run each; load {load()}) ==")
    results = {}
    for w in (1, n):
        c = cpu_now()
        t = time.perf_counter()
        m = run_matrix(entries, cols, Budget(), artifacts=tmp, workers=w)
        results[w] = (time.perf_counter() - t, cpu_now() - c, matrix_doc(m),
                      len(m.mismatches()))
    (t1, c1, d1, _), (tn, cn, dn, mism) = results[1], results[n]
    print(f"  --workers 1: {t1:.1f} s ({c1:.1f} s CPU); --workers {n}: {tn:.1f} s "
          f"({cn:.1f} s CPU) -> {t1 / tn:.2f}x; {mism} mismatch(es) with [expect]; "
          f"result {same(d1, dn)}")
    if not quick:
        print(f"  zonesim matrix --check --workers {n}: {tn:.1f} s wall (goal <= "
              f"{MATRIX_GOAL_S:g} s on 2 cores)  [{'PASS' if tn <= MATRIX_GOAL_S else 'FAIL'}]")
    print(f"  (load after: {load()})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="zonesim scaling benchmarks")
    p.add_argument("--quick", action="store_true", help="fewer executions, smaller matrix")
    p.add_argument("--workers", type=int, default=None, help="N (default: the cores)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--no-dask", action="store_true", help="skip the LocalCluster runs")
    args = p.parse_args(argv)
    n = args.workers or max(2, default_workers())
    repeats = args.repeats or (1 if args.quick else 3)
    executions = 200 if args.quick else 600
    print(f"zonesim scaling benchmark: python {sys.version.split()[0]}, {os.cpu_count()} "
          f"cores, N = {n}")
    t0 = time.perf_counter()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        # The pool first, while this process has no thread (see bench_explore), and the
        # matrix too; the LocalCluster last.
        rate1, r1 = bench_explore(n, executions, repeats)
        bench_matrix(n, args.quick, Path(tmp))
        cluster_cm: Any = None
        address = None
        if not args.no_dask:
            try:
                from distributed import LocalCluster
            except ImportError:
                print("(Dask distributed not installed: pip install 'zonesim[dask]')")
            else:
                import logging

                logging.getLogger("distributed").setLevel(logging.ERROR)
                cluster_cm = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                          dashboard_address=None)
                address = cluster_cm.scheduler_address
        try:
            if address is not None:
                print(f"== explore on a LocalCluster (load {load()}) ==")
                bench_cluster(n, executions, repeats, address, rate1, r1)
        finally:
            if cluster_cm is not None:
                cluster_cm.close()
    print(f"(total {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
