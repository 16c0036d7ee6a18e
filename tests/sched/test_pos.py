"""POS (zonesim.sched.pos) and the pending events it reads (zonesim.sched.events)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
from sched_workloads import lost_update

import zonesim.sched.pos as pos_mod
from zonesim.sched import (
    Access,
    Failure,
    Mutex,
    POSStrategy,
    Scheduler,
    SpinLock,
    execute,
    explore,
    preemptions,
    reads,
    switch_point,
    writes,
)
from zonesim.sched.events import Event, footprint, pending_events


def test_pos_finds_the_lost_update() -> None:
    result = explore(POSStrategy(3), lost_update(cpus=3), max_executions=200)
    assert result.failure is not None
    assert "lost update" in str(result.failure.error)
    assert preemptions(result.failure.choices) >= 1


def test_pos_is_deterministic_per_seed_and_seeds_differ() -> None:
    def run(seed: int) -> list[object]:
        s = POSStrategy(seed)
        out: list[object] = []
        for _ in range(20):
            s.begin_execution()
            o = execute(s, lost_update(cpus=3))
            s.end_execution(isinstance(o, Failure))
            out.append(tuple((c.value, c.label) for c in o.choices))
        return out

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert len({str(x) for x in run(5)}) > 1  # one seed explores different schedules


def test_lock_acquisitions_write_the_lock_word() -> None:
    assert footprint("spin_lock:zone->lock", None).writes == (("lock", "zone->lock"),)
    assert footprint("mutex_lock:cma_mutex", reads(("pb", 1))) == Access(
        (("pb", 1),), (("lock", "cma_mutex"),))
    assert footprint("op:alloc", None) == Access()
    a = Event("cpu0", "spin_lock:zone->lock", footprint("spin_lock:zone->lock", None))
    b = Event("cpu1", "spin_lock:zone->lock", footprint("spin_lock:zone->lock", None))
    c = Event("cpu1", "op:free", Access())
    assert a.races(b) and b.races(a)
    assert not a.races(c)
    assert not a.races(Event("cpu0", "x", writes(("lock", "zone->lock"))))  # same CPU
    assert a.races(Event("cpu1", "window", Access(), in_section=True))


def test_pending_events_are_where_each_cpu_waits() -> None:
    """What a strategy is told at each decision: the switch point of every runnable CPU,
    its declared access, and the lock it is about to take."""
    seen: list[list[Event]] = []

    class Spy:
        def begin_execution(self) -> bool:
            return True

        def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
            seen.append(pending_events(runnable))
            return len(runnable) - 1  # always switch: every CPU gets parked somewhere

        def pick_option(self, step: int, n: int, label: str) -> int:
            return 0

        def end_execution(self, failed: bool) -> None:
            pass

    sched = Scheduler(Spy())
    lock = SpinLock("L")
    mutex = Mutex("M")

    async def cpu0() -> None:
        await switch_point("peek", reads(("pb", 3)))
        async with lock:
            pass

    async def cpu1() -> None:
        async with mutex:
            await switch_point("inside")

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)
    trio.run(sched.run)
    events = {(e.cpu, e.label, e.footprint) for evs in seen for e in evs}
    assert ("cpu0", "start", Access()) in events  # the first decision: nobody ran yet
    assert ("cpu0", "peek", reads(("pb", 3))) in events
    assert ("cpu0", "spin_lock:L", writes(("lock", "L"))) in events
    assert ("cpu1", "mutex_lock:M", writes(("lock", "M"))) in events


def test_racing_events_get_fresh_priorities(monkeypatch: pytest.MonkeyPatch) -> None:
    """After an event runs, the events racing with it draw new priorities (the POS rule);
    independent ones keep theirs (BasicPOS)."""
    lock = footprint("spin_lock:zone->lock", None)
    racing = [Event("a", "spin_lock:zone->lock", lock), Event("b", "spin_lock:zone->lock", lock)]
    apart = [Event("a", "op:alloc", Access()), Event("b", "op:free", Access())]
    for events, reset in ((racing, True), (apart, False)):
        monkeypatch.setattr(pos_mod, "pending_events", lambda names, ev=events: ev)
        s = POSStrategy(11)
        s.begin_execution()
        idx = s.pick_cpu(1, ("a", "b"), "a")
        ran, waiting = ("a", "b")[idx], ("a", "b")[1 - idx]
        before = dict(s._prio)
        assert ran not in before  # the event that ran is gone; its next one draws anew
        # the loser's priority as drawn at the first pick, re-derived from the same seed
        fresh = POSStrategy(11)
        first = {"a": fresh._rng.random(), "b": fresh._rng.random()}
        assert (before[waiting] != first[waiting]) == reset
