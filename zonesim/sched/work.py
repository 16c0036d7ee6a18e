"""Per-CPU work items: the kernel's ``queue_work_on()`` + ``flush_work()``.

Used where the kernel runs code *on* a given CPU (5.15 ``drain_all_pages()`` queues
``drain_local_pages`` on each CPU's kworker and flushes).  Departure from the kernel: there is
no separate kworker task; the target CPU's own trio task runs the work at a preemptible switch
point, while it sleeps, or once its body finished; so per-CPU data touched by the work is
touched by that CPU, never inside its atomic sections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from zonesim.sched.cpu import Wait, current_cpu_state
from zonesim.sched.errors import SleepInAtomic


class Work:
    """One queued work item; created by ``Scheduler.queue_work``; one-shot."""

    __slots__ = ("_waits", "cpu", "done", "fn", "label")

    def __init__(self, cpu: str, label: str, fn: Callable[[], Awaitable[None]]) -> None:
        self.cpu = cpu
        self.label = label
        self.fn = fn
        self.done = False
        self._waits: list[Wait] = []

    def blame(self) -> str:
        return f"work {self.label!r} queued on {self.cpu}"

    def __repr__(self) -> str:
        return f"<Work {self.label!r} on {self.cpu} {'done' if self.done else 'pending'}>"

    async def flush(self) -> None:
        """``flush_work()``: the caller is not runnable until the work has run (may sleep)."""
        cpu = current_cpu_state()
        if self.done:
            return
        if cpu.atomic:
            raise SleepInAtomic(cpu.name, f"flush_work({self.label})", cpu.context(),
                                cpu.sched.steps)
        wait = Wait(self, sleeping=True)
        self._waits.append(wait)
        await cpu.sched.block(cpu, wait, f"flush_work:{self.label}")

    def complete(self) -> None:
        """Mark the work done and release every flusher (called by the scheduler)."""
        self.done = True
        for wait in self._waits:
            wait.done = True
        self._waits.clear()
