"""Shrinking never grows a schedule and reduces the lost update to one preemption."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from sched_workloads import lost_update

from zonesim.sched import (
    Choice,
    Failure,
    RandomStrategy,
    ReplayStrategy,
    Scheduler,
    ShrinkStats,
    Strategy,
    choose,
    execute,
    explore,
    hypothesis_search,
    preemptions,
    shrink,
    sort_key,
    switch_point,
)


def _still_fails(cpus: int):  # type: ignore[no-untyped-def]
    def still_fails(candidate: list[Choice]) -> tuple[list[Choice] | None, int]:
        outcome = execute(ReplayStrategy(candidate, strict=False), lost_update(cpus=cpus))
        if isinstance(outcome, Failure) and isinstance(outcome.error, AssertionError):
            return list(outcome.choices), outcome.steps
        return None, outcome.steps

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
    assert _still_fails(4)(shrunk)[0] == shrunk  # the result replays to the same failure


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


def _noisy_failure(cpus: int = 4) -> list[Choice]:
    found = explore(RandomStrategy(3, switch_probability=1.0), lost_update(cpus=cpus))
    assert found.failure is not None
    return list(found.failure.choices)


def test_shrink_stops_at_its_step_budget() -> None:
    # Issue 12: shrinking a failure of a 100k-step execution re-ran it hundreds of times.
    # The step budget counts every replay's scheduler steps, so it ends after a few.
    original = _noisy_failure()
    unbounded = ShrinkStats()
    shrink(original, _still_fails(4), stats=unbounded)
    assert unbounded.stopped_by is None and unbounded.steps > 40
    bounded = ShrinkStats()
    result = shrink(original, _still_fails(4), max_steps=40, stats=bounded)
    assert bounded.stopped_by == "steps"
    assert 40 <= bounded.steps < 40 + 20  # one replay of this workload is < 20 steps
    assert bounded.attempts < unbounded.attempts
    assert sort_key(result) <= sort_key(original)


def test_shrink_stops_at_its_attempt_budget_and_when_out_of_time() -> None:
    original = _noisy_failure()
    stats = ShrinkStats()
    shrink(original, _still_fails(4), max_attempts=3, stats=stats)
    assert (stats.attempts, stats.stopped_by) == (3, "attempts")
    calls: list[int] = []

    def out_of_time() -> bool:
        calls.append(1)
        return len(calls) > 2  # the caller's clock says stop after two replays

    stats = ShrinkStats()
    result = shrink(original, _still_fails(4), out_of_time=out_of_time, stats=stats)
    assert (stats.attempts, stats.stopped_by) == (2, "time")
    assert sort_key(result) <= sort_key(original)


def test_trace_replays_count_against_the_budgets() -> None:
    # The single-preemption pass replays the no-preemption path first (``trace``); that
    # replay costs steps like any other and must not escape the step budget.
    original = _noisy_failure()
    calls: list[int] = []

    def trace(candidate: list[Choice]) -> tuple[list[Choice], int]:
        outcome = execute(ReplayStrategy(candidate, strict=False), lost_update(cpus=4))
        calls.append(outcome.steps)
        return list(outcome.choices), outcome.steps

    fails = _still_fails(4)
    replays: list[int] = []

    def still_fails(candidate: list[Choice]) -> tuple[list[Choice] | None, int]:
        taken, steps = fails(candidate)
        replays.append(steps)
        return taken, steps

    stats = ShrinkStats()
    result = shrink(original, still_fails, trace=trace, stats=stats)
    assert calls, "the pass traced the no-preemption path"
    # every replay is counted once, traced or not
    assert stats.attempts == len(calls) + len(replays)
    assert stats.steps == sum(calls) + sum(replays)
    assert preemptions(result) == 1
    bounded = ShrinkStats()
    shrink(original, _still_fails(4), trace=trace, max_steps=1, stats=bounded)
    assert bounded.stopped_by == "steps" and bounded.attempts <= 2


def _modes_then_victim(sched: Scheduler) -> Callable[[], None]:
    """One CPU makes three data choices: two modes (2 options each) that do not matter,
    then which of 3 items it frees; freeing item 2 is the bug."""
    picked: list[int] = []

    async def body() -> None:
        choose(2, "mode_a")
        await switch_point("between")
        choose(2, "mode_b")
        picked.append(choose(3, "victim"))

    sched.add_cpu("cpu0", body)

    def check() -> None:
        assert picked != [2], "freed item 2"

    return check


def test_shrink_lowers_data_choices_to_zero_and_keeps_the_choices_around_them() -> None:
    """The data pass lowers one choice to 0 and keeps every other one in place: the
    irrelevant modes (1 -> 0) shrink away while the victim that makes the bug (2) stays."""
    def still_fails(candidate: list[Choice]) -> tuple[list[Choice] | None, int]:
        o = execute(ReplayStrategy(candidate, strict=False), _modes_then_victim)
        return (list(o.choices) if isinstance(o, Failure) else None), o.steps

    original = execute(ReplayStrategy([1, 1, 2]), _modes_then_victim)
    assert isinstance(original, Failure)
    assert [c.value for c in original.choices] == [1, 1, 2]
    shrunk = shrink(list(original.choices), still_fails)
    assert [(c.label, c.value) for c in shrunk] == [("mode_a", 0), ("mode_b", 0), ("victim", 2)]


def test_shrinking_stops_after_500_replays_by_default() -> None:
    """shrink()'s default budget is 500 replays: a long failing schedule whose candidates
    never fail the same way costs exactly that many, and the stats say which bound ended
    it (the caller reports a shrink cut short)."""
    original = [Choice("opt", 2, 3, f"d{i}", i) for i in range(400)]
    stats = ShrinkStats()
    assert shrink(original, lambda cand: (None, 1), stats=stats) == original
    assert (stats.attempts, stats.steps, stats.stopped_by) == (500, 500, "attempts")
