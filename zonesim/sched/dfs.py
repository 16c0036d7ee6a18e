"""Stateless exhaustive search with a preemption bound (CHESS: Musuvathi, Qadeer, Ball, Basler,
Nainar, Neamtiu, OSDI 2008; iterative context bounding, PLDI 2007).

Each execution replays a prefix of choice indices, then takes 0 ("no preemption") at every
new decision.  Afterwards it backtracks to the deepest decision that still has an untried
alternative whose preemption count stays within the bound.  No program state is stored: the
scheduler's determinism guarantees the prefix leads to the same decisions (checked: a decision
with a different number of alternatives raises ``SchedError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zonesim.sched.errors import SchedError


def check_replayed(i: int, step: int, n: int, taken: int) -> None:
    """A replayed prefix must meet the same decisions: its index ``taken`` at decision
    ``i`` has to exist among the ``n`` alternatives there (shared by every DFS variant)."""
    if taken >= n:
        raise SchedError(
            f"nondeterminism: dfs decision {i} at step {step} has {n} alternatives, "
            f"an earlier execution had more (replaying index {taken})"
        )


def check_prefix_reached(decisions: int, prefix: int) -> None:
    """An execution that ends before its replay prefix does is not the one replayed."""
    if decisions < prefix:
        raise SchedError(
            f"nondeterminism: a dfs execution ended after {decisions} decisions, before "
            f"its replay prefix of {prefix}"
        )


@dataclass(slots=True)
class _Point:
    n: int
    taken: int
    preemptible: bool  # a cpu decision where the current CPU could keep running


class DFSStrategy:
    """Explores every schedule with at most ``preemption_bound`` preemptions, and every data
    choice; ``exhausted`` becomes True when nothing is left, ``executions`` counts runs."""

    def __init__(self, preemption_bound: int = 2) -> None:
        if preemption_bound < 0:
            raise ValueError(f"{preemption_bound=} must be >= 0")
        self.preemption_bound = preemption_bound
        self.exhausted = False
        self.executions = 0
        self._prefix: list[int] = []
        self._trail: list[_Point] = []

    def begin_execution(self) -> bool:
        if self.exhausted:
            return False
        self.executions += 1
        self._trail = []
        return True

    def _pick(self, step: int, n: int, preemptible: bool) -> int:
        i = len(self._trail)
        taken = 0
        if i < len(self._prefix):
            taken = self._prefix[i]
            check_replayed(i, step, n, taken)
        self._trail.append(_Point(n, taken, preemptible))
        return taken

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        return self._pick(step, len(runnable), current is not None and runnable[0] == current)

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._pick(step, n, False)

    def end_execution(self, failed: bool) -> None:
        trail = self._trail
        check_prefix_reached(len(trail), len(self._prefix))
        before: list[int] = []  # preemptions strictly before each decision
        count = 0
        for p in trail:
            before.append(count)
            if p.preemptible and p.taken:
                count += 1
        for i in range(len(trail) - 1, -1, -1):
            p = trail[i]
            if p.taken + 1 < p.n and before[i] + p.preemptible <= self.preemption_bound:
                self._prefix = [q.taken for q in trail[:i]] + [p.taken + 1]
                return
        self.exhausted = True
