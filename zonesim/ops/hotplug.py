"""Memory offlining and onlining of a pageblock-aligned range (v5.15 mm/memory_hotplug.c,
kernel-reference §2.11; the ordering there is reconstructed from diffs, not read whole).

offline_pages: mem_hotplug_lock; zone_pcp_disable (ec6e8c7e0314) or, before it, one
drain after isolation; isolate with MEMORY_OFFLINE; notify the owners of PageOffline
pages (virtio-mem drops its reference); migrate until nothing movable is left and
test_pages_isolated succeeds (bounded here: the kernel loops until a signal); take the
free pages off the buddy; nr_isolate_pageblock drops while the pageblock bits stay
ISOLATE. online_pages does the reverse through ISOLATE lists and an undo.
"""

from __future__ import annotations

from array import array

from zonesim.model.buddy import FPI_TO_TAIL, __free_one_page, del_page_from_free_list
from zonesim.model.memmap import (
    NIL,
    PG_buddy,
    PG_hugetlb,
    PG_lru,
    PG_movable,
    PG_nomap,
    PG_offline,
    PG_offline_section,
)
from zonesim.model.types import MigrateType
from zonesim.ops.drain import drain_all_pages, zone_pcp_disable, zone_pcp_enable
from zonesim.ops.errno import EBUSY, EINVAL
from zonesim.ops.isolate_range import start_isolate_page_range
from zonesim.ops.isolation import (
    MEMORY_OFFLINE,
    REPORT_FAILURE,
    test_pages_isolated,
    undo_isolate_page_range,
)
from zonesim.ops.kernel import Kernel
from zonesim.ops.migrate import migrate_page, movable_allocations

OFFLINE_ROUNDS = 8  # the model's bound on offline_pages' retry loop
MOVABLE = int(MigrateType.MOVABLE)


def _range_ok(k: Kernel, start: int, nr: int, offline: bool) -> bool:
    """Memory is offlined by whole sections; the model's section is one MAX_ORDER-1 block
    (at least a pageblock), so no free buddy block can reach across the range's edge."""
    zone = k.zone
    g = zone.geometry
    unit = max(g.max_order_nr_pages, g.pageblock_nr_pages)
    if nr <= 0 or start % unit or nr % unit or start < zone.start_pfn or start + nr > zone.end_pfn:
        return False
    m = zone.memmap
    section = m.flags[start - zone.start_pfn : start + nr - zone.start_pfn]
    if any(f & PG_nomap for f in section):
        return False  # offline_pages refuses ranges with holes
    in_offline = [bool(f & PG_offline_section) for f in section]
    return not any(in_offline) if offline else all(in_offline)


async def offline_pages(k: Kernel, cpu: int, start: int, nr: int) -> int:
    end = start + nr
    pcp_disabled = k.policy.has("ec6e8c7e0314")
    # The memory block's state is checked under the hotplug locks (device_hotplug_lock +
    # mem_hotplug_begin), so two CPUs cannot both offline (or online) the same block.
    async with k.mem_hotplug_lock:
        if not _range_ok(k, start, nr, offline=True):
            return EINVAL
        if pcp_disabled:
            await zone_pcp_disable(k, cpu)
        ret = await start_isolate_page_range(
            k, cpu, start, end, MOVABLE, MEMORY_OFFLINE | REPORT_FAILURE
        )
        if ret:
            k.trace(
                "offline_pages",
                cpu,
                pfn=start,
                count=nr,
                result="-EBUSY (failure to isolate range)",
            )
            if pcp_disabled:
                await zone_pcp_enable(k, cpu)
            return ret
        if not pcp_disabled:
            await drain_all_pages(k, cpu)
        held = _notify_going_offline(k, start, end)
        ret = EBUSY
        for _ in range(OFFLINE_ROUNDS):
            for a in movable_allocations(k, start, end):
                await migrate_page(k, cpu, a)  # do_migrate_range(): errors are ignored
            if _unmovable_left(k, start, end):
                break  # "unmovable page"
            # cond_resched(): the loop waits for other CPUs (a page in flight to a pcp
            # list, a migration target being freed) to make progress
            await k.wait_for_others("offline_pages:retry", cpu)
            if not await test_pages_isolated(k, cpu, start, end, MEMORY_OFFLINE):
                ret = 0
                break
            if not pcp_disabled and k.policy.has("968318261221"):
                # "drain again, because when we isolated range we might have raced with
                # another thread that was adding pages to pcp list"
                await drain_all_pages(k, cpu)
        if ret:
            _notify_cancel_offline(k, held)
            await undo_isolate_page_range(k, cpu, start, end, MOVABLE)
            if pcp_disabled:
                await zone_pcp_enable(k, cpu)
            k.trace("offline_pages", cpu, pfn=start, count=nr, result="-EBUSY")
            return ret
        async with k.zone_lock:
            _offline_isolated_pages(k, start, end, held)
        if pcp_disabled:
            await zone_pcp_enable(k, cpu)
    k.trace("offline_pages", cpu, pfn=start, count=nr, result="ok")
    return 0


