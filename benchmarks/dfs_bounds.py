"""Executions to the first failure of the bounded DFS, bound by bound (issue 10): for every
case of benchmarks/strategies.py (a bundled scenario x design whose ``[expect]`` is a
violation), the plain search and DPOR at preemption bound 1 and at bound 2 alone, one JSON
line per case::

    .venv/bin/python benchmarks/dfs_bounds.py > dfs_bounds.jsonl       # ~30 min on 2 cores
    .venv/bin/python benchmarks/dfs_bounds.py --scenarios undo-window

Each entry is ``[first failing execution or null, executions run, exhausted, CPU s]`` within
1,000 executions; when another invariant fails first the search goes on (``keep_going``) to
the expected one. From these, what iterative preemption bounding (``zonesim explore
--strategy dfs``: bounds 0, 1, 2 in turn) needs is bound 1's executions when it finds the
violation there, else bound 1's whole space plus bound 2's first failure; the summary line
prints both searches' misses and cases above 20 executions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import strategies as B

from zonesim import StrategyConfig, explore


def deepened(row: dict[str, list[object]], red: str) -> int | None:
    f1, n1, x1, _ = row[f"{red}1"]
    f2, _, _, _ = row[f"{red}2"]
    if f1 is not None:
        return int(str(f1)) if f1 == 1 else int(str(f1)) + 1  # + bound 0's one schedule
    if not x1 or f2 is None:
        return None
    return 1 + int(str(n1)) + int(str(f2))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default="", help="comma-separated substrings of case names")
    args = ap.parse_args()
    over = {"none": 0, "dpor": 0}
    miss = {"none": 0, "dpor": 0}
    for c in B.cases([f for f in args.scenarios.split(",") if f]):
        e = B.engine(c)
        if e is None:
            continue
        row: dict[str, list[object]] = {}
        for red in ("none", "dpor"):
            for bound in (1, 2):
                cfg = StrategyConfig("dfs", preemption_bound=bound, reduction=red)
                t = time.process_time()
                rep = explore(e, cfg, executions=1000, artifacts=None, shrink_attempts=0)
                if rep.violations and not B.matches(c, rep.violations[0].invariant):
                    rep = explore(e, cfg, executions=1000, artifacts=None, shrink_attempts=0,
                                  keep_going=True)
                v = next((f for f in rep.violations if B.matches(c, f.invariant)), None)
                row[f"{red}{bound}"] = [v.execution if v else None, rep.executions,
                                        bool(rep.exhausted), round(time.process_time() - t, 2)]
        for red in ("none", "dpor"):
            d = deepened(row, red)
            miss[red] += d is None
            over[red] += d is None or d > B.MEDIAN_GOAL
        print(json.dumps({"case": c.name, **row, "deepened": {r: deepened(row, r)
                                                              for r in ("none", "dpor")}}),
              flush=True)
    print(json.dumps({"summary": {"misses": miss, f"over {B.MEDIAN_GOAL}": over}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
