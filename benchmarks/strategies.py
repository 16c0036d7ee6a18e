"""Strategy benchmark (issue 10, item 5): how fast each search strategy finds every known
violation of the bundled scenarios. Run from the repository root::

    .venv/bin/python benchmarks/strategies.py                 # everything, ~10-20 min on 2 cores
    .venv/bin/python benchmarks/strategies.py --quick         # 3 seeds, no DFS exhaustion
    .venv/bin/python benchmarks/strategies.py --scenarios cma-b,foreign --strategies pos,pct

A *case* is a scenario with an ``[expect]`` entry ``violation`` or ``violation:<inv>`` for
some policy, in ``scenarios/seed``, ``scenarios/findings`` and ``tests/switches/data``.
Each case runs under each strategy with seeds 0..N-1 (``--seeds``, default 10), stopping at
the first violation, within ``--executions`` (default 1,000) executions, on one worker
(``workers=1``: executions to the first failure do not depend on the worker count anyway;
the benchmark's own ``--jobs`` runs cases side by side). Reported per case and strategy:
executions to the first failure (median and worst over the seeds; a seed that finds
nothing within the budget is a *miss* and counts as budget + 1), CPU seconds of the same
runs (``time.process_time`` of the process that ran them: median and worst), and misses.
When another invariant fails first (foreign-undo under v6.17 also WARNs), the run goes on
(``keep_going``) to the expected one, its CPU time is that of the executions up to it
(shrinking off, as everywhere here), and the seeds where that happened are counted
(``other first``). DFS is deterministic: executions to its first failure as ``zonesim
explore --strategy dfs`` runs it (bounds 0, 1, 2 in turn, DPOR),
and the size of the bounded space (``--keep-going`` until exhausted, at most
``--dfs-budget`` executions) without partial-order reduction and with the one
``--strategy dfs`` uses by default (``DEFAULT_REDUCTION``: bounded DPOR).

The summary ranks the strategies by the worst per-case median, then misses, then CPU;
the goals (issue 10): the best strategy's median <= 20 on every case, and no miss within
1,000 executions by the default strategy (``zonesim explore``'s default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy  # noqa: E402
from zonesim.engine import NotApplicable  # noqa: E402
from zonesim.explore import DEFAULT_REDUCTION, DEFAULT_STRATEGY, reduction_for  # noqa: E402
from zonesim.matrix import short_invariant  # noqa: E402

DIRS = ("scenarios/seed", "scenarios/findings", "tests/switches/data")
# every strategy but the exhaustive ones: dfs+feedback, explore's default, included
SAMPLERS = ("random", "pct", "pos", "feedback", "dfs+feedback")
MEDIAN_GOAL = 20


@dataclass(frozen=True)
class Case:
    path: str
    policy: str
    invariant: str | None  # None: any violation

    @property
    def name(self) -> str:
        return f"{Path(self.path).stem} [{self.policy}]"


def cases(filters: list[str]) -> list[Case]:
    out: list[Case] = []
    for d in DIRS:
        for path in sorted((ROOT / d).glob("*.toml")):
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
            for policy, verdict in doc.get("expect", {}).items():
                if not verdict.startswith("violation"):
                    continue
                inv = verdict.split(":", 1)[1] if ":" in verdict else None
                c = Case(str(path.relative_to(ROOT)), policy, inv)
                if not filters or any(f in c.name for f in filters):
                    out.append(c)
    return out


def matches(case: Case, invariant: str) -> bool:
    return case.invariant is None or case.invariant in (invariant, short_invariant(invariant))


def engine(case: Case) -> Engine | None:
    try:
        return Engine(load_scenario(ROOT / case.path), parse_policy(case.policy))
    except NotApplicable:
        return None


def sample(case: Case, strategy: str, seeds: int, budget: int) -> dict[str, Any]:
    """One case under one strategy, seeds 0..seeds-1 (run in a worker process)."""
    e = engine(case)
    if e is None:
        return {"case": case.name, "strategy": strategy, "na": True}
    found: list[int] = []
    cpu: list[float] = []
    other: list[str] = []
    # as `zonesim explore` configures it: the hybrid's DFS half reduces by DPOR (up to
    # DPOR_MAX_STEPS; a bare StrategyConfig would run the plain search)
    red = reduction_for(e) if strategy == "dfs+feedback" else "none"
    for seed in range(seeds):
        cfg = StrategyConfig(strategy, seed, reduction=red)
        t = time.process_time()
        rep = explore(e, cfg, executions=budget, artifacts=None,
                      shrink_attempts=0)
        spent = time.process_time() - t
        v = rep.violations[0] if rep.violations else None
        if v is not None and not matches(case, v.invariant):
            # Another invariant first: find the expected one (one finding per invariant),
            # then time the run up to it (keep_going runs to the end of its budget).
            other.append(v.invariant)
            rep = explore(e, cfg, executions=budget,
                          artifacts=None, shrink_attempts=0, keep_going=True)
            v = next((f for f in rep.violations if matches(case, f.invariant)), None)
            t = time.process_time()
            explore(e, cfg, shrink_attempts=0, keep_going=True,
                    executions=v.execution if v is not None else budget, artifacts=None)
            spent = time.process_time() - t
        cpu.append(spent)
        found.append(v.execution if v is not None else budget + 1)
    return {"case": case.name, "strategy": strategy, "executions": found, "cpu": cpu,
            "other": other}


def dfs(case: Case, bound: int, dfs_budget: int) -> dict[str, Any]:
    """DFS at ``bound``: executions to the first failure, then the bounded space's size
    without (and, when the DFS has the switch, with) partial-order reduction."""
    e = engine(case)
    if e is None:
        return {"case": case.name, "na": True}
    t = time.process_time()
    # what `zonesim explore --strategy dfs` does: bounds 0, 1, ... in turn, with DPOR
    first = explore(e, StrategyConfig("dfs", preemption_bound=bound,
                                      reduction=DEFAULT_REDUCTION, deepen=True),
                    executions=dfs_budget, artifacts=None, shrink_attempts=0)
    out: dict[str, Any] = {"case": case.name, "cpu_first": time.process_time() - t,
                           "first": first.violations[0].execution if first.violations
                           else None}
    # ``reduction`` is the name of the reduction ("none", "sleep", "dpor"): the "reduced"
    # column is what `--strategy dfs` does by default (DEFAULT_REDUCTION)
    for label, reduction in (("plain", "none"), ("reduced", DEFAULT_REDUCTION)):
        cfg = StrategyConfig("dfs", preemption_bound=bound, reduction=reduction)
        t = time.process_time()
        rep = explore(e, cfg, executions=dfs_budget, artifacts=None, shrink_attempts=0,
                      keep_going=True)
        out[label] = {"executions": rep.executions, "exhausted": bool(rep.exhausted),
                      "cpu": time.process_time() - t}
    return out


def fmt_exec(r: dict[str, Any], budget: int) -> str:
    xs = r["executions"]
    med = statistics.median(xs)
    misses = sum(1 for x in xs if x > budget)
    text = f"{med:g}/{max(xs) if max(xs) <= budget else 'miss'}"
    notes = [f"{misses} miss"] if misses else []
    if r["other"]:
        notes.append(f"{len(r['other'])} other first")
    return text + (f" ({', '.join(notes)})" if notes else "")


def fmt_dfs(r: dict[str, Any]) -> str:
    return f"{'exh. ' if r['exhausted'] else '>'}{r['executions']}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--executions", type=int, default=1000, help="budget per run")
    ap.add_argument("--strategies", default=",".join(SAMPLERS))
    ap.add_argument("--scenarios", default="", help="comma-separated substrings of case names")
    ap.add_argument("--bound", type=int, default=2, help="DFS preemption bound")
    ap.add_argument("--dfs-budget", type=int, default=2000)
    ap.add_argument("--no-dfs", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 seeds, no DFS exhaustion")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--markdown", action="store_true", help="tables as Markdown")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    args = ap.parse_args()
    seeds = 3 if args.quick else args.seeds
    strategies = [s for s in args.strategies.split(",") if s]
    todo = cases([f for f in args.scenarios.split(",") if f])
    load0 = os.getloadavg()
    started = time.monotonic()
    print(f"{len(todo)} cases x {strategies} x {seeds} seeds, budget {args.executions}; "
          f"{args.jobs} jobs; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}",
          flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        samples = [pool.submit(sample, c, s, seeds, args.executions)
                   for c in todo for s in strategies]
        dfs_runs = [] if args.no_dfs else [
            pool.submit(dfs, c, args.bound, 0 if args.quick else args.dfs_budget)
            if not args.quick else None for c in todo]
        res = []
        for i, f in enumerate(samples):  # progress on stderr, in submission order
            res.append(f.result())
            print(f"  [{i + 1}/{len(samples)}] {res[-1]['case']} {res[-1]['strategy']}",
                  file=sys.stderr, flush=True)
        dres = [f.result() if f is not None else None for f in dfs_runs]
    by = {(r["case"], r["strategy"]): r for r in res}
    render = markdown if args.markdown else table
    rows: list[list[str]] = []
    for i, c in enumerate(todo):
        row = [c.name]
        for s in strategies:
            r = by[(c.name, s)]
            row.append("n/a" if r.get("na") else fmt_exec(r, args.executions))
        if dres and dres[i] is not None and not dres[i].get("na"):
            d = dres[i]
            row += [str(d["first"] or "none"), fmt_dfs(d["plain"]), fmt_dfs(d["reduced"])]
        elif dres:
            row += ["-", "-", "-"]
        rows.append(row)
    headers = ["case", *strategies]
    if dres:
        headers += [f"dfs b{args.bound} first", "dfs space",
                    f"dfs space ({DEFAULT_REDUCTION})"]
    print("\nexecutions to the first failure: median/worst over seeds")
    print(render(headers, rows))
    summary: list[list[str]] = []
    for s in strategies:
        rs = [by[(c.name, s)] for c in todo if not by[(c.name, s)].get("na")]
        meds = [statistics.median(r["executions"]) for r in rs]
        misses = sum(1 for r in rs for x in r["executions"] if x > args.executions)
        cpu = [x for r in rs for x in r["cpu"]]
        over = [r["case"] for r, m in zip(rs, meds, strict=True) if m > MEDIAN_GOAL]
        summary.append([s, f"{max(meds):g}", str(len(over)), str(misses),
                        f"{statistics.median(cpu):.3f}", f"{max(cpu):.2f}", f"{sum(cpu):.1f}",
                        ", ".join(over) or "-"])
    summary.sort(key=lambda r: (float(r[1]), int(r[3]), float(r[6])))
    print(f"\nper strategy over {len(todo)} cases ({seeds} seeds each)")
    print(render(["strategy", "worst median", f"cases median > {MEDIAN_GOAL}", "misses",
                  "cpu s/run median", "cpu s/run worst", "cpu s total", "cases over"],
                 summary))
    best = summary[0]
    print(f"\nbest: {best[0]} (worst per-case median {best[1]}, goal <= {MEDIAN_GOAL}: "
          f"{'PASS' if float(best[1]) <= MEDIAN_GOAL else 'FAIL'}); default strategy "
          f"{DEFAULT_STRATEGY}: ", end="")
    if DEFAULT_STRATEGY in strategies:
        d = next(r for r in summary if r[0] == DEFAULT_STRATEGY)
        print(f"{d[3]} misses within {args.executions} executions "
              f"({'PASS' if d[3] == '0' else 'FAIL'})")
    else:
        print("not benchmarked")
    load1 = os.getloadavg()
    print(f"{time.monotonic() - started:.0f} s wall; load average {load1[0]:.2f} "
          f"{load1[1]:.2f} {load1[2]:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps({"samples": res, "dfs": dres}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
