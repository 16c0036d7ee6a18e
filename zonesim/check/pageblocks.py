"""Pageblock invariants: list type vs pageblock type (I4), nothing free and allocatable
inside an isolated pageblock (I5a), the nr_isolate_pageblock census (I6), the CMA
census, and merges the buddy must never make."""

from __future__ import annotations

from collections.abc import Iterator

from zonesim.check.freelists import free_blocks
from zonesim.check.invariant import Violation, invariant
from zonesim.model.buddy import migratetype_is_mergeable
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MigrateType
from zonesim.model.zone import PB_ISOLATE_BIT, Zone

ISOLATE = MigrateType.ISOLATE
CMA = MigrateType.CMA


def block_types(zone: Zone, pfn: int, order: int) -> list[MigrateType]:
    """Pageblock types under the free block [pfn, pfn + 2^order), one per pageblock."""
    pb = zone.geometry.pageblock_nr_pages
    start = pfn & ~(pb - 1)
    return [zone.get_pageblock_migratetype(p) for p in range(start, pfn + (1 << order), pb)]


@invariant(
    "I4_list_matches_pageblock",
    "a block on free_list[CMA] lies wholly in CMA pageblocks",
    "the 5.15 promise for CMA lists (/proc/pagetypeinfo's two tables agree on CMA)",
    "quiescent",
)
def list_matches_pageblock(zone: Zone) -> Iterator[Violation]:
    yield from _blocks_outside_their_type(zone, CMA, "I4_list_matches_pageblock", "")


@invariant(
    "highatomic_reserve",
    "nr_reserved_highatomic counts exactly the HIGHATOMIC pageblocks (a pageblock each)",
    "reserve_highatomic_pageblock / unreserve_highatomic_pageblock, which move the count and "
    "the pageblock type together under zone->lock (WARN on underflow)",
    "quiescent",
)
def highatomic_reserve(zone: Zone) -> Iterator[Violation]:
    pb = zone.geometry.pageblock_nr_pages
    blocks = sum(
        1
        for b in range(len(zone.pageblock))
        if zone.get_pageblock_migratetype(max(zone.pageblock_pfn(b), zone.start_pfn))
        == MigrateType.HIGHATOMIC
    )
    if zone.nr_reserved_highatomic != blocks * pb:
        yield Violation(
            "highatomic_reserve",
            f"nr_reserved_highatomic is {zone.nr_reserved_highatomic} but {blocks} pageblock(s) "
            f"are HIGHATOMIC ({blocks * pb} pages)",
            None,
            None,
            "nr_reserved_highatomic",
            expected=blocks * pb,
            actual=zone.nr_reserved_highatomic,
        )


def in_transient(zone: Zone, pfn: int) -> bool:
    """Is pfn's pageblock inside a range some CPU is isolating or un-isolating now?"""
    return any(s <= pfn < e for s, e in zone.transient_ranges)


@invariant(
    "I4i_isolate_list_stranded",
    "when no isolation is in flight, a block on free_list[ISOLATE] lies wholly in isolated "
    "(or offlined) pageblocks",
    "undo_isolate_page_range's promise: nothing stays on the ISOLATE lists after the undo",
    "end",
)
def isolate_list_stranded(zone: Zone) -> Iterator[Violation]:
    # While an isolation is in flight such a block is only unavailable for a while (the
    # 5.15 walk over a MAX_ORDER-1 block leaves it so between two pageblocks); once every
    # CPU is done it is memory lost for good.
    yield from _blocks_outside_their_type(
        zone, ISOLATE, "I4i_isolate_list_stranded", ": memory lost for good"
    )


