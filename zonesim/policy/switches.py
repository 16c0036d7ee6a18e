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
    # Earlier switches whose code this commit changed: with it on they must be on too (its
    # "off"'s only make sense with this one off as well; a policy that breaks it is refused).
    builds_on: tuple[str, ...] = ()


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "3c605096d315",
        "mm/page_alloc: restrict max order of merging on isolated pageblock",
        "3.18",
        "a page freed onto an ISOLATE list stops merging at pageblock_order, and "
        "unset_migratetype_isolate takes a free block of >= pageblock_order off and frees it "
        "again so it can merge; off (before 3.18): isolated and normal free pages merge freely "
        "up to MAX_ORDER-1",
    ),
    Switch(
        "d9dddbf55667",
        "mm/page_alloc: prevent merging between isolated and other pageblocks",
        "4.6",
        "__free_one_page stops at pageblock_order and merges one level at a time, refusing "
        "an ISOLATE block with a non-ISOLATE buddy while any pageblock is isolated; off: "
        "3c605096d315's cap (a normal page still merges into an isolated buddy)",
        builds_on=("3c605096d315",),
    ),
    Switch(
        "7ad69832f37e",
        "mm/page_alloc: speed up the iteration of max_order",
        "5.11",
        "the pageblock_order merge check runs only below MAX_ORDER-1; off: freeing a "
        "MAX_ORDER-1 block while a pageblock is isolated reads the pageblock type of "
        "pfn ^ (1 << (MAX_ORDER-1)), unvalidated (memmap_access where that is outside the memmap)",
        builds_on=("d9dddbf55667",),
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
        builds_on=("d9dddbf55667",),
    ),
    Switch(
        "787af64d05cd",
        "mm: page_alloc: validate buddy before check its migratetype.",
        "5.18",
        "__free_one_page checks page_is_buddy() before reading the buddy's pageblock type; off: "
        "a buddy pfn outside the memmap is read (the kernel oopses; zonesim reports "
        "memmap_access)",
        builds_on=("7ad69832f37e",),
    ),
)

