"""The public API's part about failure artifacts: replay, shrink, observe, report.

Re-exported by ``zonesim.api``; see there for the conventions (paths or values in, results
out, ``BadInput`` for bad input).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from zonesim.artifact import Artifact, diverged, read_artifact
from zonesim.engine import Outcome, cpu_names
from zonesim.errors import BadInput
from zonesim.explore import atomic_write_text, replay_command, shrink_outcome
from zonesim.logs import LogFile
from zonesim.obs.html import render_report
from zonesim.obs.report import preemption_lines
from zonesim.observe import NothingToObserve, Observation, ObservingEngine
from zonesim.sched import ReplayStrategy, encode, preemptions


def observe_with(engine: ObservingEngine, strategy: Any, where: str) -> Observation:
    try:
        obs = engine.observe(strategy)
    except NothingToObserve as exc:
        raise BadInput(f"{where}: nothing ran to show: {exc}") from None
    diverged(where, obs.outcome.error)
    return obs


# -- artifacts: replay, shrink, observe, report ------------------------------------------------


def _artifact(a: Artifact | str | os.PathLike[str]) -> Artifact:
    return a if isinstance(a, Artifact) else read_artifact(a)


@dataclass(slots=True)
class ReplayResult:
    artifact: Artifact
    reproduced: bool
    outcome: Outcome
    cpus: list[str]

    @property
    def invariant(self) -> str | None:
        v = self.outcome.violation
        return None if v is None else v.invariant

    @property
    def switches(self) -> list[str]:
        return preemption_lines(self.outcome.choices)

    def to_json(self) -> dict[str, Any]:
        return {
            "reproduced": self.reproduced,
            "invariant": self.invariant,
            "expected": self.artifact.invariant,
            "trace_hash": self.outcome.trace_hash,
        }


def replay(artifact: Artifact | str | os.PathLike[str]) -> ReplayResult:
    """Replay an artifact's schedule: ``reproduced`` when the same invariant fails."""
    a = _artifact(artifact)
    engine = a.engine()
    _, values = a.decoded()
    outcome = engine.run(ReplayStrategy(values), tracing=True)
    diverged(f"{a.path}: schedule", outcome.error)
    v = outcome.violation
    return ReplayResult(a, v is not None and v.invariant == a.invariant, outcome,
                        cpu_names(engine.scenario))


@dataclass(frozen=True, slots=True)
class ShrinkResult:
    artifact: Artifact
    before: tuple[int, int]  # (preemptions, decisions)
    after: tuple[int, int]
    schedule: str
    document: str  # the rewritten artifact, for the caller to write

    def to_json(self) -> dict[str, Any]:
        return {
            "before": {"preemptions": self.before[0], "decisions": self.before[1]},
            "after": {"preemptions": self.after[0], "decisions": self.after[1]},
            "schedule": self.schedule,
        }


def shrink(artifact: Artifact | str | os.PathLike[str], attempts: int = 1000, *,
           write: bool = True) -> ShrinkResult:
    """Shrink an artifact's schedule further; with ``write`` the artifact is rewritten
    atomically (same invariant, smaller schedule, new log and trace_hash)."""
    if isinstance(attempts, bool) or attempts < 1:
        raise BadInput(f"--attempts: expected a positive integer, got {attempts}")
    a = _artifact(artifact)
    engine = a.engine()
    _, values = a.decoded()
    outcome = engine.run(ReplayStrategy(values))
    diverged(f"{a.path}: schedule", outcome.error)
    if outcome.violation is None or outcome.violation.invariant != a.invariant:
        raise BadInput(f"{a.path}: schedule: expected it to reproduce {a.invariant}; it does "
                       "not (run `zonesim replay`)")
    small = shrink_outcome(engine, outcome, attempts)
    traced = engine.run(ReplayStrategy(small.choices), tracing=True)
    doc = dict(a.doc)
    doc["schedule"] = encode(traced.choices, engine.fingerprint)
    doc["trace_hash"] = traced.trace_hash
    doc["log"] = traced.events
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if write:
        atomic_write_text(a.path, text)
    return ShrinkResult(a, (preemptions(outcome.choices), len(outcome.choices)),
                        (preemptions(traced.choices), len(traced.choices)), doc["schedule"], text)


def observe(artifact: Artifact | str | os.PathLike[str]) -> Observation:
    """Replay an artifact watching everything: events, locks, ops, the zone after each
    event (what ``report`` draws and the trace exporters write)."""
    a = _artifact(artifact)
    base = a.engine()
    engine = ObservingEngine(base.scenario, base.policy)
    _, values = a.decoded()
    return observe_with(engine, ReplayStrategy(values), f"{a.path}: schedule")


def traced_records(log: LogFile) -> tuple[list[dict[str, Any]], str | None]:
    """Every record of a log for the trace exporters, and the violation if known: an
    artifact is replayed with observation (its stored log has the model's events only);
    a JSON-lines log is what it is."""
    if log.artifact is None:
        return log.records, None
    obs = observe(log.artifact)
    v = obs.outcome.violation
    return obs.records, None if v is None else v.invariant


def report(artifact: Artifact | str | os.PathLike[str]) -> str:
    """One self-contained HTML page (no network): the CPU columns, a step slider and the
    zone map at each step, with the invariant, the design, the switches and the replay
    command."""
    a = _artifact(artifact)
    obs = observe(a)
    v = obs.outcome.violation
    return render_report(
        cpus=obs.cpus,
        shape=obs.shape,
        records=obs.records,
        states=obs.states,
        state_of=obs.state_of,
        initial=obs.initial,
        final=obs.final,
        title=f"{a.doc.get('scenario_name', a.scenario_path)} x {a.policy_spec}",
        meta={
            "scenario": a.scenario_path,
            "policy": a.policy_spec,
            "strategy": a.doc.get("strategy"),
            "seed": a.doc.get("seed"),
            "schedule": a.schedule,
            "replay": replay_command(str(a.path)),
            "invariant": v.invariant if v else a.invariant,
            "message": v.message if v else a.message,
            "reproduced": v is not None and v.invariant == a.invariant,
        },
        highlight_pfn=None if v is None else v.pfn,
        switches=preemption_lines(obs.outcome.choices),
    )
