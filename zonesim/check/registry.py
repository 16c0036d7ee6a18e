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
    registered_count,
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


# (cadence, skipped names) -> (registered_count() when derived, the invariants to run)
_DUE: dict[tuple[Cadence, frozenset[str]], tuple[int, tuple[Invariant, ...]]] = {}


def due(cadence: Cadence, skip: Iterable[str] = ()) -> tuple[Invariant, ...]:
    """The invariants ``check_zone(zone, cadence, skip=skip)`` runs, in report order.

    Derived once per (cadence, skip) until another invariant registers: the engine asks
    after every op, and sorting the registry each time cost ~10 us a check (most of a
    quiescent check that the gate had already answered)."""
    skipped = skip if isinstance(skip, frozenset) else frozenset(skip)
    key = (cadence, skipped)
    n = registered_count()
    hit = _DUE.get(key)
    if hit is not None and hit[0] == n:
        return hit[1]
    due_at = _ORDER[cadence]
    found = tuple(inv for inv in registry().values()
                  if inv.cadence in due_at and inv.name not in skipped)
    if len(_DUE) > 64:
        _DUE.clear()
    _DUE[key] = (n, found)
    return found


def check_zone(
    zone: Zone, cadence: Cadence = "end", *, skip: Iterable[str] = ()
) -> list[Violation]:
    """Run every invariant due at ``cadence`` (end runs all). Returns all violations."""
    out: list[Violation] = []
    for inv in due(cadence, skip):
        out.extend(inv.check(zone))
    return out
