"""Handing pages out and taking them back: prep_new_page, free_pages_prepare, the
zone->lock half of rmqueue(), the watermark check, and placing an allocation at a pfn.

An ``Allocation`` is the model's record of what the kernel keeps in the head page
(order, compound, LRU/movable) plus the owner CPU and a data token that migration must
carry to the new pfn. Every page of an allocation carries the allocation id in
``owner`` so the conservation check and has_unmovable_pages() find the head in O(1),
as compound_head() does.
"""

from __future__ import annotations

from array import array

from zonesim.model.buddy import (
    ALLOC_CMA,
    ALLOC_HARDER,
    CMA,
    HIGHATOMIC,
    ISOLATE,
    __mod_zone_freepage_state,
    __rmqueue,
    __rmqueue_smallest,
    account_freepages,
    add_to_free_list,
    del_page_from_free_list,
    free_list_mt,
    set_buddy_order,
)
from zonesim.model.errors import KernelBug
from zonesim.model.memmap import NIL, PG_buddy, PG_head, PG_hugetlb, PG_lru, PG_offline, PG_tail
from zonesim.model.tap import NR_FREE_CMA_PAGES_OBJ, NR_FREE_PAGES_OBJ, tap_read
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation, Zone

WMARK_MIN = "min"
WMARK_LOW = "low"
WMARK_HIGH = "high"


def __zone_watermark_ok(
    zone: Zone, order: int, mark: int, alloc_flags: int, free_pages: int
) -> bool:
    """__zone_watermark_ok(): enough free pages above ``mark`` and a big-enough block.

    Reserves: highatomic unless ALLOC_HARDER, CMA unless ALLOC_CMA (the free CMA pages
    cannot serve the request)."""
    free_pages -= (1 << order) - 1
    if alloc_flags & ALLOC_HARDER:
        mark -= mark // 4  # OOM victims may dip further (ALLOC_OOM: half); not modelled
    else:
        free_pages -= zone.nr_reserved_highatomic
    if not alloc_flags & ALLOC_CMA:
        tap_read(NR_FREE_CMA_PAGES_OBJ)
        free_pages -= zone.NR_FREE_CMA_PAGES
    if free_pages <= mark:
        return False
    if order == 0:
        return True
    for o in range(order, zone.max_order):
        tap_read(("nr_free", o))
        if zone.nr_free[o] == 0:
            continue
        for mt in range(3):  # MIGRATE_PCPTYPES
            if not zone.free_list_empty(o, mt):
                return True
        if alloc_flags & ALLOC_CMA and not zone.free_list_empty(o, CMA):
            return True
        if alloc_flags & ALLOC_HARDER and not zone.free_list_empty(o, HIGHATOMIC):
            return True
    return False


def zone_watermark_ok(zone: Zone, order: int, mark: int, alloc_flags: int) -> bool:
    tap_read(NR_FREE_PAGES_OBJ)
    return __zone_watermark_ok(zone, order, mark, alloc_flags, zone.NR_FREE_PAGES)


async def rmqueue_buddy(zone: Zone, order: int, mt: int, alloc_flags: int) -> int | None:
    """The zone->lock half of rmqueue() for orders that bypass the pcp lists."""
    pfn = None
    if order > 0 and alloc_flags & ALLOC_HARDER:
        pfn = await __rmqueue_smallest(zone, order, HIGHATOMIC)
    if pfn is None:
        pfn = await __rmqueue(zone, order, mt, alloc_flags)
    if pfn is None:
        return None
    if not zone.flags.account_on_lists:  # e0932b6c1f94: the list removal accounted already
        # __mod_zone_freepage_state(zone, -(1 << order), get_pcppage_migratetype(page));
        # 17edeb5d3f76: get_pageblock_migratetype(page)
        mt = (
            int(zone.get_pageblock_migratetype(pfn))
            if zone.flags.pcp_free_lookup
            else zone.memmap.cached_mt[zone.idx(pfn)]
        )
        __mod_zone_freepage_state(zone, -(1 << order), mt)
    return pfn


