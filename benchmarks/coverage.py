"""What allocator-state coverage costs (docs/coverage.md). Run from the repository root::

    .venv/bin/python benchmarks/coverage.py            # ~1-2 min on 2 cores
    .venv/bin/python benchmarks/coverage.py --quick
    .venv/bin/python benchmarks/coverage.py --saturation pos   # seed scenarios' saturation

For each stress scenario and two seed scenarios: the CPU time (``time.process_time``,
median of ``--repeats``) of the same PCT exploration (seed 0, ``workers=1``) with coverage
off and on, side by side in this process, and the ratio on / off; the trace hashes of both
must agree (coverage only observes). Off is the engine without the tracker: nothing is
installed, so "off" costs what the engine cost before coverage existed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy  # noqa: E402
from zonesim.engine import NotApplicable  # noqa: E402

SCENARIOS = [
    *sorted((ROOT / "scenarios" / "stress").glob("*.toml")),
    ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml",
    ROOT / "scenarios" / "findings" / "foreign-undo.toml",
]


def cpu(engine: Engine, executions: int, coverage: bool) -> tuple[float, str, int]:
    t = time.process_time()
    r = explore(engine, StrategyConfig("pct", 0), executions=executions, artifacts=None,
                coverage=coverage, keep_going=True)
    sigs = r.coverage.signatures if r.coverage is not None else 0
    return time.process_time() - t, r.trace_hash, sigs


def saturation(strategy: str, policies: list[str], workers: int) -> None:
    """Each seed scenario under each policy with its [explore] budget: does coverage
    saturate (no new signature in the last 20 %), and which windows never opened."""
    print(f"seed scenarios, strategy {strategy}, seed 0, the scenario's [explore] budget")
    print(f"{'scenario':28s} {'policy':8s} {'execs':>5s} {'sigs':>5s} {'last new':>8s}  "
          "saturated  windows never opened")
    for path in sorted((ROOT / "scenarios" / "seed").glob("*.toml")):
        scenario = load_scenario(path)
        for policy in policies:
            try:
                engine = Engine(scenario, parse_policy(policy))
            except NotApplicable:
                print(f"{path.stem:28s} {policy:8s} n/a")
                continue
            r = explore(engine, StrategyConfig(strategy, 0), artifacts=None, coverage=True,
                        executions=scenario.explore.executions or 1000, keep_going=True,
                        shrink_attempts=0, workers=workers)
            c = r.coverage
            assert c is not None
            never = ", ".join(p.label for p in c.never_opened) or "-"
            print(f"{path.stem:28s} {policy:8s} {c.executions:5d} {c.signatures:5d} "
                  f"{c.last_new:8d}  {'yes' if c.saturated else 'NO':9s}  {never}",
                  flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--executions", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="60 executions, 2 repeats")
    ap.add_argument("--saturation", metavar="STRATEGY",
                    help="instead: saturation of every seed scenario under STRATEGY")
    ap.add_argument("--policies", default="v5.15,rfc-v1,proposal,v5.19")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    if args.saturation:
        saturation(args.saturation, args.policies.split(","), args.workers)
        return 0
    n, reps = (60, 2) if args.quick else (args.executions, args.repeats)
    print(f"PCT seed 0, v5.15, {n} executions, median of {reps}; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"{'scenario':28s} {'off s':>7s} {'on s':>7s} {'on/off':>7s} {'signatures':>10s}"
          "  same trace_hash")
    for path in SCENARIOS:
        engine = Engine(load_scenario(path), parse_policy("v5.15"))
        engine.base_state()
        off: list[float] = []
        on: list[float] = []
        hashes: set[str] = set()
        sigs = 0
        for _ in range(reps):  # interleaved, so load changes hit both sides alike
            s, h, _ = cpu(engine, n, False)
            off.append(s)
            hashes.add(h)
            s, h, sigs = cpu(engine, n, True)
            on.append(s)
            hashes.add(h)
        a, b = statistics.median(off), statistics.median(on)
        print(f"{path.stem:28s} {a:7.2f} {b:7.2f} {b / a:6.2f}x {sigs:10d}  "
              f"{'yes' if len(hashes) == 1 else 'NO'}")
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
