"""Replay: feed recorded choice values back, checking that each one fits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zonesim.sched.choice import Choice, ChoiceValue
from zonesim.sched.errors import ReplayMismatch


class ReplayStrategy:
    """Replays ``choices`` (``Choice`` records or bare values: cpu names / option indices).

    Runs one execution (``begin_execution`` is True once).  When the recorded choices run out,
    takes choice 0.  A choice that does not fit (a cpu name not runnable, a cpu where an option
    was expected, an index out of range) raises ``ReplayMismatch``; with ``strict=False`` it
    takes choice 0 instead and counts it in ``mismatches`` (used by shrinking).
    """

    def __init__(self, choices: Iterable[Choice | ChoiceValue], *, strict: bool = True) -> None:
        self.values: list[ChoiceValue] = [c.value if isinstance(c, Choice) else c for c in choices]
        self.strict = strict
        self.mismatches = 0
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
        self.mismatches += 1
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
