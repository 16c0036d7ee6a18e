"""The zone as a picture's data: what ``zonesim report`` draws at each step.

A ``ZoneState`` is a read-only, JSON-able copy of the parts of the zone a kernel developer
looks at when reading a race: each pageblock's migratetype (ISOLATE while isolated, with
the type it had), every free block by order and list, every page held on a pcp list, the
allocations, and the ranges some CPU is walking right now (DESIGN.md §5's tolerated
states). Built from the model, never written back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zonesim.model.types import MIGRATE_PCPTYPES, MIGRATE_TYPES, MigrateType
from zonesim.model.zone import Zone

PcpPage = tuple[int, int, int, int]  # (cpu, pfn, order, pcp list migratetype)


@dataclass(frozen=True, slots=True)
class ZoneShape:
    """What does not change during an execution."""

    start_pfn: int
    pages: int
    pageblock_order: int
    max_order: int
    first_pageblock_pfn: int
    cpus: int

    def to_json(self) -> dict[str, Any]:
        return {
            "start_pfn": self.start_pfn,
            "pages": self.pages,
            "pageblock_order": self.pageblock_order,
            "max_order": self.max_order,
            "first_pageblock_pfn": self.first_pageblock_pfn,
            "cpus": self.cpus,
            "migratetypes": [MigrateType(mt).name for mt in range(MIGRATE_TYPES)],
        }


@dataclass(frozen=True, slots=True)
class ZoneState:
    pageblocks: tuple[int, ...]  # get_pageblock_migratetype() of each pageblock
    original: tuple[int, ...]  # the migratetype bits alone (what an isolated block was)
    free: tuple[tuple[int, int, int], ...]  # (pfn, order, list mt), list by list
    pcp: tuple[PcpPage, ...]
    allocated: tuple[tuple[int, int, int, int], ...]  # (pfn, pages, mt, cpu), by pfn
    walking: tuple[tuple[int, int], ...]  # [start, end) being (un)isolated right now
    counters: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "pageblocks": list(self.pageblocks),
            "original": list(self.original),
            "free": [list(f) for f in self.free],
            "pcp": [list(p) for p in self.pcp],
            "allocated": [list(a) for a in self.allocated],
            "walking": [list(w) for w in self.walking],
            "counters": dict(self.counters),
        }


def zone_shape(zone: Zone) -> ZoneShape:
    return ZoneShape(
        zone.start_pfn,
        zone.geometry.pages,
        zone.pageblock_order,
        zone.max_order,
        zone.pageblock_pfn(0),
        len(zone.pcp),
    )


def pcp_pages(zone: Zone) -> tuple[PcpPage, ...]:
    """Every page on every CPU's pcp lists, list by list (pcp->lists[pindex])."""
    m = zone.memmap
    g = zone.geometry
    out: list[PcpPage] = []
    for p in zone.pcp:
        for pindex in range(g.nr_pcp_lists):
            order = g.pindex_to_order(pindex)
            for i in m.list_iter(p.list_base + pindex):
                out.append((p.cpu, i + zone.start_pfn, order, pindex % MIGRATE_PCPTYPES))
    return tuple(out)


def zone_state(zone: Zone) -> ZoneState:
    m = zone.memmap
    nr_pb = len(zone.pageblock)
    first = zone.pageblock_pfn(0)
    pb_pfns = [max(first + (b << zone.pageblock_order), zone.start_pfn) for b in range(nr_pb)]
    free = tuple(
        (i + zone.start_pfn, order, mt)
        for order in range(zone.max_order)
        for mt in range(MIGRATE_TYPES)
        for i in m.list_iter(zone.free_list_id(order, mt))
    )
    allocated = tuple(
        sorted((a.pfn, a.nr, int(a.mt), a.cpu) for a in zone.allocations.values())
    )
    counters = (
        ("NR_FREE_PAGES", zone.NR_FREE_PAGES),
        ("NR_FREE_CMA_PAGES", zone.NR_FREE_CMA_PAGES),
        ("nr_isolate_pageblock", zone.nr_isolate_pageblock),
        *((f"cpu{p.cpu} pcp->count", p.count) for p in zone.pcp),
    )
    return ZoneState(
        pageblocks=tuple(int(zone.get_pageblock_migratetype(p)) for p in pb_pfns),
        original=tuple(int(zone.get_pageblock_original_mt(p)) for p in pb_pfns),
        free=free,
        pcp=pcp_pages(zone),
        allocated=allocated,
        walking=tuple(sorted(zone.transient_ranges)),
        counters=counters,
    )
