"""Shrinking never grows a schedule and reduces the lost update to one preemption."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sched_workloads import lost_update

from zonesim.sched import (
    Choice,
    Failure,
    RandomStrategy,
    ReplayStrategy,
    Strategy,
    execute,
    explore,
    hypothesis_search,
    preemptions,
    shrink,
    sort_key,
)


def _still_fails(cpus: int):  # type: ignore[no-untyped-def]
    def still_fails(candidate: list[Choice]) -> list[Choice] | None:
        outcome = execute(ReplayStrategy(candidate, strict=False), lost_update(cpus=cpus))
        if isinstance(outcome, Failure) and isinstance(outcome.error, AssertionError):
            return list(outcome.choices)
        return None

    return still_fails


def test_shrink_reduces_lost_update_to_one_preemption() -> None:
    # a noisy failing run: 4 CPUs, always switching
    found = explore(RandomStrategy(3, switch_probability=1.0), lost_update(cpus=4))
    assert found.failure is not None
    original = list(found.failure.choices)
    assert preemptions(original) > 1
    shrunk = shrink(original, _still_fails(4))
    assert preemptions(shrunk) == 1
    assert sort_key(shrunk) < sort_key(original)
    assert _still_fails(4)(shrunk) == shrunk  # the result replays to the same failure


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 4), st.floats(0.2, 1.0))
def test_shrink_never_grows(seed: int, cpus: int, p: float) -> None:
    found = explore(RandomStrategy(seed, switch_probability=p), lost_update(cpus=cpus),
                    max_executions=50)
    if found.failure is None:
        return
    original = list(found.failure.choices)
    shrunk = shrink(original, _still_fails(cpus), max_attempts=60)
    assert sort_key(shrunk) <= sort_key(original)


def test_hypothesis_search_finds_and_shrinks_lost_update() -> None:
    def run_one(strategy: Strategy) -> Failure | None:
        outcome = execute(strategy, lost_update(cpus=3))
        return outcome if isinstance(outcome, Failure) else None

    choices = hypothesis_search(run_one, max_examples=200, seed=1)
    assert choices is not None
    assert preemptions(choices) == 1
    replayed = execute(ReplayStrategy(choices), lost_update(cpus=3))
    assert isinstance(replayed, Failure)
    assert isinstance(replayed.error, AssertionError)


def test_hypothesis_search_returns_none_when_correct() -> None:
    def run_one(strategy: Strategy) -> Failure | None:
        outcome = execute(strategy, lost_update(locked=True))
        return outcome if isinstance(outcome, Failure) else None

    assert hypothesis_search(run_one, max_examples=30, seed=1) is None
