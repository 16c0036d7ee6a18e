"""Hands work units to a backend and puts their results in execution order.

The order of an exploration is fixed before anything runs: executions by index for
random/PCT/POS and feedback, chunks by number for Hypothesis, the sequential DFS order for
DFS. Workers
finish units in any order; the coordinator only ever counts the contiguous prefix of that
order, cut at the execution budget and -- unless ``keep_going`` -- at the first failing
execution (the lowest index that fails). Workers may run a little past the cut; what lies
beyond it is discarded. So ``--workers 1``, ``--workers 4`` and a Dask cluster give the
same executions, findings and ``trace_hash``.

Units are handed out lowest position first, at most about twice the backend's slots at a
time, and never when the part of the order before them already fills the budget or holds
a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from zonesim.coverage import UnitSeen
from zonesim.engine import Engine, Outcome
from zonesim.parallel import Backend
from zonesim.sched import DPORStrategy, SleepSet, Strategy
from zonesim.units import (
    DfsResult,
    DfsUnit,
    EngineSpec,
    ExecRecord,
    FeedbackUnit,
    HypothesisUnit,
    IndexedUnit,
    Kept,
    SubtreeDFS,
    Unit,
    record_of,
    run_unit,
)

#: (executions finished, budget, distinct invariants violated)
Progress = Callable[[int, int, int], None]
_POLL = 0.2  # seconds between checks of the clock while waiting for workers


@dataclass(slots=True)
class Collected:
    """The counted executions in order (``index`` renumbered 1..n), and how it ended."""

    records: list[ExecRecord] = field(default_factory=list)
    exhausted: bool | None = None  # dfs: nothing of the bounded space is left
    interrupted: bool = False


class Run:
    """Common loop: keep the backend busy, feed results to the plan, stop on Ctrl-C."""

    def __init__(self, backend: Backend, engine: Engine, seconds: float | None,
                 progress: Progress | None, budget: int) -> None:
        self.backend = backend
        self.engine = engine
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.progress = progress
        self.budget = budget
        self.finished = 0
        self.invariants: set[str] = set()
        # in-flight tickets -> (plan's key, the inline sink that gathers partial results)
        self.flight: dict[int, tuple[Any, list[ExecRecord]]] = {}
        self.interrupted = False

    def time_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def over(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def note(self, r: ExecRecord) -> None:
        """One more execution finished (progress counts them as they come)."""
        self.finished += 1
        if r.violation is not None:
            self.invariants.add(r.violation.invariant)
        if self.progress is not None:
            self.progress(min(self.finished, self.budget), self.budget, len(self.invariants))

    def submit(self, key: Any, unit: Unit) -> None:
        sink: list[ExecRecord] = _Sink(self) if self.backend.local else []
        if self.backend.local:
            t = self.backend.submit(partial(run_unit, engine=self.engine, out=sink), unit)
        else:
            t = self.backend.submit(run_unit, unit)
        self.flight[t] = (key, sink)

    def loop(self, refill: Callable[[int], list[tuple[Any, Unit]]],
             accept: Callable[[Any, Any], None]) -> dict[Any, list[ExecRecord]]:
        """Returns the partial records of units cut short by Ctrl-C (inline only)."""
        try:
            while True:
                room = 2 * self.backend.slots - len(self.flight)
                if room > 0 and not self.over():
                    for key, unit in refill(room):
                        self.submit(key, unit)
                if not self.flight:
                    return {}
                for t, result in self.backend.wait(_POLL):
                    key, _ = self.flight.pop(t)
                    accept(key, result)
                    if not self.backend.local:  # inline units noted each execution
                        recs = result.records if isinstance(result, DfsResult) else result
                        for r in recs:
                            self.note(r)
        except KeyboardInterrupt:
            self.interrupted = True
            self.backend.close()
            return {key: sink for key, sink in self.flight.values() if sink}


class _Sink(list[ExecRecord]):
    """The record list of a unit run in this process: progress sees every execution."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self._run = run

    def append(self, r: ExecRecord) -> None:
        super().append(r)
        self._run.note(r)


def _cut(records: Iterator[ExecRecord], budget: int, keep_going: bool) -> list[ExecRecord]:
    out: list[ExecRecord] = []
    for r in records:
        if len(out) >= budget:
            break
        out.append(replace(r, index=len(out) + 1))
        if r.error is not None or (r.violation is not None and not keep_going):
            break
    return out


# -- segments: random / PCT by execution index, Hypothesis by chunk -----------------------


