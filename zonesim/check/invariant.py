"""What an invariant is: a named, pure check over the zone, with the kernel check it
mirrors and when it may be judged. The modules that define invariants import this one;
``zonesim.check.registry`` imports them (so nothing here imports an invariant module).

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


def registered() -> dict[str, Invariant]:
    """Every invariant registered so far, in registration order."""
    return dict(_REGISTRY)


def registered_count() -> int:
    """How many invariants are registered: the registry only grows, so a reader that
    caches what it derived from ``registered()`` knows it stale when this moves."""
    return len(_REGISTRY)


class InvariantViolation(Exception):
    """The modelled design broke an invariant; carries the first violation."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation
