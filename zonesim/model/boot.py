"""Building a zone the way boot does: memmap_init, then memblock_free_all() frees the
present memory in maximal aligned blocks (__free_pages_memory -> __free_pages_core), then
cma_init_reserved_areas() frees each CMA pageblock (init_cma_reserved_pageblock).

The layout may give pageblocks types other than MOVABLE (the kernel only gets those at
run time, by stealing or reserving); the model frees such ranges in chunks that never
cross a pageblock of another type and lets __free_one_page merge them by the design's
own rules, so the initial state is one the modelled kernel could reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zonesim.model.buddy import FPI_TO_TAIL, __free_one_page
from zonesim.model.cma import CmaArea
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import PG_nomap, PG_reserved
from zonesim.model.sizing import zone_batchsize, zone_highsize, zone_watermarks
from zonesim.model.sync import run_sync
from zonesim.model.types import MigrateType
from zonesim.model.zone import Watermarks, Zone


@dataclass(frozen=True, slots=True)
class PfnRange:
    start: int
    end: int  # exclusive

    def __contains__(self, pfn: object) -> bool:
        return isinstance(pfn, int) and self.start <= pfn < self.end


@dataclass(frozen=True, slots=True)
class ZoneLayout:
    """Everything needed to boot a zone; defaults are the kernel's."""

    geometry: Geometry
    pageblock_types: tuple[tuple[PfnRange, MigrateType], ...] = ()
    holes: tuple[PfnRange, ...] = ()
    reserved: tuple[PfnRange, ...] = ()
    cma: tuple[PfnRange, ...] = ()
    cma_names: tuple[str, ...] = ()  # default cma0, cma1, ...
    cma_order_per_bit: tuple[int, ...] = ()  # default 0
    movable_zone: bool = False
    pcp_high: int | None = None
    pcp_batch: int | None = None
    watermarks: Watermarks | None = None
    flags: ModelFlags = field(default_factory=ModelFlags)


def build_zone(layout: ZoneLayout) -> Zone:
    g = layout.geometry
    nr_absent = sum(_clip(r, g).end - _clip(r, g).start for r in layout.holes)
    nr_reserved = sum(_clip(r, g).end - _clip(r, g).start for r in layout.reserved)
    managed = g.pages - nr_absent - nr_reserved
    wm = layout.watermarks or zone_watermarks(managed)
    batch = layout.pcp_batch if layout.pcp_batch is not None else zone_batchsize(managed)
    high = layout.pcp_high if layout.pcp_high is not None else zone_highsize(wm.low, batch, g.cpus)
    zone = Zone(
        g,
        layout.flags,
        pcp_high=high,
        pcp_batch=batch,
        watermarks=wm,
        movable_zone=layout.movable_zone,
    )
    m = zone.memmap
    zone.present_pages = g.pages - nr_absent
    for r in (*layout.holes, *layout.reserved):
        c = _clip(r, g)
        if c.start < c.end:
            zone.absent_ranges.append((c.start, c.end))
    for r in layout.holes:
        c = _clip(r, g)
        for pfn in range(c.start, c.end):
            m.flags[pfn - g.start_pfn] |= PG_nomap
    for r in layout.reserved:
        c = _clip(r, g)
        for pfn in range(c.start, c.end):
            m.flags[pfn - g.start_pfn] |= PG_reserved
            m.refcount[pfn - g.start_pfn] = 1
    # memmap_init(): every pageblock starts MOVABLE; the layout's types come on top.
    for r, mt in layout.pageblock_types:
        _set_types(zone, r, mt)
        if mt == MigrateType.ISOLATE:
            # a range isolated before the memory was freed (as onlining does): counted
            # before the frees below, so they go to ISOLATE lists and refuse to merge out
            pb = g.pageblock_nr_pages
            first = r.start & ~(pb - 1)
            zone.nr_isolate_pageblock += (r.end - first + pb - 1) // pb
        if mt == MigrateType.HIGHATOMIC:
            # reserve_highatomic_pageblock() counts what it reserves
            pb = g.pageblock_nr_pages
            first = r.start & ~(pb - 1)
            zone.nr_reserved_highatomic += ((r.end - first + pb - 1) // pb) * pb
    for n, r in enumerate(layout.cma):
        _set_types(zone, r, MigrateType.CMA)
        zone.cma_ranges.append((r.start, r.end))
        name = layout.cma_names[n] if n < len(layout.cma_names) else f"cma{n}"
        opb = layout.cma_order_per_bit[n] if n < len(layout.cma_order_per_bit) else 0
        zone.cma_areas[name] = CmaArea(name, r.start, r.end - r.start, opb)

    # memblock_free_all(): everything but holes, reserved pages and the CMA areas, in
    # maximal aligned blocks.
    zone_range = [PfnRange(g.start_pfn, g.end_pfn)]
    for start, end in _subtract(zone_range, (*layout.holes, *layout.reserved, *layout.cma)):
        _free_range(zone, start, end)
    # cma_init_reserved_areas(): each CMA pageblock freed as CMA.
    for r in layout.cma:
        for start, end in _subtract([_clip(r, g)], (*layout.holes, *layout.reserved)):
            _free_range(zone, start, end)
            zone.cma_pages += end - start
    zone.managed_pages = managed
    return zone


def _clip(r: PfnRange, g: Geometry) -> PfnRange:
    return PfnRange(max(r.start, g.start_pfn), min(r.end, g.end_pfn))


def _set_types(zone: Zone, r: PfnRange, mt: MigrateType) -> None:
    pb = zone.geometry.pageblock_nr_pages
    pfn = r.start & ~(pb - 1)
    while pfn < r.end:
        zone.set_pageblock_migratetype(pfn, mt)
        pfn += pb


def _subtract(ranges: list[PfnRange], cut: tuple[PfnRange, ...]) -> list[tuple[int, int]]:
    """[start, end) pieces of ``ranges`` not covered by any of ``cut`` (interval arithmetic,
    so booting a 4 GiB zone does not walk it pfn by pfn)."""
    pieces = [(r.start, r.end) for r in ranges if r.start < r.end]
    for c in sorted(cut, key=lambda r: (r.start, r.end)):
        nxt: list[tuple[int, int]] = []
        for s, e in pieces:
            if c.end <= s or c.start >= e:
                nxt.append((s, e))
                continue
            if s < c.start:
                nxt.append((s, c.start))
            if c.end < e:
                nxt.append((c.end, e))
        pieces = nxt
    return sorted(pieces)


def _free_range(zone: Zone, start: int, end: int) -> None:
    """__free_pages_memory(): the largest aligned blocks that fit, FPI_TO_TAIL, each
    counted by its head's pageblock type — split where the pageblock type changes."""
    max_order = zone.max_order - 1
    pfn = start
    while pfn < end:
        order = min(max_order, (pfn & -pfn).bit_length() - 1 if pfn else max_order)
        while pfn + (1 << order) > end or not _one_type(zone, pfn, order):
            order -= 1
        mt = zone.get_pageblock_migratetype(pfn)
        run_sync(__free_one_page(zone, pfn, order, mt, FPI_TO_TAIL))
        pfn += 1 << order


def _one_type(zone: Zone, pfn: int, order: int) -> bool:
    if order <= zone.pageblock_order:
        return True
    pb = zone.geometry.pageblock_nr_pages
    first = zone.get_pageblock_migratetype(pfn)
    return all(
        zone.get_pageblock_migratetype(p) == first for p in range(pfn, pfn + (1 << order), pb)
    )
