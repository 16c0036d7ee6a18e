"""The lock-held buddy primitives on hand-worked cases (kernel-reference §2.1, §2.2, §2.4).

Kernel functions with two leading underscores are imported under aliases so that they
are never name-mangled; the tests are plain functions."""

from __future__ import annotations

import pytest

from zonesim.check.registry import check_zone
from zonesim.model.alloc import find_free_block, prep_new_page, take_free_block_at
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import (
    ALLOC_CMA,
    ALLOC_NOFRAGMENT,
    FPI_NONE,
    FPI_TO_TAIL,
    PageBuddy,
    buddy_order,
    can_steal_fallback,
    change_pageblock_range,
    del_page_from_free_list,
    expand,
    find_suitable_fallback,
    free_list_mt,
    move_freepages,
    move_freepages_block,
    page_is_buddy,
    set_buddy_order,
    steal_suitable_fallback,
)
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.buddy import __rmqueue as rmqueue_locked
from zonesim.model.buddy import __rmqueue_fallback as rmqueue_fallback
from zonesim.model.buddy import __rmqueue_smallest as rmqueue_smallest
from zonesim.model.errors import KernelBug, MemmapAccess
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import PG_buddy
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation, Zone

change_pageblock_range = sequential(change_pageblock_range)
expand = sequential(expand)
steal_suitable_fallback = sequential(steal_suitable_fallback)
free_one_page_locked = sequential(free_one_page_locked)
rmqueue_locked = sequential(rmqueue_locked)
rmqueue_fallback = sequential(rmqueue_fallback)
rmqueue_smallest = sequential(rmqueue_smallest)

M = MigrateType
U, MOV, R, H, C, ISO = (M.UNMOVABLE, M.MOVABLE, M.RECLAIMABLE, M.HIGHATOMIC, M.CMA, M.ISOLATE)


def mk(pages: int = 2048, start: int = 0, *, max_order: int = 11, pb: int = 9,
       flags: ModelFlags | None = None, types: tuple[tuple[PfnRange, MigrateType], ...] = (),
       cma: tuple[PfnRange, ...] = ()) -> Zone:
    return build_zone(ZoneLayout(
        Geometry(start, pages, max_order=max_order, pageblock_order=pb, cpus=2),
        pageblock_types=types, cma=cma, flags=flags or ModelFlags(),
    ))


def blocks(zone: Zone) -> dict[tuple[int, int], MigrateType]:
    out: dict[tuple[int, int], MigrateType] = {}
    for order in range(zone.max_order):
        for mt in MigrateType:
            for pfn in zone.free_list_pfns(order, mt):
                out[(pfn, order)] = mt
    return out


def alloc_at(zone: Zone, pfn: int, order: int, *, movable: bool = False) -> Allocation:
    take_free_block_at(zone, pfn, order)
    return prep_new_page(zone, pfn, order, MigrateType.UNMOVABLE, compound=False,
                         movable=movable, cpu=0)


def fill_except(zone: Zone, keep: range, *, movable: bool = False) -> None:
    """Allocate every free page of the zone outside ``keep`` as order-0 pages."""
    for pfn in range(zone.start_pfn, zone.end_pfn):
        if pfn not in keep and find_free_block(zone, pfn) is not None:
            alloc_at(zone, pfn, 0, movable=movable)


def hollow(zone: Zone, pfn: int, order: int) -> None:
    """Take a free block off the buddy with accounting and no owner (as a caller of
    __free_one_page would hold it): the test then frees it back."""
    take_free_block_at(zone, pfn, order)


# -- __free_one_page -------------------------------------------------------------------


def test_two_free_halves_merge_to_max_order_block_on_the_callers_list() -> None:
    zone = mk()
    hollow(zone, 0, 10)
    assert zone.NR_FREE_PAGES == 1024
    assert free_one_page_locked(zone, 0, 9, MOV, FPI_NONE) == (0, 9)
    assert blocks(zone)[(0, 9)] == MOV
    # the second half is freed as UNMOVABLE: the merged block goes on ITS list
    assert free_one_page_locked(zone, 512, 9, U, FPI_NONE) == (0, 10)
    assert blocks(zone) == {(0, 10): U, (1024, 10): MOV}
    assert zone.NR_FREE_PAGES == 2048
    assert zone.nr_free[9] == 0 and zone.nr_free[10] == 2
    assert not PageBuddy(zone, 512)