def run_segments(run: Run, make: Callable[[int], Unit], segments: int,
                 keep_going: bool) -> Collected:
    """Segment ``s`` (0-based) is one unit; the order is the segments' records in turn."""
    results: dict[int, list[ExecRecord]] = {}
    next_seg = 0
    cut_at = segments  # first segment holding a failure (without keep_going)

    def refill(room: int) -> list[tuple[Any, Unit]]:
        nonlocal next_seg
        out: list[tuple[Any, Unit]] = []
        while room > len(out) and next_seg < min(segments, cut_at + 1):
            out.append((next_seg, make(next_seg)))
            next_seg += 1
        return out

    def accept(seg: Any, recs: Any) -> None:
        nonlocal cut_at
        results[seg] = recs
        if not keep_going and any(r.stops for r in recs):
            cut_at = min(cut_at, seg)
        if any(r.error is not None for r in recs):
            cut_at = min(cut_at, seg)

    partial_recs = run.loop(refill, accept)
    col = Collected(interrupted=run.interrupted)

    def ordered() -> Iterator[ExecRecord]:
        for s in range(segments):
            recs = results.get(s)
            if recs is None:
                yield from partial_recs.get(s, [])
                return
            yield from recs

    col.records = _cut(ordered(), run.budget, keep_going)
    return col


