"""unset_migratetype_isolate()'s merge of a free pageblock-order block with its buddy
(3c605096d315, with 787af64d05cd's buddy test since 5.18): the block is taken off and freed
again only when its buddy is a free block of the same order in a pageblock that is not
isolated; otherwise it is moved to the restored type's list (move_freepages_block, whose
count the trace reports as ``moved``). Issue 12, item 6: planted bugs in that test
survived the fast suite."""

from __future__ import annotations

import pytest
from test_contig_edges import run

from zonesim.engine import Outcome
from zonesim.model.memmap import PG_buddy
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone


def last_unisolated(outcome: Outcome) -> tuple[object, object]:
    """(pfn, moved) of the last pageblock unisolated (the unisolate op's: an
    alloc_contig_range before it isolates and unisolates its own range)."""
    done = [(r["pfn"], r.get("moved")) for r in outcome.events
            if r["event"] == "pageblock_unisolated"]
    return done[-1]


def free_block(zone: Zone, pfn: int) -> tuple[int, MigrateType] | None:
    """(order, pageblock type) of the free block with head ``pfn``, None if there is none."""
    i = pfn - zone.start_pfn
    if not zone.memmap.flags[i] & PG_buddy:
        return None
    return zone.memmap.order[i], zone.get_pageblock_migratetype(pfn)


@pytest.mark.parametrize(("policy", "moved"), [("v5.15", 0), ("v5.19", 512)])
def test_a_free_block_whose_buddy_is_in_use_is_moved_not_freed_again(
        policy: str, moved: int) -> None:
    """[1536, 2048) is allocated, [1024, 1536) free (order 9) and isolated, then
    unisolated. 5.15 takes the block off and frees it again whenever its buddy has a
    memmap (no merge follows: nothing moved); 787af64d05cd (5.18) looks for a free buddy
    first and, finding the pages in use, moves the 512 free pages to the MOVABLE list.
    Either way the block ends free, order 9, MOVABLE."""
    outcome, zone = run(
        '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1536, end = 2048, '
        'as = "hi", expect = "ok" },\n'
        '        { op = "isolate", start = 1024, end = 1536, expect = "ok" },\n'
        '        { op = "unisolate", start = 1024, end = 1536, type = "movable" } ]\n',
        policy=policy)
    assert outcome.violation is None and outcome.error is None, outcome.violation
    assert last_unisolated(outcome) == (1024, moved)
    assert free_block(zone, 1024) == (9, MigrateType.MOVABLE)


def test_a_free_block_whose_buddy_is_free_merges_back_to_max_order() -> None:
    """v5.19, nothing allocated: isolating [1024, 1536) splits the free MAX_ORDER-1 block
    at the pageblock boundary (isolate_single_pageblock) and leaves a free order-9 block on the
    ISOLATE list whose buddy [1536, 2048) is free and MOVABLE; unisolating takes the block
    off and frees it again, so the pair merges back into one free MAX_ORDER-1 block
    (nothing moved by move_freepages_block)."""
    outcome, zone = run(
        '[[cpu]]\nops = [ { op = "isolate", start = 1024, end = 1536, expect = "ok" },\n'
        '        { op = "unisolate", start = 1024, end = 1536, type = "movable" } ]\n',
        policy="v5.19")
    assert outcome.violation is None and outcome.error is None, outcome.violation
    assert last_unisolated(outcome) == (1024, 0)
    assert free_block(zone, 1024) == (10, MigrateType.MOVABLE)
    assert free_block(zone, 1536) is None
