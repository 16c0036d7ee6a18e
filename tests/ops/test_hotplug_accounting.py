"""offline_pages / online_pages accounting, and virtio-mem's fake-offline pages at the
edges of the range (issue 12, item 6: planted bugs in these counters and bounds survived
the fast tests). One deterministic execution each; the zone's counters checked after."""

from __future__ import annotations

import pytest
from test_contig_edges import isolated, run

import zonesim.ops.hotplug as hotplug
from zonesim.model.memmap import PG_buddy
from zonesim.model.types import MigrateType


def test_offline_then_online_restores_every_counter() -> None:
    body = ('[[cpu]]\nops = [ { op = "offline_pages", start = 1024, count = 1024, '
            'expect = "ok" },\n        { op = "online_pages", start = 1024, count = 1024, '
            'expect = "ok" } ]\n')
    _, before = run('[[cpu]]\nops = [ { op = "drain_local_pages" } ]\n')
    _, after = run(body)
    for field in ("present_pages", "managed_pages", "NR_FREE_PAGES", "nr_isolate_pageblock",
                  "offline_isolated_pageblocks"):
        assert getattr(after, field) == getattr(before, field), field
    assert after.absent_ranges == []


def test_offline_takes_the_range_out_of_every_counter() -> None:
    outcome, zone = run('[[cpu]]\nops = [ { op = "offline_pages", start = 1024, '
                        'count = 1024, expect = "ok" } ]\n')
    assert outcome.violation is None, outcome.violation
    _, fresh = run('[[cpu]]\nops = [ { op = "drain_local_pages" } ]\n')
    assert zone.present_pages == fresh.present_pages - 1024
    assert zone.managed_pages == fresh.managed_pages - 1024
    assert zone.NR_FREE_PAGES == fresh.NR_FREE_PAGES - 1024
    # the pageblocks stay ISOLATE but are no longer counted as isolated (§2.11)
    assert isolated(zone) == [1024, 1536]
    assert zone.nr_isolate_pageblock == 0 and zone.offline_isolated_pageblocks == 2
    assert zone.absent_ranges == [(1024, 2048)]
    assert not any(zone.memmap.flags[p] & PG_buddy for p in range(1024, 2048))


@pytest.mark.parametrize("at", [1024, 1536])
def test_virtio_mem_fake_offline_pages_at_the_range_edges_are_offlined_with_it(at: int) -> None:
    """virtio-mem unplugged a pageblock at the start (or the end) of the memory block: on
    MEM_GOING_OFFLINE it drops its reference, so offline_pages skips those pages and they
    go away with the section."""
    body = ('[[cpu]]\nops = [ { op = "virtio_mem_unplug", start = ' + str(at) +
            ', count = 512, as = "u", expect = "ok" },\n'
            '        { op = "offline_pages", start = 1024, count = 1024, expect = "ok" } ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert not any(a.contig for a in zone.allocations.values())  # gone with the section
    _, fresh = run('[[cpu]]\nops = [ { op = "drain_local_pages" } ]\n', policy="v5.19")
    assert zone.managed_pages == fresh.managed_pages - 1024
    assert zone.present_pages == fresh.present_pages - 1024


def test_a_contig_allocation_that_is_not_virtio_mems_keeps_offline_from_succeeding() -> None:
    """Only PageOffline pages (virtio-mem's fake-offline ones) lose their reference on
    MEM_GOING_OFFLINE; a driver's alloc_contig_range pages in the block are in use and
    unmovable: offline_pages fails and the allocation stays."""
    body = ('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1024, end = 1536, '
            'as = "r", expect = "ok" },\n'
            '        { op = "offline_pages", start = 1024, count = 1024, '
            'expect = "-EBUSY" } ]\n')
    outcome, zone = run(body, policy="v5.19")
    assert outcome.violation is None, outcome.violation
    assert [(a.pfn, a.nr) for a in zone.allocations.values() if a.contig] == [(1024, 512)]
    assert zone.absent_ranges == [] and isolated(zone) == []


def test_the_zones_last_section_goes_offline_and_online_again() -> None:
    """offline_pages() takes whole sections inside the zone: [3072, 4096) ends exactly at
    the zone's end; it goes offline and online again, every counter restored."""
    body = ('[[cpu]]\nops = [ { op = "offline_pages", start = 3072, count = 1024, '
            'expect = "ok" },\n'
            '        { op = "online_pages", start = 3072, count = 1024, expect = "ok" } ]\n')
    outcome, zone = run(body)
    assert outcome.violation is None and outcome.error is None, outcome.violation
    _, fresh = run('[[cpu]]\nops = [ { op = "drain_local_pages" } ]\n')
    assert zone.present_pages == fresh.present_pages
    assert zone.NR_FREE_PAGES == fresh.NR_FREE_PAGES
    assert zone.absent_ranges == []


def test_online_pages_of_memory_that_is_online_is_refused() -> None:
    """online_pages() wants every page of the range offline (PG_offline_section): onlining
    [1024, 2048) that never went offline fails and changes nothing."""
    outcome, zone = run('[[cpu]]\nops = [ { op = "online_pages", start = 1024, count = 1024, '
                        'expect = "fail" } ]\n')
    assert outcome.violation is None and outcome.error is None, outcome.violation
    _, fresh = run('[[cpu]]\nops = [ { op = "drain_local_pages" } ]\n')
    assert zone.present_pages == fresh.present_pages
    assert zone.NR_FREE_PAGES == fresh.NR_FREE_PAGES


@pytest.mark.parametrize(("start", "count", "blocks"), [
    (1024, 1024, [(1024, 10)]), (1024, 3072, [(1024, 10), (2048, 10), (3072, 10)])])
def test_online_pages_hands_the_buddy_whole_max_order_blocks(
        monkeypatch: pytest.MonkeyPatch, start: int, count: int,
        blocks: list[tuple[int, int]]) -> None:
    """online_pages_range() frees the onlined range in blocks of order min(MAX_ORDER-1,
    __ffs(pfn)) through online_page_callback (generic_online_page -> __free_pages_core):
    the MAX_ORDER-aligned range [1024, 2048) goes to the buddy as one order-10 block on
    the ISOLATE list (a longer range: one per MAX_ORDER-1 block, in pfn order), not as
    halves that merge afterwards (a callback such as virtio-mem's
    sees the blocks as the kernel hands them over)."""
    freed: list[tuple[int, int, int]] = []
    real = hotplug.__free_one_page

    async def spy(zone: object, pfn: int, order: int, mt: int, fpi: int) -> object:
        freed.append((pfn, order, mt))
        return await real(zone, pfn, order, mt, fpi)  # type: ignore[arg-type]

    monkeypatch.setattr(hotplug, "__free_one_page", spy)
    span = f'start = {start}, count = {count}'
    outcome, _ = run(f'[[cpu]]\nops = [ {{ op = "offline_pages", {span}, expect = "ok" }},\n'
                     f'        {{ op = "online_pages", {span}, expect = "ok" }} ]\n')
    assert outcome.violation is None and outcome.error is None, outcome.violation
    assert freed == [(pfn, order, int(MigrateType.ISOLATE)) for pfn, order in blocks]
