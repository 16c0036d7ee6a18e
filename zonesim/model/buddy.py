"""The buddy allocator's lock-held primitives, v5.15 mm/page_alloc.c.

Every function here runs "under zone->lock": the ops layer calls them inside a modelled
spinlock section, so no other CPU takes zone->lock meanwhile. Names, argument order and the
order of side effects follow the kernel, so a reader with mm/page_alloc.c open finds each
step. The primitives that change what lockless readers see (PageBuddy and the order of a
head, pageblock bits) are coroutines with a window after each such write (model.sync,
docs/lockless.md); the pure list and counter helpers stay plain functions. Departures:

- ``NR_FREE_PAGES``/``NR_FREE_CMA_PAGES`` are exact: the kernel folds per-CPU deltas
  lazily, a delay no path here depends on.
- Guard pages, page reporting, shuffling, KASAN and compaction capture are left out.
- ``page_is_buddy`` returns False for a pfn outside the zone (the kernel's zone-id check),
  while an unvalidated pageblock read outside the zone raises ``MemmapAccess`` (the
  kernel oopses there: the bug 787af64d05cd fixed).
"""

from __future__ import annotations

from zonesim.model.errors import FreelistHygiene, KernelBug
from zonesim.model.memmap import NIL, PG_buddy, PG_lru, PG_movable, PG_nomap, PG_tail
from zonesim.model.sync import PAGE, PB
from zonesim.model.tap import NR_FREE_CMA_PAGES_OBJ, NR_FREE_PAGES_OBJ, tap_read
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import Zone

UNMOVABLE = int(MigrateType.UNMOVABLE)
MOVABLE = int(MigrateType.MOVABLE)
RECLAIMABLE = int(MigrateType.RECLAIMABLE)
HIGHATOMIC = int(MigrateType.HIGHATOMIC)
CMA = int(MigrateType.CMA)
ISOLATE = int(MigrateType.ISOLATE)

# fpi_t
FPI_NONE = 0
FPI_TO_TAIL = 1 << 1

# alloc_flags (mm/internal.h) the model uses
ALLOC_HARDER = 0x10
ALLOC_CMA = 0x80
ALLOC_NOFRAGMENT = 0x100

# fallbacks[] (5.15): CMA, HIGHATOMIC and ISOLATE never fall back.
FALLBACKS: dict[int, tuple[int, ...]] = {
    UNMOVABLE: (RECLAIMABLE, MOVABLE),
    MOVABLE: (RECLAIMABLE, UNMOVABLE),
    RECLAIMABLE: (UNMOVABLE, MOVABLE),
}


def migratetype_is_mergeable(mt: int) -> bool:
    """migratetype_is_mergeable() (1dd214b8f21c): only the pcp types merge with others."""
    return mt < MIGRATE_PCPTYPES


def __mod_zone_freepage_state(zone: Zone, nr: int, mt: int) -> None:
    """NR_FREE_PAGES += nr, and NR_FREE_CMA_PAGES too when ``mt`` is CMA."""
    zone.NR_FREE_PAGES += nr
    if mt == CMA:
        zone.NR_FREE_CMA_PAGES += nr


# -- PageBuddy and the free lists (2.1) ------------------------------------------------


def PageBuddy(zone: Zone, pfn: int) -> bool:
    return bool(zone.memmap.flags[zone.idx(pfn)] & PG_buddy)


def buddy_order(zone: Zone, pfn: int) -> int:
    return zone.memmap.order[zone.idx(pfn)]


def set_buddy_order(zone: Zone, pfn: int, order: int) -> None:
    i = zone.idx(pfn)
    m = zone.memmap
    m.cow(i)
    m.order[i] = order
    m.flags[i] |= PG_buddy


def page_is_buddy(zone: Zone, buddy_pfn: int, order: int) -> bool:
    """page_is_buddy(): free head of the same order in the same zone. No type check.
    (``zone.has_memmap`` inline: this runs at every merge step of every free.)"""
    i = buddy_pfn - zone.start_pfn
    m = zone.memmap
    if not 0 <= i < m.nr:
        return False
    f = m.flags[i]
    return not f & PG_nomap and bool(f & PG_buddy) and m.order[i] == order


