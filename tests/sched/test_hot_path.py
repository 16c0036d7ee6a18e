"""The scheduler's hot path changes nothing a strategy or a schedule can see: the horizon
shortcut records the same decisions as asking the strategy, the lazy ChoiceLog is the same
sequence of Choice records, and an execution still ends cleanly (and still reports a
foreign await)."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
from sched_workloads import lost_update, traced

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.sched import (
    Choice,
    ChoiceLog,
    ExecutionResult,
    Failure,
    ForeignAwait,
    Horizon,
    PCTStrategy,
    Scheduler,
    execute,
    switch_point,
)
from zonesim.sched import explore as sched_explore
from zonesim.sched.choice import Recorder

ROOT = Path(__file__).resolve().parents[2]


class NoHorizon:
    """PCT behind a wrapper without ``horizon``: every pick is asked of the strategy."""

    def __init__(self, inner: PCTStrategy) -> None:
        self.inner = inner
        self.picks = 0

    def begin_execution(self) -> bool:
        return self.inner.begin_execution()

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        self.picks += 1
        return self.inner.pick_cpu(step, runnable, current)

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self.inner.pick_option(step, n, label)

    def end_execution(self, failed: bool) -> None:
        self.inner.end_execution(failed)


class CountingPCT(PCTStrategy):
    picks = 0

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        self.picks += 1
        return super().pick_cpu(step, runnable, current)


def test_pct_is_a_horizon_strategy_and_the_wrapper_is_not() -> None:
    assert isinstance(PCTStrategy(1), Horizon)
    assert not isinstance(NoHorizon(PCTStrategy(1)), Horizon)


def test_the_horizon_shortcut_takes_the_same_decisions_as_asking() -> None:
    """Many executions under one PCT (its k is learned from the steps it saw, so the
    shortcut's bookkeeping matters for later executions too)."""
    fast, slow = CountingPCT(5, depth=3), PCTStrategy(5, depth=3)
    wrapped = NoHorizon(slow)
    log_a: list[tuple[str, str]] = []
    log_b: list[tuple[str, str]] = []
    for _ in range(30):
        assert fast.begin_execution() and wrapped.begin_execution()
        a = execute(fast, traced(log_a, n_cpus=3, n_steps=12))
        b = execute(wrapped, traced(log_b, n_cpus=3, n_steps=12))
        assert isinstance(a, ExecutionResult) and isinstance(b, ExecutionResult)
        assert a.choices == b.choices and a.steps == b.steps
        fast.end_execution(False)
        wrapped.end_execution(False)
        assert fast._k == slow._k
    assert log_a == log_b
    # not vacuous: the shortcut answered most picks itself
    assert fast.picks < wrapped.picks / 2


def test_engine_explorations_agree_with_and_without_the_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    e = Engine(load_scenario(ROOT / "scenarios/stress/drain-races-alloc.toml"),
               parse_policy("v6.0"))
    fast = explore(e, StrategyConfig("pct", 4), executions=12, artifacts=None)
    real = Recorder.__init__

    def no_horizon(self: Recorder, inner: object) -> None:
        real(self, inner)  # type: ignore[arg-type]
        self._horizon = None

    monkeypatch.setattr(Recorder, "__init__", no_horizon)
    slow = explore(e, StrategyConfig("pct", 4), executions=12, artifacts=None)
    assert fast.to_json() == slow.to_json()


def test_choice_log_is_the_sequence_of_choice_records() -> None:
    raw = [("cpu", "cpu1", 2, "start", 0, None), ("cpu", "cpu1", 2, "read", 3, "cpu1"),
           ("opt", 2, 3, "pick", 4, None)]
    log = ChoiceLog(raw)  # type: ignore[arg-type]
    records = tuple(Choice(*t) for t in raw)  # type: ignore[arg-type]
    assert len(log) == 3 and log == records and records == log and list(log) == list(records)
    assert log[1] == records[1] and log[1:] == records[1:] and log == list(records)
    assert log != records[:2] and hash(log) == hash(records)
    back = pickle.loads(pickle.dumps(log))
    assert back == log and back.hash_text() == log.hash_text()
    assert log.hash_text() == "".join(f"{c.kind}:{c.value}\n" for c in records)


def test_a_promised_decision_is_logged_as_its_step_and_read_as_the_full_record() -> None:
    """The horizon path logs an int (its label aside); read back, the log is the tuples
    the strategy's own answers record, in order, and hashes to the same text."""
    e = Engine(load_scenario(ROOT / "scenarios/stress/pcp-pressure-mixed-orders.toml"),
               parse_policy("v5.15"))
    compact = 0
    for seed in range(4):
        fast, slow = PCTStrategy(seed), PCTStrategy(seed)
        fast.begin_execution()
        a = e.run(fast).choices
        slow.begin_execution()
        b = e.run(_NoHorizon(slow)).choices
        assert isinstance(a, ChoiceLog) and isinstance(b, ChoiceLog)
        compact += sum(1 for t in a._entries if isinstance(t, int))
        assert list(a.raw) == list(b.raw) and len(a) == len(b) and a == b
        assert a.hash_text() == b.hash_text() == "".join(f"{k}:{v}\n" for k, v, *_ in b.raw)
        back = pickle.loads(pickle.dumps(a))
        assert back == b and back.hash_text() == a.hash_text()
    assert compact > 100  # not vacuous: most decisions were promised


def test_a_compact_log_with_a_stale_promise_repeats_the_promising_decision() -> None:
    # cpu0 promised at step 2, a window handed the baton to cpu1 at step 3 (cpu0 was
    # current: no new promise), cpu1 gave it back (cpu1 current): cpu0 runs on the old
    # promise at step 5; a data choice in between changes nothing.
    entries = [("cpu", "cpu0", 2, "start", 1, None), ("cpu", "cpu0", 2, "a", 2, "cpu0"),
               ("cpu", "cpu1", 2, "w", 3, "cpu0"), ("cpu", "cpu0", 2, "b", 4, "cpu1"),
               ("opt", 1, 2, "o", 5, None), 6, 7]
    log = ChoiceLog(entries, ["c", "d"], [0, 1, 2, 3, 4])  # type: ignore[arg-type]
    assert log.raw[5:] == [("cpu", "cpu0", 2, "c", 6, "cpu0"), ("cpu", "cpu0", 2, "d", 7, "cpu0")]
    assert log.hash_text() == ChoiceLog(log.raw).hash_text() and len(log) == 7


def test_compact_logs_read_as_their_per_step_records() -> None:
    """Seeded random logs: promises by several CPUs, stale ones, data choices between."""
    for trial in range(300):
        r = random.Random(trial)
        entries: list[object] = []
        kept: list[str] = []
        at: list[int] = []
        full: list[tuple[object, ...]] = []
        name: str | None = None
        n = 0
        for step in range(1, r.randrange(2, 60)):
            k = r.random()
            if name is not None and k < 0.6:
                label = r.choice("abc")
                entries.append(step)
                kept.append(label)
                full.append(("cpu", name, n, label, step, name))
                continue
            if k < 0.75:
                t: tuple[object, ...] = ("opt", r.randrange(3), 3, "o", step, None)
            else:
                cur, val = r.choice([None, "c0", "c1", "c2"]), r.choice(["c0", "c1", "c2"])
                t = ("cpu", val, r.randrange(2, 4), "l", step, cur)
                if cur is not None and val == cur:
                    name, n = val, int(t[2])  # type: ignore[call-overload]
            at.append(len(entries))
            entries.append(t)
            full.append(t)
        log = ChoiceLog(entries, kept, at)  # type: ignore[arg-type]
        ref = ChoiceLog(full)  # type: ignore[arg-type]
        assert list(log.raw) == full and len(log) == len(full) and log == ref, trial
        assert log.hash_text() == ref.hash_text(), trial


class _NoHorizon:
    """A strategy without ``horizon``: every decision is asked of it."""

    def __init__(self, inner: PCTStrategy) -> None:
        self.inner = inner

    def begin_execution(self) -> bool:
        return True

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        return self.inner.pick_cpu(step, runnable, current)

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self.inner.pick_option(step, n, label)

    def end_execution(self, failed: bool) -> None:
        self.inner.end_execution(failed)


def test_scheduler_choices_is_a_snapshot() -> None:
    seen: list[int] = []

    def setup(sched: Scheduler) -> None:
        async def body() -> None:
            await switch_point("a")
            seen.append(len(sched.choices))
            await switch_point("b")

        sched.add_cpu("cpu0", body)
        sched.add_cpu("cpu1", body)

    s = PCTStrategy(2)
    s.begin_execution()
    out = execute(s, setup)
    assert isinstance(out, ExecutionResult)
    assert seen and all(n <= len(out.choices) for n in seen) and min(seen) < len(out.choices)


def test_a_lost_update_still_fails_and_a_clean_run_ends_cleanly() -> None:
    found = sched_explore(PCTStrategy(7, depth=2), lost_update(), max_executions=200)
    assert found.failure is not None and isinstance(found.failure.error, AssertionError)
    clean = sched_explore(PCTStrategy(7, depth=2), lost_update(locked=True, cpus=3),
                          max_executions=50)
    assert clean.failure is None and clean.executions == 50


def test_a_foreign_await_is_still_reported() -> None:
    def setup(sched: Scheduler) -> None:
        async def body() -> None:
            await switch_point("a")
            await trio.Event().wait()  # never set: only the watchdog can end this

        sched.add_cpu("cpu0", body)
        sched.add_cpu("cpu1", body)

    s = PCTStrategy(3)
    s.begin_execution()
    out = execute(s, setup)
    assert isinstance(out, Failure) and isinstance(out.error, ForeignAwait)
