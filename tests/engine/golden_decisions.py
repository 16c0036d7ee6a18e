"""Golden decisions: what the explorer decides on every bundled scenario, frozen.

For every scenario under ``scenarios/`` (seed, stress, findings) and ``tests/switches/data``,
under two designs (v5.15; v6.0, whose pcp spinlock and trylock exercise the lockless
windows) and three strategies (pct, random, dfs) with a small budget, one record:

* ``trace_hash`` of the exploration (every decision and every per-step state signature
  of every execution, in execution order), ``executions`` and ``steps``;
* the violation found (invariant and execution), its shrunk and its original schedule
  string (zs2: every decision with the switch point it was anchored on);
* ``last``: the schedule string of the budget's last execution, run again on its own.

Speedups of the scheduler and the model must leave every record identical (same
decisions, same states); a change that alters a decision must say why and regenerate::

    .venv/bin/python tests/engine/golden_decisions.py --write
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.engine import NotApplicable
from zonesim.explore import _pct_steps
from zonesim.sched import DFSStrategy, encode
from zonesim.units import EngineSpec, IndexedUnit, indexed_strategy

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "data" / "decisions-golden.json"
POLICIES = ("v5.15", "v6.0")
STRATEGIES = ("pct", "random", "dfs")
EXECUTIONS = 6
SEED = 3
SHRINK_ATTEMPTS = 25


def scenario_paths() -> list[Path]:
    found = [p for d in ("seed", "stress", "findings")
             for p in sorted((ROOT / "scenarios" / d).glob("*.toml"))]
    found += sorted((ROOT / "tests" / "switches" / "data").glob("*.toml"))
    return found


def key(path: Path, policy: str, strategy: str) -> str:
    return f"{path.relative_to(ROOT)}|{policy}|{strategy}"


def last_schedule(engine: Engine, strategy: str, executions: int) -> str:
    """The schedule of execution ``executions`` of the same exploration, on its own."""
    if strategy == "dfs":
        dfs = DFSStrategy(2)
        out = None
        for _ in range(executions):
            if not dfs.begin_execution():
                break
            out = engine.run(dfs)
            dfs.end_execution(out.violation is not None)
        assert out is not None
        return encode(out.choices, engine.fingerprint)
    steps = _pct_steps(engine) if strategy == "pct" else 1
    unit = IndexedUnit(EngineSpec.of(engine), strategy, SEED, 3, steps, 1, executions + 1)
    s = indexed_strategy(unit, executions)
    s.begin_execution()
    return encode(engine.run(s).choices, engine.fingerprint)


def record(path: Path, policy: str, strategy: str) -> dict[str, Any]:
    try:
        engine = Engine(load_scenario(path), parse_policy(policy))
    except NotApplicable:
        return {"n/a": True}
    rep = explore(engine, StrategyConfig(strategy, SEED), executions=EXECUTIONS,
                  shrink_attempts=SHRINK_ATTEMPTS, artifacts=None, workers=1)
    out: dict[str, Any] = {
        "trace_hash": rep.trace_hash,
        "executions": rep.executions,
        "steps": rep.steps,
        "violations": [[v.invariant, v.execution, v.schedule, v.original_schedule]
                       for v in rep.violations],
    }
    if not rep.violations:
        out["last"] = last_schedule(engine, strategy, rep.executions)
    return out


def compute(paths: list[Path] | None = None) -> dict[str, dict[str, Any]]:
    out = {}
    for path in paths if paths is not None else scenario_paths():
        for policy in POLICIES:
            for strategy in STRATEGIES:
                out[key(path, policy, strategy)] = record(path, policy, strategy)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"rewrite {GOLDEN.name}")
    args = p.parse_args(argv)
    got = compute()
    if args.write:
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {len(got)} records to {GOLDEN}")
        return 0
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    bad = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    for k in bad:
        print(f"DIFFERENT: {k}\n  golden {want.get(k)}\n  now    {got.get(k)}")
    print(f"{len(got) - len(bad)} of {len(got)} records identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