SWITCHES += (
    Switch(
        "88e8ac11d2ea",
        "mm, page_alloc: fix core hung in free_pcppages_bulk()",
        "5.9",
        "free_pcppages_bulk frees at most pcp->count pages; off: asked for more than the pcp "
        "holds (a free that read high before and batch after a concurrent pcp update), it "
        "spins forever with IRQs off looking for a non-empty list (cpu_stuck)",
    ),
    Switch(
        "3b12e7e97938",
        "mm/page_alloc: scale the number of pages that are batch freed",
        "5.14",
        "free_unref_page_commit spills nr_pcp_free(pcp, high, batch) pages (at most high - "
        "batch, 1 when high < batch, growing with free_factor); off (5.9-5.13): "
        "free_pcppages_bulk(zone, READ_ONCE(pcp->batch), pcp)",
    ),
    Switch(
        "968318261221",
        "mm/memory_hotplug: drain per-cpu pages again during memory offline",
        "5.9",
        "offline_pages drains the pcp lists again on every retry that finds the range not "
        "yet free; off: one drain after isolation, a page freed to a pcp list after it keeps "
        "the range busy",
    ),
    Switch(
        "bac9c6fa1f92",
        "mm/page_alloc: fix counting of free pages after take off from buddy",
        "5.13",
        "take_page_off_buddy (soft_offline_page of a free page) takes the page out of "
        "NR_FREE_PAGES; off: the counter keeps it",
    ),
    Switch(
        "ec6e8c7e0314",
        "mm, page_alloc: disable pcplists during memory offline",
        "5.11",
        "offline_pages runs zone_pcp_disable() (high=0, batch=1, forced drain of every CPU) "
        "around isolation and migration; off: one drain_all_pages after isolation, frees in "
        "the pcp window land on pcp lists of isolated pageblocks",
        builds_on=("968318261221",),
    ),
    # Zi Yan's RFC v1 (2021-11-15) as posted. Patch 3/3, "arch: powerpc: adjust fadump
    # alignment to be pageblock aligned.", only moves powerpc's firmware-assisted-dump
    # reservation: nothing in the zone model reads it, so it is no switch (docs/switches.md).
    Switch(
        "rfc1/1-align",
        "[RFC PATCH 1/3] mm: cma: alloc_contig_range: use pageblock_order as the single "
        "alignment.",
        "rfc-v1",
        "CMA areas need only pageblock alignment (5.15: max(MAX_ORDER-1, pageblock_order)), so "
        "one MAX_ORDER-1 block may hold CMA and non-CMA pageblocks; and pfn_max_align_down/up "
        "round alloc_contig_range's isolation to pageblocks only (5.15: MAX_ORDER-1 blocks)",
    ),
    Switch(
        "rfc1/2-vmem-sb",
        "[RFC PATCH 2/3] drivers: virtio_mem: use pageblock size as the minimum virtio_mem size.",
        "rfc-v1",
        "virtio-mem subblocks are one pageblock (5.15: max(MAX_ORDER-1, pageblock)); without it "
        "unplugging one pageblock means unplugging its whole MAX_ORDER-1 subblock",
    ),
    # David Hildenbrand's proposal in the founding thread (Nov 2021).
    Switch(
        "dh/a-isolate-bit",
        "proposal a) convert MIGRATE_ISOLATE into a separate pageblock flag",
        "proposal",
        "isolation sets a separate bit and keeps the migratetype; undo clears the bit and so "
        "restores the original type instead of the caller's guess",
    ),
    Switch(
        "dh/b-range-unmovable",
        "proposal b) allow isolating pageblocks with unmovable pages",
        "proposal",
        "has_unmovable_pages checks only the range of interest (looking up compound heads), "
        "not the whole pageblock of every extension block",
    ),
    Switch(
        "dh/c-no-extend",
        "proposal c) don't extend the range of interest over pageblocks of another type",
        "proposal",
        "alloc_contig_range still rounds out to MAX_ORDER-1 blocks but isolates an extension "
        "pageblock only if its type equals that of the range's own pageblocks",
    ),
    # The series as merged for v5.19 and the 2022 fixes (kernel-reference §4.1-4.3).
    Switch(
        "844fbae63e46",
        "mm: page_isolation: check specified range for unmovable pages",
        "5.19",
        "set_migratetype_isolate checks has_unmovable_pages only on the part of the pageblock "
        "inside the requested range",
    ),
    Switch(
        "b2c9e2fbba32",
        "mm: make alloc_contig_range work at pageblock granularity",
        "5.19",
        "start_isolate_page_range isolates the range's pageblocks only, and at both boundary "
        "pageblocks isolate_single_pageblock splits free pages (split_free_page) and migrates "
        "in-use pages that straddle the boundary",
    ),
    Switch(
        "6e263fff1de4",
        "mm: page_isolation: enable arbitrary range page isolation.",
        "5.19",
        "start_isolate_page_range accepts an unaligned range and the undo covers the same "
        "pageblocks; alloc_contig_range passes its range as is",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "11ac3e87ce09",
        "mm: cma: use pageblock_order as the single alignment",
        "5.19",
        "CMA_MIN_ALIGNMENT_PAGES = pageblock_nr_pages: CMA areas need only pageblock alignment",
    ),
    Switch(
        "448b8ec3bf11",
        "drivers: virtio_mem: use pageblock size as the minimum virtio_mem size.",
        "5.19",
        "virtio-mem subblocks are one pageblock",
    ),
    Switch(
        "60a60e32cf91",
        'Revert "mm/cma.c: remove redundant cma_mutex lock"',
        "5.18",
        "cma_alloc serialises alloc_contig_range under cma_mutex; off (5.11-5.17): several CPUs "
        "run alloc_contig_range on neighbouring windows at once",
    ),
    Switch(
        "88ee134320b8",
        "mm: fix a potential infinite loop in start_isolate_page_range()",
        "5.19",
        "isolate_single_pageblock isolates the boundary pageblock with set_migratetype_isolate "
        "(unmovable check, free pages moved, nr_isolate_pageblock counted), a compound page "
        "ending exactly at the boundary is skipped, a straddling page is migrated with its "
        "pageblock isolated, and a lost free page fails the isolation; off: it only wrote "
        "the pageblock type and rescanned",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "9b209e557d69",
        "mm: page-isolation: skip isolated pageblock in start_isolate_page_range()",
        "5.19",
        "a range inside one pageblock is isolated once; off: the second boundary call finds "
        "its own isolation and fails with -EBUSY (all small CMA allocations fail)",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "86d28b070927",
        "mm: split free page with properly free memory accounting and without race",
        "5.19",
        "split_free_page re-checks the page under zone->lock and moves the free-page counters "
        "to each piece's pageblock type; off: no re-check and no accounting",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "547be963c99f",
        "mm: page_isolation: use compound_nr() correctly in isolate_single_pageblock()",
        "5.19",
        "isolate_single_pageblock takes compound_nr(head) for a tail page; off: "
        "compound_nr(tail) = 1, which loops when the scan meets a tail whose head lies "
        "before the scan start (needs orders >= MAX_ORDER: no outcome in the model)",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "80e2b584f3ab",
        "mm/page_isolation: fix isolate_single_pageblock() isolation behavior",
        "6.0",
        "isolate_single_pageblock passes the caller's migratetype and flags, so a non-CMA "
        "caller cannot isolate a CMA boundary pageblock",
        builds_on=("88ee134320b8",),
    ),
)

