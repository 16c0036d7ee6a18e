"""POS, partial order sampling: Yuan, Yang, Gu, "Partial Order Aware Concurrency Sampling",
CAV 2018.

Every pending *event* (the next step of a CPU, zonesim.sched.events) carries a random
priority; at each decision the enabled event with the highest priority runs. After it ran,
every enabled event that *races* with it (conflicting footprints) gets a fresh random
priority, and so does the next event of the CPU that ran. Reassigning the racing events'
priorities is what makes the sampling partial-order aware: a random walk over-samples
schedules that differ only in the order of independent steps, and plain random
priorities ("BasicPOS") keep an event that lost a race behind for the rest of the
execution; POS gives every partial order of the racing events a fair chance instead.

Departures from the paper: an event is a modelled step (up to the next switch point), not
one memory access, and its footprint is what the step declares (a lockless access, the lock
it takes; zonesim.sched.events) -- two steps that only meet inside a lock race through the
lock word. Data choices (``choose`` ops) are uniform. Decisions where only one CPU could run
are not seen by a strategy, so the events they run keep no priority to reset.

Deterministic: one ``random.Random(seed)`` per execution, drawn in runnable order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from zonesim.sched.events import pending_events


class POSStrategy:
    """POS for one execution per seed (an exploration builds one per execution index)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._prio: dict[str, float] = {}

    def begin_execution(self) -> bool:
        self._prio = {}
        return True

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        prio = self._prio
        rnd = self._rng.random
        for name in runnable:
            if name not in prio:
                prio[name] = rnd()
        best = 0
        for i in range(1, len(runnable)):
            if prio[runnable[i]] > prio[runnable[best]]:
                best = i
        events = pending_events(runnable)
        ran = events[best]
        for i, e in enumerate(events):
            if i != best and ran.races(e):
                prio[e.cpu] = rnd()
        # The chosen CPU's event runs; its next event is new and draws when first seen.
        del prio[runnable[best]]
        return best

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._rng.randrange(n)

    def end_execution(self, failed: bool) -> None:
        pass
