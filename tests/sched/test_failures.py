"""Failures are reported, never hangs: foreign awaits, livelock, body exceptions."""

from __future__ import annotations

import string

import pytest
import trio

from zonesim.sched import (
    ForeignAwait,
    LivelockSuspected,
    RandomStrategy,
    SchedError,
    Scheduler,
    switch_point,
)


@pytest.mark.parametrize("kind", ["sleep", "event"])
async def test_foreign_await_is_reported_not_a_hang(kind: str) -> None:
    sched = Scheduler(RandomStrategy(0))

    async def cpu0() -> None:
        await switch_point("a")

    async def cpu1() -> None:
        await switch_point("b")
        if kind == "sleep":
            await trio.sleep(1)
        else:
            await trio.Event().wait()

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)
    with trio.fail_after(5), pytest.raises(ForeignAwait, match="cpu1 awaited something outside"):
        await sched.run()


async def test_livelock_is_suspected_past_max_steps() -> None:
    sched = Scheduler(RandomStrategy(0), max_steps=50)

    async def spin() -> None:
        while True:
            await switch_point("retry")

    sched.add_cpu("cpu0", spin)
    with pytest.raises(LivelockSuspected) as info:
        await sched.run()
    assert info.value.steps == 51


async def test_body_exception_propagates_unchanged_with_step() -> None:
    boom = RuntimeError("invariant violated")
    sched = Scheduler(RandomStrategy(0))

    async def cpu0() -> None:
        await switch_point("a")
        await switch_point("b")
        raise boom

    sched.add_cpu("cpu0", cpu0)
    with pytest.raises(RuntimeError) as info:
        await sched.run()
    assert info.value is boom
    assert info.value.sched_step == 2  # type: ignore[attr-defined]


async def test_switch_point_outside_a_cpu_is_explained() -> None:
    with pytest.raises(SchedError, match="not running on a simulated CPU"):
        await switch_point("nowhere")


def test_bad_cpu_names_are_rejected() -> None:
    sched = Scheduler(RandomStrategy(0))

    async def body() -> None:
        pass

    for bad in ["", "0cpu", "cpu.1", "cpu*2", "#1", "a:b"]:
        with pytest.raises(SchedError, match="invalid"):
            sched.add_cpu(bad, body)
    every = "a" + "".join(sorted(set(string.ascii_letters + string.digits + "_-")))
    for good in ("cpu0", "c1", "_9", "a-0", every):  # digits and '-' after the first one
        sched.add_cpu(good, body)
    with pytest.raises(SchedError, match="registered twice"):
        sched.add_cpu("cpu0", body)
