"""Bounded DFS with and without partial-order reduction (issue 10, item 2).

For every seed and findings scenario: `zonesim explore --strategy dfs` at the preemption
bound (default 2) within the scenario's `[explore]` execution budget, once with
`--reduction none`, once with `--reduction sleep` and once with `--reduction dpor`, one
worker. Prints, per scenario,
the executions each search ran, whether it exhausted the bounded space, its verdict
(stopping at the first violation, as `explore` does) and the CPU seconds it took; and
whether they agree (they must: every search that exhausted the space has the same verdict,
and none passes where another found a violation; the reductions are sound within the
bound).

    .venv/bin/python benchmarks/dpor.py [--policy v5.15] [--bound 2] [--executions N]
                                        [SCENARIO ...]

`--executions` replaces every scenario's budget (e.g. 20000 to see how many executions
each search needs to exhaust the space at all).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy  # noqa: E402
from zonesim.engine import NotApplicable  # noqa: E402


def one(engine: Engine, bound: int, reduction: str, budget: int) -> tuple[int, bool, str, float]:
    cfg = StrategyConfig("dfs", 0, preemption_bound=bound, reduction=reduction)
    cpu = time.process_time()
    r = explore(engine, cfg, executions=budget, artifacts=None, workers=1,
                shrink_attempts=0)
    cpu = time.process_time() - cpu
    verdict = ("pass" if not r.violations
               else "violation:" + ",".join(v.invariant for v in r.violations))
    return r.executions, bool(r.exhausted), verdict, cpu


def consistent(runs: tuple[tuple[int, bool, str, float], ...]) -> bool:
    """The searches agree: every one that exhausted the bounded space has the same verdict,
    and none of them says "pass" where another found a violation (a search cut by its
    budget may simply not have reached it yet)."""
    exhausted = {r[2] for r in runs if r[1]}
    found = {r[2] for r in runs if r[2] != "pass"}
    if len(exhausted) > 1:
        return False
    return not (exhausted == {"pass"} and found)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default="v5.15")
    ap.add_argument("--bound", type=int, default=2)
    ap.add_argument("--executions", type=int, default=None,
                    help="budget for every scenario (default: its [explore] executions)")
    ap.add_argument("scenarios", nargs="*", type=Path)
    args = ap.parse_args()
    paths = args.scenarios or sorted([*ROOT.glob("scenarios/seed/*.toml"),
                                      *ROOT.glob("scenarios/findings/*.toml")])
    print(f"policy {args.policy}, preemption bound {args.bound}, one worker, "
          "stop at the first violation")
    head = ("scenario", "budget", "full: runs", "exhausted", "verdict", "CPU s",
            "sleep: runs", "exhausted", "verdict", "CPU s",
            "dpor: runs", "exhausted", "verdict", "CPU s", "same verdict")
    rows = []
    for path in paths:
        scenario = load_scenario(path)
        try:
            engine = Engine(scenario, parse_policy(args.policy))
        except NotApplicable:
            rows.append((path.stem, "-", "n/a", "", "", "", "n/a", "", "", "",
                         "n/a", "", "", "", ""))
            continue
        budget = args.executions or scenario.explore.executions or 1000
        f = one(engine, args.bound, "none", budget)
        s = one(engine, args.bound, "sleep", budget)
        d = one(engine, args.bound, "dpor", budget)
        same = consistent((f, s, d))
        rows.append((path.stem, str(budget), str(f[0]), "yes" if f[1] else "no", f[2],
                     f"{f[3]:.1f}", str(s[0]), "yes" if s[1] else "no", s[2],
                     f"{s[3]:.1f}", str(d[0]), "yes" if d[1] else "no", d[2],
                     f"{d[3]:.1f}", "yes" if same else "NO"))
        print("  done", path.stem, file=sys.stderr, flush=True)
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0 if all(r[-1] != "NO" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
