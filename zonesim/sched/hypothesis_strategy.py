"""Hypothesis-driven exploration: every choice is a Hypothesis draw, so Hypothesis's shrinker
(MacIver & Donaldson, "Test-Case Reduction via Test-Case Generation", ECOOP 2020) minimises
preemptions and data choices together; draw 0 = no preemption / the simple option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from zonesim.sched.choice import Choice
from zonesim.sched.execution import Failure
from zonesim.sched.strategy import Strategy


class HypothesisStrategy:
    """Answers every pick with ``data.draw(st.integers(0, n - 1))``; one execution per ``data``."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        self._used = False
        self._ints: dict[int, st.SearchStrategy[int]] = {}

    def begin_execution(self) -> bool:
        if self._used:
            return False
        self._used = True
        return True

    def _draw(self, n: int) -> int:
        ints = self._ints.get(n)
        if ints is None:
            ints = self._ints[n] = st.integers(0, n - 1)
        return self._data.draw(ints)

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        return self._draw(len(runnable))

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._draw(n)

    def end_execution(self, failed: bool) -> None:
        pass


def hypothesis_search(
    run_one: Callable[[Strategy], Failure | None], *, max_examples: int = 200, seed: int = 0
) -> list[Choice] | None:
    """Search with Hypothesis; return the choices of the shrunk failing execution, or None.

    ``run_one`` runs one execution under the given strategy and returns its ``Failure``.
    Failures are told apart by exception type and raise site (Hypothesis's rule), so shrinking
    keeps the failure "the same".  Deterministic for a given ``seed``; no example database.
    """
    last_failing: list[Choice] | None = None

    @hypothesis_seed(seed)
    @settings(
        database=None,
        max_examples=max_examples,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(st.data())
    def search(data: st.DataObject) -> None:
        nonlocal last_failing
        failure = run_one(HypothesisStrategy(data))
        if failure is not None:
            last_failing = list(failure.choices)
            raise failure.error

    try:
        search()
    except Exception:
        # Hypothesis re-runs the minimal example last, so last_failing holds its choices.
        return last_failing
    return None
