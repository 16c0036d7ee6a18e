"""Which pageblocks a step touched, and their abstract state (zonesim.coverage.census)."""

from __future__ import annotations

from zonesim.coverage.census import Census, describe_state
from zonesim.model.alloc import take_free_block_at
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import FPI_NONE
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.buddy import __rmqueue_smallest as rmqueue_smallest
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.sync import sequential
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

free_one_page = sequential(free_one_page_locked)
rmqueue = sequential(rmqueue_smallest)
M = MigrateType


def zone(flags: ModelFlags | None = None) -> Zone:
    """2048 pages, pageblocks of 512: [ CMA | CMA ][ MOVABLE | MOVABLE ] at boot."""
    return build_zone(ZoneLayout(
        Geometry(0, 2048, max_order=11, pageblock_order=9, cpus=2),
        pageblock_types=((PfnRange(0, 1024), M.CMA),), cma=(PfnRange(0, 1024),),
        flags=flags or ModelFlags()))


def test_boot_state_and_nothing_changed() -> None:
    z = zone()
    c = Census(z)
    assert c.changed() == []
    # one free order-10 block covers both pageblocks of its MAX_ORDER-1 range
    assert [describe_state(c.state(b)) for b in range(4)] == [
        "pb(CMA free=10:CMA)", "pb(CMA free=10:CMA)",
        "pb(MOVABLE free=10:MOVABLE)", "pb(MOVABLE free=10:MOVABLE)"]


def test_a_split_touches_only_the_pageblocks_it_changed() -> None:
    z = zone()
    c = Census(z)
    assert rmqueue(z, 0, M.MOVABLE) == 1024  # splits the MOVABLE block, pfn 0x400 taken
    assert c.changed() == [2, 3]
    assert describe_state(c.state(2)) == (
        "pb(MOVABLE free=0:MOVABLE,1:MOVABLE,2:MOVABLE,3:MOVABLE,4:MOVABLE,5:MOVABLE,"
        "6:MOVABLE,7:MOVABLE,8:MOVABLE)")
    assert describe_state(c.state(3)) == "pb(MOVABLE free=9:MOVABLE)"
    assert c.changed() == []  # the next look sees nothing new
    assert describe_state(c.state(0)) == "pb(CMA free=10:CMA)"


def test_flags_and_the_isolate_bit() -> None:
    z = zone(ModelFlags(isolate_bit=True))
    c = Census(z)
    z.set_pageblock_migratetype(512, M.ISOLATE)
    assert c.changed() == [1]
    assert describe_state(c.state(1)) == "pb(CMA+isolate free=10:CMA)"
    z.set_pageblock_migratetype(512, M.CMA)
    assert c.changed() == [1]
    assert describe_state(c.state(1)) == "pb(CMA free=10:CMA)"


def test_a_merge_back_and_pcp_pages() -> None:
    z = zone()
    c = Census(z)
    take_free_block_at(z, 1024, 10)
    assert c.changed() == [2, 3]
    assert describe_state(c.state(2)) == "pb(MOVABLE)"
    free_one_page(z, 1024, 9, M.MOVABLE, FPI_NONE)
    assert c.changed() == [2]
    assert describe_state(c.state(2)) == "pb(MOVABLE free=9:MOVABLE)"
    # a page on cpu1's pcp list: the pageblock is marked "pcp"
    take_free_block_at(z, 1024, 9)
    z.memmap.order[1024] = 0
    z.memmap.list_add(1024, z.pcp_list_id(1, M.MOVABLE, 0))
    assert c.changed() == [2]
    assert describe_state(c.state(2)) == "pb(MOVABLE pcp)"


def test_the_counts_follow_every_list_a_step_touched() -> None:
    """The census compares only the lists the list operations touched since its last look
    (Memmap.lists_dirty): after splits, merges and a wholesale copy of the memmap its
    counts are those of a full walk of every list."""
    z = zone()
    c = Census(z)
    before = z.memmap.clone()
    taken = [rmqueue(z, order, M.MOVABLE) for order in (0, 3, 0, 5, 1)]
    assert c.changed() == [2, 3]
    for pfn, order in zip(taken[:3], (0, 3, 0), strict=True):
        free_one_page(z, pfn, order, M.MOVABLE, FPI_NONE)
    assert c.changed()
    assert c._counts == [c._walk(lid) for lid in range(len(c._counts))]
    z.memmap.copy_from(before)  # the tables copied back wholesale: every list may move
    assert c.changed() == [2, 3]
    assert c._counts == [c._walk(lid) for lid in range(len(c._counts))]
    assert describe_state(c.state(2)) == "pb(MOVABLE free=10:MOVABLE)"
