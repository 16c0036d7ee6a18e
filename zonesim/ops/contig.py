"""alloc_contig_range() and free_contig_range() (v5.15 mm/page_alloc.c, mm/compaction.c).

    isolate [aligned range]  ->  drain_all_pages  ->  migrate [start, end)  ->
    outer_start search (no lock, P7)  ->  test_pages_isolated  ->
    isolate_freepages_range  ->  free the excess  ->  undo isolation (P8)

How far the isolation reaches is the design question of the founding thread:
  v5.15            the range rounded out to max(MAX_ORDER-1, pageblock) blocks
  rfc1/1-align     the range's own pageblocks (RFC 1/3's pfn_max_align_*)
  dh/c-no-extend   rounded out, but only over pageblocks of the range's own type
  b2c9e2fbba32     the range's pageblocks, boundaries handled by isolate_single_pageblock
"""

from __future__ import annotations

from zonesim.model.alloc import make_contig_allocation, trim_contig_allocation
from zonesim.model.buddy import FPI_NONE, __free_one_page
from zonesim.model.isolate import __isolate_free_page
from zonesim.model.memmap import PG_buddy
from zonesim.model.sync import PAGE
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.drain import drain_all_pages
from zonesim.ops.errno import EBUSY, errname
from zonesim.ops.free import free_unref_page
from zonesim.ops.isolate_range import start_isolate_page_range
from zonesim.ops.isolation import (
    test_pages_isolated,
    undo_isolate_page_range,
)
from zonesim.ops.kernel import Kernel
from zonesim.ops.migrate import __alloc_contig_migrate_range
from zonesim.sched import reads


def isolation_range(k: Kernel, start: int, end: int) -> tuple[int, int]:
    """The pageblocks alloc_contig_range isolates for [start, end) under the policy."""
    g = k.zone.geometry
    pb = g.pageblock_nr_pages
    rfc_align = k.policy.has("rfc1/1-align") and not k.policy.has("dh/c-no-extend")
    if k.policy.has("6e263fff1de4") or rfc_align:
        return start & ~(pb - 1), (end + pb - 1) & ~(pb - 1)
    align = max(g.max_order_nr_pages, pb)  # pfn_max_align_down / pfn_max_align_up
    lo, hi = start & ~(align - 1), (end + align - 1) & ~(align - 1)
    lo, hi = max(lo, k.zone.start_pfn & ~(pb - 1)), min(hi, (k.zone.end_pfn + pb - 1) & ~(pb - 1))
    if k.policy.has("dh/c-no-extend"):
        # proposal c): extend only over pageblocks of the range's own type
        own = k.zone.get_pageblock_migratetype(max(start, k.zone.start_pfn))
        own_lo, own_hi = start & ~(pb - 1), (end + pb - 1) & ~(pb - 1)
        while (
            lo < own_lo
            and k.zone.get_pageblock_migratetype(max(own_lo - pb, k.zone.start_pfn)) == own
        ):
            own_lo -= pb
        while (
            own_hi < hi and k.zone.get_pageblock_migratetype(min(own_hi, k.zone.end_pfn - 1)) == own
        ):
            own_hi += pb
        lo, hi = own_lo, own_hi
    return lo, hi


