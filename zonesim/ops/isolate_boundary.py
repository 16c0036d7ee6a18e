"""v5.19 isolation at pageblock granularity: start_isolate_page_range() with
isolate_single_pageblock() at both boundary pageblocks (b2c9e2fbba32, 6e263fff1de4) and
the 2022 fixes as switches (kernel-reference §4.2, §4.3).

Only the two boundary pageblocks can be straddled by a free block or an allocation that
reaches into the neighbouring, non-isolated pageblocks. A straddling free block is split
(split_free_page) so each piece goes to its own pageblock's list; a straddling movable
compound page is migrated away first. The scan runs without zone->lock.
"""

from __future__ import annotations

from zonesim.model.buddy import ISOLATE
from zonesim.model.errors import KernelWarn
from zonesim.model.isolate import split_free_page
from zonesim.model.memmap import NIL, PG_buddy, PG_hugetlb, PG_lru, PG_movable
from zonesim.model.sync import PAGE, PB
from zonesim.model.types import MigrateType
from zonesim.ops.errno import EBUSY
from zonesim.ops.isolation import (
    first_valid_pfn,
    set_migratetype_isolate,
    undo_isolate_page_range,
    unset_migratetype_isolate,
)
from zonesim.ops.kernel import Kernel
from zonesim.sched import reads, writes


async def start_isolate_page_range_v519(
    k: Kernel,
    cpu: int,
    start: int,
    end: int,
    mt: int,
    flags: int,
    roi: tuple[int, int] | None = None,
) -> int:
    """start_isolate_page_range() of 6e263fff1de4: unaligned range, the two boundary
    pageblocks through isolate_single_pageblock, the middle ones as in 5.15. The caller
    (zonesim.ops.isolation) marks the range as being walked."""
    pb = k.zone.geometry.pageblock_nr_pages
    isolate_start = start & ~(pb - 1)
    isolate_end = (end + pb - 1) & ~(pb - 1)
    ret = await isolate_single_pageblock(k, cpu, isolate_start, flags, False, False, mt)
    if ret:
        return ret
    # 9b209e557d69: a range within one pageblock was isolated by the first call already.
    skip = isolate_start == isolate_end - pb and k.policy.has("9b209e557d69")
    ret = await isolate_single_pageblock(k, cpu, isolate_end, flags, True, skip, mt)
    if ret:
        async with k.zone_lock:
            await unset_migratetype_isolate(k, cpu, isolate_start, mt)
        return ret
    for pfn in range(isolate_start + pb, isolate_end - pb, pb):
        page = first_valid_pfn(k, pfn, pb)
        if page is None:
            continue
        async with k.zone_lock:
            r = await set_migratetype_isolate(k, cpu, page, mt, flags, start, end, roi)
        if r:
            await undo_isolate_page_range(k, cpu, isolate_start, pfn, mt)
            async with k.zone_lock:
                await unset_migratetype_isolate(k, cpu, isolate_end - pb, mt)
            return EBUSY
    return 0


def _boundary_mt(k: Kernel, saved: int, mt: int) -> int:
    """The type isolate_single_pageblock passes for its own pageblock: 88ee134320b8 passed
    the block's saved type (so a non-CMA caller could isolate a CMA block), 80e2b584f3ab
    the caller's migratetype."""
    return mt if k.policy.has("80e2b584f3ab") else saved


async def _isolate_block(k: Kernel, cpu: int, blk: int, mt: int, flags: int) -> int:
    """The boundary pageblock's own isolation."""
    zone = k.zone
    pb = zone.geometry.pageblock_nr_pages
    if k.policy.has("88ee134320b8"):
        async with k.zone_lock:
            saved = int(zone.get_pageblock_migratetype(blk))
            use = _boundary_mt(k, saved, mt)
            return await set_migratetype_isolate(k, cpu, blk, use, flags, blk, blk + pb)
    # b2c9e2fbba32 as first merged: only the pageblock type was written -- no lock, no
    # unmovable check, no free pages moved, nr_isolate_pageblock not counted; the undo
    # later decrements and re-counts as if it had been.
    await k.sp("isolate_single_pageblock:set_pb", cpu, writes((PB, blk >> zone.pageblock_order)))
    saved = int(zone.get_pageblock_migratetype(blk))
    zone.set_pageblock_migratetype(blk, MigrateType.ISOLATE)
    k.trace(
        "pageblock_isolated",
        cpu,
        pfn=blk,
        from_mt=MigrateType(saved).name,
        to_mt="ISOLATE",
        note="type only",
    )
    return 0