def test_merging_below_pageblock_order_cascades_through_every_level() -> None:
    zone = mk(1024, pb=3)
    hollow(zone, 0, 10)
    for pfn in range(1024):
        free_one_page_locked(zone, pfn, 0, MOV, FPI_NONE)
    assert blocks(zone) == {(0, 10): MOV}
    assert zone.NR_FREE_PAGES == 1024
    assert check_zone(zone) == []


def test_no_merge_with_an_isolated_pageblock_while_nr_isolate_pageblock_set() -> None:
    zone = mk()
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 0, 9, MOV, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, ISO, FPI_NONE) == (512, 9)
    assert blocks(zone) == {(0, 9): MOV, (512, 9): ISO, (1024, 10): MOV}
    # an ISOLATE free is not counted in NR_FREE_PAGES
    assert zone.NR_FREE_PAGES == 1024 + 512
    assert check_zone(zone) == []


def test_no_merge_of_a_normal_page_into_an_isolated_buddy() -> None:
    zone = mk()
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 512, 9, ISO, FPI_NONE)
    assert free_one_page_locked(zone, 0, 9, MOV, FPI_NONE) == (0, 9)
    assert blocks(zone)[(512, 9)] == ISO


def test_isolated_pageblock_merges_when_the_counter_says_no_isolation() -> None:
    # The check is gated on has_isolate_pageblock(): with nr_isolate_pageblock == 0 the
    # 5.15 buddy merges an ISOLATE pageblock like any other.
    zone = mk()
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    free_one_page_locked(zone, 0, 9, MOV, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, ISO, FPI_NONE) == (0, 10)
    assert blocks(zone)[(0, 10)] == ISO


def test_two_isolated_halves_merge() -> None:
    zone = mk()
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(0, ISO)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 2
    free_one_page_locked(zone, 0, 9, ISO, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, ISO, FPI_NONE) == (0, 10)
    assert zone.NR_FREE_PAGES == 1024
    assert check_zone(zone) == []


def _cma_movable_pair(flags: ModelFlags) -> Zone:
    zone = mk(flags=flags)
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(0, C)
    return zone


def test_cma_and_movable_halves_merge_under_v515_flags() -> None:
    zone = _cma_movable_pair(ModelFlags())
    free_one_page_locked(zone, 0, 9, C, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, MOV, FPI_NONE) == (0, 10)
    assert blocks(zone)[(0, 10)] == MOV
    # counted by the callers' types before merging: 512 CMA pages although the list is MOVABLE
    assert zone.NR_FREE_CMA_PAGES == 512
    assert zone.NR_FREE_PAGES == 2048


def test_cma_and_movable_halves_do_not_merge_with_the_518_mergeable_check() -> None:
    zone = _cma_movable_pair(ModelFlags(mergeable_merge_check=True))
    free_one_page_locked(zone, 0, 9, C, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, MOV, FPI_NONE) == (512, 9)
    assert blocks(zone) == {(0, 9): C, (512, 9): MOV, (1024, 10): MOV}


def test_mergeable_check_still_merges_unmovable_with_movable() -> None:
    zone = mk(flags=ModelFlags(mergeable_merge_check=True))
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(0, U)
    free_one_page_locked(zone, 0, 9, U, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, MOV, FPI_NONE) == (0, 10)


def test_without_merge_checks_blocks_merge_up_to_max_order_regardless() -> None:
    zone = mk(flags=ModelFlags(isolate_merge_check=False, mergeable_merge_check=False,
                               isolate_merge_cap=False))
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 0, 9, MOV, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, ISO, FPI_NONE) == (0, 10)
    assert blocks(zone)[(0, 10)] == ISO
    # never beyond MAX_ORDER-1
    assert zone.nr_free[10] == 2