# v6.0: Mel Gorman's "Drain remote per-cpu directly" (research R8 §1).
SWITCHES += (
    Switch(
        "4b23a68f9536",
        "mm/page_alloc: protect PCP lists with a spinlock",
        "6.0",
        "each CPU's pcp is protected by pcp->lock: frees and pcp allocations take it with "
        "spin_trylock; a failed free goes straight to the buddy (free_one_page), a failed "
        "allocation falls through to rmqueue_buddy (and so does an empty pcp list); drains "
        "take it with spin_lock. Off: local_lock (IRQs off on the owning CPU) only",
    ),
    Switch(
        "443c2accd1b6",
        "mm/page_alloc: remotely drain per-cpu lists",
        "6.0",
        "__drain_all_pages drains every selected CPU's pcp itself, under that pcp's lock, "
        "instead of queueing drain_local_pages_wq on each CPU and flushing; the drained CPU "
        "keeps running, and its trylocks fail while the drain holds its lock",
        builds_on=("4b23a68f9536",),
    ),
    Switch(
        "01b44456a7aa",
        "mm/page_alloc: replace local_lock with normal spinlock",
        "6.0",
        "the outer local_lock goes; pcp->lock is taken with IRQs off by pcp_spin_*_irqsave "
        "(no outcome changes in the model: with 4b23a68f9536 the section already is IRQ-off "
        "plus the spinlock)",
        builds_on=("4b23a68f9536",),
    ),
    Switch(
        "7b086755fb8c",
        "mm: page_alloc: fix CMA and HIGHATOMIC landing on the wrong buddy list",
        "6.6",
        "free_unref_page keeps the page's own type for the free_one_page bypass after a "
        "failed pcp trylock; off (6.0-6.5): a CMA or HIGHATOMIC page whose trylock fails is "
        "freed to the MOVABLE list, counted as MOVABLE",
        builds_on=("4b23a68f9536",),
    ),
)

