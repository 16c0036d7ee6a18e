"""queue_work/flush: work runs on the target CPU's own task, never inside its atomic sections."""

from __future__ import annotations

import pytest

from zonesim.sched import (
    Deadlock,
    DFSStrategy,
    Failure,
    Mutex,
    RandomStrategy,
    Scheduler,
    Strategy,
    current_cpu,
    execute,
    irq_off,
    irqs_disabled,
    switch_point,
)


def _drain_all(ran_on: list[tuple[str, bool]], cpu1_steps: int):  # type: ignore[no-untyped-def]
    """cpu0 queues a drain on cpu1 and flushes it (5.15 drain_all_pages shape)."""

    def setup(sched: Scheduler) -> None:
        async def drain() -> None:
            ran_on.append((current_cpu(), irqs_disabled()))
            await switch_point("drain:inside")

        async def cpu0() -> None:
            await switch_point("before_queue")
            work = sched.queue_work("cpu1", "drain_local_pages", drain)
            await work.flush()
            assert work.done
            ran_on.append(("flushed", False))

        async def cpu1() -> None:
            for i in range(cpu1_steps):
                await switch_point(f"cpu1:{i}")

        sched.add_cpu("cpu0", cpu0)
        sched.add_cpu("cpu1", cpu1)

    return setup


@pytest.mark.parametrize("cpu1_steps", [0, 3])
@pytest.mark.parametrize("strategy", [RandomStrategy(4), DFSStrategy(2)], ids=["random", "dfs"])
def test_work_runs_on_target_cpu(strategy: Strategy, cpu1_steps: int) -> None:
    finished_first = 0
    for _ in range(100):
        if not strategy.begin_execution():
            break
        ran_on: list[tuple[str, bool]] = []
        outcome = execute(strategy, _drain_all(ran_on, cpu1_steps))
        strategy.end_execution(isinstance(outcome, Failure))
        assert not isinstance(outcome, Failure), outcome.error
        assert ran_on == [("cpu1", False), ("flushed", False)]
        # cpu1_steps == 0: cpu1 finishes at once, so the work runs on an idle (finished) cpu1
        finished_first += cpu1_steps == 0
    assert cpu1_steps or finished_first


def test_work_waits_until_target_leaves_irq_off() -> None:
    """Work queued on cpu1 (by cpu0, or by cpu1 itself) runs only after cpu1 left irq-off.

    Note why no other CPU can queue work *while* cpu1 is inside: an atomic CPU is never
    preempted, and it can only be parked spinning on a spinlock whose holder would itself be
    parked atomic, i.e. a deadlock.  So the cases are: queued before cpu1 entered (cpu1 enters
    at its start, no switch point in between), and queued by cpu1 inside the section.
    """
    events: list[str] = []

    def setup(sched: Scheduler) -> None:
        async def drain() -> None:
            events.append(f"work on {current_cpu()} irqs_off={irqs_disabled()}")

        async def cpu0() -> None:
            work = sched.queue_work("cpu1", "drain", drain)
            events.append("queued")
            await work.flush()
            events.append("flushed")

        async def cpu1() -> None:
            with irq_off():
                events.append("cpu1 irq_off")
                own = sched.queue_work("cpu1", "own", drain)
                for i in range(3):
                    await switch_point(f"cpu1:inside{i}")
                assert not own.done
            events.append("cpu1 irq_on")
            await switch_point("cpu1:after")

        sched.add_cpu("cpu0", cpu0)
        sched.add_cpu("cpu1", cpu1)

    dfs = DFSStrategy(3)
    queued_before_entry = 0
    while dfs.begin_execution():
        events.clear()
        outcome = execute(dfs, setup)
        dfs.end_execution(isinstance(outcome, Failure))
        assert not isinstance(outcome, Failure), outcome.error
        assert events.count("work on cpu1 irqs_off=False") == 2, events
        on, off = events.index("cpu1 irq_off"), events.index("cpu1 irq_on")
        assert all(not on < i < off for i, e in enumerate(events) if e.startswith("work")), events
        queued_before_entry += events.index("queued") < on
    assert dfs.exhausted
    assert queued_before_entry > 0


async def test_sleeping_cpu_runs_its_work_while_blocked_on_a_mutex() -> None:
    """kworker semantics: cpu1 sleeps on the mutex cpu0 holds while cpu0 flushes work on cpu1."""
    m = Mutex("pcpu_drain_mutex")
    ran: list[str] = []
    sched = Scheduler(RandomStrategy(2, switch_probability=1.0))

    async def drain() -> None:
        ran.append(current_cpu())

    async def cpu0() -> None:
        async with m:
            await switch_point("holding")
            await sched.queue_work("cpu1", "drain", drain).flush()

    async def cpu1() -> None:
        async with m:
            pass

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)
    await sched.run()
    assert ran == ["cpu1"]


async def test_deadlock_through_work_names_the_work() -> None:
    a = Mutex("A")
    sched = Scheduler(RandomStrategy(0, switch_probability=0.0))

    async def drain() -> None:
        async with a:  # cpu1's work needs A, held by cpu0 which flushes the work
            pass

    async def cpu0() -> None:
        async with a:
            await sched.queue_work("cpu1", "drain", drain).flush()

    async def cpu1() -> None:
        pass

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)
    with pytest.raises(Deadlock) as info:
        await sched.run()
    assert "cpu0 waits for work 'drain' queued on cpu1; cpu1 waits for mutex A held by cpu0" in str(
        info.value
    )
