"""The engine's incremental one-pass gate (zonesim.check.fused) and the in-place zone
reset: what they revisit, and that they see what the registered invariants see."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.check.fused import suspect
from zonesim.check.registry import check_zone
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import (
    add_to_free_list,
    add_to_free_list_tail,
    del_page_from_free_list,
    move_to_free_list,
    set_buddy_order,
)
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import Memmap, PG_buddy
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone
from zonesim.sched import RandomStrategy

ROOT = Path(__file__).resolve().parents[2]


def zone() -> Zone:
    z = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9, cpus=2),
                              cma=(PfnRange(1024, 2048),), pcp_high=64, pcp_batch=8))
    assert not suspect(z)  # the first check walks everything, then knows the lists clean
    return z


def test_a_clean_zone_is_judged_from_the_touched_pages_only() -> None:
    z = zone()
    assert z.memmap.touched == [] and not z.memmap.relinked
    assert not suspect(z)  # nothing touched: nothing to look at


def test_a_page_moved_by_a_list_operation_is_judged_again() -> None:
    z = zone()
    z.memmap.flags[3072] &= ~PG_buddy  # not PageBuddy any more ...
    move_to_free_list(z, 3072, 10, int(MigrateType.UNMOVABLE))  # ... and moved: counted alike
    assert z.memmap.touched and z.checked_state is not None
    assert suspect(z)
    assert check_zone(z, "quiescent")[0].invariant == "I1_free_list_integrity"


def test_a_retyped_pageblock_judges_the_blocks_over_it_again() -> None:
    z = zone()
    z.set_pageblock_migratetype(1024, MigrateType.MOVABLE)  # a CMA pageblock, no list op
    assert z.retyped and not z.memmap.touched
    assert suspect(z)
    assert check_zone(z, "quiescent")[0].invariant == "cma_pageblocks"


def test_a_block_freed_to_the_head_of_a_busy_list_leaves_the_gate_quiet() -> None:
    """__free_one_page()'s list_add() of a block onto free_list[10][MOVABLE], which holds
    other blocks: the touched page has a successor whose prev points back at it (list.h's
    invariant) -- a clean state, and the incremental gate must say so, or every quiescent
    point after a free runs every registered invariant (the gate exists to avoid that)."""
    z = zone()
    mt = int(MigrateType.MOVABLE)
    assert len(z.free_list_pfns(10, MigrateType.MOVABLE)) >= 2
    for pfn in (2048, 3072):  # the list's head, then a block in the middle moved to the head
        del_page_from_free_list(z, pfn, 10)
        set_buddy_order(z, pfn, 10)
        add_to_free_list(z, pfn, 10, mt)
        assert z.free_list_pfns(10, MigrateType.MOVABLE)[0] == pfn
        assert z.memmap.touched and not z.memmap.relinked  # judged incrementally
        assert check_zone(z, "quiescent") == []
        assert not suspect(z)


def test_a_list_that_skips_a_block_is_suspect() -> None:
    """A half-done list_del(): the head's next skips the second block, whose links still
    look right from both sides (prev[C] is B, next[B] is C) -- only the head's successor
    does not point back at it (CONFIG_DEBUG_LIST: "list_add corruption", next->prev !=
    prev). I1 fires, and so must the gate, judging the pages a list operation touched."""
    z = zone()
    mt = int(MigrateType.MOVABLE)
    for pfn in z.free_list_pfns(10, MigrateType.MOVABLE):  # list_add() each: all touched
        del_page_from_free_list(z, pfn, 10)
        set_buddy_order(z, pfn, 10)
        add_to_free_list(z, pfn, 10, mt)
    first, _second, third = (z.idx(p) for p in z.free_list_pfns(10, MigrateType.MOVABLE))
    z.memmap.next[first] = third
    assert check_zone(z, "quiescent")[0].invariant == "I1_free_list_integrity"
    assert suspect(z)


@pytest.mark.parametrize(("pages", "pbo", "max_order", "retyped", "head"), [
    (4096, 9, 11, 3072, 3072),  # the first pageblock under an order-10 block
    (4096, 9, 11, 3584, 3072),  # the second one
    (64, 0, 3, 1, 0),  # pageblock_order 0 (legal before 5.18's corner configs): pfn 1
])
def test_a_retyped_pageblock_under_a_free_block_of_a_zone_away_from_pfn_0(
        pages: int, pbo: int, max_order: int, retyped: int, head: int) -> None:
    """set_pageblock_migratetype() of a pageblock under a free MAX_ORDER-1 MOVABLE block
    to HIGHATOMIC (the reserve counted, so only the block itself is wrong): the block now
    merges MOVABLE and HIGHATOMIC pageblocks (no_forbidden_merge). The gate finds the block
    from the retyped pageblock's MAX_ORDER-1 block, in a zone of a second node (start_pfn
    0x40000: pageblock indexes are relative to the zone's first pageblock)."""
    start = 0x40000
    z = build_zone(ZoneLayout(Geometry(start, pages, max_order=max_order,
                                       pageblock_order=pbo, cpus=2)))
    assert not suspect(z)
    assert start + head in z.free_list_pfns(max_order - 1, MigrateType.MOVABLE)
    z.set_pageblock_migratetype(start + retyped, MigrateType.HIGHATOMIC)
    z.nr_reserved_highatomic += z.geometry.pageblock_nr_pages
    assert z.retyped and not z.memmap.touched
    found = check_zone(z, "quiescent")
    assert [(v.invariant, v.pfn) for v in found] == [("no_forbidden_merge", start + head)]
    assert suspect(z)


