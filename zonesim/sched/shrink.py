"""Schedule shrinking: fewer preemptions, then fewer decisions, then smaller data choices.

A candidate is accepted only if replaying it fails the same way *and* the choices actually
taken are strictly smaller by (preemptions, decisions, sum of data choices), so shrinking
never grows a schedule and always terminates.  Passes, in the spirit of Hypothesis's shrinker:
replace one preemption by "keep the current CPU", delete chunks of decisions (halving sizes),
lower data choices (to 0, then by one).

Shrinking is bounded three ways, whichever ends first: replays (``max_attempts``), the
scheduler steps of all replays together (``max_steps``: a livelock or a 100k-step loop costs
what it runs, not one attempt), and an optional ``out_of_time`` callback (a wall-clock cap
the caller owns: this layer reads no clock). The first two keep the result deterministic;
hitting the third makes it depend on the machine, so it is off unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from zonesim.sched.choice import Choice, preemptions

#: Replays a candidate (running out = choice 0); returns the choices actually taken if the
#: execution fails the same way (else None) and the scheduler steps the replay took.
StillFails = Callable[[list[Choice]], tuple[list[Choice] | None, int]]
#: Replays a candidate the same way and returns the choices taken, failing or not, and the
#: scheduler steps the replay took.
Trace = Callable[[list[Choice]], tuple[list[Choice], int]]


def sort_key(choices: Sequence[Choice]) -> tuple[int, int, int]:
    """The order shrinking descends: (preemptions, decisions, sum of data choices)."""
    data = sum(c.value for c in choices if c.kind == "opt" and isinstance(c.value, int))
    return preemptions(choices), len(choices), data


def _single_preemptions(
    best: list[Choice], trace: Callable[[list[Choice]], list[Choice]]
) -> Iterator[list[Choice]]:
    """Every schedule with exactly one preemption along the path that keeps the current CPU
    everywhere (after best's first choice): that path is replayed once to learn its
    decisions, so each candidate is a real prefix of it plus one switch."""
    if not best:
        return
    start = [best[0]] if best[0].current is None else []
    path = trace(start)
    names = sorted({str(c.value) for c in [*path, *best] if c.kind == "cpu"})
    for i, c in enumerate(path):
        if c.kind == "cpu" and c.current is not None:
            for other in names:
                if other != c.current:
                    yield [*path[:i], replace(c, value=other)]


def _candidates(
    best: list[Choice], trace: Callable[[list[Choice]], list[Choice]] | None = None
) -> Iterator[list[Choice]]:
    if preemptions(best) > 1 and trace is not None:
        yield from _single_preemptions(best, trace)
    # One preemption alone: follow best's choices with every preemption turned into "keep
    # the current CPU", and switch to another CPU at exactly one decision. Finds the
    # one-switch race that removing preemptions one at a time misses when each of them is
    # needed only because of the others.
    if preemptions(best) > 1:
        names = sorted({str(c.value) for c in best if c.kind == "cpu"})
        prefix: list[Choice] = []
        for c in best:
            if c.kind == "cpu" and c.current is not None:
                for other in names:
                    if other != c.current:
                        yield [*prefix, replace(c, value=other)]
                prefix.append(replace(c, value=c.current))
            else:
                prefix.append(c)
    # Later preemptions first: removing one late tends to keep the earlier race intact.
    for i in range(len(best) - 1, -1, -1):
        c = best[i]
        if c.is_preemption and c.current is not None:
            yield [*best[:i], replace(c, value=c.current), *best[i + 1 :]]
    size = len(best) // 2
    while size >= 1:
        for start in range(len(best) - size, -1, -size):
            yield best[:start] + best[start + size :]
        size //= 2
    for i, c in enumerate(best):
        if c.kind == "opt" and isinstance(c.value, int) and c.value > 0:
            yield [*best[:i], replace(c, value=0), *best[i + 1 :]]
            if c.value > 1:
                yield [*best[:i], replace(c, value=c.value - 1), *best[i + 1 :]]


@dataclass(slots=True)
class ShrinkStats:
    """What a shrink spent, and which bound stopped it (None: no candidate was left)."""

    attempts: int = 0
    steps: int = 0
    stopped_by: str | None = None


def shrink(
    choices: Sequence[Choice],
    still_fails: StillFails,
    *,
    max_attempts: int = 500,
    max_steps: int | None = None,
    out_of_time: Callable[[], bool] | None = None,
    stats: ShrinkStats | None = None,
    trace: Trace | None = None,
) -> list[Choice]:
    """Return a failing choice sequence no larger than ``choices`` (by ``sort_key``).

    ``choices`` must be a failing execution's choices; at most ``max_attempts`` replays and
    ``max_steps`` scheduler steps over all of them; ``out_of_time()`` True stops too.
    ``stats`` (if given) is filled in with what was spent. ``trace`` (optional) lets the
    first pass try every single preemption along the no-preemption path; its replays
    count against the same budgets.
    """
    spent = stats if stats is not None else ShrinkStats()
    best = list(choices)
    improved = True

    def exhausted() -> str | None:
        if spent.attempts >= max_attempts:
            return "attempts"
        if max_steps is not None and spent.steps >= max_steps:
            return "steps"
        if out_of_time is not None and out_of_time():
            return "time"
        return None

    def traced(cand: list[Choice]) -> list[Choice]:
        assert trace is not None
        spent.attempts += 1
        taken, steps = trace(cand)
        spent.steps += steps
        return taken

    counted_trace = traced if trace is not None else None

    while improved and spent.stopped_by is None:
        improved = False
        for cand in _candidates(best, counted_trace):
            spent.stopped_by = exhausted()
            if spent.stopped_by is not None:
                break
            spent.attempts += 1
            taken, steps = still_fails(cand)
            spent.steps += steps
            if taken is not None and sort_key(taken) < sort_key(best):
                best = taken
                improved = True
                break  # restart the passes from the new, smaller schedule
    return best
