"""alloc_contig_range()'s error and edge paths, test_pages_isolated()'s bounds and the undo
after a failed isolation (issue 12, item 6: mutation testing planted bugs there that no
test noticed). Each case is one deterministic execution of a small scenario (no
preemption), with the zone afterwards checked page by page: what the call returns, which
pages its allocation holds, what is free again, and which pageblocks are still isolated.
"""

from __future__ import annotations

import pytest

import zonesim.ops.isolation as isolation_mod
from zonesim.engine import Engine, Outcome
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone
from zonesim.ops.migrate import MIGRATE_MAX_TRIES
from zonesim.policy import parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import ReplayStrategy

ISO = MigrateType.ISOLATE


def run(body: str, policy: str = "v5.15", pages: int = 4096,
        zone: str = "") -> tuple[Outcome, Zone]:
    """One execution without preemption of a one-CPU scenario (``zone``: more [zone]
    keys); the zone afterwards."""
    text = (f'[scenario]\nname = "t"\nsummary = "t"\n\n[zone]\npages = {pages}\ncpus = 1\n'
            f'{zone}\n' + body)
    engine = Engine(parse_scenario(text, "t.toml"), parse_policy(policy))
    outcome = engine.run(ReplayStrategy(()), tracing=True)
    assert engine.last_zone is not None
    return outcome, engine.last_zone


def results(outcome: Outcome, event: str) -> list[str]:
    return [str(r.get("result")) for r in outcome.events if r["event"] == event]


def owner_of(zone: Zone, pfn: int) -> int:
    return zone.memmap.owner[pfn - zone.start_pfn]


def free_pages_in(zone: Zone, start: int, end: int) -> int:
    """Pages of [start, end) in free buddy blocks."""
    m = zone.memmap
    n = 0
    pfn = start
    while pfn < end:
        i = pfn - zone.start_pfn
        if m.flags[i] & PG_buddy:
            size = 1 << m.order[i]
            n += min(pfn + size, end) - pfn
            pfn += size
        else:
            pfn += 1
    return n


def isolated(zone: Zone) -> list[int]:
    pb = zone.geometry.pageblock_nr_pages
    return [p for p in range(zone.start_pfn, zone.end_pfn, pb)
            if zone.get_pageblock_migratetype(p) == ISO]


UNMOVABLE_AT = '''[[setup]]
op = "alloc"
pfn = {pfn}
order = 0
type = "unmovable"
movable = false
as = "pin"

'''


# -- the range it returns and frees ------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [
    (1536, 1664),  # inside a free order-10 block: outer_start 1024, excess on both sides
    (1024, 1152),  # at the exact start of the free block: outer_start == start
    (1030, 1031),  # one page, not aligned
    (2047, 2049),  # across two order-10 blocks
])
def test_the_allocation_is_exactly_the_range_and_the_excess_is_free_again(
        start: int, end: int) -> None:
    outcome, zone = run(f'[[cpu]]\nops = [ {{ op = "alloc_contig_range", start = {start}, '
                        f'end = {end}, as = "r", expect = "ok" }} ]\n')
    assert outcome.violation is None, outcome.violation
    [a] = [a for a in zone.allocations.values() if a.contig]
    assert (a.pfn, a.nr) == (start, end - start)
    assert all(owner_of(zone, p) == a.id for p in range(start, end))
    assert owner_of(zone, start - 1) == NIL and owner_of(zone, end) == NIL
    # everything else is free: the pages between outer_start and start, and past end,
    # went back to the buddy (free_contig_range), none is lost or on a pcp list
    assert zone.NR_FREE_PAGES + sum(p.count for p in zone.pcp) == 4096 - (end - start)
    assert free_pages_in(zone, 0, start) == start
    assert free_pages_in(zone, end, 4096) == 4096 - end
    assert isolated(zone) == []  # the isolation was undone


@pytest.mark.parametrize(("start", "outer"), [(1030, 1024), (1024, 1024), (1536, 1024),
                                               (2047, 1024), (2048, 2048)])
