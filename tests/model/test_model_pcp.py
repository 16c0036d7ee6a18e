"""Per-CPU lists: free_unref_page_commit, free_pcppages_bulk, rmqueue_bulk,
__rmqueue_pcplist, drain_pages_zone, nr_pcp_free (kernel-reference §1.1, §2.3, §2.4, §2.6)."""

from __future__ import annotations

import pytest

from zonesim.check.registry import check_zone
from zonesim.model.alloc import find_free_block, free_pages_prepare, prep_new_page, rmqueue_buddy
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import ALLOC_CMA, free_list_mt
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.pcp import __rmqueue_pcplist as rmqueue_pcplist
from zonesim.model.pcp import (
    drain_pages_zone,
    free_pcppages_bulk,
    free_unref_page_commit,
    nr_pcp_free,
    rmqueue_bulk,
)
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import PerCpuPages, Zone

rmqueue_buddy = sequential(rmqueue_buddy)
rmqueue_pcplist = sequential(rmqueue_pcplist)
drain_pages_zone = sequential(drain_pages_zone)
free_pcppages_bulk = sequential(free_pcppages_bulk)
free_unref_page_commit = sequential(free_unref_page_commit)
rmqueue_bulk = sequential(rmqueue_bulk)

M = MigrateType
U, MOV, C, ISO = M.UNMOVABLE, M.MOVABLE, M.CMA, M.ISOLATE


def mk(pages: int = 4096, *, high: int = 8, batch: int = 2, pb: int = 9,
       cma: tuple[PfnRange, ...] = (), flags: ModelFlags | None = None) -> Zone:
    return build_zone(ZoneLayout(
        Geometry(0, pages, pageblock_order=pb, cpus=2), cma=cma, pcp_high=high,
        pcp_batch=batch, flags=flags or ModelFlags(),
    ))


def alloc(zone: Zone, order: int = 0, mt: MigrateType = MOV) -> int:
    pfn = rmqueue_buddy(zone, order, mt, 0)
    assert pfn is not None
    prep_new_page(zone, pfn, order, mt, compound=False, movable=False, cpu=0)
    return pfn


def free_to_pcp(zone: Zone, cpu: int, pfn: int, order: int = 0) -> list[int]:
    """free_unref_page(): prepare, cache the pageblock type, commit to the pcp list."""
    a = zone.allocations[zone.memmap.owner[pfn]]
    free_pages_prepare(zone, a)
    mt = int(zone.get_pageblock_migratetype(pfn))
    zone.memmap.cached_mt[pfn - zone.start_pfn] = mt
    assert mt != ISO
    pcp_mt = mt if mt < MIGRATE_PCPTYPES else int(MOV)
    return free_unref_page_commit(zone, cpu, pfn, pcp_mt, order)


def pcp_pfns(zone: Zone, cpu: int, mt: int, order: int) -> list[int]:
    lid = zone.pcp_list_id(cpu, mt, order)
    return [i + zone.start_pfn for i in zone.memmap.list_iter(lid)]


def list_of(zone: Zone, pfn: int) -> MigrateType:
    found = find_free_block(zone, pfn)
    assert found is not None
    return MigrateType(free_list_mt(zone, found[0]))


# -- nr_pcp_free ------------------------------------------------------------------------


def test_nr_pcp_free_returns_one_when_high_is_below_batch() -> None:
    pcp = PerCpuPages(0, 0, high=0, batch=1)
    assert nr_pcp_free(pcp, 0, 1) == 1
    assert pcp.free_factor == 0


def test_nr_pcp_free_doubles_with_free_factor_and_clamps() -> None:
    pcp = PerCpuPages(0, 0, high=64, batch=4)
    # max = high - batch = 60: 4, 8, 16, 32 grow the factor; 64 is clamped to 60
    assert [nr_pcp_free(pcp, 64, 4) for _ in range(6)] == [4, 8, 16, 32, 60, 60]
    assert pcp.free_factor == 4