async def isolate_single_pageblock(
    k: Kernel, cpu: int, boundary: int, flags: int, before: bool, skip: bool, mt: int
) -> int:
    zone = k.zone
    m = zone.memmap
    pb = zone.geometry.pageblock_nr_pages
    blk = boundary - pb if before else boundary
    if not zone.has_memmap(blk):
        return 0
    scan_start = max(blk & ~(zone.geometry.max_order_nr_pages - 1), zone.start_pfn)
    saved = int(zone.get_pageblock_migratetype(blk))
    if not skip:
        ret = await _isolate_block(k, cpu, blk, mt, flags)
        if ret:
            return EBUSY
    fixed_88ee = k.policy.has("88ee134320b8")
    hygienic = k.policy.has("fd919a85cd55")
    # Nothing can straddle the boundary when the neighbour across it has no memmap.
    other = boundary if before else boundary - 1
    if not zone.has_memmap(other):
        return 0
    pfn = scan_start
    rounds = 0
    while pfn < boundary:
        # zone->lock is not held while walking: every page examined is one lockless read of
        # its PageBuddy/order and compound/LRU state, so another CPU's allocation, free or
        # merge can land between two reads.
        await k.sp("isolate_single_pageblock:scan", cpu, reads((PAGE, None), (PB, None)))
        if not zone.has_memmap(pfn):
            pfn += 1
            continue
        i = pfn - zone.start_pfn
        if hygienic:
            verdict = _scan_step_v610(k, pfn, boundary)
            if verdict is None:
                return await _fail(k, cpu, blk, skip, saved, mt)
            pfn = verdict
            continue
        if m.flags[i] & PG_buddy:
            order = m.order[i]
            if pfn + (1 << order) > boundary:
                await k.sp("isolate_single_pageblock:split", cpu)
                async with k.zone_lock:
                    r = await split_free_page(
                        zone,
                        pfn,
                        order,
                        boundary - pfn,
                        fixed=k.policy.has("86d28b070927"),
                        aligned=fixed_88ee,
                    )
                k.trace(
                    "split_free_page",
                    cpu,
                    pfn=pfn,
                    order=order,
                    boundary_pfn=boundary,
                    result="ok" if not r else "-ENOENT",
                )
                if r:
                    continue  # the block changed under us: rescan from the same pfn
            pfn += 1 << order
            continue
        aid = m.owner[i]
        if aid != NIL and zone.allocations[aid].compound:
            a = zone.allocations[aid]
            head = a.pfn
            # compound_nr(page) of a tail is 1; 547be963c99f takes compound_nr(head)
            nr = a.nr if (pfn == head or k.policy.has("547be963c99f")) else 1
            # 88ee134320b8 fixed the off-by-one: a page ending exactly at the boundary
            # does not straddle it.
            ends_before = head + nr <= boundary if fixed_88ee else head + nr < boundary
            if ends_before:
                pfn = head + nr
                continue
            if m.flags[head - zone.start_pfn] & (PG_lru | PG_movable | PG_hugetlb):
                # PageHuge(page) || PageLRU(page) || __PageMovable(page)
                ret = await _migrate_straddler(k, cpu, head, a.nr, flags)
                if ret:
                    return await _fail(k, cpu, blk, skip, saved, mt)
                found = await _outer_free(k, cpu, pfn)
                if found is None:
                    if fixed_88ee:
                        return await _fail(k, cpu, blk, skip, saved, mt)
                    # b2c9e2fbba32: rescan from pfn -- a livelock if another CPU keeps
                    # taking the freed page (Qian Cai's report); bounded by max_steps.
                    rounds += 1
                    await k.sp("isolate_single_pageblock:rescan", cpu)
                    continue
                pfn = found
                continue
            return await _fail(k, cpu, blk, skip, saved, mt)
        pfn += 1
    return 0


