"""Allocator-state coverage of one execution: an abstract signature per step.

A *step* of a CPU begins at one of its switch points (a ``Kernel.sp``, a window inside a
section, a retry loop's yield) and lasts until its next one. Its signature is what a
kernel developer would write beside a race diagram:

    free_unref_page:after_pb_read cpu1 held=- others=zone->lock pb(MOVABLE free=3:MOVABLE)

-- the switch point label, the CPU, the locks it holds there, the locks the other CPUs hold
at that moment, and for each pageblock the step touched (zonesim.coverage.census) its flags,
the (order, list type) pairs of the free blocks over it and whether a pcp list holds pages
of it. Pageblocks are described, not numbered: the same situation in another pageblock is
the same signature.

Attribution: the baton may move between two switch points of the kernel paths (a lock
acquisition is a scheduling decision of its own), so the tracker also sees every decision
(``Observed`` wraps the execution's strategy) and charges what changed so far to the CPU
that held the baton. Coverage only observes: decisions, states and ``trace_hash`` are those
of the same execution without it.

Switch points are also counted for "windows never opened": a label is *reached* when a CPU
passed it, *decided* when a decision was taken there (another CPU could have run), *opened*
when another CPU did run in between (a preemption there, or the CPU waited there for a lock
or for others to make progress).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zonesim.coverage.census import Census, PageblockState, describe_state
from zonesim.model.tapcore import TAP, paused
from zonesim.model.zone import Zone
from zonesim.sched import Choice, Strategy
from zonesim.sched.events import held_locks

#: (label, cpu, locks held, locks the others hold, states of the touched pageblocks)
Signature = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[PageblockState, ...]]

#: decisions that are no switch point of a kernel path
_NOT_WINDOWS = frozenset({"start", "idle"})


@dataclass(frozen=True, slots=True)
class ExecCoverage:
    """What one execution covered: rendered signatures and switch point labels, each
    sorted (small and picklable: it travels from a worker with the execution's record)."""

    signatures: tuple[str, ...]
    reached: tuple[str, ...]
    decided: tuple[str, ...]
    opened: tuple[str, ...]


def render(sig: Signature) -> str:
    label, cpu, mine, others, states = sig
    text = f"{label} {cpu} held={','.join(mine) or '-'} others={','.join(others) or '-'}"
    if states:
        text += " " + " ".join(describe_state(s) for s in states)
    return text


class Tracker:
    """Collects one execution's signatures; ``step`` is called at every switch point of the
    kernel paths (the engine's step hook), ``handoff`` when a decision moves the baton."""

    __slots__ = ("_census", "_names", "_open", "_reached", "_sigs", "_touched", "running")

    def __init__(self, zone: Zone, cpu_names: Sequence[str]) -> None:
        self._census = Census(zone)
        self._names = tuple(cpu_names)
        self._open: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {}
        self._touched: dict[str, set[int]] = {}
        self._sigs: set[Signature] = set()
        self._reached: set[str] = set()
        self.running: str | None = None  # who holds the baton (as far as the tracker saw)

    def _charge(self) -> None:
        """What changed since the last look was done by the CPU holding the baton."""
        changed = self._census.changed()
        if changed and self.running is not None:
            self._touched.setdefault(self.running, set()).update(changed)

    def _close(self, cpu: str) -> None:
        begun = self._open.pop(cpu, None)
        if begun is None:
            return
        census = self._census
        states = tuple(sorted({census.state(b) for b in self._touched.pop(cpu, ())}))
        self._sigs.add((*begun, states))

    def step(self, label: str, cpu: int) -> None:
        """CPU number ``cpu`` is at switch point ``label``: its previous step ends, the
        next begins."""
        name = self._names[cpu]
        self.running = name
        self._charge()
        self._close(name)
        mine, others = held_locks()
        self._open[name] = (label, name, mine, others)
        self._reached.add(label)

    def handoff(self, to: str) -> None:
        """The baton moves to ``to`` at a decision: what changed since the last look is
        the previous holder's."""
        self._charge()
        self.running = to

    def finish(self, choices: Sequence[Choice]) -> ExecCoverage:
        """Close every open step; the labels decided and opened come from the recorded
        decisions."""
        self._charge()
        for cpu in sorted(self._open):
            self._close(cpu)
        decided: set[str] = set()
        opened: set[str] = set()
        for c in choices:
            if c.kind != "cpu" or c.label in _NOT_WINDOWS:
                continue
            decided.add(c.label)
            # current None: the CPU blocked (on a lock) or yields; whoever runs is another
            if c.current is None or c.value != c.current:
                opened.add(c.label)
        return ExecCoverage(
            tuple(sorted(render(s) for s in self._sigs)),
            tuple(sorted(self._reached | decided)),
            tuple(sorted(decided)),
            tuple(sorted(opened)),
        )


class Observed:
    """The execution's strategy, unchanged, with the tracker told of every decision."""

    __slots__ = ("inner", "tracker")

    def __init__(self, inner: Strategy, tracker: Tracker) -> None:
        self.inner = inner
        self.tracker = tracker

    def begin_execution(self) -> bool:
        return self.inner.begin_execution()

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        idx = self.inner.pick_cpu(step, runnable, current)
        # (an index out of range is the Recorder's to report)
        if 0 <= idx < len(runnable) and runnable[idx] != self.tracker.running:
            # a pick changes no state: charge now. What the tracker reads of the zone is
            # not the running step's (a reducing search records step footprints through
            # the taps): reads here would make steps conflict that do not, and DPOR would
            # explore more (cma-b at bound 1: 563 executions instead of 51)
            if TAP.read is None:
                self.tracker.handoff(runnable[idx])
            else:
                with paused():
                    self.tracker.handoff(runnable[idx])
        return idx

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self.inner.pick_option(step, n, label)

    @property
    def attach_steps(self) -> Callable[[Any], None] | None:
        """The inner strategy's (a reducing DFS reads step footprints), so coverage does
        not change what the search explores."""
        attach = getattr(self.inner, "attach_steps", None)
        return attach if callable(attach) else None

    def end_execution(self, failed: bool) -> None:
        self.inner.end_execution(failed)
