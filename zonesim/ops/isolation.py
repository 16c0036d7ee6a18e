"""Page isolation (mm/page_isolation.c; has_unmovable_pages from mm/page_alloc.c).

v5.15 first; the proposal's and v5.19's changes are switches read where they differ:
  dh/a-isolate-bit    undo restores the type kept beside the isolate bit
  844fbae63e46 / dh/b-range-unmovable   unmovable check limited to the range of interest
  b2c9e2fbba32 (+ 88ee134320b8, 9b209e557d69, 547be963c99f, 80e2b584f3ab, 86d28b070927)
                      the two boundary pageblocks handled by isolate_single_pageblock
Every pageblock takes and drops zone->lock on its own, so other CPUs run between two
pageblocks of one range (P4, P8).
"""

from __future__ import annotations

from zonesim.model.buddy import (
    ISOLATE,
    PageBuddy,
    __mod_zone_freepage_state,
    buddy_order,
    move_freepages_block,
    page_is_buddy,
)
from zonesim.model.isolate import (
    __isolate_free_page,
    __putback_isolated_page,
    move_freepages_block_isolate,
)
from zonesim.model.memmap import (
    NIL,
    PG_buddy,
    PG_hwpoison,
    PG_lru,
    PG_movable,
    PG_offline,
    PG_reserved,
)
from zonesim.model.sync import PB
from zonesim.model.types import MigrateType
from zonesim.ops.errno import EBUSY
from zonesim.ops.kernel import Kernel
from zonesim.sched import reads

MEMORY_OFFLINE = 0x1
REPORT_FAILURE = 0x2
CMA = MigrateType.CMA


def first_valid_pfn(k: Kernel, pfn: int, nr: int) -> int | None:
    """__first_valid_page(): first pfn of [pfn, pfn+nr) with a memmap in this zone."""
    for p in range(max(pfn, k.zone.start_pfn), min(pfn + nr, k.zone.end_pfn)):
        if k.zone.has_memmap(p):
            return p
    return None


def has_unmovable_pages(k: Kernel, start: int, end: int, mt: int, flags: int) -> int | None:
    """has_unmovable_pages() over [start, end) (zone->lock held): the first unmovable pfn.

    CMA pageblocks are unmovable for every caller but a CMA one. hugetlb pages are movable
    (their hstate is migratable); other compound pages are judged by their head only with
    THP (PageTransCompound); refcount-0 pages that are not PageBuddy — tails of
    non-compound high-order allocations and of compound pages without THP, pcp pages —
    count as movable."""
    zone = k.zone
    m = zone.memmap
    if zone.get_pageblock_migratetype(start) == CMA:
        return None if mt == CMA else start
    pfn = start
    while pfn < end:
        if not zone.has_memmap(pfn):
            pfn += 1
            continue
        i = pfn - zone.start_pfn
        f = m.flags[i]
        if f & PG_reserved:
            return pfn
        if zone.movable_zone:
            pfn += 1  # ZONE_MOVABLE: everything there is assumed movable
            continue
        aid = m.owner[i]
        if aid != NIL and zone.allocations[aid].hugetlb:
            # PageHuge(): judged by its hstate whatever the THP setting; the model's hstate
            # (PMD size) is migratable on x86-64 (hugepage_migration_supported)
            a = zone.allocations[aid]
            pfn = a.pfn + a.nr
            continue
        if aid != NIL and zone.geometry.thp and zone.allocations[aid].compound:
            # PageTransCompound(): only with CONFIG_TRANSPARENT_HUGEPAGE; without it a
            # compound page is judged page by page below (tails refcount 0: "movable", the
            # head by its own flags) -- research R7 §Q6, the same up to 6.17
            a = zone.allocations[aid]
            if not m.flags[a.pfn - zone.start_pfn] & (PG_lru | PG_movable):
                return pfn
            pfn = a.pfn + a.nr  # skip the rest of the compound page
            continue
        if m.refcount[i] == 0:
            pfn += 1 << m.order[i] if f & PG_buddy else 1
            continue
        if flags & MEMORY_OFFLINE and f & (PG_hwpoison | PG_offline):
            pfn += 1
            continue
        if f & (PG_lru | PG_movable):
            pfn += 1
            continue
        return pfn
    return None


