"""Toy workloads shared by the scheduler tests (no pages: plain counters and logs)."""

from __future__ import annotations

from collections.abc import Callable

from zonesim.sched import Mutex, Scheduler, current_cpu, switch_point

Check = Callable[[], None]


def lost_update(*, locked: bool = False, cpus: int = 2) -> Callable[[Scheduler], Check]:
    """Each CPU does ``v = shared; switch; shared = v + 1``; the check wants ``shared == cpus``."""

    def setup(sched: Scheduler) -> Check:
        state = {"shared": 0}
        lock = Mutex("counter_lock")

        async def increment() -> None:
            v = state["shared"]
            await switch_point("read")
            state["shared"] = v + 1

        async def body() -> None:
            if locked:
                async with lock:
                    await increment()
            else:
                await increment()

        for i in range(cpus):
            sched.add_cpu(f"cpu{i}", body)

        def check() -> None:
            assert state["shared"] == cpus, f"lost update: shared={state['shared']}, want {cpus}"

        return check

    return setup


def abba(sched: Scheduler) -> None:
    """cpu0 takes A then B, cpu1 takes B then A."""
    a, b = Mutex("A"), Mutex("B")

    async def cpu0() -> None:
        async with a:
            await switch_point("between")
            async with b:
                pass

    async def cpu1() -> None:
        async with b:
            await switch_point("between")
            async with a:
                pass

    sched.add_cpu("cpu0", cpu0)
    sched.add_cpu("cpu1", cpu1)


def traced(log: list[tuple[str, str]], n_cpus: int = 3, n_steps: int = 4) -> Callable[
    [Scheduler], None
]:
    """CPUs that log (cpu, label) at each of their switch points."""

    def setup(sched: Scheduler) -> None:
        def make() -> Callable[[], object]:
            async def body() -> None:
                for i in range(n_steps):
                    label = f"s{i}"
                    log.append((current_cpu(), label))
                    await switch_point(label)

            return body

        for i in range(n_cpus):
            sched.add_cpu(f"cpu{i}", make())  # type: ignore[arg-type]

    return setup
