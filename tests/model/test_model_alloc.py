"""prep_new_page / free_pages_prepare / rmqueue_buddy / take_free_block_at /
zone_watermark_ok (kernel-reference §2.4, §2.5, §1.1 watermarks)."""

from __future__ import annotations

import pytest

from zonesim.check.registry import check_zone
from zonesim.model.alloc import (
    find_free_block,
    free_pages_prepare,
    make_contig_allocation,
    prep_new_page,
    rmqueue_buddy,
    take_free_block_at,
    zone_watermark_ok,
)
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import ALLOC_CMA, ALLOC_HARDER, FPI_NONE, move_freepages_block
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.errors import KernelBug
from zonesim.model.geometry import Geometry
from zonesim.model.isolate import __isolate_free_page as isolate_free_page
from zonesim.model.memmap import NIL, PG_head, PG_lru, PG_tail
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

rmqueue_buddy = sequential(rmqueue_buddy)
free_one_page_locked = sequential(free_one_page_locked)
isolate_free_page = sequential(isolate_free_page)

M = MigrateType
U, MOV, H, C, ISO = M.UNMOVABLE, M.MOVABLE, M.HIGHATOMIC, M.CMA, M.ISOLATE


def mk(pages: int = 1024, *, cma: tuple[PfnRange, ...] = (), pb: int = 9) -> Zone:
    return build_zone(ZoneLayout(Geometry(0, pages, pageblock_order=pb), cma=cma))


def blocks(zone: Zone) -> dict[tuple[int, int], MigrateType]:
    out: dict[tuple[int, int], MigrateType] = {}
    for order in range(zone.max_order):
        for mt in MigrateType:
            for pfn in zone.free_list_pfns(order, mt):
                out[(pfn, order)] = mt
    return out


# -- prep_new_page / free_pages_prepare ------------------------------------------------


def test_prep_new_page_compound_sets_head_tails_refcount_and_owner() -> None:
    zone = mk()
    take_free_block_at(zone, 8, 3)
    a = prep_new_page(zone, 8, 3, MOV, compound=True, movable=True, cpu=1)
    m = zone.memmap
    assert m.flags[8] & PG_head and not m.flags[8] & PG_tail
    assert m.flags[8] & PG_lru
    assert m.order[8] == 3
    assert m.refcount[8] == 1
    for i in range(9, 16):
        assert m.flags[i] & PG_tail and not m.flags[i] & PG_head
        assert m.refcount[i] == 0
    assert [m.owner[i] for i in range(8, 16)] == [a.id] * 8
    assert m.owner[7] == NIL and m.owner[16] == NIL
    assert zone.allocations[a.id] is a
    assert zone.by_token[a.token] == a.id
    assert (a.pfn, a.order, a.cpu, a.compound, a.movable, a.cma) == (8, 3, 1, True, True, False)
    assert check_zone(zone) == []


def test_prep_new_page_non_compound_has_no_head_or_tail_flags() -> None:
    zone = mk()
    take_free_block_at(zone, 0, 2)
    a = prep_new_page(zone, 0, 2, U, compound=False, movable=False, cpu=0)
    m = zone.memmap
    assert all(not m.flags[i] & (PG_head | PG_tail | PG_lru) for i in range(4))
    assert m.refcount[0] == 1
    assert {m.owner[i] for i in range(4)} == {a.id}


def test_prep_new_page_marks_cma_allocations() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    take_free_block_at(zone, 0, 0)
    assert prep_new_page(zone, 0, 0, MOV, compound=False, movable=True, cpu=0).cma


def test_prep_new_page_refuses_a_page_that_is_still_free() -> None:
    zone = mk()
    with pytest.raises(KernelBug):
        prep_new_page(zone, 0, 0, MOV, compound=False, movable=False, cpu=0)


def test_prep_new_page_refuses_a_page_already_owned() -> None:
    zone = mk()
    take_free_block_at(zone, 0, 1)
    prep_new_page(zone, 0, 1, MOV, compound=False, movable=False, cpu=0)
    with pytest.raises(KernelBug):
        prep_new_page(zone, 1, 0, MOV, compound=False, movable=False, cpu=0)


