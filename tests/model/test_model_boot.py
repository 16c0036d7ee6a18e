"""Boot: memblock_free_all() frees maximal aligned blocks, holes and reserved pages are
skipped, CMA areas are freed as CMA (kernel-reference §1.1, §2.2, §2.9)."""

from __future__ import annotations

import pytest

from zonesim.check.registry import check_zone
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import NIL, PG_buddy, PG_nomap, PG_reserved
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

M = MigrateType


def free_blocks(zone: Zone) -> dict[tuple[int, int], MigrateType]:
    """{(pfn, order): list type} of every free block."""
    out: dict[tuple[int, int], MigrateType] = {}
    for order in range(zone.max_order):
        for mt in MigrateType:
            for pfn in zone.free_list_pfns(order, mt):
                out[(pfn, order)] = mt
    return out


def test_4096_pages_at_pfn_0_are_four_order_10_movable_blocks() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 4096)))
    assert free_blocks(zone) == {(p, 10): M.MOVABLE for p in (0, 1024, 2048, 3072)}
    assert zone.nr_free == [0] * 10 + [4]
    assert zone.NR_FREE_PAGES == 4096
    assert zone.NR_FREE_CMA_PAGES == 0
    assert zone.managed_pages == zone.present_pages == 4096
    assert zone.nr_isolate_pageblock == 0
    # boot frees with FPI_TO_TAIL: list order is pfn order
    assert zone.free_list_pfns(10, M.MOVABLE) == [0, 1024, 2048, 3072]
    assert all(zone.get_pageblock_migratetype(p) == M.MOVABLE for p in range(0, 4096, 512))
    assert check_zone(zone) == []


def test_unaligned_start_pfn_gives_the_maximal_aligned_blocks() -> None:
    # [100, 4100): __ffs(100) = 2 -> order 2, then 104 (order 3), 112 (4), 128 (7),
    # 256 (8), 512 (9), 1024/2048/3072 (10) and the 4-page tail at 4096.
    zone = build_zone(ZoneLayout(Geometry(100, 4000)))
    expected = {
        (100, 2), (104, 3), (112, 4), (128, 7), (256, 8), (512, 9),
        (1024, 10), (2048, 10), (3072, 10), (4096, 2),
    }
    assert set(free_blocks(zone)) == expected
    assert set(free_blocks(zone).values()) == {M.MOVABLE}
    assert sum(1 << o for _, o in expected) == 4000 == zone.NR_FREE_PAGES
    assert check_zone(zone) == []


def test_holes_are_skipped_and_have_no_memmap() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 1024), holes=(PfnRange(0, 1),)))
    assert set(free_blocks(zone)) == {(1 << k, k) for k in range(10)}
    assert zone.NR_FREE_PAGES == 1023
    assert zone.present_pages == zone.managed_pages == 1023
    assert zone.memmap.flags[0] & PG_nomap
    assert not zone.has_memmap(0)
    assert check_zone(zone) == []


def test_reserved_pages_of_a_zone_away_from_pfn_0() -> None:
    """memblock-reserved pages of a second node's zone (start_pfn 0x40000): PageReserved
    with page_count 1 (reserve_bootmem_region), never freed, at their own pfns."""
    start = 0x40000
    zone = build_zone(ZoneLayout(Geometry(start, 1024),
                                 reserved=(PfnRange(start + 512, start + 520),)))
    m = zone.memmap
    for pfn in range(start, start + 1024):
        i = zone.idx(pfn)
        reserved = start + 512 <= pfn < start + 520
        assert bool(m.flags[i] & PG_reserved) == reserved
        assert (m.refcount[i] == 1) == reserved  # the free pages have page_count 0
    assert zone.managed_pages == 1016 == zone.NR_FREE_PAGES
    assert check_zone(zone) == []


def test_reserved_pages_are_not_freed() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 1024), reserved=(PfnRange(512, 520),)))
    blocks = free_blocks(zone)
    assert (0, 9) in blocks
    assert (520, 3) in blocks and (768, 8) in blocks
    assert all(not (p <= 512 < p + (1 << o) or 512 <= p < 520) for p, o in blocks)
    m = zone.memmap
    for pfn in range(512, 520):
        assert m.flags[pfn] & PG_reserved
        assert not m.flags[pfn] & PG_buddy
        assert m.refcount[pfn] == 1
        assert m.list_id[pfn] == NIL
    assert zone.present_pages == 1024
    assert zone.managed_pages == 1016 == zone.NR_FREE_PAGES
    assert check_zone(zone) == []


