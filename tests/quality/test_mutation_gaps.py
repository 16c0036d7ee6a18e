"""Gaps the mutation benchmark found (benchmarks/mutation.py --seed 3, issue 12 item 6):
one-line bugs the fast suite let through, each pinned here by the state that shows it.

- a zone that does not start at pfn 0 with a hole in it (absent pages are claimed at
  their zone index, not at pfn + start_pfn): check/conservation.py, check/baseline.py;
- conservation's message for a page nobody claims ("lost", not "claimed 1 times");
- the engine's gate quiet on a clean zone whose first page is allocated (index 0 claimed);
- __zone_watermark_ok's order loop over MIGRATE_PCPTYPES only: a highatomic reserve is
  no free block of the order for a caller without ALLOC_HARDER (mm/page_alloc.c, v5.15).
"""

from __future__ import annotations

import pytest

from zonesim.check.baseline import baseline, conservation_suspect
from zonesim.check.registry import check_zone, registry
from zonesim.model.alloc import prep_new_page, take_free_block_at, zone_watermark_ok
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import ALLOC_HARDER, del_page_from_free_list
from zonesim.model.geometry import Geometry
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

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
