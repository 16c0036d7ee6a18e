"""Fingerprints: a short, stable identity of what decides a scenario's behaviour.

Schedules and failure artifacts carry one so that replaying against a scenario that
*behaves* differently is detected, while editing its prose is not: the fingerprint covers
the zone, ``[[cma]]``, ``[[setup]]`` and the CPUs' ops (with each op's own ``expect``, which
decides a verdict), and leaves out the scenario's name, summary, source and description,
``[expect]`` and ``[explore]`` (a budget, not behaviour), comments, key order, the file's
path and each op's path. ``as``/``ref`` names are replaced by their order of first use, so
renaming a result consistently changes nothing either.

It hashes a canonical JSON rendering of the parsed values and never touches ``hash()``,
dict order or PYTHONHASHSEED.

``legacy_fingerprint`` is the fingerprint before schedules survived edits (``zs1:``
strings written by zonesim up to that change carry it inside the engine's hash): it covers
the whole parsed file, prose included.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable

from zonesim.scenario.document import Scenario

# Bump when the meaning of a parsed field changes, so old fingerprints stop matching.
FINGERPRINT_VERSION = "zonesim-scenario-2"
LEGACY_VERSION = "zonesim-scenario-1"
# "unrealistic" is prose on an op (why a shape is on purpose): it decides nothing.
_SKIPPED = frozenset({"file", "path", "unrealistic"})
# Op keys added after fingerprints existed: left out at their default, so that schedules
# of scenarios that do not use them keep matching.
_NEW_AT_DEFAULT: dict[str, object] = {
    "hugetlb": False,
    "reclaim": False,
    "sparsemem_classic": False,
}
# Scenario fields that do not decide behaviour.
_PROSE = frozenset({"name", "summary", "source", "description", "expect", "explore"})
_NAMED = frozenset({"as_name", "ref"})


def canonical(value: object, names: dict[str, str] | None = None) -> object:
    """Plain JSON data for a parsed value; ops are tagged with their ``op`` name.

    With ``names`` (a renaming table filled in order of first use), ``as``/``ref`` values
    are canonicalised: ``x`` -> ``n0``, ``x[3]`` -> ``n0[3]``.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        kind = getattr(type(value), "KIND", "")
        if kind:
            out["op"] = kind
        for f in dataclasses.fields(value):
            if f.name in _SKIPPED:
                continue
            v = getattr(value, f.name)
            if f.name in _NEW_AT_DEFAULT and v == _NEW_AT_DEFAULT[f.name]:
                continue
            if names is not None and f.name in _NAMED and isinstance(v, str):
                out[f.name] = _rename(v, names)
            else:
                out[f.name] = canonical(v, names)
        return out
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [canonical(v, names) for v in value]
    return value


def _rename(name: str, names: dict[str, str]) -> str:
    base, bracket, index = name.partition("[")
    new = names.setdefault(base, f"n{len(names)}")
    return new + bracket + index


def behaviour(scenario: Scenario) -> dict[str, object]:
    """The parts of a scenario that decide what an execution does, canonicalised."""
    names: dict[str, str] = {}
    out: dict[str, object] = {}
    for f in dataclasses.fields(scenario):
        if f.name not in _PROSE and f.name not in _SKIPPED:
            out[f.name] = canonical(getattr(scenario, f.name), names)
    return out


def _digest(doc: object) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def canonical_json(scenario: Scenario) -> str:
    """The behaviour of the scenario as compact JSON with sorted keys (ASCII only)."""
    return json.dumps(
        {"version": FINGERPRINT_VERSION, "scenario": behaviour(scenario)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def scenario_fingerprint(scenario: Scenario) -> str:
    """First 16 hex digits of the sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(scenario).encode("ascii")).hexdigest()[:16]


def behaviour_fingerprint(scenario: Scenario, switches: Iterable[str], model: str) -> str:
    """What a schedule must match to replay: the scenario's behaviour, the policy's set of
    switches (however the design was spelled: ``v5.19 -X`` or a preset with the same
    switches) and the model version."""
    return _digest(
        {
            "version": FINGERPRINT_VERSION,
            "scenario": behaviour(scenario),
            "switches": sorted(switches),
            "model": model,
        }
    )


def legacy_fingerprint(scenario: Scenario) -> str:
    """The ``zonesim-scenario-1`` fingerprint: the whole parsed file but its path."""
    return _digest({"version": LEGACY_VERSION, "scenario": canonical(scenario)})
