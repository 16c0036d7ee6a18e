"""The gate's faster walks (engine speed, round 4) judge exactly what the walks they
replaced judged."""

from __future__ import annotations

import random

import pytest

from zonesim.check import fused
from zonesim.check.baseline import baseline, conservation_suspect
from zonesim.check.fused import _retyped_suspect, suspect
from zonesim.check.registry import check_zone
from zonesim.model.alloc import take_free_block_at
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import CHUNK, CHUNK_SHIFT, NIL, PG_buddy
from zonesim.model.types import MIGRATE_TYPES
from zonesim.model.zone import Zone


def _reference_walk(zone: Zone) -> list[tuple[int, int, int]]:
    """The blocks the gate judges over the retyped pageblocks, found by stepping over
    every page of their MAX_ORDER-1 blocks (the walk before round 4)."""
    m = zone.memmap
    top = 1 << (zone.max_order - 1)
    judged = []
    for b in sorted(set(zone.retyped)):
        lo = ((b + zone.first_pageblock) << zone.pageblock_order) & ~(top - 1)
        i = max(lo, zone.start_pfn) - zone.start_pfn
        end = min(lo + top, zone.end_pfn) - zone.start_pfn
        while i < end:
            lid = m.list_id[i]
            if m.flags[i] & PG_buddy and lid != NIL and lid < zone.nr_free_lists:
                judged.append((i, *divmod(lid, MIGRATE_TYPES)))
                i += 1 << m.order[i]
            else:
                i += 1
    return judged


def _fragmented(seed: int, start: int) -> Zone:
    """A zone with allocations of random orders carved out of its free blocks, and a
    stale PageBuddy flag on some allocated pages (on no list: not a free block)."""
    rng = random.Random(seed)
    z = build_zone(ZoneLayout(Geometry(start, 4096, pageblock_order=9, cpus=2),
                              cma=(PfnRange(start + 1024, start + 2048),)))
    assert not suspect(z)
    taken = []
    for _ in range(60):
        order = rng.choice((0, 0, 1, 2, 3, 5, 9))
        pfn = start + (rng.randrange(4096) & ~((1 << order) - 1))
        try:
            take_free_block_at(z, pfn, order)
        except ValueError:
            continue  # not free any more
        taken.append(pfn - start)
    for i in rng.sample(taken, min(5, len(taken))):
        z.memmap.flags[i] |= PG_buddy
    return z


@pytest.mark.parametrize("seed", range(6))
def test_the_retyped_walk_judges_the_blocks_the_page_by_page_walk_judged(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    z = _fragmented(seed, 0x40000 if seed % 2 else 0)
    rng = random.Random(seed)
    z.retyped[:] = rng.sample(range(len(z.pageblock)), 1 + seed % 4)
    if seed == 0:
        z.retyped[:] = list(range(len(z.pageblock)))  # every block, each walked once
    judged: list[tuple[int, int, int]] = []

    def record(self: object, i: int, order: int, mt: int) -> bool:
        judged.append((i, order, mt))
        return False

    monkeypatch.setattr(fused._Judge, "block", record)
    assert not _retyped_suspect(z)
    want = _reference_walk(z)
    assert want  # the walk has free blocks to judge: the comparison means something
    # each MAX_ORDER-1 block is walked once (the reference walks it once per retyped
    # pageblock in it); the same blocks, in the same order
    assert judged == list(dict.fromkeys(want))


def test_a_bad_free_block_at_the_end_of_a_retyped_block_is_found() -> None:
    """The last free page of the zone, judged through the bytes.find walk: a free
    block whose buddy order no longer matches its list is suspect."""
    z = _fragmented(1, 0)
    last = max(i for i, *_ in _reference_walk_all(z))
    z.memmap.order[last] += 1  # PageBuddy order disagrees with its list
    z.retyped.append(last >> z.pageblock_order)
    assert _retyped_suspect(z)


def _reference_walk_all(z: Zone) -> list[tuple[int, int, int]]:
    saved = list(z.retyped)
    z.retyped[:] = list(range(len(z.pageblock)))
    try:
        return _reference_walk(z)
    finally:
        z.retyped[:] = saved


@pytest.mark.parametrize("written", [(10, 11), (10, 15), (0, 64)])
def test_the_conservation_gate_sees_a_stray_owner_anywhere_in_written_chunks(
        written: tuple[int, int]) -> None:
    """page_conservation's gate compares owners over the chunks an execution wrote, now
    in spans of consecutive chunks: a free page marked owned is found at every position
    of such a span -- its first and last page, chunk boundaries inside it -- and the
    registered invariant names it."""
    z = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9, cpus=2)))
    z.track_writes()
    base = baseline(z)
    m = z.memmap
    lo, hi = written[0] << CHUNK_SHIFT, written[1] << CHUNK_SHIFT
    m.cow_range(lo, hi - lo)  # the execution wrote these chunks (and nothing changed)
    assert not conservation_suspect(z, base)
    for i in sorted({lo, lo + 1, hi - 1, *range(lo + CHUNK - 1, hi - 1, CHUNK),
                     *range(lo + CHUNK, hi, CHUNK)}):
        m.owner[i] = 77  # no allocation 77 holds it
        assert conservation_suspect(z, base), i
        assert [v.invariant for v in check_zone(z)] == ["page_conservation"], i
        m.owner[i] = NIL
    assert not conservation_suspect(z, base)