def test_3c605096d315_caps_only_a_page_freed_onto_an_isolate_list() -> None:
    """3.18-4.5: the isolated page stops at pageblock_order, but a normal page merges on
    into its isolated buddy (d9dddbf55667's case a)."""
    flags = ModelFlags(isolate_merge_check=False, mergeable_merge_check=False)
    zone = mk(flags=flags)
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 0, 9, MOV, FPI_NONE)
    assert free_one_page_locked(zone, 512, 9, ISO, FPI_NONE) == (512, 9)  # capped
    zone = mk(flags=flags)
    hollow(zone, 0, 10)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 512, 9, ISO, FPI_NONE)
    assert free_one_page_locked(zone, 0, 9, MOV, FPI_NONE) == (0, 10)  # merges into it
    assert blocks(zone)[(0, 10)] == MOV


def test_merge_stops_at_max_order_minus_one() -> None:
    zone = mk(4096)
    assert zone.nr_free[10] == 4  # the two order-10 pairs never become order 11


def test_buddy_outside_the_zone_is_not_merged() -> None:
    # zone [512, 1024): the order-9 buddy of 512 is pfn 0, outside the zone
    zone = mk(512, start=512)
    assert blocks(zone) == {(512, 9): MOV}
    assert not page_is_buddy(zone, 0, 9)


def test_515_reads_the_unvalidated_buddy_pageblock_and_oopses_past_the_zone() -> None:
    # 787af64d05cd: with an isolated pageblock somewhere, 5.15 reads the pageblock of the
    # buddy before page_is_buddy(); a buddy past the zone end has no memmap.
    zone = mk(512, start=1024)
    hollow(zone, 1024, 9)
    zone.set_pageblock_migratetype(1024, ISO)
    zone.nr_isolate_pageblock = 1
    with pytest.raises(MemmapAccess):
        free_one_page_locked(zone, 1024, 9, ISO, FPI_NONE)


def test_518_validates_the_buddy_before_reading_its_pageblock() -> None:
    zone = mk(512, start=1024, flags=ModelFlags(validate_buddy_before_mt=True))
    hollow(zone, 1024, 9)
    zone.set_pageblock_migratetype(1024, ISO)
    zone.nr_isolate_pageblock = 1
    assert free_one_page_locked(zone, 1024, 9, ISO, FPI_NONE) == (1024, 9)


def test_fpi_to_tail_and_buddy_merge_likely_queue_at_the_tail() -> None:
    zone = mk(1024, pb=3)
    hollow(zone, 0, 10)
    # free order-0 at 0 -> head of the order-0 list; then pfn 8 (order 3 buddy region)
    free_one_page_locked(zone, 4, 0, MOV, FPI_NONE)
    free_one_page_locked(zone, 6, 0, MOV, FPI_NONE)
    assert zone.free_list_pfns(0, MOV) == [6, 4]  # list_add at the head
    free_one_page_locked(zone, 2, 0, MOV, FPI_TO_TAIL)
    assert zone.free_list_pfns(0, MOV) == [6, 4, 2]
    free_one_page_locked(zone, 3, 0, MOV, FPI_NONE)  # merges 2+3 into order 1 at 2
    assert zone.free_list_pfns(1, MOV) == [2]
    # buddy_merge_likely: pfn 0's buddy (1) is busy, but the order-1 buddy of the
    # combined block 0..1 (pfn 2, order 1) is free -> queued at the tail
    free_one_page_locked(zone, 0, 0, MOV, FPI_NONE)
    assert zone.free_list_pfns(0, MOV) == [6, 4, 0]


