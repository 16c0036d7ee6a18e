"""This checkout's engine against an older commit's, side by side in one run (issue 7).

Issue 7 made lock-held sections preemptible at their lockless windows and added scan steps;
its done-when asks that the engine's speed on the stress scenarios stay within 1.5x of
what it was before (commit ee2624d, the last one before that work). This script extracts
the baseline commit with ``git archive`` into a temp directory and runs the same driver on
both trees, in alternating child processes (``PYTHONPATH`` selects the tree; the venv and
its packages are the same), so load on a shared machine hits both sides alike.

Same work on both sides: each side loads ITS OWN copy of the scenario file (the copies
differ only where this checkout marks LRU folios ``compound = true``, printed below), runs
the same PCT strategy with the same seed for the same number of executions under v5.15,
and every execution must finish all its ops with no violation and no error (checked; a
side that stops early makes the comparison void). The schedules differ by design: the new
model has more switch points (windows, scan steps), so each execution takes more steps.
The figure judged is CPU time per execution (a scenario's work is its ops, whatever the
number of steps); steps per CPU second is printed too, as the issue words it.

    .venv/bin/python benchmarks/versus.py [--baseline REF] [--executions N] [--repeats R]

Matrix cells and the whole matrix (issue 9: ``zonesim matrix --check`` wall time), the same
way: ``--cells scenarios/seed/cma-c-concurrent.toml:v5.15 ...`` times ``run_cell`` of each
cell (its default budget: DFS then the feedback sampler) in alternating child processes;
the same verdict and execution count on both sides is the same-work check. ``--matrix N``
runs ``zonesim matrix --check -q --workers N`` on both trees (scenarios/seed of each) and
prints wall time and the CPU time of the coordinator and its workers; the two tables must
be identical. ``--no-stress`` skips the stress scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "ee2624d"  # the last commit before issue 7's lock-section work (421155a)
GOAL = 1.5

# Runs inside a child process whose PYTHONPATH is one of the two trees. Only the API both
# trees share: Engine(scenario, policy).run(strategy), StrategyConfig, make_policy.
DRIVER = r"""
import json, sys, time
from zonesim.engine import Engine
from zonesim.explore import StrategyConfig
from zonesim.policy.policy import make_policy
from zonesim.scenario import load_scenario

path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = Engine(load_scenario(path), make_policy("v5.15"))
engine.run(StrategyConfig("pct", seed).make())  # boot and warm up, not timed
strategy = StrategyConfig("pct", seed).make()
done = steps = bad = 0
t = time.process_time()
while done < n and strategy.begin_execution():
    o = engine.run(strategy)
    strategy.end_execution(o.violation is not None)
    done += 1
    steps += o.steps
    bad += o.violation is not None or o.error is not None
cpu = time.process_time() - t
import zonesim.engine as e
print(json.dumps({"executions": done, "steps": steps, "failed": bad, "cpu": cpu,
                  "tree": e.__file__}))
"""


# A matrix cell (``scenario:policy``): the engine layer both trees share.
CELL_DRIVER = r"""
import json, sys, time
from zonesim.matrix import Budget, run_cell
from zonesim.policy import make_policy
from zonesim.scenario import load_scenario

path, policy = sys.argv[1].rsplit(":", 1)
scenario = load_scenario(path)
t = time.process_time()
cell = run_cell(scenario, path, make_policy(policy), Budget(), artifacts=None)
cpu = time.process_time() - t
import zonesim.engine as e
print(json.dumps({"verdict": cell.verdict, "executions": cell.executions, "cpu": cpu,
                  "tree": e.__file__}))
"""

# The whole matrix through the command line; the wrapper reads its own CPU time and its
# workers' (RUSAGE_CHILDREN: the worker processes it reaped).
MATRIX_DRIVER = r"""
import contextlib, hashlib, io, json, resource, sys, time
from zonesim.cli import main
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out):
    try:
        rc = main(["matrix", "--check", "-q", "--artifacts", sys.argv[2], "--workers",
                   sys.argv[1], "scenarios/seed"])
    except SystemExit as exc:
        rc = exc.code
wall = time.perf_counter() - t
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
import zonesim.engine as e
print(json.dumps({"rc": rc, "wall": wall, "cpu": me.ru_utime + me.ru_stime,
                  "workers_cpu": kids.ru_utime + kids.ru_stime,
                  "table": hashlib.sha256(out.getvalue().encode()).hexdigest(),
                  "tree": e.__file__}))
"""


def extract(ref: str, into: Path) -> Path:
    """The tree of ``ref`` (zonesim/ and scenarios/ only) under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "zonesim", "scenarios"],
                             check=True, capture_output=True).stdout
    tar = into / "tree.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into / "tree", filter="data")
    return into / "tree"


