"""Per-CPU state of one execution (loom's ``Thread``, shuttle's ``Task``) and the wait record.

Internal to the scheduler: kernel paths see CPUs only through ``current_cpu()``.  The running
CPU is found through a ``ContextVar`` set in each CPU's trio task, so work queued on a CPU and
run by its task sees that CPU as current.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from zonesim.sched.errors import SchedError
from zonesim.sched.footprint import Access

if TYPE_CHECKING:
    import trio


class Waitable(Protocol):
    """Something a CPU can wait on: a modelled lock or a queued work item."""

    def blame(self) -> str:
        """A phrase for deadlock reports: "mutex B held by cpu1"."""
        ...


class QueuedWork(Waitable, Protocol):
    """A work item queued on a CPU (zonesim.sched.work.Work). A protocol, so that this
    module, which the scheduler and the work items both import, imports neither."""

    label: str
    fn: Callable[[], Awaitable[None]]

    def complete(self) -> None:
        """Mark the work done and release every flusher."""
        ...


class Blocking(Protocol):
    """What a waiting CPU needs of its scheduler (zonesim.sched.scheduler.Scheduler, which
    types its CPUs ``Cpu[Scheduler]``): this module imports neither the scheduler nor the
    work items, which both import it."""

    @property
    def steps(self) -> int:
        """Steps taken so far in the execution."""
        ...

    async def block(self, cpu: Cpu[Any], wait: Wait, label: str) -> None:
        """Park ``cpu`` until ``wait.done``."""
        ...


class Wait:
    """One wait of a CPU on a ``Waitable``; ``done`` is set by whoever satisfies it.

    ``sleeping`` waits (mutex, flush_work) let the CPU run its queued work meanwhile, as the
    kernel's kworker runs while the task sleeps; spinning waits do not (preemption is off).
    """

    __slots__ = ("done", "on", "sleeping")

    def __init__(self, on: Waitable, sleeping: bool) -> None:
        self.on = on
        self.sleeping = sleeping
        self.done = False


S = TypeVar("S", bound=Blocking)


class Cpu(Generic[S]):
    """A simulated CPU: its body, trio task, atomic-context depth, wait and pending work."""

    __slots__ = (
        "at_access",
        "at_label",
        "atomic",
        "blocked",
        "body",
        "finished",
        "held",
        "in_work",
        "irq_off",
        "name",
        "parked",
        "pending",
        "preempt_off",
        "sched",
        "task",
    )

    def __init__(self, sched: S, name: str, body: Callable[[], Awaitable[None]]) -> None:
        self.sched = sched
        self.name = name
        self.body = body
        self.task: trio.lowlevel.Task | None = None
        # atomic = spinlocks held + irq-off depth + preempt-off depth; > 0 = not preemptible.
        # One counter so that switch_point's hot path tests a single int.
        self.atomic = 0
        self.irq_off = 0
        self.preempt_off = 0
        self.held: list[str] = []  # names of held locks, acquisition order (for reports)
        self.blocked: Wait | None = None
        self.finished = False
        self.pending: deque[QueuedWork] = deque()
        self.in_work = 0
        # While parked at a switch point that declared one: the lockless access this CPU's
        # next step begins with (zonesim.sched.footprint). Windows of lock holders are
        # offered to it when they conflict.
        self.parked: Access | None = None
        # The switch point this CPU waits at (or decides at): where its next step begins
        # and the access it declared there. Read by event-aware strategies (POS) through
        # zonesim.sched.events; written only where a decision is taken (no hot-path cost).
        self.at_label = "start"
        self.at_access: Access | None = None

    def eligible(self) -> bool:
        """May the scheduler hand this CPU the baton?"""
        b = self.blocked
        if b is not None:
            return b.done or (b.sleeping and bool(self.pending) and not self.in_work)
        if self.finished and not self.in_work:
            return bool(self.pending)  # an idle worker runs only to do queued work
        return True

    def context(self) -> str:
        """Why this CPU is atomic, for error messages."""
        parts = [f"holds {n}" for n in self.held]
        if self.irq_off:
            parts.append("irqs off")
        if self.preempt_off:
            parts.append("preemption off")
        return ", ".join(parts) or "preemptible"


# Typed Cpu[Any] here; zonesim.sched.scheduler re-types it Cpu[Scheduler] for its own use.
CURRENT: ContextVar[Cpu[Any]] = ContextVar("zonesim_sched_cpu")


def current_cpu_state() -> Cpu[Any]:
    """The running CPU's state; raises ``SchedError`` outside a simulated CPU."""
    cpu = CURRENT.get(None)
    if cpu is None:
        raise SchedError(
            "not running on a simulated CPU: switch points, modelled locks and work "
            "must be used from a body registered with Scheduler.add_cpu()"
        )
    return cpu


def current_cpu() -> str:
    """Name of the running CPU (for log bindings and per-CPU data)."""
    return current_cpu_state().name
