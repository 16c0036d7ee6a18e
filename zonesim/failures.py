"""The public API's part about failure artifacts: replay, shrink, observe, report.

Re-exported by ``zonesim.api``; see there for the conventions (paths or values in, results
out, ``BadInput`` for bad input).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zonesim.artifact import (
    Artifact,
    diverged,
    not_followed,
    read_artifact,
    read_schedule,
)
from zonesim.engine import Outcome, cpu_names
from zonesim.errors import BadInput
from zonesim.explore import replay_command, shrink_outcome
from zonesim.files import write_text as atomic_write_text
from zonesim.logs import LogFile
from zonesim.obs.html import render_report
from zonesim.obs.report import preemption_lines
from zonesim.observe import NothingToObserve, Observation, ObservingEngine
from zonesim.scenario.limits import LimitError, check_attempts
from zonesim.sched import (
    Choice,
    Divergence,
    ReplayStrategy,
    Schedule,
    encode,
    preemptions,
    replay_schedule,
)


def observe_with(engine: ObservingEngine, strategy: Any, where: str) -> Observation:
    try:
        obs = engine.observe(strategy)
    except NothingToObserve as exc:
        raise BadInput(f"{where}: nothing ran to show: {exc}") from None
    diverged(where, obs.outcome.error)
    return obs


@dataclass(frozen=True, slots=True)
class _Observed:
    """An observation as ``replay_schedule`` sees a run: something with ``choices``."""

    observation: Observation

    @property
    def choices(self) -> Sequence[Choice]:
        return self.observation.outcome.choices


def replay_observed(
    engine: ObservingEngine, schedule: str | Schedule, where: str
) -> tuple[Observation, Divergence | None]:
    """Replay a schedule string on ``engine``, observed: read within the step bound,
    fingerprint checked, followed as far as it applies. A schedule this scenario does not
    follow (a decision that does not apply, trailing decisions) is bad input; a shorter
    one is a prefix and comes back as the divergence."""
    sched = schedule if isinstance(schedule, Schedule) else read_schedule(
        schedule, engine, where)
    ran, divergence = replay_schedule(
        sched, lambda strategy: _Observed(observe_with(engine, strategy, where)))
    not_followed(where, divergence)
    return ran.observation, divergence


# -- artifacts: replay, shrink, observe, report ------------------------------------------------


def _artifact(a: Artifact | str | os.PathLike[str]) -> Artifact:
    return a if isinstance(a, Artifact) else read_artifact(a)


@dataclass(slots=True)
class ReplayResult:
    """An artifact replayed and verified. ``differs``: what did not come out as recorded,
    among ``invariant`` (another one, or none, failed) and ``trace_hash`` (the same
    invariant, but the execution took other decisions or saw other states); empty when
    reproduced. A damaged artifact (schedule, fingerprint) is ``BadInput`` instead."""

    artifact: Artifact
    outcome: Outcome
    cpus: list[str]
    differs: tuple[str, ...] = ()
    divergence: Divergence | None = None

    @property
    def reproduced(self) -> bool:
        return not self.differs

    @property
    def invariant(self) -> str | None:
        v = self.outcome.violation
        return None if v is None else v.invariant

    @property
    def switches(self) -> list[str]:
        return preemption_lines(self.outcome.choices)

    def explain(self) -> str:
        """One line: what was reproduced, or what differs (expected vs got)."""
        a = self.artifact
        if self.reproduced:
            return f"reproduced {a.invariant}; trace_hash {self.outcome.trace_hash}"
        parts = []
        if "invariant" in self.differs:
            parts.append(f"invariant differs: expected {a.invariant}, got "
                         f"{self.invariant or 'no violation'}")
        if "trace_hash" in self.differs:
            parts.append(f"trace_hash differs: expected {a.trace_hash}, got "
                         f"{self.outcome.trace_hash}")
        return "NOT reproduced: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "reproduced": self.reproduced,
            "invariant": self.invariant,
            "expected": self.artifact.invariant,
            "trace_hash": self.outcome.trace_hash,
            "expected_trace_hash": self.artifact.trace_hash,
            "differs": list(self.differs),
            "divergence": None if self.divergence is None else str(self.divergence),
        }


def _verify(a: Artifact, outcome: Outcome) -> tuple[str, ...]:
    v = outcome.violation
    differs = []
    if v is None or v.invariant != a.invariant:
        differs.append("invariant")
    if a.trace_hash is not None and outcome.trace_hash != a.trace_hash:
        differs.append("trace_hash")
    return tuple(differs)


def replay(artifact: Artifact | str | os.PathLike[str]) -> ReplayResult:
    """Replay an artifact's schedule and verify it: ``reproduced`` when the same invariant
    fails with the recorded ``trace_hash``. A schedule that does not carry the fingerprint
    of the artifact's scenario + policy + model, or that its scenario does not follow, is
    a damaged artifact (``BadInput``)."""
    a = _artifact(artifact)
    engine, sched = a.load()
    where = f"{a.path}: schedule"
    outcome, divergence = replay_schedule(
        sched, lambda strategy: engine.run(strategy, tracing=True))
    diverged(where, outcome.error)
    not_followed(where, divergence)
    return ReplayResult(a, outcome, cpu_names(engine.scenario), _verify(a, outcome),
                        divergence)


@dataclass(frozen=True, slots=True)
class ShrinkResult:
    """``changed`` False: the schedule was already minimal (or the artifact did not
    reproduce: see ``replay``), nothing to rewrite and ``document`` is None."""

    artifact: Artifact
    replay: ReplayResult
    before: tuple[int, int]  # (preemptions, decisions)
    after: tuple[int, int]
    schedule: str
    document: str | None  # the rewritten artifact, for the caller to write

    @property
    def changed(self) -> bool:
        return self.document is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "reproduced": self.replay.reproduced,
            "changed": self.changed,
            "before": {"preemptions": self.before[0], "decisions": self.before[1]},
            "after": {"preemptions": self.after[0], "decisions": self.after[1]},
            "schedule": self.schedule,
        }


def shrink(artifact: Artifact | str | os.PathLike[str], attempts: int = 1000, *,
           write: bool = True) -> ShrinkResult:
    """Verify an artifact (as ``replay``) and shrink its schedule further; with ``write``
    a changed artifact is rewritten atomically (same invariant, smaller schedule, new log
    and trace_hash). Bounded by ``attempts`` replays and the steps budget of
    ``explore.shrink_outcome``."""
    try:
        check_attempts(attempts)
    except LimitError as exc:
        raise BadInput(str(exc)) from None
    a = _artifact(artifact)
    verified = replay(a)
    outcome = verified.outcome
    size = (preemptions(outcome.choices), len(outcome.choices))
    if not verified.reproduced:
        return ShrinkResult(a, verified, size, size, a.schedule, None)
    engine = a.engine()
    small = shrink_outcome(engine, outcome, attempts)
    traced = engine.run(ReplayStrategy(small.choices), tracing=True)
    schedule = encode(traced.choices, engine.fingerprint)
    after = (preemptions(traced.choices), len(traced.choices))
    if schedule == a.schedule.strip():
        return ShrinkResult(a, verified, size, after, schedule, None)
    doc = dict(a.doc)
    doc["schedule"] = schedule
    doc["fingerprint"] = engine.fingerprint
    doc["trace_hash"] = traced.trace_hash
    doc["log"] = traced.events
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if write:
        atomic_write_text(a.path, text)
    return ShrinkResult(a, verified, size, after, schedule, text)


def observe(artifact: Artifact | str | os.PathLike[str]) -> Observation:
    """Replay an artifact watching everything: events, locks, ops, the zone after each
    event (what ``report`` draws and the trace exporters write)."""
    a = _artifact(artifact)
    base, sched = a.load()
    engine = ObservingEngine(base.scenario, base.policy)
    return replay_observed(engine, sched, f"{a.path}: schedule")[0]


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
