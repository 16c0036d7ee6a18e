"""The highatomic reserve (v5.15 mm/page_alloc.c, research R8 §5).

reserve_highatomic_pageblock(): after a high-order ALLOC_HARDER allocation succeeds,
get_page_from_freelist() turns the page's pageblock into a MIGRATE_HIGHATOMIC reserve (at most
1% of the zone plus one pageblock, checked before a whole block is added) and moves the
block's free pages to the HIGHATOMIC lists. unreserve_highatomic_pageblock(): an allocation
that is about to fail under pressure gives a reserved block back to its own type
(__alloc_pages_direct_reclaim: force=false, keeping one block; should_reclaim_retry before
OOM: force=true).

Departures: the limit is the 5.15 one for every design (v6.8 aligns it to a pageblock and
reserves nothing below 1% of a pageblock), and a reservation after an allocation of
pageblock_order or more types the first pageblock only (v6.10's "fix highatomic typing in
multi-block buddies" types them all); no modelled scenario allocates that large atomically.
"""

from __future__ import annotations

from zonesim.model.buddy import CMA, HIGHATOMIC, ISOLATE, move_freepages_block
from zonesim.model.isolate import move_freepages_block_typed
from zonesim.model.sync import PB
from zonesim.model.types import MigrateType
from zonesim.ops.kernel import Kernel


def _max_managed(k: Kernel) -> int:
    return k.zone.managed_pages // 100 + k.zone.geometry.pageblock_nr_pages


async def reserve_highatomic_pageblock(k: Kernel, cpu: int, pfn: int) -> None:
    zone = k.zone
    limit = _max_managed(k)
    if zone.nr_reserved_highatomic >= limit:  # "race-prone but harmless": no lock
        return
    async with k.zone_lock:
        if zone.nr_reserved_highatomic >= limit:
            return
        mt = int(zone.get_pageblock_migratetype(pfn))
        if mt in (HIGHATOMIC, ISOLATE, CMA):
            return
        if zone.flags.steal_transaction:
            # c0cd6f557b90: move the free pages first (it fails across a zone edge), then
            # the type (inside move_freepages_block)
            if await move_freepages_block_typed(zone, pfn, MigrateType.HIGHATOMIC) < 0:
                return
            zone.nr_reserved_highatomic += zone.geometry.pageblock_nr_pages
        else:
            zone.nr_reserved_highatomic += zone.geometry.pageblock_nr_pages
            zone.set_pageblock_migratetype(pfn, MigrateType.HIGHATOMIC)
            await zone.sync.window(
                "reserve_highatomic_pageblock", PB, pfn >> zone.pageblock_order, True
            )
            move_freepages_block(zone, pfn, HIGHATOMIC)
    pb = zone.geometry.pageblock_nr_pages
    k.trace(
        "highatomic_reserved",
        cpu,
        pfn=pfn & ~(pb - 1),
        from_mt=MigrateType(mt).name,
        to_mt="HIGHATOMIC",
        reserved=zone.nr_reserved_highatomic,
    )


async def unreserve_highatomic_pageblock(k: Kernel, cpu: int, mt: int, force: bool) -> bool:
    """Convert the pageblock of the first HIGHATOMIC free page (lowest order first) to
    ``mt``; True once a block gave up at least one free page."""
    zone = k.zone
    pb = zone.geometry.pageblock_nr_pages
    if not force and zone.nr_reserved_highatomic <= pb:
        return False  # preserve at least one pageblock unless memory pressure is high
    async with k.zone_lock:
        for order in range(zone.max_order):
            pfn = zone.free_list_first(order, HIGHATOMIC)
            if pfn is None:
                continue
            if zone.get_pageblock_migratetype(pfn) == HIGHATOMIC:
                zone.nr_reserved_highatomic -= min(pb, zone.nr_reserved_highatomic)
            if zone.flags.steal_transaction:
                moved = await move_freepages_block_typed(zone, pfn, MigrateType(mt))
            else:
                zone.set_pageblock_migratetype(pfn, MigrateType(mt))
                await zone.sync.window(
                    "unreserve_highatomic_pageblock", PB, pfn >> zone.pageblock_order, True
                )
                moved, _ = move_freepages_block(zone, pfn, mt)
            if moved:
                k.trace(
                    "highatomic_unreserved",
                    cpu,
                    pfn=pfn & ~(pb - 1),
                    from_mt="HIGHATOMIC",
                    to_mt=MigrateType(mt).name,
                    moved=moved,
                    force=force,
                )
                return True
    return False