def account_freepages(zone: Zone, nr: int, mt: int) -> None:
    """account_freepages() (6.10, e0932b6c1f94): the counters follow a list change of ``nr``
    pages of type ``mt``; ISOLATE lists are not counted."""
    if mt == ISOLATE:
        return
    zone.NR_FREE_PAGES += nr
    if mt == CMA:
        zone.NR_FREE_CMA_PAGES += nr


def _hygiene(zone: Zone, pfn: int, order: int, mt: int) -> None:
    """The VM_WARN_ONCE of __add_to_free_list / move_to_free_list / __del_page_from_free_list
    (6.10): the list the caller names must be the page's pageblock type."""
    block = zone.get_pageblock_migratetype(pfn)
    if block != mt:
        raise FreelistHygiene(
            f"page type is {int(block)}, passed migratetype is {mt} (nr={1 << order}): "
            f"pfn {pfn:#x} ({block.name} pageblock) on free_list[{MigrateType(mt).name}]",
            pfn=pfn,
        )


def add_to_free_list(zone: Zone, pfn: int, order: int, mt: int) -> None:
    """__add_to_free_list(..., tail=false): no counter change (callers account)."""
    if zone.flags.account_on_lists:
        _hygiene(zone, pfn, order, mt)
    zone.memmap.list_add(zone.idx(pfn), zone.free_list_id(order, mt))
    zone.nr_free[order] += 1


def add_to_free_list_tail(zone: Zone, pfn: int, order: int, mt: int) -> None:
    if zone.flags.account_on_lists:
        _hygiene(zone, pfn, order, mt)
    zone.memmap.list_add_tail(zone.idx(pfn), zone.free_list_id(order, mt))
    zone.nr_free[order] += 1


def move_to_free_list(zone: Zone, pfn: int, order: int, mt: int) -> None:
    """list_move_tail() to free_list[mt]; nr_free stays. Before e0932b6c1f94 the vm counters
    stay too; with it the pages leave the old type's count and join the new one's."""
    i = zone.idx(pfn)
    m = zone.memmap
    if zone.flags.account_on_lists:
        old = m.list_id[i] % 6
        _hygiene(zone, pfn, order, old)
        account_freepages(zone, -(1 << order), old)
        account_freepages(zone, 1 << order, mt)
    m.list_del(i)
    m.list_add_tail(i, zone.free_list_id(order, mt))


def __del_page_from_free_list(zone: Zone, pfn: int, order: int) -> int:
    """list_del + __ClearPageBuddy + set_page_private(0); nr_free--; no vm counter change.
    Returns the type of the list the page was on."""
    i = zone.idx(pfn)
    m = zone.memmap
    if m.list_id[i] == NIL or not m.flags[i] & PG_buddy or m.order[i] != order:
        # CONFIG_DEBUG_LIST: "list_del corruption" -- the kernel would corrupt the lists
        raise KernelBug(
            f"del_page_from_free_list: pfn {pfn:#x} is not a free order-{order} block "
            f"(PageBuddy={bool(m.flags[i] & PG_buddy)}, order {m.order[i]})",
            pfn=pfn,
        )
    mt = m.list_id[i] % 6
    if zone.flags.account_on_lists:
        _hygiene(zone, pfn, order, mt)
    m.list_del(i)  # saved i's chunk (copy-on-write) before writing it
    m.flags[i] &= ~PG_buddy
    m.order[i] = 0
    zone.nr_free[order] -= 1
    return mt


def del_page_from_free_list(zone: Zone, pfn: int, order: int) -> None:
    """del_page_from_free_list(): with e0932b6c1f94 it also takes the pages out of the
    counters (account_freepages); before it, the callers adjust the counters themselves."""
    mt = __del_page_from_free_list(zone, pfn, order)
    if zone.flags.account_on_lists:
        account_freepages(zone, -(1 << order), mt)


def page_lru_or_movable(zone: Zone, i: int) -> bool:
    """PageLRU(page) || __PageMovable(page) of memmap index ``i``. PG_lru is a PF_HEAD flag:
    on a tail page it tests the compound head, so every page of an LRU folio counts (as
    move_freepages' num_movable does); __PageMovable reads the page's own mapping, which a
    tail does not have."""
    m = zone.memmap
    f = m.flags[i]
    if f & (PG_lru | PG_movable):
        return True
    if f & PG_tail:
        aid = m.owner[i]
        if aid != NIL:
            head = zone.allocations[aid].pfn - zone.start_pfn
            return bool(m.flags[head] & PG_lru)
    return False