async def alloc_contig_range(
    k: Kernel, cpu: int, start: int, end: int, mt: int
) -> tuple[int, Allocation | None]:
    """Returns (0, the allocation of [start, end)) or (error, None)."""
    iso_lo, iso_hi = isolation_range(k, start, end)
    k.trace(
        "alloc_contig_range",
        cpu,
        pfn=start,
        end_pfn=end,
        mt=MigrateType(mt).name,
        isolate_pfn=iso_lo,
        isolate_end_pfn=iso_hi,
    )
    ret = await start_isolate_page_range(k, cpu, iso_lo, iso_hi, mt, 0, roi=(start, end))
    if ret:
        if k.policy.has("b2c9e2fbba32") and not k.policy.has("fix/acr-undo-own"):
            # "goto done": the undo covers the whole range -- including pageblocks that
            # another caller had isolated, which is how this one failed (research §3.4 e)
            await undo_isolate_page_range(k, cpu, iso_lo, iso_hi, mt)
        k.trace("alloc_contig_range_done", cpu, pfn=start, result=errname(ret))
        return ret, None
    k.checkpoint("alloc_contig_range:isolated")
    await drain_all_pages(k, cpu)
    result: Allocation | None = None
    ret = await __alloc_contig_migrate_range(k, cpu, start, end)
    if ret and ret != EBUSY:
        await undo_isolate_page_range(k, cpu, iso_lo, iso_hi, mt)
        k.trace("alloc_contig_range_done", cpu, pfn=start, result=errname(ret))
        return ret, None
    ret = 0
    outer_start = await _outer_start(k, cpu, start)  # P7: no zone->lock from here
    ret = await test_pages_isolated(k, cpu, outer_start, end, 0)
    if not ret:
        got = await isolate_freepages_range(k, cpu, outer_start, end)
        if got is None:
            ret = EBUSY
        else:
            result = got
            if start != outer_start:
                await free_contig_range(k, cpu, got, outer_start, start - outer_start)
            outer_end = got.pfn + got.nr
            if end != outer_end:
                await free_contig_range(k, cpu, got, end, outer_end - end)
    await undo_isolate_page_range(k, cpu, iso_lo, iso_hi, mt)
    if result is not None:
        k.event_check("I7_contig_range_allocated", result.pfn, result.pfn + result.nr)
    k.trace("alloc_contig_range_done", cpu, pfn=start, end_pfn=end, result=errname(ret))
    return ret, result


async def _outer_start(k: Kernel, cpu: int, start: int) -> int:
    """The free block containing ``start``, found without zone->lock ("pages are
    isolated"): the largest aligned block below start that is PageBuddy. Each pfn examined
    is one lockless read of its PageBuddy/order (a step: another CPU may merge, split or
    allocate between two reads)."""
    zone = k.zone
    m = zone.memmap
    order = 0
    outer = start
    while True:
        await k.sp("alloc_contig_range:outer_start", cpu, reads((PAGE, None)))
        if zone.has_memmap(outer) and m.flags[outer - zone.start_pfn] & PG_buddy:
            break
        order += 1
        if order >= zone.max_order:
            return start
        outer &= ~0 << order
    if outer != start:
        order = m.order[outer - zone.start_pfn]
        if outer + (1 << order) <= start:  # a smaller buddy that does not cover start
            return start
    return outer


async def isolate_freepages_range(k: Kernel, cpu: int, start: int, end: int) -> Allocation | None:
    """isolate_freepages_range() in strict mode: every page of [start, end) must be free;
    one zone->lock section per pageblock chunk (compact_lock_irqsave). The blocks taken
    become one contiguous allocation of split order-0 pages, possibly reaching past end."""
    zone = k.zone
    m = zone.memmap
    pb = zone.geometry.pageblock_nr_pages
    taken: list[tuple[int, int]] = []
    pfn = start
    ok = True
    while pfn < end and ok:
        block_end = min((pfn + pb) & ~(pb - 1), end)
        async with k.zone_lock:
            while pfn < block_end:
                i = pfn - zone.start_pfn
                if not zone.has_memmap(pfn) or not m.flags[i] & PG_buddy:
                    ok = False
                    break
                order = m.order[i]
                if not await __isolate_free_page(zone, pfn, order):
                    ok = False
                    break
                taken.append((pfn, order))
                pfn += 1 << order
    if not ok:
        # release_freepages(): give back what was taken, through the buddy
        async with k.zone_lock:
            for p, order in taken:
                await __free_one_page(
                    zone, p, order, zone.get_pageblock_migratetype(p), FPI_NONE
                )
        return None
    a = make_contig_allocation(zone, start, pfn - start, MigrateType.MOVABLE, cpu)
    return a


async def free_contig_range(k: Kernel, cpu: int, a: Allocation, pfn: int, nr: int) -> None:
    """free_contig_range(): __free_page() on each page of [pfn, pfn+nr), which must be at
    an end of contiguous allocation ``a``. Each page goes through free_unref_page."""
    zone = k.zone
    trim_contig_allocation(zone, a, pfn, nr)
    pb = zone.geometry.pageblock_nr_pages
    for p in range(pfn, pfn + nr):
        await free_unref_page(k, cpu, p, 0, preemptible=p == pfn or p % pb == 0)
    if a.nr == 0:
        del zone.allocations[a.id]
        zone.by_token.pop(a.token, None)
