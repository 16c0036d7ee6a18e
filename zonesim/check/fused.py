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

Covered: ``COVERED`` below (with ``end``, I4i too). I5a is its registered function,
run whenever a pageblock is isolated (its own first test). An invariant registered later
and not listed in ``COVERED`` is run by the engine at every check, ungated
(zonesim.engine.quiescent_check).
"""

from __future__ import annotations

import sys
from array import array

from zonesim.check.baseline import Baseline, retyped_since, unchanged_block
from zonesim.check.freelists import list_pages
from zonesim.check.pageblocks import isolate_census, isolated_not_allocatable
from zonesim.model.memmap import CHUNK_SHIFT, NIL, PG_buddy
from zonesim.model.types import MIGRATE_PCPTYPES, MIGRATE_TYPES, MigrateType
from zonesim.model.zone import PB_ISOLATE_BIT, PB_MT_MASK, Zone

CMA = int(MigrateType.CMA)
ISOLATE = int(MigrateType.ISOLATE)
HIGHATOMIC = int(MigrateType.HIGHATOMIC)


def _mt(v: int) -> int:
    """get_pageblock_migratetype() of a pageblock byte, as an int."""
    return ISOLATE if v & PB_ISOLATE_BIT else v & PB_MT_MASK


_TYPE_OF = bytes(_mt(v) for v in range(256))  # pageblock byte -> migratetype
# page->flags as bytes: the byte of each page's flags that holds PG_buddy (bit 0), and
# a table that keeps that bit alone
_FLAGS_SIZE = array("H").itemsize
_FLAGS_LOW = 0 if sys.byteorder == "little" else _FLAGS_SIZE - 1
_BUDDY_BIT = bytes(v & PG_buddy for v in range(256))
_IS_HIGHATOMIC = bytes(int(t == HIGHATOMIC) for t in _TYPE_OF)

#: The registered invariants this gate answers for.
COVERED = frozenset({
    "I1_free_list_integrity", "I2_nr_free_pages", "I3_nr_free_cma_pages",
    "I6_nr_isolate_pageblock", "I5a_isolated_not_allocatable", "cma_pageblocks",
    "no_forbidden_merge", "I4_list_matches_pageblock", "I4i_isolate_list_stranded",
    "highatomic_reserve",
})


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


def suspect(zone: Zone, *, end: bool = False, base: Baseline | None = None,
            claims: list[tuple[int, int]] | None = None) -> bool:
    """Could any step or quiescent invariant (and with ``end``, I4i) report a violation?

    Incremental between two quiescent points: only the pages whose links or list the
    list operations changed since the last clean check (``Memmap.touched``) are judged
    again -- their links both ways, PageBuddy, order, alignment and the pageblocks under
    them -- and the free blocks over a pageblock retyped since (``Zone.retyped``), as long
    as the set of walked ranges is the same and no page was added to a list while still
    on one (either: every list is walked).
    Between two list operations the model writes no link, PageBuddy or buddy order of a
    listed page (its primitives write them together with the list operation), so a page
    judged clean stays clean. The end of an execution walks every list; with ``base`` (the
    zone tracks its writes from a state that passed every end invariant,
    zonesim.check.baseline) it judges only the blocks the execution wrote or retyped.
    ``claims`` (end only) receives every free block's index range when the answer is
    False, for the page conservation gate."""
    total, cma = list_pages(zone)
    if (total != zone.NR_FREE_PAGES or cma != zone.NR_FREE_CMA_PAGES
            or zone.cma_pages < zone.NR_FREE_CMA_PAGES
            or isolate_census(zone) != zone.nr_isolate_pageblock):
        return True
    if zone.nr_isolate_pageblock and next(iter(isolated_not_allocatable(zone)), None):
        # I5a has no gate of its own: while a pageblock is isolated its registered
        # function runs here (it stops at its first report), and the gate goes on for the
        # others -- before, any isolated pageblock sent every registered invariant over
        # every list, about half of the quiescent checks of the CMA cells.
        return True
    highatomic = zone.pageblock.translate(_IS_HIGHATOMIC).count(1)
    if zone.nr_reserved_highatomic != highatomic * zone.geometry.pageblock_nr_pages:
        return True  # highatomic_reserve
    m = zone.memmap
    state = tuple(zone.transient_ranges)
    full = end or m.relinked or zone.checked_state != state
    if (full or zone.retyped) and _pageblocks_suspect(zone):
        return True
    if _walk_suspect(zone, end, base if end else None, claims) if full else (
            _touched_suspect(zone) or _retyped_suspect(zone)):
        return True
    m.touched.clear()
    m.relinked = False
    zone.retyped.clear()
    zone.checked_state = state
    return False


class _Judge:
    """The per-block predicates of I1 (but the links), I4/I4i, cma_pageblocks and
    no_forbidden_merge, over ints."""

    def __init__(self, zone: Zone, end: bool) -> None:
        self.zone = zone
        self.end = end
        m = zone.memmap
        self.flags, self.orders = m.flags, m.order
        self.pageblock = zone.pageblock
        self.start, self.end_pfn = zone.start_pfn, zone.end_pfn
        self.pbo = zone.pageblock_order
        self.first_pb = zone.first_pageblock
        self.transient = zone.transient_ranges
        self.strict = zone.flags.mergeable_merge_check

    def block(self, i: int, order: int, mt: int) -> bool:
        """True when the free block at index ``i`` on free_list[order][mt] is suspect."""
        size = 1 << order
        pfn = i + self.start
        if (not self.flags[i] & PG_buddy or self.orders[i] != order
                or pfn & (size - 1) or pfn + size > self.end_pfn):
            return True
        pbo, first_pb, pageblock = self.pbo, self.first_pb, self.pageblock
        span = max(1, size >> pbo)  # pageblocks under the block
        b = (pfn >> pbo) - first_pb
        if b < 0 or b + span > len(pageblock):
            return True
        types = pageblock[b:b + span].translate(_TYPE_OF)  # one type per pageblock
        uniform = types.count(types[0]) == span
        if mt == CMA or (self.end and mt == ISOLATE):
            # I4 / I4i: every pageblock has the list's type (an ISOLATE pageblock a CPU is
            # walking is tolerated)
            if not (uniform and types[0] == mt) and any(
                    t != mt and not (t == ISOLATE
                                     and _walked(self.transient, b + first_pb + k, pbo))
                    for k, t in enumerate(types)):
                return True
        elif mt != ISOLATE and CMA in types:
            return True  # cma_pageblocks: CMA memory on a normal list
        if not uniform:
            merged = [t for t in types if t != ISOLATE]
            if len(set(merged)) > 1 and (
                    CMA in merged or HIGHATOMIC in merged
                    or (self.strict and any(t >= MIGRATE_PCPTYPES for t in merged))):
                return True  # no_forbidden_merge
        return False


def _counts_suspect(zone: Zone) -> bool:
    """free_area[order].nr_free against the list lengths (I1's census)."""
    lens = zone.memmap.lists_len
    return any(sum(lens[o * MIGRATE_TYPES:(o + 1) * MIGRATE_TYPES]) != zone.nr_free[o]
               for o in range(zone.max_order))


def _touched_suspect(zone: Zone) -> bool:
    m = zone.memmap
    judge = _Judge(zone, end=False)
    nfl = zone.nr_free_lists
    list_id, prev, nxt = m.list_id, m.prev, m.next
    heads, tails = m.lists_head, m.lists_tail
    for i in set(m.touched):
        if i == NIL:
            continue
        lid = list_id[i]
        if lid == NIL or lid >= nfl:
            continue
        p, n = prev[i], nxt[i]
        if (heads[lid] != i if p == NIL else nxt[p] != i or list_id[p] != lid):
            return True
        if (tails[lid] != i if n == NIL else prev[n] != i or list_id[n] != lid):
            return True
        order, mt = divmod(lid, MIGRATE_TYPES)
        if judge.block(i, order, mt):
            return True
    return _counts_suspect(zone)


def _retyped_suspect(zone: Zone) -> bool:
    """Judge again every free block over a retyped pageblock: they all lie inside its
    MAX_ORDER-1 block (buddy blocks are aligned), found by stepping over its pages.

    The step from one PageBuddy page to the next is a ``bytes.find`` over the low byte of
    each page's flags (PG_buddy is bit 0), not a Python iteration per page: the same pages
    are judged as by stepping page by page (a page without PG_buddy, or not on a free
    list, was stepped over one by one; a judged block is still skipped whole), at a
    fraction of the cost over an allocated MAX_ORDER-1 block (offline and isolation
    scenarios retype pageblocks at most ops)."""
    m = zone.memmap
    judge = _Judge(zone, end=False)
    flags, orders, list_id = m.flags, m.order, m.list_id
    nfl = zone.nr_free_lists
    top = 1 << (zone.max_order - 1)
    first_pb, pbo = zone.first_pageblock, zone.pageblock_order
    start, end_pfn = zone.start_pfn, zone.end_pfn
    # one walk per MAX_ORDER-1 block, however many of its pageblocks were retyped
    for lo in sorted({((b + first_pb) << pbo) & ~(top - 1) for b in zone.retyped}):
        i = max(lo, start) - start
        end = min(lo + top, end_pfn) - start
        if i >= end:
            continue
        buddy = flags[i:end].tobytes()[_FLAGS_LOW::_FLAGS_SIZE].translate(_BUDDY_BIT)
        k = buddy.find(1)
        while k >= 0:
            j = i + k
            lid = list_id[j]
            if lid != NIL and lid < nfl:
                order, mt = divmod(lid, MIGRATE_TYPES)
                if judge.block(j, order, mt):
                    return True
                k += 1 << orders[j]
            else:
                k += 1
            k = buddy.find(1, k)
    return False


def _walk_suspect(zone: Zone, end: bool, base: Baseline | None = None,
                  claims: list[tuple[int, int]] | None = None) -> bool:
    """Walk every free list: links, list ids, lengths; judge the blocks. With ``base``,
    only the blocks whose head chunk was written or whose pageblocks were retyped since
    (the others are judged as they were at the baseline: clean). ``claims`` collects
    each block's [start, end) index range for page conservation (clipped to the zone)."""
    m = zone.memmap
    judge = _Judge(zone, end)
    nxt, prev_of, heads, lens, list_id = m.next, m.prev, m.lists_head, m.lists_len, m.list_id
    nr = m.nr
    dirty = m.dirty
    retyped = retyped_since(zone, base) if base is not None else None
    all_judged = base is None or bool(zone.transient_ranges)
    add = claims.append if claims is not None else None
    for lid in range(zone.nr_free_lists):
        i = heads[lid]
        if i == NIL:  # most lists are empty: only their length to compare
            if lens[lid]:
                return True
            continue
        order, mt = divmod(lid, MIGRATE_TYPES)
        size = 1 << order
        prev = NIL
        n = 0
        while i != NIL:
            n += 1
            if prev_of[i] != prev or list_id[i] != lid or n > nr:
                return True
            if (all_judged or dirty[i >> CHUNK_SHIFT] or (
                    retyped is not None
                    and not unchanged_block(zone, base, i, order, retyped))) and (  # type: ignore[arg-type]
                    judge.block(i, order, mt)):
                return True
            if add is not None:  # [i, i + size) clipped to the zone, without calls
                e = i + size
                add((i if i > 0 else 0, e if e < nr else nr))
            prev = i
            i = nxt[i]
        if n != lens[lid]:
            return True
    return _counts_suspect(zone)