def unmovable_check_range(
    k: Kernel, pfn: int, start: int, end: int, roi: tuple[int, int] | None
) -> tuple[int, int]:
    """The part of pfn's pageblock has_unmovable_pages() looks at.

    5.15: from the first valid page to the pageblock end. 844fbae63e46: intersected with
    the range start_isolate_page_range was given (aligned in every 5.15-style caller, so
    it changes nothing there). Proposal b): intersected with the caller's range of
    interest, so pageblocks isolated only as an extension are not checked at all."""
    pb = k.zone.geometry.pageblock_nr_pages
    pb_start = pfn & ~(pb - 1)
    lo, hi = pfn, min(pb_start + pb, k.zone.end_pfn)
    if k.policy.has("dh/b-range-unmovable") and roi is not None:
        return max(lo, roi[0]), min(hi, roi[1])
    if k.policy.has("844fbae63e46"):
        return max(lo, start), min(hi, end)
    return lo, hi


async def set_migratetype_isolate(
    k: Kernel,
    cpu: int,
    pfn: int,
    mt: int,
    flags: int,
    start: int,
    end: int,
    roi: tuple[int, int] | None = None,
) -> int:
    """set_migratetype_isolate(), zone->lock held by the caller."""
    zone = k.zone
    if zone.get_pageblock_migratetype(pfn) == ISOLATE:
        return EBUSY  # a concurrent isolator got there first
    pb = zone.geometry.pageblock_nr_pages
    pb_start = pfn & ~(pb - 1)
    lo, hi = unmovable_check_range(k, pfn, start, end, roi)
    if lo < hi:
        unmovable = has_unmovable_pages(k, lo, hi, mt, flags)
    else:
        # Nothing of the range of interest here; CMA still refuses non-CMA callers
        # (the proposal keeps that rule: "ordinary alloc_contig_range() users will fail
        # on MIGRATE_CMA pageblocks").
        cma_refused = zone.get_pageblock_migratetype(pfn) == CMA and mt != CMA
        unmovable = pfn if cma_refused else None
    if unmovable is not None:
        k.trace("isolate_failed", cpu, pfn=pb_start, unmovable_pfn=unmovable, result="-EBUSY")
        return EBUSY
    old = zone.get_pageblock_migratetype(pfn)
    if k.policy.has("fd919a85cd55"):
        # 6.10: the free pages move (straddling buddies split) before the type changes
        if not await move_freepages_block_isolate(zone, pfn, MigrateType.ISOLATE):
            k.trace("isolate_failed", cpu, pfn=pb_start, result="-EBUSY (zone edge)")
            return EBUSY
        zone.nr_isolate_pageblock += 1
        k.trace("pageblock_isolated", cpu, pfn=pb_start, from_mt=old.name, to_mt="ISOLATE")
        return 0
    zone.set_pageblock_migratetype(pfn, MigrateType.ISOLATE)
    await zone.sync.window("set_migratetype_isolate", PB, pfn >> zone.pageblock_order, True)
    zone.nr_isolate_pageblock += 1
    moved, _ = move_freepages_block(zone, pfn, ISOLATE)
    __mod_zone_freepage_state(zone, -moved, old)
    k.trace("pageblock_isolated", cpu, pfn=pb_start, from_mt=old.name, to_mt="ISOLATE", moved=moved)
    return 0


async def unset_migratetype_isolate(k: Kernel, cpu: int, pfn: int, mt: int) -> None:
    """unset_migratetype_isolate(), zone->lock held. ``mt`` is the caller's guess of the
    type to restore; with the isolate bit (proposal a) the kept type is restored."""
    zone = k.zone
    if zone.get_pageblock_migratetype(pfn) != ISOLATE:
        return
    restore = int(zone.get_pageblock_original_mt(pfn)) if zone.flags.isolate_bit else mt
    isolated_order = -1
    # A free block of pageblock_order or more that starts here may merge with a buddy in
    # a non-isolated pageblock now: take it off and put it back through the buddy.
    if PageBuddy(zone, pfn) and k.policy.has("3c605096d315"):
        # 3c605096d315: a free block of pageblock_order or more may merge with a buddy in a
        # pageblock that is not isolated: take it off and free it again
        order = buddy_order(zone, pfn)
        if zone.pageblock_order <= order < zone.max_order - 1:
            buddy = pfn ^ (1 << order)
            # 787af64d05cd: find_buddy_page_pfn() -- the buddy must be free, of this order
            present = (
                page_is_buddy(zone, buddy, order)
                if k.policy.has("787af64d05cd")
                else zone.has_memmap(buddy)
            )
            if present and zone.get_pageblock_migratetype(buddy) != ISOLATE:
                await __isolate_free_page(zone, pfn, order)
                isolated_order = order
    moved = 0
    if isolated_order < 0 and k.policy.has("fd919a85cd55"):
        await move_freepages_block_isolate(zone, pfn, MigrateType(restore))
        zone.nr_isolate_pageblock -= 1
        k.trace(
            "pageblock_unisolated",
            cpu,
            pfn=pfn & ~(zone.geometry.pageblock_nr_pages - 1),
            from_mt="ISOLATE",
            to_mt=MigrateType(restore).name,
        )
        return
    if isolated_order < 0:
        moved, _ = move_freepages_block(zone, pfn, restore)
        __mod_zone_freepage_state(zone, moved, restore)
    zone.set_pageblock_migratetype(pfn, MigrateType(restore))
    await zone.sync.window("unset_migratetype_isolate", PB, pfn >> zone.pageblock_order, True)
    if isolated_order >= 0:
        await __putback_isolated_page(zone, pfn, isolated_order, restore)
    zone.nr_isolate_pageblock -= 1
    pb = zone.geometry.pageblock_nr_pages
    k.trace(
        "pageblock_unisolated",
        cpu,
        pfn=pfn & ~(pb - 1),
        from_mt="ISOLATE",
        to_mt=MigrateType(restore).name,
        moved=moved,
    )


