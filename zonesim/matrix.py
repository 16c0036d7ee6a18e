"""Scenarios × policies: one verdict per cell, checked against each scenario's ``[expect]``
(DESIGN.md §6, §8). The engine layer of ``zonesim matrix``; the command line is in cli.py.

A cell is one scenario under one policy, explored with a fixed budget:

1. a bounded DFS (preemption bound from the scenario's ``[explore]``, else 2) with up to
   half of the cell's executions and half of its seconds cap: a violation ends the cell;
   a DFS that exhausts its bounded space proves the cell passes (for that bound);
2. otherwise the sampler of ``zonesim explore`` (``SAMPLER``, seeded) with whatever is
   left of the budget (docs/performance.md, "Strategies": why that one).

The budget is counted in executions so that the same arguments give the same matrix on
every machine; the seconds cap is a safety net only, and a cell it ends is marked
``time_capped`` (its execution count then depends on the machine's speed).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from zonesim.engine import Engine, NotApplicable, cpu_names
from zonesim.explore import (
    Found,
    StrategyConfig,
    _Source,
    explore,
    replay_command,
    save_artifact,
)
from zonesim.model.errors import ModelFault
from zonesim.obs.report import cpu_columns
from zonesim.parallel import open_backend
from zonesim.policy import PRESETS, Policy, PolicyError, make_policy
from zonesim.scenario import Expectation, Scenario
from zonesim.scenario.realism import unrealistic_notes

DEFAULT_EXECUTIONS = 2000  # per cell, unless the scenario's [explore] says otherwise
DEFAULT_SECONDS = 0.0  # per cell safety cap; 0 = none (the default: reproducible tables)
DEFAULT_BOUND = 2  # dfs preemption bound, unless the scenario's [explore] says otherwise
#: what runs when the bounded DFS neither fails nor exhausts: the feedback sampler (the
#: sampler half of ``explore``'s default, dfs+feedback, whose DFS half is the phase before)
SAMPLER = "feedback"
DEFAULT_MAX_STEPS = 100_000  # the least step bound (scenario.limits.step_bound)


class MatrixInputError(ValueError):
    """Bad matrix input (no scenarios, an [expect] key that names no design, ...)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """What one cell may spend. ``executions`` None: the scenario's ``[explore] executions``
    or :data:`DEFAULT_EXECUTIONS`. ``seconds`` is a safety cap (None or 0: no cap)."""

    executions: int | None = None
    seconds: float | None = DEFAULT_SECONDS
    seed: int = 0

    def executions_for(self, scenario: Scenario) -> int:
        return self.executions or scenario.explore.executions or DEFAULT_EXECUTIONS


@dataclass(frozen=True, slots=True)
class Column:
    """One policy column. ``extra``: a preset with switches that only some scenarios'
    ``[expect]`` name; it is run for those scenarios only (the others show ``-``)."""

    policy: Policy
    extra: bool = False

    @property
    def name(self) -> str:
        return self.policy.name


