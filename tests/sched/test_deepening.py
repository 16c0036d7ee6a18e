"""Iterative preemption bounding (``StrategyConfig.deepen``, the default of ``zonesim
explore --strategy dfs``): bounds 0, 1, ..., K in turn, each searched to exhaustion before
the next, within one budget; the report says up to which bound the space was exhausted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy

ROOT = Path(__file__).resolve().parents[2]
CMA_C = ROOT / "scenarios" / "seed" / "cma-c-concurrent.toml"
VMEM_C = ROOT / "scenarios" / "seed" / "vmem-c-partial-isolation.toml"


def engine(path: Path, policy: str) -> Engine:
    return Engine(load_scenario(path), parse_policy(policy))


def dfs(deepen: bool, reduction: str = "none", bound: int = 2) -> StrategyConfig:
    return StrategyConfig("dfs", preemption_bound=bound, reduction=reduction, deepen=deepen)


def test_one_preemption_first_finds_what_the_bound_2_search_reaches_too_late() -> None:
    """cma-c under rfc-v1 needs one preemption (docs/findings.md). The bound-2 search alone
    spends its budget on schedules that preempt twice near the end; deepening exhausts
    bound 0 (one execution) and finds it inside bound 1."""
    e = engine(CMA_C, "rfc-v1")
    alone = explore(e, dfs(False), executions=80, artifacts=None, shrink_attempts=0)
    assert alone.violations == [] and alone.executions == 80
    deep = explore(e, dfs(True), executions=80, artifacts=None, shrink_attempts=0)
    assert [v.invariant for v in deep.violations] == ["I5a_isolated_not_allocatable"]
    found = deep.violations[0].execution
    assert 2 <= found <= 80  # after bound 0's single schedule
    assert deep.exhausted_bound == 0 and deep.exhausted is False
    assert deep.preemption_bound == 2


def test_exhausted_bound_says_how_far_a_budget_cut_search_got() -> None:
    """vmem-c (v5.15, no violation): bound 1 is exhausted well within the budget and bound
    2 is not."""
    e = engine(VMEM_C, "v5.15")
    small = explore(e, dfs(True), executions=120, artifacts=None, shrink_attempts=0)
    assert small.violations == [] and small.executions == 120
    assert small.exhausted is False and small.exhausted_bound == 1
    assert small.to_json()["exhausted_bound"] == 1


@pytest.mark.slow
def test_deepening_dpor_exhausts_every_bound_within_twice_the_executions() -> None:
    """With the whole budget every bound is exhausted, and the rounds before the last cost
    less than the last."""
    e = engine(VMEM_C, "v5.15")
    full = explore(e, dfs(True, "dpor"), executions=1000, artifacts=None, shrink_attempts=0)
    plain = explore(e, dfs(False, "dpor"), executions=1000, artifacts=None, shrink_attempts=0)
    assert full.exhausted is True and full.exhausted_bound == 2
    assert plain.exhausted is True and plain.exhausted_bound is None
    # each round re-runs the rounds before it: more executions, never fewer
    assert plain.executions < full.executions <= 2 * plain.executions


@pytest.mark.parametrize("reduction", ["none", pytest.param("dpor", marks=pytest.mark.slow)])
def test_one_and_two_workers_report_the_same_when_deepening(reduction: str) -> None:
    e = engine(CMA_C, "rfc-v1")
    one = explore(e, dfs(True, reduction), executions=80, artifacts=None, shrink_attempts=0,
                  workers=1)
    two = explore(e, dfs(True, reduction), executions=80, artifacts=None, shrink_attempts=0,
                  workers=2)
    assert one.to_json() == {**two.to_json()}
    assert one.violations


def test_the_cli_deepens_by_default_and_no_deepen_turns_it_off(tmp_path: Path) -> None:
    def run(*extra: str) -> dict[str, object]:
        p = subprocess.run(
            ["zonesim", "explore", str(CMA_C), "--policy", "rfc-v1", "--strategy", "dfs",
             "--reduction", "none", "--executions", "60", "--json", "-q",
             "--artifacts", str(tmp_path), *extra],
            capture_output=True, text=True, timeout=300)
        assert p.returncode in (0, 1), p.stderr
        out: dict[str, object] = json.loads(p.stdout)
        return out
    deep = run()
    assert deep["exhausted_bound"] == 0 and deep["violations"]
    alone = run("--no-deepen")
    assert "exhausted_bound" not in alone and alone["violations"] == []
