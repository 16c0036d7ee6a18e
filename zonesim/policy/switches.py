"""The switch catalogue: one entry per kernel change (or proposal) that alters a path
zonesim models. A switch is read by the ops / model at the few places its change made a
difference; nothing is copied per preset.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Switch:
    id: str  # the mainline commit (12 hex digits), or "<proposal>/<part>"
    title: str  # the commit subject
    version: str  # first release that has it ("3.18", "5.19", "proposal")
    behaviour: str  # what zonesim does differently with the switch on


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "d9dddbf55667",
        "mm/page_alloc: prevent merging between isolated and other pageblocks",
        "4.0",
        "__free_one_page stops at pageblock_order and merges one level at a time, refusing "
        "an ISOLATE block with a non-ISOLATE buddy while any pageblock is isolated; off: "
        "blocks merge up to MAX_ORDER-1 whatever their pageblocks",
    ),
    Switch(
        "ad53f92eb416",
        "mm/page_alloc: fix incorrect isolation behavior by rechecking migratetype",
        "3.18",
        "free_one_page and __free_pages_ok re-read the pageblock type under zone->lock when "
        "isolation is active; off: the type read before the lock is used",
    ),
    Switch(
        "51bb1a4093cc",
        "mm/page_alloc: add freepage on isolate pageblock to correct buddy list",
        "3.18",
        "free_pcppages_bulk re-reads each page's pageblock type when a pageblock of the zone "
        "is isolated; off: the type cached at free time decides the list",
    ),
    Switch(
        "1dd214b8f21c",
        "mm: page_alloc: avoid merging non-fallbackable pageblocks with others",
        "5.18",
        "at pageblock_order __free_one_page refuses to merge different types unless both are "
        "mergeable (UNMOVABLE/MOVABLE/RECLAIMABLE), whether or not isolation is active",
    ),
    Switch(
        "787af64d05cd",
        "mm: page_alloc: validate buddy before check its migratetype.",
        "5.18",
        "__free_one_page checks page_is_buddy() before reading the buddy's pageblock type; off: "
        "a buddy pfn outside the memmap is read (the kernel oopses; zonesim reports "
        "memmap_access)",
    ),
)

BY_ID: dict[str, Switch] = {s.id: s for s in SWITCHES}
