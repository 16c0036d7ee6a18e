"""The invariant registry: every invariant of zonesim.check, in report order, and
``check_zone`` to judge a zone with those due at a cadence.

Importing this module imports the modules that define invariants (they register with
``zonesim.check.invariant`` as they load), so ``registry()`` is complete.
"""

from __future__ import annotations

from collections.abc import Iterable

from zonesim.check import conservation, freelists, pageblocks
from zonesim.check.invariant import (
    Cadence,
    CheckFn,
    Invariant,
    InvariantViolation,
    Violation,
    invariant,
    registered,
)
from zonesim.model.zone import Zone

__all__ = ["Cadence", "CheckFn", "Invariant", "InvariantViolation", "Violation", "check_zone",
           "invariant", "registry"]

# the modules whose import registers the invariants (kept referenced for linters and readers)
_DEFINING_MODULES = (conservation, freelists, pageblocks)


def registry() -> dict[str, Invariant]:
    """All registered invariants by name, in report order."""
    # Report order: when one state breaks several invariants, the first named here is the
    # one a reader sees -- the consequence (pages of an isolated range allocatable, memory
    # lost) before the symptom (a list/pageblock mismatch).
    found = registered()
    ranked = sorted(found, key=lambda n: _PRIORITY.index(n) if n in _PRIORITY else 99)
    return {n: found[n] for n in ranked}


_PRIORITY = (
    "I1_free_list_integrity",
    "I2_nr_free_pages",
    "I3_nr_free_cma_pages",
    "I6_nr_isolate_pageblock",
    "I5a_isolated_not_allocatable",
    "cma_pageblocks",
    "no_forbidden_merge",
    "I4_list_matches_pageblock",
    "I4i_isolate_list_stranded",
    "page_conservation",
)


_ORDER: dict[Cadence, tuple[Cadence, ...]] = {
    "step": ("step",),
    "quiescent": ("step", "quiescent"),
    "end": ("step", "quiescent", "end"),
}


def check_zone(
    zone: Zone, cadence: Cadence = "end", *, skip: Iterable[str] = ()
) -> list[Violation]:
    """Run every invariant due at ``cadence`` (end runs all). Returns all violations."""
    due = _ORDER[cadence]
    skipped = set(skip)
    out: list[Violation] = []
    for inv in registry().values():
        if inv.cadence in due and inv.name not in skipped:
            out.extend(inv.check(zone))
    return out
