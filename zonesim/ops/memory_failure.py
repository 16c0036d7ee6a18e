"""soft_offline_page() (v5.15 mm/memory-failure.c), as far as the zone sees it.

An in-use movable page is migrated away first (soft_offline_in_use_page); the free page is
then taken off the buddy (take_page_off_buddy: split out of its free block, counted out
unless in an ISOLATE pageblock) and marked PageHWPoison with one reference held
(page_handle_poison), so has_unmovable_pages() treats it as unmovable unless offlining.
The model drains the pcp lists before taking the page, since a freshly freed page is
usually there. An unmovable in-use page: -EBUSY.
"""

from __future__ import annotations

from zonesim.model.alloc import find_free_block, take_free_block_at
from zonesim.model.memmap import NIL, PG_hwpoison
from zonesim.ops.drain import drain_all_pages
from zonesim.ops.errno import EBUSY, errname
from zonesim.ops.kernel import Kernel
from zonesim.ops.migrate import is_movable, migrate_page


async def soft_offline_page(k: Kernel, cpu: int, pfn: int) -> int:
    zone = k.zone
    m = zone.memmap
    if not zone.has_memmap(pfn) or m.flags[pfn - zone.start_pfn] & PG_hwpoison:
        return 0 if zone.has_memmap(pfn) else EBUSY  # already poisoned: nothing to do
    aid = m.owner[pfn - zone.start_pfn]
    if aid != NIL:
        a = zone.allocations[aid]
        if a.contig or not is_movable(k, a):
            k.trace("soft_offline_page", cpu, pfn=pfn, result="-EBUSY")
            return EBUSY
        ret = await migrate_page(k, cpu, a)
        if ret:
            k.trace("soft_offline_page", cpu, pfn=pfn, result=errname(ret))
            return ret
    await drain_all_pages(k, cpu)
    async with k.zone_lock:
        if find_free_block(zone, pfn) is None:
            ret = EBUSY  # taken again meanwhile (or never freed): "page still in use"
        else:
            # take_page_off_buddy(); bac9c6fa1f92 counted the page out of NR_FREE_PAGES
            take_free_block_at(zone, pfn, 0, account=k.policy.has("bac9c6fa1f92"))
            i = pfn - zone.start_pfn
            m.cow(i)
            m.flags[i] |= PG_hwpoison
            m.refcount[i] = 1
            zone.absent_ranges.append((pfn, pfn + 1))
            ret = 0
    k.trace("soft_offline_page", cpu, pfn=pfn, result=errname(ret))
    return ret
