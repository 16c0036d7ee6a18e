"""The pending events of a decision: what each runnable CPU's next step begins with, and
which of those steps race (for event-aware strategies such as POS, zonesim.sched.pos).

An *event* is the step a CPU takes when it gets the baton: from the switch point it waits
at up to its next one. What the model tells about that step before it runs:

- the lockless access declared at the switch point (``switch_point(label, access)``,
  zonesim.sched.footprint; docs/lockless.md);
- the lock it is about to take: the acquisition's own switch point is labelled
  ``spin_lock:<name>`` / ``mutex_lock:<name>``, and taking a lock writes its lock word;
- a CPU suspended in a window of a lock-held or IRQ-off section: the candidates of that
  decision were chosen because their declared access conflicts with the section
  (zonesim.sched.window_candidates), so the holder races with every one of them.

Two events race when their footprints conflict (one writes an object the other reads or
writes). Everything else about a step (the lock-held body of a section, which writes the
free lists) is not declared yet, so two steps that only meet inside ``zone->lock`` race
through the lock word they both take. When steps declare full footprints (issue 10, item
1), ``footprint`` is the one place to read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zonesim.sched.cpu import CURRENT, Cpu
from zonesim.sched.footprint import Access

_LOCK_PREFIXES = ("spin_lock:", "mutex_lock:")
_NOTHING = Access()


@dataclass(slots=True)
class Event:
    """A CPU's pending step: the switch point it waits at, its footprint, and whether the
    CPU is suspended inside a section (a window). Built for every runnable CPU at every
    decision an event-aware strategy takes, and read only there: not frozen, whose
    ``__init__`` costs a call per field."""

    cpu: str
    label: str
    footprint: Access
    in_section: bool = False

    def races(self, other: Event) -> bool:
        """Two steps of different CPUs whose order can change the outcome."""
        if self.cpu == other.cpu:
            return False
        if self.in_section or other.in_section:
            return True
        return self.footprint.conflicts(other.footprint)


#: footprint(label, None) by label: a lock acquisition's switch point declares nothing
#: else, and labels are the model's finite set of switch points.
_BARE: dict[str, Access] = {}


def footprint(label: str, access: Access | None) -> Access:
    """The declared access of a switch point plus the lock word its acquisition writes."""
    if access is None:
        fp = _BARE.get(label)
        if fp is None:
            fp = _BARE[label] = _footprint(label, _NOTHING)
        return fp
    return _footprint(label, access)


def _footprint(label: str, fp: Access) -> Access:
    for prefix in _LOCK_PREFIXES:
        if label.startswith(prefix):
            return Access(fp.reads, (*fp.writes, ("lock", label[len(prefix):])))
    return fp


def _event(cpu: Cpu[Any]) -> Event:
    return Event(cpu.name, cpu.at_label, footprint(cpu.at_label, cpu.at_access),
                 cpu.atomic > 0)


def pending_events(runnable: Sequence[str]) -> list[Event]:
    """The pending event of each CPU of ``runnable`` (in that order), as seen from the CPU
    that is deciding. Before any CPU ran (the first decision), every CPU is at ``start``
    with nothing declared."""
    running = CURRENT.get(None)
    if running is None:
        return [Event(name, "start", _NOTHING) for name in runnable]
    by_name = running.sched._by_name
    return [_event(by_name[name]) for name in runnable]


def held_locks() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(locks the running CPU holds, in acquisition order; locks the other CPUs hold,
    sorted): the lock context of a step, for coverage signatures."""
    cpu = CURRENT.get(None)
    if cpu is None:
        return (), ()
    others = sorted(n for c in cpu.sched._cpus if c is not cpu for n in c.held)
    return tuple(cpu.held), tuple(others)