def segment_starts(budget: int, largest: int, slots: int, smallest: int = 4) -> list[int]:
    """First execution index (1-based) of each unit of ``budget`` executions, then
    ``budget + 1``. Units hold ``largest`` executions while there is plenty left, then
    shrink (about what is left over twice the slots, never below ``smallest``), so the
    last units end close together and no worker finishes alone with a long one at the
    end (guided self-scheduling). The results do not depend on the sizes: executions are
    drawn by index and ordered by index."""
    starts = [1]
    left = budget
    while left > 0:
        # one slot: nobody waits for anybody, so no shrinking (inline: one unit)
        size = min(left, largest)
        if slots > 1:
            size = min(size, max(smallest, -(-left // (2 * slots))))
        left -= size
        starts.append(starts[-1] + size)
    return starts


def explore_indexed(run: Run, spec: EngineSpec, strategy: str, seed: int, depth: int,
                    pct_steps: int, keep_going: bool, chunk: int) -> Collected:
    """``chunk``: the largest unit (the whole budget: one unit)."""
    starts = segment_starts(run.budget, chunk, run.backend.slots)

    def make(s: int) -> Unit:
        return IndexedUnit(spec, strategy, seed, depth, pct_steps, starts[s], starts[s + 1],
                           keep_going, run.time_left())

    return run_segments(run, make, len(starts) - 1, keep_going)


class FeedbackStream:
    """The feedback sampler one generation at a time (``explore_feedback``,
    ``explore_hybrid``): a generation's units mutate the schedules kept by the
    generations before it. Kept: every execution, in index order, that reached a
    signature no earlier execution reached (its energy: how many)."""

    def __init__(self, spec: EngineSpec, seed: int, keep_going: bool, chunk: int) -> None:
        self.spec, self.seed, self.keep_going, self.chunk = spec, seed, keep_going, chunk
        self.corpus: list[Kept] = []
        self.seen: set[str] = set()
        self.start = 1  # the stream's index of its next execution

    def generation(self, run: Run, size: int) -> Collected:
        """The next ``size`` executions (fewer when one stops the search)."""
        first, last, kept = self.start, self.start + size, tuple(self.corpus)

        def make(s: int) -> Unit:
            a = first + s * self.chunk
            return FeedbackUnit(self.spec, self.seed, a, min(a + self.chunk, last), kept,
                                self.keep_going, run.time_left())

        gen = run_segments(run, make, -(-size // self.chunk), self.keep_going)
        for r in gen.records:
            fresh = [] if r.coverage is None else [
                sig for sig in r.coverage.signatures if sig not in self.seen]
            self.seen.update(fresh)
            if fresh and r.choices:
                self.corpus.append((tuple(c.value for c in r.choices), len(fresh)))
        self.start = last
        return gen


def _stops(records: list[ExecRecord], keep_going: bool) -> bool:
    return any(r.error is not None or (r.violation is not None and not keep_going)
               for r in records)


def explore_feedback(run: Run, spec: EngineSpec, seed: int, keep_going: bool,
                     generation: int, chunk: int) -> Collected:
    """Generations of ``generation`` executions (``FeedbackStream``); a generation starts
    when the previous one is complete."""
    budget = run.budget
    records: list[ExecRecord] = []
    stream = FeedbackStream(spec, seed, keep_going, chunk)
    while stream.start <= budget and not run.over():
        gen = stream.generation(run, min(generation, budget + 1 - stream.start))
        records.extend(gen.records)
        if gen.interrupted or _stops(gen.records, keep_going):
            break
    return Collected(records=_cut(iter(records), budget, keep_going),
                     interrupted=run.interrupted)


class _DeepeningDFS:
    """The bounded DFS at bounds 0, 1, ..., ``bound`` in turn -- with DPOR, or the plain
    search -- run in this process a slice of executions at a time (the search's tree
    stays in its strategy object)."""

    def __init__(self, bound: int, dpor: bool) -> None:
        self.bound = bound
        self.dpor = dpor
        self.search = self._make(0)
        self.exhausted_bound: int | None = None
        self.done = False  # every bound exhausted, or a violation ended the search
        self.seen = UnitSeen()

    def _make(self, bound: int) -> DPORStrategy | SubtreeDFS:
        return DPORStrategy(bound) if self.dpor else SubtreeDFS((), bound)

    def slice(self, run: Run, size: int, keep_going: bool) -> list[ExecRecord]:
        out: list[ExecRecord] = []

        def next_strategy(prev: Outcome | None) -> Strategy | None:
            if prev is not None and (prev.error is not None
                                     or (prev.violation is not None and not keep_going)):
                self.done = True
                return None
            while len(out) < size and not run.over():
                if self.search.begin_execution():
                    return self.search
                self.exhausted_bound = self.search.bound
                if self.search.bound == self.bound:
                    self.done = True
                    return None
                self.search = self._make(self.search.bound + 1)
            return None

        def on_outcome(o: Outcome) -> None:
            if o.error is None:
                if isinstance(self.search, SubtreeDFS):
                    self.search.end_logged(o.choices, o.violation is not None)
                else:
                    self.search.end_execution(o.violation is not None)
            r = record_of(len(out) + 1, o, self.seen)
            out.append(r)
            run.note(r)

        try:
            run.engine.run_batch(next_strategy, on_outcome)
        except KeyboardInterrupt:  # the summary still covers what finished
            run.interrupted = True
        return out


def _alternate(dfs: list[ExecRecord], dfs_done: bool,
               sampled: list[ExecRecord]) -> list[ExecRecord]:
    """The hybrid's order: DFS 1, sampler 1, DFS 2, sampler 2, ...; once the DFS is done,
    the sampler alone. Only the prefix both streams have reached is known."""
    out: list[ExecRecord] = []
    for i in range(max(len(dfs), len(sampled)) + 1):
        if i < len(dfs):
            out.append(dfs[i])
        elif not dfs_done:
            break
        if i >= len(sampled):
            break
        out.append(sampled[i])
    return out


def explore_hybrid(run: Run, spec: EngineSpec, seed: int, bound: int, keep_going: bool,
                   generation: int, chunk: int, dpor: bool = True
                   ) -> tuple[Collected, int | None]:
    """``dfs+feedback``: the deepening bounded DFS (bounds 0..``bound``; DPOR unless
    ``dpor`` is False) and the feedback sampler, execution for execution
    (``_alternate``). The DFS finds what a few preemptions at exact spots reach (the undo
    windows, which every sampler misses); the sampler what needs more preemptions than the
    bound (cma-c under the proposal: five). Each runs a generation at a time -- the DFS in
    this process, the sampler's units on the workers -- and neither depends on the other,
    so the order, and the report, do not depend on timing or the number of workers. The
    budget is shared: the DFS runs at most its half (more once it is done: the sampler
    takes the rest). Returns the records and the DFS's ``exhausted_bound``."""
    budget = run.budget
    dfs = _DeepeningDFS(bound, dpor)
    stream = FeedbackStream(spec, seed, keep_going, chunk)
    d: list[ExecRecord] = []
    f: list[ExecRecord] = []
    f_done = False
    while not run.over():
        known = _alternate(d, dfs.done, f)
        if len(known) >= budget or _stops(known, keep_going) or f_done:
            break
        d_room = 0 if dfs.done else min(generation, (budget + 1) // 2 - len(d))
        f_cap = budget - len(d) if dfs.done else budget // 2
        f_room = min(generation, f_cap - len(f))
        if d_room <= 0 and f_room <= 0:
            break
        if d_room > 0:
            d += dfs.slice(run, d_room, keep_going)
            if run.interrupted:
                break
        if f_room > 0:
            gen = stream.generation(Run(run.backend, run.engine, run.time_left(), None,
                                        f_room), f_room)
            f += [replace(r, index=len(f) + 1 + i) for i, r in enumerate(gen.records)]
            for r in gen.records:
                run.note(r)
            if gen.interrupted:
                run.interrupted = True
                break
            f_done = _stops(gen.records, keep_going)
    merged = _alternate(d, dfs.done or f_done or len(d) >= (budget + 1) // 2, f)
    col = Collected(records=_cut(iter(merged), budget, keep_going),
                    interrupted=run.interrupted)
    col.exhausted = dfs.done and dfs.exhausted_bound == bound
    return col, dfs.exhausted_bound


def explore_hypothesis(run: Run, spec: EngineSpec, seed: int, chunk: int) -> Collected:
    return run_segments(run, lambda s: HypothesisUnit(spec, seed, s, chunk),
                        -(-run.budget // chunk), False)


# -- DFS: subtrees of schedule prefixes ---------------------------------------------------


@dataclass(slots=True)
class _Node:
    prefix: tuple[int, ...]
    sleep: SleepSet = ()  # with reduction: the sleep set at this subtree's root
    state: str = "pending"  # pending | running | done | partial
    records: list[ExecRecord] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


def _walk(node: _Node) -> Iterator[ExecRecord | _Node]:
    """The DFS order: a unit's own executions, then its children's subtrees in turn; a
    unit not (completely) run yet stands for its unknown part."""
    yield from node.records
    if node.state != "done":
        yield node
        return
    for c in node.children:
        yield from _walk(c)


def explore_dpor(run: Run, spec: EngineSpec, bound: int, keep_going: bool) -> Collected:
    """Bounded DPOR (zonesim.sched.dpor): one unit, the whole budget. A race found deep
    in the tree adds alternatives near its root, so the search is not split; the
    executions (and so the JSON) do not depend on the number of workers."""
    got: list[DfsResult] = []

    def refill(room: int) -> list[tuple[Any, Unit]]:
        if got or sent:
            return []
        sent.append(True)
        return [((), DfsUnit(spec, bound, (), run.budget, keep_going, run.time_left(),
                             dpor=True))]

    sent: list[bool] = []

    def accept(prefix: Any, result: Any) -> None:
        got.append(result)

    partial = run.loop(refill, accept)
    records = got[0].records if got else next(iter(partial.values()), [])
    col = Collected(records=_cut(iter(records), run.budget, keep_going))
    col.exhausted = bool(got) and got[0].exhausted and len(col.records) == len(records)
    col.interrupted = run.interrupted
    return col


def explore_dfs(run: Run, spec: EngineSpec, bound: int, keep_going: bool,
                first_limit: int, limit: int, reduction: bool = False) -> Collected:
    root = _Node(())
    nodes: dict[tuple[int, ...], _Node] = {(): root}

    def refill(room: int) -> list[tuple[Any, Unit]]:
        out: list[tuple[Any, Unit]] = []
        count = 0
        for item in _walk(root):
            if isinstance(item, _Node):
                if item.state == "pending":
                    item.state = "running"
                    lim = first_limit if item is root else limit
                    out.append((item.prefix, DfsUnit(spec, bound, item.prefix, lim,
                                                     keep_going, run.time_left(),
                                                     reduction, item.sleep)))
                    if len(out) >= room:
                        break
                continue
            count += 1
            if count >= run.budget or item.error is not None or (
                    item.violation is not None and not keep_going):
                break
        return out

    def accept(prefix: Any, result: Any) -> None:
        node = nodes[prefix]
        node.records = result.records
        node.state = "done"
        for p, sleep in zip(result.child_prefixes(), result.child_sleeps(), strict=True):
            child = nodes[p] = _Node(p, sleep)
            node.children.append(child)

    partial_recs = run.loop(refill, accept)
    for prefix, recs in partial_recs.items():
        nodes[prefix].records = recs
        nodes[prefix].state = "partial"

    def known() -> Iterator[ExecRecord]:
        for item in _walk(root):
            if isinstance(item, _Node):
                return
            yield item

    col = Collected(records=_cut(known(), run.budget, keep_going))
    # Exhausted: nothing at all after the last counted execution.
    rest = _walk(root)
    for _ in range(len(col.records)):
        next(rest)
    col.exhausted = next(rest, None) is None
    col.interrupted = run.interrupted
    return col