def _scan_step_v610(k: Kernel, pfn: int, boundary: int) -> int | None:
    """One page of fd919a85cd55's scan (6.10): set_migratetype_isolate has split any free
    buddy across the boundary (move_freepages_block_isolate), so a straddling buddy is only
    warned about; a compound page across the boundary fails the isolation (hugetlb is
    skipped: gigantic pages are freed as order-0 chunks, and LRU pages "(currently) do not
    exceed pageblock_order" -- a VM_WARN_ON_ONCE_PAGE if one does). Returns the next pfn,
    or None for ``goto failed``."""
    zone = k.zone
    m = zone.memmap
    i = pfn - zone.start_pfn
    if m.flags[i] & PG_buddy:
        order = m.order[i]
        if pfn + (1 << order) > boundary:
            raise KernelWarn(
                f"isolate_single_pageblock: VM_WARN_ON_ONCE(pfn + (1 << order) > boundary_pfn):"
                f" free order-{order} block at {pfn:#x} crosses the boundary {boundary:#x} "
                f"after move_freepages_block_isolate() split what was there",
                pfn=pfn,
            )
        return pfn + (1 << order)
    aid = m.owner[i]
    if aid != NIL and zone.allocations[aid].compound:
        a = zone.allocations[aid]
        if a.pfn + a.nr <= boundary or a.hugetlb:
            # hugetlb: "gigantic pages are freed as order-0 chunks"
            return a.pfn + a.nr
        if m.flags[a.pfn - zone.start_pfn] & (PG_lru | PG_movable):
            raise KernelWarn(
                f"isolate_single_pageblock: VM_WARN_ON_ONCE_PAGE(PageLRU(page)): a movable "
                f"order-{a.order} compound page at {a.pfn:#x} crosses the boundary "
                f"{boundary:#x}; 6.10 expects LRU pages no larger than pageblock_order",
                pfn=a.pfn,
            )
        return None
    return pfn + 1


async def _outer_free(k: Kernel, cpu: int, pfn: int) -> int | None:
    """After migrating a straddler: ``while (!PageBuddy(pfn_to_page(outer_pfn)))``, rounding
    outer_pfn down one order at a time up to MAX_ORDER, without zone->lock (one step per
    peek). The first PageBuddy found is where the scan resumes, whether or not it covers
    ``pfn``; None when there is none (88ee134320b8: fail; before it: rescan from pfn)."""
    zone = k.zone
    m = zone.memmap
    order = 0
    outer = pfn
    while True:
        await k.sp("isolate_single_pageblock:outer_pfn", cpu, reads((PAGE, None)))
        if zone.has_memmap(outer) and m.flags[outer - zone.start_pfn] & PG_buddy:
            return outer
        order += 1
        if order >= zone.max_order:
            return None
        outer &= ~0 << order


async def _migrate_straddler(k: Kernel, cpu: int, head: int, nr: int, flags: int) -> int:
    """Migrate a movable compound page that straddles the boundary. From 88ee134320b8 on,
    its pageblock is isolated for the while (with the page's own type) so the freed page
    cannot be allocated again before it is split."""
    from zonesim.ops.migrate import __alloc_contig_migrate_range

    zone = k.zone
    isolated_here = False
    page_mt = int(zone.get_pageblock_migratetype(head))
    if k.policy.has("88ee134320b8") and page_mt != ISOLATE:
        async with k.zone_lock:
            r = await set_migratetype_isolate(k, cpu, head, page_mt, flags, head, head + nr)
        if r:
            return EBUSY
        isolated_here = True
    ret = await __alloc_contig_migrate_range(k, cpu, head, head + nr)
    if isolated_here:
        async with k.zone_lock:
            await unset_migratetype_isolate(k, cpu, head, page_mt)
    return ret


async def _fail(k: Kernel, cpu: int, blk: int, skip: bool, saved: int, mt: int) -> int:
    if skip:
        return EBUSY
    zone = k.zone
    if k.policy.has("88ee134320b8"):
        async with k.zone_lock:
            await unset_migratetype_isolate(k, cpu, blk, _boundary_mt(k, saved, mt))
        return EBUSY
    # b2c9e2fbba32: "restore the original migratetype" -- a plain write, no lock
    blockno = blk >> zone.pageblock_order
    await k.sp("isolate_single_pageblock:restore_pb", cpu, writes((PB, blockno)))
    zone.set_pageblock_migratetype(blk, MigrateType(saved))
    return EBUSY
