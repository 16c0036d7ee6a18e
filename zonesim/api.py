"""zonesim's public API: what the command line, the pytest plugin and a user's script call.

    import zonesim
    report = zonesim.explore("scenarios/seed/cma-b-partial-isolation.toml", policy="v5.19",
                             strategy="dfs", executions=200)
    for found in report.violations:
        print(found.invariant, found.artifact)
    print(zonesim.replay(found.artifact).reproduced)

Every function takes paths or values, validates them and raises ``BadInput`` (or
``ScenarioError`` for a scenario file) with one line naming the argument — spelled as the
command line's option, since that is what a user types — and what was expected.
Rendering (tables, diagrams, HTML, traces) lives in ``zonesim.obs``; files the caller
asked for are written by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from zonesim import matrix as _matrix
from zonesim.artifact import Artifact, load, read_artifact
from zonesim.bisect import Bisection, NeededSwitch, VerdictChange, run_bisect
from zonesim.coverage import saturation_png
from zonesim.engine import Engine, NotApplicable, Outcome, cpu_names
from zonesim.errors import BadInput
from zonesim.explore import (
    DEFAULT_REDUCTION,
    DEFAULT_STRATEGY,
    REDUCTIONS,
    STRATEGIES,
    ExploreReport,
    StrategyConfig,
    reduction_for,
    replay_command,
    workers_used,
)
from zonesim.explore import explore as _explore
from zonesim.failures import (
    ReplayResult,
    ShrinkResult,
    observe,
    observe_with,
    replay,
    replay_observed,
    report,
    shrink,
    traced_records,
)
from zonesim.files import check_output_dir, check_output_file, write_text
from zonesim.logs import LogFile, read_log, select
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.errors import ModelFault
from zonesim.model.geometry import Geometry
from zonesim.model.snapshot import ZoneSnapshot, snapshot
from zonesim.observe import Observation, ObservingEngine
from zonesim.parallel import ClusterError, WorkerDied, cluster_from_env, default_workers
from zonesim.policy import PRESETS, SWITCHES, Policy, PolicyError, make_policy, parse_policy
from zonesim.scenario import Scenario, ScenarioError
from zonesim.scenario.limits import (
    LimitError,
    check_depth,
    check_executions,
    check_max_steps,
    check_pfn,
    check_seconds,
    check_workers,
    check_zone_size,
)
from zonesim.scenario.policyspec import parse_expectation
from zonesim.sched import Divergence, encode
from zonesim.timeline import Move

__version__ = "0.1.0"

#: strategies that decide one execution by themselves (``zonesim run --strategy``)
RUN_STRATEGIES = ("random", "pct", "pos", "dfs")

__all__ = [
    "DEFAULT_REDUCTION",
    "DEFAULT_STRATEGY",
    "REDUCTIONS",
    "RUN_STRATEGIES",
    "STRATEGIES",
    "Artifact",
    "BadInput",
    "Bisection",
    "Divergence",
    "ExploreReport",
    "LogFile",
    "ModelFault",
    "Move",
    "NeededSwitch",
    "NotApplicable",
    "PresetInfo",
    "ReplayResult",
    "RunResult",
    "ScenarioError",
    "ShrinkResult",
    "VerdictChange",
    "WorkerDied",
    "bisect",
    "check_output_dir",
    "check_output_file",
    "coverage_png",
    "cpu_names",
    "default_workers",
    "explore",
    "load",
    "matrix",
    "matrix_text",
    "observe",
    "parallel_target",
    "policies",
    "read_artifact",
    "read_log",
    "replay",
    "replay_command",
    "report",
    "resolve_policy",
    "run",
    "scenarios",
    "select",
    "show",
    "shrink",
    "traced_records",
    "verdict_matches",
    "write_text",
]

ScenarioLike = Scenario | str | os.PathLike[str]
T = TypeVar("T")
PolicyLike = Policy | str


# -- inputs -------------------------------------------------------------------------------


def resolve_policy(spec: PolicyLike = "v5.15", add: Sequence[str] = (),
                   remove: Sequence[str] = ()) -> Policy:
    """A design: a preset or a whole spec (``"v5.19 -86d28b070927"``), plus switches."""
    if isinstance(spec, Policy) and not add and not remove:
        return spec
    try:
        base = parse_policy(spec if isinstance(spec, str) else spec.name)
        return make_policy(base.preset, (*base.added, *add), (*base.removed, *remove))
    except PolicyError as exc:
        raise BadInput(f"--policy {spec if isinstance(spec, str) else spec.name!r}: {exc}") \
            from None


def _scenario(target: ScenarioLike) -> tuple[Scenario, str, str | None]:
    """(scenario, its path as written, its text)."""
    if isinstance(target, Scenario):
        return target, target.file, None
    path = os.fspath(target)
    scenario = load(path)
    try:
        text: str | None = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    return scenario, path, text


def _count(name: str, value: int | None, low: int = 1) -> None:
    if value is not None and (isinstance(value, bool) or value < low):
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise BadInput(f"{name}: expected {what}, got {value}")


def _limit(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A resource limit of ``zonesim.scenario.limits`` as bad input (one line, exit 2)."""
    try:
        return check(*args, **kwargs)
    except LimitError as exc:
        raise BadInput(str(exc)) from None