def free_list_mt(zone: Zone, pfn: int) -> int:
    """Which free_list[mt] holds the free head at ``pfn`` (the model's view of page->lru)."""
    lid = zone.memmap.list_id[zone.idx(pfn)]
    if lid == NIL or lid >= zone.nr_free_lists:
        return -1
    return lid % 6


# -- __free_one_page (2.2) -------------------------------------------------------------


def buddy_merge_likely(zone: Zone, pfn: int, buddy_pfn: int, order: int) -> bool:
    """buddy_merge_likely(): the next-higher buddy is free, so queue at the tail."""
    if order >= zone.max_order - 2:
        return False
    combined_pfn = buddy_pfn & pfn
    higher_buddy = combined_pfn ^ (1 << (order + 1))
    return page_is_buddy(zone, higher_buddy, order + 1)


async def __free_one_page(
    zone: Zone, pfn: int, order: int, mt: int, fpi: int
) -> tuple[int, int]:
    """Free 2^order pages at ``pfn`` onto free_list[mt], merging with free buddies.

    Returns the (pfn, order) of the block as finally queued. Counting is by the CALLER's
    ``mt`` and happens before merging, exactly as in 5.15; the merged block goes on the
    caller's list whatever the types of the buddies it swallowed. Windows: after each buddy
    leaves its list (its PageBuddy is clear, the merged head not yet marked) and after the
    merged head is marked and queued.
    """
    flags = zone.flags
    max_order = min(zone.max_order - 1, zone.pageblock_order)
    if mt != ISOLATE:
        __mod_zone_freepage_state(zone, 1 << order, mt)
    capped = False
    if not flags.isolate_merge_check and not flags.mergeable_merge_check:
        # Before d9dddbf55667 the buddy merged up to MAX_ORDER-1 without looking at types,
        # except that 3c605096d315 stopped a page freed onto an ISOLATE list at
        # pageblock_order.
        capped = flags.isolate_merge_cap and mt == ISOLATE
        if not capped:
            max_order = zone.max_order - 1
    elif (
        not flags.merge_iter_fixed
        and not flags.mergeable_merge_check
        and order == zone.max_order - 1
        and zone.has_isolate_pageblock()
    ):
        # Before 7ad69832f37e the check ran once more for a MAX_ORDER-1 free: it reads the
        # pageblock of pfn ^ (1 << (MAX_ORDER-1)), unvalidated (the result is not used).
        zone.get_pageblock_migratetype(pfn ^ (1 << order))
    buddy_pfn = pfn ^ (1 << order)
    while True:  # continue_merging:
        while order < max_order:
            buddy_pfn = pfn ^ (1 << order)
            if not page_is_buddy(zone, buddy_pfn, order):
                return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
            __del_page_from_free_list(zone, buddy_pfn, order)
            await zone.sync.window("__free_one_page:merge", PAGE, buddy_pfn, True)
            pfn = buddy_pfn & pfn
            order += 1
        if order < zone.max_order - 1:
            # order == pageblock_order < MAX_ORDER-1: one level at a time, type-checked.
            if capped:
                return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
            buddy_pfn = pfn ^ (1 << order)
            if flags.mergeable_merge_check:
                if flags.validate_buddy_before_mt and not page_is_buddy(zone, buddy_pfn, order):
                    return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
                buddy_mt = zone.get_pageblock_migratetype(buddy_pfn)
                if mt != buddy_mt and (
                    not migratetype_is_mergeable(mt) or not migratetype_is_mergeable(buddy_mt)
                ):
                    return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
                if flags.merge_fixup_type and mt != buddy_mt and page_is_buddy(
                    zone, buddy_pfn, order
                ):
                    # e6cf9e1c4cde: take the buddy off its list under its own type, then
                    # match its block's type so expand() later puts the halves right.
                    __del_page_from_free_list(zone, buddy_pfn, order)
                    await zone.sync.window("__free_one_page:merge", PAGE, buddy_pfn, True)
                    zone.set_pageblock_migratetype(buddy_pfn, MigrateType(mt))
                    await zone.sync.window(
                        "__free_one_page:fixup", PB, buddy_pfn >> zone.pageblock_order, True
                    )
                    pfn = buddy_pfn & pfn
                    order += 1
                    max_order = order
                    continue
            elif flags.isolate_merge_check and zone.has_isolate_pageblock():
                if flags.validate_buddy_before_mt and not page_is_buddy(zone, buddy_pfn, order):
                    return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
                buddy_mt = zone.get_pageblock_migratetype(buddy_pfn)  # 5.15: pfn not validated
                if mt != buddy_mt and (mt == ISOLATE or buddy_mt == ISOLATE):
                    return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)
            max_order = order + 1
            continue
        return await _done_merging(zone, pfn, buddy_pfn, order, mt, fpi)


