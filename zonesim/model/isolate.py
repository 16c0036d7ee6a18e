"""Lock-held primitives of page isolation that live in mm/page_alloc.c (v5.15):
__isolate_free_page, __putback_isolated_page, and v5.19's split_free_page.

The isolation paths that call them (and read the policy) are in zonesim.ops.isolation.
"""

from __future__ import annotations

from zonesim.model.alloc import zone_watermark_ok
from zonesim.model.buddy import (
    ALLOC_CMA,
    CMA,
    FPI_NONE,
    FPI_TO_TAIL,
    HIGHATOMIC,
    ISOLATE,
    PageBuddy,
    __free_one_page,
    __mod_zone_freepage_state,
    buddy_order,
    del_page_from_free_list,
    move_freepages,
)
from zonesim.model.memmap import PG_buddy
from zonesim.model.sync import PAGE, PB
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone


async def __isolate_free_page(zone: Zone, pfn: int, order: int) -> int:
    """__isolate_free_page(): take a free block off the buddy for the caller.

    Accounting is keyed on the PAGEBLOCK type (not the list the block sat on), and an
    ISOLATE pageblock skips both the watermark check and the counters (kernel-reference
    §2.5). Returns the pages taken, 0 if the watermark forbids it. Blocks of at least half a
    pageblock retype the pageblocks they cover to MOVABLE (mergeable ones only); with
    b54ccd3c6bac the free pages of those pageblocks move to the MOVABLE lists too."""
    mt = zone.get_pageblock_migratetype(pfn)
    if mt != ISOLATE:
        # Obey watermarks as if the page was being allocated
        watermark = zone.watermarks.min + (1 << order)
        if not zone_watermark_ok(zone, 0, watermark, ALLOC_CMA):
            return 0
        if not zone.flags.account_on_lists:
            __mod_zone_freepage_state(zone, -(1 << order), mt)
    del_page_from_free_list(zone, pfn, order)
    await zone.sync.window("__isolate_free_page", PAGE, pfn, True)
    # Set the pageblock if the isolated page is at least half of a pageblock
    if order >= zone.pageblock_order - 1:
        pb = zone.geometry.pageblock_nr_pages
        for p in range(pfn, pfn + (1 << order), pb):
            t = zone.get_pageblock_migratetype(p)
            if t not in (ISOLATE, CMA, HIGHATOMIC):
                if zone.flags.isolate_free_moves:
                    await move_freepages_block_typed(zone, p, MigrateType.MOVABLE)
                else:
                    zone.set_pageblock_migratetype(p, MigrateType.MOVABLE)
                    await zone.sync.window(
                        "__isolate_free_page:pageblock", PB, p >> zone.pageblock_order, True
                    )
    return 1 << order


async def move_freepages_block_typed(zone: Zone, pfn: int, new_mt: MigrateType) -> int:
    """move_freepages_block(zone, page, old_mt, new_mt) of 6.10: the pageblock's free
    pages to ``new_mt``'s lists and then its type (f37c0f6876a8); -1 when the block
    straddles the zone's edge. Before e0932b6c1f94 the counters move with the pages here."""
    pb = zone.geometry.pageblock_nr_pages
    start = pfn & ~(pb - 1)
    if not zone.geometry.spans(start) or not zone.geometry.spans(start + pb - 1):
        return -1
    old = zone.get_pageblock_migratetype(start)
    moved, _ = move_freepages(zone, start, start + pb - 1, new_mt)
    if not zone.flags.account_on_lists:
        __mod_zone_freepage_state(zone, -moved, old)
        __mod_zone_freepage_state(zone, moved, new_mt)
    zone.set_pageblock_migratetype(start, new_mt)
    await zone.sync.window("move_freepages_block", PB, start >> zone.pageblock_order, True)
    return moved


async def __putback_isolated_page(zone: Zone, pfn: int, order: int, mt: int) -> None:
    """Return a page from __isolate_free_page(): merge and queue at the tail."""
    await __free_one_page(zone, pfn, order, mt, FPI_TO_TAIL)