def test_buddy_merge_likely_looks_below_max_order_minus_2_only() -> None:
    """buddy_merge_likely() returns false only from order MAX_ORDER-2 on; below, a block
    whose buddy is busy but whose next-higher buddy is free is queued at the tail (so it is
    handed out last and may still merge). MAX_ORDER 5: an order-2 block at 0 (buddy 4
    busy, order-3 buddy at 8 free) goes behind the order-2 block at 20 (whose order-3 buddy
    at 24 is busy: head)."""
    zone = mk(32, max_order=5, pb=3)
    hollow(zone, 0, 4)
    hollow(zone, 16, 4)
    free_one_page_locked(zone, 8, 3, MOV, FPI_NONE)
    free_one_page_locked(zone, 20, 2, MOV, FPI_NONE)
    free_one_page_locked(zone, 0, 2, MOV, FPI_NONE)
    assert zone.free_list_pfns(3, MOV) == [8]
    assert zone.free_list_pfns(2, MOV) == [20, 0]
    # at order MAX_ORDER-2 = 3 it does not look: the block at 8 (buddy 0 busy, order-4
    # buddy at 16 free) goes to the head, before the one at 40
    zone = mk(64, max_order=5, pb=3)
    hollow(zone, 0, 4)
    hollow(zone, 32, 4)
    free_one_page_locked(zone, 40, 3, MOV, FPI_NONE)
    free_one_page_locked(zone, 8, 3, MOV, FPI_NONE)
    assert zone.free_list_pfns(4, MOV) == [16, 48]
    assert zone.free_list_pfns(3, MOV) == [8, 40]


def test_inside_one_pageblock_the_518_merge_does_not_look_at_types() -> None:
    """5.18's __free_one_page() merges without a type check up to
    min(MAX_ORDER-1, pageblock_order): both buddies lie in one pageblock. With
    pageblock_order = MAX_ORDER-1 = 10 an order-9 page freed with a stale HIGHATOMIC type
    (the pageblock is MOVABLE: a type read before a racing retype) still merges with its
    free buddy into one order-10 block on the caller's list."""
    zone = mk(2048, pb=10, flags=ModelFlags(mergeable_merge_check=True))
    hollow(zone, 0, 10)
    free_one_page_locked(zone, 512, 9, MOV, FPI_NONE)
    assert free_one_page_locked(zone, 0, 9, MigrateType.HIGHATOMIC, FPI_NONE) == (0, 10)
    assert blocks(zone)[(0, 10)] == MigrateType.HIGHATOMIC


def test_e6cf9e1c4cde_a_buddy_of_another_mergeable_type_is_retyped_and_merged() -> None:
    """6.10's __free_one_page() (e6cf9e1c4cde): at pageblock_order, a free buddy of
    another mergeable type (UNMOVABLE next to a MOVABLE free) is taken off its own list,
    its pageblock set to the caller's type, and the two merge one order up: one order-10
    MOVABLE block over two MOVABLE pageblocks, the UNMOVABLE list empty again."""
    zone = mk(2048, flags=ModelFlags(mergeable_merge_check=True, merge_fixup_type=True),
              types=((PfnRange(512, 1024), U),))
    hollow(zone, 0, 10)
    free_one_page_locked(zone, 512, 9, U, FPI_NONE)
    assert zone.free_list_pfns(9, U) == [512]
    assert free_one_page_locked(zone, 0, 9, MOV, FPI_NONE) == (0, 10)
    assert blocks(zone)[(0, 10)] == MOV
    assert zone.free_list_pfns(9, U) == []
    assert zone.get_pageblock_migratetype(512) == MOV
    assert check_zone(zone) == []


@pytest.mark.parametrize("damage", ["not PageBuddy", "not listed", "other order"])
def test_list_del_of_a_page_that_is_not_a_listed_free_block_is_a_kernel_bug(
        damage: str) -> None:
    """__del_page_from_free_list() of a free order-10 head that lost PageBuddy, that no
    list holds, or whose order is not the one asked for: CONFIG_DEBUG_LIST's "list_del
    corruption" (the kernel would corrupt the lists), each on its own."""
    zone = mk()
    m = zone.memmap
    order = 10
    if damage == "not PageBuddy":
        m.flags[1024] &= ~PG_buddy
    elif damage == "not listed":
        del_page_from_free_list(zone, 1024, 10)
        set_buddy_order(zone, 1024, 10)  # PageBuddy and order again, on no list
    else:
        order = 9
    with pytest.raises(KernelBug, match="not a free order"):
        del_page_from_free_list(zone, 1024, order)


# -- expand / __rmqueue_smallest -------------------------------------------------------


