"""Strategies find the toy races and deadlocks; dfs is exhaustive and counts executions."""

from __future__ import annotations

import pytest
from sched_workloads import abba, lost_update

from zonesim.sched import (
    Deadlock,
    DFSStrategy,
    Failure,
    PCTStrategy,
    RandomStrategy,
    Strategy,
    execute,
    explore,
    preemptions,
)


def _strategies() -> list[Strategy]:
    return [RandomStrategy(7), PCTStrategy(7, depth=2), DFSStrategy(preemption_bound=1)]


@pytest.mark.parametrize("strategy", _strategies(), ids=lambda s: type(s).__name__)
def test_lost_update_is_found(strategy: Strategy) -> None:
    result = explore(strategy, lost_update(), max_executions=200)
    assert result.failure is not None
    assert isinstance(result.failure.error, AssertionError)
    assert "lost update" in str(result.failure.error)
    assert preemptions(result.failure.choices) >= 1


@pytest.mark.parametrize("strategy", _strategies(), ids=lambda s: type(s).__name__)
def test_mutex_prevents_lost_update(strategy: Strategy) -> None:
    result = explore(strategy, lost_update(locked=True), max_executions=200)
    assert result.failure is None
    if isinstance(strategy, DFSStrategy):
        assert strategy.exhausted


@pytest.mark.parametrize(
    ("bound", "executions", "failures"),
    # bound 0: start cpu0 or cpu1, run to completion (2). bound 1: each start order, with or
    # without the one preemption at the first CPU's "read" (4; 2 lose the update). bound 2:
    # the second CPU may also switch back at its "read" (6; 4 lose it).
    [(0, 2, 0), (1, 4, 2), (2, 6, 4)],
)
def test_dfs_exhausts_with_exact_counts(bound: int, executions: int, failures: int) -> None:
    dfs = DFSStrategy(preemption_bound=bound)
    failed = 0
    while dfs.begin_execution():
        outcome = execute(dfs, lost_update())
        dfs.end_execution(isinstance(outcome, Failure))
        failed += isinstance(outcome, Failure)
    assert dfs.exhausted
    assert (dfs.executions, failed) == (executions, failures)
    assert not dfs.begin_execution()


def test_dfs_bound_zero_misses_lost_update_bound_one_finds_it() -> None:
    assert explore(DFSStrategy(0), lost_update()).failure is None
    assert explore(DFSStrategy(1), lost_update()).failure is not None


def test_dfs_with_mutex_exhausts() -> None:
    dfs = DFSStrategy(preemption_bound=2)
    result = explore(dfs, lost_update(locked=True, cpus=3), max_executions=10_000)
    assert result.failure is None
    assert dfs.exhausted
    assert dfs.executions == result.executions > 10


@pytest.mark.parametrize("strategy", _strategies(), ids=lambda s: type(s).__name__)
def test_abba_deadlock_is_found_and_explained(strategy: Strategy) -> None:
    def setup(sched):  # type: ignore[no-untyped-def]
        abba(sched)

    result = explore(strategy, setup, max_executions=200)
    assert result.failure is not None
    err = result.failure.error
    assert isinstance(err, Deadlock)
    assert str(err).startswith(
        f"deadlock at step {err.step}: cpu0 waits for mutex B held by cpu1; "
        "cpu1 waits for mutex A held by cpu0"
    )
    assert [(w.cpu, w.what) for w in err.waits] == [
        ("cpu0", "mutex B held by cpu1"),
        ("cpu1", "mutex A held by cpu0"),
    ]


@pytest.mark.parametrize("make", [lambda: RandomStrategy(3), lambda: PCTStrategy(3, depth=3)])
def test_same_seed_gives_identical_choices(make) -> None:  # type: ignore[no-untyped-def]
    def run() -> list[object]:
        strategy = make()
        out: list[object] = []
        for _ in range(20):
            assert strategy.begin_execution()
            outcome = execute(strategy, lost_update(cpus=3))
            strategy.end_execution(isinstance(outcome, Failure))
            out.append((type(outcome).__name__, outcome.choices, outcome.steps))
        return out

    first, second = run(), run()
    assert first == second
    assert len({str(o) for o in first}) > 1  # the seed really explores different schedules


def test_same_seed_same_choices_across_processes_and_hash_seeds() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sched_workloads import lost_update;"
        "from zonesim.sched import PCTStrategy, encode, explore;"
        "s = PCTStrategy(9, depth=3); r = explore(s, lost_update(cpus=3), max_executions=30);"
        "print(r.executions, encode(r.failure.choices, 'x') if r.failure else None)"
    )
    here = str(Path(__file__).parent)
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, here],
            env={**os.environ, "PYTHONHASHSEED": hs},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hs in ("1", "2")
    }
    assert len(outs) == 1
