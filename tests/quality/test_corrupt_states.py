"""States corrupted on purpose: the checker must catch each one by the RIGHT invariant,
and stay quiet on clean, busy zones (kernel-reference §1.3, DESIGN §5).

``CORRUPTIONS`` is the table: every invariant of ``registry()`` must be the primary
target of at least one row (``test_every_registered_invariant_has_a_corruption``)."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from zonesim.check.baseline import Baseline, baseline
from zonesim.check.freelists import list_pages
from zonesim.check.fused import suspect
from zonesim.check.pageblocks import isolate_census
from zonesim.check.registry import InvariantViolation, Violation, check_zone, registry
from zonesim.engine import end_check, quiescent_check
from zonesim.model.alloc import (
    free_pages_prepare,
    prep_new_page,
    rmqueue_buddy,
    take_free_block_at,
)
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import (
    ALLOC_CMA,
    FPI_NONE,
    FPI_TO_TAIL,
    PageBuddy,
    __mod_zone_freepage_state,
    add_to_free_list,
    buddy_order,
    del_page_from_free_list,
    move_freepages_block,
    move_to_free_list,
    set_buddy_order,
)
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.pcp import __rmqueue_pcplist as rmqueue_pcplist
from zonesim.model.pcp import drain_pages_zone, free_unref_page_commit
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MIGRATE_PCPTYPES, AllocId, MigrateType
from zonesim.model.zone import Allocation, Zone

rmqueue_buddy = sequential(rmqueue_buddy)
free_one_page_locked = sequential(free_one_page_locked)
rmqueue_pcplist = sequential(rmqueue_pcplist)
drain_pages_zone = sequential(drain_pages_zone)
free_unref_page_commit = sequential(free_unref_page_commit)

M = MigrateType
U, MOV, R, H, C, ISO = M.UNMOVABLE, M.MOVABLE, M.RECLAIMABLE, M.HIGHATOMIC, M.CMA, M.ISOLATE


# -- zones -----------------------------------------------------------------------------


def base_zone() -> Zone:
    """4096 pages, pageblock_order 9, CMA area [1024, 2048), a few allocations:
    order-10 free blocks at 1024 (CMA) and 3072 (MOVABLE) stay whole."""
    zone = build_zone(ZoneLayout(
        Geometry(0, 4096, pageblock_order=9, cpus=2), cma=(PfnRange(1024, 2048),),
        pcp_high=64, pcp_batch=8,
    ))
    for pfn, order, mt in ((0, 0, U), (8, 3, MOV), (64, 5, R), (2048, 0, MOV)):
        take_free_block_at(zone, pfn, order)
        prep_new_page(zone, pfn, order, mt, compound=order > 0, movable=mt == MOV, cpu=0)
    assert check_zone(zone) == []
    return zone


def alloc_at(zone: Zone, pfn: int, order: int, mt: MigrateType = MOV) -> Allocation:
    """Take the free block [pfn, pfn + 2^order) exactly as it sits on its list."""
    assert PageBuddy(zone, pfn) and buddy_order(zone, pfn) == order
    list_mt = zone.memmap.list_id[pfn - zone.start_pfn] % 6
    del_page_from_free_list(zone, pfn, order)
    if list_mt != ISO:
        __mod_zone_freepage_state(zone, -(1 << order), list_mt)
    return prep_new_page(zone, pfn, order, mt, compound=False, movable=False, cpu=0)


# -- corruptions -------------------------------------------------------------------------


def lost_block_accounted() -> Zone:
    zone = base_zone()
    del_page_from_free_list(zone, 3072, 10)  # off the list, counted, owned by nobody
    zone.NR_FREE_PAGES -= 1024
    return zone


def lost_block_unaccounted() -> Zone:
    zone = base_zone()
    del_page_from_free_list(zone, 3072, 10)
    return zone


def nr_free_pages_off_by_one() -> Zone:
    zone = base_zone()
    zone.NR_FREE_PAGES += 1
    return zone


def nr_free_cma_pages_off_by_one() -> Zone:
    zone = base_zone()
    zone.NR_FREE_CMA_PAGES -= 1
    return zone


def nr_free_cma_pages_above_cma_pages() -> Zone:
    zone = base_zone()
    zone.cma_pages = 512
    return zone


def cma_block_on_movable_list() -> Zone:
    zone = base_zone()
    move_to_free_list(zone, 1024, 10, MOV)  # counters follow, so only the list is wrong
    zone.NR_FREE_CMA_PAGES -= 1024
    return zone


def cma_pageblock_retyped() -> Zone:
    zone = base_zone()
    alloc_at(zone, 1024, 10)
    zone.set_pageblock_migratetype(1536, MOV)
    return zone


def non_cma_pageblock_typed_cma() -> Zone:
    zone = base_zone()
    alloc_at(zone, 3072, 10)
    zone.set_pageblock_migratetype(3072, C)
    return zone


def isolate_list_in_normal_pageblock() -> Zone:
    zone = base_zone()
    move_to_free_list(zone, 3072, 10, ISO)
    zone.NR_FREE_PAGES -= 1024  # ISOLATE lists are not counted
    return zone


def cma_list_in_normal_pageblock() -> Zone:
    zone = base_zone()
    alloc_at(zone, 1024, 10)  # the CMA area is handed out: NR_FREE_CMA_PAGES == 0
    move_to_free_list(zone, 3072, 10, C)  # a MOVABLE-pageblock block on the CMA list
    zone.NR_FREE_CMA_PAGES += 1024
    return zone


def highatomic_block_not_counted() -> Zone:
    zone = base_zone()
    zone.set_pageblock_migratetype(0, H)  # typed HIGHATOMIC without the reserve count
    move_freepages_block(zone, 0, H)
    return zone


def highatomic_count_without_block() -> Zone:
    zone = base_zone()
    zone.nr_reserved_highatomic = 512  # reserved, but no pageblock carries the type
    return zone


def normal_list_in_isolated_pageblock() -> Zone:
    zone = base_zone()
    for pfn in (3072, 3584):  # isolated without move_freepages_block
        zone.set_pageblock_migratetype(pfn, ISO)
    zone.nr_isolate_pageblock = 2
    return zone


def block_straddling_into_an_isolated_pageblock() -> Zone:
    zone = base_zone()
    zone.set_pageblock_migratetype(3584, ISO)  # the order-10 head at 3072 is before it
    zone.nr_isolate_pageblock = 1
    return zone


def nr_free_wrong() -> Zone:
    zone = base_zone()
    zone.nr_free[10] += 1
    return zone


def buddy_page_on_no_list() -> Zone:
    zone = base_zone()
    zone.memmap.list_del(3072 - zone.start_pfn)  # PageBuddy stays set
    zone.nr_free[10] -= 1
    zone.NR_FREE_PAGES -= 1024
    return zone


def misaligned_block() -> Zone:
    zone = base_zone()
    del_page_from_free_list(zone, 3072, 10)
    # the same 1024 pages as 0:o0 1:o1(!) 3:o0 4:o2 8:o3 ... 512:o9, relative to 3072
    pieces = [(0, 0), (1, 1), (3, 0)] + [(1 << k, k) for k in range(2, 10)]
    for off, order in pieces:
        set_buddy_order(zone, 3072 + off, order)
        add_to_free_list(zone, 3072 + off, order, MOV)
    return zone


def overlapping_blocks() -> Zone:
    zone = base_zone()
    set_buddy_order(zone, 3073, 0)  # a second free block inside the order-10 block
    add_to_free_list(zone, 3073, 0, MOV)
    zone.NR_FREE_PAGES += 1
    return zone


def free_page_also_owned() -> Zone:
    zone = base_zone()
    aid = next(iter(zone.allocations))
    zone.memmap.cow(3100 - zone.start_pfn)  # every write goes through the choke point
    zone.memmap.owner[3100 - zone.start_pfn] = aid
    return zone


def pcp_page_also_in_a_free_block() -> Zone:
    zone = base_zone()
    i = 3100 - zone.start_pfn
    zone.memmap.list_add(i, zone.pcp_list_id(1, MOV, 0))
    zone.pcp[1].count += 1
    return zone


def _second_allocation(zone: Zone, pfn: int) -> None:
    aid = zone.new_alloc_id()
    b = Allocation(AllocId(aid), pfn, 0, MOV, compound=False, movable=True, cpu=1,
                   token=zone.new_token(), cma=False)
    zone.allocations[aid] = b
    zone.by_token[b.token] = aid
    zone.memmap.cow(pfn - zone.start_pfn)
    zone.memmap.owner[pfn - zone.start_pfn] = aid


def two_allocations_share_a_head() -> Zone:
    zone = base_zone()
    a = alloc_at(zone, 3072, 10)
    _second_allocation(zone, a.pfn)  # handed out again at the same pfn
    return zone


def two_allocations_share_a_page() -> Zone:
    zone = base_zone()
    a = alloc_at(zone, 3072, 10)
    _second_allocation(zone, a.pfn + 5)  # a page inside allocation a handed out again
    return zone


def isolate_counter_without_pageblock() -> Zone:
    zone = base_zone()
    zone.nr_isolate_pageblock = 1
    return zone


def isolated_pageblock_not_counted() -> Zone:
    zone = base_zone()
    alloc_at(zone, 3072, 10)
    zone.set_pageblock_migratetype(3072, ISO)
    return zone


def cma_movable_merge_on_movable_list() -> Zone:
    # a CMA area that is not MAX_ORDER-1 aligned, booted with the 5.18 check so that
    # boot keeps the halves apart; then the order-10 merge is planted by hand
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, pageblock_order=9), cma=(PfnRange(1024, 1536),),
        flags=ModelFlags(mergeable_merge_check=True),
    ))
    assert check_zone(zone) == []
    del_page_from_free_list(zone, 1024, 9)
    del_page_from_free_list(zone, 1536, 9)
    set_buddy_order(zone, 1024, 10)
    add_to_free_list(zone, 1024, 10, MOV)
    zone.NR_FREE_CMA_PAGES -= 512
    return zone


def highatomic_movable_merge_with_518_rules() -> Zone:
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, pageblock_order=9), pageblock_types=((PfnRange(0, 512), H),),
        flags=ModelFlags(mergeable_merge_check=True),
    ))
    assert check_zone(zone) == []
    del_page_from_free_list(zone, 0, 9)
    del_page_from_free_list(zone, 512, 9)
    set_buddy_order(zone, 0, 10)
    add_to_free_list(zone, 0, 10, MOV)
    return zone


def cma_movable_merge_at_boot_515() -> Zone:
    # 5.15 itself with a CMA area not aligned to MAX_ORDER-1: boot merges the CMA
    # pageblock into the MOVABLE one (only ISOLATE is kept apart), counting 512 CMA pages
    # for a block on the CMA list of 1024
    return build_zone(ZoneLayout(Geometry(0, 2048, pageblock_order=9),
                                 cma=(PfnRange(1024, 1536),)))


@dataclass(frozen=True)
class Corruption:
    name: str
    build: Callable[[], Zone]
    primary: str  # the invariant that must catch it
    fired: frozenset[str]  # exactly the invariants that fire

    def __str__(self) -> str:
        return self.name


def row(build: Callable[[], Zone], primary: str, *also: str) -> Corruption:
    return Corruption(build.__name__, build, primary, frozenset((primary, *also)))


CORRUPTIONS = [
    row(lost_block_accounted, "page_conservation"),
    row(lost_block_unaccounted, "page_conservation", "I2_nr_free_pages"),
    row(nr_free_pages_off_by_one, "I2_nr_free_pages"),
    row(nr_free_cma_pages_off_by_one, "I3_nr_free_cma_pages"),
    row(nr_free_cma_pages_above_cma_pages, "I3_nr_free_cma_pages"),
    row(cma_block_on_movable_list, "cma_pageblocks"),
    row(cma_pageblock_retyped, "cma_pageblocks"),
    row(non_cma_pageblock_typed_cma, "cma_pageblocks"),
    row(isolate_list_in_normal_pageblock, "I4i_isolate_list_stranded"),
    row(cma_list_in_normal_pageblock, "I4_list_matches_pageblock"),
    row(normal_list_in_isolated_pageblock, "I5a_isolated_not_allocatable"),
    row(highatomic_block_not_counted, "highatomic_reserve"),
    row(highatomic_count_without_block, "highatomic_reserve"),
    row(block_straddling_into_an_isolated_pageblock, "I5a_isolated_not_allocatable"),
    row(nr_free_wrong, "I1_free_list_integrity"),
    row(buddy_page_on_no_list, "page_conservation"),  # PageBuddy but unreachable: lost
    row(misaligned_block, "I1_free_list_integrity"),
    row(overlapping_blocks, "page_conservation"),
    row(free_page_also_owned, "page_conservation"),
    row(pcp_page_also_in_a_free_block, "page_conservation"),
    row(two_allocations_share_a_head, "page_conservation"),
    row(isolate_counter_without_pageblock, "I6_nr_isolate_pageblock"),
    row(isolated_pageblock_not_counted, "I6_nr_isolate_pageblock"),
    row(cma_movable_merge_on_movable_list, "no_forbidden_merge", "cma_pageblocks"),
    row(highatomic_movable_merge_with_518_rules, "no_forbidden_merge"),
    row(cma_movable_merge_at_boot_515, "no_forbidden_merge",
        "I3_nr_free_cma_pages", "I4_list_matches_pageblock"),
]


def names(violations: list[Violation]) -> set[str]:
    return {v.invariant for v in violations}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_corruption_is_caught_by_the_right_invariant(corruption: Corruption) -> None:
    zone = corruption.build()
    violations = check_zone(zone, "end")
    assert names(violations) == corruption.fired, "\n".join(map(str, violations))
    own = registry()[corruption.primary].check(zone)
    assert own, f"{corruption.primary} did not fire on {corruption.name}"
    assert all(v.invariant == corruption.primary for v in own)
    assert all(str(v) for v in own)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_the_engine_gate_reports_what_the_registry_reports(corruption: Corruption) -> None:
    """The engine's one-pass gate (zonesim.check.fused) and running list totals must
    fire on every corrupted state, and the engine then reports the registry's first
    violation: the gate makes no invariant weaker."""
    zone = corruption.build()
    first = check_zone(zone, "end")[0]
    assert end_check(zone) == first
    quiescent = check_zone(zone, "quiescent")
    if quiescent:
        assert suspect(zone)
        with pytest.raises(InvariantViolation) as exc:
            quiescent_check(zone, "quiescent")
        assert exc.value.violation == quiescent[0]
    m = zone.memmap
    if check_zone(zone, "step"):  # the per-step test reads the running totals
        assert (m.free_listed, m.cma_listed) != (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES) \
            or zone.cma_pages < zone.NR_FREE_CMA_PAGES \
            or isolate_census(zone) != zone.nr_isolate_pageblock
    assert (m.free_listed, m.cma_listed) == list_pages(zone)


def test_page_of_one_allocation_handed_to_another_is_caught() -> None:
    zone = two_allocations_share_a_page()
    assert "page_conservation" in names(check_zone(zone, "end"))


def test_every_registered_invariant_has_a_corruption() -> None:
    covered = {c.primary for c in CORRUPTIONS}
    missing = sorted(set(registry()) - covered)
    assert not missing, f"invariants without a corrupt-state test: {missing}"


def test_the_cadences_of_the_registry() -> None:
    # step-cadence checks are a subset of quiescent, which is a subset of end
    step = names(check_zone(nr_free_pages_off_by_one(), "step"))
    assert step == {"I2_nr_free_pages"}
    assert check_zone(nr_free_pages_off_by_one(), "end", skip=["I2_nr_free_pages"]) == []
    assert names(check_zone(lost_block_accounted(), "quiescent")) == set()  # an "end" check
    assert names(check_zone(lost_block_accounted(), "end")) == {"page_conservation"}


# -- clean, busy zones -------------------------------------------------------------------


def _isolate_block(zone: Zone, block: int) -> None:
    for page in range(block, block + zone.geometry.max_order_nr_pages,
                      zone.geometry.pageblock_nr_pages):
        old = zone.get_pageblock_migratetype(page)
        zone.set_pageblock_migratetype(page, ISO)
        zone.nr_isolate_pageblock += 1
        moved, _ = move_freepages_block(zone, page, ISO)
        __mod_zone_freepage_state(zone, -moved, old)


def _unisolate_block(zone: Zone, block: int, mt: MigrateType) -> None:
    for page in range(block, block + zone.geometry.max_order_nr_pages,
                      zone.geometry.pageblock_nr_pages):
        putback = -1
        if PageBuddy(zone, page):
            o = buddy_order(zone, page)
            if zone.pageblock_order <= o < zone.max_order - 1 and (
                zone.get_pageblock_migratetype(page ^ (1 << o)) != ISO
            ):
                del_page_from_free_list(zone, page, o)  # __isolate_free_page
                putback = o
        if putback < 0:
            moved, _ = move_freepages_block(zone, page, mt)
            __mod_zone_freepage_state(zone, moved, mt)
        zone.set_pageblock_migratetype(page, mt)
        if putback >= 0:
            free_one_page_locked(zone, page, putback, mt, FPI_TO_TAIL)
        zone.nr_isolate_pageblock -= 1


def _free(zone: Zone, a: Allocation, cpu: int, via_pcp: bool) -> None:
    free_pages_prepare(zone, a)
    mt = int(zone.get_pageblock_migratetype(a.pfn))
    if via_pcp and zone.geometry.pcp_allowed_order(a.order) and mt != ISO:
        zone.memmap.cow(a.pfn - zone.start_pfn)
        zone.memmap.cached_mt[a.pfn - zone.start_pfn] = mt
        free_unref_page_commit(zone, cpu, a.pfn, mt if mt < MIGRATE_PCPTYPES else int(MOV),
                               a.order)
    else:
        free_one_page_locked(zone, a.pfn, a.order, mt, FPI_NONE)


def busy_zone(seed: int) -> Zone:
    """A zone after a few hundred random v5.15 operations (see test_model_stateful for
    the rules and why they are quiescent-clean), some blocks left isolated."""
    rng = random.Random(seed)
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, max_order=8, pageblock_order=rng.choice([3, 4, 5]), cpus=2),
        cma=(PfnRange(512, 768),), pageblock_types=((PfnRange(1024, 1152), U),),
        pcp_high=16, pcp_batch=4,
    ))
    allocs: list[Allocation] = []
    isolated: dict[int, MigrateType] = {}
    blk = zone.geometry.max_order_nr_pages
    for _ in range(300):
        op = rng.random()
        if op < 0.45:
            order = rng.choice([0, 0, 0, 1, 2, 3, rng.randrange(zone.max_order)])
            mt = rng.choice([U, MOV, R])
            flags = ALLOC_CMA if mt == MOV and rng.random() < 0.7 else 0
            cpu = rng.randrange(2)
            if zone.geometry.pcp_allowed_order(order) and (flags or mt != MOV):
                pfn = rmqueue_pcplist(zone, cpu, order, int(mt), flags)
            else:
                pfn = rmqueue_buddy(zone, order, int(mt), flags)
            if pfn is not None:
                allocs.append(prep_new_page(zone, pfn, order, mt, compound=order > 0,
                                            movable=mt == MOV, cpu=cpu))
        elif op < 0.8 and allocs:
            a = allocs.pop(rng.randrange(len(allocs)))
            _free(zone, a, rng.randrange(2), rng.random() < 0.6)
        elif op < 0.85:
            drain_pages_zone(zone, rng.randrange(2))
        elif op < 0.92:
            block = rng.randrange(zone.end_pfn // blk) * blk
            if block in isolated:
                _unisolate_block(zone, block, isolated.pop(block))
            else:
                _isolate_block(zone, block)
                isolated[block] = C if 512 <= block < 768 else MOV
        else:
            pfn = rng.randrange(zone.end_pfn) & ~(zone.geometry.pageblock_nr_pages - 1)
            old = zone.get_pageblock_migratetype(pfn)
            new = rng.choice([U, MOV, R])
            if old not in (C, ISO):
                zone.set_pageblock_migratetype(pfn, new)
                move_freepages_block(zone, pfn, new)
    assert zone.allocations and zone.NR_FREE_PAGES < 2048
    return zone


BUSY_SEEDS = range(6)


@pytest.fixture(scope="module")
def busy_zones() -> list[Zone]:
    return [busy_zone(seed) for seed in BUSY_SEEDS]


@pytest.mark.parametrize("name", sorted(registry()))
def test_invariant_is_quiet_on_clean_busy_zones(name: str, busy_zones: list[Zone]) -> None:
    inv = registry()[name]
    for seed, zone in zip(BUSY_SEEDS, busy_zones, strict=True):
        assert inv.check(zone) == [], f"{name} fired on busy zone seed {seed}"


def test_the_engine_gate_passes_clean_busy_zones(busy_zones: list[Zone]) -> None:
    for zone in busy_zones:
        assert end_check(zone) is None
        if not zone.nr_isolate_pageblock:
            assert not suspect(zone, end=True)


def test_busy_zones_are_really_busy(busy_zones: list[Zone]) -> None:
    assert any(z.nr_isolate_pageblock for z in busy_zones)
    assert any(z.pcp[0].count or z.pcp[1].count for z in busy_zones)
    assert any(z.cma_pages > z.NR_FREE_CMA_PAGES for z in busy_zones)
    assert all(len(z.allocations) > 5 for z in busy_zones)


# -- a pageblock left ISOLATE for good (zonesim.check.isolation, judged with the ranges the
#    scenario holds isolated) ----------------------------------------------------------------


def isolated_and_forgotten() -> Zone:
    """The MAX_ORDER-1 block at 0xc00 isolated exactly as start_isolate_page_range does it
    (types, free pages moved, nr_isolate_pageblock), then never undone: every registry
    invariant agrees with the state -- the census counts it, its free pages are on the
    ISOLATE list."""
    zone = base_zone()
    free = zone.NR_FREE_PAGES
    _isolate_block(zone, 0xC00)
    assert zone.nr_isolate_pageblock == 2 and free - 1024 == zone.NR_FREE_PAGES
    return zone


def test_a_pageblock_left_isolate_for_good_is_caught_by_isolation_undone() -> None:
    from zonesim.check.isolation import ISOLATION_HELD

    zone = isolated_and_forgotten()
    assert check_zone(zone, "end") == []  # nothing in the registry sees it
    found = list(ISOLATION_HELD.fn(zone, ()))
    assert [(v.invariant, v.pfn) for v in found] == [("isolation_undone", 0xC00),
                                                     ("isolation_undone", 0xE00)]
    assert "lost for good" in str(found[0]) and "0xc00-0xdff" in str(found[0])
    # held by an isolate op of the scenario (any overlap), or offlined: not a violation
    assert list(ISOLATION_HELD.fn(zone, [(0xD00, 0xE01)])) == []
    assert list(ISOLATION_HELD.fn(zone, [(0xA00, 0xC00), (0xE00, 0x1000)])) == [found[0]]
    zone.absent_ranges.append((0xC00, 0x1000))
    assert list(ISOLATION_HELD.fn(zone, ())) == []


def test_isolation_undone_with_the_isolate_bit_design() -> None:
    """v6.17 / proposal a): ISOLATE is a bit beside the kept type; still caught."""
    zone = build_zone(ZoneLayout(Geometry(0, 2048), flags=ModelFlags(isolate_bit=True)))
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock += 1
    from zonesim.check.isolation import ISOLATION_HELD

    assert [v.pfn for v in ISOLATION_HELD.fn(zone, ())] == [512]
    assert zone.get_pageblock_original_mt(512) == MOV


def test_isolation_undone_is_quiet_on_busy_zones_whose_isolations_are_held(
        busy_zones: list[Zone]) -> None:
    from zonesim.check.isolation import ISOLATION_HELD

    for zone in busy_zones:
        pb = zone.geometry.pageblock_nr_pages
        isolated = [(p, p + pb) for p in range(0, zone.end_pfn, pb)
                    if zone.get_pageblock_migratetype(p) == ISO]
        assert list(ISOLATION_HELD.fn(zone, isolated)) == []
        assert len(list(ISOLATION_HELD.fn(zone, ()))) == len(isolated)


_BASE_ZONE = base_zone
_BUILD_ZONE = build_zone


def _track(zone: Zone) -> tuple[Zone, Baseline | None]:
    """What the engine does with a booted zone: track its writes, from a baseline when
    the booted state passes every end invariant."""
    clean = end_check(zone) is None
    zone.track_writes()
    return zone, baseline(zone) if clean else None


def _tracked_base() -> tuple[Zone, Baseline]:
    zone, base = _track(_BASE_ZONE())
    assert base is not None
    return zone, base


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_the_end_check_of_a_tracked_zone_reports_what_the_registry_reports(
    corruption: Corruption, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine runs executions on a zone that tracks its writes and judges at the end
    only what an execution wrote (zonesim.check.baseline): the same corruptions, made on
    such a zone, must be reported exactly as the full check reports them."""
    made: list[tuple[Zone, Baseline | None]] = []

    def tracked_base() -> Zone:
        made.append(_track(_BASE_ZONE()))
        return made[-1][0]

    def tracked_build(layout: ZoneLayout) -> Zone:
        made.append(_track(_BUILD_ZONE(layout)))
        return made[-1][0]

    monkeypatch.setattr(sys.modules[__name__], "base_zone", tracked_base)
    monkeypatch.setattr(sys.modules[__name__], "build_zone", tracked_build)
    zone = corruption.build()
    assert made and made[0][0] is zone, "the corruption did not start from a booted zone"
    first = check_zone(zone, "end")[0]
    base = made[0][1]
    assert end_check(zone, base) == first
    if base is not None:  # not vacuous: the corruption was made on a tracked zone
        assert zone.memmap.saved or zone.pageblock != base.pageblock or (
            zone.snapshot is not None and zone.__dict__ != zone.snapshot.__dict__)


