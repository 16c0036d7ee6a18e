"""Schedule shrinking: fewer preemptions, then fewer decisions, then smaller data choices.

A candidate is accepted only if replaying it fails the same way *and* the choices actually
taken are strictly smaller by (preemptions, decisions, sum of data choices), so shrinking
never grows a schedule and always terminates.  Passes, in the spirit of Hypothesis's shrinker:
replace one preemption by "keep the current CPU", delete chunks of decisions (halving sizes),
lower data choices (to 0, then by one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from zonesim.sched.choice import Choice, preemptions

#: Replays a candidate (running out = choice 0); returns the choices actually taken if the
#: execution fails the same way, else None.
StillFails = Callable[[list[Choice]], list[Choice] | None]
#: Replays a candidate the same way and returns the choices taken, failing or not.
Trace = Callable[[list[Choice]], list[Choice]]


def sort_key(choices: Sequence[Choice]) -> tuple[int, int, int]:
    """The order shrinking descends: (preemptions, decisions, sum of data choices)."""
    data = sum(c.value for c in choices if c.kind == "opt" and isinstance(c.value, int))
    return preemptions(choices), len(choices), data


def _single_preemptions(best: list[Choice], trace: Trace) -> Iterator[list[Choice]]:
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


def _candidates(best: list[Choice], trace: Trace | None = None) -> Iterator[list[Choice]]:
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


def shrink(
    choices: Sequence[Choice],
    still_fails: StillFails,
    *,
    max_attempts: int = 500,
    trace: Trace | None = None,
) -> list[Choice]:
    """Return a failing choice sequence no larger than ``choices`` (by ``sort_key``).

    ``choices`` must be a failing execution's choices; at most ``max_attempts`` replays.
    ``trace`` (optional) lets the first pass try every single preemption along the
    no-preemption path.
    """
    best = list(choices)
    attempts = 0
    improved = True
    while improved and attempts < max_attempts:
        improved = False
        for cand in _candidates(best, trace):
            if attempts >= max_attempts:
                break
            attempts += 1
            taken = still_fails(cand)
            if taken is not None and sort_key(taken) < sort_key(best):
                best = taken
                improved = True
                break  # restart the passes from the new, smaller schedule
    return best