def test_nr_pcp_free_uses_kernel_clamp_when_high_is_below_twice_batch() -> None:
    pcp = PerCpuPages(0, 0, high=5, batch=3)
    # min_nr_free = 3, max_nr_free = 2: clamp(3, 3, 2) = min(max(3, 3), 2) = 2
    assert nr_pcp_free(pcp, 5, 3) == 2



def test_nr_pcp_free_frees_nothing_when_high_equals_batch() -> None:
    """Only high < batch (a disabled or boot pageset) frees one page; at high == batch
    the kernel's clamp(batch, batch, high - batch) = 0: the list keeps its batch pages."""
    pcp = PerCpuPages(0, 0, high=4, batch=4)
    assert nr_pcp_free(pcp, 4, 4) == 0
    assert nr_pcp_free(pcp, 3, 4) == 1

# -- free_unref_page_commit -------------------------------------------------------------


def test_commit_adds_at_the_head_and_counts_base_pages() -> None:
    zone = mk(high=100, batch=2)
    a, b = alloc(zone), alloc(zone)
    nr = zone.NR_FREE_PAGES
    assert free_to_pcp(zone, 0, a) == []
    assert free_to_pcp(zone, 0, b) == []
    assert pcp_pfns(zone, 0, MOV, 0) == [b, a]
    assert zone.pcp[0].count == 2
    assert nr == zone.NR_FREE_PAGES  # free to pcp adds nothing to NR_FREE_PAGES
    big = alloc(zone, 3)
    free_to_pcp(zone, 0, big, 3)
    assert zone.pcp[0].count == 10
    assert pcp_pfns(zone, 0, MOV, 3) == [big]
    assert check_zone(zone) == []


def test_commit_spills_with_free_pcppages_bulk_when_count_reaches_high() -> None:
    zone = mk(high=8, batch=2)
    pfns = [alloc(zone) for _ in range(12)]
    for pfn in pfns[:7]:
        assert free_to_pcp(zone, 0, pfn) == []
    nr = zone.NR_FREE_PAGES
    # count 8 >= high 8: nr_pcp_free = 2 (factor 0 -> 1); the two oldest (tail) go
    assert free_to_pcp(zone, 0, pfns[7]) == pfns[:2]
    assert zone.pcp[0].count == 6
    assert zone.pcp[0].free_factor == 1
    assert nr + 2 == zone.NR_FREE_PAGES
    assert free_to_pcp(zone, 0, pfns[8]) == []
    # count 8 again: batch << 1 = 4 < 6 -> free 4, factor 2
    assert free_to_pcp(zone, 0, pfns[9]) == pfns[2:6]
    assert zone.pcp[0].count == 4
    assert zone.pcp[0].free_factor == 2
    assert check_zone(zone) == []


def test_cma_page_rides_on_the_movable_pcp_list_with_its_true_type() -> None:
    zone = mk(2048, high=100, cma=(PfnRange(0, 1024),))
    pfn = rmqueue_buddy(zone, 0, MOV, ALLOC_CMA)
    # 1024 CMA > 2048 / 2 is false: the first page comes from MOVABLE; then CMA is
    # more than half of what is free and the balancing rule picks CMA
    assert pfn == 1024
    prep_new_page(zone, pfn, 0, MOV, compound=False, movable=True, cpu=0)
    cma_pfn = rmqueue_buddy(zone, 0, MOV, ALLOC_CMA)
    assert cma_pfn is not None and cma_pfn < 1024
    assert zone.NR_FREE_CMA_PAGES == 1023
    prep_new_page(zone, cma_pfn, 0, MOV, compound=False, movable=True, cpu=0)
    free_to_pcp(zone, 1, cma_pfn)
    assert pcp_pfns(zone, 1, MOV, 0) == [cma_pfn]
    assert zone.memmap.cached_mt[cma_pfn] == C
    drain_pages_zone(zone, 1)
    assert list_of(zone, cma_pfn) == C
    assert zone.NR_FREE_CMA_PAGES == 1024
    assert check_zone(zone) == []


