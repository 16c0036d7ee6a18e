"""Recorded choices (Hypothesis's ``ChoiceNode``) and the ``Recorder`` strategy wrapper.

Every nondeterministic decision of an execution is one ``Choice``; an execution is fully
described by ``(seed, choices)`` and replayed by feeding the choice values back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Literal, cast, overload

from zonesim.sched.errors import ReplayMismatch, SchedError
from zonesim.sched.strategy import Horizon, Strategy

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


#: One recorded decision, as the scheduler appends it: (kind, value, n, label, step, current).
RawChoice = tuple[ChoiceKind, ChoiceValue, int, str, int, str | None]


#: An entry of a recorder's log: a decision as recorded, or the step of a decision answered
#: from the strategy's horizon promise (``Recorder.kept`` holds its label, in order).
LogEntry = RawChoice | int


class ChoiceLog(Sequence[Choice]):
    """The decisions of one execution, kept as the scheduler recorded them (plain tuples)
    and turned into ``Choice`` records only when someone reads them.

    Building a frozen dataclass per decision cost ~0.8 us, a tenth of a passing execution;
    most executions are only hashed (``hash_text``) and dropped. Compares equal to any
    sequence of the same ``Choice`` records (a tuple, a list, another log).

    A decision answered from a horizon promise (the running CPU keeps the baton, most of an
    execution's steps) is recorded as its step alone, an int, with its label in ``kept``:
    a tuple retained per step cost its construction and, as the log grew, the garbage
    collector's young-generation passes (~2 % of a PCT execution). It repeats the decision
    that made the promise, the log's latest ``cpu`` decision that kept its current CPU
    (``Recorder.pick_cpu``), and ``raw`` expands it to that decision's tuple at its own
    label and step. ``at``: the indexes of the tuples among the entries (with ``kept``),
    so that hashing costs a line per decision taken, not per step."""

    __slots__ = ("_at", "_built", "_entries", "_kept", "_raw")

    def __init__(
        self, raw: Sequence[LogEntry], kept: Sequence[str] = (), at: Sequence[int] = ()
    ) -> None:
        self._entries = raw
        self._kept = kept
        self._at = at
        self._raw: Sequence[RawChoice] | None = None if kept else cast(
            Sequence[RawChoice], raw)
        self._built: tuple[Choice, ...] | None = None

    def _all(self) -> tuple[Choice, ...]:
        built = self._built
        if built is None:
            built = self._built = tuple([Choice(*t) for t in self.raw])
        return built

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, i: int) -> Choice: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Choice, ...]: ...

    def __getitem__(self, i: int | slice) -> Choice | tuple[Choice, ...]:
        return self._all()[i]

    def __iter__(self) -> Iterator[Choice]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChoiceLog):
            return list(self.raw) == list(other.raw)
        if isinstance(other, tuple | list):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"ChoiceLog({list(self._all())!r})"

    def __reduce__(self) -> tuple[type[ChoiceLog], tuple[list[RawChoice]]]:
        return (ChoiceLog, (list(self.raw),))

    @property
    def raw(self) -> Sequence[RawChoice]:
        """The decisions as recorded (no ``Choice`` built): for a reader of every one."""
        raw = self._raw
        if raw is None:
            raw = self._raw = _expand(self._entries, self._kept, self._at)
        return raw

    def hash_text(self) -> str:
        """``kind:value`` of every decision, one per line (what a trace hash covers)."""
        if not self._kept:
            return "".join([f"{t[0]}:{t[1]}\n" for t in cast(Sequence[RawChoice], self._entries)])
        entries = self._entries
        parts: list[str] = []
        kept = ""  # the line of the decision a promise repeats
        prev = -1
        for i in self._at:
            t = cast(RawChoice, entries[i])
            if i - prev > 1:  # the promised decisions in between
                parts.append(kept * (i - prev - 1))
            line = f"{t[0]}:{t[1]}\n"
            parts.append(line)
            if t[5] is not None and t[1] == t[5]:
                kept = line
            prev = i
        parts.append(kept * (len(entries) - prev - 1))
        return "".join(parts)


def _expand(entries: Sequence[LogEntry], kept: Sequence[str],
            at: Sequence[int]) -> list[RawChoice]:
    """Every entry as its decision's tuple (see ``ChoiceLog``): the promised decisions
    between two taken ones are built together, by ``zip`` (a reader of every decision,
    e.g. ``SubtreeDFS.end_logged``, reads the log once per execution)."""
    out: list[RawChoice] = []
    name: ChoiceValue = ""
    n = 0
    prev = -1
    k = 0  # promised decisions so far
    for i in (*at, len(entries)):
        gap = i - prev - 1
        if gap:
            cur = cast(str, name)
            out.extend(zip(repeat("cpu", gap), repeat(name), repeat(n), kept[k:k + gap],
                           cast(Sequence[int], entries[prev + 1:i]), repeat(cur)))
            k += gap
        if i < len(entries):
            t = cast(RawChoice, entries[i])
            out.append(t)
            if t[5] is not None and t[1] == t[5]:
                name, n = t[1], t[2]
        prev = i
    return out


class Recorder:
    """Wraps any strategy, validates its answers and records every decision.

    The scheduler calls ``pick_cpu`` with the switch-point ``label`` (an extra keyword the
    ``Strategy`` protocol does not have); a ``ReplayMismatch`` raised by the inner strategy
    without a label gets this label filled in.

    Horizon (``zonesim.sched.strategy.Horizon``): when the inner strategy keeps the running
    CPU and can say until which step it would give that answer again for the same runnable
    tuple, ``keep`` and ``keep_until`` hold the promise; the scheduler's switch point then
    records the decision itself without calling anything (its step in ``raw``, its label in
    ``kept``: see ``ChoiceLog``), and ``flush`` tells the strategy the last step so answered
    before the execution ends.
    """

    __slots__ = ("_horizon", "answered", "at", "inner", "keep", "keep_until", "kept", "raw")

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.raw: list[LogEntry] = []
        self.kept: list[str] = []  # labels of the int entries of ``raw``, in order
        self.at: list[int] = []  # indexes of the tuple entries of ``raw``
        # (not isinstance(inner, Horizon): a runtime protocol check costs ~5 us per execution)
        h = inner if callable(getattr(inner, "horizon", None)) else None
        self._horizon = cast(Horizon | None, h)
        # The runnable tuple (by identity) whose "keep running" answer holds until the step
        # keep_until (exclusive); None = no promise.
        self.keep: Sequence[str] | None = None
        self.keep_until = 0
        self.answered = 0  # last step answered from the promise (0 = none)

    @property
    def choices(self) -> ChoiceLog:
        """Every decision so far (a snapshot: later decisions are not in it)."""
        return ChoiceLog(self.raw[:], self.kept[:], self.at[:])

    def log(self) -> ChoiceLog:
        """Every decision of the execution, without a copy (call once it is over)."""
        return ChoiceLog(self.raw, self.kept, self.at)

    def begin_execution(self) -> bool:
        self.raw = []
        self.kept = []
        self.at = []
        self.keep = None
        self.answered = 0
        return self.inner.begin_execution()

    def end_execution(self, failed: bool) -> None:
        self.flush()
        self.inner.end_execution(failed)

    def flush(self) -> None:
        """Tell a horizon strategy the last step answered on its behalf."""
        if self.answered and self._horizon is not None:
            self._horizon.answered(self.answered)
            self.answered = 0

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
        self.at.append(len(self.raw))
        self.raw.append(("cpu", runnable[idx], len(runnable), label, step, current))
        h = self._horizon
        if h is not None and idx == 0 and current is not None:
            self.keep = runnable
            self.keep_until = h.horizon()
        return idx

    def pick_option(self, step: int, n: int, label: str) -> int:
        idx = self.inner.pick_option(step, n, label)
        if not 0 <= idx < n:
            raise SchedError(
                f"{type(self.inner).__name__}.pick_option returned {idx=} outside range({n}) "
                f"at step {step} ({label})"
            )
        self.at.append(len(self.raw))
        self.raw.append(("opt", idx, n, label, step, None))
        return idx
