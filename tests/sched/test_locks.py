"""Spinlock and irq-off sections are never preempted; mutexes sleep; misuse is reported."""

from __future__ import annotations

import pytest

from zonesim.sched import (
    DFSStrategy,
    Failure,
    Mutex,
    RandomStrategy,
    ReplayStrategy,
    SchedError,
    Scheduler,
    SleepInAtomic,
    SpinLock,
    Strategy,
    current_cpu,
    execute,
    in_atomic,
    irq_off,
    irqs_disabled,
    preempt_disable,
    switch_point,
)

Log = list[tuple[str, str]]


def _sections(log: Log, kind: str):  # type: ignore[no-untyped-def]
    """Two CPUs each run an atomic section with switch points inside, logging every step."""

    def setup(sched: Scheduler) -> None:
        lock = SpinLock("zone->lock")

        async def body() -> None:
            me = current_cpu()
            for round_ in range(2):
                await switch_point(f"before{round_}")
                if kind == "spin":
                    async with lock:
                        await _inside(me)
                elif kind == "irq":
                    with irq_off():
                        await _inside(me)
                else:
                    async with preempt_disable():
                        await _inside(me)

        async def _inside(me: str) -> None:
            assert in_atomic()
            log.append((me, "enter"))
            for i in range(3):
                await switch_point(f"inside{i}")
                log.append((me, f"inside{i}"))
            log.append((me, "exit"))

        sched.add_cpu("cpu0", body)
        sched.add_cpu("cpu1", body)
        sched.add_cpu("cpu2", body)

    return setup


def _assert_sections_contiguous(log: Log) -> None:
    open_by: str | None = None
    for cpu, event in log:
        if event == "enter":
            assert open_by is None, f"{cpu} entered while {open_by} inside: {log}"
            open_by = cpu
        else:
            assert cpu == open_by, f"{cpu} ran inside {open_by}'s section: {log}"
            if event == "exit":
                open_by = None


@pytest.mark.parametrize("kind", ["spin", "irq", "preempt"])
@pytest.mark.parametrize(
    "strategy", [RandomStrategy(11, switch_probability=1.0), DFSStrategy(2)], ids=["random", "dfs"]
)
def test_atomic_sections_are_not_preempted(kind: str, strategy: Strategy) -> None:
    interleaved = 0
    for _ in range(60):
        if not strategy.begin_execution():
            break
        log: Log = []
        outcome = execute(strategy, _sections(log, kind))
        strategy.end_execution(isinstance(outcome, Failure))
        assert not isinstance(outcome, Failure), outcome.error
        _assert_sections_contiguous(log)
        # other CPUs do run between two sections of one CPU
        owners = [cpu for cpu, ev in log if ev == "enter"]
        interleaved += owners != sorted(owners)
    assert interleaved > 0


async def test_no_decision_recorded_inside_atomic_sections() -> None:
    log: Log = []
    sched = Scheduler(RandomStrategy(1, switch_probability=1.0))
    _sections(log, "irq")(sched)
    result = await sched.run()
    assert result.choices
    # decisions happen at section boundaries (and when a CPU finishes), never inside
    assert {c.label for c in result.choices} <= {"start", "before0", "before1", "idle"}


async def test_spinlock_knows_holder_and_trylock() -> None:
    lock = SpinLock("cma->lock")
    seen: list[object] = []

    async def cpu0() -> None:
        async with lock:
            seen.append((lock.holder, in_atomic()))
        seen.append((lock.holder, in_atomic()))
        assert await lock.trylock()
        assert not await lock.trylock()
        lock.release()

    sched = Scheduler(RandomStrategy(0))
    sched.add_cpu("cpu0", cpu0)
    await sched.run()
    assert seen == [("cpu0", True), (None, False)]


async def test_mutex_holder_is_preemptible_and_waiter_is_not_runnable() -> None:
    m = Mutex("cma_mutex")
    log: Log = []

    async def body() -> None:
        me = current_cpu()
        async with m:
            log.append((me, "got"))
            assert not in_atomic()
            await switch_point("holding")
            log.append((me, "drop"))

    # always preempt: cpu0 takes the mutex, cpu1 then blocks on it, cpu0 finishes.
    sched = Scheduler(RandomStrategy(5, switch_probability=1.0))
    sched.add_cpu("cpu0", body)
    sched.add_cpu("cpu1", body)
    await sched.run()
    assert [e for _, e in log] == ["got", "drop", "got", "drop"]


@pytest.mark.parametrize("what", ["mutex", "flush"])
async def test_sleeping_in_atomic_context_is_reported(what: str) -> None:
    spin, m = SpinLock("zone->lock"), Mutex("pcpu_drain_mutex")
    sched = Scheduler(RandomStrategy(0))

    async def body() -> None:
        async with spin:
            if what == "mutex":
                await m.acquire()
            else:
                await sched.queue_work("cpu0", "drain", _nothing).flush()

    async def _nothing() -> None:
        pass

    sched.add_cpu("cpu0", body)
    expected = r"cpu0 called .* in atomic context \(holds zone->lock\)"
    with pytest.raises(SleepInAtomic, match=expected):
        await sched.run()


async def test_release_by_non_holder_is_an_error() -> None:
    lock = SpinLock("zone->lock")

    async def body() -> None:
        lock.release()

    sched = Scheduler(RandomStrategy(0))
    sched.add_cpu("cpu0", body)
    with pytest.raises(SchedError, match="cpu0 released spinlock zone->lock held by None"):
        await sched.run()


async def test_irqs_disabled_nests() -> None:
    """The inner irq_off section ends with IRQs still off (the outer one holds them), so a
    switch point there is not a decision; after the outer one ends it is."""
    seen: list[bool] = []

    async def body() -> None:
        with irq_off():
            async with irq_off():
                seen.append(irqs_disabled())
                await switch_point("inner")
            seen.append(irqs_disabled())
            await switch_point("outer")  # still IRQs off: cpu1 may not run here
        seen.append(irqs_disabled())
        await switch_point("after")  # preemptible again: a decision between cpu0 and cpu1

    async def other() -> None:
        await switch_point("other")

    sched = Scheduler(ReplayStrategy(["cpu0"]))
    sched.add_cpu("cpu0", body)
    sched.add_cpu("cpu1", other)
    await sched.run()
    assert seen == [True, True, False]
    labels = [c.label for c in sched.choices]
    assert "inner" not in labels and "outer" not in labels
    assert "after" in labels
