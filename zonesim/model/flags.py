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
    # David Hildenbrand's proposal a) / v6.17 "Make MIGRATE_ISOLATE a standalone bit":
    # isolation sets a separate bit and keeps the migratetype for the undo.
    isolate_bit: bool = False
