"""Allocation: __alloc_pages -> get_page_from_freelist -> rmqueue (v5.15 mm/page_alloc.c).

The slow path (reclaim, compaction, OOM) is not modelled: a request that the fast path
cannot serve above the min watermark returns NULL, as __GFP_NORETRY would.
"""

from __future__ import annotations

from zonesim.model.alloc import prep_new_page, rmqueue_buddy, zone_watermark_ok
from zonesim.model.buddy import ALLOC_CMA, ALLOC_HARDER
from zonesim.model.pcp import __rmqueue_pcplist
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.drain import drain_all_pages_any
from zonesim.ops.highatomic import reserve_highatomic_pageblock, unreserve_highatomic_pageblock
from zonesim.ops.kernel import Kernel
from zonesim.sched import irq_off

MOVABLE = MigrateType.MOVABLE


def gfp_alloc_flags(mt: MigrateType, *, cma: bool, harder: bool = False) -> int:
    """gfp_to_alloc_flags_cma(): movable requests may use CMA unless pinned long-term."""
    flags = 0
    if mt == MOVABLE and cma:
        flags |= ALLOC_CMA
    if harder:
        flags |= ALLOC_HARDER
    return flags


async def rmqueue(k: Kernel, cpu: int, order: int, mt: int, alloc_flags: int) -> int | None:
    """rmqueue(): the pcp list for pcp orders (not for movable requests without ALLOC_CMA,
    since the MOVABLE pcp list may hold CMA pages), zone->lock otherwise.

    5.15: a NULL from the pcp path is the answer. v6.0 (4b23a68f9536): the pcp is taken
    with spin_trylock (NULL while a remote drain holds it), and a NULL from the pcp path
    falls through to rmqueue_buddy."""
    zone = k.zone
    if zone.geometry.pcp_allowed_order(order) and (alloc_flags & ALLOC_CMA or mt != MOVABLE):
        if not k.pcp_spinlock:
            with irq_off():  # local_lock_irqsave(&pagesets.lock)
                return await __rmqueue_pcplist(zone, cpu, order, mt, alloc_flags)
        lock = k.pcp_lock(cpu)
        if await lock.trylock("rmqueue_pcplist:trylock"):
            try:
                with irq_off():  # pcp_spin_trylock_irqsave
                    pfn = await __rmqueue_pcplist(zone, cpu, order, mt, alloc_flags)
            finally:
                lock.release()
            if pfn is not None:
                return pfn
        else:
            k.trace("pcp_trylock_failed", cpu, order=order, lock=lock.name)
    await k.sp("rmqueue:before_zone_lock", cpu)
    async with k.zone_lock:  # spin_lock_irqsave(&zone->lock)
        return await rmqueue_buddy(zone, order, mt, alloc_flags)


async def alloc_pages(
    k: Kernel,
    cpu: int,
    order: int,
    mt: MigrateType,
    *,
    compound: bool = False,
    movable: bool | None = None,
    cma: bool = True,
    token: int | None = None,
    harder: bool = False,
    hugetlb: bool = False,
    reclaim: bool = False,
) -> Allocation | None:
    """__alloc_pages(): watermark check, rmqueue, prep_new_page. NULL on failure.

    ``reclaim``: a request that may enter direct reclaim. Reclaim itself is not modelled;
    what the slow path does to the allocator's own reserves is: after a failed attempt
    __alloc_pages_direct_reclaim gives back a highatomic pageblock (keeping one) and drains
    every CPU's pcp lists, then retries once; should_reclaim_retry gives back the last
    reserved pageblock before OOM and the request retries again."""
    zone = k.zone
    alloc_flags = gfp_alloc_flags(mt, cma=cma, harder=harder)
    pfn = await get_page_from_freelist(k, cpu, order, mt, alloc_flags)
    if pfn is None and reclaim:
        await unreserve_highatomic_pageblock(k, cpu, int(mt), force=False)
        await drain_all_pages_any(k, cpu)
        pfn = await get_page_from_freelist(k, cpu, order, mt, alloc_flags)
        if pfn is None and await unreserve_highatomic_pageblock(k, cpu, int(mt), force=True):
            pfn = await get_page_from_freelist(k, cpu, order, mt, alloc_flags)
    if pfn is None:
        return None
    is_movable = mt == MOVABLE if movable is None else movable
    a = prep_new_page(
        zone,
        pfn,
        order,
        mt,
        compound=compound,
        movable=is_movable,
        cpu=cpu,
        token=token,
        hugetlb=hugetlb,
    )
    if k.tracing:  # the record's fields cost two enum lookups: not built for nothing
        k.trace(
            "alloc_pages",
            cpu,
            order=order,
            mt=mt.name,
            pfn=pfn,
            from_mt=MigrateType(zone.memmap.cached_mt[zone.idx(pfn)]).name,
            result="ok",
            alloc=a.id,
        )
    if order and alloc_flags & ALLOC_HARDER:
        # get_page_from_freelist: a high-order atomic allocation may reserve its pageblock
        await reserve_highatomic_pageblock(k, cpu, pfn)
    return a


async def get_page_from_freelist(
    k: Kernel, cpu: int, order: int, mt: MigrateType, alloc_flags: int
) -> int | None:
    zone = k.zone
    # zone_watermark_fast() reads the counters locklessly; another CPU may run right after.
    if not zone_watermark_ok(zone, order, zone.watermarks.min, alloc_flags):
        k.trace("alloc_pages", cpu, order=order, mt=mt.name, result="NULL (watermark)")
        return None
    await k.sp("get_page_from_freelist:after_watermark", cpu)
    pfn = await rmqueue(k, cpu, order, int(mt), alloc_flags)
    if pfn is None:
        k.trace("alloc_pages", cpu, order=order, mt=mt.name, result="NULL")
    return pfn
