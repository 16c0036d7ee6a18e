"""Allocator-state coverage of executions and explorations (zonesim.coverage): it only
observes, it is deterministic for any number of workers, and it reports what a kernel
developer would look for (signatures, saturation, windows never opened)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.coverage import ExecCoverage, merge
from zonesim.sched import POSStrategy, ReplayStrategy
from zonesim.units import execution_seed

ROOT = Path(__file__).resolve().parents[2]
CMA_B = ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
DRAIN = ROOT / "scenarios" / "stress" / "drain-races-alloc.toml"
ONE_CPU = Path(__file__).parent / "data" / "one-cpu.toml"


def engine(path: Path, policy: str, coverage: bool = True) -> Engine:
    e = Engine(load_scenario(path), parse_policy(policy))
    e.coverage = coverage
    return e


def test_coverage_only_observes() -> None:
    """Same decisions and states: the trace hash is the one of the run without coverage."""
    for n in range(1, 6):
        s = execution_seed(1, n)
        on = engine(DRAIN, "v5.15").run(POSStrategy(s))
        off = engine(DRAIN, "v5.15", coverage=False).run(POSStrategy(s))
        assert on.trace_hash == off.trace_hash and on.choices == off.choices
        assert off.coverage is None
        assert on.coverage is not None and on.coverage.signatures
        again = engine(DRAIN, "v5.15").run(POSStrategy(s))
        assert again.coverage == on.coverage


def test_the_founding_race_is_a_signature_a_reviewer_recognises() -> None:
    """rfc-v1, cma-b: isolating pageblock 1 leaves the free order-10 page on the CMA list
    across it -- a step that touches an ISOLATE pageblock with an order-10 CMA block
    over it."""
    e = engine(CMA_B, "rfc-v1")
    o = e.run(ReplayStrategy(()))
    assert o.violation is not None and o.coverage is not None
    hits = [s for s in o.coverage.signatures if "pb(ISOLATE free=10:CMA)" in s]
    assert hits, o.coverage.signatures
    label, cpu = hits[0].split()[:2]
    assert cpu == "cpu0" and label in o.coverage.reached


def test_signatures_name_the_lock_context() -> None:
    o = engine(DRAIN, "v5.15").run(POSStrategy(execution_seed(3, 1)))
    assert o.coverage is not None
    sigs = o.coverage.signatures
    assert sigs == tuple(sorted(sigs))
    assert any(" held=pcpu_drain_mutex " in s for s in sigs)  # __drain_all_pages holds it
    assert all(" held=" in s and " others=" in s for s in sigs)


def test_one_cpu_opens_no_window() -> None:
    rep = explore(engine(ONE_CPU, "v5.15", coverage=False), StrategyConfig("pos", 0),
                  executions=5, artifacts=None, coverage=True)
    cov = rep.coverage
    assert cov is not None and cov.executions == 5
    assert cov.switch_points and cov.never_opened == cov.switch_points
    assert all(p.reached == 5 and p.decided == 0 for p in cov.switch_points)
    assert "never a decision there" in "\n".join(cov.lines())


def test_exploration_counts_signatures_new_to_the_whole_run() -> None:
    """Units send signatures new to themselves; the merged count and curve are those of
    the executions run one by one."""
    rep = explore(engine(DRAIN, "v5.15", coverage=False), StrategyConfig("pos", 2),
                  executions=24, artifacts=None, coverage=True, workers=2)
    e = engine(DRAIN, "v5.15")
    seen: set[str] = set()
    new: list[int] = []
    for n in range(1, 25):
        o = e.run(POSStrategy(execution_seed(2, n)))
        assert o.coverage is not None
        fresh = set(o.coverage.signatures) - seen
        new.append(len(fresh))
        seen |= fresh
    assert rep.coverage is not None
    assert rep.coverage.new_per_execution == new
    assert rep.coverage.all_signatures == sorted(seen)
    assert rep.coverage.signatures == len(seen)


@pytest.mark.parametrize("strategy", ["pct", "pos", "feedback", "dfs"])
def test_one_and_two_workers_give_the_same_coverage(strategy: str) -> None:
    reports = [explore(engine(FOREIGN, "v5.15", coverage=False), StrategyConfig(strategy, 4),
                       executions=70, artifacts=None, coverage=True, workers=w)
               for w in (1, 2)]
    one, two = (r.to_json() for r in reports)
    assert one == two
    assert one["coverage"]["signatures"] > 0
    assert one["executions"] == 70


def test_report_fields_and_saturation() -> None:
    covs = [ExecCoverage(("a", "b"), ("p", "q"), ("p",), ("p",)),
            ExecCoverage(("b", "c"), ("p",), ("p",), ()),
            *[ExecCoverage(("a",), ("p", "q"), (), ())] * 8]
    rep = merge(covs, per=3)
    assert rep.new_per_execution == [2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert rep.curve == [3, 0, 0, 0]
    assert rep.saturated and rep.last_new == 2
    doc = rep.to_json()
    assert doc["signatures"] == 3 and doc["new_signatures_curve"] == [3, 0, 0, 0]
    assert doc["saturated"] is True and doc["last_new_signature_at"] == 2
    assert doc["windows_never_opened"] == ["q"]
    assert doc["switch_points"] == [
        {"label": "p", "reached": 10, "decided": 2, "opened": 1},
        {"label": "q", "reached": 9, "decided": 0, "opened": 0}]
    late = merge([ExecCoverage((), (), (), ())] * 9 + [ExecCoverage(("z",), (), (), ())])
    assert not late.saturated and late.last_new == 10
    assert "NOT saturated" in late.lines()[0]
