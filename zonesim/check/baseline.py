"""What the end-of-execution check may take as known about the part of a zone an
execution did not write.

An exploration runs every execution on one zone that tracks its writes (copy-on-write
chunks, zonesim.model.memmap): a chunk of pages no write reached is byte for byte what it
was when tracking began. If that state passed every end-of-execution invariant, a free
block whose head lies in such a chunk, over pageblocks whose type did not change, is
judged exactly as it was then -- clean -- and page ownership there is what it was. So at
the end of an execution the checks judge what the execution wrote (the dirty chunks, the
retyped pageblocks, the allocations it made or changed) plus walks over the lists that
cost O(free blocks), instead of every page of the zone: at 1M pages that was ~9 ms per
execution. A zone that does not track its writes has every chunk dirty, and the checks
judge everything, as before.

Only sound if every per-page write goes through ``Memmap.cow``; tests/model/
test_model_cow.py checks it on every bundled scenario (rollback restores every byte) and
that each writing function saves before it writes.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass

from zonesim.check.conservation import _NIL_RUN, _PIECE, _first_miscounted, _runs
from zonesim.model.memmap import CHUNK_SHIFT, NIL
from zonesim.model.types import MIGRATE_TYPES
from zonesim.model.zone import Zone


@dataclass(frozen=True, slots=True)
class Baseline:
    """A tracked zone's starting state, judged clean by every end invariant."""

    pageblock: bytes
    owned_chunks: tuple[int, ...]  # chunks with a page whose owner is not NIL
    allocations: dict[int, tuple[int, int]]  # id -> (pfn, nr)


def baseline(zone: Zone) -> Baseline:
    """The baseline of ``zone`` as it is now: call when it tracks its writes and has just
    passed every end invariant (the engine does, once per booted scenario)."""
    m = zone.memmap
    nil = array("i", [NIL]) * (1 << CHUNK_SHIFT)
    owned = []
    for c in range(m.nr_chunks):
        lo = c << CHUNK_SHIFT
        part = m.owner[lo : lo + len(nil)]
        if part != nil[: len(part)]:
            owned.append(c)
    return Baseline(bytes(zone.pageblock), tuple(owned),
                    {a.id: (a.pfn, a.nr) for a in zone.allocations.values()})


def unchanged_block(zone: Zone, base: Baseline, i: int, order: int,
                    retyped: bytes | None) -> bool:
    """Is the free block with head index ``i`` judged as at the baseline: its head's chunk
    unwritten and no pageblock under it retyped (``retyped``: 1 per changed pageblock,
    None when none changed)?"""
    if zone.memmap.dirty[i >> CHUNK_SHIFT]:
        return False
    if retyped is None:
        return True
    pbo = zone.pageblock_order
    b = ((i + zone.start_pfn) >> pbo) - zone.first_pageblock
    span = max(1, (1 << order) >> pbo)
    return 1 not in retyped[max(b, 0) : b + span]


def retyped_since(zone: Zone, base: Baseline) -> bytes | None:
    """1 per pageblock whose byte differs from the baseline; None when none does."""
    now, then = bytes(zone.pageblock), base.pageblock
    if now == then:
        return None
    out = bytearray(len(now))
    for k in range(0, len(now), 64):  # compared 64 at a time: few pageblocks change
        if now[k : k + 64] != then[k : k + 64]:
            for b in range(k, min(k + 64, len(now))):
                out[b] = now[b] != then[b]
    return bytes(out)


def conservation_suspect(zone: Zone, base: Baseline,
                         free_claims: list[tuple[int, int]] | None = None) -> bool:
    """Could page_conservation fire? The claims (free blocks, pcp pages, absent ranges,
    allocations) must tile the zone, as the invariant itself checks (O(claims)); owners
    are compared where the execution wrote, over allocations it made or changed, and over
    the chunks that had owners at the baseline. Everywhere else the owner array is the
    baseline's, which was all NIL there. ``free_claims``: the free lists' blocks as the
    caller's walk of them found them (fused.suspect), so they are not walked again."""
    m = zone.memmap
    n = m.nr
    heads, nxt, order = m.lists_head, m.next, m.order
    nfl = zone.nr_free_lists
    unowned: list[tuple[int, int]] = []
    add = unowned.append
    first = 0
    if free_claims is not None:
        unowned.extend(free_claims)
        first = nfl  # the pcp lists only
    for lid in range(first, len(heads)):
        i = heads[lid]
        if i == NIL:
            continue
        size = 1 << (lid // MIGRATE_TYPES) if lid < nfl else 0
        steps = 0
        while i != NIL:
            e = i + (size or 1 << order[i])
            add((i if i > 0 else 0, e if e < n else n))  # clipped to the zone, no calls
            i = nxt[i]
            steps += 1
            if steps > n:
                return True  # a cycle: the registered invariants will say where
    for start, end in zone.absent_ranges:
        i = start - zone.start_pfn
        add((max(i, 0), min(i + end - start, n)))
    claims = list(unowned)
    for a in zone.allocations.values():
        i = a.pfn - zone.start_pfn
        claims.append((max(i, 0), min(i + a.nr, n)))
    if _first_miscounted(claims, n) is not None:
        return True
    dirty = m.dirty
    owner = m.owner
    for a in zone.allocations.values():
        i = a.pfn - zone.start_pfn
        if (base.allocations.get(a.id) == (a.pfn, a.nr)
                and 1 not in dirty[i >> CHUNK_SHIFT : ((i + a.nr - 1) >> CHUNK_SHIFT) + 1]):
            continue  # as at the baseline, which owned its pages
        if owner[i : i + a.nr] != array("i", [a.id]) * a.nr:
            return True
    chunks = sorted({c for c, _ in m.saved} | set(base.owned_chunks))
    if len(m.saved) == 0 and dirty.count(0) == 0:
        chunks = list(range(m.nr_chunks))  # an untracked zone: everything is new
    runs = _runs(unowned)
    starts = [lo for lo, _ in runs]
    # consecutive chunks as one span: the same pages compared, in fewer, longer slices
    # (at most _PIECE pages each: no zone-sized temporaries)
    spans: list[list[int]] = []
    longest = _PIECE >> CHUNK_SHIFT
    for c in chunks:
        if spans and spans[-1][1] == c and c - spans[-1][0] < longest:
            spans[-1][1] = c + 1
        else:
            spans.append([c, c + 1])
    nil = _NIL_RUN
    for c0, c1 in spans:
        lo, hi = c0 << CHUNK_SHIFT, c1 << CHUNK_SHIFT
        if hi > n:
            hi = n
        k = bisect_right(starts, lo) - 1
        if k < 0:
            k = 0
        while k < len(runs) and runs[k][0] < hi:
            x, y = runs[k]
            if x < lo:
                x = lo
            if y > hi:
                y = hi
            if x < y and owner[x:y] != nil[: y - x]:
                return True
            k += 1
    return False