def test_cma_area_is_on_the_cma_lists_and_counted() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 4096), cma=(PfnRange(1024, 2048),)))
    blocks = free_blocks(zone)
    assert blocks[(1024, 10)] == M.CMA
    assert {k for k, v in blocks.items() if v == M.MOVABLE} == {(0, 10), (2048, 10), (3072, 10)}
    assert zone.NR_FREE_CMA_PAGES == 1024
    assert zone.cma_pages == 1024
    assert zone.NR_FREE_PAGES == 4096
    assert zone.cma_ranges == [(1024, 2048)]
    assert [zone.get_pageblock_migratetype(p) for p in range(0, 4096, 512)] == [
        M.MOVABLE, M.MOVABLE, M.CMA, M.CMA, M.MOVABLE, M.MOVABLE, M.MOVABLE, M.MOVABLE
    ]
    assert check_zone(zone) == []


def test_cma_area_with_a_reserved_page_counts_only_freed_pages() -> None:
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048), cma=(PfnRange(0, 1024),), reserved=(PfnRange(0, 1),)
    ))
    assert zone.cma_pages == 1023 == zone.NR_FREE_CMA_PAGES
    assert zone.NR_FREE_PAGES == 2047
    assert check_zone(zone) == []


def test_single_type_pageblock_range_is_freed_on_its_own_list() -> None:
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048), pageblock_types=((PfnRange(0, 1024), M.UNMOVABLE),)
    ))
    assert free_blocks(zone) == {(0, 10): M.UNMOVABLE, (1024, 10): M.MOVABLE}
    assert zone.NR_FREE_PAGES == 2048
    assert check_zone(zone) == []


def test_mixed_pageblocks_in_one_max_order_block_merge_under_v515_rules() -> None:
    # Freed in pageblock-sized chunks; v5.15 merges UNMOVABLE+MOVABLE at pageblock_order
    # (only ISOLATE is kept apart) and queues the result on the last caller's list.
    zone = build_zone(ZoneLayout(
        Geometry(0, 1024), pageblock_types=((PfnRange(0, 512), M.UNMOVABLE),)
    ))
    assert free_blocks(zone) == {(0, 10): M.MOVABLE}
    assert zone.get_pageblock_migratetype(0) == M.UNMOVABLE
    assert zone.get_pageblock_migratetype(512) == M.MOVABLE


def test_mixed_pageblocks_stay_apart_with_the_518_merge_check() -> None:
    zone = build_zone(ZoneLayout(
        Geometry(0, 1024), pageblock_types=((PfnRange(0, 512), M.HIGHATOMIC),),
        flags=ModelFlags(mergeable_merge_check=True),
    ))
    assert free_blocks(zone) == {(0, 9): M.HIGHATOMIC, (512, 9): M.MOVABLE}
    assert check_zone(zone) == []


def test_default_pcp_sizing_and_watermarks_for_a_small_zone() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 4096, cpus=2)))
    # min_free_kbytes = sqrt(16384 * 16) = 512 kB -> 128 pages; tmp = max(32, 4) = 32
    assert (zone.watermarks.min, zone.watermarks.low, zone.watermarks.high) == (128, 160, 192)
    # batch = rounddown_pow_of_two(1 + 0) - 1 = 0 -> max(1, 0); high = max(160 / 2, 4)
    assert [(p.high, p.batch, p.count) for p in zone.pcp] == [(80, 1, 0), (80, 1, 0)]


def test_layout_overrides_pcp_sizing() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 1024, cpus=3), pcp_high=12, pcp_batch=3))
    assert [(p.high, p.batch) for p in zone.pcp] == [(12, 3)] * 3
    assert (zone.pageset_high, zone.pageset_batch) == (12, 3)


@pytest.mark.parametrize(("start", "end"), [(1, 513), (512, 1024), (700, 1100), (1024, 2048)])
def test_boot_counts_the_isolated_and_highatomic_pageblocks_it_sets(start: int, end: int) -> None:
    """A layout range of ISOLATE (memory isolated before it is freed, as onlining does) or
    HIGHATOMIC (a reserve) pageblocks retypes every pageblock the range touches, and the
    zone's counters agree with the pageblocks: nr_isolate_pageblock is the number of
    ISOLATE pageblocks, nr_reserved_highatomic the pages of HIGHATOMIC ones -- for a range
    that starts and ends inside a pageblock too."""
    pb = 512
    for mt in (M.ISOLATE, M.HIGHATOMIC):
        zone = build_zone(ZoneLayout(Geometry(0, 2048),
                                     pageblock_types=((PfnRange(start, end), mt),)))
        typed = [p for p in range(0, 2048, pb) if zone.get_pageblock_migratetype(p) == mt]
        assert typed == list(range(start & ~(pb - 1), end, pb))
        if mt == M.ISOLATE:
            assert zone.nr_isolate_pageblock == len(typed)
        else:
            assert zone.nr_reserved_highatomic == len(typed) * pb
