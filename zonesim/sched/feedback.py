"""Coverage-guided schedule mutation in the spirit of RFF: Wolff, Shi, Duck, Mathur,
Roychoudhury, "Greybox Fuzzing for Concurrency Testing", ASPLOS 2024.

RFF keeps the schedules that produced a new reads-from pair and mutates them. Here the
feedback is allocator-state coverage (zonesim.coverage: a new step signature), and a
mutation keeps a prefix of a kept schedule, changes the decision right after it, and lets
POS (zonesim.sched.pos) take every later decision. Which schedules are kept and which one
is mutated is the exploration's business (zonesim.coordinator, generations of fixed size);
this module is the strategy that runs one mutant:

    parent:   d0 d1 d2 ... d(k-1) | dk | d(k+1) ...
    mutant:   d0 d1 d2 ... d(k-1) | x != dk | POS ...

Departure from RFF: RFF's schedules are abstract (reads-from constraints that a POS-like
scheduler tries to honour); here the kept prefix is replayed decision by decision, and a
recorded decision that no longer applies (its CPU not runnable) is left to POS.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from zonesim.sched.choice import ChoiceValue
from zonesim.sched.pos import POSStrategy
from zonesim.sched.strategy import Strategy


class MutantStrategy:
    """Replays ``prefix``, then avoids ``avoid`` (the parent's decision there) at the next
    decision, then runs POS. ``avoid=None``: no mutation (plain POS after the prefix)."""

    def __init__(self, prefix: Sequence[ChoiceValue], avoid: ChoiceValue | None,
                 seed: int) -> None:
        self.prefix = tuple(prefix)
        self.avoid = avoid
        self._rng = random.Random(seed)
        self._pos = POSStrategy(self._rng.getrandbits(64))
        self._i = 0

    def begin_execution(self) -> bool:
        self._i = 0
        return self._pos.begin_execution()

    def _where(self) -> int:
        """-1: replaying the prefix; 0: the mutated decision; 1: after it."""
        i = self._i
        self._i += 1
        k = len(self.prefix)
        return -1 if i < k else (0 if i == k and self.avoid is not None else 1)

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        where = self._where()
        if where < 0:
            value = self.prefix[self._i - 1]
            if isinstance(value, str) and value in runnable:
                return runnable.index(value)
        elif where == 0:
            others = [i for i, name in enumerate(runnable) if name != self.avoid]
            return others[self._rng.randrange(len(others))]
        return self._pos.pick_cpu(step, runnable, current)

    def pick_option(self, step: int, n: int, label: str) -> int:
        where = self._where()
        if where < 0:
            value = self.prefix[self._i - 1]
            if isinstance(value, int) and 0 <= value < n:
                return value
        elif where == 0:
            others = [i for i in range(n) if i != self.avoid]
            return others[self._rng.randrange(len(others))]
        return self._pos.pick_option(step, n, label)

    def end_execution(self, failed: bool) -> None:
        self._pos.end_execution(failed)


def mutant(corpus: Sequence[tuple[Sequence[ChoiceValue], int]], seed: int) -> Strategy:
    """A mutant of a schedule drawn from ``corpus`` (each entry: the schedule's decision
    values and its energy, the number of new signatures it reached), with its cut point,
    its changed decision and its POS drawn from ``seed``. An empty corpus gives
    ``POSStrategy(seed)``: the first generation is exactly POS."""
    if not corpus:
        return POSStrategy(seed)
    rng = random.Random(seed)
    run_seed = rng.getrandbits(64)
    values, _ = rng.choices(corpus, weights=[energy for _, energy in corpus])[0]
    if not values:
        return MutantStrategy((), None, run_seed)
    k = rng.randrange(len(values))
    return MutantStrategy(values[:k], values[k], run_seed)