def prep_new_page(
    zone: Zone,
    pfn: int,
    order: int,
    mt: MigrateType,
    *,
    compound: bool,
    movable: bool,
    cpu: int,
    token: int | None = None,
    hugetlb: bool = False,
) -> Allocation:
    """post_alloc_hook() + prep_compound_page(): refcount 1 on the head, tails marked,
    PageLRU for a movable allocation (it would be added to an LRU list); a hugetlb page is
    compound and PageHuge, never on an LRU."""
    m = zone.memmap
    head = zone.idx(pfn)
    aid = zone.new_alloc_id()
    in_cma = zone.get_pageblock_migratetype(pfn) == CMA or m.cached_mt[head] == CMA
    a = Allocation(
        aid,
        pfn,
        order,
        mt,
        compound=compound,
        movable=movable,
        cpu=cpu,
        token=zone.new_token() if token is None else token,
        cma=in_cma,
        hugetlb=hugetlb,
    )
    if hugetlb:
        compound, movable = True, False
        a.compound, a.movable = True, False
    n = 1 << order
    # Ints and slices, no per-page Python loop (order 0 is the common case: no slices).
    in_use = m.owner[head] != NIL if n == 1 else m.owner[head : head + n].count(NIL) != n
    if in_use or m.list_id[head] != NIL:
        raise KernelBug(
            f"prep_new_page: a page of the new order-{order} block at pfn {pfn:#x} is still in use",
            pfn=pfn,
        )
    if n == 1:
        m.cow(head)
        m.owner[head] = aid
    else:
        m.cow_range(head, n)
        m.owner[head : head + n] = array("i", [aid]) * n
    m.refcount[head] = 1
    if compound:
        m.flags[head] |= PG_head
        m.order[head] = order
        if n > 1:  # prep_compound_tail() on every tail, as one slice
            f = m.flags
            f[head + 1 : head + n] = array("H", [x | PG_tail for x in f[head + 1 : head + n]])
    if movable:
        m.flags[head] |= PG_lru
    if hugetlb:
        m.flags[head] |= PG_hugetlb
    zone.allocations[aid] = a
    zone.by_token[a.token] = aid
    return a


def free_pages_prepare(zone: Zone, a: Allocation) -> None:
    """free_pages_prepare(): drop the allocation; its pages become refcount-0 memory that
    the caller is about to give to a pcp list or the buddy."""
    m = zone.memmap
    head = zone.idx(a.pfn)
    n = a.nr
    owned = m.owner[head] == a.id if n == 1 else m.owner[head : head + n].count(a.id) == n
    if not owned:
        raise KernelBug(
            f"free_pages_prepare: allocation {a.id} at pfn {a.pfn:#x} no longer owns all of "
            f"its {n} pages",
            pfn=a.pfn,
        )
    if n == 1:
        m.cow(head)
        m.owner[head] = NIL
    else:
        m.cow_range(head, n)
        m.owner[head : head + n] = array("i", [NIL]) * n
    if a.compound or a.contig or m.flags[head] & (PG_head | PG_lru | PG_offline | PG_hugetlb):
        mask = ~(PG_head | PG_tail | PG_lru | PG_offline | PG_hugetlb) & 0xFFFF
        k = n if a.compound or a.contig else 1
        f = m.flags
        f[head : head + k] = array("H", [x & mask for x in f[head : head + k]])
    if a.contig:
        m.refcount[head : head + n] = array("h", bytes(2 * n))
    m.refcount[head] = 0
    m.order[head] = 0
    del zone.allocations[a.id]
    if zone.by_token.get(a.token) == a.id:
        del zone.by_token[a.token]


