"""split_free_page()'s piece sizes: b2c9e2fbba32 as merged (``ffs(split_pfn_offset) - 1``)
against 88ee134320b8 (``min(__ffs(pfn), __fls(split_pfn_offset))``), research R7 §Q5.

88ee134320b8's own example, scaled: a free order-13 block at pfn 0x2000 cut 0x1800 pages in.
The old rule tiles [0x2000, 0x3800) as 0x800 @ 0x2000 then 0x1000 @ 0x2800 — not aligned to
its size, which __free_one_page's VM_BUG_ON_PAGE(pfn & ((1 << order) - 1)) would catch; the
fixed rule takes 0x1000 @ 0x2000, then 0x800 @ 0x3000."""

from __future__ import annotations

from zonesim.check.registry import check_zone
from zonesim.model.alloc import prep_new_page, take_free_block_at
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.geometry import Geometry
from zonesim.model.isolate import split_free_page
from zonesim.model.sync import sequential
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

split = sequential(split_free_page)


def isolate_types(zone: Zone, lo: int, hi: int) -> None:
    """Pageblocks [lo, hi) isolated (type and census only: the caller splits the block that
    straddles them, as isolate_single_pageblock does), so the pieces cannot merge back."""
    for p in range(lo, hi, 512):
        zone.set_pageblock_migratetype(p, MigrateType.ISOLATE)
        zone.nr_isolate_pageblock += 1


def zone_with_free_order13() -> Zone:
    # max_order 14 (orders 0..13), pageblock_order 9: the whole zone is two order-13 blocks
    zone = build_zone(ZoneLayout(Geometry(0, 1 << 14, max_order=14, pageblock_order=9, cpus=1)))
    assert zone.memmap.order[0x2000] == 13
    isolate_types(zone, 0x3800, 0x4000)
    return zone


def free_heads(zone: Zone, lo: int, hi: int) -> list[tuple[int, int]]:
    m = zone.memmap
    return [(p, m.order[p]) for p in range(lo, hi) if m.flags[p] & 1]


def test_fixed_pieces_are_naturally_aligned() -> None:
    zone = zone_with_free_order13()
    assert split(zone, 0x2000, 13, 0x1800, fixed=True, aligned=True) == 0
    heads = free_heads(zone, 0x2000, 0x4000)
    assert heads == [(0x2000, 12), (0x3000, 11), (0x3800, 11)]
    assert check_zone(zone, "end") == []


def test_the_old_rule_queues_a_misaligned_piece() -> None:
    zone = zone_with_free_order13()
    assert split(zone, 0x2000, 13, 0x1800, fixed=True, aligned=False) == 0
    heads = free_heads(zone, 0x2000, 0x4000)
    assert heads == [(0x2000, 11), (0x2800, 12), (0x3800, 11)]  # 0x2800: not 0x1000-aligned
    assert "I1_free_list_integrity" in {v.invariant for v in check_zone(zone, "end")}


def test_both_rules_cut_one_pageblock_boundary_the_same() -> None:
    """x86-64 (MAX_ORDER 11, pageblock_order 9): the boundary is 512 pages into an order-10
    block, so both rules free 512 + 512."""
    for aligned in (True, False):
        zone = build_zone(ZoneLayout(Geometry(0, 2048, max_order=11, pageblock_order=9, cpus=1)))
        take_free_block_at(zone, 1024, 10)  # keep the second block out of the way
        prep_new_page(zone, 1024, 10, MigrateType.MOVABLE, compound=False, movable=False, cpu=0)
        isolate_types(zone, 512, 1024)
        assert split(zone, 0, 10, 512, fixed=True, aligned=aligned) == 0
        assert free_heads(zone, 0, 1024) == [(0, 9), (512, 9)]
        assert check_zone(zone, "end") == []
