"""The invariant registry: named, pure checks over the zone, each with the kernel check
it mirrors and when it may be judged.

An invariant judges a state the kernel itself forbids *at that moment*. ``cadence`` says
when that moment is: ``step`` (after every scheduler step: cheap, always true between two
zone->lock sections), ``quiescent`` (no CPU is inside a path that tolerates a transient
state, e.g. start_isolate_page_range walking a MAX_ORDER-1 block) and ``end`` (the end
of an execution). Invariants read the zone and never write it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from zonesim.model.zone import Zone

Cadence = Literal["step", "quiescent", "end"]


@dataclass(frozen=True, slots=True)
class Violation:
    """What broke, where, and the values: enough for a one-line report."""

    invariant: str
    message: str
    pfn: int | None = None
    order: int | None = None
    where: str | None = None  # list, counter or pageblock named in kernel terms
    expected: object = None
    actual: object = None

    def __str__(self) -> str:
        parts = [f"{self.invariant}: {self.message}"]
        if self.expected is not None or self.actual is not None:
            parts.append(f"(expected {self.expected}, got {self.actual})")
        return " ".join(parts)


CheckFn = Callable[[Zone], Iterable[Violation]]


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    statement: str  # one line
    mirrors: str  # the kernel check or census it corresponds to
    cadence: Cadence
    fn: CheckFn

    def check(self, zone: Zone) -> list[Violation]:
        return list(self.fn(zone))


_REGISTRY: dict[str, Invariant] = {}


def invariant(
    name: str, statement: str, mirrors: str, cadence: Cadence
) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as invariant ``name``."""

    def register(fn: CheckFn) -> CheckFn:
        if name in _REGISTRY:
            raise ValueError(f"invariant {name!r} registered twice")
        _REGISTRY[name] = Invariant(name, statement, mirrors, cadence, fn)
        return fn

    return register


def registry() -> dict[str, Invariant]:
    """All registered invariants by name (registration order is definition order)."""
    from zonesim.check import conservation, freelists, pageblocks  # noqa: F401  (registers)

    # Report order: when one state breaks several invariants, the first named here is the
    # one a reader sees -- the consequence (pages of an isolated range allocatable, memory
    # lost) before the symptom (a list/pageblock mismatch).
    ranked = sorted(_REGISTRY, key=lambda n: _PRIORITY.index(n) if n in _PRIORITY else 99)
    return {n: _REGISTRY[n] for n in ranked}


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


class InvariantViolation(Exception):
    """The modelled design broke an invariant; carries the first violation."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation
