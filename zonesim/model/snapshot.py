"""Read-only snapshots of the zone for renderers and logs (the zone_statistics() view)."""

from __future__ import annotations

from dataclasses import dataclass

from zonesim.model.types import MIGRATE_TYPES, MigrateType
from zonesim.model.zone import Zone


@dataclass(frozen=True, slots=True)
class PcpSnapshot:
    cpu: int
    count: int
    high: int
    batch: int


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    name: str
    start_pfn: int
    spanned: int
    present: int
    managed: int
    cma_pages: int
    max_order: int
    pageblock_order: int
    nr_free: tuple[int, ...]  # free_area[order].nr_free
    list_len: tuple[tuple[int, ...], ...]  # [mt][order] blocks on free_list[mt]
    pageblock_types: tuple[MigrateType, ...]  # per pageblock the zone touches
    pageblock_first_pfn: int
    nr_free_pages: int
    nr_free_cma_pages: int
    nr_isolate_pageblock: int
    wmark_min: int
    wmark_low: int
    wmark_high: int
    pcp: tuple[PcpSnapshot, ...]

    @property
    def pageblock_counts(self) -> tuple[int, ...]:
        """Pageblocks per type, counted the way pagetypeinfo_showblockcount_print() walks:
        from zone_start_pfn in pageblock steps (an unaligned zone counts the pageblock
        holding each step once)."""
        counts = [0] * MIGRATE_TYPES
        pb_order = self.pageblock_order
        first = self.pageblock_first_pfn >> pb_order
        for pfn in range(self.start_pfn, self.start_pfn + self.spanned, 1 << pb_order):
            counts[self.pageblock_types[(pfn >> pb_order) - first]] += 1
        return tuple(counts)


def snapshot(zone: Zone) -> ZoneSnapshot:
    m = zone.memmap
    list_len = tuple(
        tuple(m.lists_len[zone.free_list_id(order, mt)] for order in range(zone.max_order))
        for mt in range(MIGRATE_TYPES)
    )
    types = tuple(
        zone.get_pageblock_migratetype(max(zone.pageblock_pfn(b), zone.start_pfn))
        for b in range(len(zone.pageblock))
    )
    return ZoneSnapshot(
        name=zone.name,
        start_pfn=zone.start_pfn,
        spanned=zone.geometry.pages,
        present=zone.present_pages,
        managed=zone.managed_pages,
        cma_pages=zone.cma_pages,
        max_order=zone.max_order,
        pageblock_order=zone.pageblock_order,
        nr_free=tuple(zone.nr_free),
        list_len=list_len,
        pageblock_types=types,
        pageblock_first_pfn=zone.pageblock_pfn(0),
        nr_free_pages=zone.NR_FREE_PAGES,
        nr_free_cma_pages=zone.NR_FREE_CMA_PAGES,
        nr_isolate_pageblock=zone.nr_isolate_pageblock,
        wmark_min=zone.watermarks.min,
        wmark_low=zone.watermarks.low,
        wmark_high=zone.watermarks.high,
        pcp=tuple(PcpSnapshot(p.cpu, p.count, p.high, p.batch) for p in zone.pcp),
    )