def _blocks_outside_their_type(
    zone: Zone, mt: MigrateType, name: str, consequence: str
) -> Iterator[Violation]:
    for pfn, order, list_mt in free_blocks(zone):
        if list_mt != mt:
            continue
        types = block_types(zone, pfn, order)
        pb = zone.geometry.pageblock_nr_pages
        first = pfn & ~(pb - 1)
        if any(
            t != mt and not (t == ISOLATE and in_transient(zone, first + n * pb))
            for n, t in enumerate(types)
        ):
            where = zone.describe_list(zone.free_list_id(order, mt))
            names = "/".join(t.name for t in types)
            yield Violation(
                name,
                f"order-{order} block at pfn {pfn:#x} on {where} covers pageblocks of type "
                f"{names}{consequence}",
                pfn,
                order,
                where,
                expected=mt.name,
                actual=names,
            )


def isolated_pageblocks(zone: Zone) -> Iterator[int]:
    """First pfn of every pageblock of the zone whose type reads ISOLATE."""
    for b in range(len(zone.pageblock)):
        pfn = zone.pageblock_pfn(b)
        if zone.get_pageblock_migratetype(max(pfn, zone.start_pfn)) == ISOLATE:
            yield pfn


@invariant(
    "I5a_isolated_not_allocatable",
    "no free block on a non-ISOLATE free list overlaps an isolated pageblock",
    "set_migratetype_isolate's move_freepages_block; what test_pages_isolated relies on",
    "quiescent",
)
def isolated_not_allocatable(zone: Zone) -> Iterator[Violation]:
    if not zone.nr_isolate_pageblock:
        return
    m = zone.memmap
    pb = zone.geometry.pageblock_nr_pages
    reported: set[int] = set()
    for start in isolated_pageblocks(zone):
        if in_transient(zone, start):
            continue
        lo, hi = max(start, zone.start_pfn), min(start + pb, zone.end_pfn)
        heads = _free_heads_overlapping(zone, lo, hi)
        for head in heads:
            i = head - zone.start_pfn
            lid = m.list_id[i]
            if lid == NIL or lid >= zone.nr_free_lists or lid % 6 == ISOLATE or head in reported:
                continue
            reported.add(head)
            order = m.order[i]
            where = zone.describe_list(lid)
            yield Violation(
                "I5a_isolated_not_allocatable",
                f"order-{order} block at pfn {head:#x} on {where} overlaps isolated pageblock "
                f"{start:#x}-{start + pb - 1:#x}: pages of an isolated range can be handed out",
                head,
                order,
                where,
                expected="free_list[ISOLATE]",
                actual=where,
            )


def _free_heads_overlapping(zone: Zone, lo: int, hi: int) -> list[int]:
    """Heads of free blocks overlapping [lo, hi): one that starts before ``lo`` and
    straddles into it, plus every head inside."""
    m = zone.memmap
    heads: list[int] = []
    for order in range(zone.max_order):
        head = lo & ~((1 << order) - 1)
        if head == lo or not zone.has_memmap(head):
            continue
        i = head - zone.start_pfn
        if m.flags[i] & PG_buddy and head + (1 << m.order[i]) > lo:
            heads.append(head)
            break
    pfn = lo
    while pfn < hi:
        i = pfn - zone.start_pfn
        if m.flags[i] & PG_buddy:
            heads.append(pfn)
            pfn += 1 << m.order[i]
        else:
            pfn += 1
    return heads


_ISOLATE_BIT_SET = bytes(1 if v & PB_ISOLATE_BIT else 0 for v in range(256))


def isolate_census(zone: Zone) -> int:
    """Pageblocks whose type reads ISOLATE, less those of offlined sections. Byte
    operations only: it runs at every step, and a 4 GiB zone has 2048 pageblocks."""
    if zone.flags.isolate_bit:
        n = zone.pageblock.translate(_ISOLATE_BIT_SET).count(1)
    else:
        n = zone.pageblock.count(int(ISOLATE))
    return n - zone.offline_isolated_pageblocks


