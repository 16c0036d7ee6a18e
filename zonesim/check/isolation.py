"""A pageblock left MIGRATE_ISOLATE for good: an end-of-execution invariant.

Every kernel path that isolates pageblocks for itself undoes what it isolated before it
returns — alloc_contig_range() (and so cma_alloc and virtio-mem) on success and on
failure, offline_pages() when it fails, start_isolate_page_range() itself when a later
pageblock cannot be isolated. A pageblock still ISOLATE when every CPU is done, that no
caller holds, is memory no allocator will ever hand out again, and nothing else notices:
nr_isolate_pageblock counts it (I6 agrees), its free pages sit on the ISOLATE list where
they belong (I4i agrees).

Who may hold a pageblock isolated at the end is not in the zone: the scenario's own
``isolate`` ops and ``type = "isolate"`` pageblocks (a driver keeping memory isolated on
purpose), and offlined memory (``zone.absent_ranges``, whose pageblocks stay isolated as
in the kernel). The engine passes the scenario's ranges in (``held``); the check is
otherwise pure, like the registry's invariants, and judged at the same moment as the
registry's ``end`` ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from zonesim.check.registry import Violation
from zonesim.model.types import MigrateType
from zonesim.model.zone import Zone

ISOLATE = MigrateType.ISOLATE

HeldCheck = Callable[[Zone, Sequence[tuple[int, int]]], Iterator[Violation]]


@dataclass(frozen=True, slots=True)
class HeldInvariant:
    """An ``end`` invariant that also needs the pfn ranges the scenario holds isolated."""

    name: str
    statement: str
    mirrors: str
    fn: HeldCheck


def _covered(pb_start: int, pb_end: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(s < pb_end and pb_start < e for s, e in ranges)


def isolated_pageblocks_stranded(
    zone: Zone, held: Sequence[tuple[int, int]]
) -> Iterator[Violation]:
    """Every ISOLATE pageblock overlaps a held range or offlined memory."""
    pb = zone.geometry.pageblock_nr_pages
    for b in range(len(zone.pageblock)):
        pb_start = zone.pageblock_pfn(b)
        if zone.get_pageblock_migratetype(pb_start) != ISOLATE:
            continue
        pb_end = pb_start + pb
        if _covered(pb_start, pb_end, held) or _covered(pb_start, pb_end, zone.absent_ranges):
            continue
        yield Violation(
            ISOLATION_HELD.name,
            f"pageblock {pb_start:#x}-{pb_end - 1:#x} is still MIGRATE_ISOLATE when every "
            "CPU is done, and nothing holds it isolated (no isolate op of the scenario, "
            "not offline): its memory is lost for good",
            pb_start,
            where=f"pageblock {pb_start:#x}",
            expected="its type from before the isolation",
            actual="ISOLATE",
        )


ISOLATION_HELD = HeldInvariant(
    "isolation_undone",
    "when every CPU is done, every ISOLATE pageblock is held by its isolator: an isolate "
    "op or an isolate pageblock of the scenario, or offlined memory",
    "undo_isolate_page_range() on every path that isolated for itself (alloc_contig_range, "
    "cma_alloc, offline_pages failing, start_isolate_page_range failing on a later "
    "pageblock): /proc/pagetypeinfo's Isolate column back to what the caller holds",
    isolated_pageblocks_stranded,
)
