"""One design's verdict on a scenario, as ``zonesim bisect`` compares them: the matrix
cell (``matrix.run_cell``: the budget, bounded DFS, then the sampler), its ``pass`` / ``n/a`` /
``violation:<invariant>``, and the statement that tells two violations of one invariant
apart. ``Verdicts`` explores each switch set once per bisect."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zonesim.explore import replay_command
from zonesim.matrix import (
    Budget,
    Cell,
    Column,
    MatrixProgress,
    RunningCells,
    cell_text,
    run_cell,
    run_matrix,
)
from zonesim.policy import Policy
from zonesim.scenario import Scenario
from zonesim.timeline import policy_for

_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


def statement(message: str | None) -> str:
    """A violation's message with pfns and counts blanked: what broke, not where or by
    how much (those vary with the schedule)."""
    return _NUMBER.sub("#", message or "")


@dataclass(slots=True)
class Verdict:
    """One design explored: the matrix cell and the policy it was explored under."""

    policy: Policy
    cell: Cell

    @property
    def text(self) -> str:
        """``pass``, ``n/a`` or ``violation:<invariant>``."""
        if self.cell.verdict == "violation":
            return f"violation:{self.cell.invariant}"
        return str(self.cell.verdict)

    @property
    def race(self) -> str:
        """``pass``, ``n/a`` or ``violation`` (of any invariant)."""
        return str(self.cell.verdict)

    def same(self, other: Verdict) -> bool:
        """The same verdict and, for a violation, the same statement (``statement``): a
        violation of the same invariant with another message is another bug."""
        return self.text == other.text and (
            self.race != "violation"
            or statement(self.cell.message) == statement(other.cell.message))

    @property
    def summary(self) -> str:
        """As a matrix cell prints it: "violation I5a (7)", "pass (exh. 89, b2)", "n/a"."""
        return cell_text(self.cell, False)

    @property
    def replay(self) -> str | None:
        f = self.cell.found
        return None if f is None or f.artifact is None else replay_command(f.artifact)

    def to_json(self) -> dict[str, Any]:
        doc = self.cell.to_json()
        for key in ("expected", "matches", "seconds"):  # no [expect]; timing varies
            doc.pop(key)
        doc["verdict"] = self.text
        doc["policy"] = self.policy.name
        return doc


Evaluate = Callable[[frozenset[str]], Verdict]


class Verdicts:
    """The scenario's verdict under a switch set, explored once per set (a cache)."""

    def __init__(self, scenario: Scenario, path: str, budget: Budget, *,
                 artifacts: Path | None, progress: MatrixProgress | None = None,
                 workers: int = 1, cluster: str | None = None) -> None:
        self.workers = workers
        self.cluster = cluster
        self.scenario = scenario
        self.path = path
        self.budget = budget
        self.artifacts = artifacts
        self.progress = progress
        self.planned = 0  # designs the caller expects to explore (for the progress display)
        self.phase = "timeline"  # what the progress display says the design is for
        self.cache: dict[tuple[str, ...], Verdict] = {}

    def __call__(self, switches: frozenset[str]) -> Verdict:
        key = tuple(sorted(switches))
        found = self.cache.get(key)
        if found is not None:
            return found
        policy = policy_for(switches)
        n = len(self.cache) + 1
        if self.progress is not None:
            self.progress.cell(n, max(n, self.planned), f"{self.scenario.name}, {self.phase}",
                               policy.name)
        cell = run_cell(self.scenario, self.path, policy, self.budget,
                        artifacts=self.artifacts,
                        progress=None if self.progress is None else self.progress.executions)
        verdict = self.cache[key] = Verdict(policy, cell)
        return verdict

    def prefetch(self, sets: list[frozenset[str]]) -> None:
        """Explore the designs of ``sets`` not yet cached side by side, as matrix cells on
        ``workers`` processes (or the Dask scheduler at ``cluster``). A cell's result does
        not depend on where it ran, so a prefetched verdict is the one ``__call__`` would
        have computed; with one worker this does nothing (``__call__`` explores lazily)."""
        if self.workers <= 1 and self.cluster is None:
            return
        todo: dict[tuple[str, ...], Column] = {}
        for switches in sets:
            key = tuple(sorted(switches))
            if key not in self.cache and key not in todo:
                todo[key] = Column(policy_for(switches))
        if len(todo) < 2:
            return
        shown = None if self.progress is None else _Phase(self.progress, self.phase)
        done = run_matrix([(self.path, self.scenario)], list(todo.values()), self.budget,
                          artifacts=self.artifacts, progress=shown,
                          workers=self.workers, cluster=self.cluster)
        if done.interrupted:
            raise KeyboardInterrupt
        row = done.rows[0]
        for key, col in todo.items():
            self.cache[key] = Verdict(col.policy, row.cells[col.name])


@dataclass(slots=True)
class _Phase:
    """The progress display of a prefetch: each cell named as ``__call__`` names it
    ("<scenario>, <phase>")."""

    inner: MatrixProgress
    phase: str

    def cell(self, n: int, total: int, scenario: str, policy: str) -> None:
        self.inner.cell(n, total, f"{scenario}, {self.phase}", policy)

    def executions(self, done: int, budget: int, violations: int) -> None:
        self.inner.executions(done, budget, violations)

    def running(self, done: int, total: int, cells: Sequence[str]) -> None:
        if isinstance(self.inner, RunningCells):
            self.inner.running(done, total, [f"{c}, {self.phase}" for c in cells])