@invariant(
    "I6_nr_isolate_pageblock",
    "zone->nr_isolate_pageblock equals the number of pageblocks whose type is ISOLATE",
    "the has_isolate_pageblock() gate of __free_one_page and free_pcppages_bulk",
    "step",
)
def nr_isolate_census(zone: Zone) -> Iterator[Violation]:
    n = isolate_census(zone)
    if n != zone.nr_isolate_pageblock:
        yield Violation(
            "I6_nr_isolate_pageblock",
            "nr_isolate_pageblock disagrees with the pageblock bitmap",
            where="zone->nr_isolate_pageblock",
            expected=n,
            actual=zone.nr_isolate_pageblock,
        )


@invariant(
    "cma_pageblocks",
    "pageblocks of a CMA area stay CMA (or are isolated), no other pageblock is CMA, and "
    "free pages of CMA pageblocks sit on CMA or ISOLATE lists",
    "init_cma_reserved_pageblock; has_unmovable_pages' refusal of CMA for non-CMA callers",
    "quiescent",
)
def cma_pageblocks(zone: Zone) -> Iterator[Violation]:
    pb = zone.geometry.pageblock_nr_pages
    for b in range(len(zone.pageblock)):
        pfn = max(zone.pageblock_pfn(b), zone.start_pfn)
        in_area = any(r[0] <= pfn < r[1] for r in zone.cma_ranges)
        t = zone.get_pageblock_migratetype(pfn)
        orig = zone.get_pageblock_original_mt(pfn) if zone.flags.isolate_bit else t
        if in_area and t not in (CMA, ISOLATE):
            yield Violation(
                "cma_pageblocks",
                f"pageblock {pfn:#x}-{pfn + pb - 1:#x} of a CMA area became {t.name}",
                pfn,
                None,
                "pageblock",
                expected="CMA",
                actual=t.name,
            )
        elif in_area and zone.flags.isolate_bit and t == ISOLATE and orig != CMA:
            yield Violation(
                "cma_pageblocks",
                f"isolated pageblock {pfn:#x} of a CMA area keeps type {orig.name}",
                pfn,
                None,
                "pageblock",
                expected="CMA",
                actual=orig.name,
            )
        elif not in_area and (t == CMA or orig == CMA):
            yield Violation(
                "cma_pageblocks",
                f"pageblock {pfn:#x}-{pfn + pb - 1:#x} outside every CMA area is CMA",
                pfn,
                None,
                "pageblock",
                expected="not CMA",
                actual="CMA",
            )
    for pfn, order, mt in free_blocks(zone):
        if mt in (CMA, ISOLATE):
            continue
        if CMA in block_types(zone, pfn, order):
            where = zone.describe_list(zone.free_list_id(order, mt))
            yield Violation(
                "cma_pageblocks",
                f"order-{order} block at pfn {pfn:#x} of a CMA pageblock is on {where}: "
                "CMA memory serves unmovable requests",
                pfn,
                order,
                where,
                expected="free_list[CMA]",
                actual=where,
            )


@invariant(
    "no_forbidden_merge",
    "no free block spans pageblocks the buddy must keep apart: CMA or HIGHATOMIC with any "
    "other type always (CMA memory or the highatomic reserve leaks); with 1dd214b8f21c "
    "every non-mergeable type with any other",
    "__free_one_page's pageblock_order merge check",
    "quiescent",
)
def no_forbidden_merge(zone: Zone) -> Iterator[Violation]:
    for pfn, order, mt in free_blocks(zone):
        if order <= zone.pageblock_order:
            continue
        types = [t for t in block_types(zone, pfn, order) if t != ISOLATE]
        if len(set(types)) < 2:
            continue
        cma_mix = any(
            special in types and any(t != special for t in types)
            for special in (CMA, MigrateType.HIGHATOMIC)
        )
        strict = zone.flags.mergeable_merge_check and any(
            not migratetype_is_mergeable(t) for t in types
        )
        if cma_mix or strict:
            names = "/".join(t.name for t in block_types(zone, pfn, order))
            yield Violation(
                "no_forbidden_merge",
                f"order-{order} free block at pfn {pfn:#x} merged pageblocks {names}",
                pfn,
                order,
                zone.describe_list(zone.free_list_id(order, mt)),
                expected="one type",
                actual=names,
            )
