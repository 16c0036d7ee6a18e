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
)
from zonesim.model.sync import PAGE, PB
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone


async def __isolate_free_page(zone: Zone, pfn: int, order: int) -> int:
    """__isolate_free_page(): take a free block off the buddy for the caller.

    Accounting is keyed on the PAGEBLOCK type (not the list the block sat on), and an
    ISOLATE pageblock skips both the watermark check and the counters (kernel-reference
    §2.5). Returns the pages taken, 0 if the watermark forbids it."""
    mt = zone.get_pageblock_migratetype(pfn)
    if mt != ISOLATE:
        # Obey watermarks as if the page was being allocated
        watermark = zone.watermarks.min + (1 << order)
        if not zone_watermark_ok(zone, 0, watermark, ALLOC_CMA):
            return 0
        __mod_zone_freepage_state(zone, -(1 << order), mt)
    del_page_from_free_list(zone, pfn, order)
    await zone.sync.window("__isolate_free_page", PAGE, pfn, True)
    # Set the pageblock if the isolated page is at least half of a pageblock
    if order >= zone.pageblock_order - 1:
        pb = zone.geometry.pageblock_nr_pages
        for p in range(pfn, pfn + (1 << order), pb):
            t = zone.get_pageblock_migratetype(p)
            if t not in (ISOLATE, CMA, HIGHATOMIC):
                zone.set_pageblock_migratetype(p, MigrateType.MOVABLE)
                await zone.sync.window(
                    "__isolate_free_page:pageblock", PB, p >> zone.pageblock_order, True
                )
    return 1 << order


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