def test_free_pages_prepare_drops_every_reference_of_a_contig_range() -> None:
    """alloc_contig_range() hands out [start, end) as order-0 pages with a reference each
    (split_free_pages + post_alloc_hook); free_contig_range() puts every one of them back,
    so the pages the buddy gets again all have page_ref_count() == 0, not just the first
    (a free page with a reference is what free_pages_prepare's bad_page check flags)."""
    zone = mk()
    take_free_block_at(zone, 0, 9)
    a = make_contig_allocation(zone, 0, 512, MOV, cpu=0)
    m = zone.memmap
    assert list(m.refcount[0:512]) == [1] * 512
    free_pages_prepare(zone, a)
    assert list(m.refcount[0:512]) == [0] * 512


def test_free_pages_prepare_clears_everything_prep_set() -> None:
    zone = mk()
    take_free_block_at(zone, 8, 3)
    a = prep_new_page(zone, 8, 3, MOV, compound=True, movable=True, cpu=1)
    free_pages_prepare(zone, a)
    m = zone.memmap
    for i in range(8, 16):
        assert m.owner[i] == NIL
        assert not m.flags[i] & (PG_head | PG_tail | PG_lru)
        assert m.refcount[i] == 0
    assert m.order[8] == 0
    assert a.id not in zone.allocations
    assert a.token not in zone.by_token
    free_one_page_locked(zone, 8, 3, MOV, FPI_NONE)
    assert blocks(zone) == {(0, 10): MOV}
    assert check_zone(zone) == []


def test_free_pages_prepare_refuses_a_page_owned_by_someone_else() -> None:
    zone = mk()
    take_free_block_at(zone, 0, 1)
    a = prep_new_page(zone, 0, 1, MOV, compound=False, movable=False, cpu=0)
    zone.memmap.owner[1] = 999
    with pytest.raises(KernelBug):
        free_pages_prepare(zone, a)


# -- take_free_block_at (break_down_buddy_pages) -----------------------------------------


def test_take_free_block_at_splits_like_break_down_buddy_pages() -> None:
    zone = mk()
    assert take_free_block_at(zone, 5, 0) == MOV
    # the halves not holding pfn 5, at every level: 512/9 256/8 ... 8/3, 0/2, 6/1, 4/0
    expected = {(1 << k, k) for k in range(3, 10)} | {(0, 2), (6, 1), (4, 0)}
    assert set(blocks(zone)) == expected
    assert zone.NR_FREE_PAGES == 1023
    assert find_free_block(zone, 5) is None
    assert zone.memmap.cached_mt[5] == MOV


def test_take_free_block_at_keeps_the_list_type_and_its_accounting() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    assert take_free_block_at(zone, 512, 9) == C
    assert blocks(zone)[(0, 9)] == C
    assert zone.NR_FREE_CMA_PAGES == 512
    assert zone.NR_FREE_PAGES == 1536


def test_take_free_block_at_from_an_isolate_list_does_not_touch_counters() -> None:
    zone = mk()
    zone.set_pageblock_migratetype(0, ISO)
    zone.nr_isolate_pageblock = 1
    moved, _ = move_freepages_block(zone, 0, ISO)
    zone.NR_FREE_PAGES -= moved
    assert take_free_block_at(zone, 0, 0) == ISO
    assert zone.NR_FREE_PAGES == 0


def test_take_free_block_at_refuses_busy_or_straddling_ranges() -> None:
    zone = mk()
    take_free_block_at(zone, 0, 0)
    with pytest.raises(ValueError):
        take_free_block_at(zone, 0, 0)
    with pytest.raises(ValueError):
        take_free_block_at(zone, 0, 2)  # pfn 0 is busy
    with pytest.raises(ValueError):
        take_free_block_at(zone, 2, 2)  # 2..5 spans the order-1 block at 2 and order-2 at 4