def find_free_block(zone: Zone, pfn: int) -> tuple[int, int] | None:
    """The free block (head pfn, order) whose span holds ``pfn``, or None."""
    m = zone.memmap
    for order in range(zone.max_order):
        head = pfn & ~((1 << order) - 1)
        if not zone.has_memmap(head):
            return None
        i = head - zone.start_pfn
        if m.flags[i] & PG_buddy and m.order[i] >= order and head + (1 << m.order[i]) > pfn:
            return head, m.order[i]
    return None


def take_free_block_at(zone: Zone, pfn: int, order: int, *, account: bool = True) -> int:
    """Carve the free 2^order block at ``pfn`` out of the buddy, splitting its enclosing
    free block the way take_page_off_buddy()/break_down_buddy_pages() do.

    Returns the list migratetype the block was counted under. Raises ValueError if the
    range is not one free span. ``account`` False is take_page_off_buddy() before
    bac9c6fa1f92 (5.13): the page leaves the buddy but not NR_FREE_PAGES."""
    found = find_free_block(zone, pfn)
    if found is None:
        raise ValueError(f"pfn {pfn:#x} is not free")
    head, high = found
    if head + (1 << high) < pfn + (1 << order) or high < order:
        raise ValueError(f"pfns {pfn:#x}..{pfn + (1 << order) - 1:#x} are not one free block")
    mt = free_list_mt(zone, head)
    del_page_from_free_list(zone, head, high)
    page = head
    size = 1 << high
    added = 0
    while high > order:
        high -= 1
        size >>= 1
        if pfn >= page + size:
            buddy, page = page, page + size
        else:
            buddy = page + size
        add_to_free_list(zone, buddy, high, mt)
        set_buddy_order(zone, buddy, high)
        added += size
    if zone.flags.account_on_lists:
        account_freepages(zone, added, mt)  # the removal of the whole block was accounted
    elif mt != ISOLATE and account:
        __mod_zone_freepage_state(zone, -(1 << order), mt)
    i = zone.idx(pfn)
    zone.memmap.cow(i)
    zone.memmap.cached_mt[i] = mt
    return mt


def make_contig_allocation(zone: Zone, pfn: int, nr: int, mt: MigrateType, cpu: int) -> Allocation:
    """split_map_pages() of isolate_freepages_range(): ``nr`` order-0 pages, refcount 1 each,
    recorded as one allocation (alloc_contig_range's result). The pages must be off every
    list and unowned."""
    m = zone.memmap
    head = zone.idx(pfn)
    if m.owner[head : head + nr].count(NIL) != nr:
        raise KernelBug(f"alloc_contig_range: a page of {pfn:#x}+{nr} is still owned", pfn=pfn)
    aid = zone.new_alloc_id()
    in_cma = zone.get_pageblock_migratetype(pfn) == CMA
    a = Allocation(
        aid,
        pfn,
        0,
        mt,
        compound=False,
        movable=False,
        cpu=cpu,
        token=zone.new_token(),
        cma=in_cma,
        nr=nr,
        contig=True,
    )
    m.cow_range(head, nr)
    m.owner[head : head + nr] = array("i", [aid]) * nr
    m.refcount[head : head + nr] = array("h", [1]) * nr
    zone.allocations[aid] = a
    zone.by_token[a.token] = aid
    return a


def trim_contig_allocation(zone: Zone, a: Allocation, pfn: int, nr: int) -> None:
    """Drop [pfn, pfn+nr) — at either end of ``a`` — from the allocation (its pages become
    unowned refcount-0 memory the caller frees): alloc_contig_range freeing the excess."""
    m = zone.memmap
    if pfn == a.pfn:
        a.pfn += nr
    elif pfn + nr != a.pfn + a.nr:
        raise KernelBug(f"trim of {pfn:#x}+{nr} is not at an end of {a!r}", pfn=pfn)
    a.nr -= nr
    i = zone.idx(pfn)
    m.cow_range(i, nr)
    m.owner[i : i + nr] = array("i", [NIL]) * nr
    m.refcount[i : i + nr] = array("h", bytes(2 * nr))
