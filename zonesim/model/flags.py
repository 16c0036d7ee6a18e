"""Behaviour knobs of the lock-held primitives, set by a policy (zonesim.policy).

The model may not import the policy layer, so a policy translates its switches into
this flat record once per execution. Each field names the kernel change it stands for;
the defaults are v5.15.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelFlags:
    # d9dddbf55667 (4.0; the continue_merging form is 7ad69832f37e, 5.11): at
    # >= pageblock_order refuse to merge an ISOLATE block with a non-ISOLATE buddy while
    # any pageblock of the zone is isolated.
    # Off: merge freely up to MAX_ORDER-1 (the pre-3.18 buddy).
    isolate_merge_check: bool = True
    # 3c605096d315 (3.18): the form before it: a page freed onto an ISOLATE list stops
    # merging at pageblock_order, but a page of a normal pageblock merges on into an isolated
    # buddy (the buddy's type is never looked at). Off too: merge freely up to MAX_ORDER-1.
    isolate_merge_cap: bool = True
    # 7ad69832f37e (5.11): the merge check runs only below MAX_ORDER-1. Off: freeing a
    # MAX_ORDER-1 block while a pageblock is isolated reads the pageblock type of its
    # "buddy" pfn ^ (1 << (MAX_ORDER-1)), which may lie outside the memmap (no decision
    # changes, but the read can oops).
    merge_iter_fixed: bool = True
    # 1dd214b8f21c (5.18): refuse every merge at >= pageblock_order between different
    # types unless both are mergeable (< MIGRATE_PCPTYPES); no longer gated on isolation.
    mergeable_merge_check: bool = False
    # 787af64d05cd (5.18): check page_is_buddy() before reading the buddy's pageblock.
    validate_buddy_before_mt: bool = False
    # 51bb1a4093cc (3.18): free_pcppages_bulk re-reads the pageblock type when some
    # pageblock of the zone is isolated.
    bulk_free_reread_mt: bool = True
    # ad53f92eb416 (3.18): free_one_page / __free_pages_ok re-read the pageblock type
    # under zone->lock when isolation is active.
    free_one_page_reread_mt: bool = True
    # 3b12e7e97938 (5.14, "mm/page_alloc: scale the number of pages that are batch freed"):
    # the pcp spill frees nr_pcp_free(pcp, high, batch) pages. Off: READ_ONCE(pcp->batch).
    pcp_free_scaled: bool = True
    # 88e8ac11d2ea (5.9, "mm, page_alloc: fix core hung in free_pcppages_bulk()"):
    # free_pcppages_bulk frees at most pcp->count pages. Off: it spins on empty lists.
    bulk_free_clamp: bool = True
    # Johannes Weiner's "freelist migratetype hygiene" (6.10), one flag per patch that
    # changes an outcome (research R8 §2); each off = the code before that patch.
    # 17edeb5d3f76: free_pcppages_bulk looks each page's type up under zone->lock (no
    # cached page->index type, no has_isolate_pageblock() gate).
    pcp_free_lookup: bool = False
    # e6cf9e1c4cde: merging with a compatible buddy of another type retypes its block.
    merge_fixup_type: bool = False
    # b54ccd3c6bac: __isolate_free_page moves the free pages of the blocks it retypes.
    isolate_free_moves: bool = False
    # 2dd482ba627d: move_freepages_block moves nothing when its block starts outside the
    # zone (before: from the pivot pfn to the block end).
    move_block_zone_edge: bool = False
    # c0cd6f557b90: claiming a block on fallback is a transaction; an unclaimed block keeps
    # the remainder of the stolen buddy on its own type's lists.
    steal_transaction: bool = False
    # e0932b6c1f94: NR_FREE_PAGES / NR_FREE_CMA_PAGES change only where pages join or
    # leave a free list (account_freepages), which WARNs when the list is not the block's.
    account_on_lists: bool = False
    # faeec8e23c10 (6.13): split_large_buddy() does not pfn_to_page() past the block.
    split_large_buddy_end: bool = False
    # David Hildenbrand's proposal a) / v6.17 "Make MIGRATE_ISOLATE a standalone bit":
    # isolation sets a separate bit and keeps the migratetype for the undo.
    isolate_bit: bool = False