def test_expand_puts_every_half_on_the_list_type() -> None:
    zone = mk()
    del_page_from_free_list(zone, 0, 10)
    expand(zone, 0, 2, 10, U)
    assert {k: v for k, v in blocks(zone).items() if k[0] < 1024} == {
        (1 << k, k): U for k in range(2, 10)
    }
    # the pageblocks did not change: the upper half [512, 1024) is MOVABLE but on U lists
    assert zone.get_pageblock_migratetype(512) == MOV


def test_rmqueue_smallest_takes_the_smallest_fitting_block() -> None:
    zone = mk(1024)
    hollow(zone, 0, 0)  # leaves 1:o0 2:o1 4:o2 8:o3 ... 512:o9
    nr = zone.NR_FREE_PAGES
    assert rmqueue_smallest(zone, 2, MOV) == 4
    assert zone.memmap.cached_mt[4] == MOV
    assert rmqueue_smallest(zone, 2, MOV) == 8  # the order-3 block is split
    assert blocks(zone)[(12, 2)] == MOV
    assert (8, 3) not in blocks(zone)
    # no vm counter change: rmqueue()/rmqueue_bulk() account
    assert nr == zone.NR_FREE_PAGES


def test_rmqueue_smallest_only_looks_at_its_own_list() -> None:
    zone = mk(1024, types=((PfnRange(0, 1024), U),))
    assert rmqueue_smallest(zone, 0, MOV) is None
    assert rmqueue_smallest(zone, 0, U) == 0


# -- __rmqueue: CMA ----------------------------------------------------------------------


def cma_zone() -> Zone:
    return mk(2048, cma=(PfnRange(0, 1024),))


def test_cma_pages_never_serve_a_request_without_alloc_cma() -> None:
    zone = cma_zone()
    del_page_from_free_list(zone, 1024, 10)  # the MOVABLE block is gone
    zone.NR_FREE_PAGES -= 1024
    assert rmqueue_locked(zone, 0, MOV, 0) is None
    assert rmqueue_locked(zone, 0, U, 0) is None
    pfn = rmqueue_locked(zone, 0, MOV, ALLOC_CMA)
    assert pfn is not None and pfn < 1024
    assert zone.memmap.cached_mt[pfn] == C


def test_cma_balancing_rule_prefers_cma_when_it_is_over_half_of_free() -> None:
    zone = cma_zone()
    # NR_FREE_CMA_PAGES (1024) > NR_FREE_PAGES (2048) / 2 is false: MOVABLE first
    assert rmqueue_locked(zone, 0, MOV, ALLOC_CMA) == 1024
    zone.NR_FREE_PAGES -= 1  # rmqueue() would account the page
    # now 1024 > 2047 // 2: CMA first
    pfn = rmqueue_locked(zone, 0, MOV, ALLOC_CMA)
    assert pfn is not None and pfn < 1024
    zone.NR_FREE_PAGES -= 1
    zone.NR_FREE_CMA_PAGES -= 1
    # without ALLOC_CMA, still MOVABLE
    assert rmqueue_locked(zone, 0, MOV, 0) == 1025


def test_cma_is_the_fallback_before_stealing_for_alloc_cma() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),), types=((PfnRange(1024, 2048), U),))
    # no MOVABLE block; NR_FREE_CMA (1024) is not > 2048 / 2 -> own type fails, CMA next
    pfn = rmqueue_locked(zone, 0, MOV, ALLOC_CMA)
    assert pfn is not None and pfn < 1024
    assert zone.get_pageblock_migratetype(1024) == U  # nothing was stolen


# -- __rmqueue_fallback / steal_suitable_fallback ----------------------------------------


def test_can_steal_fallback_rule() -> None:
    zone = mk(pb=9)
    assert can_steal_fallback(zone, 9, MOV)
    assert can_steal_fallback(zone, 4, MOV)  # >= pageblock_order / 2
    assert not can_steal_fallback(zone, 3, MOV)
    assert can_steal_fallback(zone, 0, U)
    assert can_steal_fallback(zone, 0, R)


