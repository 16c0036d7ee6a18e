"""__rmqueue_fallback()'s order of preference when several types are free (issue 12, item 6:
mutation testing found no test that fails when the preference changes).

The v5.15 rules (kernel-reference §2.2): the largest free block of any fallback type
first (``for current_order = MAX_ORDER - 1; current_order >= min_order; --current_order``),
and within one order the types in ``fallbacks[start_type]`` order — UNMOVABLE:
RECLAIMABLE, MOVABLE; MOVABLE: RECLAIMABLE, UNMOVABLE; RECLAIMABLE: UNMOVABLE, MOVABLE.
CMA, HIGHATOMIC and ISOLATE lists are never fallbacks.
"""

from __future__ import annotations

import pytest

from zonesim.model.alloc import prep_new_page, take_free_block_at
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import FALLBACKS, find_suitable_fallback
from zonesim.model.buddy import __rmqueue as rmqueue_locked
from zonesim.model.buddy import __rmqueue_fallback as rmqueue_fallback
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.sync import sequential
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

rmqueue_locked = sequential(rmqueue_locked)
rmqueue_fallback = sequential(rmqueue_fallback)

M = MigrateType
U, MOV, R, H, C, ISO = M.UNMOVABLE, M.MOVABLE, M.RECLAIMABLE, M.HIGHATOMIC, M.CMA, M.ISOLATE


def three_types(sizes: dict[MigrateType, int]) -> Zone:
    """Pageblocks 0, 1, 2 (512 pages each) of types U, MOV, R; in each, one free block of
    ``sizes[type]`` pages at its start, everything else allocated (non-movable).
    MAX_ORDER-1 = pageblock_order, so boot puts each pageblock on its own type's list."""
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, max_order=10, pageblock_order=9, cpus=1),
        pageblock_types=((PfnRange(0, 512), U), (PfnRange(512, 1024), MOV),
                         (PfnRange(1024, 1536), R), (PfnRange(1536, 2048), U)),
    ))
    keep = {t: range(base, base + sizes.get(t, 0))
            for t, base in ((U, 0), (MOV, 512), (R, 1024))}
    # allocate everything outside the kept blocks, order-0, through the exact carve-out
    for pfn in range(0, 2048):
        if any(pfn in r for r in keep.values()):
            continue
        take_free_block_at(zone, pfn, 0)
        prep_new_page(zone, pfn, 0, U, compound=False, movable=False, cpu=0)
    return zone


def free_types(zone: Zone) -> dict[int, MigrateType]:
    """pfn of each free head -> the list it is on."""
    out: dict[int, MigrateType] = {}
    for order in range(zone.max_order):
        for mt in MigrateType:
            for pfn in zone.free_list_pfns(order, mt):
                out[pfn] = mt
    return out


def test_the_fallback_table_of_v5_15() -> None:
    assert FALLBACKS == {U: (R, MOV), MOV: (R, U), R: (U, MOV)}


@pytest.mark.parametrize(("start", "first", "second"), [(U, R, MOV), (MOV, R, U), (R, U, MOV)])
def test_within_one_order_the_first_fallback_type_is_taken(
        start: MigrateType, first: MigrateType, second: MigrateType) -> None:
    """Both fallback types have a free order-3 block; the request's own type has none."""
    zone = three_types({first: 8, second: 8})
    assert find_suitable_fallback(zone, 3, int(start), False)[0] == first
    base = {U: 0, MOV: 512, R: 1024}
    pfn = rmqueue_locked(zone, 0, int(start), 0)
    assert pfn is not None and base[first] <= pfn < base[first] + 8
    # the other type's block is untouched
    assert free_types(zone)[base[second]] == second


