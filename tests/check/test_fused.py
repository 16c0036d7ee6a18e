"""The engine's incremental one-pass gate (zonesim.check.fused) and the in-place zone
reset: what they revisit, and that they see what the registered invariants see."""

from __future__ import annotations

from pathlib import Path

from zonesim import Engine, load_scenario, parse_policy
from zonesim.check.fused import suspect
from zonesim.check.registry import check_zone
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import move_to_free_list
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


def test_a_double_add_walks_every_list() -> None:
    z = zone()
    i = 3072
    z.memmap.list_add(i, z.free_list_id(10, int(MigrateType.UNMOVABLE)))  # still listed
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