async def split_free_page(
    zone: Zone, pfn: int, order: int, split_off: int, *, fixed: bool, aligned: bool = True
) -> int:
    """split_free_page() of b2c9e2fbba32: cut a free block at ``pfn + split_off`` so that
    each piece goes to the list of its own pageblock.

    ``fixed`` = 86d28b070927: re-check the block under zone->lock (it may have been taken
    since the lockless scan) and move the free-page counters from the block's type to each
    piece's type. Without it the pieces are counted again by __free_one_page while the
    whole block was never subtracted. Returns 0, or -ENOENT when the block changed.

    ``aligned`` = 88ee134320b8's piece size, ``min(__ffs(pfn), __fls(split_off))``: the
    largest naturally aligned piece that fits. Before it, b2c9e2fbba32 took
    ``ffs(split_pfn_offset) - 1``, the lowest set bit of what is left: the first part is
    tiled exactly but a piece may be misaligned (0x4000 at 0x10000, then 0x8000 at 0x14000;
    with one pageblock boundary in a MAX_ORDER-1 block both forms cut 512 + 512)."""
    if split_off == 0:
        return 0
    if fixed:
        if not PageBuddy(zone, pfn) or buddy_order(zone, pfn) != order:
            return -2  # -ENOENT
        mt = zone.get_pageblock_migratetype(pfn)
        if mt != ISOLATE:
            __mod_zone_freepage_state(zone, -(1 << order), mt)
    del_page_from_free_list(zone, pfn, order)
    await zone.sync.window("split_free_page", PAGE, pfn, True)
    start = pfn
    p = pfn
    end = pfn + (1 << order)
    while p < end:
        if aligned:
            low = (p & -p).bit_length() - 1 if p else order
            free_order = min(low, split_off.bit_length() - 1)
        else:
            free_order = (split_off & -split_off).bit_length() - 1
        await __free_one_page(zone, p, free_order, zone.get_pageblock_migratetype(p), FPI_NONE)
        p += 1 << free_order
        split_off -= 1 << free_order
        if split_off == 0:
            split_off = (1 << order) - (p - start)
    return 0


# -- v6.10 (fd919a85cd55): isolation moves straddling buddies apart itself -------------


def find_large_buddy(zone: Zone, start_pfn: int) -> int:
    """find_large_buddy(): the head of a free buddy that straddles ``start_pfn`` from
    before it, else ``start_pfn`` (zone->lock held by the caller)."""
    order = 0
    pfn = start_pfn
    m = zone.memmap
    while not (zone.has_memmap(pfn) and m.flags[pfn - zone.start_pfn] & PG_buddy):
        order += 1
        if order > zone.max_order - 1:
            return start_pfn
        pfn &= ~0 << order
    if pfn + (1 << m.order[pfn - zone.start_pfn]) > start_pfn:
        return pfn
    return start_pfn


async def split_large_buddy(zone: Zone, pfn: int, order: int, fpi: int = FPI_NONE) -> None:
    """split_large_buddy(): free a block, already off any list, one pageblock at a time,
    each piece with its own pageblock's type (and merged again by __free_one_page where the
    types allow). 6.10 (fd919a85cd55) calls it for multi-block buddies only; from
    e98337d11bbd (6.12) free_one_page calls it for every free, a block of at most a
    pageblock being one piece. Before faeec8e23c10 (6.13) the loop computes
    ``pfn_to_page(pfn)`` once more after the last piece: past the memmap's end that oopses
    (SPARSEMEM without SPARSEMEM_EXTREME, freeing the last block of the last section)."""
    end = pfn + (1 << order)
    piece = min(order, zone.pageblock_order)
    while True:
        mt = int(zone.get_pageblock_migratetype(pfn))
        await __free_one_page(zone, pfn, piece, mt, fpi)
        pfn += 1 << piece
        if pfn == end and (
            zone.flags.split_large_buddy_end or not zone.geometry.sparsemem_classic
        ):
            break
        zone.idx(pfn)  # page = pfn_to_page(pfn): NULL section past the memmap's end
        if pfn == end:
            break


async def move_freepages_block_isolate(zone: Zone, pfn: int, mt: MigrateType) -> bool:
    """move_freepages_block_isolate() (6.10), zone->lock held: make the pageblock of
    ``pfn`` type ``mt`` (ISOLATE, or back) and move its free pages; a buddy that starts
    before the block or runs past it is taken off and split into pageblocks, each going to
    its own block's list. False when the block straddles the zone's edge."""
    pb = zone.geometry.pageblock_nr_pages
    start = pfn & ~(pb - 1)
    if not zone.geometry.spans(start) or not zone.geometry.spans(start + pb - 1):
        return False
    m = zone.memmap
    if zone.pageblock_order < zone.max_order - 1:
        head = find_large_buddy(zone, start)
        if head == start and m.flags[start - zone.start_pfn] & PG_buddy:
            if m.order[start - zone.start_pfn] <= zone.pageblock_order:
                head = -1  # a buddy inside the block: the plain move below
        else:
            head = head if head != start else -1
        if head >= 0:
            order = m.order[head - zone.start_pfn]
            head_mt = int(zone.get_pageblock_migratetype(head))
            del_page_from_free_list(zone, head, order)
            if not zone.flags.account_on_lists:
                __mod_zone_freepage_state(zone, -(1 << order), head_mt)
            await zone.sync.window("move_freepages_block_isolate", PAGE, head, True)
            zone.set_pageblock_migratetype(start, mt)
            await zone.sync.window(
                "move_freepages_block_isolate", PB, start >> zone.pageblock_order, True
            )
            await split_large_buddy(zone, head, order)
            return True
    await move_freepages_block_typed(zone, start, mt)
    return True
