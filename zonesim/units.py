"""Work units of an exploration, and how a worker runs one (DESIGN.md §8, §11).

A work unit is a small picklable value that names a slice of an exploration whose result
does not depend on which process runs it, nor when, nor next to what:

* ``IndexedUnit`` -- executions ``start .. stop-1`` of a random, PCT or POS exploration. Each
  execution's strategy is built from the run seed and the execution's own index
  (``execution_seed``), so execution 17 makes the same decisions whoever runs it.
* ``DfsUnit`` -- the subtree of the bounded DFS below a schedule prefix (a tuple of choice
  indices), explored in the sequential DFS order for at most ``limit`` executions; it
  returns the untried rest of its subtree (the *frontier*) as prefixes for further units.
* ``HypothesisUnit`` -- one chunk of a Hypothesis search: ``hypothesis_search`` with the
  chunk's own seed and a fixed number of examples.
* ``FeedbackUnit`` -- executions ``start .. stop-1`` of one generation of a feedback
  exploration: mutants of the schedules the earlier generations kept (the corpus travels
  with the unit), each drawn from the run seed and the execution's index.

The coordinator (``zonesim.coordinator``) orders the results by execution index, so the
findings and ``trace_hash`` are those of the sequential run for any number of workers.
A worker runs all executions of a unit in ONE ``trio.run`` (``Engine.run_batch``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from zonesim.check.registry import Violation
from zonesim.coverage import ExecCoverage, UnitSeen
from zonesim.engine import Engine, Outcome
from zonesim.policy import Policy
from zonesim.scenario import Scenario
from zonesim.sched import (
    Choice,
    ChoiceLog,
    ChoiceValue,
    DPORStrategy,
    Failure,
    PCTStrategy,
    POSStrategy,
    RandomStrategy,
    ReducedDFS,
    ReplayStrategy,
    SchedError,
    SleepSet,
    Strategy,
    hypothesis_search,
)
from zonesim.sched.dfs import check_prefix_reached, check_replayed
from zonesim.sched.feedback import mutant

# -- the engine a unit runs on -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What a worker needs to build the coordinator's engine (scenario and policy are
    frozen dataclasses; the fingerprint keys the per-process cache)."""

    scenario: Scenario
    policy: Policy
    max_steps: int
    checks: bool
    fingerprint: str
    coverage: bool = False

    @classmethod
    def of(cls, engine: Engine) -> EngineSpec:
        return cls(engine.scenario, engine.policy, engine.max_steps, engine.checks,
                   engine.fingerprint, engine.coverage)


_ENGINES: dict[tuple[str, int, bool, bool], Engine] = {}
_CACHE_SIZE = 8  # engines (booted base zones) a worker keeps; the matrix visits many


def engine_for(spec: EngineSpec) -> Engine:
    """The worker's engine for ``spec``: booted once, reused by every later unit."""
    key = (spec.fingerprint, spec.max_steps, spec.checks, spec.coverage)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = Engine(spec.scenario, spec.policy, max_steps=spec.max_steps)
        engine.checks = spec.checks
        engine.coverage = spec.coverage
        if len(_ENGINES) >= _CACHE_SIZE:
            del _ENGINES[next(iter(_ENGINES))]
        _ENGINES[key] = engine
    return engine


# -- what a unit returns -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecRecord:
    """One execution as the coordinator needs it. ``index``: the execution number (1-based)
    for indexed units, the position in the unit for DFS and Hypothesis units. Choices
    travel only with a failing execution (the coordinator shrinks it)."""

    index: int
    steps: int
    trace_hash: str
    violation: Violation | None = None
    choices: Sequence[Choice] = ()
    error: Exception | None = None
    # with coverage on: the execution's coverage, signatures new to its unit only
    coverage: ExecCoverage | None = None

    @property
    def stops(self) -> bool:
        return self.violation is not None or self.error is not None

    def outcome(self) -> Outcome:
        return Outcome(self.violation, self.choices, self.steps, self.trace_hash)


def record_of(index: int, o: Outcome, seen: UnitSeen) -> ExecRecord:
    failing = o.violation is not None or o.error is not None
    return ExecRecord(index, o.steps, o.trace_hash, o.violation,
                      o.choices if failing else (), o.error, seen.new(o.coverage))


