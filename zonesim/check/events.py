"""Invariants about a pfn range, judged at the moment the kernel relies on them: I5b when
test_pages_isolated() succeeds, I7 when alloc_contig_range() returns 0."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from zonesim.check.invariant import Violation
from zonesim.check.pageblocks import _free_heads_overlapping
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

ISOLATE = int(MigrateType.ISOLATE)

RangeCheck = Callable[[Zone, int, int], Iterator[Violation]]


@dataclass(frozen=True, slots=True)
class EventInvariant:
    name: str
    statement: str
    mirrors: str
    fn: RangeCheck


def isolated_range_clean(zone: Zone, start: int, end: int) -> Iterator[Violation]:
    m = zone.memmap
    name = "I5b_isolated_range_clean"
    for head in _free_heads_overlapping(zone, max(start, zone.start_pfn), min(end, zone.end_pfn)):
        lid = m.list_id[head - zone.start_pfn]
        if lid != NIL and lid < zone.nr_free_lists and lid % 6 != ISOLATE:
            where = zone.describe_list(lid)
            yield Violation(
                name,
                f"test_pages_isolated({start:#x}, {end:#x}) succeeded but the "
                f"free block at pfn {head:#x} is on {where}: it can be allocated",
                head,
                m.order[head - zone.start_pfn],
                where,
                expected="free_list[ISOLATE]",
                actual=where,
            )
            return
    lo, hi = max(start, zone.start_pfn), min(end, zone.end_pfn)
    # pcp lists have the highest list ids: one max() over the slice says whether any page
    # of the range sits on one (then the loop below names the first)
    if lo >= hi or max(m.list_id[lo - zone.start_pfn:hi - zone.start_pfn]) < zone.nr_free_lists:
        return
    for pfn in range(lo, hi):
        lid = m.list_id[pfn - zone.start_pfn]
        if lid != NIL and lid >= zone.nr_free_lists:
            where = zone.describe_list(lid)
            yield Violation(
                name,
                f"test_pages_isolated({start:#x}, {end:#x}) succeeded but pfn "
                f"{pfn:#x} sits on {where}",
                pfn,
                None,
                where,
            )
            return


#: the byte of a native-order ``flags`` entry that holds PG_buddy (bit 0), and a table
#: that maps it to 1 when the bit is set
_LOW_BYTE = 0 if sys.byteorder == "little" else 1
_BUDDY_BIT = bytes(v & PG_buddy & 0xFF for v in range(256))


def _all_allocated(zone: Zone, a: int, b: int) -> bool:
    """The per-page test below over memmap slices (count and translate in C): true when
    pages ``a .. b-1`` (indexes) all have refcount 1, no list, no PageBuddy and one
    owner. It runs whenever alloc_contig_range succeeds, over 512-page ranges."""
    m = zone.memmap
    n = b - a
    owner = m.owner[a]
    return (owner != NIL and m.refcount[a:b].count(1) == n
            and m.list_id[a:b].count(NIL) == n and m.owner[a:b].count(owner) == n
            and not m.flags[a:b].tobytes()[_LOW_BYTE::2].translate(_BUDDY_BIT).count(1))


def contig_range_allocated(zone: Zone, start: int, end: int) -> Iterator[Violation]:
    m = zone.memmap
    a, b = start - zone.start_pfn, end - zone.start_pfn
    if 0 <= a < b <= m.nr and _all_allocated(zone, a, b):
        return
    owner = m.owner[start - zone.start_pfn]
    for pfn in range(start, end):
        i = pfn - zone.start_pfn
        if (
            m.refcount[i] != 1
            or m.flags[i] & PG_buddy
            or m.list_id[i] != NIL
            or m.owner[i] != owner
            or owner == NIL
        ):
            yield Violation(
                "I7_contig_range_allocated",
                f"alloc_contig_range({start:#x}, {end:#x}) returned 0 but pfn "
                f"{pfn:#x} is not a page of the result (refcount {m.refcount[i]}, "
                f"PageBuddy {bool(m.flags[i] & PG_buddy)}, list {m.list_id[i]})",
                pfn,
            )
            return


EVENT_INVARIANTS: dict[str, EventInvariant] = {
    e.name: e
    for e in (
        EventInvariant(
            "I5b_isolated_range_clean",
            "when test_pages_isolated succeeds, no page of the range is on a pcp list or on "
            "a free list other than ISOLATE",
            "what alloc_contig_range and offline_pages rely on after test_pages_isolated",
            isolated_range_clean,
        ),
        EventInvariant(
            "I7_contig_range_allocated",
            "after alloc_contig_range returns 0, every page of the range has refcount 1, is "
            "not PageBuddy and not on a pcp list",
            "alloc_contig_range's contract (its caller owns [start, end))",
            contig_range_allocated,
        ),
    )
}
