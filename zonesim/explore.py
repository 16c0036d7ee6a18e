"""Many executions of one scenario under one policy: strategies, budgets, shrinking and
failure artifacts (DESIGN.md §7, §8)."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zonesim.coordinator import (
    Collected,
    Progress,
    Run,
    explore_dfs,
    explore_dpor,
    explore_feedback,
    explore_hybrid,
    explore_hypothesis,
    explore_indexed,
)
from zonesim.coverage import CoverageReport
from zonesim.coverage import merge as merge_coverage
from zonesim.engine import Engine, Outcome
from zonesim.files import write_text as atomic_write_text
from zonesim.obs.report import preemption_lines
from zonesim.parallel import open_backend
from zonesim.scenario.realism import unrealistic_notes
from zonesim.scenario.tables import STRATEGIES as _TABLE_STRATEGIES
from zonesim.sched import (
    Choice,
    DFSStrategy,
    DPORStrategy,
    PCTStrategy,
    POSStrategy,
    RandomStrategy,
    ReducedDFS,
    ReplayStrategy,
    Strategy,
    encode,
    preemptions,
    shrink,
)
from zonesim.units import EngineSpec

STRATEGIES = _TABLE_STRATEGIES  # the names a scenario's [explore] table may give too
#: partial-order reduction of the bounded DFS: none, sleep sets (zonesim.sched.sleep) or
#: bounded dynamic partial-order reduction (zonesim.sched.dpor)
REDUCTIONS = ("none", "sleep", "dpor")
#: what ``--strategy dfs`` reduces by when --reduction is not given: DPOR exhausts the
#: bounded space in far fewer executions than the plain search (cma-b v5.15 at bound 2:
#: 598 vs 12,471; docs/performance.md, "Partial-order reduction"). The matrix's DFS half
#: keeps the plain search (``StrategyConfig.reduction`` defaults to "none"): the findings
#: table pins its verdicts, and moving it is a change of its own.
DEFAULT_REDUCTION = "dpor"
#: ... for executions of at most this many scheduler steps (the preemption-free one,
#: measured once: ``reduction_for``). DPOR keeps every transition's footprint of an
#: execution (a few hundred bytes each) and its decision tree; a 100,000-iteration loop
#: would hold gigabytes, and no bounded space that large is exhausted anyway. Beyond it
#: the plain search, which keeps one small record per decision.
DPOR_MAX_STEPS = 20_000
#: the strategy of ``zonesim explore`` when neither --strategy nor the scenario's [explore]
#: table names one: the only one that found every known violation of the bundled scenarios
#: within 1,000 executions in every seed (70 cases x 3 seeds; docs/performance.md,
#: "Strategies"): the DFS half finds the undo-window races every sampler misses, the
#: feedback half what needs more preemptions than the bound
DEFAULT_STRATEGY = "dfs+feedback"
ARTIFACT_FORMAT = "zonesim-artifact/1"


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    name: str = "pct"
    seed: int = 0
    depth: int = 3  # pct
    preemption_bound: int = 2  # dfs
    # dfs: partial-order reduction, "none", "sleep" (zonesim.sched.sleep) or "dpor"
    # (zonesim.sched.dpor)
    reduction: str = "none"
    # dfs: bounds 0, 1, ..., preemption_bound in turn, each searched to exhaustion before
    # the next (``_deepening``); False: the bound alone, deepest schedules first
    deepen: bool = False

    def make(self) -> Strategy:
        if self.name == "random":
            return RandomStrategy(self.seed)
        if self.name == "pct":
            return PCTStrategy(self.seed, depth=self.depth)
        if self.name == "pos":
            return POSStrategy(self.seed)
        if self.name == "dfs":
            if self.reduction == "sleep":
                return ReducedDFS((), self.preemption_bound)
            if self.reduction == "dpor":
                return DPORStrategy(self.preemption_bound)
            return DFSStrategy(self.preemption_bound)
        raise ValueError(
            f"strategy {self.name!r} has no oracle object; expected one of {STRATEGIES}"
        )


@dataclass(slots=True)
class Found:
    """One violation found by an exploration, shrunk, with its artifact."""

    invariant: str
    message: str
    execution: int
    schedule: str
    original_schedule: str
    preemptions: int
    decisions: int
    artifact: str | None
    trace_hash: str
    artifact_error: str | None = None  # why the artifact could not be written
    events: list[dict[str, Any]] = field(default_factory=list)
    switches: list[str] = field(default_factory=list)  # where each preemption happened

    def to_json(self) -> dict[str, Any]:
        return {
            "invariant": self.invariant,
            "message": self.message,
            "execution": self.execution,
            "schedule": self.schedule,
            "preemptions": self.preemptions,
            "decisions": self.decisions,
            "artifact": self.artifact,
            "artifact_error": self.artifact_error,
        }


@dataclass(slots=True)
class ExploreReport:
    scenario: str
    policy: str
    strategy: str
    seed: int
    executions: int = 0
    steps: int = 0
    trace_hash: str = ""
    exhausted: bool | None = None  # dfs: the bounded space was explored completely
    preemption_bound: int | None = None  # dfs: the bound "exhausted" is a proof for
    reduction: str | None = None  # dfs: "none", "sleep" or "dpor"
    # dfs with deepening: the largest bound whose space was searched completely (None:
    # not even bound 0's); "no violation with at most this many preemptions" is proved
    exhausted_bound: int | None = None
    violations: list[Found] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: the report covers the executions that finished
    # ops the scenario marks as shapes no real caller produces: {"op": path, "why": ...}
    unrealistic: list[dict[str, str]] = field(default_factory=list)
    coverage: CoverageReport | None = None  # explore(coverage=True)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "scenario": self.scenario,
            "policy": self.policy,
            "strategy": self.strategy,
            "seed": self.seed,
            "executions": self.executions,
            "steps": self.steps,
            "trace_hash": self.trace_hash,
            "violations": [v.to_json() for v in self.violations],
        }
        if self.exhausted is not None:
            d["exhausted"] = self.exhausted
        if self.preemption_bound is not None:
            d["preemption_bound"] = self.preemption_bound
        if self.reduction is not None:
            d["reduction"] = self.reduction
        if self.exhausted_bound is not None:
            d["exhausted_bound"] = self.exhausted_bound
        if self.interrupted:
            d["interrupted"] = True
        if self.unrealistic:
            d["unrealistic"] = self.unrealistic
        if self.coverage is not None:
            d["coverage"] = self.coverage.to_json()
        return d


def explore(
    engine: Engine,
    cfg: StrategyConfig,
    *,
    executions: int = 1000,
    seconds: float | None = None,
    keep_going: bool = False,
    shrink_attempts: int = 300,
    artifacts: Path | None = Path("logs"),
    scenario_path: str = "",
    scenario_text: str | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    cluster: str | None = None,
    coverage: bool = False,
) -> ExploreReport:
    """Run up to ``executions`` executions (or ``seconds``, whichever ends first) on
    ``workers`` processes of this machine, or on the Dask scheduler at ``cluster``.

    Stops at the first violation -- the lowest execution index that fails -- unless
    ``keep_going`` (then one finding per invariant). Artifacts embed ``scenario_text``
    (read from ``scenario_path`` or the scenario's file when not given) so that they
    replay from any directory. ``trace_hash`` hashes every execution's own trace hash in
    execution order, so two runs with the same seed agree on it exactly when they made
    the same decisions and saw the same states, whatever the number of workers
    (zonesim.coordinator). Ctrl-C stops every worker; the report then covers what
    finished (``interrupted``). ``coverage``: every execution also computes its
    allocator-state signatures (zonesim.coverage); the report's ``coverage`` merges them
    in execution order (the same for any number of workers)."""
    report = ExploreReport(engine.scenario.name, engine.policy.name, cfg.name, cfg.seed)
    report.unrealistic = unrealistic_notes(engine.scenario)
    started = time.monotonic()
    if cfg.name not in STRATEGIES:
        raise ValueError(f"strategy {cfg.name!r}: expected one of {STRATEGIES}")
    # A DPOR search is one unit (zonesim.coordinator.explore_dpor): without a cluster it
    # runs in this process, where the progress line sees every execution (a pool's
    # other workers would only wait); a --cluster is still used, and checked.
    dpor = cfg.name == "dfs" and cfg.reduction == "dpor"
    used = 1 if dpor else workers_used(workers, executions, cluster)
    backend = open_backend(used, cluster)
    col = Collected(interrupted=True)  # Ctrl-C before any unit ran (boot, the PCT probe)
    was_covering = engine.coverage
    # the feedback sampler (alone or in the hybrid) feeds on coverage
    engine.coverage = coverage or cfg.name in ("feedback", "dfs+feedback")
    try:
        run = Run(backend, engine, seconds, progress, executions)
        spec = EngineSpec.of(engine)
        par = not backend.local
        if cfg.name == "dfs" and cfg.deepen:
            col, report.exhausted_bound = _deepening(run, spec, cfg, keep_going, dpor, par)
        elif dpor:
            col = explore_dpor(run, spec, cfg.preemption_bound, keep_going)
        elif cfg.name == "dfs":
            col = explore_dfs(run, spec, cfg.preemption_bound, keep_going,
                              first_limit=1 if par else executions,
                              limit=_DFS_UNIT if par else executions,
                              reduction=cfg.reduction == "sleep")
        elif cfg.name == "hypothesis":
            col = explore_hypothesis(run, spec, cfg.seed, _HYPOTHESIS_CHUNK)
        elif cfg.name == "dfs+feedback":
            col, report.exhausted_bound = explore_hybrid(
                run, spec, cfg.seed, cfg.preemption_bound, keep_going, FEEDBACK_GENERATION,
                FEEDBACK_GENERATION if not par else _FEEDBACK_UNIT,
                dpor=cfg.reduction == "dpor")
        elif cfg.name == "feedback":
            col = explore_feedback(run, spec, cfg.seed, keep_going, FEEDBACK_GENERATION,
                                   FEEDBACK_GENERATION if not par else _FEEDBACK_UNIT)
        else:
            pct_steps = _pct_steps(engine) if cfg.name == "pct" else 1
            chunk = executions if not par else max(
                4, min(_INDEXED_UNIT, -(-executions // (4 * backend.slots))))
            col = explore_indexed(run, spec, cfg.name, cfg.seed, cfg.depth, pct_steps,
                                  keep_going, chunk)
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
        engine.coverage = was_covering  # shrinking and replays need no coverage
    if coverage:
        report.coverage = merge_coverage(r.coverage for r in col.records)
    h = hashlib.blake2b(digest_size=16)
    seen: set[str] = set()
    for r in col.records:
        report.executions = r.index
        report.steps += r.steps
        h.update(r.trace_hash.encode())
        if r.error is not None:
            raise r.error
        if r.violation is not None and r.violation.invariant not in seen:
            seen.add(r.violation.invariant)
            source = _Source(scenario_path or engine.scenario.file, scenario_text)
            try:
                found = _finding(engine, cfg, r.index, r.outcome(), shrink_attempts,
                                 artifacts, source)
            except KeyboardInterrupt:  # Ctrl-C while shrinking: report it unshrunk
                col.interrupted = True
                found = _finding(engine, cfg, r.index, r.outcome(), 0, artifacts, source)
            report.violations.append(found)
    if cfg.name == "dfs":
        report.exhausted = col.exhausted
        report.preemption_bound = cfg.preemption_bound
        report.reduction = cfg.reduction
    elif cfg.name == "dfs+feedback":
        report.exhausted = col.exhausted  # the DFS half: every bound done
        report.preemption_bound = cfg.preemption_bound
        report.reduction = cfg.reduction
    report.interrupted = col.interrupted
    if progress is not None:  # the display ends on what counted (workers may run past)
        progress(report.executions, executions, len(report.violations))
    report.trace_hash = h.hexdigest()
    report.seconds = time.monotonic() - started
    return report


def _deepening(run: Run, spec: EngineSpec, cfg: StrategyConfig, keep_going: bool,
               dpor: bool, par: bool) -> tuple[Collected, int | None]:
    """Iterative preemption bounding (CHESS: Musuvathi and Qadeer, PLDI 2007): the
    bounded search at 0, 1, ..., ``cfg.preemption_bound`` preemptions in turn, each to
    exhaustion before the next, within one budget. A DFS at bound 2 alone runs the
    schedules that preempt twice near the end first and can spend a whole budget there
    while one preemption early would do (cma-c under rfc-v1: bound 1 finds its violation
    in 39 executions, bound 2 alone not in 1,000). Each round re-runs the schedules of
    the rounds before (at most a few percent of the next one); the execution indexes
    run on across rounds. Returns the records and the largest bound searched
    completely."""
    out = Collected(exhausted=False)
    proved: int | None = None
    budget = run.budget
    outer = run.progress
    seen = 0  # distinct invariants of the rounds before (progress display only)
    for bound in range(cfg.preemption_bound + 1):
        done = len(out.records)
        if done >= budget or run.over():
            break

        def progress(n: int, _total: int, inv: int, done: int = done,
                     before: int = seen) -> None:
            if outer is not None:
                outer(done + n, budget, max(inv, before))

        r = Run(run.backend, run.engine, run.time_left(), progress, budget - done)
        if dpor:
            col = explore_dpor(r, spec, bound, keep_going)
        else:
            col = explore_dfs(r, spec, bound, keep_going,
                              first_limit=1 if par else r.budget,
                              limit=_DFS_UNIT if par else r.budget,
                              reduction=cfg.reduction == "sleep")
        out.records += [replace(x, index=done + x.index) for x in col.records]
        seen = max(seen, len({x.violation.invariant for x in out.records
                              if x.violation is not None}))
        out.interrupted = col.interrupted
        if col.interrupted or not col.exhausted:
            break  # budget, time, Ctrl-C, or a violation that ends the search
        proved = bound
    out.exhausted = proved == cfg.preemption_bound
    return out, proved


def reduction_for(engine: Engine, asked: str | None = None) -> str:
    """The reduction of a DFS: ``asked``, else ``DEFAULT_REDUCTION`` unless the
    preemption-free execution is longer than ``DPOR_MAX_STEPS`` (then the plain search).
    A reduction asked for on such a scenario is refused (ValueError): DPOR and sleep sets
    both record the footprint of every step of an execution."""
    if asked == "none":
        return asked
    steps = engine.run(ReplayStrategy(())).steps
    if steps <= DPOR_MAX_STEPS:
        return asked or DEFAULT_REDUCTION
    if asked is not None:
        raise ValueError(
            f"--reduction {asked}: expected a scenario whose preemption-free execution has "
            f"at most {DPOR_MAX_STEPS:,} scheduler steps (the reduction keeps the footprint "
            f"of every step of an execution), got {steps:,}; use --reduction none")
    return "none"


def workers_used(workers: int, executions: int, cluster: str | None = None) -> int:
    """The worker processes a run of ``executions`` starts on this machine: none beyond
    the executions, and one (this process) for a handful, where a pool would cost more than
    it saves. The memory check counts these, not ``--workers``."""
    if cluster is not None:
        return workers
    return 1 if executions <= _INLINE_BELOW else min(workers, executions)


def _pct_steps(engine: Engine) -> int:
    """PCT's k, the same for every execution: the steps of the preemption-free execution
    (a cheap deterministic probe; PCT used to learn k from the executions it had run,
    which made execution n depend on executions 1..n-1)."""
    return max(1, engine.run(ReplayStrategy(())).steps)


# Work-unit sizes (executions). Any sizes give the same result; these keep the workers
# busy with little coordination: a DFS unit returns its frontier after _DFS_UNIT runs.
_INLINE_BELOW = 8
_INDEXED_UNIT = 32
_DFS_UNIT = 16
_HYPOTHESIS_CHUNK = 50
#: executions per generation of the feedback strategy (the corpus grows between two), and
#: per unit inside one when workers share it. Any sizes give a deterministic result; these
#: sizes are part of what a feedback seed means.
FEEDBACK_GENERATION = 32
_FEEDBACK_UNIT = 8


#: Scheduler steps one shrink may spend over all its replays (about 20 s at the ~50k steps
#: per second of benchmarks/engine.py): a failure in a 100k-step execution gets ten replays,
#: not three hundred.
SHRINK_MAX_STEPS = 1_000_000


def shrink_outcome(
    engine: Engine,
    outcome: Outcome,
    attempts: int,
    *,
    max_steps: int = SHRINK_MAX_STEPS,
    seconds: float | None = None,
) -> Outcome:
    """Shrink a failing execution's schedule; the result fails with the same invariant.

    Bounded by ``attempts`` replays and ``max_steps`` steps over all of them (both
    deterministic) and, if given, ``seconds`` of wall-clock time."""
    assert outcome.violation is not None
    want = outcome.violation.invariant
    cache: dict[str, Outcome] = {}

    def still_fails(cand: list[Choice]) -> tuple[list[Choice] | None, int]:
        o = engine.run(ReplayStrategy(cand, strict=False))
        if o.violation is not None and o.violation.invariant == want:
            cache[encode(o.choices, engine.fingerprint)] = o
            return list(o.choices), o.steps
        return None, o.steps

    def trace(cand: list[Choice]) -> tuple[list[Choice], int]:
        o = engine.run(ReplayStrategy(cand, strict=False))
        return list(o.choices), o.steps

    deadline = None if seconds is None else time.monotonic() + seconds
    best = shrink(
        outcome.choices,
        still_fails,
        max_attempts=attempts,
        max_steps=max_steps,
        out_of_time=None if deadline is None else (lambda: time.monotonic() > deadline),
        trace=trace,
    )
    return cache.get(encode(best, engine.fingerprint), outcome)


def _finding(
    engine: Engine,
    cfg: StrategyConfig,
    n: int,
    outcome: Outcome,
    attempts: int,
    artifacts: Path | None,
    source: _Source,
) -> Found:
    assert outcome.violation is not None
    small = shrink_outcome(engine, outcome, attempts)
    traced = engine.run(ReplayStrategy(small.choices), tracing=True)
    v = traced.violation or small.violation
    assert v is not None
    schedule = encode(traced.choices, engine.fingerprint)
    found = Found(
        invariant=v.invariant,
        message=v.message if not v.expected and not v.actual else str(v).split(": ", 1)[1],
        execution=n,
        schedule=schedule,
        original_schedule=encode(outcome.choices, engine.fingerprint),
        preemptions=preemptions(traced.choices),
        decisions=len(traced.choices),
        artifact=None,
        trace_hash=traced.trace_hash,
        events=traced.events,
        switches=preemption_lines(traced.choices),
    )
    if artifacts is not None:
        save_artifact(artifacts, engine, cfg, found, source)
    return found


def replay_command(path: str) -> str:
    return f"zonesim replay {shlex.quote(path)}"


@dataclass(frozen=True, slots=True)
class _Source:
    """Where the scenario came from: its path as the user wrote it, and its text."""

    path: str
    text: str | None = None

    def read(self) -> str | None:
        if self.text is not None:
            return self.text
        try:
            return Path(self.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # the artifact then names the path only (replay needs the file)


def artifact_name(engine: Engine, cfg: StrategyConfig, found: Found, source: _Source) -> str:
    """A readable name that never collides: scenario, design, strategy, seed and invariant,
    then a digest of the scenario's path as written, its text and the schedule. Two
    scenarios sharing a ``[scenario] name``, an edited scenario, or two explores finding
    different schedules get different files; the same finding gets the same file (the
    rename then replaces it with identical content)."""
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", engine.policy.name)
    digest = hashlib.blake2b(digest_size=5)
    for part in (source.path, source.read() or "", found.schedule):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return (f"{engine.scenario.name}--{slug}--{cfg.name}-s{cfg.seed}--{found.invariant}--"
            f"{digest.hexdigest()}.json")


def write_artifact(
    directory: Path, engine: Engine, cfg: StrategyConfig, found: Found, source: _Source
) -> Path:
    """Write the failure atomically (temp file in the same directory, then rename), mode
    0644. Raises ``OSError`` when it cannot (see :func:`save_artifact`).

    The scenario's text is embedded (``scenario_text``) beside its path as written, so
    the artifact replays from any directory and after the file changed."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / artifact_name(engine, cfg, found, source)
    doc = {
        "format": ARTIFACT_FORMAT,
        "scenario": source.path,
        "scenario_text": source.read(),
        "scenario_name": engine.scenario.name,
        "policy": engine.policy.name,
        "strategy": cfg.name,
        "seed": cfg.seed,
        "execution": found.execution,
        "fingerprint": engine.fingerprint,
        "schedule": found.schedule,
        "original_schedule": found.original_schedule,
        "violation": {"invariant": found.invariant, "message": found.message},
        "trace_hash": found.trace_hash,
        "replay": replay_command(str(path)),
        "log": found.events,
    }
    atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path


def save_artifact(
    directory: Path, engine: Engine, cfg: StrategyConfig, found: Found, source: _Source
) -> None:
    """Write the finding's artifact; a full disk, a read-only file system or a permission
    denied is recorded in ``found.artifact_error`` (the finding itself is not lost: its
    schedule string replays it) instead of ending the exploration."""
    try:
        found.artifact = str(write_artifact(directory, engine, cfg, found, source))
    except OSError as exc:
        found.artifact = None
        path = directory / artifact_name(engine, cfg, found, source)
        found.artifact_error = f"{path}: {exc.strerror or exc}"