async def start_isolate_page_range_v515(
    k: Kernel, cpu: int, start: int, end: int, mt: int, flags: int,
    roi: tuple[int, int] | None = None,
) -> int:
    """start_isolate_page_range() before b2c9e2fbba32: isolate every pageblock of
    [start, end) (aligned by the caller), one zone->lock section each; on failure undo what
    was done. The caller (``zonesim.ops.isolate_range``) marks the range as walked."""
    pb = k.zone.geometry.pageblock_nr_pages
    for pfn in range(start, end, pb):
        page = first_valid_pfn(k, pfn, pb)
        if page is None:
            continue
        async with k.zone_lock:  # P4: the lock is dropped between two pageblocks
            ret = await set_migratetype_isolate(k, cpu, page, mt, flags, start, end, roi)
        if ret:
            await undo_isolate_page_range(k, cpu, start, pfn, mt)
            return EBUSY
    return 0


async def undo_isolate_page_range(k: Kernel, cpu: int, start: int, end: int, mt: int) -> None:
    pb = k.zone.geometry.pageblock_nr_pages
    start = start & ~(pb - 1)
    with k.walking(start, end):  # P8: a block may be back on a normal list, buddy isolated
        for pfn in range(start, end, pb):
            page = first_valid_pfn(k, pfn, pb)
            if page is None or k.zone.get_pageblock_migratetype(page) != ISOLATE:
                continue
            async with k.zone_lock:
                await unset_migratetype_isolate(k, cpu, page, mt)


async def test_pages_isolated(k: Kernel, cpu: int, start: int, end: int, flags: int) -> int:
    """test_pages_isolated(): every pageblock ISOLATE — checked without the lock, walking
    ``for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)`` from the unaligned
    start and skipping holes; -EBUSY if the whole range is a hole — then under zone->lock
    every page free (PageBuddy), or hwpoisoned / offline-and-unreferenced when offlining.
    It does not look at which list a free block is on (I5b checks that on success)."""
    zone = k.zone
    pb = zone.geometry.pageblock_nr_pages
    for pfn in range(start, end, pb):
        # lockless: is_migrate_isolate_page(__first_valid_page(pfn, pageblock_nr_pages))
        await k.sp("test_pages_isolated:read_pb", cpu, reads((PB, None)))
        page = first_valid_pfn(k, pfn, pb)
        if page is not None and zone.get_pageblock_migratetype(page) != ISOLATE:
            k.trace("test_pages_isolated", cpu, pfn=start, end_pfn=end, result="-EBUSY")
            return EBUSY
    if first_valid_pfn(k, start, end - start) is None:
        k.trace("test_pages_isolated", cpu, pfn=start, end_pfn=end, result="-EBUSY")
        return EBUSY
    m = zone.memmap
    async with k.zone_lock:
        pfn = start
        while pfn < end:
            i = zone.idx(pfn)
            f = m.flags[i]
            if f & PG_buddy:
                pfn += 1 << m.order[i]
            elif flags & MEMORY_OFFLINE and (
                f & PG_hwpoison or (f & PG_offline and m.refcount[i] == 0)
            ):
                pfn += 1  # hwpoisoned, or offline pages nobody holds any more
            else:
                break
    ret = 0 if pfn >= end else EBUSY
    k.trace(
        "test_pages_isolated",
        cpu,
        pfn=start,
        end_pfn=end,
        result="ok" if not ret else "-EBUSY",
        **({} if not ret else {"busy_pfn": pfn}),
    )
    if not ret:
        k.event_check("I5b_isolated_range_clean", start, end)
    return ret