# -- free_pcppages_bulk -----------------------------------------------------------------


def _page_on_pcp_with_cached_type(flags: ModelFlags, cached: MigrateType) -> tuple[Zone, int]:
    zone = mk(high=100, flags=flags)
    pfn = alloc(zone)
    free_to_pcp(zone, 0, pfn)
    zone.memmap.cached_mt[pfn] = cached  # as free_unref_page_prepare read it earlier
    return zone, pfn


def test_bulk_free_uses_the_cached_type_without_isolation() -> None:
    zone, pfn = _page_on_pcp_with_cached_type(ModelFlags(), U)
    assert free_pcppages_bulk(zone, 1, 0) == [pfn]
    assert list_of(zone, pfn) == U
    assert zone.get_pageblock_migratetype(pfn) == MOV


def test_bulk_free_rereads_the_pageblock_when_some_pageblock_is_isolated() -> None:
    zone, pfn = _page_on_pcp_with_cached_type(ModelFlags(), U)
    zone.set_pageblock_migratetype(3584, ISO)  # another pageblock
    zone.nr_isolate_pageblock = 1
    free_pcppages_bulk(zone, 1, 0)
    assert list_of(zone, pfn) == MOV


def test_bulk_free_keeps_the_cached_type_without_the_51bb1a4093cc_reread() -> None:
    zone, pfn = _page_on_pcp_with_cached_type(ModelFlags(bulk_free_reread_mt=False), U)
    zone.set_pageblock_migratetype(3584, ISO)
    zone.nr_isolate_pageblock = 1
    free_pcppages_bulk(zone, 1, 0)
    assert list_of(zone, pfn) == U


def test_bulk_free_of_a_page_whose_pageblock_was_isolated_goes_to_isolate() -> None:
    zone, pfn = _page_on_pcp_with_cached_type(ModelFlags(), MOV)
    nr = zone.NR_FREE_PAGES
    zone.set_pageblock_migratetype(pfn, ISO)
    zone.nr_isolate_pageblock = 1
    free_pcppages_bulk(zone, 1, 0)
    assert list_of(zone, pfn) == ISO
    assert nr == zone.NR_FREE_PAGES  # not counted


def test_bulk_free_count_is_capped_by_pcp_count_and_round_robins() -> None:
    zone = mk(high=100)
    movs = [alloc(zone) for _ in range(3)]
    unms = [alloc(zone, 0, U) for _ in range(3)]
    for pfn in movs + unms:
        free_to_pcp(zone, 0, pfn)
    assert zone.pcp[0].count == 6
    # ++pindex starts at 1 (MOVABLE order 0): batch_free 1 -> one page (the tail, the
    # oldest). Then 13 empty lists are skipped until pindex wraps to 0 (UNMOVABLE):
    # batch_free grew to 14, so the whole UNMOVABLE list goes; then MOVABLE again with
    # the leftover batch_free takes the rest.
    freed = free_pcppages_bulk(zone, 100, 0)
    assert freed == [movs[0], unms[0], unms[1], unms[2], movs[1], movs[2]]
    assert zone.pcp[0].count == 0
    assert check_zone(zone) == []


# -- rmqueue_bulk / __rmqueue_pcplist -------------------------------------------------------


def test_rmqueue_bulk_subtracts_free_pages_and_cma_pages_per_cma_page() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    # take the whole MOVABLE block so that CMA serves the refill
    a = rmqueue_buddy(zone, 10, MOV, 0)
    assert a == 1024
    n = rmqueue_bulk(zone, 0, 5, 0, MOV, ALLOC_CMA)
    assert n == 5
    assert zone.NR_FREE_PAGES == 1024 - 5
    assert zone.NR_FREE_CMA_PAGES == 1024 - 5
    pfns = pcp_pfns(zone, 0, MOV, 0)
    assert pfns == [0, 1, 2, 3, 4]  # list_add_tail keeps buddy order
    assert all(zone.memmap.cached_mt[p] == C for p in pfns)


