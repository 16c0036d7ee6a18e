"""Free-list integrity and the free-page counters (I1, I2, I3)."""

from __future__ import annotations

from collections.abc import Iterator

from zonesim.check.invariant import Violation, invariant
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MIGRATE_TYPES, MigrateType
from zonesim.model.zone import Zone

ISOLATE = int(MigrateType.ISOLATE)
CMA = int(MigrateType.CMA)


def free_blocks(zone: Zone) -> Iterator[tuple[int, int, int]]:
    """(pfn, order, list mt) of every block on a free list, list by list."""
    m = zone.memmap
    for order in range(zone.max_order):
        for mt in range(MIGRATE_TYPES):
            for i in m.list_iter(zone.free_list_id(order, mt)):
                yield i + zone.start_pfn, order, mt


@invariant(
    "I1_free_list_integrity",
    "each free head is PageBuddy with its order, on exactly one free_list[order][mt], "
    "aligned, inside the zone; nr_free[order] counts them",
    "__del_page_from_free_list VM_BUG_ONs, /proc/buddyinfo vs list walk",
    "quiescent",
)
def free_list_integrity(zone: Zone) -> Iterator[Violation]:
    m = zone.memmap
    name = "I1_free_list_integrity"
    for order in range(zone.max_order):
        seen = 0
        for mt in range(MIGRATE_TYPES):
            lid = zone.free_list_id(order, mt)
            where = zone.describe_list(lid)
            prev = NIL
            n = 0
            for i in m.list_iter(lid):
                pfn = i + zone.start_pfn
                n += 1
                if m.prev[i] != prev:
                    yield Violation(name, f"broken prev link at pfn {pfn:#x}", pfn, order, where)
                prev = i
                if not m.flags[i] & PG_buddy:
                    yield Violation(
                        name, f"pfn {pfn:#x} on {where} is not PageBuddy", pfn, order, where
                    )
                if m.order[i] != order:
                    yield Violation(
                        name,
                        f"pfn {pfn:#x} on {where} has buddy order {m.order[i]}",
                        pfn,
                        order,
                        where,
                        expected=order,
                        actual=m.order[i],
                    )
                if pfn & ((1 << order) - 1):
                    yield Violation(
                        name,
                        f"order-{order} block at pfn {pfn:#x} is not aligned",
                        pfn,
                        order,
                        where,
                    )
                if pfn + (1 << order) > zone.end_pfn:
                    yield Violation(
                        name,
                        f"order-{order} block at pfn {pfn:#x} runs past the zone end",
                        pfn,
                        order,
                        where,
                    )
            if n != m.lists_len[lid]:
                yield Violation(
                    name,
                    f"{where} length disagrees with its walk",
                    None,
                    order,
                    where,
                    expected=n,
                    actual=m.lists_len[lid],
                )
            seen += n
        if seen != zone.nr_free[order]:
            yield Violation(
                name,
                f"free_area[{order}].nr_free disagrees with the lists",
                None,
                order,
                f"free_area[{order}].nr_free",
                expected=seen,
                actual=zone.nr_free[order],
            )
    # A PageBuddy page on no list is found by page_conservation (end of execution): the
    # scan is O(zone) and this invariant runs after every op.


def list_pages(zone: Zone) -> tuple[int, int]:
    """(pages on every free list but ISOLATE, pages on the CMA lists), from the list
    lengths: O(MAX_ORDER), cheap enough for every step."""
    lengths = zone.memmap.lists_len
    total = 0
    cma = 0
    for order in range(zone.max_order):
        base = order * MIGRATE_TYPES
        row = lengths[base : base + MIGRATE_TYPES]
        total += (sum(row) - row[ISOLATE]) << order
        cma += row[CMA] << order
    return total, cma


@invariant(
    "I2_nr_free_pages",
    "NR_FREE_PAGES equals the pages on all free lists except ISOLATE (pcp pages not counted)",
    "zone_page_state(NR_FREE_PAGES) vs /proc/pagetypeinfo; the 5.15 freepage drift reports",
    "step",
)
def nr_free_pages(zone: Zone) -> Iterator[Violation]:
    expected = list_pages(zone)[0]
    if expected != zone.NR_FREE_PAGES:
        yield Violation(
            "I2_nr_free_pages",
            "NR_FREE_PAGES disagrees with the free lists",
            where="NR_FREE_PAGES",
            expected=expected,
            actual=zone.NR_FREE_PAGES,
        )


@invariant(
    "I3_nr_free_cma_pages",
    "NR_FREE_CMA_PAGES equals the pages on the CMA free lists and never exceeds cma_pages",
    "zone_page_state(NR_FREE_CMA_PAGES), __zone_watermark_ok's CMA reserve",
    "step",
)
def nr_free_cma_pages(zone: Zone) -> Iterator[Violation]:
    expected = list_pages(zone)[1]
    if expected != zone.NR_FREE_CMA_PAGES:
        yield Violation(
            "I3_nr_free_cma_pages",
            "NR_FREE_CMA_PAGES disagrees with the CMA free lists",
            where="NR_FREE_CMA_PAGES",
            expected=expected,
            actual=zone.NR_FREE_CMA_PAGES,
        )
    if zone.cma_pages < zone.NR_FREE_CMA_PAGES:
        yield Violation(
            "I3_nr_free_cma_pages",
            "NR_FREE_CMA_PAGES exceeds zone->cma_pages",
            where="NR_FREE_CMA_PAGES",
            expected=f"<= {zone.cma_pages}",
            actual=zone.NR_FREE_CMA_PAGES,
        )