async def _done_merging(
    zone: Zone, pfn: int, buddy_pfn: int, order: int, mt: int, fpi: int
) -> tuple[int, int]:
    set_buddy_order(zone, pfn, order)
    if fpi & FPI_TO_TAIL or buddy_merge_likely(zone, pfn, buddy_pfn, order):
        add_to_free_list_tail(zone, pfn, order, mt)
    else:
        add_to_free_list(zone, pfn, order, mt)
    await zone.sync.window("__free_one_page:done", PAGE, pfn, True)
    return pfn, order


# -- allocation from the free lists (2.4) ----------------------------------------------


async def expand(zone: Zone, pfn: int, low: int, high: int, mt: int) -> None:
    """expand(): hand the upper halves back to free_list[mt] at orders high-1 .. low.

    The LIST type is used for every half, whatever the pageblock of that half is."""
    size = 1 << high
    nr_added = 0
    while high > low:
        high -= 1
        size >>= 1
        add_to_free_list(zone, pfn + size, high, mt)
        set_buddy_order(zone, pfn + size, high)
        nr_added += size
        await zone.sync.window("expand", PAGE, pfn + size, True)
    if zone.flags.account_on_lists:
        account_freepages(zone, nr_added, mt)


async def __rmqueue_smallest(zone: Zone, order: int, mt: int) -> int | None:
    """Take the smallest free block of type ``mt`` that fits, split off the rest."""
    for current_order in range(order, zone.max_order):
        pfn = zone.free_list_first(current_order, mt)
        if pfn is None:
            continue
        del_page_from_free_list(zone, pfn, current_order)
        await zone.sync.window("__rmqueue_smallest", PAGE, pfn, True)
        await expand(zone, pfn, order, current_order, mt)
        i = zone.idx(pfn)
        zone.memmap.cow(i)
        zone.memmap.cached_mt[i] = mt  # set_pcppage_migratetype
        return pfn
    return None


async def __rmqueue_cma_fallback(zone: Zone, order: int) -> int | None:
    return await __rmqueue_smallest(zone, order, CMA)


def can_steal_fallback(zone: Zone, order: int, start_mt: int) -> bool:
    """can_steal_fallback(): claim the whole pageblock for large or unmovable requests."""
    if order >= zone.pageblock_order:
        return True
    return order >= zone.pageblock_order // 2 or start_mt in (RECLAIMABLE, UNMOVABLE)


def find_suitable_fallback(
    zone: Zone, order: int, mt: int, only_stealable: bool
) -> tuple[int, bool]:
    """find_suitable_fallback() -> (fallback mt or -1, can_steal)."""
    tap_read(("nr_free", order))
    if zone.nr_free[order] == 0:
        return -1, False
    can_steal = False
    for f in FALLBACKS.get(mt, ()):
        if zone.free_list_empty(order, f):
            continue
        if can_steal_fallback(zone, order, mt):
            can_steal = True
        if not only_stealable or can_steal:
            return f, can_steal
    return -1, can_steal


async def __rmqueue_fallback(
    zone: Zone, order: int, start_mt: int, alloc_flags: int
) -> bool | int | None:
    """__rmqueue_fallback(): steal from another type, largest block first.

    5.15: True when a block was moved to ``start_mt``'s lists (the caller retries), False
    when nothing fits. With c0cd6f557b90 (steal_transaction) it returns the page itself
    (an int pfn) or None."""
    min_order = zone.pageblock_order if alloc_flags & ALLOC_NOFRAGMENT else order
    current_order = -1
    fallback_mt = -1
    can_steal = False
    for current_order in range(zone.max_order - 1, min_order - 1, -1):
        fallback_mt, can_steal = find_suitable_fallback(zone, current_order, start_mt, False)
        if fallback_mt == -1:
            continue
        if not can_steal and start_mt == MOVABLE and current_order > order:
            # find_smallest: do not break a large block for a movable request
            for current_order in range(order, zone.max_order):
                fallback_mt, can_steal = find_suitable_fallback(
                    zone, current_order, start_mt, False
                )
                if fallback_mt != -1:
                    break
            if fallback_mt == -1:
                return None if zone.flags.steal_transaction else False
        break
    else:
        return None if zone.flags.steal_transaction else False
    pfn = zone.free_list_first(current_order, fallback_mt)
    assert pfn is not None
    if zone.flags.steal_transaction:
        return await try_to_steal_block(
            zone, pfn, current_order, order, start_mt, alloc_flags, can_steal
        )
    await steal_suitable_fallback(zone, pfn, alloc_flags, start_mt, can_steal)
    return True