def run_side(tree: Path, scenario: Path, seed: int, n: int) -> dict[str, object]:
    return run_driver(tree, DRIVER, str(scenario), str(seed), str(n))


def run_driver(tree: Path, driver: str, *args: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    out = subprocess.run([sys.executable, "-c", driver, *args],
                         check=True, capture_output=True, text=True, env=env, cwd=tree)
    res: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    if not str(res["tree"]).startswith(str(tree)):
        raise SystemExit(f"the child imported {res['tree']}, not the tree under {tree}")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default=BASELINE, help="git ref (default: %(default)s)")
    ap.add_argument("--executions", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cells", nargs="*", default=[], metavar="SCENARIO:POLICY",
                    help="matrix cells to time with run_cell (paths from the repository root)")
    ap.add_argument("--matrix", type=int, default=0, metavar="WORKERS",
                    help="also run zonesim matrix --check --workers WORKERS on both trees")
    ap.add_argument("--no-stress", action="store_true", help="skip the stress scenarios")
    args = ap.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        old = extract(args.baseline, Path(tmp))
        new = ROOT
        print(f"baseline {args.baseline} vs this checkout; PCT seed {args.seed}, "
              f"{args.executions} executions x {args.repeats} repeats, v5.15, CPU time")
        print(f"{'scenario':34} {'old ms/exec':>11} {'new ms/exec':>11} {'ratio':>6} "
              f"{'old steps/s':>11} {'new steps/s':>11} {'steps new/old':>13}")
        stress = [] if args.no_stress else sorted((new / "scenarios" / "stress").glob("*.toml"))
        for scenario in stress:
            old_file = old / "scenarios" / "stress" / scenario.name
            if not old_file.exists():
                print(f"{scenario.stem}: not in {args.baseline}, skipped")
                continue
            sides: dict[str, list[dict[str, object]]] = {"old": [], "new": []}
            for _ in range(args.repeats):  # alternate, so load drifts hit both sides
                sides["old"].append(run_side(old, old_file, args.seed, args.executions))
                sides["new"].append(run_side(new, scenario, args.seed, args.executions))
            for name, runs in sides.items():
                for r in runs:
                    if r["executions"] != args.executions or r["failed"]:
                        raise SystemExit(f"{scenario.stem} ({name}): {r['executions']} "
                                         f"executions, {r['failed']} failed: not the same work")
            med = {k: statistics.median(float(str(r["cpu"])) for r in v)
                   for k, v in sides.items()}
            steps = {k: int(str(v[0]["steps"])) for k, v in sides.items()}
            ratio = med["new"] / med["old"]
            worst = max(worst, ratio)
            n = args.executions
            differs = "" if old_file.read_bytes() == scenario.read_bytes() else \
                "  (file differs: compound = true)"
            print(f"{scenario.stem:34} {1e3 * med['old'] / n:11.2f} {1e3 * med['new'] / n:11.2f} "
                  f"{ratio:6.2f} {steps['old'] / med['old']:11.0f} "
                  f"{steps['new'] / med['new']:11.0f} {steps['new'] / steps['old']:13.2f}"
                  f"{differs}")
        for cell in args.cells:
            cell_runs: dict[str, list[dict[str, object]]] = {"old": [], "new": []}
            for _ in range(args.repeats):
                cell_runs["old"].append(run_driver(old, CELL_DRIVER, cell))
                cell_runs["new"].append(run_driver(new, CELL_DRIVER, cell))
            seen = {(r["verdict"], r["executions"]) for v in cell_runs.values() for r in v}
            if len(seen) != 1:
                raise SystemExit(f"{cell}: verdicts/executions differ {seen}: not the same work")
            cpu = {k: statistics.median(float(str(r["cpu"])) for r in v)
                   for k, v in cell_runs.items()}
            print(f"cell {cell}: {seen.pop()}; CPU s old {cpu['old']:.2f}, new {cpu['new']:.2f}, "
                  f"new/old {cpu['new'] / cpu['old']:.2f} (median of {args.repeats})")
        if args.matrix:
            for name, tree in (("old", old), ("new", new)):
                art = str(Path(tmp) / "artifacts")
                r = run_driver(tree, MATRIX_DRIVER, str(args.matrix), art)
                print(f"matrix --check --workers {args.matrix} ({name}): exit {r['rc']}, "
                      f"wall {float(str(r['wall'])):.1f} s, CPU coordinator "
                      f"{float(str(r['cpu'])):.1f} s + workers {float(str(r['workers_cpu'])):.1f} s"
                      f", table sha256 {str(r['table'])[:12]}")
    if stress:
        verdict = "PASS" if worst <= GOAL else "FAIL"
        print(f"worst ratio new/old CPU per execution: {worst:.2f} (goal <= {GOAL}): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
