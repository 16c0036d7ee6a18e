"""The strategy protocol: a tiny oracle that picks CPUs and options (shuttle's ``Scheduler``).

A strategy knows nothing about pages, locks or tasks.  It is asked two questions and answers
with an index; index 0 is always "the simple thing" (keep running the current CPU, take the
first option), so that smaller choice sequences mean simpler schedules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class Strategy(Protocol):
    """Decides every nondeterministic choice of an execution.

    Lifecycle per execution: ``begin_execution()`` (False = nothing left to explore, do not run),
    then any number of ``pick_cpu`` / ``pick_option`` calls, then ``end_execution(failed)``.
    """

    def begin_execution(self) -> bool:
        """Prepare one execution; False means this strategy has nothing more to explore."""
        ...

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        """Return an index into ``runnable`` (len >= 2).

        ``runnable`` starts with ``current`` when the current CPU may keep running (index 0 = no
        preemption); then the other runnable CPUs in registration order.  ``current`` is None
        when no CPU is running (the first pick, or the running CPU blocked or finished).
        """
        ...

    def pick_option(self, step: int, n: int, label: str) -> int:
        """Return an index in ``range(n)`` (n >= 2) for a data choice; 0 = the simple thing."""
        ...

    def end_execution(self, failed: bool) -> None:
        """The execution is over; ``failed`` says whether it raised."""
        ...


@runtime_checkable
class Horizon(Protocol):
    """Optional: a strategy that can say how long its "keep running" answer holds.

    Most decisions keep the running CPU; asking the strategy each time costs a call chain
    per switch point. A strategy with these two methods lets the scheduler answer the same
    question itself: after ``pick_cpu(step, runnable, current)`` returned 0 (keep running),
    every later ``pick_cpu(s, runnable, current)`` with the *same* ``runnable`` object and
    ``s < horizon()`` would return 0 again, and change nothing in the strategy beyond what
    ``answered`` reports. The recorded decisions are the same either way.
    """

    def horizon(self) -> int:
        """The step (exclusive) until which the last ``pick_cpu`` answer holds."""
        ...

    def answered(self, step: int) -> None:
        """The scheduler answered picks on the strategy's behalf, the last one at ``step``
        (called before ``end_execution``; steps only grow within an execution)."""
        ...