@dataclass(slots=True)
class Cell:
    """One scenario under one policy. ``verdict`` None: not run (an extra column the
    scenario does not name)."""

    verdict: str | None = None  # "pass" | "violation" | "n/a"
    invariant: str | None = None
    executions: int | None = None  # to the first failure, or all of them when passing
    expected: Expectation | None = None
    matches: bool | None = None
    strategy: str | None = None  # "dfs" or "dfs+<SAMPLER>"
    exhaustive: bool = False  # the bounded dfs explored every schedule
    preemption_bound: int | None = None
    time_capped: bool = False  # the seconds cap, not the execution budget, ended it
    message: str | None = None  # the violation's, or why the design does not apply
    found: Found | None = None
    seconds: float = 0.0  # wall-clock time: the one field that differs between runs
    interrupted: bool = False  # Ctrl-C came right after the finding that ends the cell

    def to_json(self) -> dict[str, Any]:
        f = self.found
        return {
            "verdict": self.verdict,
            "invariant": self.invariant,
            "executions": self.executions,
            "expected": None if self.expected is None else str(self.expected),
            "matches": self.matches,
            "strategy": self.strategy,
            "exhaustive": self.exhaustive,
            "preemption_bound": self.preemption_bound,
            "time_capped": self.time_capped,
            "message": self.message,
            "schedule": None if f is None else f.schedule,
            "preemptions": None if f is None else f.preemptions,
            "artifact": None if f is None else f.artifact,
            "replay": None if f is None or f.artifact is None else replay_command(f.artifact),
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class Row:
    scenario: Scenario
    path: str  # as found (what the artifacts' replay command loads)
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass(slots=True)
class Matrix:
    columns: list[Column]
    rows: list[Row]
    budget: Budget
    interrupted: bool = False  # Ctrl-C: the cells not finished are empty

    def mismatches(self) -> list[tuple[Row, str, Cell]]:
        return [
            (row, col.name, row.cells[col.name])
            for row in self.rows
            for col in self.columns
            if row.cells[col.name].matches is False
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "policies": [c.name for c in self.columns],
            "rows": [
                {
                    "scenario": row.scenario.name,
                    "file": row.path,
                    "cells": {c.name: row.cells[c.name].to_json() for c in self.columns},
                    "unrealistic": unrealistic_notes(row.scenario),
                }
                for row in self.rows
            ],
            "budget": {
                "executions": self.budget.executions,
                "seconds": self.budget.seconds or None,
                "seed": self.budget.seed,
            },
            "mismatches": len(self.mismatches()),
        } | ({"interrupted": True} if self.interrupted else {})


# -- scenarios and columns -------------------------------------------------------------


def is_scenario_file(path: Path) -> bool:
    """A ``*.toml`` file is a scenario when it has a ``[scenario]`` table; one that is not
    TOML at all may be a broken scenario, so it is kept (its load names the error), while
    other TOML files (``pyproject.toml``, tool configs) are not scenarios."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    return "scenario" in doc


def find_scenarios(args: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; directories searched recursively for scenario files (``*.toml``
    with a ``[scenario]`` table), sorted. A file named twice is run once."""
    out: list[Path] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = [f for f in sorted(p.rglob("*.toml")) if is_scenario_file(f)]
            if not found:
                raise MatrixInputError(f"{p}: expected a directory with *.toml scenarios")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise MatrixInputError(f"{p}: no such scenario file or directory")
    seen: set[Path] = set()
    unique: list[Path] = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def expectations(scenario: Scenario) -> dict[str, Expectation]:
    """``[expect]`` by canonical policy name (``Policy.name``).

    ``Scenario.expectation_for`` compares ``PolicySpec`` values as written, so
    ``"v5.15 +<a switch v5.15 has>"`` would not find the ``v5.15`` column, and a ``Policy``
    passed in by mistake would never match anything; the matrix looks designs up by what
    they are instead."""
    out: dict[str, Expectation] = {}
    where = scenario.file or scenario.name
    for entry in scenario.expect:
        spec = entry.policy
        try:
            name = make_policy(spec.preset, spec.add, spec.remove).name
        except PolicyError as exc:
            raise MatrixInputError(f'{where}: expect."{spec}": {exc}') from None
        if name in out and out[name] != entry.expectation:
            raise MatrixInputError(
                f'{where}: expect."{spec}": the same design as {name!r}, expected '
                f"{out[name]} there and {entry.expectation} here"
            )
        out[name] = entry.expectation
    return out


def columns_for(scenarios: Iterable[Scenario], policies: Sequence[Policy] | None) -> list[Column]:
    """Named policies (in that order), or every preset plus the extra designs that
    scenarios' ``[expect]`` name (presets with switches added or removed), in order of
    first appearance."""
    if policies:
        cols: dict[str, Column] = {}
        for p in policies:
            cols.setdefault(p.name, Column(p))
        return list(cols.values())
    cols = {name: Column(make_policy(name)) for name in PRESETS}
    for s in scenarios:
        for entry in s.expect:
            spec = entry.policy
            try:
                p = make_policy(spec.preset, spec.add, spec.remove)
            except PolicyError as exc:
                raise MatrixInputError(f'{s.file or s.name}: expect."{spec}": {exc}') from None
            cols.setdefault(p.name, Column(p, extra=True))
    return list(cols.values())


# -- one cell ----------------------------------------------------------------------------


def matches(expected: Expectation, cell: Cell) -> bool:
    """``pass``/``n/a`` exactly; ``violation`` any invariant; ``violation:<inv>`` that
    invariant, by its full name or its short name (``I5a`` for
    ``I5a_isolated_not_allocatable``)."""
    if expected.kind != cell.verdict:
        return False
    if expected.kind == "violation" and expected.invariant is not None:
        inv = cell.invariant or ""
        return inv == expected.invariant or short_invariant(inv) == expected.invariant
    return True


_SHORT = re.compile(r"(I\d+[a-z]?)_")


def short_invariant(name: str) -> str:
    """``I5a_isolated_not_allocatable`` -> ``I5a``; other names unchanged."""
    m = _SHORT.match(name)
    return m.group(1) if m else name


def run_cell(
    scenario: Scenario,
    path: str,
    policy: Policy,
    budget: Budget,
    *,
    artifacts: Path | None,
    progress: ExecutionProgress | None = None,
) -> Cell:
    """Explore one cell (see the module docstring for the budget). ``progress`` hears
    (executions so far, the cell's budget, violations) as the cell runs."""
    started = time.monotonic()
    bound = scenario.explore.preemption_bound
    bound = DEFAULT_BOUND if bound is None else bound
    cell = Cell(preemption_bound=bound, strategy="dfs")
    total = budget.executions_for(scenario)
    cap = budget.seconds or None
    try:
        # The scenario's own step bound ([explore] max_steps, else derived from its ops):
        # a long legal loop is not a livelock.
        engine = Engine(scenario, policy)
        # NotApplicable surfaces here; a crash at boot or setup (ModelFault) is reported
        # by every run as the cell's violation.
        with contextlib.suppress(ModelFault):
            engine.base_state()
        dfs_limit = max(1, total // 2)
        dfs = explore(
            engine,
            StrategyConfig("dfs", budget.seed, preemption_bound=bound),
            executions=dfs_limit,
            seconds=None if cap is None else cap / 2,
            artifacts=artifacts,
            scenario_path=path,
            progress=None if progress is None else _offset(progress, 0, total),
        )
        if dfs.interrupted and not dfs.violations:
            raise KeyboardInterrupt  # the cell has no verdict: run_matrix leaves it empty
        cell.exhaustive = bool(dfs.exhausted) and not dfs.violations
        cell.executions = dfs.executions
        cell.interrupted = dfs.interrupted
        found = dfs.violations[0] if dfs.violations else None
        if found is None and not dfs.exhausted:
            cell.time_capped = dfs.executions < dfs_limit
            left = total - dfs.executions
            left_s = None if cap is None else cap - (time.monotonic() - started)
            if left > 0 and (left_s is None or left_s > 0):
                cell.strategy = f"dfs+{SAMPLER}"
                pct = explore(
                    engine,
                    StrategyConfig(SAMPLER, budget.seed),
                    executions=left,
                    seconds=left_s,
                    artifacts=artifacts,
                    scenario_path=path,
                    progress=None if progress is None
                    else _offset(progress, dfs.executions, total),
                )
                if pct.interrupted and not pct.violations:
                    raise KeyboardInterrupt
                cell.interrupted = pct.interrupted
                if pct.violations:
                    found = pct.violations[0]
                    cell.executions = dfs.executions + found.execution
                else:
                    cell.executions = dfs.executions + pct.executions
                    cell.time_capped = cell.time_capped or pct.executions < left
            elif left > 0:
                cell.time_capped = True
        elif found is not None:
            cell.executions = found.execution
    except NotApplicable as exc:
        cell = Cell(verdict="n/a", message=str(exc))
        cell.seconds = time.monotonic() - started
        return cell
    if found is not None:
        cell.verdict = "violation"
        cell.invariant = found.invariant
        cell.message = found.message
        cell.found = found
    else:
        cell.verdict = "pass"
    cell.seconds = time.monotonic() - started
    return cell


ExecutionProgress = Callable[[int, int, int], None]  # (executions, budget, violations)


def _offset(progress: ExecutionProgress, done: int, total: int) -> ExecutionProgress:
    """The sampler phase continues the DFS phase's count against the cell's whole budget."""

    def report(n: int, _budget: int, violations: int) -> None:
        progress(done + n, total, violations)

    return report


class MatrixProgress(Protocol):
    """What a progress display hears: each cell as it starts, then its executions."""

    def cell(self, n: int, total: int, scenario: str, policy: str) -> None: ...

    def executions(self, done: int, budget: int, violations: int) -> None: ...


@runtime_checkable
class RunningCells(Protocol):
    """Optional for a display: cells that run elsewhere (worker processes) report only
    when they end, so the coordinator also says, every turn, which are running -- a display
    that has ``running`` can show a heartbeat while a long cell is silent."""

    def running(self, done: int, total: int, cells: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class CellJob:
    """One cell as a work unit: what a worker process (or a Dask worker) needs to run it.
    The worker writes no artifact; the coordinator does, on its own disk."""

    scenario: Scenario
    path: str
    policy: Policy
    budget: Budget


def run_cell_job(job: CellJob, progress: ExecutionProgress | None = None) -> Cell:
    return run_cell(job.scenario, job.path, job.policy, job.budget, artifacts=None,
                    progress=progress)


def run_matrix(
    entries: Sequence[tuple[str, Scenario]],
    columns: Sequence[Column],
    budget: Budget,
    *,
    artifacts: Path | None = Path("logs"),
    progress: MatrixProgress | None = None,
    workers: int = 1,
    cluster: str | None = None,
) -> Matrix:
    """Every scenario (``(path, scenario)`` pairs) under every column, one cell per work
    unit on ``workers`` processes (or the Dask scheduler at ``cluster``). A cell's result
    does not depend on where it ran. Ctrl-C stops every worker; the cells not finished
    stay empty and ``Matrix.interrupted`` is set."""
    matrix = Matrix(list(columns), [], budget)
    plan: list[tuple[Row, Column, Expectation | None]] = []
    for path, scenario in entries:
        row = Row(scenario, path)
        matrix.rows.append(row)
        wanted = expectations(scenario)
        for col in columns:
            expected = wanted.get(col.name)
            row.cells[col.name] = Cell()
            if not col.extra or expected is not None:
                plan.append((row, col, expected))
    # Largest budgets first: the long cells start early and the short ones fill the gaps.
    order = sorted(range(len(plan)),
                   key=lambda i: -budget.executions_for(plan[i][0].scenario))
    backend = open_backend(min(workers, len(plan)) if not cluster else 1, cluster)
    flight: dict[int, int] = {}
    n = done = 0
    try:
        while order or flight:
            while order and len(flight) < 2 * backend.slots:
                i = order.pop(0)
                row, col, _ = plan[i]
                n += 1
                if progress is not None and backend.local:
                    progress.cell(n, len(plan), row.scenario.name, col.name)
                job = CellJob(row.scenario, row.path, col.policy, budget)
                if backend.local and progress is not None:
                    # in this process the cell's executions reach the display too
                    fn: Callable[[CellJob], Cell] = partial(
                        run_cell_job, progress=progress.executions)
                else:
                    fn = run_cell_job
                flight[backend.submit(fn, job)] = i
            if isinstance(progress, RunningCells) and not backend.local:
                progress.running(done, len(plan), [
                    f"{plan[i][0].scenario.name} x {plan[i][1].name}" for i in flight.values()])
            for t, cell in backend.wait(0.2):
                row, col, expected = plan[flight.pop(t)]
                _finish_cell(cell, row, col, expected, budget, artifacts)
                if cell.interrupted:
                    # Ctrl-C right after the finding that ends this cell (inline): its
                    # verdict stands, nothing else runs
                    raise KeyboardInterrupt
                done += 1
                if progress is not None and not backend.local:
                    # cells run elsewhere: the display hears each one as it ends
                    progress.cell(done, len(plan), row.scenario.name, col.name)
                    total = budget.executions_for(row.scenario)
                    progress.executions(cell.executions or 0, total,
                                        int(cell.verdict == "violation"))
    except KeyboardInterrupt:
        matrix.interrupted = True
    finally:
        backend.close()
    return matrix


def _finish_cell(cell: Cell, row: Row, col: Column, expected: Expectation | None,
                 budget: Budget, artifacts: Path | None) -> None:
    cell.expected = expected
    cell.matches = None if expected is None else matches(expected, cell)
    row.cells[col.name] = cell
    f = cell.found
    if f is not None and artifacts is not None:
        engine = Engine(row.scenario, col.policy)  # the scenario's own step bound
        cfg = StrategyConfig("dfs" if cell.strategy == "dfs" else SAMPLER, budget.seed,
                             preemption_bound=cell.preemption_bound or 0)
        source = _Source(row.path or row.scenario.file, None)
        save_artifact(artifacts, engine, cfg, f, source)  # a failed write: f.artifact_error


# -- text --------------------------------------------------------------------------------


def cell_text(cell: Cell, check: bool) -> str:
    if cell.verdict is None:
        return "-"
    if cell.verdict == "n/a":
        text = "n/a"
    elif cell.verdict == "violation":
        text = f"violation {short_invariant(cell.invariant or '?')} ({cell.executions})"
    elif cell.exhaustive:
        text = f"pass (exh. {cell.executions}, b{cell.preemption_bound})"
    else:
        text = f"pass ({cell.executions})"
    if cell.time_capped:
        text += " ~"
    if check and cell.matches is False:
        text += " !"
    return text


def _expected_text(cell: Cell) -> str:
    return str(cell.expected) if cell.expected is not None else "nothing"


def _got_text(cell: Cell) -> str:
    if cell.verdict == "violation":
        return f"violation:{cell.invariant}"
    return str(cell.verdict)


def render_text(matrix: Matrix, *, check: bool = False) -> str:
    """The table, its legend, then mismatches (with ``check``), n/a reasons and every
    violation with its CPU-column diagram and replay command. Deterministic: no timings."""
    b = matrix.budget
    execs = f"{b.executions} executions" if b.executions else (
        f"{DEFAULT_EXECUTIONS} executions (or the scenario's [explore] executions)"
    )
    cap = f"{b.seconds:g} s cap" if b.seconds else "no time cap"
    out = [
        f"zonesim matrix: {len(matrix.rows)} scenario(s) x {len(matrix.columns)} "
        f"policy(ies); per cell {execs}, {cap}; dfs first, then {SAMPLER} seed {b.seed}",
        "",
    ]
    head = ["scenario", *(c.name for c in matrix.columns)]
    table = [head] + [
        [
            row.scenario.name + (" *" if unrealistic_notes(row.scenario) else ""),
            *(cell_text(row.cells[c.name], check) for c in matrix.columns),
        ]
        for row in matrix.rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

    out.append(line(head))
    out.append(line(["-" * w for w in widths]))
    out += [line(r) for r in table[1:]]
    out += [
        "",
        "  (N)         executions to the first failure, or all executions when passing",
        "  exh. N, bK  the bounded DFS explored all N schedules with <= K preemptions",
        "  n/a         the modelled kernel refuses the scenario (reason below)",
        "  -           not run: a design only other scenarios' [expect] name",
        "  ~           ended by the seconds cap: the count depends on the machine",
    ]
    if any(unrealistic_notes(row.scenario) for row in matrix.rows):
        out.append("  *           the scenario places a shape no real caller produces (below)")
    if check:
        out.append("  !           differs from the scenario's [expect]")
    mism = matrix.mismatches()
    if check:
        out += ["", f"Expectations: {len(mism)} mismatch(es)"]
        for row, name, cell in mism:
            out.append(
                f"  {row.scenario.name} x {name}: expected {_expected_text(cell)}, "
                f"got {_got_text(cell)}"
            )
    unreal = [(row, note) for row in matrix.rows for note in unrealistic_notes(row.scenario)]
    if unreal:
        out += ["", "Unrealistic on purpose (the scenario says why):"]
        out += [f"  {row.scenario.name} {n['op']}: {n['why']}" for row, n in unreal]
    na = [
        (row, c.name, row.cells[c.name])
        for row in matrix.rows
        for c in matrix.columns
        if row.cells[c.name].verdict == "n/a"
    ]
    if na:
        out += ["", "Not applicable:"]
        out += [f"  {row.scenario.name} x {name}: {cell.message}" for row, name, cell in na]
    for row in matrix.rows:
        for c in matrix.columns:
            cell = row.cells[c.name]
            if cell.found is not None:
                out += ["", *violation_text(row, c.name, cell)]
    return "\n".join(out) + "\n"


def violation_text(row: Row, policy: str, cell: Cell) -> list[str]:
    f = cell.found
    assert f is not None
    how = (
        f"dfs (preemption bound {cell.preemption_bound})"
        if cell.strategy == "dfs"
        else f"dfs (bound {cell.preemption_bound}), then {SAMPLER}"
    )
    out = [
        f"=== {row.scenario.name} x {policy}: VIOLATION {f.invariant}",
        f"  {f.message}",
        f"  found by {how} after {cell.executions} execution(s); shrunk to "
        f"{f.preemptions} preemption(s), {f.decisions} decision(s)",
        *(f"  {line}" for line in f.switches),
        "",
    ]
    out += ["  " + s for s in cpu_columns(f.events, cpu_names(row.scenario))]
    out += [
        "",
        f"  replay: {replay_command(f.artifact) if f.artifact else '(no artifact written)'}",
    ]
    return out
