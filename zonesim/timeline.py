"""The release timeline of ``zonesim bisect`` and the designs between two of its states.

A *state* is a kernel release as a set of switches:

- the release presets in version order (``v5.15``, ``v5.19``, ``v6.0``, ...; ``rfc-v1`` and
  ``proposal`` are designs that were never released, so they are not on it);
- before the first release preset, the releases its own switches reach: for each distinct
  version V of a switch in ``v5.15`` below 5.15, "v5.15 without every switch newer than V"
  (state ``V``), and before the oldest of them the state with none of them (``<= 3.17``).

Between two neighbouring states A -> B the switches that differ are *moves*, ordered by
version, then by their place in the catalogue (which follows the order the commits were
merged within a release). ``design(A, moves)`` applies some of them and closes the result
under ``builds_on``: a switch turned on brings what it builds on, a switch turned off takes
what builds on it. A design that ``make_policy`` would refuse is never built.

Versions are strings ("3.18", "5.19", "6.0") compared numerically, never as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zonesim.policy import BY_ID, PRESETS, SWITCHES, Policy, make_policy
from zonesim.policy.policy import dependents

_RELEASE = re.compile(r"v(\d+(?:\.\d+)*)$")
_NUMERIC = re.compile(r"\d+(?:\.\d+)*$")
# a version that is not a release number ("rfc-v1", "proposal") sorts after every release
_UNRELEASED = (1 << 30,)
_CATALOGUE = {s.id: i for i, s in enumerate(SWITCHES)}


def version_key(version: str) -> tuple[int, ...]:
    """"5.9" < "5.19" < "6.0": numeric parts, not text."""
    if not _NUMERIC.match(version):
        return _UNRELEASED
    return tuple(int(p) for p in version.split("."))


def previous_version(version: str) -> str:
    """The name of the state before the oldest switch: "3.18" -> "<= 3.17"; a version
    whose last part is 0 has no known predecessor: "4.0" -> "< 4.0"."""
    parts = version_key(version)
    if parts == _UNRELEASED or parts[-1] == 0:
        return f"< {version}"
    return "<= " + ".".join(str(p) for p in (*parts[:-1], parts[-1] - 1))


def release_presets() -> list[str]:
    """The presets named after a release ("v5.15", "v6.0", ...), oldest first."""
    found = [name for name in PRESETS if _RELEASE.match(name)]
    return sorted(found, key=lambda name: version_key(name[1:]))


@dataclass(frozen=True, slots=True)
class State:
    """One point of the timeline. ``name``: the release ("<= 3.17", "4.0", "v5.15")."""

    name: str
    switches: frozenset[str]
    preset: bool  # a release preset, not a state reached by removing switches


def keep_closed(switches: Iterable[str]) -> frozenset[str]:
    """Drop every switch whose prerequisites (``builds_on``, transitively) are missing."""
    kept = set(switches)
    changed = True
    while changed:
        changed = False
        for s in sorted(kept):
            if any(e not in kept for e in BY_ID[s].builds_on):
                kept.discard(s)
                changed = True
    return frozenset(kept)


def timeline() -> list[State]:
    """The pre-release states reachable by switches, then the release presets in order."""
    presets = release_presets()
    states: list[State] = []
    if presets:
        first = PRESETS[presets[0]][1]
        limit = version_key(presets[0][1:])
        older = sorted({BY_ID[s].version for s in first
                        if version_key(BY_ID[s].version) < limit}, key=version_key)
        if older:
            states.append(State(previous_version(older[0]), frozenset(), False))
        for v in older:
            key = version_key(v)
            kept = keep_closed(s for s in first if version_key(BY_ID[s].version) <= key)
            states.append(State(v, kept, False))
    states += [State(name, PRESETS[name][1], True) for name in presets]
    return states


# -- the designs between two states ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Move:
    """One switch that differs between A and B: turned on (``on``) or off going A -> B."""

    switch: str
    on: bool

    @property
    def text(self) -> str:
        return ("+" if self.on else "-") + self.switch

    @property
    def title(self) -> str:
        return BY_ID[self.switch].title

    @property
    def version(self) -> str:
        return BY_ID[self.switch].version


def move_order(switch: str) -> tuple[tuple[int, ...], int]:
    return version_key(BY_ID[switch].version), _CATALOGUE[switch]


def moves_between(a: frozenset[str], b: frozenset[str]) -> list[Move]:
    """The switches that differ, by version, then catalogue order."""
    return [Move(s, s in b) for s in sorted(a ^ b, key=move_order)]


def design(a: frozenset[str], moves: Iterable[Move]) -> frozenset[str]:
    """A with ``moves`` applied, closed under ``builds_on``. For moves taken from one
    ``moves_between(A, B)`` of two valid designs the closure never conflicts: what an
    added switch builds on is in B (so never removed), what builds on a removed one is
    not in B (so never added)."""
    s = set(a)
    todo = [m.switch for m in moves if m.on]
    while todo:
        x = todo.pop()
        if x not in s:
            s.add(x)
            todo.extend(BY_ID[x].builds_on)
    for m in moves:
        if not m.on and m.switch in s:
            s.discard(m.switch)
            s.difference_update(dependents(m.switch, frozenset(s)))
    return frozenset(s)


def policy_for(switches: frozenset[str], bases: Sequence[str] | None = None) -> Policy:
    """The design as a policy spelled from the nearest release preset (fewest switches
    added or removed; the older preset on a tie), e.g. "v5.15 +b2c9e2fbba32". The same
    switches always get the same spelling, so a verdict cached by switches names the policy
    it was explored under. ``make_policy`` re-checks ``builds_on`` (a refusal is a bug)."""
    names = list(bases) if bases is not None else release_presets()
    best = min(names, key=lambda n: len(PRESETS[n][1] ^ switches))
    base = PRESETS[best][1]
    return make_policy(best, tuple(sorted(switches - base)), tuple(sorted(base - switches)))