def _notify_going_offline(k: Kernel, start: int, end: int) -> list[int]:
    """MEM_GOING_OFFLINE: virtio-mem drops its reference on its PageOffline pages in the
    range, so test_pages_isolated(MEMORY_OFFLINE) can skip them. Returns their
    allocation ids."""
    zone = k.zone
    m = zone.memmap
    held: list[int] = []
    for a in list(zone.allocations.values()):
        if (
            a.contig
            and start <= a.pfn
            and a.pfn + a.nr <= end
            and m.flags[a.pfn - zone.start_pfn] & PG_offline
        ):
            i = a.pfn - zone.start_pfn
            m.cow_range(i, a.nr)
            m.refcount[i : i + a.nr] = array("h", bytes(2 * a.nr))
            held.append(a.id)
    return held


def _notify_cancel_offline(k: Kernel, held: list[int]) -> None:
    zone = k.zone
    for aid in held:
        a = zone.allocations[aid]
        i = a.pfn - zone.start_pfn
        zone.memmap.cow_range(i, a.nr)
        zone.memmap.refcount[i : i + a.nr] = array("h", [1]) * a.nr


def _unmovable_left(k: Kernel, start: int, end: int) -> bool:
    """scan_movable_pages() found something it cannot migrate: an allocated page that is
    neither movable nor an unreferenced PageOffline page."""
    zone = k.zone
    m = zone.memmap
    for pfn in range(start, end):
        i = pfn - zone.start_pfn
        if m.owner[i] == NIL:
            continue
        if m.flags[i] & PG_offline and m.refcount[i] == 0:
            continue
        a = zone.allocations[m.owner[i]]
        if not m.flags[a.pfn - zone.start_pfn] & (PG_lru | PG_movable | PG_hugetlb):
            return True
    return False


def _offline_isolated_pages(k: Kernel, start: int, end: int, held: list[int]) -> None:
    """__offline_isolated_pages() + the accounting after it (zone->lock held)."""
    zone = k.zone
    m = zone.memmap
    pfn = start
    while pfn < end:
        i = pfn - zone.start_pfn
        if m.flags[i] & PG_buddy:
            order = m.order[i]
            del_page_from_free_list(zone, pfn, order)  # ISOLATE lists: no vmstat change
            pfn += 1 << order
        else:
            pfn += 1
    for aid in held:  # the driver's pages are gone with the section
        a = zone.allocations.pop(aid)
        zone.by_token.pop(a.token, None)
        i = a.pfn - zone.start_pfn
        m.cow_range(i, a.nr)
        m.owner[i : i + a.nr] = array("i", [NIL]) * a.nr
        zone.managed_pages += a.nr  # counted out once already by the driver
    m.cow_range(start - zone.start_pfn, end - start)
    for i in range(start - zone.start_pfn, end - zone.start_pfn):
        m.flags[i] = (m.flags[i] & ~PG_offline) | PG_offline_section
    nr_pb = (end - start) // zone.geometry.pageblock_nr_pages
    # The pageblock bits stay ISOLATE but no longer count (kernel-reference §2.11).
    zone.nr_isolate_pageblock -= nr_pb
    zone.offline_isolated_pageblocks += nr_pb
    zone.managed_pages -= end - start
    zone.present_pages -= end - start
    zone.absent_ranges.append((start, end))


async def online_pages(k: Kernel, cpu: int, start: int, nr: int) -> int:
    end = start + nr
    zone = k.zone
    pb = zone.geometry.pageblock_nr_pages
    async with k.mem_hotplug_lock:
        if not _range_ok(k, start, nr, offline=False):
            return EINVAL
        async with k.zone_lock:
            nr_pb = nr // pb
            for p in range(start, end, pb):
                # memmap_init_range(): MOVABLE first, then isolated for the onlining
                zone.set_pageblock_migratetype(p, MigrateType.MOVABLE)
                zone.set_pageblock_migratetype(p, MigrateType.ISOLATE)
            zone.offline_isolated_pageblocks -= nr_pb
            zone.nr_isolate_pageblock += nr_pb
            m = zone.memmap
            m.cow_range(start - zone.start_pfn, nr)
            for i in range(start - zone.start_pfn, end - zone.start_pfn):
                m.flags[i] &= ~PG_offline_section
            zone.present_pages += nr
            zone.managed_pages += nr
            zone.absent_ranges.remove((start, end))
            # online_pages_range() -> generic_online_page() -> __free_pages_core(): the
            # blocks land on ISOLATE lists, uncounted. The kernel's order is
            # min(MAX_ORDER - 1, __ffs(pfn)); a section here is whole MAX_ORDER-1 blocks
            # (_range_ok; pageblock_order < MAX_ORDER), so that is always MAX_ORDER - 1.
            order = zone.max_order - 1
            for pfn in range(start, end, 1 << order):
                await __free_one_page(zone, pfn, order, int(MigrateType.ISOLATE), FPI_TO_TAIL)
        await undo_isolate_page_range(k, cpu, start, end, MOVABLE)
    k.trace("online_pages", cpu, pfn=start, count=nr, result="ok")
    return 0