def test_rmqueue_bulk_without_cma_counts_only_free_pages() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    assert rmqueue_bulk(zone, 1, 3, 1, U, 0) == 3
    assert zone.NR_FREE_PAGES == 2048 - 6
    assert zone.NR_FREE_CMA_PAGES == 1024
    assert pcp_pfns(zone, 1, U, 1) == [1024, 1026, 1028]


def test_rmqueue_bulk_stops_when_the_buddy_is_empty() -> None:
    zone = mk(1024, cma=(PfnRange(0, 1024),))
    assert rmqueue_bulk(zone, 10, 4, 0, U, 0) == 0
    assert rmqueue_bulk(zone, 9, 4, 0, MOV, ALLOC_CMA) == 2
    assert zone.NR_FREE_PAGES == 0 == zone.NR_FREE_CMA_PAGES


@pytest.mark.parametrize(("batch", "order", "taken"), [
    (63, 0, 63), (63, 1, 31), (63, 3, 7), (63, 9, 2), (7, 3, 2), (2, 2, 2), (1, 0, 1), (1, 3, 1),
])
def test_pcplist_refill_scales_batch_by_order(batch: int, order: int, taken: int) -> None:
    # batch = max(batch >> order, 2) when batch > 1, else 1
    zone = mk(8192, high=10**6, batch=batch)
    pfn = rmqueue_pcplist(zone, 0, order, int(MOV), 0)
    assert pfn == 0
    assert zone.pcp[0].count == (taken - 1) << order
    assert 8192 - (taken << order) == zone.NR_FREE_PAGES
    assert len(pcp_pfns(zone, 0, MOV, order)) == taken - 1


def test_pcplist_takes_the_first_page_and_decays_free_factor() -> None:
    zone = mk(high=100, batch=4)
    pfns = [alloc(zone) for _ in range(2)]
    for pfn in pfns:
        free_to_pcp(zone, 0, pfn)
    zone.pcp[0].free_factor = 3
    assert rmqueue_pcplist(zone, 0, 0, int(MOV), 0) == pfns[1]  # LIFO: hot page
    assert zone.pcp[0].free_factor == 1
    assert zone.pcp[0].count == 1


def test_pcplist_returns_none_when_nothing_can_be_refilled() -> None:
    zone = mk(1024, cma=(PfnRange(0, 1024),))
    assert rmqueue_pcplist(zone, 0, 0, int(MOV), 0) is None
    assert zone.pcp[0].count == 0


# -- drain_pages_zone ---------------------------------------------------------------------


def test_drain_gives_everything_back_and_restores_the_fresh_zone() -> None:
    zone = mk(high=1000, batch=31)
    pfn = rmqueue_pcplist(zone, 0, 0, int(MOV), 0)
    assert pfn is not None
    prep_new_page(zone, pfn, 0, MOV, compound=False, movable=True, cpu=0)
    assert zone.pcp[0].count == 30
    assert len(drain_pages_zone(zone, 0)) == 30
    assert drain_pages_zone(zone, 0) == []
    assert zone.pcp[0].count == 0
    free_to_pcp(zone, 0, pfn)
    drain_pages_zone(zone, 0)
    assert zone.nr_free == [0] * 10 + [4]
    assert zone.NR_FREE_PAGES == 4096
    assert check_zone(zone) == []


def test_drain_of_another_cpu_leaves_this_cpu_alone() -> None:
    zone = mk(high=1000, batch=3)
    assert rmqueue_pcplist(zone, 0, 0, int(U), 0) is not None
    assert rmqueue_pcplist(zone, 1, 0, int(U), 0) is not None
    drain_pages_zone(zone, 1)
    assert (zone.pcp[0].count, zone.pcp[1].count) == (2, 0)
