"""Failures the scheduler reports, as a small hierarchy that says whose fault it is.

``SchedError`` is the base.  ``Deadlock`` and ``LivelockSuspected`` mean the modelled design
is wrong (no CPU can make progress / progress never ends); ``SleepInAtomic`` means a kernel path
slept where the kernel forbids it (``might_sleep()``); ``ForeignAwait`` means a kernel path
awaited something the scheduler does not control (a bug in the path, not the design);
``ReplayMismatch`` means a recorded schedule does not fit this execution; ``ScheduleFormatError``
means a schedule string is malformed.

Exceptions raised *by a CPU body* (invariant violations) are not wrapped: they leave
``Scheduler.run()`` unchanged, with the scheduler step attached as ``exc.sched_step`` and a note.
"""

from __future__ import annotations

from dataclasses import dataclass


class SchedError(Exception):
    """Base of every error the scheduler itself raises."""


@dataclass(frozen=True, slots=True)
class WaitFor:
    """One edge of a wait-for graph: ``cpu`` waits for ``what`` (a phrase naming the holder)."""

    cpu: str
    what: str  # e.g. "mutex B held by cpu1", "work 'drain' queued on cpu1"

    def __str__(self) -> str:
        return f"{self.cpu} waits for {self.what}"


class Deadlock(SchedError):
    """No CPU is runnable while some CPU is unfinished.

    ``waits`` lists every blocked CPU in registration order with what it waits on and who holds
    it, so the message reads like a lockdep report.
    """

    def __init__(self, waits: tuple[WaitFor, ...], step: int) -> None:
        self.waits = waits
        self.step = step
        chain = "; ".join(str(w) for w in waits)
        super().__init__(
            f"deadlock at step {step}: {chain} "
            "(no CPU can run; take the locks in one global order or drop one before waiting)"
        )


class LivelockSuspected(SchedError):
    """The execution exceeded ``max_steps`` scheduling steps."""

    def __init__(self, steps: int, max_steps: int) -> None:
        self.steps = steps
        self.max_steps = max_steps
        super().__init__(
            f"livelock suspected: {steps=} exceeds {max_steps=} "
            "(a CPU spins without progress, or raise max_steps for a longer scenario)"
        )


class SleepInAtomic(SchedError):
    """A CPU tried to sleep (mutex, flush_work) while holding a spinlock or with IRQs/preemption
    off: the kernel's ``BUG: sleeping function called from invalid context``."""

    def __init__(self, cpu: str, what: str, held: str, step: int) -> None:
        self.cpu = cpu
        self.what = what
        self.step = step
        super().__init__(
            f"{cpu} called {what} in atomic context ({held}) at step {step}: "
            "sleeping is forbidden there; release the spinlock / re-enable IRQs first"
        )


class ForeignAwait(SchedError):
    """A CPU awaited a trio primitive that is not ``switch_point`` (``trio.sleep``, an Event...).

    Detected when every task is blocked while a CPU holds the baton; the execution is cancelled
    instead of hanging.
    """

    def __init__(self, cpu: str, step: int) -> None:
        self.cpu = cpu
        self.step = step
        super().__init__(
            f"{cpu} awaited something outside the scheduler at step {step} "
            "(kernel paths may only await switch_point(), modelled locks and Work.flush())"
        )


class ReplayMismatch(SchedError):
    """A recorded choice does not fit the execution being replayed."""

    def __init__(self, step: int, label: str, detail: str) -> None:
        self.step = step
        self.label = label
        self.detail = detail
        super().__init__(
            f"replay diverged at step {step} ({label or 'unlabelled'}): {detail} "
            "(the scenario, policy or model changed since the schedule was recorded)"
        )


class ScheduleFormatError(SchedError, ValueError):
    """A schedule string could not be parsed; the message says what was expected."""
