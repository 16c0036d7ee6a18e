"""Failure artifacts (DESIGN.md §7): reading and validating what ``explore`` wrote.

An artifact embeds the scenario's text beside its path as written, so it replays from any
directory and after the file was edited; artifacts written before the text was embedded
fall back to loading the path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zonesim.engine import Engine
from zonesim.errors import BadInput
from zonesim.explore import ARTIFACT_FORMAT
from zonesim.files import read_text
from zonesim.policy import Policy, PolicyError, make_policy, parse_policy
from zonesim.scenario import PolicySpec, Scenario, load_scenario, parse_scenario
from zonesim.sched import (
    Divergence,
    FingerprintMismatch,
    ReplayMismatch,
    Schedule,
    ScheduleFormatError,
    check_fingerprint,
    decode,
    parse_schedule,
)

# key -> type every artifact must carry
_REQUIRED: tuple[tuple[str, type], ...] = (
    ("scenario", str),
    ("policy", str),
    ("schedule", str),
    ("strategy", str),
    ("seed", int),
    ("violation", dict),
)


def known_policy(spec: PolicySpec) -> str | None:
    """The scenario reader's check of ``[expect]`` keys: why a design is unknown, or None."""
    try:
        make_policy(spec.preset, spec.add, spec.remove)
    except PolicyError as exc:
        return str(exc)
    return None


def load(path: str | Path) -> Scenario:
    """A scenario file, with its ``[expect]`` designs checked against the registry."""
    return load_scenario(path, known_policies=known_policy)


@dataclass(frozen=True, slots=True)
class Artifact:
    """One artifact file, validated. ``doc`` is the whole JSON document."""

    path: Path
    doc: dict[str, Any]

    @property
    def scenario_path(self) -> str:
        return str(self.doc["scenario"])

    @property
    def policy_spec(self) -> str:
        return str(self.doc["policy"])

    @property
    def schedule(self) -> str:
        return str(self.doc["schedule"])

    @property
    def invariant(self) -> str:
        return str(self.doc["violation"]["invariant"])

    @property
    def message(self) -> str:
        return str(self.doc["violation"].get("message", ""))

    @property
    def log(self) -> list[dict[str, Any]]:
        log = self.doc.get("log", [])
        return [r for r in log if isinstance(r, dict)] if isinstance(log, list) else []

    def scenario(self) -> Scenario:
        """The embedded scenario text (named by its path as written), else the file."""
        text = self.doc.get("scenario_text")
        if isinstance(text, str):
            return parse_scenario(text, self.scenario_path, known_policy)
        return load(self.scenario_path)

    def policy(self) -> Policy:
        try:
            return parse_policy(self.policy_spec)
        except PolicyError as exc:
            raise BadInput(f"{self.path}: policy: {exc}") from None

    @property
    def trace_hash(self) -> str | None:
        """The recorded execution's trace_hash (None in artifacts that predate it)."""
        h = self.doc.get("trace_hash")
        return h if isinstance(h, str) else None

    def engine(self) -> Engine:
        """The engine the artifact was written by; its schedule's fingerprint must match."""
        return self.load()[0]

    def load(self) -> tuple[Engine, Schedule]:
        """The engine and the parsed schedule, checked against each other: the schedule is
        read within the engine's step bound and must carry the fingerprint of this
        scenario's behaviour, policy and model (``zonesim.sched.check_fingerprint``)."""
        engine = Engine(self.scenario(), self.policy())
        return engine, read_schedule(self.schedule, engine, f"{self.path}: schedule")


def read_schedule(text: str, engine: Engine, where: str) -> Schedule:
    """A schedule string for ``engine``: at most one decision per step of its step bound
    (counted before anything is expanded), and its fingerprint (zs2: the behaviour
    fingerprint; zs1: the legacy one) must be the engine's. One-line ``BadInput`` else."""
    try:
        schedule = parse_schedule(text, max_decisions=engine.max_steps)
        check_fingerprint(
            schedule, {"zs2": engine.fingerprint, "zs1": engine.legacy_fingerprint}
        )
    except (ScheduleFormatError, FingerprintMismatch) as exc:
        raise BadInput(f"{where}: {exc}") from None
    return schedule


def decode_schedule(schedule: str, where: str) -> tuple[str, list[str | int]]:
    try:
        return decode(schedule)
    except ScheduleFormatError as exc:
        raise BadInput(f"{where}: {exc}") from None


def diverged(where: str, error: Exception | None) -> None:
    """A schedule that does not fit the scenario is bad input, not a violation."""
    if isinstance(error, ReplayMismatch):
        raise BadInput(f"{where}: expected a schedule this scenario follows; {error}")


def not_followed(where: str, divergence: Divergence | None) -> None:
    """A recorded decision that did not apply, or recorded decisions the execution never
    reached (trailing steps), with a matching fingerprint: the schedule is not one this
    scenario follows (an edited or damaged string). A schedule that ends before the
    execution does is a prefix, not an error: choice 0 from there on."""
    if divergence is not None and divergence.expected is not None:
        raise BadInput(f"{where}: expected a schedule this scenario follows; {divergence}")


def looks_like_artifact(text: str) -> bool:
    """An artifact is one JSON object with a ``format`` key near its start; a JSON-lines
    log is one object per line."""
    head = text.lstrip()[:400]
    return head.startswith("{") and '"format"' in head and "\n" in text.strip()


def read_artifact(path: str | os.PathLike[str]) -> Artifact:
    p = Path(path)
    text = read_text(p, "artifact")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{p}: expected a JSON artifact, got invalid JSON at line "
            f"{exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadInput(f"{p}: expected a JSON artifact, got JSON nested too deeply") from None
    return validate(p, doc)


def validate(p: Path, doc: Any) -> Artifact:
    if not isinstance(doc, dict):
        raise BadInput(f"{p}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != ARTIFACT_FORMAT:
        raise BadInput(f"{p}: format: expected {ARTIFACT_FORMAT!r}, got {doc.get('format')!r}")
    for key, typ in _REQUIRED:
        if not isinstance(doc.get(key), typ):
            raise BadInput(f"{p}: {key}: expected a {typ.__name__}, got {doc.get(key)!r}")
    if not isinstance(doc["violation"].get("invariant"), str):
        raise BadInput(f"{p}: violation.invariant: expected a string")
    text = doc.get("scenario_text")
    if text is not None and not isinstance(text, str):
        raise BadInput(f"{p}: scenario_text: expected a string, got {type(text).__name__}")
    h = doc.get("trace_hash")
    if h is not None and not (isinstance(h, str) and _HEX32.fullmatch(h)):
        raise BadInput(f"{p}: trace_hash: expected 32 hex digits (what zonesim records), "
                       f"got {_shown(h)}")
    fp = doc.get("fingerprint")
    if fp is not None:
        if not isinstance(fp, str):
            raise BadInput(f"{p}: fingerprint: expected a string, got {_shown(fp)}")
        in_schedule = doc["schedule"].strip().split(":")
        if len(in_schedule) >= 3 and in_schedule[1] != fp and in_schedule[0] == "zs2":
            raise BadInput(f"{p}: fingerprint: {_shown(fp)} differs from the schedule's "
                           f"{_shown(in_schedule[1])}: the artifact was edited")
    return Artifact(p, doc)


_HEX32 = re.compile(r"[0-9a-f]{32}")


def _shown(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."