# v6.10: Johannes Weiner's "mm: page_alloc: freelist migratetype hygiene" (V4, 2024-03-20;
# research R8 §2), one switch per patch that changes an outcome in the model; builds_on names
# the earlier commits whose code a patch rewrites (not the series order). Patches 02
# (9cbe97bad5cd, free_unref_folios: no batched frees here) and 08 (f37c0f6876a8, set
# migratetype inside move_freepages: ordering only) change none.
SWITCHES += (
    Switch(
        "17edeb5d3f76",
        "mm: page_alloc: remove pcppage migratetype caching",
        "6.10",
        "free_pcppages_bulk looks every page's pageblock type up under zone->lock (no type "
        "cached in page->index, no has_isolate_pageblock() gate); rmqueue_bulk/rmqueue_buddy "
        "count CMA pages by pageblock type",
        builds_on=("51bb1a4093cc",),
    ),
    Switch(
        "e6cf9e1c4cde",
        "mm: page_alloc: fix up block types when merging compatible blocks",
        "6.10",
        "at pageblock_order, merging with a free buddy of another mergeable type retypes the "
        "buddy's (first) pageblock to the freed page's type",
        builds_on=("1dd214b8f21c",),
    ),
    Switch(
        "b54ccd3c6bac",
        "mm: page_alloc: move free pages when converting block during isolation",
        "6.10",
        "__isolate_free_page, retyping the pageblocks of a block of >= pageblock_order-1 to "
        "MOVABLE, moves their free pages to the MOVABLE lists too",
    ),
    Switch(
        "2dd482ba627d",
        "mm: page_alloc: fix move_freepages_block() range error",
        "6.10",
        "move_freepages_block moves nothing when its pageblock starts before the zone; off: "
        "it moved from the pivot pfn to the block's end",
    ),
    Switch(
        "c0cd6f557b90",
        "mm: page_alloc: fix freelist movement during block conversion",
        "6.10",
        "claiming a fallback block decides first, moves the free pages and the type only when "
        "claimed, and returns the page; an unclaimed block gives up only the buddy found, its "
        "remainder going back to the block's own type. Off: every free page of the block "
        "moved to the stealer's lists, claimed or not",
    ),
    Switch(
        "55612e80e722",
        "mm: page_alloc: close migratetype race between freeing and stealing",
        "6.10",
        "every buddy free path (free_one_page, __free_pages_ok, the pcp bypass) looks the "
        "pageblock type up under zone->lock; off: a type read before the lock is used unless "
        "isolation is active",
        builds_on=("ad53f92eb416", "7b086755fb8c"),
    ),
    Switch(
        "fd919a85cd55",
        "mm: page_isolation: prepare for hygienic freelists",
        "6.10",
        "set/unset_migratetype_isolate move a pageblock's free pages with "
        "move_freepages_block_isolate, which splits a free buddy straddling the block into "
        "pageblocks (split_large_buddy) under zone->lock; isolate_single_pageblock no longer "
        "splits or migrates (a straddling buddy or LRU page WARNs, another compound page "
        "fails); split_free_page is gone",
        builds_on=("86d28b070927",),
    ),
    Switch(
        "e0932b6c1f94",
        "mm: page_alloc: consolidate free page accounting",
        "6.10",
        "NR_FREE_PAGES/NR_FREE_CMA_PAGES change only where pages join or leave a free list "
        "(account_freepages), and adding, moving or deleting a page on a list that is not its "
        "pageblock's type WARNs (freelist_hygiene): the design promises list type == pageblock "
        "type",
        builds_on=("fd919a85cd55",),
    ),
    Switch(
        "e98337d11bbd",
        "mm/contig_alloc: support __GFP_COMP",
        "6.12",
        "free_one_page frees through split_large_buddy: a block larger than a pageblock "
        "goes back one pageblock at a time, each piece on its own pageblock's list (the "
        "in-flight MAX_ORDER-1 free can no longer cover an isolated pageblock)",
        builds_on=("fd919a85cd55",),
    ),
    Switch(
        "faeec8e23c10",
        "mm/page_alloc: don't call pfn_to_page() on possibly non-existent PFN in "
        "split_large_buddy()",
        "6.13",
        "split_large_buddy stops after the last piece; off: it computes pfn_to_page() of the "
        "pfn past the block, which oopses when the block ends the memmap (memmap_access; "
        "SPARSEMEM without SPARSEMEM_EXTREME, CVE-2024-57881)",
        builds_on=("e98337d11bbd",),
    ),
    # v6.17: Zi Yan's "Make MIGRATE_ISOLATE a standalone bit" (research R8 §3; ids from
    # mm-stable, not yet checked against a mainline merge log). The other five patches
    # (flag helpers, isolated init, migratetype parameters gone, pb_isolate_mode,
    # acr_flags_t) change no outcome: docs/switches.md.
    Switch(
        "591342fccd72",
        "mm/page_isolation: make page isolation a standalone bit",
        "6.17",
        "isolation sets a PB_migrate_isolate bit beside the migratetype, which stays; "
        "undo_isolate_page_range clears the bit and so restores each pageblock's own type "
        "(the mechanism of proposal a)",
        builds_on=("fd919a85cd55",),
    ),
)

# Candidate fixes for the races zonesim found in released designs (docs/findings/): not in
# any preset; each is validated by tests/findings (the finding passes, no bundled scenario
# changes verdict).
SWITCHES += (
    Switch(
        "fix/acr-undo-own",
        "candidate: alloc_contig_range: return after a failed isolation, as before 5.19",
        "candidate",
        "a failed start_isolate_page_range already undid the pageblocks it isolated, so "
        "alloc_contig_range returns the error instead of b2c9e2fbba32's `goto done`, whose "
        "undo_isolate_page_range over the whole range un-isolates pageblocks another caller "
        "isolated (docs/findings/foreign-undo.md)",
        builds_on=("b2c9e2fbba32",),
    ),
    Switch(
        "fix/free-split-pageblocks",
        "candidate: free_one_page: free a block larger than a pageblock one pageblock at a "
        "time (e98337d11bbd's free path for 5.19-6.11)",
        "candidate",
        "free_one_page frees a block of more than pageblock_order pages as pageblock-sized "
        "pieces, each on its own pageblock's list, so a free in flight while another CPU "
        "isolates one of its pageblocks lands on ISOLATE (docs/findings/inflight-free-isolated.md)",
    ),
)

BY_ID: dict[str, Switch] = {s.id: s for s in SWITCHES}
