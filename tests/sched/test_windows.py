"""Lock-held sections are not atomic to other CPUs: a CPU parked at a switch point that
declared a conflicting lockless access runs inside another CPU's section (at its window),
while a CPU that wants the same lock waits until the unlock; spin_trylock fails exactly in
the schedules where another CPU is inside its section."""

from __future__ import annotations

from collections.abc import Callable

from zonesim.sched import (
    DFSStrategy,
    Failure,
    ReplayStrategy,
    Scheduler,
    SpinLock,
    current_cpu,
    execute,
    irq_off,
    preemptions,
    reads,
    switch_point,
    window,
    window_candidates,
    writes,
)

Setup = Callable[[Scheduler], None]


def all_schedules(setup: Setup, bound: int) -> list[tuple[Scheduler, object]]:
    """Run every schedule with at most ``bound`` preemptions; (scheduler, outcome) each."""
    dfs = DFSStrategy(preemption_bound=bound)
    runs: list[tuple[Scheduler, object]] = []
    box: list[Scheduler] = []

    def wrapped(sched: Scheduler) -> None:
        box.append(sched)
        setup(sched)

    while dfs.begin_execution():
        outcome = execute(dfs, wrapped)
        dfs.end_execution(isinstance(outcome, Failure))
        runs.append((box[-1], outcome))
    assert dfs.exhausted
    return runs


def section_workload(log: list[tuple[str, str, int]]) -> Setup:
    """cpu0 holds zone->lock across a two-step update of x (a window after the first
    write); cpu1 reads x without the lock; cpu2 wants zone->lock."""

    def setup(sched: Scheduler) -> None:
        lock = SpinLock("zone->lock")
        state = {"x": 0}

        async def holder() -> None:
            async with lock:
                state["x"] = 1  # half-written: the lockless reader may see this
                log.append(("cpu0", "wrote", 1))
                await window("holder:half", window_candidates(writes(("x", None))))
                state["x"] = 2
                log.append(("cpu0", "wrote", 2))
            log.append(("cpu0", "unlocked", state["x"]))

        async def reader() -> None:
            await switch_point("reader:peek", reads(("x", None)))
            log.append(("cpu1", "read", state["x"]))

        async def waiter() -> None:
            await switch_point("waiter:before_lock", reads(("x", None)))
            log.append(("cpu2", "wants lock held by " + str(lock.holder), state["x"]))
            async with lock:
                log.append(("cpu2", "locked", state["x"]))

        sched.add_cpu("cpu0", holder)
        sched.add_cpu("cpu1", reader)
        sched.add_cpu("cpu2", waiter)

    return setup


def test_a_cpu_runs_between_two_steps_of_another_cpus_zone_lock_section() -> None:
    log: list[tuple[str, str, int]] = []
    runs = all_schedules(section_workload(log), bound=2)
    assert all(not isinstance(o, Failure) for _, o in runs)
    reads_seen = {v for who, what, v in log if who == "cpu1" and what == "read"}
    # before the section, inside it (between the holder's two writes), after it
    assert reads_seen == {0, 1, 2}


def test_a_cpu_that_wants_the_lock_waits_for_the_unlock() -> None:
    log: list[tuple[str, str, int]] = []
    runs = all_schedules(section_workload(log), bound=2)
    assert runs
    # In some schedule cpu2 asked for zone->lock while cpu0 was inside its section ...
    assert ("cpu2", "wants lock held by cpu0", 1) in log
    # ... and whenever cpu2 got the lock, the holder's section was complete or not begun.
    assert {v for who, what, v in log if who == "cpu2" and what == "locked"} == {0, 2}


