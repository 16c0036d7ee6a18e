"""Draining pcp lists and changing their size (v5.15): drain_local_pages,
__drain_all_pages (work queued on each CPU that the racy count peek selects),
zone_pcp_update / zone_pcp_disable / zone_pcp_enable."""

from __future__ import annotations

from zonesim.model.pcp import drain_pages_zone
from zonesim.ops.kernel import Kernel, WorkHandle
from zonesim.sched import irq_off


async def drain_local_pages(k: Kernel, cpu: int) -> None:
    with irq_off():  # drain_pages_zone(): local_lock_irqsave
        freed = drain_pages_zone(k.zone, cpu)
    k.trace("pcp_drain", cpu, pages=len(freed))


async def __drain_all_pages(k: Kernel, cpu: int, force_all_cpus: bool) -> None:
    """Queue drain_local_pages_wq on every CPU whose pcp holds pages (or all when forced),
    then flush each: the drain runs ON that CPU, after whatever it is doing that cannot
    be interrupted (P5)."""
    async with k.pcpu_drain_mutex:
        targets = [c for c in range(len(k.zone.pcp)) if force_all_cpus or k.zone.pcp[c].count != 0]
        await k.sp("__drain_all_pages:after_peek", cpu)
        works: list[WorkHandle] = []
        for c in targets:
            works.append(k.queue_work(k.cpu_names[c], "drain_local_pages_wq", _drain_wq(k, c)))
        for w in works:
            await w.flush()
    k.trace("drain_all_pages", cpu, cpus=",".join(k.cpu_names[c] for c in targets))


def _drain_wq(k: Kernel, c: int):  # type: ignore[no-untyped-def]
    async def drain_local_pages_wq() -> None:
        # preempt_disable(); drain_local_pages(zone); preempt_enable()
        await drain_local_pages(k, c)

    return drain_local_pages_wq


async def drain_all_pages(k: Kernel, cpu: int) -> None:
    await __drain_all_pages(k, cpu, False)


async def zone_pcp_update(k: Kernel, cpu: int, high: int, batch: int) -> None:
    """A sysctl write or memory onlining: new high/batch on every CPU, under
    pcp_batch_high_lock; the CPUs' pcps are written without their lock (WRITE_ONCE)."""
    async with k.pcp_batch_high_lock:
        k.zone.pageset_high, k.zone.pageset_batch = high, batch
        for c, pcp in enumerate(k.zone.pcp):
            pcp.high, pcp.batch = high, batch
            if c + 1 < len(k.zone.pcp):
                await k.sp("zone_pcp_update:between_cpus", cpu)
    k.trace("pcp_update", cpu, high=high, batch=batch)


async def zone_pcp_disable(k: Kernel, cpu: int) -> None:
    """ec6e8c7e0314: high=0, batch=1 on all CPUs, then a forced drain of every CPU."""
    await k.pcp_batch_high_lock.acquire()
    for pcp in k.zone.pcp:
        pcp.high, pcp.batch = 0, 1
    await __drain_all_pages(k, cpu, True)


async def zone_pcp_enable(k: Kernel, cpu: int) -> None:
    for pcp in k.zone.pcp:
        pcp.high, pcp.batch = k.zone.pageset_high, k.zone.pageset_batch
    k.pcp_batch_high_lock.release()