# -- one execution --------------------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    """One execution, traced. ``records``: the model's events with the observer's
    (op starts, locks, pages between buddy and pcp) merged in."""

    scenario: Scenario
    policy: Policy
    strategy: str
    seed: int | None
    schedule: str
    observation: Observation
    divergence: Divergence | None = None  # a --schedule shorter than the execution

    @property
    def outcome(self) -> Outcome:
        return self.observation.outcome

    def to_json(self) -> dict[str, Any]:
        v = self.outcome.violation
        return {
            "scenario": self.scenario.name,
            "policy": self.policy.name,
            "strategy": self.strategy,
            "seed": self.seed,
            "steps": self.outcome.steps,
            "trace_hash": self.outcome.trace_hash,
            "schedule": self.schedule,
            "divergence": None if self.divergence is None else str(self.divergence),
            "violation": None if v is None else {"invariant": v.invariant, "message": v.message},
        }


def run(target: ScenarioLike, policy: PolicyLike = "v5.15", *, strategy: str = "pct",
        seed: int = 0, schedule: str | None = None) -> RunResult:
    """One execution under a strategy (or replaying a schedule string), observed.

    A schedule is read within the execution's step bound, must carry this scenario's
    fingerprint, and is replayed as far as it applies (``zonesim.sched.replay_schedule``):
    a recorded decision that does not apply, or recorded decisions left over when the
    execution ends, are bad input; a schedule that ends before the execution does is a
    prefix (choice 0 from there on), reported in ``divergence``."""
    scenario, _, _ = _scenario(target)
    pol = resolve_policy(policy)
    engine = ObservingEngine(scenario, pol)
    divergence: Divergence | None = None
    if schedule is not None:
        obs, divergence = replay_observed(engine, schedule, "--schedule")
    else:
        if strategy not in RUN_STRATEGIES:
            raise BadInput(f"--strategy: expected one of {', '.join(RUN_STRATEGIES)}, "
                           f"got {strategy!r}")
        chosen = StrategyConfig(strategy, seed).make()
        chosen.begin_execution()
        obs = observe_with(engine, chosen, "--schedule")
    return RunResult(scenario, pol, "replay" if schedule else strategy,
                     None if schedule else seed,
                     encode(obs.outcome.choices, engine.fingerprint), obs, divergence)


# -- explore ------------------------------------------------------------------------------


def explore(
    target: Engine | ScenarioLike,
    strategy: StrategyConfig | str | None = None,
    *,
    policy: PolicyLike = "v5.15",
    seed: int = 0,
    executions: int | None = None,
    seconds: float | None = None,
    depth: int = 3,
    preemption_bound: int | None = None,
    reduction: str | None = None,
    deepen: bool | None = None,
    keep_going: bool = False,
    max_steps: int | None = None,
    shrink_attempts: int = 300,
    artifacts: Path | None = Path("logs"),
    scenario_path: str | None = None,
    progress: _matrix.ExecutionProgress | None = None,
    workers: int = 1,
    cluster: str | None = None,
    coverage: bool = False,
) -> ExploreReport:
    """Many executions of one scenario under one design; each violation found is shrunk
    and, unless ``artifacts`` is None, written there as a replayable artifact.

    ``target``: a scenario file, a ``Scenario`` or a ready ``Engine`` (then ``policy`` is
    the engine's). Defaults come from the scenario's ``[explore]`` hints: executions
    (else 1000), strategy (else dfs+feedback), preemption bound (else 2), max steps (else derived
    from the scenario's ops, at least 100000: ``zonesim.scenario.limits.step_bound``).
    ``workers`` processes (or the Dask scheduler at ``cluster``) share the work; the
    report is the same for any number (docs/cluster.md). ``coverage``: the report's
    ``coverage`` says which allocator states the executions reached (docs/coverage.md).
    ``deepen`` (dfs; default on): bounds 0, 1, ... up to the preemption bound in turn, each
    to exhaustion (the report's ``exhausted_bound`` says how far that got).

    Every count and time is checked against ``zonesim.scenario.limits`` before anything
    runs (the zone's memory once per worker), the artifacts directory too (it must take a
    new file)."""
    _limit(check_workers, workers)
    text: str | None = None
    if max_steps is not None:
        _limit(check_max_steps, max_steps)
    if executions is not None:
        _limit(check_executions, executions)
    if seconds is not None:
        _limit(check_seconds, seconds, name="--time")
    if artifacts is not None:
        check_output_dir(Path(artifacts), "--artifacts")
    if isinstance(target, Engine):
        engine = target
        path = scenario_path or engine.scenario.file
    else:
        scenario, path, text = _scenario(target)
        path = scenario_path or path
        engine = Engine(scenario, resolve_policy(policy), max_steps=max_steps or None)
    hints = engine.scenario.explore
    if isinstance(strategy, StrategyConfig):
        cfg = strategy
    else:
        name = strategy or (hints.strategy if hints.strategy in STRATEGIES
                            else DEFAULT_STRATEGY)
        if name not in STRATEGIES:
            raise BadInput(f"--strategy: expected one of {', '.join(STRATEGIES)}, got {name!r}")
        bound = preemption_bound
        if bound is None:
            bound = hints.preemption_bound if hints.preemption_bound is not None else 2
        _limit(check_depth, depth, engine.max_steps)
        _count("--preemption-bound", bound, low=0)
        searches = name in ("dfs", "dfs+feedback")
        if reduction is not None and reduction not in REDUCTIONS:
            raise BadInput(f"--reduction: expected one of {', '.join(REDUCTIONS)}, got "
                           f"{reduction!r}")
        if reduction not in (None, "none") and not searches:
            raise BadInput(f"--reduction {reduction}: expected --strategy dfs or dfs+feedback "
                           f"(it prunes the exhaustive search), got --strategy {name}")
        if reduction == "sleep" and name != "dfs":
            raise BadInput(f"--reduction sleep: expected --strategy dfs, got --strategy {name} "
                           f"(its DFS half reduces by dpor or none)")
        try:
            red = reduction_for(engine, reduction) if searches else "none"
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        if deepen and name != "dfs":
            raise BadInput(f"deepen=True: expected strategy dfs (it orders the exhaustive "
                           f"search), got {name}")
        cfg = StrategyConfig(name, seed, depth, bound, red,
                             deepen=name == "dfs" if deepen is None else deepen)
    budget = executions if executions is not None else hints.executions or 1000
    z = engine.scenario.zone
    # the scenario was checked with its own step bound; --max-steps may ask for more
    _limit(check_zone_size, z.pages, z.cpus, workers=workers_used(workers, budget, cluster),
           max_steps=engine.max_steps)
    try:
        return _explore(engine, cfg, executions=budget, seconds=seconds,
                        keep_going=keep_going, shrink_attempts=shrink_attempts,
                        artifacts=artifacts, scenario_path=path, scenario_text=text,
                        progress=progress, workers=workers, cluster=cluster,
                        coverage=coverage)
    except ClusterError as exc:
        raise BadInput(str(exc)) from None


def coverage_png(report: ExploreReport) -> bytes:
    """The saturation curve of an exploration run with ``coverage=True``, as PNG bytes."""
    cov = report.coverage
    if cov is None:
        raise BadInput("--coverage-plot: the exploration ran without coverage")
    state = "saturated" if cov.saturated else "not saturated"
    title = (f"{report.scenario}  {report.policy}  {report.strategy} seed {report.seed}: "
             f"{cov.signatures} signatures, {state}")
    return saturation_png(cov.new_per_execution, cov.per, title)


def parallel_target(workers: int | None, cluster: str | None) -> tuple[int, str | None]:
    """What ``--workers`` and ``--cluster`` mean when not given: the machine's cores, and
    ``$ZONESIM_DASK_SCHEDULER`` (docs/cluster.md)."""
    return (workers if workers is not None else default_workers(),
            cluster_from_env(cluster))


# -- matrix, show, listings ------------------------------------------------------------------


def matrix(
    scenarios: Sequence[str | os.PathLike[str]] = ("scenarios/seed",),
    policies: Sequence[PolicyLike] = (),
    *,
    executions: int | None = None,
    seconds: float = 0.0,
    seed: int = 0,
    artifacts: Path | None = Path("logs"),
    progress: _matrix.MatrixProgress | None = None,
    workers: int = 1,
    cluster: str | None = None,
) -> _matrix.Matrix:
    """Scenarios (files, or directories searched for scenario files) x designs (the
    presets plus the designs the scenarios' ``[expect]`` name, unless ``policies``)."""
    if executions is not None:
        _limit(check_executions, executions)
    _limit(check_workers, workers)
    _limit(check_seconds, seconds, name="--seconds", allow_zero=True)
    if artifacts is not None:
        check_output_dir(Path(artifacts), "--artifacts")
    cols = [resolve_policy(p) for p in policies]
    try:
        files = _matrix.find_scenarios(scenarios)
        entries = [(str(f), load(f)) for f in files]
        columns = _matrix.columns_for([s for _, s in entries], cols)
        budget = _matrix.Budget(executions, seconds, seed)
        return _matrix.run_matrix(entries, columns, budget, artifacts=artifacts,
                                  progress=progress, workers=workers, cluster=cluster)
    except _matrix.MatrixInputError as exc:
        raise BadInput(f"zonesim matrix: {exc}") from None
    except ClusterError as exc:
        raise BadInput(str(exc)) from None


def bisect(
    target: ScenarioLike,
    *,
    executions: int | None = None,
    seed: int = 0,
    artifacts: Path | None = Path("logs"),
    progress: _matrix.MatrixProgress | None = None,
    workers: int = 1,
    cluster: str | None = None,
) -> Bisection:
    """git bisect for a race: the scenario's verdict under every release of the timeline
    (``zonesim.timeline``: the states before v5.15 reachable by switches, then the release
    presets), each explored as a matrix cell explores it (``executions`` overrides the
    scenario's [explore] budget), then every change of verdict between two neighbouring
    releases bisected over the switches that differ to the commit(s) that flip it. Every
    violation found is written to ``artifacts`` as a replayable artifact. ``workers`` /
    ``cluster``: the release timeline's designs are explored side by side (the verdicts
    do not depend on them)."""
    _count("--executions", executions)
    _count("--workers", workers)
    scenario, path, _ = _scenario(target)
    try:
        return run_bisect(scenario, path, _matrix.Budget(executions, None, seed),
                          artifacts=artifacts, progress=progress, workers=workers,
                          cluster=cluster)
    except ClusterError as exc:
        raise BadInput(str(exc)) from None


def verdict_matches(expect: str, verdict: str, invariant: str | None, *,
                    where: str = "expect") -> bool:
    """Does a verdict meet an ``[expect]``-style expectation (``pass``, ``violation``,
    ``violation:I5a`` — short or full invariant name — or ``n/a``)?"""
    expected = parse_expectation(expect)
    if expected is None:
        raise BadInput(f"{where}: expect: expected pass, violation, violation:<invariant> "
                       f"or n/a, got {expect!r}")
    return _matrix.matches(expected, _matrix.Cell(verdict=verdict, invariant=invariant))


def matrix_text(result: _matrix.Matrix, *, check: bool = False) -> str:
    """The matrix as the table and reports ``zonesim matrix`` prints (deterministic)."""
    return _matrix.render_text(result, check=check)


def show(target: ScenarioLike | None = None, *, pages: int | None = None, start_pfn: int = 0,
         pageblock_order: int | None = None, max_order: int = 11, cpus: int = 2,
         policy: PolicyLike = "v5.15") -> ZoneSnapshot:
    """The zone of a scenario after its ``[[setup]]``, or a freshly booted zone of
    ``pages`` pages: a snapshot the /proc renderers of ``zonesim.obs.proc`` print.
    Raises ``ModelFault`` when the modelled kernel crashes while booting or in setup."""
    pol = resolve_policy(policy)
    if target is not None:
        zone, _ = Engine(_scenario(target)[0], pol).base_state()
        return snapshot(zone)
    if pages is None:
        raise BadInput("zonesim show: expected a SCENARIO or --pages N")
    _count("--pages", pages)
    _limit(check_pfn, start_pfn, name="--start-pfn")
    _count("--cpus", cpus)
    # show boots the zone only; the same sizes as a scenario's zone.pages are admitted
    _limit(check_zone_size, pages, cpus)
    if not 1 <= max_order <= 16:
        raise BadInput(f"--max-order: expected an integer in 1..16, got {max_order}")
    po = pageblock_order if pageblock_order is not None else min(9, max_order - 1)
    if not 0 <= po < max_order:
        raise BadInput(f"--pageblock-order: expected an integer in 0..{max_order - 1} "
                       f"(below --max-order {max_order}), got {po}")
    try:
        g = Geometry(start_pfn, pages, max_order, po, cpus)
    except ValueError as exc:  # the model's own bounds (e.g. at most 64 CPUs)
        raise BadInput(f"zonesim show: {exc}".replace("self.", "--").replace("_", "-")) \
            from None
    return snapshot(build_zone(ZoneLayout(g, flags=pol.model_flags())))


@dataclass(frozen=True, slots=True)
class PresetInfo:
    name: str
    what: str
    switches: tuple[str, ...]


def policies() -> tuple[list[PresetInfo], list[dict[str, Any]]]:
    """The presets (with their switches, sorted) and every switch of the catalogue; a
    switch that ``builds_on`` others can be off only with them."""
    presets = [PresetInfo(n, what, tuple(sorted(sw))) for n, (what, sw) in PRESETS.items()]
    switches: list[dict[str, Any]] = [
        {"id": s.id, "version": s.version, "title": s.title, "behaviour": s.behaviour,
         "builds_on": list(s.builds_on)}
        for s in SWITCHES
    ]
    return presets, switches


def scenarios(root: str | os.PathLike[str] = "scenarios") -> list[tuple[Path, Scenario]]:
    """Every scenario file under ``root`` (other TOML files, e.g. pyproject.toml, are
    skipped), loaded and validated."""
    p = Path(root)
    if not p.is_dir():
        raise BadInput(f"{p}: expected a directory of scenarios")
    try:
        files = _matrix.find_scenarios([p])
    except _matrix.MatrixInputError as exc:
        raise BadInput(str(exc)) from None
    return [(f, load(f)) for f in files]

