"""One execution watched closely: what ``zonesim report`` and the trace exporters need.

An ``ObservingEngine`` runs exactly what ``Engine`` runs (same schedule, same
``trace_hash``) and records, beside the model's own events:

- ``op_start`` when a CPU starts a scenario op (the engine's ``op:<kind>`` switch point);
- ``lock_acquired`` / ``lock_released`` for the modelled locks (zone->lock, cma->lock,
  v6.0's pcp->lock, the mutexes); before v6.0 the pcp lists' irq-off sections are not
  locks and are not recorded;
- ``rmqueue_page`` / ``pcp_drain_page``: pages moving between the buddy and a pcp list,
  found by comparing the pcp lists before and after each model event (the model's
  ``pcp_free`` / ``pcp_drain`` events carry counts only): the data of the kernel's
  ``mm_page_alloc_zone_locked`` and ``mm_page_pcpu_drain`` tracepoints;
- a ``ZoneState`` after every model event, and at the start and the end.

It watches from outside the model and the ops: a wrapped step hook, a wrapped
``Kernel.trace`` and lock objects that report their holder, all on this execution's own
``Kernel`` only (nothing global is patched). A pcp refill with ``batch = 1`` looks like a
direct buddy allocation here (``percpu_refill=0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zonesim.engine import Engine, Outcome, cpu_names
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone
from zonesim.obs.zonestate import PcpPage, ZoneShape, ZoneState, pcp_pages, zone_shape, zone_state
from zonesim.ops import Kernel
from zonesim.sched import Mutex, SchedError, SpinLock, Strategy, current_cpu


class NothingToObserve(Exception):
    """The execution never started: the modelled kernel failed while booting or in
    ``[[setup]]``, so there is no zone to show (the outcome's violation says why)."""


@dataclass(slots=True)
class Observation:
    """``records``: the model's events with the observer's merged in, in the order they
    happened; ``state_of[i]``: index in ``states`` of the zone after ``records[i]``."""

    outcome: Outcome
    cpus: list[str]
    shape: ZoneShape
    records: list[dict[str, Any]]
    states: list[ZoneState]
    state_of: list[int]
    initial: int
    final: int


class _Recorder:
    def __init__(self, zone: Zone, cpus: list[str]) -> None:
        self.zone = zone
        self.cpus = cpus
        self.step = 0
        self.model_events = 0
        # (model events before it, record): merged with the engine's event list at the end
        self.extra: list[tuple[int, dict[str, Any]]] = []
        self.states: list[ZoneState] = []
        self._ids: dict[ZoneState, int] = {}
        self.after_event: list[int] = []
        self._pcp = _by_cpu(pcp_pages(zone))
        self.initial = self.state()

    def state(self) -> int:
        s = zone_state(self.zone)
        n = self._ids.get(s)
        if n is None:
            n = self._ids[s] = len(self.states)
            self.states.append(s)
        return n

    def add(self, cpu: str, event: str, **fields: Any) -> None:
        self.extra.append(
            (self.model_events, {"event": event, "cpu": cpu, "step": self.step, **fields})
        )

    def on_step(self, label: str, cpu: int, step: int) -> None:
        self.step = step
        if label.startswith("op:"):
            self.add(self.cpus[cpu], "op_start", op=label[3:])
        self._pcp_moves(None, None, None)

    def on_event(self, event: str, fields: dict[str, Any]) -> None:
        """Called after the model recorded ``event``; pages that moved between the buddy
        and the pcp lists meanwhile are recorded before it, as the kernel traces them."""
        running = _current_cpu_index(self.cpus)
        pfn = fields.get("pfn")
        if event == "alloc_pages" and fields.get("result") == "ok" and isinstance(pfn, int):
            self._pcp_moves(running, ("alloc", pfn, int(fields.get("order", 0))), fields)
        elif event == "pcp_free" and isinstance(pfn, int):
            self._pcp_moves(running, ("free", pfn, int(fields.get("order", 0))), fields)
        else:
            self._pcp_moves(None, None, None)
        self.model_events += 1
        self.after_event.append(self.state())

    def _pcp_moves(
        self, running: int | None, action: tuple[str, int, int] | None,
        fields: dict[str, Any] | None,
    ) -> None:
        """Compare every pcp with the last look. On the running CPU's pcp, ``action`` says
        what the event itself did: an allocation took its page (from the pcp, from a
        refill, or straight from the buddy), a free put one there (a spill may have
        drained it again at once)."""
        now = _by_cpu(pcp_pages(self.zone))
        for c, name in enumerate(self.cpus):
            before, after = dict(self._pcp.get(c, {})), now.get(c, {})
            mine = action if c == running else None
            if mine is not None and mine[0] == "free":
                before.setdefault(mine[1], (mine[2], _mt_number(fields)))
            for pfn in sorted(set(before) - set(after)):
                if mine is not None and mine[0] == "alloc" and pfn == mine[1]:
                    continue  # the allocation's own page, taken from the pcp list
                order, mt = before[pfn]
                self.add(name, "pcp_drain_page", pfn=pfn, order=order, mt=_mt_name(mt))
            arrived = {pfn: after[pfn] for pfn in set(after) - set(before)}
            if mine is not None and mine[0] == "alloc" and mine[1] not in before:
                if arrived:  # rmqueue_bulk() refilled the list; the page came from there
                    some = next(iter(arrived.values()))
                    arrived[mine[1]] = (mine[2], some[1])
                else:  # straight from the buddy under zone->lock
                    self.add(name, "rmqueue_page", pfn=mine[1], order=mine[2],
                             mt=(fields or {}).get("mt"), percpu_refill=0)
            for pfn in sorted(arrived):
                order, mt = arrived[pfn]
                self.add(name, "rmqueue_page", pfn=pfn, order=order, mt=_mt_name(mt),
                         percpu_refill=1)
        self._pcp = now

    def on_lock(self, event: str, lock: str, cpu: str | None) -> None:
        self.add(cpu or "?", event, lock=lock)

    def merge(self, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
        """The engine's events with the observer's records at their places, and the zone
        state after each record."""
        out: list[dict[str, Any]] = []
        state_of: list[int] = []
        k = 0
        current = self.initial
        for i in range(len(events) + 1):
            while k < len(self.extra) and self.extra[k][0] <= i:
                out.append(self.extra[k][1])
                state_of.append(current)
                k += 1
            if i == len(events):
                break
            out.append(events[i])
            if i < len(self.after_event):
                current = self.after_event[i]
            state_of.append(current)
        return out, state_of


def _by_cpu(pages: tuple[PcpPage, ...]) -> dict[int, dict[int, tuple[int, int]]]:
    """cpu -> {pfn: (order, pcp list migratetype)}."""
    out: dict[int, dict[int, tuple[int, int]]] = {}
    for cpu, pfn, order, mt in pages:
        out.setdefault(cpu, {})[pfn] = (order, mt)
    return out


def _mt_name(mt: int) -> str:
    return MigrateType(mt).name


def _mt_number(fields: dict[str, Any] | None) -> int:
    name = (fields or {}).get("mt")
    if isinstance(name, str) and name in MigrateType.__members__:
        return int(MigrateType[name])
    return int(MigrateType.MOVABLE)


def _current_cpu_index(cpus: list[str]) -> int:
    try:
        name = current_cpu()
    except SchedError:  # outside a CPU task: cannot happen during a run
        return -1
    return cpus.index(name) if name in cpus else -1


class _TracedSpinLock(SpinLock):
    """zone->lock / cma->lock that tells the recorder who takes and releases it."""

    __slots__ = ("_rec",)

    def __init__(self, name: str, rec: _Recorder) -> None:
        super().__init__(name)
        self._rec = rec

    def _take(self, cpu: Any) -> None:
        super()._take(cpu)
        self._rec.on_lock("lock_acquired", self.name, cpu.name)

    def release(self) -> None:
        # recorded first: a waiter the release hands the lock to is recorded as it takes it
        self._rec.on_lock("lock_released", self.name, self.holder)
        super().release()


class _TracedMutex(Mutex):
    __slots__ = ("_rec",)

    def __init__(self, name: str, rec: _Recorder) -> None:
        super().__init__(name)
        self._rec = rec

    def _take(self, cpu: Any) -> None:
        super()._take(cpu)
        self._rec.on_lock("lock_acquired", self.name, cpu.name)

    def release(self) -> None:
        self._rec.on_lock("lock_released", self.name, self.holder)
        super().release()


class ObservingEngine(Engine):
    """An ``Engine`` whose traced runs are observed (see the module docstring). Untraced
    runs (exploration, shrinking, the setup) are exactly the base engine's."""

    _recorder: _Recorder | None = None

    def _kernel(
        self, zone: Zone, hook: Callable[[str, int], None] | None, *, tracing: bool
    ) -> Kernel:
        if not tracing or hook is None:
            return super()._kernel(zone, hook, tracing=tracing)
        rec = _Recorder(zone, cpu_names(self.scenario))
        self._recorder = rec
        box: list[Kernel] = []

        def observed_hook(label: str, cpu: int) -> None:
            rec.on_step(label, cpu, box[0].step)
            hook(label, cpu)

        k = super()._kernel(zone, observed_hook, tracing=tracing)
        box.append(k)
        model_trace = k.trace

        def trace(event: str, cpu: int, **fields: Any) -> None:
            model_trace(event, cpu, **fields)
            rec.step = k.step
            rec.on_event(event, fields)

        # Per-instance seams on this execution's own Kernel (nothing global is patched).
        setattr(k, "trace", trace)  # noqa: B010
        k.zone_lock = _TracedSpinLock("zone->lock", rec)
        k.pcpu_drain_mutex = _TracedMutex("pcpu_drain_mutex", rec)
        k.pcp_batch_high_lock = _TracedMutex("pcp_batch_high_lock", rec)
        k.mem_hotplug_lock = _TracedMutex("mem_hotplug_lock", rec)
        k.cma_mutex = _TracedMutex("cma_mutex", rec)
        # v6.0's per-CPU pcp->lock (4b23a68f9536); unused by designs without it
        k._pcp_locks = [_TracedSpinLock(lock.name, rec) for lock in k._pcp_locks]
        cma_locks: dict[str, SpinLock] = {}

        def cma_lock(name: str) -> SpinLock:
            lock = cma_locks.get(name)
            if lock is None:
                lock = cma_locks[name] = _TracedSpinLock(f"cma->lock[{name}]", rec)
            return lock

        setattr(k, "cma_lock", cma_lock)  # noqa: B010
        return k

    def observe(self, strategy: Strategy) -> Observation:
        """Run once with tracing and return everything that was observed."""
        outcome = self.run(strategy, tracing=True)
        rec = self._recorder
        if rec is None:  # boot or [[setup]] failed: nothing ran, no zone to show
            raise NothingToObserve(str(outcome.violation))
        final = rec.state()  # after the last event: where the end-of-execution checks look
        records, state_of = rec.merge(outcome.events)
        return Observation(
            outcome=outcome,
            cpus=cpu_names(self.scenario),
            shape=zone_shape(rec.zone),
            records=records,
            states=rec.states,
            state_of=state_of,
            initial=rec.initial,
            final=final,
        )
