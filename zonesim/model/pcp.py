"""Per-CPU page lists: the lock-held halves of the pcp paths (v5.15 mm/page_alloc.c).

The callers (``zonesim.ops``) hold the CPU's ``pagesets.lock`` (IRQs off) around each of
these; ``rmqueue_bulk`` and ``free_pcppages_bulk`` take zone->lock inside, through
``zone.sync.zone_lock``, so a CPU that finds zone->lock held (its holder suspended in a
window) spins with IRQs off until it is released, as on hardware.

Windows (model.sync, docs/lockless.md): ``pcp->count`` is peeked by ``__drain_all_pages``
on another CPU, and ``pcp->high``/``pcp->batch`` are rewritten by ``zone_pcp_update`` on
another CPU without this CPU's lock, so the owner lets such a CPU in after writing the count
and before each read of high and batch.

Two older shapes of the commit path are switches (flags on the zone): before 3b12e7e97938
(v5.14) the spill freed ``READ_ONCE(pcp->batch)`` pages; before 88e8ac11d2ea (v5.9)
``free_pcppages_bulk`` did not clamp its count to ``pcp->count`` and spun forever with IRQs
off looking for a non-empty list — reported as ``CpuStuck``.
"""

from __future__ import annotations

from zonesim.model.buddy import CMA, FPI_NONE, __free_one_page, __rmqueue
from zonesim.model.errors import CpuStuck
from zonesim.model.sync import PCP_COUNT, PCP_HIGH
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


async def free_unref_page_commit(
    zone: Zone, cpu: int, pfn: int, mt: int, order: int
) -> list[int]:
    """free_unref_page_commit(): put the page at the head of its pcp list; spill past high.

    ``mt`` is the pcp type (< MIGRATE_PCPTYPES); the page's cached type (page->index) was
    set by free_unref_page_prepare. Returns the pfns that free_pcppages_bulk gave back.
    """
    pcp = zone.pcp[cpu]
    m = zone.memmap
    i = zone.idx(pfn)
    sync = zone.sync
    m.cow(i)
    m.order[i] = order
    m.list_add(i, zone.pcp_list_id(cpu, mt, order))
    pcp.count += 1 << order
    await sync.window("free_unref_page_commit:count", PCP_COUNT, cpu, True)
    await sync.window("free_unref_page_commit:read_high", PCP_HIGH, cpu, False)
    if not zone.flags.pcp_free_scaled:
        # 5.9-5.13 (before 3b12e7e97938): if (pcp->count >= pcp->high) {
        #     unsigned long batch = READ_ONCE(pcp->batch); free_pcppages_bulk(zone, batch, pcp); }
        high = pcp.high
        if pcp.count >= high:
            await sync.window("free_unref_page_commit:read_batch", PCP_HIGH, cpu, False)
            return await free_pcppages_bulk(zone, pcp.batch, cpu)
        return []
    high = nr_pcp_high(pcp)
    if pcp.count >= high:
        await sync.window("free_unref_page_commit:read_batch", PCP_HIGH, cpu, False)
        batch = pcp.batch  # READ_ONCE(pcp->batch)
        return await free_pcppages_bulk(zone, nr_pcp_free(pcp, high, batch), cpu)
    return []


