"""One watchdog per trio.run serves every execution of the run (engine speed, round 4):
a foreign await is reported in any execution of a batch, the executions after it run
normally, and a run that blocks between two executions neither hangs nor spins."""

from __future__ import annotations

import pytest
import trio

from zonesim.sched import ForeignAwait, RandomStrategy, Scheduler, switch_point


def _execution(seed: int, *, foreign: bool) -> Scheduler:
    sched = Scheduler(RandomStrategy(seed))

    async def cpu0() -> None:
        await switch_point("a")
        await switch_point("b")

    async def cpu1() -> None:
        await switch_point("c")
        if foreign:
            await trio.Event().wait()  # never set: only the watchdog ends this
        await switch_point("d")

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)
    return sched


async def test_a_batch_reports_each_foreign_await_and_runs_the_rest() -> None:
    outcomes = []
    with trio.fail_after(5):
        for n, foreign in enumerate((False, True, False, True, False)):
            sched = _execution(n, foreign=foreign)
            try:
                result = await sched.run()
            except ForeignAwait as exc:
                assert "cpu1 awaited something outside" in str(exc)
                outcomes.append("foreign")
            else:
                assert result.steps >= 4
                outcomes.append("ok")
            if n == 2:
                # every task blocks between two executions: the disarmed watchdog wakes,
                # parks, and is armed again by the next execution
                await trio.sleep(0.01)
    assert outcomes == ["ok", "foreign", "ok", "foreign", "ok"]


async def test_the_scheduler_leaves_no_parked_kind_behind() -> None:
    sched = _execution(3, foreign=False)
    await sched.run()
    assert sched.declared == 0 and sched.parked_kinds == {}


@pytest.mark.parametrize("cpus", [1, 2, 3])
async def test_the_first_decision_is_taken_once_whatever_cpu_starts_last(cpus: int) -> None:
    order: list[str] = []
    sched = Scheduler(RandomStrategy(11))

    def body(name: str) -> object:
        async def run() -> None:
            order.append(name)
            await switch_point(name)
        return run

    for i in range(cpus):
        sched.add_cpu(f"cpu{i}", body(f"cpu{i}"))  # type: ignore[arg-type]
    result = await sched.run()
    assert sorted(order) == [f"cpu{i}" for i in range(cpus)]
    starts = [c for c in result.choices if c.label == "start"]
    assert len(starts) == (1 if cpus > 1 else 0)
    if starts:
        assert order[0] == starts[0].value  # the CPU picked first ran first