async def steal_suitable_fallback(
    zone: Zone, pfn: int, alloc_flags: int, start_type: int, whole_block: bool
) -> None:
    """steal_suitable_fallback(): take the pageblock if enough of it is free or alike."""
    current_order = buddy_order(zone, pfn)
    old_block_type = zone.get_pageblock_migratetype(pfn)
    if old_block_type != HIGHATOMIC:
        if current_order >= zone.pageblock_order:
            await change_pageblock_range(zone, pfn, current_order, start_type)
        elif whole_block:
            # boost_watermark() is not modelled: it only wakes kswapd.
            free_pages, movable_pages = move_freepages_block(zone, pfn, start_type)
            if start_type == MOVABLE:
                alike_pages = movable_pages
            elif old_block_type == MOVABLE:
                alike_pages = zone.geometry.pageblock_nr_pages - (free_pages + movable_pages)
            else:
                alike_pages = 0
            if free_pages:
                if free_pages + alike_pages >= (1 << (zone.pageblock_order - 1)):
                    zone.set_pageblock_migratetype(pfn, MigrateType(start_type))
                    await zone.sync.window(
                        "steal_suitable_fallback", PB, pfn >> zone.pageblock_order, True
                    )
                return
    move_to_free_list(zone, pfn, current_order, start_type)  # single_page:


async def try_to_steal_block(
    zone: Zone,
    pfn: int,
    current_order: int,
    order: int,
    start_type: int,
    alloc_flags: int,
    whole_block: bool,
) -> int | None:
    """steal_suitable_fallback() of c0cd6f557b90 (6.10): decide first whether the block is
    claimed, move its free pages only then, and return the page. An unclaimed block gives
    up just the buddy found; its remainder goes back on the block's own type's lists."""
    block_type = int(zone.get_pageblock_migratetype(pfn))
    if block_type != HIGHATOMIC:
        if current_order >= zone.pageblock_order:
            del_page_from_free_list(zone, pfn, current_order)
            await zone.sync.window("steal_suitable_fallback", PAGE, pfn, True)
            await change_pageblock_range(zone, pfn, current_order, start_type)
            await expand(zone, pfn, order, current_order, start_type)
            return pfn
        counted = _prep_move_freepages_block(zone, pfn) if whole_block else None
        if counted is not None:
            start, free_pages, movable_pages = counted
            if start_type == MOVABLE:
                alike_pages = movable_pages
            elif block_type == MOVABLE:
                alike_pages = zone.geometry.pageblock_nr_pages - (free_pages + movable_pages)
            else:
                alike_pages = 0
            if free_pages + alike_pages >= (1 << (zone.pageblock_order - 1)):
                await __move_freepages_block(zone, start, start_type)
                return await __rmqueue_smallest(zone, order, start_type)
    # single_page:
    del_page_from_free_list(zone, pfn, current_order)
    await zone.sync.window("steal_suitable_fallback", PAGE, pfn, True)
    await expand(zone, pfn, order, current_order, block_type)
    return pfn


def _prep_move_freepages_block(zone: Zone, pfn: int) -> tuple[int, int, int] | None:
    """prep_move_freepages_block() (6.10): the block's start, free pages and movable pages,
    or None when the block straddles the zone's edge."""
    pb = zone.geometry.pageblock_nr_pages
    start = pfn & ~(pb - 1)
    end = start + pb
    if not zone.geometry.spans(start) or not zone.geometry.spans(end - 1):
        return None
    m = zone.memmap
    free_pages = movable = 0
    p = start
    while p < end:
        i = zone.idx(p)
        if m.flags[i] & PG_buddy:
            free_pages += 1 << m.order[i]
            p += 1 << m.order[i]
            continue
        if page_lru_or_movable(zone, i):
            movable += 1
        p += 1
    return start, free_pages, movable