def test_a_tracked_clean_zone_passes_and_rolls_back_to_its_base() -> None:
    zone, base = _tracked_base()
    before = bytes(zone.memmap.owner), bytes(zone.memmap.flags), bytes(zone.pageblock)
    a = alloc_at(zone, 3072, 10)
    free_pages_prepare(zone, a)
    free_one_page_locked(zone, 3072, 10, int(MOV), FPI_NONE)
    assert zone.memmap.saved and end_check(zone, base) is None
    zone.rollback()
    assert (bytes(zone.memmap.owner), bytes(zone.memmap.flags), bytes(zone.pageblock)) == before
    assert check_zone(zone, "end") == []


def test_the_gate_judges_the_lists_while_a_pageblock_is_isolated() -> None:
    """With a pageblock isolated the gate runs I5a's own function and judges the other
    invariants incrementally (it used to hand every check to the registry then): a CMA
    block moved to a MOVABLE list afterwards -- counters kept consistent, so only the
    judgement of the touched block sees it -- is still caught, and reported as the
    registry reports it."""
    def cma_block(zone: Zone) -> int | None:
        """A free block on a CMA list (in a CMA pageblock: the zone is clean)."""
        m = zone.memmap
        cma = {zone.free_list_id(o, int(C)) for o in range(zone.max_order)}
        return next((i for i in range(m.nr) if m.list_id[i] in cma), None)

    zone, i = next((z, i) for z in map(busy_zone, range(40))
                   if z.nr_isolate_pageblock and (i := cma_block(z)) is not None)
    assert not suspect(zone)  # clean: the incremental state now starts from here
    m = zone.memmap
    pfn, order = i + zone.start_pfn, m.order[i]
    del_page_from_free_list(zone, pfn, order)
    add_to_free_list(zone, pfn, order, int(MOV))
    if not zone.flags.account_on_lists:
        __mod_zone_freepage_state(zone, -(1 << order), int(C))
        __mod_zone_freepage_state(zone, 1 << order, int(MOV))
    assert (m.free_listed, m.cma_listed) == (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES)
    found = check_zone(zone, "quiescent")
    assert "cma_pageblocks" in names(found) and zone.nr_isolate_pageblock
    assert suspect(zone)
    with pytest.raises(InvariantViolation) as exc:
        quiescent_check(zone, "quiescent")
    assert exc.value.violation == found[0]
