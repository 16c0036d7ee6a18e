"""The step bound is reached through every path that spends a step, not only switch
points: a CPU blocking on a mutex, a retry loop yielding to the others (yield_cpu), an
idle CPU giving the baton away, a window inside a section (issue 12, item 6: mutation
testing changed the bound's comparison on these paths and no test failed).

Each workload is run once with a generous bound to count its steps S; then exactly S
steps must be allowed, and S - 1 must end in LivelockSuspected at step S -- whichever
path took that last step.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from zonesim.sched import (
    LivelockSuspected,
    Mutex,
    ReplayStrategy,
    Scheduler,
    SpinLock,
    reads,
    switch_point,
    window,
    window_candidates,
    writes,
    yield_cpu,
)

Workload = Callable[[Scheduler], None]


def blocking(sched: Scheduler) -> None:
    """cpu1 blocks on the mutex cpu0 holds across two switch points."""
    m = Mutex("m")

    async def cpu0() -> None:
        async with m:
            await switch_point("a")
            await switch_point("b")

    async def cpu1() -> None:
        async with m:
            await switch_point("c")

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)


def yielding(sched: Scheduler) -> None:
    """cpu0 retries (yield_cpu) until cpu1 has set the flag."""
    state = {"done": False}

    async def cpu0() -> None:
        while not state["done"]:
            await yield_cpu("retry")

    async def cpu1() -> None:
        await switch_point("x")
        await switch_point("y")
        state["done"] = True

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)


def windowed(sched: Scheduler) -> None:
    """cpu0 opens a window inside its spinlock section; cpu1 reads without the lock."""
    lock = SpinLock("zone->lock")

    async def cpu0() -> None:
        async with lock:
            await window("half", window_candidates(writes(("x", None))))

    async def cpu1() -> None:
        await switch_point("read", reads(("x", None)))

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)


WORKLOADS = {"blocking": (blocking, ["cpu0", "cpu0", "cpu1"]),
             "yielding": (yielding, ["cpu0"]),
             "windowed": (windowed, ["cpu1", "cpu0", "cpu1"])}


def steps(workload: Workload, choices: list[str], max_steps: int) -> int:
    sched = Scheduler(ReplayStrategy(choices, strict=False), max_steps=max_steps)
    workload(sched)
    trio.run(sched.run)
    return sched.steps


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_the_bound_counts_every_step_whatever_path_takes_it(name: str) -> None:
    workload, choices = WORKLOADS[name]
    total = steps(workload, choices, 10_000)
    assert total >= 3
    assert steps(workload, choices, total) == total  # exactly S steps are allowed
    with pytest.raises(LivelockSuspected) as info:
        steps(workload, choices, total - 1)
    assert info.value.steps == total


def test_a_retry_loop_alone_is_a_suspected_livelock_at_the_bound() -> None:
    """yield_cpu with nobody else runnable returns at once -- and still spends a step."""

    async def spin() -> None:
        while True:
            await yield_cpu("retry")

    sched = Scheduler(ReplayStrategy(()), max_steps=40)
    sched.add_cpu("cpu0", spin)
    with pytest.raises(LivelockSuspected) as info:
        trio.run(sched.run)
    assert info.value.steps == 41


def test_a_cpu_blocked_for_good_behind_a_spinning_holder_is_a_livelock_not_a_hang() -> None:
    """cpu0 holds the mutex and retries forever; cpu1 waits on it: no runnable CPU ever
    lacks, so no deadlock -- the bound ends it, counting cpu0's retries."""
    m = Mutex("m")

    async def holder() -> None:
        async with m:
            while True:
                await yield_cpu("retry")

    async def waiter() -> None:
        async with m:
            pass

    sched = Scheduler(ReplayStrategy(["cpu0"]), max_steps=30)
    sched.add_cpu("cpu0", holder)
    sched.add_cpu("cpu1", waiter)
    with pytest.raises(LivelockSuspected) as info:
        trio.run(sched.run)
    assert info.value.steps == 31
