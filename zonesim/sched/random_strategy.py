"""Random walk: at each decision, preempt with a fixed probability (shuttle's ``RandomScheduler``).

Uses its own ``random.Random(seed)``; executions draw successive values from one stream, so
``(seed, execution number)`` determines an execution and its choices record it exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


class RandomStrategy:
    """Keeps the current CPU with probability ``1 - switch_probability``, else picks uniformly
    among the others; data choices are uniform."""

    def __init__(self, seed: int, *, switch_probability: float = 0.5) -> None:
        if not 0.0 <= switch_probability <= 1.0:
            raise ValueError(f"{switch_probability=} is not a probability in [0, 1]")
        self.seed = seed
        self.switch_probability = switch_probability
        self._rng = random.Random(seed)

    def begin_execution(self) -> bool:
        return True

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        if current is not None and runnable[0] == current:
            # Switching at every decision would make long schedules all-preemption noise.
            if self._rng.random() >= self.switch_probability:
                return 0
            return self._rng.randrange(1, len(runnable))
        return self._rng.randrange(len(runnable))

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._rng.randrange(n)

    def end_execution(self, failed: bool) -> None:
        pass
