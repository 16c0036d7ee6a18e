"""``--strategy dfs+feedback``: the deepening DPOR search and the feedback sampler,
execution for execution (zonesim.coordinator.explore_hybrid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.coordinator import _alternate
from zonesim.units import ExecRecord

ROOT = Path(__file__).resolve().parents[2]
UNDO_FREE = ROOT / "scenarios" / "findings" / "undo-window-free.toml"
CMA_C = ROOT / "scenarios" / "seed" / "cma-c-concurrent.toml"


def engine(path: Path, policy: str) -> Engine:
    return Engine(load_scenario(path), parse_policy(policy))


def recs(tag: int, n: int) -> list[ExecRecord]:
    return [ExecRecord(i + 1, 0, f"{tag}.{i + 1}") for i in range(n)]


def order(rs: list[ExecRecord]) -> list[str]:
    return [r.trace_hash for r in rs]


def test_the_order_alternates_and_only_the_prefix_both_streams_reached_is_known() -> None:
    assert order(_alternate(recs(1, 3), False, recs(2, 3))) == [
        "1.1", "2.1", "1.2", "2.2", "1.3", "2.3"]
    # the DFS is still running: nothing after its last known execution is placed
    assert order(_alternate(recs(1, 2), False, recs(2, 4))) == ["1.1", "2.1", "1.2", "2.2"]
    # the DFS is done: the sampler alone from there on
    assert order(_alternate(recs(1, 2), True, recs(2, 4))) == [
        "1.1", "2.1", "1.2", "2.2", "2.3", "2.4"]
    assert order(_alternate(recs(1, 3), False, recs(2, 1))) == ["1.1", "2.1", "1.2"]


def test_the_hybrid_finds_an_undo_window_race_that_the_sampler_alone_misses() -> None:
    """undo-window-free under v6.0: the feedback sampler misses it in every seed within
    1,000 executions (docs/performance.md, "Strategies"); the DFS half finds it with two
    preemptions after exhausting bound 1."""
    e = engine(UNDO_FREE, "v6.0")
    alone = explore(e, StrategyConfig("feedback", 0), executions=200, artifacts=None,
                    shrink_attempts=0)
    assert alone.violations == []
    both = explore(e, StrategyConfig("dfs+feedback", 0), executions=200, artifacts=None,
                   shrink_attempts=0)
    assert [v.invariant for v in both.violations] == ["I2_nr_free_pages"]
    assert both.violations[0].execution % 2 == 1  # an odd index: the DFS's
    assert both.exhausted_bound == 1 and both.exhausted is False


def test_the_sampler_half_finds_what_needs_more_preemptions_than_the_bound() -> None:
    """cma-c under the proposal needs five preemptions (docs/findings.md): beyond the DFS's
    bound, found by the sampler half, at an even index; the report is the same for one and
    two workers."""
    e = engine(CMA_C, "proposal")
    rep = explore(e, StrategyConfig("dfs+feedback", 0), executions=100, artifacts=None,
                  shrink_attempts=0, workers=2)
    assert [v.invariant for v in rep.violations] == ["I5a_isolated_not_allocatable"]
    assert rep.violations[0].execution % 2 == 0
    one = explore(e, StrategyConfig("dfs+feedback", 0), executions=100, artifacts=None,
                  shrink_attempts=0, workers=1)
    assert rep.to_json() == one.to_json()


def test_long_executions_get_the_plain_search_unless_dpor_is_asked_for(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DPOR keeps every transition's footprint: beyond ``DPOR_MAX_STEPS`` steps of the
    preemption-free execution a DFS that was not told which reduction to use runs the plain
    search (a 100,000-iteration loop held ~1.9 GB under DPOR), and one told to use DPOR is
    refused."""
    import sys

    from zonesim import api

    explore_mod = sys.modules["zonesim.explore"]  # the module (zonesim.explore: the function)

    short = api.explore(UNDO_FREE, "dfs+feedback", policy="v6.0", executions=4,
                        artifacts=None)
    assert short.reduction == "dpor"
    monkeypatch.setattr(explore_mod, "DPOR_MAX_STEPS", 10)
    for name in ("dfs", "dfs+feedback"):
        long = api.explore(UNDO_FREE, name, policy="v6.0", executions=4, artifacts=None)
        assert long.reduction == "none", name
    # asked for: refused in one line before anything runs (issue 12's resource limits)
    with pytest.raises(api.BadInput, match=r"--reduction dpor: expected a scenario whose "
                       r"preemption-free execution has at most 10 scheduler steps"):
        api.explore(UNDO_FREE, "dfs", policy="v6.0", executions=4, artifacts=None,
                    reduction="dpor")
    with pytest.raises(api.BadInput, match=r"--reduction sleep: expected a scenario whose"):
        api.explore(UNDO_FREE, "dfs", policy="v6.0", executions=4, artifacts=None,
                    reduction="sleep")
    with pytest.raises(api.BadInput, match=r"--reduction sleep: expected --strategy dfs, got "
                       r"--strategy dfs\+feedback"):
        api.explore(UNDO_FREE, "dfs+feedback", policy="v6.0", executions=4, artifacts=None,
                    reduction="sleep")
    plain = api.explore(UNDO_FREE, "dfs", policy="v6.0", executions=4, artifacts=None,
                        reduction="none")
    assert plain.reduction == "none"


def test_coverage_does_not_change_what_dpor_explores() -> None:
    """The coverage tracker reads the zone at every handoff; those reads are not the
    running step's. When they leaked into the step footprints, DPOR needed 563 executions
    for cma-b's bound 1 instead of 51 (and the hybrid, which runs with coverage on for its
    sampler, searched that much slower)."""
    e = engine(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml", "v5.15")
    cfg = StrategyConfig("dfs", preemption_bound=1, reduction="dpor", deepen=True)
    plain = explore(e, cfg, executions=600, artifacts=None, shrink_attempts=0)
    covered = explore(e, cfg, executions=600, artifacts=None, shrink_attempts=0,
                      coverage=True)
    assert plain.exhausted is True and plain.executions == 51
    assert covered.exhausted is True and covered.executions == plain.executions
    assert covered.trace_hash == plain.trace_hash
