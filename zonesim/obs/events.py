"""The event vocabulary of zonesim's logs: what ``zonesim log --event`` accepts.

``MODEL_EVENTS`` are the records the kernel paths write (``Kernel.trace``; a test keeps
this table equal to the calls in ``zonesim/ops``). ``OBSERVER_EVENTS`` are added when an
execution is observed (``zonesim run --log``, ``report``, ``log --format perfetto|ftrace``
of an artifact): op starts, lock holds, and single pages moving between the buddy and a
pcp list (the data of the kernel's ``mm_page_alloc_zone_locked`` / ``mm_page_pcpu_drain``).
"""

from __future__ import annotations

MODEL_EVENTS: dict[str, str] = {
    "alloc_contig_migrate_range": "__alloc_contig_migrate_range() gave up (result)",
    "alloc_contig_range": "alloc_contig_range() starts: the range and what it isolates",
    "alloc_contig_range_done": "alloc_contig_range() returns (result)",
    "alloc_pages": "__alloc_pages(): pfn handed out, or NULL",
    "cma_alloc": "cma_alloc() returns (pfn or errno)",
    "cma_release": "cma_release()",
    "cma_window": "cma_alloc() tries a window of the bitmap",
    "drain_all_pages": "__drain_all_pages(): the CPUs whose pcp it drained",
    "free_one_page": "free_one_page(): a block merged into the buddy under zone->lock",
    "free_pages": "__free_pages(): an allocation's pages freed",
    "isolate_failed": "set_migratetype_isolate() refused a pageblock (-EBUSY)",
    "migrate_page": "a page migrated to a new pfn",
    "offline_pages": "offline_pages() (result)",
    "online_pages": "online_pages()",
    "pageblock_isolated": "set_migratetype_isolate(): pageblock now ISOLATE",
    "pageblock_unisolated": "unset_migratetype_isolate(): pageblock back to its type",
    "pageset_update": "pageset_update(): one CPU's pcp high and batch written (target)",
    "highatomic_reserved": "reserve_highatomic_pageblock(): a pageblock becomes HIGHATOMIC",
    "highatomic_unreserved": "unreserve_highatomic_pageblock(): a reserved pageblock given back",
    "pcp_drain": "drain_pages_zone(): a CPU's pcp lists given back (count)",
    "pcp_trylock_failed": "v6.0: spin_trylock(&pcp->lock) failed; the page goes another way",
    "pcp_free": "free_unref_page_commit(): a page onto a pcp list (and what spilled)",
    "pcp_update": "zone_pcp_update(): new pcp high and batch",
    "soft_offline_page": "soft_offline_page() (result)",
    "split_free_page": "split_free_page() at a pageblock boundary",
    "test_pages_isolated": "test_pages_isolated() (result)",
    "virtio_mem_plug": "virtio-mem plugs a range back",
    "virtio_mem_unplug": "virtio-mem unplugs a range (result)",
}

OBSERVER_EVENTS: dict[str, str] = {
    "op_start": "a CPU starts a scenario op",
    "lock_acquired": "a CPU takes a modelled lock (zone->lock, cma->lock, a mutex)",
    "lock_released": "a CPU releases it",
    "rmqueue_page": "a page taken from the buddy under zone->lock (percpu_refill: for a pcp)",
    "pcp_drain_page": "a page given back from a pcp list to the buddy",
}

ALL_EVENTS: dict[str, str] = {**MODEL_EVENTS, **OBSERVER_EVENTS}