def test_a_double_add_walks_every_list() -> None:
    z = zone()
    i = 3072
    z.memmap.list_add(i, z.free_list_id(10, int(MigrateType.UNMOVABLE)))  # still listed
    assert z.memmap.relinked and suspect(z)


def test_a_double_add_at_the_tail_walks_every_list_and_a_clean_one_does_not() -> None:
    """list_add_tail() (FPI_TO_TAIL, buddy_merge_likely) of a page still on a list is a
    double add: every list is walked. Of a page taken off first, it is an ordinary
    operation, judged incrementally (the gate stays quiet on the clean state)."""
    z = zone()
    mt = int(MigrateType.MOVABLE)
    del_page_from_free_list(z, 3072, 10)
    set_buddy_order(z, 3072, 10)
    add_to_free_list_tail(z, 3072, 10, mt)
    assert z.free_list_pfns(10, MigrateType.MOVABLE)[-1] == 3072
    assert not z.memmap.relinked
    assert check_zone(z, "quiescent") == []
    assert not suspect(z)
    z.memmap.list_add_tail(2048, z.free_list_id(10, int(MigrateType.UNMOVABLE)))
    assert z.memmap.relinked and suspect(z)


def test_the_end_check_walks_what_no_list_operation_touched() -> None:
    """A listed page changed behind the list operations' back (no model primitive does
    this) is judged at the end of the execution: every list is walked there."""
    z = zone()
    z.memmap.flags[3072] &= ~PG_buddy
    assert not suspect(z)  # between two quiescent points: not revisited
    assert suspect(z, end=True)
    assert check_zone(z, "end")[0].invariant == "I1_free_list_integrity"


def _state(z: Zone) -> tuple[object, ...]:
    m = z.memmap
    return (tuple(bytes(getattr(m, n)) for n in Memmap._ARRAYS), bytes(z.pageblock),
            m.lists_head, m.lists_tail, m.lists_len, z.nr_free, z.NR_FREE_PAGES,
            z.NR_FREE_CMA_PAGES, sorted(z.allocations), z.by_token,
            [(p.count, p.high, p.batch) for p in z.pcp], z.transient_ranges,
            z.absent_ranges, z.next_alloc_id, z.next_token)


def test_reset_in_place_equals_a_fresh_clone() -> None:
    """The engine's zone, after an execution, rolled back (base_state) and reset from a
    pristine copy: both equal a fresh clone of the booted zone."""
    e = Engine(load_scenario(ROOT / "scenarios" / "stress" / "offline-races-alloc.toml"),
               parse_policy("v5.15"))
    base, _ = e.base_state()
    pristine = base.clone()
    for seed in range(3):
        s = RandomStrategy(seed)
        s.begin_execution()
        e.run(s)
        work = e.last_zone
        assert work is base and _state(work) != _state(pristine)
        other = work.clone()  # the final state, untracked
        other.reset_from(pristine)
        assert _state(other) == _state(pristine.clone())
        e.base_state()  # rolls the execution back
        assert _state(base) == _state(pristine)


def test_the_gate_names_registered_invariants_only() -> None:
    """COVERED may only name real invariants; one registered later and not covered runs
    ungated in the engine (so it is never skipped)."""
    from zonesim.check.fused import COVERED
    from zonesim.check.registry import registry

    assert set(COVERED) <= set(registry())
