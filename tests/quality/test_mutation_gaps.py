"""Gaps the mutation benchmark found (benchmarks/mutation.py --seed 3, issue 12 item 6):
one-line bugs the fast suite let through, each pinned here by the state that shows it.

- a zone that does not start at pfn 0 with a hole in it (absent pages are claimed at
  their zone index, not at pfn + start_pfn): check/conservation.py, check/baseline.py;
- conservation's message for a page nobody claims ("lost", not "claimed 1 times");
- the engine's gate quiet on a clean zone whose first page is allocated (index 0 claimed);
- __zone_watermark_ok's order loop over MIGRATE_PCPTYPES only: a highatomic reserve is
  no free block of the order for a caller without ALLOC_HARDER (mm/page_alloc.c, v5.15);
- prep_move_freepages_block()'s zone-edge test (v6.10): a pageblock that ends past the
  zone is not claimed whole (a survivor of seed 9, model/buddy.py `end - 1` -> `end - 2`).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.check.baseline import Baseline, baseline, conservation_suspect
from zonesim.check.fused import suspect
from zonesim.check.registry import check_zone, registry
from zonesim.model.alloc import (
    free_pages_prepare,
    prep_new_page,
    take_free_block_at,
    zone_watermark_ok,
)
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import ALLOC_HARDER, del_page_from_free_list
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import PG_buddy
from zonesim.model.pcp import free_unref_page_commit
from zonesim.model.sync import sequential
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone
from zonesim.sched import ReplayStrategy

START = 0x40000  # a zone of a second node: starts far from pfn 0


def _zone_with_hole() -> Zone:
    return build_zone(ZoneLayout(Geometry(START, 4096, pageblock_order=9),
                                 holes=(PfnRange(START + 2048, START + 2560),)))


def test_a_hole_in_a_zone_that_does_not_start_at_pfn_0_is_claimed_once() -> None:
    zone = _zone_with_hole()
    assert zone.absent_ranges == [(START + 2048, START + 2560)]
    assert check_zone(zone) == []
    assert not conservation_suspect(zone, baseline(zone))


@pytest.mark.parametrize("pfn", [1024, 3072])  # a gap mid-zone, and at the zone's end
def test_a_page_nobody_claims_is_reported_lost(pfn: int) -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9)))
    del_page_from_free_list(zone, pfn, 10)  # off its list, still counted free
    found = registry()["page_conservation"].check(zone)
    assert found and "lost: neither free, on a pcp list, allocated nor offline" in str(found[0])
    assert "claimed" not in str(found[0])


def test_the_gate_is_quiet_when_the_first_page_of_the_zone_is_allocated() -> None:
    zone = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9)))
    take_free_block_at(zone, 0, 0)
    prep_new_page(zone, 0, 0, MigrateType.UNMOVABLE, compound=False, movable=False, cpu=0)
    assert check_zone(zone) == []
    assert not conservation_suspect(zone, baseline(zone))


def test_a_highatomic_reserve_is_no_block_for_a_normal_allocation() -> None:
    """Enough free pages outside the reserve (two order-2 blocks), but the only block of
    order >= 3 is the highatomic one: only an ALLOC_HARDER caller may count it."""
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, pageblock_order=9),
        pageblock_types=((PfnRange(0, 1024), MigrateType.HIGHATOMIC),)))
    assert zone.free_list_pfns(10, MigrateType.HIGHATOMIC) == [0]
    # allocate [1040, 2048), then 1028-1031 and 1036-1039: two order-2 blocks stay free
    for pfn, order in [(1024 + (1 << o), o) for o in range(9, 3, -1)] + [(1028, 2), (1036, 2)]:
        take_free_block_at(zone, pfn, order)
        prep_new_page(zone, pfn, order, MigrateType.MOVABLE, compound=False, movable=True,
                      cpu=0)
    assert check_zone(zone) == []
    assert zone.NR_FREE_PAGES - zone.nr_reserved_highatomic == 8  # above order 3's 2^3 - 1
    assert not zone_watermark_ok(zone, 3, 0, 0)
    assert zone_watermark_ok(zone, 3, 0, ALLOC_HARDER)
    assert zone_watermark_ok(zone, 2, 0, 0)  # the order-2 block serves order 2


def test_list_names_at_the_boundary_of_free_and_pcp_lists() -> None:
    """Violation messages name lists: the last free list and the first pcp list."""
    zone = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9)))
    last_free = zone.nr_free_lists - 1
    assert zone.describe_list(last_free).startswith(f"free_area[{zone.max_order - 1}].")
    assert zone.describe_list(zone.nr_free_lists) == "cpu0 pcp.lists[order 0 UNMOVABLE]"


def _long_pcp_list() -> tuple[Zone, Baseline]:
    """40 order-0 pages of a 64-page zone freed to cpu0's MOVABLE pcp list
    (free_unref_page_commit() with pcp->high above the zone's size); the baseline taken
    while they were allocated."""
    zone = build_zone(ZoneLayout(Geometry(0, 64, max_order=4, pageblock_order=3, cpus=1),
                                 pcp_high=64, pcp_batch=64))
    for pfn in range(40):
        take_free_block_at(zone, pfn, 0)
        prep_new_page(zone, pfn, 0, MigrateType.MOVABLE, compound=False, movable=True,
                      cpu=0)
    base = baseline(zone)
    for pfn in range(40):
        free_pages_prepare(zone, zone.allocations[zone.memmap.owner[pfn]])
        zone.memmap.cached_mt[pfn] = int(MigrateType.MOVABLE)
        assert sequential(free_unref_page_commit)(zone, 0, pfn, int(MigrateType.MOVABLE),
                                                  0) == []
    assert zone.pcp[0].count == 40
    return zone, base


def test_a_pcp_list_holding_most_of_the_zone_is_no_cycle_to_the_gate() -> None:
    """More than half a small zone on one pcp list: page conservation holds, and the
    conservation gate, which bounds its list walk by the zone's page count to stop on a
    cycle, must not take the long list for one."""
    zone, base = _long_pcp_list()
    assert check_zone(zone) == []
    assert not conservation_suspect(zone, base)


def test_a_cycle_on_a_pcp_list_is_suspect_and_ends_the_walk() -> None:
    """The last page of the pcp list linked back to the first (a list_add() corruption):
    the gate's walk stops after the zone's page count and says suspect, so the registered
    invariants run and name it, rather than the walk going round for ever."""
    zone, base = _long_pcp_list()
    m = zone.memmap
    lid = zone.pcp_list_id(0, int(MigrateType.MOVABLE), 0)
    m.next[m.lists_tail[lid]] = m.lists_head[lid]

    def going_round(signum: int, frame: object) -> None:
        raise AssertionError("a walk of the cyclic list did not end within 10 s")

    old = signal.signal(signal.SIGALRM, going_round)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        assert conservation_suspect(zone, base)
        found = check_zone(zone)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert [v.invariant for v in found] == ["page_conservation"]
    assert "claimed 2 times" in found[0].message


def test_i7_on_a_zone_away_from_pfn_0() -> None:
    """I7 (alloc_contig_range()'s contract: the caller owns [start, end) when it returns 0)
    in a zone of a second node: quiet on the range split_map_pages() handed out, and it
    names the first page of a range whose tail is still free."""
    from zonesim.check.events import contig_range_allocated
    from zonesim.model.alloc import make_contig_allocation

    zone = _zone_with_hole()
    lo = START + 1024
    take_free_block_at(zone, lo, 9)
    make_contig_allocation(zone, lo, 512, MigrateType.MOVABLE, cpu=0)
    assert list(contig_range_allocated(zone, lo, lo + 512)) == []
    found = list(contig_range_allocated(zone, lo, lo + 1024))  # [lo + 512, ...) is free
    assert [v.pfn for v in found] == [lo + 512]


@pytest.mark.parametrize("field, value", [
    ("refcount", 2), ("refcount", 0), ("flags", PG_buddy), ("list_id", 0), ("owner", 77),
])
@pytest.mark.parametrize("where", [0, 300, 511])
def test_i7_fast_path_misses_no_page(field: str, value: int, where: int) -> None:
    """I7 judges a whole range with slice counts before its per-page loop: one page of a
    512-page allocation with one field wrong (first, middle, last) is still reported."""
    from zonesim.check.events import contig_range_allocated
    from zonesim.model.alloc import make_contig_allocation

    zone = _zone_with_hole()
    lo = START + 1024
    take_free_block_at(zone, lo, 9)
    make_contig_allocation(zone, lo, 512, MigrateType.MOVABLE, cpu=0)
    m = zone.memmap
    i = lo - zone.start_pfn + where
    arr = getattr(m, field)
    arr[i] = arr[i] | value if field == "flags" else value
    found = list(contig_range_allocated(zone, lo, lo + 512))
    # the owner is the first page's: a first page owned by another makes page 1 differ
    first = lo + 1 if (field, where) == ("owner", 0) else lo + where
    assert [v.pfn for v in found] == [first], (field, value, where)


@pytest.mark.parametrize("start, end, first", [(0, 40, 0), (39, 40, 39), (40, 64, None),
                                               (8, 16, 8)])
def test_i5b_names_the_first_page_on_a_pcp_list(start: int, end: int,
                                                 first: int | None) -> None:
    """I5b's pcp test looks at the whole range at once (the largest list id) before it
    walks it: a range with pages on a pcp list names the first one; one without is quiet."""
    from zonesim.check.events import isolated_range_clean

    zone, _ = _long_pcp_list()  # pages 0..39 on cpu0's pcp list, 40..63 free
    found = list(isolated_range_clean(zone, start, end))
    assert [v.pfn for v in found if "sits on" in v.message] == ([] if first is None
                                                                else [first])


def test_the_end_gates_free_block_claims_tile_the_zone_with_the_allocations() -> None:
    """At the end of an execution the fused gate walks every free list once and hands each
    block's page range to the conservation gate (page conservation: every page free,
    allocated or absent exactly once). On a clean zone with a hole, an allocation and
    free blocks of several orders, both gates are quiet and the claims are the free pages."""
    zone = _zone_with_hole()
    take_free_block_at(zone, START + 8, 3)
    prep_new_page(zone, START + 8, 3, MigrateType.MOVABLE, compound=False, movable=True,
                  cpu=0)
    base = baseline(zone)
    claims: list[tuple[int, int]] = []
    assert not suspect(zone, end=True, base=base, claims=claims)
    assert sum(hi - lo for lo, hi in claims) == zone.NR_FREE_PAGES
    assert not conservation_suspect(zone, base, claims)


@pytest.mark.parametrize(("pageblock", "head"), [(0, 0), (1, 0), (7, 3072)])
def test_the_end_gate_judges_a_block_whose_pageblock_was_retyped(pageblock: int,
                                                                 head: int) -> None:
    """A block the execution did not write (its head chunk clean since the baseline) is
    still judged again when a pageblock under it was retyped -- also the zone's first
    pageblock and the last. Here set_pageblock_migratetype() makes one pageblock under a
    free order-10 block HIGHATOMIC (the reserve counted): no_forbidden_merge."""
    zone = build_zone(ZoneLayout(Geometry(START, 4096, pageblock_order=9)))
    zone.memmap.track()
    base = baseline(zone)
    assert not suspect(zone, end=True, base=base)
    zone.set_pageblock_migratetype(START + 512 * pageblock, MigrateType.HIGHATOMIC)
    zone.nr_reserved_highatomic += 512
    assert [(v.invariant, v.pfn) for v in check_zone(zone)] == [("no_forbidden_merge",
                                                                 START + head)]
    assert suspect(zone, end=True, base=base)


def test_the_end_gate_sees_a_retyped_pageblock_past_the_first_64() -> None:
    """The end gate compares the pageblock bytes with the baseline's in runs of 64: a zone
    of 128 pageblocks (pageblock_order 3) whose pageblock 64 -- the first of the second
    run -- is retyped HIGHATOMIC under a free order-4 MOVABLE block (no_forbidden_merge)."""
    zone = build_zone(ZoneLayout(Geometry(0, 1024, max_order=5, pageblock_order=3)))
    zone.memmap.track()
    base = baseline(zone)
    assert not suspect(zone, end=True, base=base)
    zone.set_pageblock_migratetype(64 * 8, MigrateType.HIGHATOMIC)
    zone.nr_reserved_highatomic += 8
    assert [(v.invariant, v.pfn) for v in check_zone(zone)] == [("no_forbidden_merge", 512)]
    assert suspect(zone, end=True, base=base)


@pytest.mark.parametrize("pfn", [1, 510])  # an order-0 page at an odd pfn; an order-1 block
def test_i5a_finds_a_free_page_at_any_pfn_of_an_isolated_pageblock(pfn: int) -> None:
    """set_migratetype_isolate() without move_freepages_block(): pageblock 0 is ISOLATE
    but its only free pages stay on free_list[MOVABLE] -- allocatable from an isolated
    range (I5a). The walk over the pageblock must find the head wherever it lies."""
    zone = build_zone(ZoneLayout(Geometry(0, 2048, pageblock_order=9)))
    order = 0 if pfn % 2 else 1
    for p in range(512):
        if pfn <= p < pfn + (1 << order):
            continue
        take_free_block_at(zone, p, 0)
        prep_new_page(zone, p, 0, MigrateType.MOVABLE, compound=False, movable=True, cpu=0)
    assert zone.free_list_pfns(order, MigrateType.MOVABLE) == [pfn]
    zone.set_pageblock_migratetype(0, MigrateType.ISOLATE)
    zone.nr_isolate_pageblock += 1
    found = [(v.invariant, v.pfn) for v in check_zone(zone, "quiescent")]
    assert found == [("I5a_isolated_not_allocatable", pfn)]


STEAL_AT_ZONE_EDGE = "\n".join([
    '[scenario]', 'name = "steal-at-zone-edge"',
    'summary = "an unmovable allocation steals from the zone\'s last, partial pageblock"',
    '[zone]', 'pages = 4095', 'cpus = 1',
    *[line for k in range(7) for line in (
        '[[setup]]', 'op = "alloc"', f'pfn = {k * 512}', 'order = 9', 'type = "movable"',
        f'as = "m{k}"')],
    '[[cpu]]', 'ops = [ { op = "alloc", order = 5, type = "unmovable", as = "u" } ]',
]) + "\n"


def test_a_pageblock_past_the_zone_end_is_not_claimed_whole(tmp_path: Path) -> None:
    """prep_move_freepages_block() (v6.10 mm/page_alloc.c) refuses a pageblock that
    straddles the zone's end (``zone_spans_pfn(zone, end - 1)``): the last pageblock of a
    4095-page zone ends one page past the zone, so __rmqueue_fallback takes the single
    block it needs and leaves the pageblock MOVABLE. (Testing ``end - 2`` instead walks
    into the missing page: an oops the kernel never has.)"""
    path = tmp_path / "steal-at-zone-edge.toml"
    path.write_text(STEAL_AT_ZONE_EDGE)
    e = Engine(load_scenario(path), parse_policy("v6.10"))
    o = e.run(ReplayStrategy(()))
    assert o.violation is None, o.violation
    zone = e.last_zone
    assert zone is not None
    (u,) = [a for a in zone.allocations.values() if a.mt == MigrateType.UNMOVABLE]
    assert u.pfn >= 7 * 512 and u.order == 5  # from the last, partial pageblock
    assert zone.get_pageblock_migratetype(7 * 512) == MigrateType.MOVABLE


def test_an_allocation_whose_pages_name_another_owner_is_suspect() -> None:
    """An allocation made after the baseline (prep_new_page of [1024, 1032)) whose last
    page's owner names another allocation (page->private of a page handed out twice, as a
    racing free would leave it): page_conservation fires, and the conservation gate must
    say suspect so that it runs."""
    zone = build_zone(ZoneLayout(Geometry(0, 4096, pageblock_order=9)))
    take_free_block_at(zone, 0, 0)
    prep_new_page(zone, 0, 0, MigrateType.UNMOVABLE, compound=False, movable=False, cpu=0)
    base = baseline(zone)
    take_free_block_at(zone, 1024, 3)
    prep_new_page(zone, 1024, 3, MigrateType.MOVABLE, compound=False, movable=True, cpu=0)
    assert check_zone(zone) == [] and not conservation_suspect(zone, base)
    zone.memmap.owner[1031] = zone.memmap.owner[0]
    assert "page_conservation" in [v.invariant for v in check_zone(zone)]
    assert conservation_suspect(zone, base)
