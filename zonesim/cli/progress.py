"""Progress on stderr for the long commands (explore, matrix): a rich progress bar on a
terminal; otherwise — a script, CI, a pipe — a plain line every few seconds with the
executions, the rate, the violations and the time left. ``--quiet`` turns both off.
Wall-clock time is used here only, for the display: it never reaches a decision or a log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Reporter:
    """Hears ``executions(done, budget, violations)`` and, for a matrix,
    ``cell(n, total, scenario, policy)`` first."""

    def __init__(self, command: str, stream: TextIO, *, quiet: bool, every: float) -> None:
        self.command = command
        self.stream = stream
        self.enabled = not quiet
        self.every = every
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_line = self.started
        self.lines = 0
        self.cells: tuple[int, int, str] | None = None  # (n, total, "scenario x policy")
        self.found_before = 0  # violations of the cells already finished
        self.found = 0
        self.done = 0
        self.total_done = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    # -- callbacks ---------------------------------------------------------------------

    def cell(self, n: int, total: int, scenario: str, policy: str) -> None:
        self.found_before += self.found
        self.found = 0
        self.done = 0
        self.cells = (n, total, f"{scenario} x {policy}")
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=0, description=self._describe(),
                             violations=self.found_before)

    def executions(self, done: int, budget: int, violations: int) -> None:
        if not self.enabled:
            return
        self.total_done += max(0, done - self.done)
        self.done, self.found = done, violations
        if self.tty:
            self._tty(done, budget)
        else:
            now = time.monotonic()
            if now - self.last_line >= self.every:
                self.last_line = now
                self._line(done, budget, now)

    def running(self, done: int, total: int, cells: Sequence[str]) -> None:
        """A matrix on worker processes: between the ends of cells, a line every
        ``every`` seconds saying which cells are running (not on a terminal, where the bar
        stays up); a long cell no longer means a silent matrix."""
        if not self.enabled or self.tty or not cells:
            return
        now = time.monotonic()
        if now - self.last_line < self.every:
            return
        self.last_line = now
        elapsed = now - self.started
        shown = ", ".join(cells[:2]) + (f" and {len(cells) - 2} more" if len(cells) > 2 else "")
        self.stream.write(
            f"zonesim {self.command}: {done}/{total} cells done; in progress: {shown}; "
            f"{self.total_done} executions, {self.found_before + self.found} violation(s), "
            f"{_duration(elapsed)} elapsed\n")
        self.stream.flush()
        self.lines += 1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.enabled and self.lines:
            took = time.monotonic() - self.started
            self.stream.write(f"zonesim {self.command}: done, {self.total_done} executions in "
                              f"{_duration(took)}\n")
            self.stream.flush()

    # -- rendering ---------------------------------------------------------------------

    def _describe(self) -> str:
        if self.cells is None:
            return f"zonesim {self.command}"
        n, total, name = self.cells
        return f"cell {n}/{total} {name}"

    def _tty(self, done: int, budget: int) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[violations]} violation(s)"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self._describe(), total=budget, violations=0)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=budget,
                         violations=self.found_before + self.found)

    def _line(self, done: int, budget: int, now: float) -> None:
        elapsed = now - self.started
        rate = self.total_done / elapsed if elapsed > 0 else 0.0
        parts = [f"zonesim {self.command}:"]
        if self.cells is not None:
            n, total, name = self.cells
            parts.append(f"cell {n}/{total} ({name}),")
            fraction = ((n - 1) + (done / budget if budget else 1)) / total
        else:
            fraction = done / budget if budget else 1.0
        parts.append(f"{done}/{budget} executions,")
        parts.append(f"{rate:.0f}/s,")
        parts.append(f"{self.found_before + self.found} violation(s),")
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else math.inf
        parts.append(f"ETA {_duration(left)}")
        self.stream.write(" ".join(parts) + "\n")
        self.stream.flush()
        self.lines += 1
