"""The kernel a CPU runs against: the zone, the policy, the modelled locks, tracing.

One ``Kernel`` per execution (rebuilt with the zone). Kernel paths yield only through
``Kernel.sp`` — the scheduler's ``switch_point`` preceded by the engine's step hook
(cheap invariants, the state signature of ``trace_hash``) — and through the windows of
the lock-held model primitives, which the kernel serves as the zone's ``ZoneSync``
(zonesim.model.sync): a window is a scheduling decision only when another CPU is parked at
a switch point that declared a conflicting lockless access (docs/lockless.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from zonesim.model.zone import Zone
from zonesim.policy import Policy
from zonesim.sched import (
    Access,
    Mutex,
    Scheduler,
    SpinLock,
    StepRecorder,
    current_cpu,
    pcp_objects,
    record_window_site,
    suspended_in_section,
    switch_enter,
    switch_rest,
    window,
    window_candidates,
    windows_possible,
    yield_cpu,
)


class WorkHandle(Protocol):
    async def flush(self) -> None: ...


QueueWork = Callable[[str, str, Callable[[], Awaitable[None]]], WorkHandle]
StepHook = Callable[[str, int], None]
CheckHook = Callable[[str], None]
EventCheck = Callable[[str, int, int], None]


class Kernel:
    def __init__(
        self,
        zone: Zone,
        policy: Policy,
        *,
        cpu_names: list[str],
        queue_work: QueueWork,
        step_hook: StepHook | None = None,
        tracing: bool = False,
        checkpoint: CheckHook | None = None,
        event_check: EventCheck | None = None,
    ) -> None:
        self.zone = zone
        self.policy = policy
        self.cpu_names = cpu_names
        self.queue_work = queue_work
        self.step_hook = step_hook
        self.tracing = tracing
        self.step = 0
        self.log: Any = None  # a structlog logger when tracing
        # Modelled locks (kernel-reference §1.4). pagesets.lock is an IRQ-off section.
        self.zone_lock = SpinLock("zone->lock")
        # zone->lock covers nothing by declaration: what a holder touches of the zone is
        # tapped object by object (zonesim.model.tap)
        self.pcpu_drain_mutex = Mutex("pcpu_drain_mutex")
        self.pcp_batch_high_lock = Mutex("pcp_batch_high_lock")
        self.mem_hotplug_lock = Mutex("mem_hotplug_lock")
        self.cma_mutex = Mutex("cma_mutex")
        # v6.0 (4b23a68f9536): per_cpu_pages.lock, a spinlock per CPU's pcp. Before it the
        # pcp was protected by running on its CPU with IRQs off (local_lock).
        self.pcp_spinlock = policy.has("4b23a68f9536")
        # free_one_page()'s design, asked once per page of free_contig_range otherwise:
        # e98337d11bbd (6.12) splits a free larger than a pageblock (or the fix does),
        # 55612e80e722 (6.10) always looks the type up under zone->lock.
        self.split_large_frees = policy.has("e98337d11bbd")
        self.split_large_frees_fix = policy.has("fix/free-split-pageblocks")
        self.free_one_page_reads_mt = policy.has("55612e80e722")
        self._pcp_locks = [SpinLock(f"pcp[{name}]") for name in cpu_names]
        for i, lock in enumerate(self._pcp_locks):
            lock.covers = pcp_objects(i)
        self._cma_locks: dict[str, SpinLock] = {}
        self._checkpoint = checkpoint
        self._event_check = event_check
        self._cpu_index = {name: i for i, name in enumerate(cpu_names)}
        self._reads: dict[tuple[str, int], Access] = {}
        self._writes: dict[tuple[str, int], Access] = {}
        # The scheduler's step footprints, when the strategy reduces by them (set by the
        # engine once the scheduler exists).
        self.steps: StepRecorder | None = None
        # The scheduler running this kernel's CPUs (set by the engine): a window asks it
        # directly whether any CPU is parked with a declared access, without a call.
        self.sched: Scheduler | None = None
        zone.sync = self  # the lock-held primitives take zone->lock and windows from here

    def reads_of(self, kind: str, key: int) -> Access:
        """``reads((kind, key))``, built once per execution: a frozen Access costs ~0.7 us,
        and the hottest switch points (every pcp free, every drain peek) declare one."""
        k = (kind, key)
        a = self._reads.get(k)
        if a is None:
            a = self._reads[k] = Access(reads=(k,))
        return a

    def writes_of(self, kind: str, key: int) -> Access:
        """``writes((kind, key))``, built once per execution (see ``reads_of``)."""
        k = (kind, key)
        a = self._writes.get(k)
        if a is None:
            a = self._writes[k] = Access(writes=(k,))
        return a

    def writes_page(self, pfn: int) -> None:
        """The running step writes the page at ``pfn`` outside any lock (the freeing CPU
        caching the pageblock type in page->index): declared for the step footprints."""
        st = self.steps
        if st is not None:
            st.touch(("page", pfn), True)

    def mid_section(self) -> bool:
        """Is some CPU suspended inside a lock-held or IRQ-off section right now?"""
        return suspended_in_section()

    # -- ZoneSync (zonesim.model.sync) ---------------------------------------------------

    async def window(self, label: str, kind: str, key: int, write: bool) -> None:
        """A window of the running CPU's section: see zonesim.sched.window."""
        st = self.steps
        if st is not None:  # passing a window site, a decision or not (zonesim.sched.steps)
            record_window_site((kind, key))
            st.touch((kind, key), write)
        sched = self.sched
        if sched is None:
            if not windows_possible():
                return
        elif not sched.declared:
            return  # the common case: no CPU is parked with a declared access
        elif kind not in sched.parked_kinds and "lock" not in sched.parked_kinds:
            # no parked CPU declared an access to an object of this kind, nor a lock
            # word: no conflict is possible (Access.conflicts compares kinds first)
            return
        candidates = window_candidates(
            self.writes_of(kind, key) if write else self.reads_of(kind, key)
        )
        if not candidates:
            return
        self.step += 1
        if self.step_hook is not None:
            self.step_hook(label, self._cpu_index[current_cpu()])
        await window(label, candidates)

    @contextmanager
    def walking(self, start: int, end: int) -> Iterator[None]:
        """Mark [start, end) as being isolated or un-isolated pageblock by pageblock: the
        states the kernel tolerates there meanwhile (a MAX_ORDER-1 block on the ISOLATE
        list with its second pageblock not isolated yet; back on a normal list while its
        buddy still is) are not judged until the walk is over."""
        entry = (start, end)
        self.zone.transient_ranges.append(entry)
        try:
            yield
        finally:
            self.zone.transient_ranges.remove(entry)

    def pcp_lock(self, cpu: int) -> SpinLock:
        """per_cpu_ptr(zone->per_cpu_pageset, cpu)->lock (v6.0)."""
        return self._pcp_locks[cpu]

    def cma_lock(self, name: str) -> SpinLock:
        """The area's cma->lock."""
        lock = self._cma_locks.get(name)
        if lock is None:
            lock = self._cma_locks[name] = SpinLock(f"cma->lock[{name}]")
            lock.covers = (("cma", name),)  # the area's bitmap
        return lock

    def checkpoint(self, label: str) -> None:
        """A point where the kernel relies on a sound zone: the engine runs the quiescent
        invariants here; pageblocks in a range another CPU is walking right now are
        exempt (zone.transient_ranges)."""
        if self._checkpoint is not None:
            self._checkpoint(label)

    def event_check(self, name: str, start: int, end: int) -> None:
        """An invariant about a pfn range at the moment the kernel relies on it (I5b when
        test_pages_isolated succeeds, I7 when alloc_contig_range returns 0)."""
        if self._event_check is not None:
            self._event_check(name, start, end)

    async def sp(self, label: str, cpu: int, access: Access | None = None) -> None:
        """A modelled preemption point of ``cpu`` (P1..P10 of kernel-reference §2.12).
        ``access``: the lockless access the next step begins with (docs/lockless.md).
        ``switch_point`` unrolled: a CPU that keeps the baton costs no second coroutine."""
        self.step += 1
        if self.step_hook is not None:
            self.step_hook(label, cpu)
        left = switch_enter(label, access)
        if left:
            await switch_rest(left, label, access)

    async def wait_for_others(self, label: str, cpu: int) -> None:
        """A retry loop waiting on other CPUs (see zonesim.sched.yield_cpu)."""
        self.step += 1
        if self.step_hook is not None:
            self.step_hook(label, cpu)
        await yield_cpu(label)

    def trace(self, event: str, cpu: int, **fields: Any) -> None:
        """Record one model-visible action (a JSON-lines log record when rendered)."""
        if self.tracing and self.log is not None:
            # ``cpu`` comes from the task's contextvars (bound by the engine per CPU task);
            # work items run on the target CPU's task, so they log as that CPU.
            self.log.info(event, step=self.step, **fields)
