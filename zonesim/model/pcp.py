"""Per-CPU page lists: the lock-held halves of the pcp paths (v5.15 mm/page_alloc.c).

The callers (``zonesim.ops``) hold the CPU's ``pagesets.lock`` (IRQs off) around each of
these; ``rmqueue_bulk`` and ``free_pcppages_bulk`` take zone->lock inside, which the model
needs no separate step for because nothing can run between the two in 5.15.
"""

from __future__ import annotations

from zonesim.model.buddy import CMA, FPI_NONE, __free_one_page, __rmqueue
from zonesim.model.zone import PerCpuPages, Zone


def nr_pcp_high(pcp: PerCpuPages) -> int:
    """nr_pcp_high(): ZONE_RECLAIM_ACTIVE (kswapd) is not modelled, so ``high`` itself."""
    return pcp.high


def nr_pcp_free(pcp: PerCpuPages, high: int, batch: int) -> int:
    """nr_pcp_free(): free more at once on consecutive frees (free_factor grows)."""
    if high < batch:
        return 1
    min_nr_free = batch
    max_nr_free = high - batch
    b = batch << pcp.free_factor
    if b < max_nr_free:
        pcp.free_factor += 1
    return min(max(b, min_nr_free), max_nr_free)  # clamp(batch, min_nr_free, max_nr_free)


def free_unref_page_commit(zone: Zone, cpu: int, pfn: int, mt: int, order: int) -> list[int]:
    """free_unref_page_commit(): put the page at the head of its pcp list; spill past high.

    ``mt`` is the pcp type (< MIGRATE_PCPTYPES); the page's cached type (page->index) was
    set by free_unref_page_prepare. Returns the pfns that free_pcppages_bulk gave back.
    """
    pcp = zone.pcp[cpu]
    m = zone.memmap
    i = zone.idx(pfn)
    m.order[i] = order
    m.list_add(i, zone.pcp_list_id(cpu, mt, order))
    pcp.count += 1 << order
    high = nr_pcp_high(pcp)
    if pcp.count >= high:
        return free_pcppages_bulk(zone, nr_pcp_free(pcp, high, pcp.batch), cpu)
    return []


def free_pcppages_bulk(zone: Zone, count: int, cpu: int) -> list[int]:
    """free_pcppages_bulk(): round-robin over the pcp lists taking pages from the tail,
    then free them to the buddy under zone->lock with their cached type — re-read from
    the pageblock only if some pageblock of the zone is isolated (51bb1a4093cc)."""
    pcp = zone.pcp[cpu]
    m = zone.memmap
    nr_lists = zone.geometry.nr_pcp_lists
    count = min(pcp.count, count)  # 88e8ac11d2ea
    pindex = 0
    batch_free = 0
    nr_freed = 0
    taken: list[tuple[int, int]] = []  # (memmap index, order)
    while count > 0:
        # Remove pages from lists in a round-robin fashion; batch_free grows with each
        # empty list skipped so that fuller lists give more.
        while True:
            batch_free += 1
            pindex += 1
            if pindex == nr_lists:
                pindex = 0
            lid = pcp.list_base + pindex
            if m.lists_head[lid] != -1:
                break
        if batch_free == nr_lists:  # only one non-empty list
            batch_free = count
        order = zone.geometry.pindex_to_order(pindex)
        while True:
            i = m.lists_tail[lid]
            m.list_del(i)
            nr_freed += 1 << order
            count -= 1 << order
            taken.append((i, order))
            batch_free -= 1
            if not (count > 0 and batch_free and m.lists_head[lid] != -1):
                break
    pcp.count -= nr_freed
    # spin_lock(&zone->lock)
    isolated_pageblocks = zone.has_isolate_pageblock()
    freed: list[int] = []
    for i, order in taken:
        pfn = i + zone.start_pfn
        mt = m.cached_mt[i]
        if isolated_pageblocks and zone.flags.bulk_free_reread_mt:
            mt = zone.get_pageblock_migratetype(pfn)  # pageblock could have been isolated
        m.order[i] = 0
        __free_one_page(zone, pfn, order, mt, FPI_NONE)
        freed.append(pfn)
    return freed


def rmqueue_bulk(zone: Zone, order: int, count: int, cpu: int, mt: int, alloc_flags: int) -> int:
    """rmqueue_bulk(): refill a pcp list with up to ``count`` blocks; returns how many."""
    m = zone.memmap
    lid = zone.pcp_list_id(cpu, mt, order)
    allocated = 0
    i = 0
    while i < count:
        pfn = __rmqueue(zone, order, mt, alloc_flags)
        if pfn is None:
            break
        k = zone.idx(pfn)
        m.order[k] = order
        m.list_add_tail(k, lid)
        allocated += 1
        if m.cached_mt[k] == CMA:
            zone.NR_FREE_CMA_PAGES -= 1 << order
        i += 1
    zone.NR_FREE_PAGES -= i << order
    return allocated


def __rmqueue_pcplist(zone: Zone, cpu: int, order: int, mt: int, alloc_flags: int) -> int | None:
    """__rmqueue_pcplist() with rmqueue_pcplist()'s free_factor decay: first page of the
    list, refilling it from the buddy when empty. No check that the page's pageblock is
    still non-ISOLATE (the 5.15 kernel has none either)."""
    pcp = zone.pcp[cpu]
    pcp.free_factor >>= 1
    m = zone.memmap
    lid = zone.pcp_list_id(cpu, mt, order)
    if m.lists_head[lid] == -1:
        batch = pcp.batch
        # Scale batch to the order, but keep at least 2 when pcp may hold pages at all.
        if batch > 1:
            batch = max(batch >> order, 2)
        alloced = rmqueue_bulk(zone, order, batch, cpu, mt, alloc_flags)
        pcp.count += alloced << order
        if m.lists_head[lid] == -1:
            return None
    i = m.lists_head[lid]
    m.list_del(i)
    m.order[i] = 0
    pcp.count -= 1 << order
    return i + zone.start_pfn


def drain_pages_zone(zone: Zone, cpu: int) -> list[int]:
    """drain_pages_zone(): give everything on this CPU's pcp lists back to the buddy."""
    pcp = zone.pcp[cpu]
    if pcp.count:
        return free_pcppages_bulk(zone, pcp.count, cpu)
    return []
