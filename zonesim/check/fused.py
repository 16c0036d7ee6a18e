"""All list and pageblock invariants in one pass, as a gate before the registered ones.

The registered invariants (freelists, pageblocks, conservation) are the definition: they
word every violation, in the registry's report order. Running each of them at every
quiescent point costs four walks of every free list, a loop over every pageblock, an enum
per pageblock read and a list name formatted per list, also when nothing is wrong -- which
is almost always. ``suspect()`` walks the free lists once with ints only and answers
"could any of them fire?"; only then do the registered invariants run. It flags at least
every state they flag (the predicates are theirs, over the same fields), so a report is
the same as without the gate; it may flag a little more (a block with a pageblock outside
the zone), and then the registered invariants decide.

Covered: I1, I2, I3, I6, cma_pageblocks, no_forbidden_merge, I4, and with ``end`` I4i.
I5a runs whenever a pageblock is isolated (its own first test, as before).
"""

from __future__ import annotations

from zonesim.check.freelists import list_pages
from zonesim.check.pageblocks import isolate_census
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MIGRATE_PCPTYPES, MIGRATE_TYPES, MigrateType
from zonesim.model.zone import PB_ISOLATE_BIT, PB_MT_MASK, Zone

CMA = int(MigrateType.CMA)
ISOLATE = int(MigrateType.ISOLATE)
HIGHATOMIC = int(MigrateType.HIGHATOMIC)


def _mt(v: int) -> int:
    """get_pageblock_migratetype() of a pageblock byte, as an int."""
    return ISOLATE if v & PB_ISOLATE_BIT else v & PB_MT_MASK


def _bad_tables(isolate_bit: bool) -> tuple[bytes, bytes]:
    """Per pageblock byte: 1 where cma_pageblocks would complain, inside / outside a CMA
    area (the registered invariant's three conditions)."""
    inside = bytearray(256)
    outside = bytearray(256)
    for v in range(256):
        t = _mt(v)
        orig = v & PB_MT_MASK if isolate_bit else t
        inside[v] = t not in (CMA, ISOLATE) or (isolate_bit and t == ISOLATE and orig != CMA)
        outside[v] = t == CMA or orig == CMA
    return bytes(inside), bytes(outside)


_TABLES = {flag: _bad_tables(flag) for flag in (False, True)}
_AREA_MASKS: dict[tuple[object, ...], int] = {}


def _area_mask(zone: Zone) -> int:
    """Bit b (big-endian over the pageblock bytes) set when pageblock b lies in a CMA
    area, judged at max(first pfn, zone start) as cma_pageblocks does."""
    n = len(zone.pageblock)
    key = (zone.start_pfn, zone.pageblock_order, zone.first_pageblock, n,
           tuple(zone.cma_ranges))
    mask = _AREA_MASKS.get(key)
    if mask is None:
        flags = bytearray(n)
        for b in range(n):
            pfn = max(zone.pageblock_pfn(b), zone.start_pfn)
            flags[b] = any(r[0] <= pfn < r[1] for r in zone.cma_ranges)
        mask = int.from_bytes(flags, "big")
        if len(_AREA_MASKS) > 64:
            _AREA_MASKS.clear()
        _AREA_MASKS[key] = mask
    return mask


def _pageblocks_suspect(zone: Zone) -> bool:
    """cma_pageblocks' pageblock loop as byte operations (no Python loop per pageblock)."""
    pb = bytes(zone.pageblock)
    bad_in, bad_out = _TABLES[zone.flags.isolate_bit]
    inside = int.from_bytes(pb.translate(bad_in), "big")
    outside = int.from_bytes(pb.translate(bad_out), "big")
    mask = _area_mask(zone)
    return bool(inside & mask) or bool(outside & ~mask)


def _walked(transient: list[tuple[int, int]], block: int, pbo: int) -> bool:
    """in_transient() of the pageblock numbered ``block`` (absolute)."""
    p = block << pbo
    return any(s <= p < e for s, e in transient)


def suspect(zone: Zone, *, end: bool = False) -> bool:
    """Could any step or quiescent invariant (and with ``end``, I4i) report a violation?"""
    total, cma = list_pages(zone)
    if (total != zone.NR_FREE_PAGES or cma != zone.NR_FREE_CMA_PAGES
            or zone.cma_pages < zone.NR_FREE_CMA_PAGES
            or isolate_census(zone) != zone.nr_isolate_pageblock):
        return True
    if zone.nr_isolate_pageblock:
        return True  # I5a judges isolated pageblocks itself
    if _pageblocks_suspect(zone):
        return True
    m = zone.memmap
    flags, orders, nxt, prev_of = m.flags, m.order, m.next, m.prev
    heads, lens = m.lists_head, m.lists_len
    pageblock = zone.pageblock
    start, end_pfn = zone.start_pfn, zone.end_pfn
    pbo = zone.pageblock_order
    first_pb = zone.first_pageblock
    nr_pb = len(pageblock)
    transient = zone.transient_ranges
    strict = zone.flags.mergeable_merge_check
    for order in range(zone.max_order):
        seen = 0
        size = 1 << order
        span = max(1, size >> pbo)  # pageblocks under a block of this order
        for mt in range(MIGRATE_TYPES):
            lid = order * MIGRATE_TYPES + mt
            i = heads[lid]
            prev = NIL
            n = 0
            while i != NIL:
                n += 1
                pfn = i + start
                # I1: links, PageBuddy, order, alignment, inside the zone
                if (prev_of[i] != prev or not flags[i] & PG_buddy or orders[i] != order
                        or pfn & (size - 1) or pfn + size > end_pfn):
                    return True
                prev = i
                b = (pfn >> pbo) - first_pb
                if b < 0 or b + span > nr_pb:
                    return True
                if span == 1:
                    t = _mt(pageblock[b])
                    if mt == CMA or (end and mt == ISOLATE):
                        # I4 / I4i: the block's pageblock has the list's type (an
                        # ISOLATE pageblock a CPU is walking is tolerated)
                        if t != mt and not (t == ISOLATE and _walked(transient, b + first_pb,
                                                                     pbo)):
                            return True
                    elif mt != ISOLATE and t == CMA:
                        return True  # cma_pageblocks: CMA memory on a normal list
                else:
                    types = [_mt(v) for v in pageblock[b:b + span]]
                    if mt == CMA or (end and mt == ISOLATE):
                        if any(t != mt and not (t == ISOLATE
                                                and _walked(transient, b + first_pb + k, pbo))
                               for k, t in enumerate(types)):
                            return True
                    elif mt != ISOLATE and CMA in types:
                        return True
                    merged = [t for t in types if t != ISOLATE]
                    if len(set(merged)) > 1 and (
                            CMA in merged or HIGHATOMIC in merged
                            or (strict and any(t >= MIGRATE_PCPTYPES for t in merged))):
                        return True  # no_forbidden_merge
                i = nxt[i]
            if n != lens[lid]:
                return True
            seen += n
        if seen != zone.nr_free[order]:
            return True
    return False