@pytest.mark.parametrize("start", [U, R])
def test_the_largest_block_wins_over_the_preferred_type(start: MigrateType) -> None:
    """The preferred fallback has an order-2 block, the other one an order-5 block: the
    order-5 block is taken (largest first), and the preferred small one stays."""
    first, second = FALLBACKS[int(start)]
    zone = three_types({M(first): 4, M(second): 32})
    base = {U: 0, MOV: 512, R: 1024}
    pfn = rmqueue_locked(zone, 0, int(start), 0)
    assert pfn is not None and base[M(second)] <= pfn < base[M(second)] + 32
    assert free_types(zone)[base[M(first)]] == M(first)


def test_a_small_movable_request_takes_the_smallest_block_that_fits() -> None:
    """MOVABLE cannot steal a pageblock with an order below pageblock_order / 2, so
    find_smallest: from the requested order up, the first order that has a fallback."""
    zone = three_types({R: 4, U: 8})
    pfn = rmqueue_locked(zone, 1, int(MOV), 0)
    assert pfn is not None and 1024 <= pfn < 1028  # R's order-2 block, not U's order 3
    assert free_types(zone)[0] == U


def test_cma_highatomic_and_isolate_lists_are_never_fallbacks() -> None:
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, max_order=11, pageblock_order=9, cpus=1),
        pageblock_types=((PfnRange(0, 512), H), (PfnRange(1536, 2048), ISO)),
        cma=(PfnRange(512, 1536),)))
    for t in (U, MOV, R):
        for order in range(zone.max_order):
            f, _ = find_suitable_fallback(zone, order, int(t), False)
            assert f not in (int(C), int(H), int(ISO))
    assert rmqueue_fallback(zone, 0, int(U), 0) is False


# -- claiming the pageblock (steal_suitable_fallback / try_to_steal_block) --------------------


@pytest.mark.parametrize("steal_transaction", [False, True], ids=["v5.15", "c0cd6f557b90"])
@pytest.mark.parametrize(("free", "unmovable", "claimed"), [
    (128, 0, False),  # a quarter free, the rest movable: not claimed
    (256, 0, True),  # exactly half free: claimed (">=")
    (128, 128, True),  # a quarter free and a quarter alike (in use, not movable): claimed
])
def test_an_unmovable_steal_claims_the_pageblock_when_half_is_free_or_alike(
        steal_transaction: bool, free: int, unmovable: int, claimed: bool) -> None:
    """An UNMOVABLE order-0 request falls back to MOVABLE pageblock 1 (512 pages), whose
    only free block is ``free`` pages; of its other pages ``unmovable`` are allocated
    non-movable (alike to the request) and the rest movable. steal_suitable_fallback()
    (and c0cd6f557b90's try_to_steal_block) claims the block for UNMOVABLE only when
    free_pages + alike_pages >= pageblock_nr_pages / 2; otherwise the pageblock stays
    MOVABLE."""
    zone = build_zone(ZoneLayout(
        Geometry(0, 2048, max_order=10, pageblock_order=9, cpus=1),
        pageblock_types=((PfnRange(0, 512), U), (PfnRange(512, 1024), MOV),
                         (PfnRange(1024, 1536), R), (PfnRange(1536, 2048), U)),
        flags=ModelFlags(steal_transaction=steal_transaction),
    ))
    for pfn in range(2048):  # everything allocated but [512, 512 + free)
        if 512 <= pfn < 512 + free:
            continue
        take_free_block_at(zone, pfn, 0)
        movable = 512 + free + unmovable <= pfn < 1024
        prep_new_page(zone, pfn, 0, MOV if movable else U, compound=False,
                      movable=movable, cpu=0)
    pfn = rmqueue_locked(zone, 0, int(U), 0)
    assert pfn is not None and 512 <= pfn < 512 + free
    assert zone.get_pageblock_migratetype(512) == (U if claimed else MOV)
    # the block's other free pages: 5.15 moves them to UNMOVABLE's lists before it decides
    # (move_freepages_block first); c0cd6f557b90 moves them only with the claim
    rest = {t for p, t in free_types(zone).items() if 512 <= p < 1024}
    assert rest == {U if claimed or not steal_transaction else MOV}
