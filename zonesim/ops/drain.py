"""Draining pcp lists and changing their size (v5.15): drain_local_pages,
__drain_all_pages (work queued on each CPU that the racy count peek selects),
zone_pcp_update / zone_pcp_disable / zone_pcp_enable.

Two lockless accesses to another CPU's pcp live here (docs/lockless.md): the
``pcp->count`` peek of __drain_all_pages (one switch point per CPU examined, declaring the
read) and the ``pcp->high``/``pcp->batch`` writes of pageset_update (one switch point per
write, declaring it), which the owner's free_unref_page_commit reads with IRQs off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from zonesim.model.pcp import drain_pages_zone
from zonesim.model.sync import PCP_COUNT, PCP_HIGH
from zonesim.ops.kernel import Kernel, WorkHandle
from zonesim.sched import irq_off, writes


async def drain_local_pages(k: Kernel, cpu: int) -> None:
    if k.pcp_spinlock:
        await drain_pages_zone_locked(k, cpu, cpu)
        return
    with irq_off():  # drain_pages_zone(): local_lock_irqsave
        freed = await drain_pages_zone(k.zone, cpu)
    k.trace("pcp_drain", cpu, pages=len(freed))


async def drain_pages_zone_locked(k: Kernel, cpu: int, c: int) -> None:
    """v6.0 drain_pages_zone(c, zone), run by ``cpu`` (c's own CPU, or any CPU for a remote
    drain, 443c2accd1b6): ``if (pcp->count)`` peeked without the lock, then
    spin_lock_irqsave(&pcp->lock) and free_pcppages_bulk(zone, pcp->count, pcp)."""
    await k.sp("drain_pages_zone:peek", cpu, k.reads_of(PCP_COUNT, c))
    if not k.zone.pcp[c].count:
        return
    async with k.pcp_lock(c):  # spin_lock_irqsave(&pcp->lock): spins while c holds it
        with irq_off():
            freed = await drain_pages_zone(k.zone, c)
    k.trace("pcp_drain", cpu, target=k.cpu_names[c], pages=len(freed))


async def __drain_all_pages(
    k: Kernel, cpu: int, force_all_cpus: bool, *, zone_specific: bool = True
) -> None:
    """Queue drain_local_pages_wq on every CPU whose pcp holds pages (or all when forced),
    then flush each: the drain runs ON that CPU, after whatever it is doing that cannot
    be interrupted (P5). ``zone_specific`` False is drain_all_pages(NULL): ``if
    (!mutex_trylock(&pcpu_drain_mutex)) { if (!zone) return; ... }``."""
    if zone_specific:
        await k.pcpu_drain_mutex.acquire()
    elif not await k.pcpu_drain_mutex.trylock("__drain_all_pages:trylock"):
        k.trace("drain_all_pages", cpu, result="skipped (a drain is in progress)")
        return
    try:
        targets = await _drain_targets(k, cpu, force_all_cpus)
        if k.policy.has("443c2accd1b6"):
            # v6.0: each CPU's pcp is drained from here, under that pcp's lock
            for c in targets:
                await drain_pages_zone_locked(k, cpu, c)
        else:
            works: list[WorkHandle] = []
            for c in targets:
                works.append(
                    k.queue_work(k.cpu_names[c], "drain_local_pages_wq", _drain_wq(k, c))
                )
            for w in works:
                await w.flush()
    finally:
        k.pcpu_drain_mutex.release()
    k.trace("drain_all_pages", cpu, cpus=",".join(k.cpu_names[c] for c in targets))


async def _drain_targets(k: Kernel, cpu: int, force_all_cpus: bool) -> list[int]:
    targets: list[int] = []
    for c in range(len(k.zone.pcp)):
        if force_all_cpus:
            targets.append(c)
            continue
        # has_pcps = per_cpu_ptr(zone->per_cpu_pageset, cpu)->count: no lock
        await k.sp("__drain_all_pages:peek", cpu, k.reads_of(PCP_COUNT, c))
        if k.zone.pcp[c].count != 0:
            targets.append(c)
    await k.sp("__drain_all_pages:after_peek", cpu)
    return targets


def _drain_wq(k: Kernel, c: int) -> Callable[[], Awaitable[None]]:
    async def drain_local_pages_wq() -> None:
        # preempt_disable(); drain_local_pages(zone); preempt_enable()
        await drain_local_pages(k, c)

    return drain_local_pages_wq


async def drain_all_pages(k: Kernel, cpu: int) -> None:
    await __drain_all_pages(k, cpu, False)


async def drain_all_pages_any(k: Kernel, cpu: int) -> None:
    """drain_all_pages(NULL) (direct reclaim): a drain already in progress is enough."""
    await __drain_all_pages(k, cpu, False, zone_specific=False)


async def pageset_update(k: Kernel, cpu: int, c: int, high: int, batch: int) -> None:
    """pageset_update() (5.10+): ``WRITE_ONCE(pcp->batch, batch); WRITE_ONCE(pcp->high,
    high);`` on CPU ``c``'s pcp, without that CPU's lock: its owner may be between its reads
    of high and batch in free_unref_page_commit."""
    pcp = k.zone.pcp[c]
    await k.sp("pageset_update:batch", cpu, writes((PCP_HIGH, c)))
    pcp.batch = batch
    await k.sp("pageset_update:high", cpu, writes((PCP_HIGH, c)))
    pcp.high = high
    k.trace("pageset_update", cpu, target=k.cpu_names[c], high=high, batch=batch)


async def zone_pcp_update(k: Kernel, cpu: int, high: int, batch: int) -> None:
    """A sysctl write or memory onlining: new high/batch on every CPU, under
    pcp_batch_high_lock; the CPUs' pcps are written without their lock (WRITE_ONCE)."""
    async with k.pcp_batch_high_lock:
        k.zone.pageset_high, k.zone.pageset_batch = high, batch
        for c in range(len(k.zone.pcp)):
            await pageset_update(k, cpu, c, high, batch)
    k.trace("pcp_update", cpu, high=high, batch=batch)


async def zone_pcp_disable(k: Kernel, cpu: int) -> None:
    """ec6e8c7e0314: high=0, batch=1 on all CPUs, then a forced drain of every CPU."""
    await k.pcp_batch_high_lock.acquire()
    for c in range(len(k.zone.pcp)):
        await pageset_update(k, cpu, c, 0, 1)
    await __drain_all_pages(k, cpu, True)


async def zone_pcp_enable(k: Kernel, cpu: int) -> None:
    for c in range(len(k.zone.pcp)):
        await pageset_update(k, cpu, c, k.zone.pageset_high, k.zone.pageset_batch)
    k.pcp_batch_high_lock.release()