def execution_seed(seed: int, index: int) -> int:
    """The seed of execution ``index`` of a run with ``seed`` (no ``hash()``: stable in
    every process)."""
    d = hashlib.blake2b(f"zonesim-execution|{seed}|{index}".encode(), digest_size=8)
    return int.from_bytes(d.digest(), "big")


def _deadline(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


# -- random and PCT: executions by index -------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexedUnit:
    """Executions ``start .. stop-1`` (1-based). PCT draws its change points in
    ``[0, pct_steps)``: the step count of the preemption-free execution, measured once by
    the coordinator, so no execution depends on what earlier ones saw."""

    spec: EngineSpec
    strategy: str  # "random" | "pct" | "pos"
    seed: int
    depth: int
    pct_steps: int
    start: int
    stop: int
    keep_going: bool = False
    seconds: float | None = None


def indexed_strategy(unit: IndexedUnit, index: int) -> Strategy:
    s = execution_seed(unit.seed, index)
    if unit.strategy == "random":
        return RandomStrategy(s)
    if unit.strategy == "pos":
        return POSStrategy(s)
    return PCTStrategy(s, depth=unit.depth, initial_steps=unit.pct_steps)


def run_indexed(unit: IndexedUnit, engine: Engine, out: list[ExecRecord]) -> list[ExecRecord]:
    """Stops after the first failing execution unless ``keep_going``; a SchedError that
    is not a violation always stops."""
    deadline = _deadline(unit.seconds)
    n = unit.start
    current: list[Strategy] = []
    seen = UnitSeen()

    def next_strategy(prev: Outcome | None) -> Strategy | None:
        nonlocal n
        if prev is not None and (prev.error is not None
                                 or (prev.violation is not None and not unit.keep_going)):
            return None
        if n >= unit.stop or _past(deadline):
            return None
        s = indexed_strategy(unit, n)
        s.begin_execution()
        current[:] = [s]
        n += 1
        return s

    def on_outcome(o: Outcome) -> None:
        current[0].end_execution(o.violation is not None)
        out.append(record_of(n - 1, o, seen))

    engine.run_batch(next_strategy, on_outcome)
    return out


# -- feedback: mutants of the schedules earlier generations kept ------------------------

#: a kept schedule: its decision values and its energy (new signatures it reached)
Kept = tuple[tuple[ChoiceValue, ...], int]


@dataclass(frozen=True, slots=True)
class FeedbackUnit:
    """Executions ``start .. stop-1`` (1-based) of a feedback exploration: each is a mutant
    of a schedule of ``corpus`` -- what the generations before this one kept, in execution
    order -- drawn from the run seed and the execution's index (zonesim.sched.feedback).
    Executions that reached a signature new to the unit carry their choices (the
    coordinator keeps those that are new to the whole exploration)."""

    spec: EngineSpec
    seed: int
    start: int
    stop: int
    corpus: tuple[Kept, ...]
    keep_going: bool = False
    seconds: float | None = None


def run_feedback(unit: FeedbackUnit, engine: Engine,
                 out: list[ExecRecord]) -> list[ExecRecord]:
    """Like ``run_indexed``; the engine must compute coverage (``Engine.coverage``)."""
    if not engine.coverage:
        raise ValueError("a feedback unit needs an engine with coverage on")
    deadline = _deadline(unit.seconds)
    n = unit.start
    seen = UnitSeen()

    def next_strategy(prev: Outcome | None) -> Strategy | None:
        nonlocal n
        if prev is not None and (prev.error is not None
                                 or (prev.violation is not None and not unit.keep_going)):
            return None
        if n >= unit.stop or _past(deadline):
            return None
        s = mutant(unit.corpus, execution_seed(unit.seed, n))
        s.begin_execution()
        n += 1
        return s

    def on_outcome(o: Outcome) -> None:
        r = record_of(n - 1, o, seen)
        if r.coverage is not None and r.coverage.signatures and not r.choices:
            r = replace(r, choices=o.choices)  # a candidate for the corpus
        out.append(r)

    engine.run_batch(next_strategy, on_outcome)
    return out


# -- bounded DFS: subtrees of a schedule prefix ------------------------------------------


@dataclass(frozen=True, slots=True)
class DfsUnit:
    spec: EngineSpec
    bound: int
    prefix: tuple[int, ...]
    limit: int
    keep_going: bool = False
    seconds: float | None = None
    # Partial-order reduction (zonesim.sched.sleep): on, and the sleep set at the root of
    # this subtree (a function of the prefix, computed by the unit that found it).
    reduction: bool = False
    sleep: SleepSet = ()
    # Dynamic partial-order reduction (zonesim.sched.dpor): the whole tree in one unit.
    dpor: bool = False


@dataclass(frozen=True, slots=True)
class DfsResult:
    """The unit's executions in DFS order, then the rest of its subtree: child prefixes
    ``trail[:depth] + (alt,)`` for each ``(depth, alt)`` of ``frontier``, in DFS order;
    with reduction, ``sleeps`` holds each child's root sleep set (same order)."""

    records: list[ExecRecord]
    trail: tuple[int, ...]
    frontier: tuple[tuple[int, int], ...]
    sleeps: tuple[SleepSet, ...] = ()
    blocked: int = 0  # sleep-blocked executions among ``records``
    exhausted: bool = False  # dpor: the unit searched the whole bounded tree

    def child_prefixes(self) -> list[tuple[int, ...]]:
        return [(*self.trail[:d], a) for d, a in self.frontier]

    def child_sleeps(self) -> list[SleepSet]:
        return list(self.sleeps) if self.sleeps else [() for _ in self.frontier]


#: a decision of a DFS trail: (alternatives, index taken, preemptible: the running CPU
#: could have kept the baton)
_Point = tuple[int, int, bool]
_FOREVER = 1 << 62  # a horizon past any step bound


class SubtreeDFS:
    """``DFSStrategy`` restricted to the subtree below ``prefix`` (CHESS's stateless
    search): replays the prefix, takes 0 at every new decision, and backtracks only at
    decisions at or below ``len(prefix)``. ``frontier()`` is its DFS stack: every untried
    alternative within the preemption bound, deepest first -- exactly what the sequential
    DFS would explore next, in that order.

    Horizon (``zonesim.sched.strategy.Horizon``): most decisions take 0 ("keep
    running"), so the scheduler answers them itself (no call into the strategy, no
    coroutine per switch point) until the next decision that takes something else: past
    the prefix that is never; inside a prefix this search derived from its own previous
    execution, it is the step at which that execution met the prefix's next non-zero
    decision (the scheduler is deterministic: the same prefix meets the same decisions at
    the same steps, which ``end_logged`` verifies). The strategy does not see the answered
    decisions, so the trail is rebuilt from the execution's decision log (``end_logged``):
    decision ``i`` took ``prefix[i]`` inside the prefix and 0 after it, and was
    preemptible when a running CPU could keep the baton (the scheduler puts it first, as
    ``current``). Driven by hand, without a scheduler (no ``answered`` call),
    ``end_execution`` uses the decisions it saw."""

    def __init__(self, prefix: Sequence[int], preemption_bound: int) -> None:
        self.floor = len(prefix)
        self.bound = preemption_bound
        self.exhausted = False
        self._prefix = list(prefix)
        self._trail: list[_Point] = []
        self._last: list[_Point] = []
        self._promised = False  # the scheduler answered decisions on our behalf
        # The prefix's decisions as the previous execution met them ((step, kind) each;
        # None: not known, e.g. a prefix handed in by the coordinator), and for each one
        # the step of the next decision of the prefix that takes a non-zero index.
        self._at: list[tuple[int, str]] | None = None
        self._until: list[int] = []
        self._i = -1  # the prefix index of the last decision asked of the strategy

    def begin_execution(self) -> bool:
        if self.exhausted:
            return False
        self._trail = []
        self._promised = False
        self._i = -1
        return True

    def _index(self, step: int, kind: str) -> int:
        """Which decision of the execution this question is: counted while every
        decision is asked; else found among the prefix's decisions after the last one
        asked (those between were answered from the horizon)."""
        at = self._at
        if at is None:
            return len(self._trail)
        j = self._i + 1
        end = len(at)
        while j < end and at[j] != (step, kind):
            if at[j][0] > step:
                j = end
                break
            j += 1
        if j == end:
            if self._i < end - 1:
                raise SchedError(
                    f"nondeterminism: a dfs replay met a {kind} decision at step {step} that "
                    f"the execution it replays did not have there (prefix decision "
                    f"{self._i + 1} of {end})")
            return max(end, self._i + 1)
        return j

    def _pick(self, step: int, n: int, preemptible: bool, kind: str) -> int:
        i = self._index(step, kind)
        self._i = i
        taken = 0
        if i < len(self._prefix):
            taken = self._prefix[i]
            check_replayed(i, step, n, taken)
        self._trail.append((n, taken, preemptible))
        return taken

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        return self._pick(step, len(runnable),
                          current is not None and runnable[0] == current, "cpu")

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._pick(step, n, False, "opt")

    def horizon(self) -> int:
        """Asked right after a decision that took 0 with a CPU able to keep running."""
        i = self._i
        if i >= len(self._prefix) - 1:
            return _FOREVER  # past the prefix (its last decision takes an alternative)
        if self._at is None:
            return 0  # the prefix's steps are unknown: every decision is asked
        return self._until[i]

    def answered(self, step: int) -> None:
        self._promised = True

    def _open(self, trail: list[_Point]) -> list[tuple[int, int]]:
        """(depth, first untried alternative) of every decision that still has one."""
        out: list[tuple[int, int]] = []
        count = 0
        before: list[int] = []
        for _, taken, preemptible in trail:
            before.append(count)
            if preemptible and taken:
                count += 1
        bound = self.bound
        for i in range(len(trail) - 1, self.floor - 1, -1):
            n, taken, preemptible = trail[i]
            if taken + 1 < n and before[i] + preemptible <= bound:
                out.append((i, taken + 1))
        return out

    def end_logged(self, choices: Sequence[Choice], failed: bool) -> None:
        """``end_execution`` with the trail taken from the execution's decision log
        (every decision, also those the scheduler answered from the horizon)."""
        raw = choices.raw if isinstance(choices, ChoiceLog) else [
            (c.kind, c.value, c.n, c.label, c.step, c.current) for c in choices]
        if len(raw) < len(self._trail):
            raise SchedError(f"dfs: the decision log holds {len(raw)} decisions, the "
                             f"strategy answered {len(self._trail)}")
        prefix = self._prefix
        p = len(prefix)
        check_prefix_reached(len(raw), p)
        at = self._at
        if at is not None and [(t[4], t[0]) for t in raw[:p]] != at:
            raise SchedError("nondeterminism: a dfs replay met its prefix's decisions at "
                             "other steps than the execution it replays")
        self._trail = [(t[2], prefix[i] if i < p else 0, t[0] == "cpu" and t[5] is not None)
                       for i, t in enumerate(raw)]
        self._promised = False
        self.end_execution(failed)
        if self.exhausted:
            return
        # The next prefix replays this execution up to its backtrack point: known steps.
        q = len(self._prefix)
        at = [(t[4], t[0]) for t in raw[:q]]
        until = [_FOREVER] * q
        nxt = _FOREVER
        for i in range(q - 1, -1, -1):
            until[i] = nxt
            if self._prefix[i]:
                nxt = at[i][0]
        self._at, self._until = at, until

    def end_execution(self, failed: bool) -> None:
        if self._promised:
            raise SchedError("dfs: the scheduler answered decisions from the horizon; "
                             "end the execution with end_logged(choices, failed)")
        self._at = None  # end_logged sets it again when it knows the steps
        trail = self._trail
        check_prefix_reached(len(trail), len(self._prefix))
        self._last = trail
        nxt = self._open(trail)
        if not nxt:
            self.exhausted = True
            return
        i, alt = nxt[0]
        self._prefix = [q[1] for q in trail[:i]] + [alt]

    def frontier(self) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """(taken values of the last trail, untried (depth, alternative) in DFS order)."""
        last = self._last
        out = [(i, a) for i, first in self._open(last) for a in range(first, last[i][0])]
        return tuple(q[1] for q in last), tuple(out)


def run_dfs(unit: DfsUnit, engine: Engine, out: list[ExecRecord]) -> DfsResult:
    deadline = _deadline(unit.seconds)
    dfs: SubtreeDFS | ReducedDFS | DPORStrategy
    if unit.dpor:
        if unit.prefix:
            raise ValueError("a DPOR unit searches the whole tree (prefix ())")
        dfs = DPORStrategy(unit.bound)
    elif unit.reduction:
        dfs = ReducedDFS(unit.prefix, unit.bound, unit.sleep)
    else:
        dfs = SubtreeDFS(unit.prefix, unit.bound)
    ran = 0
    seen = UnitSeen()

    def next_strategy(prev: Outcome | None) -> Strategy | None:
        nonlocal ran
        if prev is not None and (prev.error is not None
                                 or (prev.violation is not None and not unit.keep_going)):
            return None
        if ran >= unit.limit or _past(deadline) or not dfs.begin_execution():
            return None
        ran += 1
        return dfs

    def on_outcome(o: Outcome) -> None:
        if o.error is None:
            if isinstance(dfs, SubtreeDFS):
                dfs.end_logged(o.choices, o.violation is not None)
            else:
                dfs.end_execution(o.violation is not None)
        out.append(record_of(len(out) + 1, o, seen))

    engine.run_batch(next_strategy, on_outcome)
    if out and out[-1].error is not None:
        return DfsResult(out, (), ())
    if isinstance(dfs, DPORStrategy):
        return DfsResult(out, (), (), blocked=dfs.blocked_executions, exhausted=dfs.exhausted)
    if isinstance(dfs, ReducedDFS):
        trail, open_ = dfs.frontier()
        return DfsResult(out, trail, tuple((d, a) for d, a, _ in open_),
                         tuple(s for _, _, s in open_), dfs.blocked_executions)
    trail, frontier = dfs.frontier()
    return DfsResult(out, trail, frontier)


# -- Hypothesis: chunks of a fixed number of examples -----------------------------------


@dataclass(frozen=True, slots=True)
class HypothesisUnit:
    spec: EngineSpec
    seed: int
    chunk: int
    size: int


class _ViolationError(Exception):
    """Hypothesis tells failures apart by exception type and site; one site per invariant
    is approximated by the message (the invariant name)."""


def run_hypothesis(unit: HypothesisUnit, engine: Engine,
                   out: list[ExecRecord]) -> list[ExecRecord]:
    """Passing executions in order, then (if any) the shrunk failure, replayed."""
    seen = UnitSeen()

    def run_one(strategy: Strategy) -> Failure | None:
        o = engine.run(strategy)
        if o.violation is not None:
            return Failure(_ViolationError(o.violation.invariant), o.choices, o.steps)
        out.append(record_of(len(out) + 1, o, seen))
        return None

    choices = hypothesis_search(run_one, max_examples=unit.size,
                                seed=execution_seed(unit.seed, unit.chunk))
    if choices is not None:
        out.append(record_of(len(out) + 1, engine.run(ReplayStrategy(choices)), seen))
    return out


# -- dispatch ----------------------------------------------------------------------------

Unit = IndexedUnit | DfsUnit | HypothesisUnit | FeedbackUnit


def run_unit(unit: Unit, engine: Engine | None = None,
             out: list[ExecRecord] | None = None) -> list[ExecRecord] | DfsResult:
    """Run ``unit`` on ``engine`` (None: the worker's cached engine for ``unit.spec``);
    finished executions are appended to ``out`` as they finish."""
    e = engine if engine is not None else engine_for(unit.spec)
    sink: list[ExecRecord] = [] if out is None else out
    if isinstance(unit, IndexedUnit):
        return run_indexed(unit, e, sink)
    if isinstance(unit, DfsUnit):
        return run_dfs(unit, e, sink)
    if isinstance(unit, FeedbackUnit):
        return run_feedback(unit, e, sink)
    return run_hypothesis(unit, e, sink)