async def free_pcppages_bulk(zone: Zone, count: int, cpu: int) -> list[int]:
    """free_pcppages_bulk(): round-robin over the pcp lists taking pages from the tail,
    then free them to the buddy under zone->lock with their cached type — re-read from
    the pageblock only if some pageblock of the zone is isolated (51bb1a4093cc)."""
    pcp = zone.pcp[cpu]
    m = zone.memmap
    nr_lists = zone.geometry.nr_pcp_lists
    if zone.flags.bulk_free_clamp:
        count = min(pcp.count, count)  # 88e8ac11d2ea
    pindex = 0
    batch_free = 0
    nr_freed = 0
    taken: list[tuple[int, int]] = []  # (memmap index, order)
    while count > 0:
        # Remove pages from lists in a round-robin fashion; batch_free grows with each
        # empty list skipped so that fuller lists give more.
        tried = 0
        while True:
            batch_free += 1
            pindex += 1
            if pindex == nr_lists:
                pindex = 0
            lid = pcp.list_base + pindex
            if m.lists_head[lid] != -1:
                break
            tried += 1
            if tried > nr_lists:
                # do { ... } while (list_empty(list)) with every list empty: the kernel
                # spins here forever with IRQs off (the hang 88e8ac11d2ea fixed).
                raise CpuStuck(
                    f"cpu{cpu} spins forever with IRQs off in free_pcppages_bulk: asked to "
                    f"free {count} more pages but every pcp list is empty (pcp->count "
                    f"{pcp.count} when it was called, high {pcp.high}, batch "
                    f"{pcp.batch}); the loop `while (list_empty(list))` never ends"
                )
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
    await zone.sync.window("free_pcppages_bulk:count", PCP_COUNT, cpu, True)
    freed: list[int] = []
    async with zone.sync.zone_lock:  # spin_lock(&zone->lock)
        isolated_pageblocks = zone.has_isolate_pageblock()
        lookup = zone.flags.pcp_free_lookup  # 17edeb5d3f76: no cached type at all
        for i, order in taken:
            pfn = i + zone.start_pfn
            mt = m.cached_mt[i]
            if lookup or (isolated_pageblocks and zone.flags.bulk_free_reread_mt):
                mt = zone.get_pageblock_migratetype(pfn)  # pageblock could have been isolated
            m.order[i] = 0  # (its chunk was saved by the list_del above)
            await __free_one_page(zone, pfn, order, mt, FPI_NONE)
            freed.append(pfn)
    return freed


async def rmqueue_bulk(
    zone: Zone, order: int, count: int, cpu: int, mt: int, alloc_flags: int
) -> int:
    """rmqueue_bulk(): refill a pcp list with up to ``count`` blocks; returns how many."""
    m = zone.memmap
    lid = zone.pcp_list_id(cpu, mt, order)
    allocated = 0
    i = 0
    async with zone.sync.zone_lock:  # spin_lock(&zone->lock)
        while i < count:
            pfn = await __rmqueue(zone, order, mt, alloc_flags)
            if pfn is None:
                break
            k = zone.idx(pfn)
            m.cow(k)
            m.order[k] = order
            m.list_add_tail(k, lid)
            allocated += 1
            if not zone.flags.account_on_lists:
                # 17edeb5d3f76: is_migrate_cma(get_pageblock_migratetype(page))
                if zone.flags.pcp_free_lookup:
                    page_mt = int(zone.get_pageblock_migratetype(pfn))
                else:
                    page_mt = m.cached_mt[k]
                if page_mt == CMA:
                    zone.NR_FREE_CMA_PAGES -= 1 << order
            i += 1
        if not zone.flags.account_on_lists:  # e0932b6c1f94: the list removals accounted
            zone.NR_FREE_PAGES -= i << order
    return allocated


async def __rmqueue_pcplist(
    zone: Zone, cpu: int, order: int, mt: int, alloc_flags: int
) -> int | None:
    """__rmqueue_pcplist() with rmqueue_pcplist()'s free_factor decay: first page of the
    list, refilling it from the buddy when empty. No check that the page's pageblock is
    still non-ISOLATE (the 5.15 kernel has none either)."""
    pcp = zone.pcp[cpu]
    pcp.free_factor >>= 1
    m = zone.memmap
    lid = zone.pcp_list_id(cpu, mt, order)
    if m.lists_head[lid] == -1:
        batch = pcp.batch  # READ_ONCE(pcp->batch)
        # Scale batch to the order, but keep at least 2 when pcp may hold pages at all.
        if batch > 1:
            batch = max(batch >> order, 2)
        alloced = await rmqueue_bulk(zone, order, batch, cpu, mt, alloc_flags)
        pcp.count += alloced << order
        if alloced:
            await zone.sync.window("rmqueue_bulk:count", PCP_COUNT, cpu, True)
        if m.lists_head[lid] == -1:
            return None
    i = m.lists_head[lid]
    m.list_del(i)
    m.order[i] = 0
    pcp.count -= 1 << order
    await zone.sync.window("__rmqueue_pcplist:count", PCP_COUNT, cpu, True)
    return i + zone.start_pfn


async def drain_pages_zone(zone: Zone, cpu: int) -> list[int]:
    """drain_pages_zone(): give everything on this CPU's pcp lists back to the buddy."""
    pcp = zone.pcp[cpu]
    if pcp.count:
        return await free_pcppages_bulk(zone, pcp.count, cpu)
    return []
