"""``scenario_fingerprint``: a short, stable identity of a parsed scenario.

Schedules and failure artifacts carry it so that replaying against an edited scenario is
detected. It hashes a canonical JSON rendering of the parsed values — not the file text,
so comments and key order do not matter — and never touches ``hash()``, dict order or
PYTHONHASHSEED. ``file`` and op ``path`` are left out: moving a file changes nothing.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json

from zonesim.scenario.document import Scenario

# Bump when the meaning of a parsed field changes, so old fingerprints stop matching.
FINGERPRINT_VERSION = "zonesim-scenario-1"
_SKIPPED = frozenset({"file", "path"})


def canonical(value: object) -> object:
    """Plain JSON data for a parsed value; ops are tagged with their ``op`` name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        kind = getattr(type(value), "KIND", "")
        if kind:
            out["op"] = kind
        for f in dataclasses.fields(value):
            if f.name not in _SKIPPED:
                out[f.name] = canonical(getattr(value, f.name))
        return out
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    return value


def canonical_json(scenario: Scenario) -> str:
    """The scenario as compact JSON with sorted keys (ASCII only, so bytes are stable)."""
    return json.dumps(
        {"version": FINGERPRINT_VERSION, "scenario": canonical(scenario)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def scenario_fingerprint(scenario: Scenario) -> str:
    """First 16 hex digits of the sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(scenario).encode("ascii")).hexdigest()[:16]
