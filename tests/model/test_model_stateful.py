"""Random sequences of lock-held kernel paths against a reference of owned pfns, with
every registered invariant checked after every step (kernel-reference §2.2-§2.7).

The rules stay inside what v5.15 does, so every state reached is one the invariants
must accept at a quiescent point:

* alloc: rmqueue() -- the pcp list for pcp orders (never for movable requests without
  ALLOC_CMA), zone->lock + rmqueue_buddy() otherwise -- then prep_new_page();
* free: free_pages_prepare(), then free_unref_page() (lockless pageblock read cached in
  page->index, ISOLATE -> free_one_page, CMA/HIGHATOMIC on the MOVABLE pcp list) or
  __free_pages_ok() (free_one_page with the type re-read under the lock);
* drain_pages_zone(); a pcp refill through __rmqueue_pcplist() whose page goes back;
* retyping a non-CMA, non-isolated pageblock the way steal_suitable_fallback() and
  reserve_highatomic_pageblock() do: set_pageblock_migratetype() +
  move_freepages_block(), no vm counter change;
* isolate / undo a whole MAX_ORDER-1 block as alloc_contig_range() does in 5.15
  (start_isolate_page_range over pfn_max_align_down/up): set_migratetype_isolate() per
  pageblock (type ISOLATE, nr_isolate_pageblock += 1, move_freepages_block(ISOLATE),
  NR_FREE_PAGES -= moved keyed on the old type) and unset_migratetype_isolate() (with
  the 5.16 "don't putback unisolated page" behaviour); CMA areas are isolated with
  MIGRATE_CMA as cma_alloc() does, everything else with MIGRATE_MOVABLE.

Isolation is applied to a whole MAX_ORDER-1 block in one rule: while
start_isolate_page_range() is half way through a block, v5.15 tolerates an order-10
block on the ISOLATE list over a pageblock not isolated yet (DESIGN §5), which is not a
quiescent state.

``ZONESIM_HYPOTHESIS_PROFILE=thorough`` runs many more and longer examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zonesim.check.registry import check_zone
from zonesim.model.alloc import free_pages_prepare, prep_new_page, rmqueue_buddy
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.buddy import (
    ALLOC_CMA,
    ALLOC_HARDER,
    FPI_NONE,
    FPI_TO_TAIL,
    PageBuddy,
    __mod_zone_freepage_state,
    buddy_order,
    del_page_from_free_list,
    move_freepages_block,
)
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import NIL
from zonesim.model.pcp import __rmqueue_pcplist as rmqueue_pcplist
from zonesim.model.pcp import drain_pages_zone, free_unref_page_commit
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import Allocation, Zone

rmqueue_buddy = sequential(rmqueue_buddy)
free_one_page_locked = sequential(free_one_page_locked)
rmqueue_pcplist = sequential(rmqueue_pcplist)
drain_pages_zone = sequential(drain_pages_zone)
free_unref_page_commit = sequential(free_unref_page_commit)

M = MigrateType
U, MOV, R, H, C, ISO = M.UNMOVABLE, M.MOVABLE, M.RECLAIMABLE, M.HIGHATOMIC, M.CMA, M.ISOLATE

PROFILES = {
    "default": settings(
        max_examples=60, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ),
    "thorough": settings(
        max_examples=400, stateful_step_count=100, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ),
}
SETTINGS = PROFILES[os.environ.get("ZONESIM_HYPOTHESIS_PROFILE", "default")]


# -- kernel paths the model leaves to zonesim.ops (written out here, synchronously) ----


def free_one_page(zone: Zone, pfn: int, order: int, mt: int) -> None:
    """free_one_page(): re-read the pageblock type under zone->lock (ad53f92eb416)."""
    if zone.has_isolate_pageblock() or mt == ISO:
        mt = int(zone.get_pageblock_migratetype(pfn))
    free_one_page_locked(zone, pfn, order, mt, FPI_NONE)


def free_unref_page(zone: Zone, cpu: int, pfn: int, order: int) -> None:
    mt = int(zone.get_pageblock_migratetype(pfn))
    zone.memmap.cached_mt[pfn - zone.start_pfn] = mt  # free_unref_page_prepare
    if mt >= MIGRATE_PCPTYPES:
        if mt == ISO:
            free_one_page(zone, pfn, order, mt)
            return
        mt = int(MOV)
    free_unref_page_commit(zone, cpu, pfn, mt, order)


def set_migratetype_isolate(zone: Zone, page: int) -> None:
    old = zone.get_pageblock_migratetype(page)
    zone.set_pageblock_migratetype(page, ISO)
    zone.nr_isolate_pageblock += 1
    moved, _ = move_freepages_block(zone, page, ISO)
    __mod_zone_freepage_state(zone, -moved, old)


def __isolate_free_page_of_isolated_block(zone: Zone, page: int, order: int) -> None:
    """__isolate_free_page() for a head in an ISOLATE pageblock: no watermark check, no
    vm counter change; pageblocks it covers are re-typed MOVABLE unless ISOLATE/CMA/
    HIGHATOMIC."""
    del_page_from_free_list(zone, page, order)
    if order >= zone.pageblock_order - 1:
        for p in range(page, page + (1 << order), zone.geometry.pageblock_nr_pages):
            if zone.get_pageblock_migratetype(p) not in (ISO, C, H):
                zone.set_pageblock_migratetype(p, MOV)


def unset_migratetype_isolate(zone: Zone, page: int, mt: MigrateType) -> None:
    if zone.get_pageblock_migratetype(page) != ISO:
        return
    isolated_page = False
    order = 0
    if PageBuddy(zone, page):
        order = buddy_order(zone, page)
        if zone.pageblock_order <= order < zone.max_order - 1:
            buddy = page ^ (1 << order)
            if zone.has_memmap(buddy) and zone.get_pageblock_migratetype(buddy) != ISO:
                __isolate_free_page_of_isolated_block(zone, page, order)
                isolated_page = True
    if not isolated_page:
        moved, _ = move_freepages_block(zone, page, mt)
        __mod_zone_freepage_state(zone, moved, mt)
    zone.set_pageblock_migratetype(page, mt)
    if isolated_page:
        free_one_page_locked(zone, page, order, mt, FPI_TO_TAIL)  # __putback_isolated_page
    zone.nr_isolate_pageblock -= 1


# -- the machine -------------------------------------------------------------------------

PCP_SIZES = [(0, 1), (6, 1), (8, 2), (16, 4), (31, 7), (100, 15)]


class ZoneMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.zone: Zone | None = None
        self.owned: set[int] = set()
        self.allocs: list[Allocation] = []
        self.isolated: dict[int, MigrateType] = {}  # MAX_ORDER-1 block start -> undo type

    @property
    def z(self) -> Zone:
        assert self.zone is not None
        return self.zone

    @initialize(
        max_order=st.sampled_from([6, 7, 8]),
        pb=st.sampled_from([2, 3, 4, 5]),
        start_block=st.booleans(),
        cma_block=st.one_of(st.none(), st.integers(0, 7)),
        # No HIGHATOMIC: under the v5.15 rules a free highatomic pageblock merges with its
        # buddy (the bug 1dd214b8f21c fixed), which no_forbidden_merge rightly flags;
        # docs/examples/highatomic-merge.toml and tests/switches cover it.
        types=st.lists(st.tuples(st.integers(0, 511), st.sampled_from([U, R])), max_size=6),
        pcp=st.sampled_from(PCP_SIZES),
        cpus=st.integers(1, 3),
    )
    def boot(self, max_order: int, pb: int, start_block: bool, cma_block: int | None,
             types: list[tuple[int, MigrateType]], pcp: tuple[int, int], cpus: int) -> None:
        pb = min(pb, max_order - 1)
        blk = 1 << (max_order - 1)
        # MAX_ORDER-1 aligned zone edges: with an unaligned start, 5.15's unvalidated
        # buddy pageblock read at the zone start reads outside the zone's memmap, which
        # the model reports as MemmapAccess (tested in test_model_buddy).
        start = blk if start_block else 0
        end = 1024
        g = Geometry(start, end - start, max_order=max_order, pageblock_order=pb, cpus=cpus)
        cma: tuple[PfnRange, ...] = ()
        if cma_block is not None:
            lo = blk * (1 + cma_block % (end // blk - 1))  # never the partial first block
            cma = (PfnRange(lo, lo + blk),)
        pb_nr = 1 << pb
        pb_types = tuple(
            (PfnRange(p, p + pb_nr), mt)
            for p, mt in ((max(start, (i * pb_nr) % end), mt) for i, mt in types)
            if not any(p in r for r in cma)
        )
        self.zone = build_zone(ZoneLayout(
            g, pageblock_types=pb_types, cma=cma, pcp_high=pcp[0], pcp_batch=pcp[1],
        ))

    # -- allocation and freeing ------------------------------------------------------

    @rule(
        order=st.one_of(st.integers(0, 3), st.integers(0, 7)),
        mt=st.sampled_from([U, MOV, R]),
        cma=st.booleans(),
        harder=st.booleans(),
        compound=st.booleans(),
        cpu=st.integers(0, 2),
    )
    def alloc(self, order: int, mt: MigrateType, cma: bool, harder: bool, compound: bool,
              cpu: int) -> None:
        zone = self.z
        order = min(order, zone.max_order - 1)
        cpu %= len(zone.pcp)
        flags = (ALLOC_CMA if mt == MOV and cma else 0) | (ALLOC_HARDER if harder else 0)
        if zone.geometry.pcp_allowed_order(order) and (flags & ALLOC_CMA or mt != MOV):
            pfn = rmqueue_pcplist(zone, cpu, order, int(mt), flags)
        else:
            pfn = rmqueue_buddy(zone, order, int(mt), flags)
        if pfn is None:
            event("alloc: NULL")
            return
        if zone.get_pageblock_migratetype(pfn) == ISO:
            event("alloc: page of an isolated pageblock (from a pcp list)")
        a = prep_new_page(zone, pfn, order, mt, compound=compound, movable=mt == MOV, cpu=cpu)
        pfns = set(range(pfn, pfn + (1 << order)))
        assert pfn % (1 << order) == 0, f"order-{order} allocation at unaligned pfn {pfn}"
        assert zone.start_pfn <= pfn and pfn + (1 << order) <= zone.end_pfn
        assert not pfns & self.owned, f"pfns {sorted(pfns & self.owned)} handed out twice"
        if not flags & ALLOC_CMA:
            assert not a.cma, f"CMA page {pfn} served a request without ALLOC_CMA"
        self.owned |= pfns
        self.allocs.append(a)

    @precondition(lambda self: bool(self.allocs))
    @rule(index=st.integers(0, 10**6), via_pcp=st.booleans(), cpu=st.integers(0, 2))
    def free(self, index: int, via_pcp: bool, cpu: int) -> None:
        zone = self.z
        a = self.allocs.pop(index % len(self.allocs))
        pfn, order = a.pfn, a.order
        free_pages_prepare(zone, a)
        self.owned -= set(range(pfn, pfn + (1 << order)))
        if via_pcp and zone.geometry.pcp_allowed_order(order):
            free_unref_page(zone, cpu % len(zone.pcp), pfn, order)
        else:  # __free_pages_ok(): lockless read, then free_one_page()
            free_one_page(zone, pfn, order, int(zone.get_pageblock_migratetype(pfn)))

    @rule(cpu=st.integers(0, 2))
    def drain(self, cpu: int) -> None:
        zone = self.z
        drain_pages_zone(zone, cpu % len(zone.pcp))

    @rule(cpu=st.integers(0, 2), order=st.sampled_from([0, 1, 2, 3, -1]),
          mt=st.sampled_from([U, MOV, R]))
    def pcp_refill(self, cpu: int, order: int, mt: MigrateType) -> None:
        """__rmqueue_pcplist() refills an empty list by a batch; the page goes back."""
        zone = self.z
        cpu %= len(zone.pcp)
        if order < 0:
            order = zone.pageblock_order
        if not zone.geometry.pcp_allowed_order(order):
            return
        flags = ALLOC_CMA if mt == MOV else 0
        pfn = rmqueue_pcplist(zone, cpu, order, int(mt), flags)
        if pfn is not None:
            assert not set(range(pfn, pfn + (1 << order))) & self.owned
            free_unref_page(zone, cpu, pfn, order)

    # -- pageblock types --------------------------------------------------------------

    # HIGHATOMIC is left out: reserve_highatomic_pageblock() only retypes a pageblock it
    # just allocated from (no free block reaches beyond it), which this rule cannot mimic;
    # moving a larger free block onto the HIGHATOMIC list is flagged by no_forbidden_merge.
    @rule(index=st.integers(0, 10**6), new=st.sampled_from([U, MOV, R]))
    def retype(self, index: int, new: MigrateType) -> None:
        zone = self.z
        pfn = max(zone.pageblock_pfn(index % len(zone.pageblock)), zone.start_pfn)
        old = zone.get_pageblock_migratetype(pfn)
        if old in (C, ISO) or old == new:
            return
        zone.set_pageblock_migratetype(pfn, new)
        move_freepages_block(zone, pfn, new)
        nr = zone.geometry.pageblock_nr_pages
        if new == H:
            zone.nr_reserved_highatomic += nr
        if old == H:
            zone.nr_reserved_highatomic -= nr

    def _block_pages(self, block_start: int) -> list[int]:
        """First valid page of every pageblock of a MAX_ORDER-1 block (__first_valid_page)."""
        zone = self.z
        pb_nr = zone.geometry.pageblock_nr_pages
        blk = zone.geometry.max_order_nr_pages
        pages = []
        for pfn in range(block_start, block_start + blk, pb_nr):
            page = max(pfn, zone.start_pfn)
            if page < min(pfn + pb_nr, zone.end_pfn):
                pages.append(page)
        return pages

    @rule(index=st.integers(0, 10**6), drain=st.booleans())
    def isolate(self, index: int, drain: bool) -> None:
        zone = self.z
        blk = zone.geometry.max_order_nr_pages
        first = zone.start_pfn // blk
        nblocks = (zone.end_pfn - 1) // blk - first + 1
        block_start = (first + index % nblocks) * blk
        pages = self._block_pages(block_start)
        if block_start in self.isolated or any(
            zone.get_pageblock_migratetype(p) == ISO for p in pages
        ):
            return  # set_migratetype_isolate() -> -EBUSY
        in_cma = any(lo <= pages[0] < hi for lo, hi in zone.cma_ranges)
        for page in pages:
            set_migratetype_isolate(zone, page)
        self.isolated[block_start] = C if in_cma else MOV
        event(f"isolate: {'CMA' if in_cma else 'normal'} block")
        if drain:  # alloc_contig_range: drain_all_pages(cc.zone)
            for cpu in range(len(zone.pcp)):
                drain_pages_zone(zone, cpu)

    @precondition(lambda self: bool(self.isolated))
    @rule(index=st.integers(0, 10**6))
    def unisolate(self, index: int) -> None:
        zone = self.z
        block_start = sorted(self.isolated)[index % len(self.isolated)]
        mt = self.isolated.pop(block_start)
        for page in self._block_pages(block_start):  # undo_isolate_page_range
            unset_migratetype_isolate(zone, page, mt)

    # -- checks after every step --------------------------------------------------------

    @invariant()
    def every_registered_invariant_holds(self) -> None:
        if self.zone is None:
            return
        violations = check_zone(self.zone, "end")
        assert violations == [], "\n".join(str(v) for v in violations)

    @invariant()
    def ownership_matches_the_reference(self) -> None:
        if self.zone is None:
            return
        zone = self.zone
        m = zone.memmap
        owned = {i + zone.start_pfn for i in range(m.nr) if m.owner[i] != NIL}
        assert owned == self.owned
        assert sorted(zone.allocations) == sorted(a.id for a in self.allocs)
        for a in self.allocs:
            assert zone.allocations[a.id] is a

    @invariant()
    def pcp_counts_match_their_lists(self) -> None:
        if self.zone is None:
            return
        zone = self.zone
        m = zone.memmap
        g = zone.geometry
        for pcp in zone.pcp:
            pages = sum(
                m.lists_len[pcp.list_base + p] << g.pindex_to_order(p)
                for p in range(g.nr_pcp_lists)
            )
            assert pcp.count == pages, f"cpu{pcp.cpu} pcp.count {pcp.count} != {pages}"

    @invariant()
    def isolation_bookkeeping(self) -> None:
        if self.zone is None:
            return
        zone = self.zone
        expected = sum(len(self._block_pages(b)) for b in self.isolated)
        assert zone.nr_isolate_pageblock == expected


ZoneMachine.TestCase.settings = SETTINGS
TestZoneModel = ZoneMachine.TestCase


# -- the rare paths of the machine, pinned down once -----------------------------------


def _small_zone() -> Zone:
    return build_zone(ZoneLayout(
        Geometry(0, 1024, max_order=7, pageblock_order=3, cpus=2), pcp_high=16, pcp_batch=4,
    ))


def test_undo_puts_back_a_free_pageblock_whose_buddy_is_already_restored() -> None:
    zone = _small_zone()
    pfn = rmqueue_buddy(zone, 0, int(MOV), 0)
    assert pfn == 0
    prep_new_page(zone, 0, 0, MOV, compound=False, movable=True, cpu=0)
    for page in range(0, 64, 8):
        set_migratetype_isolate(zone, page)
    assert zone.NR_FREE_PAGES == 1024 - 64
    assert check_zone(zone, "end") == []
    # pageblock 0 (busy at pfn 0) goes back first; the order-3 block at 8, order-4 at 16
    # and order-5 at 32 see a non-isolated buddy at 0 and take the putback path
    for page in range(0, 64, 8):
        unset_migratetype_isolate(zone, page, MOV)
    assert zone.nr_isolate_pageblock == 0
    assert zone.NR_FREE_PAGES == 1023
    assert [zone.free_list_first(o, MOV) for o in (3, 4, 5)] == [8, 16, 32]
    assert check_zone(zone, "end") == []


def test_pcp_page_of_an_isolated_block_is_handed_out_and_freed_to_isolate() -> None:
    # 5.15: nothing in rmqueue_pcplist() checks the pageblock; the free goes to the
    # ISOLATE list through free_one_page()
    zone = _small_zone()
    pfn = rmqueue_pcplist(zone, 0, 0, int(U), 0)  # batch 4 -> three stay on the pcp list
    assert pfn == 0 and zone.pcp[0].count == 3
    prep_new_page(zone, 0, 0, U, compound=False, movable=False, cpu=0)
    for page in range(0, 64, 8):
        set_migratetype_isolate(zone, page)
    hot = rmqueue_pcplist(zone, 0, 0, int(U), 0)
    assert hot is not None and zone.get_pageblock_migratetype(hot) == ISO
    a = prep_new_page(zone, hot, 0, U, compound=False, movable=False, cpu=0)
    free_pages_prepare(zone, a)
    free_unref_page(zone, 0, hot, 0)
    assert zone.pcp[0].count == 2  # the freed page did not go back to the pcp list
    assert check_zone(zone, "end") == []
    drain_pages_zone(zone, 0)  # re-reads the pageblock: ISOLATE
    nr_isolated_free = sum(
        len(zone.free_list_pfns(o, ISO)) << o for o in range(zone.max_order)
    )
    assert nr_isolated_free == 63  # everything but the allocated pfn 0
    assert zone.NR_FREE_PAGES == 1024 - 64
    assert check_zone(zone, "end") == []