def test_large_steal_retypes_every_covered_pageblock() -> None:
    zone = mk(2048)
    pfn = rmqueue_locked(zone, 0, U, 0)
    assert pfn == 0
    # the order-10 MOVABLE block at 0 was taken: change_pageblock_range over 2 pageblocks
    assert [zone.get_pageblock_migratetype(p) for p in (0, 512, 1024, 1536)] == [U, U, MOV, MOV]
    assert blocks(zone)[(512, 9)] == U
    assert blocks(zone)[(1024, 10)] == MOV


def test_change_pageblock_range_covers_two_to_the_order_difference() -> None:
    zone = mk(4096, pb=8)
    change_pageblock_range(zone, 1024, 10, R)
    assert [zone.get_pageblock_migratetype(p) for p in range(0, 4096, 256)] == (
        [MOV] * 4 + [R] * 4 + [MOV] * 8
    )


def test_small_movable_request_steals_a_single_block_type_unchanged() -> None:
    zone = mk(1024, types=((PfnRange(0, 1024), U),))
    fill_except(zone, range(8, 12))  # only an order-2 UNMOVABLE block stays free
    assert blocks(zone) == {(8, 2): U}
    nr = zone.NR_FREE_PAGES
    pfn = rmqueue_locked(zone, 0, MOV, 0)
    assert pfn == 8
    assert zone.get_pageblock_migratetype(8) == U  # the pageblock keeps its type
    assert blocks(zone) == {(10, 1): MOV, (9, 0): MOV}  # the block moved to MOVABLE
    assert nr == zone.NR_FREE_PAGES


def test_find_smallest_takes_the_smallest_fallback_for_a_small_movable_request() -> None:
    zone = mk(1024, types=((PfnRange(0, 1024), U),))
    fill_except(zone, range(0, 12))  # free: order-3 at 0, order-2 at 8
    assert set(blocks(zone)) == {(0, 3), (8, 2)}
    # largest first finds order 3, where a MOVABLE request cannot steal (3 < 9 // 2):
    # find_smallest from the requested order 1 picks the order-2 block, moved alone
    assert rmqueue_fallback(zone, 1, MOV, 0)
    assert blocks(zone) == {(0, 3): U, (8, 2): MOV}
    assert zone.get_pageblock_migratetype(0) == U


def test_unmovable_request_steals_the_whole_pageblock_when_enough_is_alike() -> None:
    zone = mk(1024)
    fill_except(zone, range(8, 12))  # non-movable allocations: "alike" for UNMOVABLE
    assert rmqueue_locked(zone, 0, U, 0) == 8
    assert zone.get_pageblock_migratetype(8) == U  # 4 free + 508 alike >= 256
    assert zone.get_pageblock_migratetype(512) == MOV
    assert blocks(zone) == {(10, 1): U, (9, 0): U}


def test_unmovable_request_moves_free_pages_but_keeps_a_mostly_movable_block() -> None:
    zone = mk(1024)
    fill_except(zone, range(8, 12), movable=True)  # 1020 LRU pages: not alike
    nr = zone.NR_FREE_PAGES
    assert rmqueue_locked(zone, 0, U, 0) == 8
    assert zone.get_pageblock_migratetype(8) == MOV  # 4 free + 0 alike < 256
    assert blocks(zone) == {(10, 1): U, (9, 0): U}  # but the free pages moved
    assert nr == zone.NR_FREE_PAGES


def test_movable_request_of_half_pageblock_order_claims_the_block() -> None:
    zone = mk(1024, types=((PfnRange(0, 1024), U),))
    fill_except(zone, range(0, 512), movable=True)  # pageblock 0 all free, 512.. busy
    assert blocks(zone) == {(0, 9): U}
    # order 4 >= 9 // 2: whole_block; free 512 >= 256 -> the block becomes MOVABLE
    assert rmqueue_locked(zone, 4, MOV, 0) == 0
    assert zone.get_pageblock_migratetype(0) == MOV
    assert zone.get_pageblock_migratetype(512) == U


