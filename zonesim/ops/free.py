"""Freeing: __free_pages -> free_unref_page (pcp orders) or __free_pages_ok (v5.15).

Both paths read the pageblock type without zone->lock (get_pfnblock_migratetype): the
switch point right before the read declares it (docs/lockless.md), and the two windows of
kernel-reference §2.3 are switch points after it: P1 between free_unref_page_prepare's read
and local_lock, P2 between __free_pages_ok's read and zone->lock.
"""

from __future__ import annotations

from zonesim.model.alloc import free_pages_prepare
from zonesim.model.buddy import FPI_NONE, ISOLATE, MOVABLE, __free_one_page
from zonesim.model.pcp import free_unref_page_commit
from zonesim.model.sync import PB
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.kernel import Kernel
from zonesim.sched import irq_off, reads


async def free_pages(k: Kernel, cpu: int, a: Allocation) -> None:
    """__free_pages() of a whole allocation (refcount drops to zero)."""
    zone = k.zone
    pfn, order = a.pfn, a.order
    free_pages_prepare(zone, a)
    k.trace("free_pages", cpu, pfn=pfn, order=order, alloc=a.id)
    if zone.geometry.pcp_allowed_order(order):
        await free_unref_page(k, cpu, pfn, order)
    else:
        await __free_pages_ok(k, cpu, pfn, order, FPI_NONE)


async def free_unref_page(
    k: Kernel, cpu: int, pfn: int, order: int, *, preemptible: bool = True
) -> None:
    """``preemptible=False`` drops the switch points: free_contig_range frees a range
    page by page and the model yields before the first page of each pageblock only (the
    frees of one pageblock's pages in a row differ for another CPU only by where the pcp
    list spills, which the next pageblock's yield still exposes)."""
    zone = k.zone
    if preemptible:
        await k.sp(
            "free_unref_page_prepare:read_pb", cpu, reads((PB, pfn >> zone.pageblock_order))
        )
    # free_unref_page_prepare(): lockless pageblock read, cached in page->index
    mt = int(zone.get_pageblock_migratetype(pfn))
    zone.memmap.cached_mt[zone.idx(pfn)] = mt
    if preemptible:
        await k.sp("free_unref_page:after_pb_read", cpu)  # P1: window A
    if mt >= MIGRATE_PCPTYPES:
        if mt == ISOLATE:
            await free_one_page(k, cpu, pfn, order, mt, FPI_NONE)
            return
        mt = MOVABLE  # CMA and HIGHATOMIC ride on the MOVABLE pcp list
    with irq_off():  # local_lock_irqsave(&pagesets.lock)
        freed = await free_unref_page_commit(zone, cpu, pfn, mt, order)
    k.trace("pcp_free", cpu, pfn=pfn, order=order, mt=MigrateType(mt).name, spilled=len(freed))


async def free_one_page(k: Kernel, cpu: int, pfn: int, order: int, mt: int, fpi: int) -> None:
    zone = k.zone
    async with k.zone_lock:  # spin_lock_irqsave(&zone->lock)
        if zone.flags.free_one_page_reread_mt and (zone.has_isolate_pageblock() or mt == ISOLATE):
            mt = int(zone.get_pageblock_migratetype(pfn))
        head, merged = await __free_one_page(zone, pfn, order, mt, fpi)
    k.trace(
        "free_one_page",
        cpu,
        pfn=pfn,
        order=order,
        mt=MigrateType(mt).name,
        merged_pfn=head,
        merged_order=merged,
    )


async def __free_pages_ok(k: Kernel, cpu: int, pfn: int, order: int, fpi: int) -> None:
    await k.sp("__free_pages_ok:read_pb", cpu, reads((PB, pfn >> k.zone.pageblock_order)))
    mt = int(k.zone.get_pageblock_migratetype(pfn))  # lockless read
    await k.sp("__free_pages_ok:after_pb_read", cpu)  # P2: window B
    await free_one_page(k, cpu, pfn, order, mt, fpi)