async def __move_freepages_block(zone: Zone, start: int, new_mt: int) -> int:
    """__move_freepages_block() (6.10; f37c0f6876a8 sets the type inside): move every free
    block of the pageblock at ``start`` to ``new_mt``'s lists, then set the block's type."""
    moved, _ = move_freepages(zone, start, start + zone.geometry.pageblock_nr_pages - 1, new_mt)
    zone.set_pageblock_migratetype(start, MigrateType(new_mt))
    await zone.sync.window("__move_freepages_block", PB, start >> zone.pageblock_order, True)
    return moved


async def __rmqueue(zone: Zone, order: int, mt: int, alloc_flags: int) -> int | None:
    """__rmqueue(): CMA balancing, then own type, then CMA, then steal (and, before
    c0cd6f557b90, retry from the start)."""
    if alloc_flags & ALLOC_CMA:
        tap_read(NR_FREE_CMA_PAGES_OBJ)
        tap_read(NR_FREE_PAGES_OBJ)
    if alloc_flags & ALLOC_CMA and zone.NR_FREE_CMA_PAGES > zone.NR_FREE_PAGES // 2:
        pfn = await __rmqueue_cma_fallback(zone, order)
        if pfn is not None:
            return pfn
    while True:
        pfn = await __rmqueue_smallest(zone, order, mt)
        if pfn is None:
            if alloc_flags & ALLOC_CMA:
                pfn = await __rmqueue_cma_fallback(zone, order)
            if pfn is None:
                stolen = await __rmqueue_fallback(zone, order, mt, alloc_flags)
                if zone.flags.steal_transaction:
                    # the page itself, or None (never a bool in this form)
                    return None if isinstance(stolen, bool) else stolen
                if stolen:
                    continue
        return pfn


# -- moving free pages between lists (2.4) ---------------------------------------------


def move_freepages(zone: Zone, start: int, end: int, mt: int) -> tuple[int, int]:
    """move_freepages() over [start, end] inclusive -> (pages moved, movable pages seen).
    Counts a whole block even if it runs past ``end``; cannot see a block whose head lies
    before ``start``."""
    m = zone.memmap
    base, nr = zone.start_pfn, m.nr
    flags, orders = m.flags, m.order
    moved = 0
    num_movable = 0
    if start < base:
        zone.idx(start)  # raises: pfn_to_page() of a pfn outside the zone
    # Memmap indexes, not zone.idx() per page (a pageblock is 512 of them): the same
    # oops where pfn_to_page() would oops, tested inline.
    i, last = start - base, end - base
    while i <= last:
        if i >= nr or flags[i] & PG_nomap:
            zone.idx(i + base)  # raises: no struct page there
        f = flags[i]
        if not f & PG_buddy:
            if f & (PG_lru | PG_movable) or (f & PG_tail and page_lru_or_movable(zone, i)):
                num_movable += 1
            i += 1
            continue
        order = orders[i]
        move_to_free_list(zone, i + base, order, mt)
        i += 1 << order
        moved += 1 << order
    return moved, num_movable


def move_freepages_block(zone: Zone, pfn: int, mt: int) -> tuple[int, int]:
    """move_freepages_block(): the pageblock holding ``pfn``, clipped at the zone start;
    a block that runs past the zone end moves nothing."""
    start = pfn & ~(zone.geometry.pageblock_nr_pages - 1)
    end = start + zone.geometry.pageblock_nr_pages - 1
    if not zone.geometry.spans(start):
        if zone.flags.move_block_zone_edge:
            return 0, 0  # 2dd482ba627d: don't touch a block that straddles into another zone
        start = pfn
    if not zone.geometry.spans(end):
        return 0, 0
    return move_freepages(zone, start, end, mt)


async def change_pageblock_range(zone: Zone, pfn: int, start_order: int, mt: int) -> None:
    """change_pageblock_range(): retype every pageblock a >= pageblock_order block covers."""
    nr = 1 << (start_order - zone.pageblock_order)
    for k in range(nr):
        p = pfn + k * zone.geometry.pageblock_nr_pages
        zone.set_pageblock_migratetype(p, MigrateType(mt))
        await zone.sync.window("change_pageblock_range", PB, p >> zone.pageblock_order, True)
