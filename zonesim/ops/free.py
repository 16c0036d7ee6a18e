"""Freeing: __free_pages -> free_unref_page (pcp orders) or __free_pages_ok (v5.15).

Both paths read the pageblock type without zone->lock (get_pfnblock_migratetype): the
switch point right before the read declares it (docs/lockless.md), and the two windows of
kernel-reference §2.3 are switch points after it: P1 between free_unref_page_prepare's read
and local_lock, P2 between __free_pages_ok's read and zone->lock.
"""

from __future__ import annotations

from zonesim.model.alloc import free_pages_prepare
from zonesim.model.buddy import FPI_NONE, ISOLATE, MOVABLE, __free_one_page
from zonesim.model.isolate import split_large_buddy
from zonesim.model.pcp import free_unref_page_commit
from zonesim.model.sync import PB
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.kernel import Kernel
from zonesim.sched import irq_off


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
    list spills, which the next pageblock's yield still exposes).

    v6.0 (4b23a68f9536): the pcp is taken with spin_trylock; when another CPU holds it (a
    remote drain, 443c2accd1b6) the page goes straight to the buddy through free_one_page
    — with the type already overridden to MOVABLE for a CMA or HIGHATOMIC page, until
    7b086755fb8c keeps the real type for that path."""
    zone = k.zone
    if preemptible:
        await k.sp(
            "free_unref_page_prepare:read_pb", cpu, k.reads_of(PB, pfn >> zone.pageblock_order)
        )
    # free_unref_page_prepare(): lockless pageblock read, cached in page->index
    mt = int(zone.get_pageblock_migratetype(pfn))
    i = zone.idx(pfn)
    k.writes_page(pfn)
    zone.memmap.cow(i)
    zone.memmap.cached_mt[i] = mt
    pcp_mt = mt
    if mt >= MIGRATE_PCPTYPES:
        if mt == ISOLATE:
            if preemptible:
                await k.sp("free_unref_page:after_pb_read", cpu)  # P1: window A
            await free_one_page(k, cpu, pfn, order, mt, FPI_NONE)
            return
        pcp_mt = MOVABLE  # CMA and HIGHATOMIC ride on the MOVABLE pcp list
        if not k.policy.has("7b086755fb8c"):
            mt = MOVABLE  # 6.0: one variable for both the pcp list and the bypass
    if k.pcp_spinlock:
        lock = k.pcp_lock(cpu)
        # P1 (window A) is the switch point of the trylock: between the pageblock read and
        # taking the pcp; it declares the read of the lock word.
        if not await lock.trylock("free_unref_page:after_pb_read", switch=preemptible):
            k.trace("pcp_trylock_failed", cpu, pfn=pfn, order=order, lock=lock.name)
            await free_one_page(k, cpu, pfn, order, mt, FPI_NONE)
            return
        try:
            with irq_off():  # spin_trylock_irqsave
                freed = await free_unref_page_commit(zone, cpu, pfn, pcp_mt, order)
        finally:
            lock.release()
    else:
        if preemptible:
            await k.sp("free_unref_page:after_pb_read", cpu)  # P1: window A
        with irq_off():  # local_lock_irqsave(&pagesets.lock)
            freed = await free_unref_page_commit(zone, cpu, pfn, pcp_mt, order)
    if k.tracing:  # the record's fields cost an enum lookup: not built for nothing
        k.trace("pcp_free", cpu, pfn=pfn, order=order, mt=MigrateType(pcp_mt).name,
                spilled=len(freed))


async def free_one_page(k: Kernel, cpu: int, pfn: int, order: int, mt: int, fpi: int) -> None:
    """free_one_page(): under zone->lock. 5.15 re-reads the pageblock type only while some
    pageblock is isolated (or the caller's type is ISOLATE: ad53f92eb416); from
    55612e80e722 (6.10) the type is always looked up here and ``mt`` is ignored; from
    e98337d11bbd (6.12) a block larger than a pageblock is freed pageblock by pageblock,
    each piece with its own pageblock's type (split_large_buddy)."""
    zone = k.zone
    async with k.zone_lock:  # spin_lock_irqsave(&zone->lock)
        if k.split_large_frees or (k.split_large_frees_fix and order > zone.pageblock_order):
            await split_large_buddy(zone, pfn, order, fpi)
            mt = int(zone.get_pageblock_migratetype(pfn))
            head, merged = pfn, order
        else:
            if k.free_one_page_reads_mt or (
                zone.flags.free_one_page_reread_mt
                and (zone.has_isolate_pageblock() or mt == ISOLATE)
            ):
                mt = int(zone.get_pageblock_migratetype(pfn))
            head, merged = await __free_one_page(zone, pfn, order, mt, fpi)
    if k.tracing:  # once per page of free_contig_range: no fields built for nothing
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
    """__free_pages_ok(): 5.15 reads the pageblock type without zone->lock (window B); from
    55612e80e722 (6.10) nothing is read before the lock."""
    if k.policy.has("55612e80e722"):
        await free_one_page(k, cpu, pfn, order, -1, fpi)
        return
    await k.sp("__free_pages_ok:read_pb", cpu, k.reads_of(PB, pfn >> k.zone.pageblock_order))
    mt = int(k.zone.get_pageblock_migratetype(pfn))  # lockless read
    await k.sp("__free_pages_ok:after_pb_read", cpu)  # P2: window B
    await free_one_page(k, cpu, pfn, order, mt, fpi)
