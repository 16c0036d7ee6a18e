"""PCT, probabilistic concurrency testing: Burckhardt, Kothari, Musuvathi, Nagarakatte,
"A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.

Each execution gives every CPU a random distinct priority above ``depth``, picks ``depth - 1``
change points uniformly in ``[0, k)`` (k = the most steps seen so far, a guess at first) and
always runs the highest-priority runnable CPU; at the i-th change point the running CPU drops
to priority ``depth - i``.  A bug of depth d is found with probability >= 1/(n k^(d-1)).

Departure from the paper: priorities are assigned when a CPU is first seen in a runnable
list; a change point that falls on a step with no decision (atomic section) takes effect at
the next decision; when no CPU is running (it blocked), the highest-priority runnable one is
demoted instead.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

_NEVER = 1 << 62


class PCTStrategy:
    """PCT with bug depth ``depth`` (>= 1; depth 1 = no change points)."""

    def __init__(self, seed: int, *, depth: int = 3, initial_steps: int = 100) -> None:
        if depth < 1:
            raise ValueError(f"{depth=} must be >= 1")
        self.seed = seed
        self.depth = depth
        self._rng = random.Random(seed)
        self._k = max(1, initial_steps)
        self._k_seen = 0
        self._max_step = 0
        self._prio: dict[str, float] = {}
        self._change_points: list[int] = []
        self._next_change = 0
        # The keep-running fast path: the scheduler hands the same runnable tuple until
        # the set changes, and priorities change only at change points, so until then
        # the answer is the last one (a tuple identity test, no priority scan).
        self._last_runnable: Sequence[str] | None = None
        self._last_idx = 0
        self._change_at = 0  # step of the next change point (or a huge number)

    def begin_execution(self) -> bool:
        self._prio = {}
        self._change_points = sorted(self._rng.randrange(self._k) for _ in range(self.depth - 1))
        self._next_change = 0
        self._max_step = 0
        self._last_runnable = None
        self._change_at = self._change_points[0] if self._change_points else _NEVER
        return True

    def _priority(self, name: str) -> float:
        p = self._prio.get(name)
        if p is None:
            p = self._prio[name] = self.depth + self._rng.random()
        return p

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        if step > self._max_step:
            self._max_step = step
        if runnable is self._last_runnable and step < self._change_at:
            return self._last_idx
        get = self._prio.get
        prio = [get(name) or self._priority(name) for name in runnable]
        while (
            self._next_change < len(self._change_points)
            and self._change_points[self._next_change] <= step
        ):
            self._next_change += 1
            victim = current if current is not None else runnable[prio.index(max(prio))]
            self._prio[victim] = float(self.depth - self._next_change)
            prio = [self._prio[name] for name in runnable]
        cps = self._change_points
        self._change_at = cps[self._next_change] if self._next_change < len(cps) else _NEVER
        self._last_runnable = runnable
        self._last_idx = prio.index(max(prio))
        return self._last_idx

    def horizon(self) -> int:
        """The same runnable tuple gets the same answer until the next change point."""
        return self._change_at

    def answered(self, step: int) -> None:
        if step > self._max_step:
            self._max_step = step

    def pick_option(self, step: int, n: int, label: str) -> int:
        self._max_step = max(self._max_step, step)
        return self._rng.randrange(n)

    def end_execution(self, failed: bool) -> None:
        self._k_seen = max(self._k_seen, self._max_step + 1)
        self._k = self._k_seen