def test_no_window_without_a_conflicting_declared_access() -> None:
    """A window is a decision only for CPUs parked with a conflicting declared access: a
    reader of another object never runs inside the section."""
    seen: list[int] = []

    def setup(sched: Scheduler) -> None:
        lock = SpinLock("zone->lock")
        state = {"x": 0}

        async def holder() -> None:
            async with lock:
                state["x"] = 1
                await window("holder:half", window_candidates(writes(("x", None))))
                state["x"] = 2

        async def reader() -> None:
            await switch_point("reader:peek", reads(("y", None)))
            seen.append(state["x"])

        sched.add_cpu("cpu0", holder)
        sched.add_cpu("cpu1", reader)

    runs = all_schedules(setup, bound=2)
    assert runs and set(seen) == {0, 2}
    labels = {c.label for s, _ in runs for c in s.choices}
    assert "holder:half" not in labels


def test_irq_off_section_keeps_its_cpus_queued_work_out() -> None:
    """Another CPU may run inside an IRQ-off section's window, but work queued on the
    section's own CPU waits until the section ends."""
    log: list[str] = []

    def setup(sched: Scheduler) -> None:
        async def owner() -> None:
            with irq_off():
                log.append("owner:count written")
                await window("owner:count", window_candidates(writes(("pcp_count", 0))))
                log.append("owner:section end")
            await switch_point("owner:after")

        async def peeker() -> None:
            await switch_point("peek", reads(("pcp_count", 0)))
            log.append("peeker:peek")

            async def drain() -> None:
                log.append("owner:drain work")

            work = sched.queue_work("cpu0", "drain", drain)
            await work.flush()

        sched.add_cpu("cpu0", owner)
        sched.add_cpu("cpu1", peeker)

    runs = all_schedules(setup, bound=2)
    assert runs
    # the peek happened inside the section in some schedule ...
    assert any(
        log[i : i + 2] == ["owner:count written", "peeker:peek"] for i in range(len(log))
    )
    # ... and the drain work never ran between "count written" and "section end"
    inside = False
    for entry in log:
        if entry == "owner:count written":
            inside = True
        elif entry == "owner:section end":
            inside = False
        elif entry == "owner:drain work":
            assert not inside


def trylock_workload(results: list[bool]) -> Setup:
    """cpu0 holds pcp[cpu0]'s spinlock across a window; cpu1 spin_trylocks it."""

    def setup(sched: Scheduler) -> None:
        lock = SpinLock("pcp[cpu0]")

        async def holder() -> None:
            async with lock:
                await window("drain:count", window_candidates(writes(("pcp_count", 0))))

        async def trier() -> None:
            await switch_point("free:before")
            got = await lock.trylock()
            results.append(got)
            if got:
                lock.release()

        sched.add_cpu("cpu0", holder)
        sched.add_cpu("cpu1", trier)

    return setup


def test_trylock_fails_while_another_cpu_holds_the_lock_and_succeeds_when_free() -> None:
    results: list[bool] = []
    runs = all_schedules(trylock_workload(results), bound=2)
    assert set(results) == {True, False}
    # the failing schedule is a real interleaving: cpu1 ran inside cpu0's section, and
    # replaying its choices fails the trylock again; the one with no preemption succeeds.
    for (sched, _), got in zip(runs, results, strict=True):
        again: list[bool] = []
        execute(ReplayStrategy([c.value for c in sched.choices]), trylock_workload(again))
        assert again == [got]
        if not got:
            assert any(c.label == "drain:count" and c.value == "cpu1" for c in sched.choices)
        if preemptions(sched.choices) == 0:
            assert got


def test_window_outside_any_section_is_a_plain_decision_point() -> None:
    """window() only decides among CPUs that declared a conflicting access; it does not
    require a lock (the scheduler knows no kernel rules), and with no candidates it is
    free: no step, no decision."""

    async def body() -> None:
        assert window_candidates(writes(("x", 1))) == ()
        await window("nothing", ())
        assert current_cpu() == "cpu0"

    out = execute(ReplayStrategy(()), lambda s: s.add_cpu("cpu0", body))
    assert not isinstance(out, Failure)