def test_outer_start_is_the_head_of_the_free_block_containing_start(start: int,
                                                                     outer: int) -> None:
    """The lockless search walks down order by order from start to the head of the free
    block that contains it (v5.15 isolates whole MAX_ORDER-1 blocks, so it is the
    order-10 head); test_pages_isolated and isolate_freepages_range then work from
    there, and the pages between outer_start and start are freed one by one."""
    end = start + 10
    outcome, _ = run(f'[[cpu]]\nops = [ {{ op = "alloc_contig_range", start = {start}, '
                     f'end = {end}, as = "r", expect = "ok" }} ]\n')
    assert outcome.violation is None
    [tpi] = [r for r in outcome.events if r["event"] == "test_pages_isolated"]
    assert (tpi["pfn"], tpi["end_pfn"]) == (outer, end)
    freed = sorted(int(r["pfn"]) for r in outcome.events
                   if r["event"] == "free_one_page" and r.get("order") == 0)
    block_end = ((end - 1) // 1024 + 1) * 1024  # the end of the last order-10 block taken
    assert freed == [*range(outer, start), *range(end, block_end)]


def test_a_busy_page_in_the_range_is_ebusy_and_nothing_is_kept() -> None:
    """An unmovable page inside the range of interest: the isolation of its pageblock
    fails (has_unmovable_pages); the call returns -EBUSY, allocates nothing and leaves
    nothing isolated."""
    outcome, zone = run(UNMOVABLE_AT.format(pfn=1100) + '[[cpu]]\nops = [ { op = '
                        '"alloc_contig_range", start = 1024, end = 1536, as = "r", '
                        'expect = "-EBUSY" } ]\n', policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert [a for a in zone.allocations.values() if a.contig] == []
    assert zone.NR_FREE_PAGES + sum(p.count for p in zone.pcp) == 4096 - 1
    assert isolated(zone) == []
    assert [r.get("unmovable_pfn") for r in outcome.events
            if r["event"] == "isolate_failed"] == [1100]


# -- test_pages_isolated's bounds ---------------------------------------------------------


@pytest.mark.parametrize(("pin", "start", "end", "expected"), [
    (1023, 1024, 1536, "ok"),  # the page just before the range is not looked at
    (1536, 1024, 1536, "ok"),  # nor the page at end (exclusive)
    (1024, 1024, 1536, "-EBUSY"),  # the first page is
    (1535, 1024, 1536, "-EBUSY"),  # and the last one
])
def test_test_pages_isolated_looks_at_start_to_end_exclusive(
        pin: int, start: int, end: int, expected: str) -> None:
    """A pinned page at the edge of a pageblock-aligned range (v5.19 isolates only the
    range's own pageblocks): busy inside the range, irrelevant outside."""
    body = UNMOVABLE_AT.format(pfn=pin) + (
        f'[[cpu]]\nops = [ {{ op = "alloc_contig_range", start = {start}, end = {end}, '
        f'as = "r", expect = "{expected}" }} ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    if expected == "ok":
        assert results(outcome, "test_pages_isolated") == ["ok"]
    else:
        # the unmovable page is found by has_unmovable_pages (the isolation fails) or,
        # where only the range's own pages are checked, by test_pages_isolated
        assert isolated(zone) == []


@pytest.mark.parametrize("lie", [1024, 1536])
def test_test_pages_isolated_checks_every_pageblock_of_an_unaligned_range(
        lie: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lockless walk starts at the unaligned start and steps by pageblocks: a range
    [1100, 1600) covers pageblocks 1024 and 1536, both must be ISOLATE. With one of them
    not isolated (set_migratetype_isolate is made to claim success without doing it),
    test_pages_isolated must say -EBUSY."""
    real = isolation_mod.set_migratetype_isolate

    async def skip_one(k, cpu, pfn, mt, flags, start, end, roi=None):  # type: ignore[no-untyped-def]
        if lie <= pfn < lie + 512:
            return 0  # a lie test_pages_isolated must see through
        return await real(k, cpu, pfn, mt, flags, start, end, roi)

    monkeypatch.setattr(isolation_mod, "set_migratetype_isolate", skip_one)
    # an LRU page at 1600 splits the free order-10 block: no free block straddles the two
    # pageblocks, so half of the lie is not an I5a violation of its own
    outcome, _ = run('[[setup]]\nop = "alloc"\npfn = 1600\norder = 0\ntype = "movable"\n\n'
                     '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1100, '
                     'end = 1600, as = "r", expect = "-EBUSY" } ]\n', policy="rfc-v1")
    assert outcome.violation is None, outcome.violation
    assert results(outcome, "test_pages_isolated") == ["-EBUSY"]


# -- the undo after a failed isolation of a later pageblock -----------------------------


def test_a_failed_isolation_of_a_later_pageblock_undoes_the_earlier_ones() -> None:
    """v5.15 isolates [0, 1024) for a request in pageblock 0; pageblock 1 holds an
    unmovable page, so set_migratetype_isolate fails there after pageblock 0 was isolated:
    start_isolate_page_range undoes pageblock 0 and the call returns -EBUSY. Nothing may
    stay isolated (the end-of-execution invariant isolation_undone says so too)."""
    outcome, zone = run(UNMOVABLE_AT.format(pfn=700) + '[[cpu]]\nops = [ { op = '
                        '"alloc_contig_range", start = 0, end = 512, as = "r", '
                        'expect = "-EBUSY" } ]\n')
    assert outcome.violation is None, outcome.violation
    events = [(r["event"], r.get("pfn")) for r in outcome.events
              if r["event"] in ("pageblock_isolated", "isolate_failed", "pageblock_unisolated")]
    assert events == [("pageblock_isolated", 0), ("isolate_failed", 512),
                      ("pageblock_unisolated", 0)]
    assert isolated(zone) == [] and zone.nr_isolate_pageblock == 0
    assert zone.get_pageblock_migratetype(0) == MigrateType.MOVABLE


def test_an_undo_that_forgets_a_pageblock_is_reported_as_isolation_undone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same scenario with the undo broken (it stops one pageblock short, the bug the
    mutation run planted): the pageblock stays ISOLATE for good, and only the new
    end-of-execution invariant sees it."""
    real = isolation_mod.undo_isolate_page_range

    async def short_undo(k, cpu, start, end, mt):  # type: ignore[no-untyped-def]
        pb = k.zone.geometry.pageblock_nr_pages
        await real(k, cpu, start, end - pb, mt)

    monkeypatch.setattr(isolation_mod, "undo_isolate_page_range", short_undo)
    outcome, zone = run(UNMOVABLE_AT.format(pfn=700) + '[[cpu]]\nops = [ { op = '
                        '"alloc_contig_range", start = 0, end = 512, as = "r", '
                        'expect = "-EBUSY" } ]\n')
    assert isolated(zone) == [0]
    assert outcome.violation is not None
    assert outcome.violation.invariant == "isolation_undone" and outcome.violation.pfn == 0


def test_an_isolate_op_that_keeps_its_range_isolated_is_no_violation() -> None:
    """The scenario's own isolate op holds its range isolated on purpose."""
    outcome, zone = run('[[cpu]]\nops = [ { op = "isolate", start = 1024, end = 2048, '
                        'expect = "ok" } ]\n')
    assert outcome.violation is None
    assert isolated(zone) == [1024, 1536]


# -- migration: what is returned when it cannot complete ------------------------------


def test_no_migration_target_is_enomem_and_undoes_the_isolation() -> None:
    """Every page outside the range is allocated; the range holds a movable page: there
    is no target to migrate it to, -ENOMEM, nothing stays isolated, the page stays."""
    body = ('[[setup]]\nop = "alloc"\norder = 0\ntype = "unmovable"\nmovable = false\n'
            'count = 3583\nas = "fill"\n\n'
            '[[setup]]\nop = "alloc"\npfn = 100\norder = 0\ntype = "movable"\nas = "lru"\n\n'
            '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 0, end = 512, as = "r" } ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert results(outcome, "alloc_contig_range_done")[-1] == "-ENOMEM"
    assert isolated(zone) == []
    assert owner_of(zone, 100) != NIL


def test_migration_retries_are_bounded_by_migrate_max_tries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A page whose migration keeps failing with -EAGAIN is retried MIGRATE_MAX_TRIES - 1
    times after the first attempt, then the call gives -EBUSY (v5.15 goes on to
    test_pages_isolated, which fails on that page)."""
    import zonesim.ops.migrate as migrate_mod

    attempts: list[int] = []

    async def refuse(k, cpu, a):  # type: ignore[no-untyped-def]
        attempts.append(a.pfn)
        return migrate_mod.EAGAIN

    monkeypatch.setattr(migrate_mod, "migrate_page", refuse)
    body = ('[[setup]]\nop = "alloc"\npfn = 100\norder = 0\ntype = "movable"\nas = "lru"\n\n'
            '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 0, end = 512, as = "r", '
            'expect = "-EBUSY" } ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert attempts == [100] * MIGRATE_MAX_TRIES
    assert [r.get("result") for r in outcome.events
            if r["event"] == "alloc_contig_migrate_range"] == ["-EBUSY"]
    assert results(outcome, "test_pages_isolated") == ["-EBUSY"]
    assert isolated(zone) == [] and owner_of(zone, 100) != NIL


# -- how far the isolation reaches, per design ---------------------------------------------

NEIGHBOURS = '''[[zone.pageblocks]]
range = [0, 512]
type = "{pb0}"

[[zone.pageblocks]]
range = [1536, 2048]
type = "{pb3}"

'''


@pytest.mark.parametrize(("policy", "start", "end", "pb0", "pb3", "iso"), [
    ("v5.15", 512, 1024, "unmovable", "movable", (0, 1024)),  # MAX_ORDER-1 aligned
    ("v5.15", 1024, 1536, "unmovable", "movable", (1024, 2048)),
    ("v5.15", 600, 1100, "unmovable", "movable", (0, 2048)),
    ("rfc-v1", 512, 1024, "unmovable", "movable", (512, 1024)),  # pageblock aligned
    ("rfc-v1", 600, 1100, "unmovable", "movable", (512, 1536)),
    ("v5.19", 600, 1100, "unmovable", "movable", (512, 1536)),
    # proposal c): extend only over pageblocks of the range's own type
    ("proposal", 512, 1024, "unmovable", "movable", (512, 1024)),
    ("proposal", 512, 1024, "movable", "movable", (0, 1024)),
    ("proposal", 1024, 1536, "unmovable", "unmovable", (1024, 1536)),
    ("proposal", 1024, 1536, "unmovable", "movable", (1024, 2048)),
    ("proposal", 600, 1100, "movable", "unmovable", (0, 1536)),
])
def test_the_pageblocks_alloc_contig_range_isolates(policy: str, start: int, end: int,
                                                    pb0: str, pb3: str,
                                                    iso: tuple[int, int]) -> None:
    """Pageblocks: pb0 [0, 512) and pb3 [1536, 2048) of the given types, the middle two
    MOVABLE; the request is MOVABLE."""
    body = NEIGHBOURS.format(pb0=pb0, pb3=pb3) + (
        f'[[cpu]]\nops = [ {{ op = "alloc_contig_range", start = {start}, end = {end}, '
        f'as = "r" }} ]\n')
    outcome, _ = run(body, policy=policy, pages=2048)
    [call] = [r for r in outcome.events if r["event"] == "alloc_contig_range"]
    assert (call["isolate_pfn"], call["isolate_end_pfn"]) == iso


def test_v519_a_straddling_movable_page_is_migrated_and_the_scan_resumes_at_its_free_block(
        ) -> None:
    """v5.19: the movable order-10 compound page [2048, 3072) straddles the boundary
    pageblock 2560 of the request [2600, 3600). isolate_single_pageblock migrates it, finds
    the free block the page left (at its head: the scan met the page there) and splits it
    at the boundary; the call succeeds with exactly the range."""
    body = ('[[setup]]\nop = "alloc"\npfn = 2048\norder = 10\ntype = "movable"\n'
            'compound = true\nas = "thp"\nunrealistic = "an order-10 movable compound page '
            'that straddles a boundary pageblock"\n\n'
            '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 2600, end = 3600, '
            'as = "r", expect = "ok" } ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert [r["pfn"] for r in outcome.events if r["event"] == "migrate_page"] == [2048]
    [a] = [a for a in zone.allocations.values() if a.contig]
    assert (a.pfn, a.nr) == (2600, 1000)
    assert isolated(zone) == []


@pytest.mark.parametrize("policy", ["v5.19", "v6.0"])
def test_after_a_straddler_merges_down_the_scan_resumes_at_the_merged_block_head(
        policy: str) -> None:
    """pageblock_order 8: the movable order-9 compound page [512, 1024) crosses the start
    boundary 768 of [800, 1000). Its migration target comes from [1536, 2048) (the split
    half at the head of free_list[9][MOVABLE]), and the freed page merges with its free
    buddy [0, 512) into an order-10 block at 0. isolate_single_pageblock() (v5.19) then
    looks for the free page's head by rounding outer_pfn down one order at a time
    (``while (!PageBuddy(pfn_to_page(outer_pfn)))``): it finds 0, not 512, and splits that
    block at the boundary. Resuming at 512 (a tail of the merged block) would leave the
    order-10 block on the MOVABLE list across the isolated pageblock [768, 1024) (I5a)."""
    body = ('[[setup]]\nop = "alloc"\npfn = 512\norder = 9\ntype = "movable"\n'
            'compound = true\nas = "thp"\nunrealistic = "an LRU page larger than a '
            'pageblock"\n\n'
            '[[setup]]\nop = "alloc"\npfn = 1024\norder = 9\ntype = "unmovable"\n'
            'as = "pin"\n\n'
            '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 800, end = 1000, '
            'as = "r", expect = "ok" } ]\n')
    outcome, zone = run(body, policy=policy, zone="pageblock_order = 8")
    assert outcome.violation is None, outcome.violation
    assert [(r["pfn"], r["to_pfn"]) for r in outcome.events
            if r["event"] == "migrate_page"] == [(512, 1536)]
    assert [(r["pfn"], r["order"], r["boundary_pfn"]) for r in outcome.events
            if r["event"] == "split_free_page"] == [(0, 10, 768)]
    [a] = [a for a in zone.allocations.values() if a.contig]
    assert (a.pfn, a.nr) == (800, 200)
    assert isolated(zone) == []
    assert free_pages_in(zone, 0, 1024) == 1024 - 200


def test_v610_the_boundary_scan_steps_over_a_free_block_by_its_own_size() -> None:
    """v6.10 (fd919a85cd55), pageblock_order 8: the start boundary 768 is scanned from its
    MAX_ORDER-aligned pfn 0. A free order-7 block [0, 128), a movable order-7 compound page
    [128, 256) that ends before the boundary (skipped), a free order-8 block [256, 512),
    then a movable order-9 compound page [512, 1024) across the boundary: the scan steps
    over each free block by 1 << order and reaches it -- VM_WARN_ON_ONCE_PAGE(PageLRU), a
    page 6.10 assumes no larger than a pageblock. A scan that stepped further past a free
    block would land on or past the boundary and never see the page."""
    body = ('[[setup]]\nop = "alloc"\npfn = 128\norder = 7\ntype = "movable"\n'
            'compound = true\nas = "small"\n\n'
            '[[setup]]\nop = "alloc"\npfn = 512\norder = 9\ntype = "movable"\n'
            'compound = true\nas = "thp"\nunrealistic = "a movable compound page over two '
            'pageblocks: the one 6.10 warns about"\n\n'
            '[[cpu]]\nops = [ { op = "alloc_contig_range", start = 768, end = 1024, '
            'as = "r" } ]\n')
    outcome, zone = run(body, policy="v6.10", pages=2048, zone="pageblock_order = 8\n")
    assert zone.geometry.pageblock_nr_pages == 256
    assert outcome.violation is not None
    assert outcome.violation.invariant == "kernel_warn"
    assert "order-9 compound page at 0x200 crosses the boundary 0x300" in str(
        outcome.violation)


@pytest.mark.parametrize("policy", ["v5.15", "proposal"])
def test_the_isolated_range_stops_at_a_zone_end_that_is_not_max_order_aligned(
        policy: str) -> None:
    """v5.15 alloc_contig_range() isolates from pfn_max_align_down(start) to
    pfn_max_align_up(end) (MAX_ORDER_NR_PAGES = 1024), clamped to the zone's pageblocks:
    in a 1536-page zone a range in its last pageblock isolates [1024, 1536) and no
    pageblock past the zone's end (the trace's isolate_pfn / isolate_end_pfn say so); the
    call succeeds and undoes its isolation. The proposal's c) extends over pageblocks of
    the range's own type up to that same clamped end, not past it."""
    outcome, zone = run('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1100, '
                        'end = 1200, as = "r", expect = "ok" } ]\n', policy=policy, pages=1536)
    assert outcome.violation is None and outcome.error is None
    assert [(r["isolate_pfn"], r["isolate_end_pfn"]) for r in outcome.events
            if r["event"] == "alloc_contig_range"] == [(1024, 1536)]
    assert isolated(zone) == []
    assert all(owner_of(zone, p) != NIL for p in range(1100, 1200))


@pytest.mark.parametrize("policy", ["v5.15", "v5.19", "v6.0"])
def test_before_610_the_pageblock_past_the_zone_end_is_isolated_with_its_free_pages_left(
        policy: str) -> None:
    """A 1280-page zone ends in the middle of its last pageblock [1024, 1536). Through
    v6.9, set_migratetype_isolate() sets the pageblock ISOLATE and calls
    move_freepages_block(), which returns 0 when the block's last pfn is outside the zone
    (``if (!zone_spans_pfn(zone, end_pfn)) return 0``, mm/page_alloc.c v5.15-v6.9, before
    fd919a85cd55): the free order-8 block [1024, 1280) stays on
    free_area[8].free_list[MOVABLE] inside an isolated pageblock, where __rmqueue() can
    hand it out while alloc_contig_range() counts on it. The model reports it at once
    (I5a), with no other CPU involved. Not a race, and not a state the bundled callers
    produce: it needs a range ending in a zone's partial last pageblock
    (alloc_contig_pages() with a non-power-of-two count, on a zone whose end is not
    pageblock-aligned)."""
    outcome, zone = run('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1100, '
                        'end = 1280, as = "r" } ]\n', policy=policy, pages=1280)
    assert outcome.violation is not None
    assert outcome.violation.invariant == "I5a_isolated_not_allocatable"
    assert "order-8 block at pfn 0x400 on free_area[8].free_list[MOVABLE]" in str(
        outcome.violation)
    assert isolated(zone) == [1024]


@pytest.mark.parametrize("policy", ["v6.10", "v6.17"])
def test_from_610_isolating_the_pageblock_straddling_the_zone_end_is_ebusy(policy: str) -> None:
    """fd919a85cd55 "mm: page_isolation: prepare for hygienic freelists" (v6.10):
    set_migratetype_isolate() moves the block with move_freepages_block_isolate() before it
    changes the type, and that refuses a block not wholly inside the zone
    (prep_move_freepages_block()): the isolation fails with -EBUSY and no pageblock stays
    isolated. The model's switch is that commit."""
    outcome, zone = run('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1100, '
                        'end = 1280, as = "r" } ]\n', policy=policy, pages=1280)
    assert outcome.violation is None and outcome.error is None
    assert results(outcome, "isolate_failed") == ["-EBUSY (zone edge)"]
    assert results(outcome, "alloc_contig_range_done") == ["-EBUSY"]
    assert isolated(zone) == []


# -- isolate_migratepages_range: every movable head of the range, in pfn order ---------------


def test_adjacent_order_0_movable_pages_are_all_migrated() -> None:
    """isolate_migratepages_range() (v5.15 mm/compaction.c) steps one pfn at a time over
    free pages and one pfn past an order-0 page: three order-0 LRU pages side by side, the
    first at an odd pfn, are all isolated and migrated, and alloc_contig_range() then gets
    the whole range."""
    body = "".join(f'[[setup]]\nop = "alloc"\npfn = {p}\norder = 0\ntype = "movable"\n'
                   f'as = "m{p}"\n\n' for p in (1601, 1602, 1603))
    body += ('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1536, end = 2048, '
             'type = "movable", as = "r" } ]\n')
    outcome, zone = run(body)
    assert outcome.violation is None, outcome.violation
    assert results(outcome, "alloc_contig_range_done") == ["ok"], outcome.events[-3:]
    r = [a for a in zone.allocations.values() if a.contig]
    assert len(r) == 1 and r[0].pfn == 1536 and r[0].nr == 512
    # the three pages moved out of the range, each still one allocation
    moved = [a for a in zone.allocations.values() if not a.contig]
    assert sorted(a.nr for a in moved) == [1, 1, 1]
    assert all(not 1536 <= a.pfn < 2048 for a in moved)
