"""Running executions: one (``execute``) or many under one strategy (``explore``).

One execution = one ``trio.run`` with a ``MockClock`` and a fresh ``Scheduler``; the caller's
``setup`` registers the CPUs (building fresh per-execution state) and may return a final check
run after every CPU finished.  Whatever the execution raises becomes a ``Failure``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio
import trio.testing

from zonesim.sched.choice import Choice
from zonesim.sched.scheduler import ExecutionResult, Scheduler
from zonesim.sched.strategy import Strategy

#: Registers CPUs on the scheduler; may return a check to run once all CPUs finished.
Setup = Callable[[Scheduler], Callable[[], None] | None]


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed execution: the exception, every decision taken up to it, and the step count."""

    error: Exception
    choices: Sequence[Choice]
    steps: int


@dataclass(frozen=True, slots=True)
class Exploration:
    """Result of ``explore``: the first failure (if any) and how many executions ran."""

    failure: Failure | None
    executions: int


def execute(
    strategy: Strategy, setup: Setup, *, max_steps: int = 100_000
) -> ExecutionResult | Failure:
    """Run one execution (does not call ``begin_execution`` / ``end_execution``)."""
    sched = Scheduler(strategy, max_steps=max_steps)
    check = setup(sched)

    async def main() -> ExecutionResult:
        result = await sched.run()
        if check is not None:
            check()
        return result

    try:
        return trio.run(main, clock=trio.testing.MockClock())
    except Exception as exc:
        return Failure(exc, sched.choices, sched.steps)


def explore(
    strategy: Strategy, setup: Setup, *, max_executions: int = 1000, max_steps: int = 100_000
) -> Exploration:
    """Run executions until one fails, the strategy is exhausted or the budget is spent."""
    executions = 0
    while executions < max_executions and strategy.begin_execution():
        executions += 1
        outcome = execute(strategy, setup, max_steps=max_steps)
        failed = isinstance(outcome, Failure)
        strategy.end_execution(failed)
        if isinstance(outcome, Failure):
            return Exploration(outcome, executions)
    return Exploration(None, executions)