def test_highatomic_pageblock_is_never_claimed() -> None:
    zone = mk(1024, types=((PfnRange(0, 512), H),))
    fill_except(zone, range(0, 8))
    # boot merged the HIGHATOMIC and MOVABLE pageblocks (v5.15): the order-3 block left
    # at 0 sits on the MOVABLE list in a HIGHATOMIC pageblock. Stealing it must not
    # retype the pageblock ("prevent broken highatomic accounting"): single block only.
    assert blocks(zone) == {(0, 3): MOV}
    steal_suitable_fallback(zone, 0, 0, U, True)
    assert zone.get_pageblock_migratetype(0) == H
    assert free_list_mt(zone, 0) == U


def test_alloc_nofragment_does_not_steal_below_pageblock_order() -> None:
    zone = mk(1024)
    fill_except(zone, range(8, 12))
    assert not rmqueue_fallback(zone, 0, U, ALLOC_NOFRAGMENT)
    assert rmqueue_fallback(zone, 0, U, 0)


def test_find_suitable_fallback_order_of_preference() -> None:
    zone = mk(2048, types=((PfnRange(0, 1024), R),))
    assert find_suitable_fallback(zone, 10, U, False) == (R, True)
    assert find_suitable_fallback(zone, 10, MOV, False) == (R, True)
    assert find_suitable_fallback(zone, 3, U, False) == (-1, False)  # nr_free[3] == 0
    assert find_suitable_fallback(zone, 10, C, False) == (-1, False)  # no fallbacks


# -- move_freepages_block --------------------------------------------------------------


def test_move_freepages_block_cannot_see_a_block_whose_head_is_before_it() -> None:
    zone = mk(2048, pb=3)
    assert move_freepages_block(zone, 8, U) == (0, 0)
    assert blocks(zone)[(0, 10)] == MOV
    # from the head's pageblock it moves the whole block, counting past the end
    assert move_freepages_block(zone, 0, U) == (1024, 0)
    assert blocks(zone)[(0, 10)] == U


def test_move_freepages_counts_movable_pages() -> None:
    zone = mk(1024, pb=3)
    alloc_at(zone, 0, 0, movable=True)
    alloc_at(zone, 1, 0, movable=False)
    alloc_at(zone, 2, 1, movable=True)  # only the head is PageLRU
    assert move_freepages(zone, 0, 7, U) == (4, 2)
    assert blocks(zone)[(4, 2)] == U


def test_move_freepages_block_clips_at_the_zone_start_and_refuses_the_end() -> None:
    zone = mk(1016, start=4, pb=3)  # [4, 1020)
    # pageblock [0, 7] starts before the zone: the range starts at the page passed in
    assert move_freepages_block(zone, 5, U) == (0, 0)  # [5, 7]: head 4 is invisible
    assert blocks(zone)[(4, 2)] == MOV
    assert move_freepages_block(zone, 4, U) == (4, 0)  # [4, 7]
    assert blocks(zone)[(4, 2)] == U
    assert move_freepages_block(zone, 1016, U) == (0, 0)  # pageblock end 1023 not spanned
    assert blocks(zone)[(1016, 2)] == MOV


def test_move_freepages_block_changes_no_counter() -> None:
    zone = mk(1024, cma=(PfnRange(0, 1024),))
    before = (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES, list(zone.nr_free))
    move_freepages_block(zone, 0, ISO)
    assert (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES, list(zone.nr_free)) == before
    assert buddy_order(zone, 0) == 10


def test_find_large_buddy_finds_the_free_block_straddling_a_pageblock_from_before() -> None:
    """6.10's find_large_buddy() (fd919a85cd55): for the pageblock at 512 inside the free
    order-10 block [0, 1024) it returns that block's head 0, rounding down one order at a
    time; a pageblock that starts a free block is its own head; a pageblock inside an
    allocated block has no large buddy (the pfn itself)."""
    from zonesim.model.isolate import find_large_buddy

    zone = mk(2048)
    assert find_large_buddy(zone, 512) == 0
    assert find_large_buddy(zone, 1536) == 1024
    assert find_large_buddy(zone, 1024) == 1024
    hollow(zone, 0, 10)
    assert find_large_buddy(zone, 512) == 512
    far = mk(2048, start=0x40000)  # a zone of a second node: memmap indexes from its start
    assert find_large_buddy(far, 0x40000 + 512) == 0x40000
