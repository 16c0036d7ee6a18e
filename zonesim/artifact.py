"""Failure artifacts (DESIGN.md §7): reading and validating what ``explore`` wrote.

An artifact embeds the scenario's text beside its path as written, so it replays from any
directory and after the file was edited; artifacts written before the text was embedded
fall back to loading the path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zonesim.engine import Engine
from zonesim.errors import BadInput
from zonesim.explore import ARTIFACT_FORMAT
from zonesim.policy import Policy, PolicyError, make_policy, parse_policy
from zonesim.scenario import PolicySpec, Scenario, load_scenario, parse_scenario
from zonesim.sched import ReplayMismatch, ScheduleFormatError, decode

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

    def engine(self) -> Engine:
        """The engine the artifact was written by; its schedule's fingerprint must match."""
        engine = Engine(self.scenario(), self.policy())
        fp, _ = self.decoded()
        if fp != engine.fingerprint:
            raise BadInput(
                f"{self.path}: schedule: fingerprint {fp} does not match scenario + policy + "
                f"model ({engine.fingerprint}): the scenario, the policy or zonesim changed"
            )
        return engine

    def decoded(self) -> tuple[str, list[str | int]]:
        return decode_schedule(self.schedule, f"{self.path}: schedule")


def decode_schedule(schedule: str, where: str) -> tuple[str, list[str | int]]:
    try:
        return decode(schedule)
    except ScheduleFormatError as exc:
        raise BadInput(f"{where}: {exc}") from None


def diverged(where: str, error: Exception | None) -> None:
    """A schedule that does not fit the scenario is bad input, not a violation."""
    if isinstance(error, ReplayMismatch):
        raise BadInput(f"{where}: expected a schedule this scenario follows; {error}")


def looks_like_artifact(text: str) -> bool:
    """An artifact is one JSON object with a ``format`` key near its start; a JSON-lines
    log is one object per line."""
    head = text.lstrip()[:400]
    return head.startswith("{") and '"format"' in head and "\n" in text.strip()


def read_artifact(path: str | os.PathLike[str]) -> Artifact:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{p}: no such artifact file") from None
    except IsADirectoryError:
        raise BadInput(f"{p}: expected an artifact file, got a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{p}: cannot read artifact: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{p}: expected a JSON artifact, got invalid JSON at line "
            f"{exc.lineno} column {exc.colno}"
        ) from None
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
    return Artifact(p, doc)
