"""The memmap: per-page state in pfn-indexed arrays, and intrusive lists over them.

The kernel keeps a 64-byte ``struct page`` per pfn and threads free and pcp pages on
``page->lru``. The model keeps one typed array per field (20 bytes a page in all) and
threads lists through ``prev``/``next`` arrays, so adding at head or tail and deleting
are O(1) and list order is deterministic, exactly like ``list_add``/``list_add_tail``/
``list_del``. Indexes are relative to the zone's first pfn; ``NIL`` (-1) ends a list.

Every list of the zone (``free_area[order].free_list[mt]`` and each CPU's pcp lists)
is one id in the same table: a page is on at most one list, recorded in ``list_id``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

NIL = -1

# page->flags bits the model needs (include/linux/page-flags.h names).
PG_buddy = 1 << 0  # PageBuddy: head of a free block in the buddy; order in ``order``
PG_head = 1 << 1  # PageHead: first page of a compound allocation
PG_tail = 1 << 2  # PageTail
PG_lru = 1 << 3  # PageLRU: on an LRU list, migratable
PG_movable = 1 << 4  # __PageMovable: non-LRU movable (balloon, zsmalloc)
PG_offline = 1 << 5  # PageOffline: logically offline (virtio-mem fake offline)
PG_reserved = 1 << 6  # PageReserved: never handed to the buddy
PG_nomap = 1 << 7  # no memmap at all (a hole): any access is a kernel oops
PG_hwpoison = 1 << 8  # PageHWPoison
PG_offline_section = 1 << 9  # section offlined by offline_pages (memmap stays, pages gone)
PG_hugetlb = 1 << 10  # PageHuge (folio_test_hugetlb): on the head of a hugetlb page


class Memmap:
    """Per-page arrays for ``nr`` pages. Twenty bytes a page; no Python object per page."""

    __slots__ = (
        "cached_mt",
        "cma_listed",
        "flags",
        "free_listed",
        "list_id",
        "lists_head",
        "lists_len",
        "lists_tail",
        "next",
        "nr",
        "order",
        "owner",
        "prev",
        "refcount",
        "relinked",
        "touched",
        "weight_cma",
        "weight_free",
    )

    def __init__(self, nr: int, nr_lists: int) -> None:
        self.nr = nr
        self.flags = array("H", bytes(2 * nr))
        # page_private(): buddy order of a free head; compound order of a PageHead page;
        # order of a page sitting on a pcp list (the kernel packs it into page->index).
        self.order = array("b", bytes(nr))
        # page->index while on a pcp list / after __rmqueue_smallest: the cached migratetype
        self.cached_mt = array("b", bytes(nr))
        self.refcount = array("h", bytes(2 * nr))
        self.owner = array("i", [NIL]) * nr  # allocation id owning the page, or NIL
        self.prev = array("i", [NIL]) * nr
        self.next = array("i", [NIL]) * nr
        self.list_id = array("h", [NIL]) * nr
        self.lists_head = [NIL] * nr_lists
        self.lists_tail = [NIL] * nr_lists
        self.lists_len = [0] * nr_lists
        # Running totals the step invariants compare with NR_FREE_PAGES and
        # NR_FREE_CMA_PAGES: pages on the free lists (ISOLATE excluded) and on the CMA
        # lists, kept by list_add/list_del with a per-list weight (2^order, or 0) that the
        # zone sets; the quiescent checks recompute them from the lists.
        self.weight_free = [0] * nr_lists
        self.weight_cma = [0] * nr_lists
        self.free_listed = 0
        self.cma_listed = 0
        # What the list operations changed since the checker last looked: the pages whose
        # links or list changed (list_add: the page and the old first; list_del: the
        # neighbours), so the quiescent checks look at these only (zonesim.check.fused);
        # ``relinked``: a page was added while still on a list (a corrupting double add:
        # the next check walks every list).
        self.touched: list[int] = []
        self.relinked = True  # nothing checked yet

    _ARRAYS = ("flags", "order", "cached_mt", "refcount", "owner", "prev", "next", "list_id")

    def copy_from(self, other: Memmap) -> None:
        """Become a copy of ``other`` (same size) without allocating: the arrays are
        overwritten in place (a memcpy each), the per-list tables copied."""
        for name in self._ARRAYS:
            getattr(self, name)[:] = getattr(other, name)
        self.lists_head[:] = other.lists_head
        self.lists_tail[:] = other.lists_tail
        self.lists_len[:] = other.lists_len
        self.touched[:] = other.touched
        self.relinked = other.relinked
        self.weight_free = other.weight_free
        self.weight_cma = other.weight_cma
        self.free_listed = other.free_listed
        self.cma_listed = other.cma_listed

    def clone(self) -> Memmap:
        new = Memmap.__new__(Memmap)
        new.nr = self.nr
        for name in self._ARRAYS:
            setattr(new, name, array(getattr(self, name).typecode, getattr(self, name)))
        new.touched = list(self.touched)
        new.relinked = self.relinked
        new.lists_head = list(self.lists_head)
        new.lists_tail = list(self.lists_tail)
        new.lists_len = list(self.lists_len)
        new.weight_free = self.weight_free  # never written after the zone sets them
        new.weight_cma = self.weight_cma
        new.free_listed = self.free_listed
        new.cma_listed = self.cma_listed
        return new

    # -- intrusive lists (include/linux/list.h) --------------------------------------

    def list_add(self, i: int, lid: int) -> None:
        """list_add(): insert page ``i`` at the head of list ``lid``."""
        if self.list_id[i] != NIL:
            self.relinked = True
        first = self.lists_head[lid]
        self.prev[i] = NIL
        self.next[i] = first
        if first == NIL:
            self.lists_tail[lid] = i
        else:
            self.prev[first] = i
        self.lists_head[lid] = i
        self.list_id[i] = lid
        self.lists_len[lid] += 1
        self.free_listed += self.weight_free[lid]
        self.cma_listed += self.weight_cma[lid]
        t = self.touched
        t.append(i)
        t.append(first)

    def list_add_tail(self, i: int, lid: int) -> None:
        """list_add_tail(): insert page ``i`` at the tail of list ``lid``."""
        if self.list_id[i] != NIL:
            self.relinked = True
        last = self.lists_tail[lid]
        self.next[i] = NIL
        self.prev[i] = last
        if last == NIL:
            self.lists_head[lid] = i
        else:
            self.next[last] = i
        self.lists_tail[lid] = i
        self.list_id[i] = lid
        self.lists_len[lid] += 1
        self.free_listed += self.weight_free[lid]
        self.cma_listed += self.weight_cma[lid]
        t = self.touched
        t.append(i)
        t.append(last)

    def list_del(self, i: int) -> None:
        """list_del(): unlink page ``i`` from whatever list holds it."""
        lid = self.list_id[i]
        if lid == NIL:
            raise ValueError(f"page index {i} is on no list")
        p, n = self.prev[i], self.next[i]
        if p == NIL:
            self.lists_head[lid] = n
        else:
            self.next[p] = n
        if n == NIL:
            self.lists_tail[lid] = p
        else:
            self.prev[n] = p
        self.prev[i] = NIL
        self.next[i] = NIL
        self.list_id[i] = NIL
        self.lists_len[lid] -= 1
        self.free_listed -= self.weight_free[lid]
        self.cma_listed -= self.weight_cma[lid]
        t = self.touched
        t.append(p)
        t.append(n)

    def list_iter(self, lid: int) -> Iterator[int]:
        """Page indexes of list ``lid`` from head to tail."""
        i = self.lists_head[lid]
        while i != NIL:
            yield i
            i = self.next[i]

    @staticmethod
    def bytes_per_page() -> int:
        """Bytes of array storage per simulated page (the memory budget is 32)."""
        return 2 + 1 + 1 + 2 + 4 + 4 + 4 + 2
