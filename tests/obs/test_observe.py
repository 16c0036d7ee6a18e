"""The observed replay (zonesim/observe.py) watches without changing anything, and the
event vocabulary of `zonesim log --event` is what the kernel paths write."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, load_scenario, parse_policy
from zonesim.obs.events import MODEL_EVENTS, OBSERVER_EVENTS
from zonesim.obs.report import model_events
from zonesim.observe import ObservingEngine
from zonesim.sched import ReplayStrategy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("path", "policy"), [
    ("stress/drain-races-alloc.toml", "v5.15"),
    ("stress/offline-races-alloc.toml", "v5.15"),
    ("seed/cma-c-concurrent.toml", "v5.19"),
    ("findings/foreign-undo.toml", "v5.19"),
    ("stress/drain-races-alloc.toml", "v6.0"),  # pcp->lock is a lock from v6.0 on
])
def test_observing_changes_nothing(path: str, policy: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / path)
    locks: set[str] = set()
    plain = Engine(scenario, parse_policy(policy))
    for seed in range(3):
        strategy = StrategyConfig("pct", seed).make()
        strategy.begin_execution()
        a = plain.run(strategy, tracing=True)
        b = ObservingEngine(scenario, parse_policy(policy)).observe(
            ReplayStrategy(a.choices))
        assert b.outcome.trace_hash == a.trace_hash
        assert model_events(b.records) == a.events
        assert len(b.state_of) == len(b.records)
        # every lock taken is released, or still held when the execution ended
        held: dict[tuple[str, str], int] = {}
        for r in b.records:
            key = (str(r["cpu"]), str(r.get("lock")))
            if r["event"] == "lock_acquired":
                locks.add(str(r["lock"]))
                assert key not in held
                held[key] = 1
            elif r["event"] == "lock_released":
                assert held.pop(key) == 1
        # states are kept once each; the last record's state is the final zone
        assert len({id(s) for s in b.states}) == len(b.states)
        assert b.state_of[-1] == b.final or b.outcome.violation is not None
    assert any(lock.startswith("pcp[") for lock in locks) == (policy == "v6.0"), locks


def test_pcp_moves_account_for_the_counts_the_model_logs() -> None:
    """Each pcp_drain event's count (blocks given back: free_pcppages_bulk's list) equals
    the pcp_drain_page records before it."""
    scenario = load_scenario(ROOT / "scenarios" / "stress" / "drain-races-alloc.toml")
    obs = ObservingEngine(scenario, parse_policy("v5.15"))
    strategy = StrategyConfig("pct", 1).make()
    strategy.begin_execution()
    o = obs.observe(strategy)
    pages: dict[str, int] = {}
    checked = 0
    for r in o.records:
        if r["event"] == "pcp_drain_page":
            pages[r["cpu"]] = pages.get(r["cpu"], 0) + 1
        elif r["event"] == "pcp_drain":
            assert pages.pop(r["cpu"], 0) == r["pages"]
            checked += 1
        elif r["event"] == "pcp_free":
            pages.pop(r["cpu"], None)  # a spill: counted in the free's own record
    assert checked > 0


def _traced_events() -> set[str]:
    """Every event name passed to Kernel.trace / k.trace in zonesim/ops and interp."""
    found: set[str] = set()
    files = [*sorted((ROOT / "zonesim" / "ops").glob("*.py")), ROOT / "zonesim" / "interp.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "trace" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def test_the_event_vocabulary_is_what_the_ops_write() -> None:
    assert set(MODEL_EVENTS) == _traced_events()
    assert not set(MODEL_EVENTS) & set(OBSERVER_EVENTS)
