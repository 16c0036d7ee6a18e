"""Replay: feed recorded choice values back, checking that each one fits; anchored replay
of a schedule string that follows an edited scenario as far as it still applies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from zonesim.sched.choice import Choice, ChoiceValue
from zonesim.sched.errors import ReplayMismatch, SchedError
from zonesim.sched.schedule import Schedule
from zonesim.sched.strategy import Strategy


class ReplayStrategy:
    """Replays ``choices`` (``Choice`` records or bare values: cpu names / option indices).

    Runs one execution (``begin_execution`` is True once).  When the recorded choices run out,
    takes choice 0.  A choice that does not fit (a cpu name not runnable, a cpu where an option
    was expected, an index out of range) raises ``ReplayMismatch``; with ``strict=False`` it
    takes choice 0 instead (shrinking's candidates, anchored replay's first run: what was
    taken is in the execution's own choices, ``first_divergence`` says where it differs).
    """

    def __init__(self, choices: Iterable[Choice | ChoiceValue], *, strict: bool = True) -> None:
        self.values: list[ChoiceValue] = [c.value if isinstance(c, Choice) else c for c in choices]
        self.strict = strict
        self._pos = 0
        self._done = False

    @property
    def unused(self) -> int:
        """Recorded choices not consumed (non-zero after an execution = it ended early)."""
        return len(self.values) - self._pos

    def begin_execution(self) -> bool:
        if self._done:
            return False
        self._done = True
        self._pos = 0
        return True

    def _next(self) -> ChoiceValue | None:
        if self._pos >= len(self.values):
            return None
        value = self.values[self._pos]
        self._pos += 1
        return value

    def _mismatch(self, step: int, label: str, detail: str) -> int:
        if self.strict:
            raise ReplayMismatch(step, label, f"choice {self._pos - 1}: {detail}")
        return 0

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        value = self._next()
        if value is None:
            return 0
        if not isinstance(value, str):
            return self._mismatch(
                step, "", f"recorded data choice #{value} where a cpu is chosen among {runnable}"
            )
        if value not in runnable:
            return self._mismatch(
                step, "", f"recorded cpu {value!r} is not runnable; runnable: {list(runnable)}"
            )
        return runnable.index(value)

    def pick_option(self, step: int, n: int, label: str) -> int:
        value = self._next()
        if value is None:
            return 0
        if isinstance(value, str):
            return self._mismatch(step, label, f"recorded cpu {value!r} where an option is chosen")
        if not 0 <= value < n:
            return self._mismatch(step, label, f"recorded option #{value} not in range({n})")
        return value

    def end_execution(self, failed: bool) -> None:
        pass


# -- anchored replay: follow a schedule as far as it still applies ---------------------


class FingerprintMismatch(SchedError):
    """A schedule was recorded for another scenario behaviour, policy or model version."""


def check_fingerprint(schedule: Schedule, expected: Mapping[str, str]) -> None:
    """``expected`` maps a schedule version to the fingerprint it must carry (the engine's
    behaviour fingerprint for zs2, its legacy one for zs1)."""
    want = expected.get(schedule.version)
    if want is None or schedule.fingerprint != want:
        raise FingerprintMismatch(
            f"schedule fingerprint {schedule.fingerprint} does not match this scenario's "
            f"zone, setup and ops, the policy's switches and the model "
            f"({want or 'no ' + schedule.version + ' fingerprint'}): one of them changed "
            "since the schedule was recorded"
        )


def _describe(value: ChoiceValue, label: str | None) -> str:
    what = f"cpu {value}" if isinstance(value, str) else f"option #{value}"
    return what + (f" at {label!r}" if label is not None else "")


def _taken(c: Choice) -> str:
    where = f"the scenario decided at {c.label!r}" + (
        f" with {c.current} running" if c.current else ""
    )
    if c.kind == "opt":
        return f"{where} and took option #{c.value} of {c.n}"
    if c.current is not None and c.value == c.current:
        return f"{where} and kept {c.current} running"
    return f"{where} and ran {c.value} ({c.n} runnable)"


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where replaying a schedule stopped applying to the execution.

    ``index``: the first decision of the schedule that does not fit; the ``index``
    decisions before it were replayed as recorded. ``step``: the scheduler step there
    (None when the execution ended before reaching it). ``expected``: the recorded decision
    (None past the end of the schedule: the execution decides where the recorded one had a
    single runnable CPU). ``instead``: what the execution did there; after it, choice 0
    everywhere (no more preemptions).
    """

    index: int
    step: int | None
    expected: str | None
    instead: str
    total: int

    def __str__(self) -> str:
        at = f"decision {self.index} of {self.total}"
        if self.step is not None:
            at += f" (step {self.step})"
        if self.expected is None:
            return (
                f"schedule diverged after its last decision ({self.total}, all replayed): "
                f"{self.instead}, and took choice 0 from there on"
            )
        if self.step is None:
            return (
                f"schedule diverged at {at}: recorded {self.expected}, but {self.instead}; "
                f"{self.total - self.index} recorded decisions were not used"
            )
        return (
            f"schedule diverged at {at}: recorded {self.expected}, but {self.instead}, and "
            f"took choice 0 from there on; the first {self.index} decisions were replayed "
            "as recorded"
        )


def first_divergence(schedule: Schedule, taken: Sequence[Choice]) -> Divergence | None:
    """The first recorded decision that the execution did not take the same way at the
    same anchor (label), or None when every decision applied and the execution made no
    other. Unanchored (zs1) decisions compare by value only."""
    total = len(schedule.values)
    for i, (value, label) in enumerate(zip(schedule.values, schedule.labels, strict=True)):
        if i >= len(taken):
            return Divergence(
                i, None, _describe(value, label),
                f"the execution ended after {len(taken)} decisions", total,
            )
        c = taken[i]
        same_kind = isinstance(value, str) == (c.kind == "cpu")
        if not same_kind or c.value != value or (label is not None and label != c.label):
            return Divergence(i, c.step, _describe(value, label), _taken(c), total)
    if len(taken) > total:
        # The edited scenario decides where the recorded one had a single runnable CPU
        # (e.g. an op appended to the CPU that finished first).
        c = taken[total]
        return Divergence(total, c.step, None, _taken(c), total)
    return None


class HasChoices(Protocol):
    @property
    def choices(self) -> Sequence[Choice]: ...


R = TypeVar("R", bound=HasChoices)


def replay_schedule(
    schedule: Schedule, run: Callable[[Strategy], R]
) -> tuple[R, Divergence | None]:
    """Replay ``schedule`` with ``run`` (one execution under the given strategy).

    Every recorded decision is fed back while it still applies; the first one that does not
    (another switch point at that decision, a CPU that is not runnable, a decision the
    execution never reaches) is the divergence. The execution returned is then the one that
    follows the schedule up to there and takes choice 0 (no preemption) from there on, so
    an edited scenario still replays as far as it can; the divergence says where it stopped
    and what the execution did instead.
    """
    first = run(ReplayStrategy(schedule.values, strict=False))
    divergence = first_divergence(schedule, first.choices)
    if divergence is None or divergence.step is None or divergence.index == len(schedule.values):
        return first, divergence  # the whole schedule applied: nothing to run again
    again = run(ReplayStrategy(schedule.values[: divergence.index]))
    taken = again.choices
    if divergence.index < len(taken):  # what it did instead: choice 0 at that decision
        return again, replace(divergence, instead=_taken(taken[divergence.index]))
    return again, replace(
        divergence, step=None, instead=f"the execution ended after {len(taken)} decisions"
    )
