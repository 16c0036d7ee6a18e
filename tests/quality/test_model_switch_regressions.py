"""Removing a fix that v5.15 already contains brings its old bug back, and the checker
names it (DESIGN §4: "a user can remove one and watch the old bug come back")."""

from __future__ import annotations

from zonesim.check.registry import Violation, check_zone
from zonesim.model.alloc import free_pages_prepare, prep_new_page, take_free_block_at
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.buddy import FPI_NONE, __mod_zone_freepage_state, move_freepages_block
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.pcp import drain_pages_zone, free_unref_page_commit
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

free_one_page_locked = sequential(free_one_page_locked)
drain_pages_zone = sequential(drain_pages_zone)
free_unref_page_commit = sequential(free_unref_page_commit)

MOV, ISO = MigrateType.MOVABLE, MigrateType.ISOLATE


def names(violations: list[Violation]) -> set[str]:
    return {v.invariant for v in violations}


def isolate_max_order_block(zone: Zone, start: int) -> None:
    """start_isolate_page_range() over one MAX_ORDER-1 block (5.15)."""
    for page in range(start, start + zone.geometry.max_order_nr_pages,
                      zone.geometry.pageblock_nr_pages):
        old = zone.get_pageblock_migratetype(page)
        zone.set_pageblock_migratetype(page, ISO)
        zone.nr_isolate_pageblock += 1
        moved, _ = move_freepages_block(zone, page, ISO)
        __mod_zone_freepage_state(zone, -moved, old)


def pcp_page_then_isolation(flags: ModelFlags) -> Zone:
    """A page freed to the pcp list (cached MOVABLE), then its block is isolated and the
    pcp drained: 51bb1a4093cc makes free_pcppages_bulk re-read the pageblock type."""
    zone = build_zone(ZoneLayout(Geometry(0, 2048), pcp_high=100, pcp_batch=4, flags=flags))
    take_free_block_at(zone, 5, 0)
    a = prep_new_page(zone, 5, 0, MOV, compound=False, movable=True, cpu=0)
    free_pages_prepare(zone, a)
    zone.memmap.cached_mt[5] = int(zone.get_pageblock_migratetype(5))
    free_unref_page_commit(zone, 0, 5, int(MOV), 0)
    isolate_max_order_block(zone, 0)
    drain_pages_zone(zone, 0)  # alloc_contig_range's drain_all_pages()
    return zone


def test_bulk_free_reread_keeps_the_isolated_block_clean() -> None:
    assert check_zone(pcp_page_then_isolation(ModelFlags()), "end") == []


def test_without_51bb1a4093cc_a_drained_page_lands_on_a_movable_list_in_isolation() -> None:
    zone = pcp_page_then_isolation(ModelFlags(bulk_free_reread_mt=False))
    # freed as MOVABLE, it merges with the isolated (uncounted) free buddies below
    # pageblock_order and queues the whole block on the MOVABLE list: allocatable pages
    # in an isolated pageblock, and NR_FREE_PAGES counts only the one page (the
    # "freepage counting problem" 51bb1a4093cc fixed)
    assert names(check_zone(zone, "end")) == {
        "I5a_isolated_not_allocatable", "I2_nr_free_pages"
    }


def isolated_half_freed(flags: ModelFlags) -> Zone:
    """Pageblock 512 isolated and its pages freed to the ISOLATE list while the buddy
    pageblock 0 is free MOVABLE: d9dddbf55667 keeps them apart."""
    zone = build_zone(ZoneLayout(Geometry(0, 2048), flags=flags))
    take_free_block_at(zone, 512, 9)
    zone.set_pageblock_migratetype(512, ISO)
    zone.nr_isolate_pageblock = 1
    free_one_page_locked(zone, 512, 9, ISO, FPI_NONE)
    return zone


def test_isolate_merge_check_keeps_isolated_and_normal_blocks_apart() -> None:
    assert check_zone(isolated_half_freed(ModelFlags()), "end") == []
    # 3c605096d315 alone already stops a page freed onto an ISOLATE list
    assert check_zone(isolated_half_freed(ModelFlags(isolate_merge_check=False)), "end") == []


def test_without_the_isolate_merge_check_free_pages_are_lost_from_the_counters() -> None:
    # before 3c605096d315 too: the isolated page merges with its MOVABLE buddy
    zone = isolated_half_freed(ModelFlags(isolate_merge_check=False, isolate_merge_cap=False))
    found = names(check_zone(zone, "end"))
    # the counted MOVABLE half now sits on the ISOLATE list: NR_FREE_PAGES is 512 too
    # high, and the ISOLATE list holds a non-isolated pageblock
    assert "I2_nr_free_pages" in found
    assert found <= {"I2_nr_free_pages", "I4i_isolate_list_stranded", "I4_list_matches_pageblock"}
