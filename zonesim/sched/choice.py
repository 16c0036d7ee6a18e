"""Recorded choices (Hypothesis's ``ChoiceNode``) and the ``Recorder`` strategy wrapper.

Every nondeterministic decision of an execution is one ``Choice``; an execution is fully
described by ``(seed, choices)`` and replayed by feeding the choice values back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from zonesim.sched.errors import ReplayMismatch, SchedError
from zonesim.sched.strategy import Strategy

ChoiceKind = Literal["cpu", "opt"]
#: What replay needs of a choice: a CPU name (``cpu`` choice) or an option index (``opt``).
ChoiceValue = str | int


@dataclass(frozen=True, slots=True)
class Choice:
    """One decision.

    ``value`` is the CPU *name* for ``cpu`` choices (names survive CPU reordering, indices do
    not) and the option index for ``opt`` choices; ``n`` is the number of alternatives; ``label``
    the switch point or ``choose`` label; ``step`` the scheduler step.  ``current`` is the CPU
    that could have kept running (choosing it = no preemption), None if there was none.
    """

    kind: ChoiceKind
    value: ChoiceValue
    n: int
    label: str
    step: int
    current: str | None = None

    @property
    def is_preemption(self) -> bool:
        """True when a still-runnable current CPU was switched away from."""
        return self.kind == "cpu" and self.current is not None and self.value != self.current


def preemptions(choices: Sequence[Choice]) -> int:
    """Number of preemptions in a choice sequence."""
    return sum(1 for c in choices if c.is_preemption)


class Recorder:
    """Wraps any strategy, validates its answers and records every decision as a ``Choice``.

    The scheduler calls ``pick_cpu`` with the switch-point ``label`` (an extra keyword the
    ``Strategy`` protocol does not have); a ``ReplayMismatch`` raised by the inner strategy
    without a label gets this label filled in.
    """

    __slots__ = ("_raw", "inner")

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        # Decisions as plain tuples: building a Choice per decision is measurable on the
        # hot path (tens of thousands per exploration); the records are built on demand.
        self._raw: list[tuple[ChoiceKind, ChoiceValue, int, str, int, str | None]] = []

    @property
    def choices(self) -> list[Choice]:
        """Every decision so far, as Choice records (built on each access)."""
        return [Choice(*t) for t in self._raw]

    def begin_execution(self) -> bool:
        self._raw = []
        return self.inner.begin_execution()

    def end_execution(self, failed: bool) -> None:
        self.inner.end_execution(failed)

    def pick_cpu(
        self, step: int, runnable: Sequence[str], current: str | None, label: str = ""
    ) -> int:
        try:
            idx = self.inner.pick_cpu(step, runnable, current)
        except ReplayMismatch as exc:
            if exc.label:
                raise
            raise ReplayMismatch(exc.step, label, exc.detail) from None
        if not 0 <= idx < len(runnable):
            raise SchedError(
                f"{type(self.inner).__name__}.pick_cpu returned {idx=} "
                f"outside range({len(runnable)}) at step {step}"
            )
        self._raw.append(("cpu", runnable[idx], len(runnable), label, step, current))
        return idx

    def pick_option(self, step: int, n: int, label: str) -> int:
        idx = self.inner.pick_option(step, n, label)
        if not 0 <= idx < n:
            raise SchedError(
                f"{type(self.inner).__name__}.pick_option returned {idx=} outside range({n}) "
                f"at step {step} ({label})"
            )
        self._raw.append(("opt", idx, n, label, step, None))
        return idx