# -- rmqueue_buddy -----------------------------------------------------------------------


def test_rmqueue_buddy_accounts_by_the_list_type() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    assert rmqueue_buddy(zone, 10, MOV, 0) == 1024
    assert (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES) == (1024, 1024)
    assert rmqueue_buddy(zone, 2, MOV, 0) is None  # no ALLOC_CMA: CMA is out of reach
    assert rmqueue_buddy(zone, 2, MOV, ALLOC_CMA) == 0
    assert (zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES) == (1020, 1020)


def test_rmqueue_buddy_tries_highatomic_first_for_alloc_harder() -> None:
    zone = mk(2048)
    take_free_block_at(zone, 0, 9)
    zone.set_pageblock_migratetype(0, H)
    free_one_page_locked(zone, 0, 9, H, FPI_NONE)  # buddy 512 is free MOVABLE: merges
    assert blocks(zone)[(0, 10)] == H
    assert rmqueue_buddy(zone, 1, MOV, ALLOC_HARDER) == 0
    assert blocks(zone)[(2, 1)] == H
    # order-0 requests never look at HIGHATOMIC in rmqueue()
    assert rmqueue_buddy(zone, 0, MOV, ALLOC_HARDER) == 1024
    assert check_zone(zone, "step") == []


# -- zone_watermark_ok ---------------------------------------------------------------------


def test_watermark_check_excludes_cma_without_alloc_cma() -> None:
    zone = mk(2048, cma=(PfnRange(0, 1024),))
    mark = 1500
    assert zone_watermark_ok(zone, 0, mark, ALLOC_CMA)
    assert not zone_watermark_ok(zone, 0, mark, 0)  # 2048 - 1024 <= 1500
    assert zone_watermark_ok(zone, 0, 1000, 0)


def test_watermark_check_needs_a_block_of_the_order() -> None:
    zone = mk(1024)
    take_free_block_at(zone, 0, 10)
    assert not zone_watermark_ok(zone, 0, 0, 0)
    free_one_page_locked(zone, 0, 3, MOV, FPI_NONE)
    assert zone_watermark_ok(zone, 3, 0, 0)
    assert not zone_watermark_ok(zone, 4, 0, 0)
    # free_pages -= 2^order - 1: 8 - 7 = 1 > mark 0
    assert not zone_watermark_ok(zone, 3, 1, 0)


def test_alloc_harder_may_dip_a_quarter_below_the_mark() -> None:
    zone = mk(1024)
    # 1024 free pages; mark 1200 -> min = 1200 - 300 = 900 < 1024 for ALLOC_HARDER
    assert not zone_watermark_ok(zone, 0, 1200, 0)
    assert zone_watermark_ok(zone, 0, 1200, ALLOC_HARDER)


def test_isolate_free_page_obeys_the_min_watermark_as_an_allocation_would() -> None:
    """__isolate_free_page() (compaction's free scanner, page reporting): a free block of a
    normal pageblock is taken only if zone_watermark_ok(min + its size) holds, as if it
    were allocated; otherwise 0 and the block stays on its list."""
    from zonesim.model.isolate import __isolate_free_page as isolate_free_page_async

    isolate_free_page = sequential(isolate_free_page_async)
    zone = build_zone(ZoneLayout(Geometry(0, 4096)))
    assert isolate_free_page(zone, 0, 10) == 1024
    assert zone.NR_FREE_PAGES == 3072
    assert zone.free_list_pfns(10, MigrateType.MOVABLE) == [1024, 2048, 3072]
    take_free_block_at(zone, 1024, 10)
    take_free_block_at(zone, 2048, 10)
    assert zone.NR_FREE_PAGES == 1024 < zone.watermarks.min + 1024
    assert isolate_free_page(zone, 3072, 10) == 0
    assert zone.free_list_pfns(10, MigrateType.MOVABLE) == [3072]
    assert zone.NR_FREE_PAGES == 1024
