"""The memmap: per-page state in pfn-indexed arrays, and intrusive lists over them.

The kernel keeps a 64-byte ``struct page`` per pfn and threads free and pcp pages on
``page->lru``. The model keeps one typed array per field (20 bytes a page in all) and
threads lists through ``prev``/``next`` arrays, so adding at head or tail and deleting
are O(1) and list order is deterministic, exactly like ``list_add``/``list_add_tail``/
``list_del``. Indexes are relative to the zone's first pfn; ``NIL`` (-1) ends a list.

Every list of the zone (``free_area[order].free_list[mt]`` and each CPU's pcp lists)
is one id in the same table: a page is on at most one list, recorded in ``list_id``.

Copy-on-write (``track`` / ``rollback``): an exploration runs every execution on ONE
zone and puts it back afterwards, so it holds one memmap, not a base and a copy, and the
reset costs what the execution wrote, not the zone's size. Every write to a per-page array
goes through ``cow(i)`` / ``cow_range(i, n)`` first (the list operations below call it
themselves): the first write into a chunk of ``CHUNK`` pages saves the chunk's original
contents. ``dirty`` (one byte a chunk) is also what the end-of-execution checks read to
judge only the part an execution wrote, and a test can read it to see what a step wrote.
Untracked memmaps (boot, clones, direct model tests) have every chunk marked dirty, so
``cow`` saves nothing.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

NIL = -1
_get = array.__getitem__
CHUNK_SHIFT = 6
CHUNK = 1 << CHUNK_SHIFT  # pages per copy-on-write chunk (1.25 KiB of arrays)

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
        "dirty",
        "flags",
        "free_listed",
        "list_id",
        "list_ops",
        "lists_dirty",
        "lists_head",
        "lists_len",
        "lists_tail",
        "next",
        "nr",
        "observer",
        "order",
        "owner",
        "prev",
        "refcount",
        "relinked",
        "saved",
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
        # Counts every change of the per-list tables (heads, tails, lengths): a reader
        # that compares the tables (the coverage census, at every step) skips the
        # comparison while it has not moved.
        self.list_ops = 0
        # The lists whose entries of those tables may have changed since their one reader,
        # the coverage census, last cleared this (every list when the tables were copied
        # wholesale): it compares only these, not all ~100 lists at every handoff.
        self.lists_dirty: set[int] = set(range(nr_lists))
        # Copy-on-write (module doc): 1 = nothing to save for this chunk.
        self.dirty = bytearray(b"\x01") * self.nr_chunks
        self.saved: list[tuple[int, tuple[array[int], ...]]] = []
        # Called with the index of every page about to be written (tests; a footprint
        # recorder): every write passes cow/cow_range or a list operation, so this sees
        # them all. None in normal runs (one attribute test per write).
        self.observer: Callable[[int], None] | None = None

    @property
    def nr_chunks(self) -> int:
        return (self.nr + CHUNK - 1) >> CHUNK_SHIFT

    _ARRAYS = ("flags", "order", "cached_mt", "refcount", "owner", "prev", "next", "list_id")

    def copy_from(self, other: Memmap) -> None:
        """Become a copy of ``other`` (same size) without allocating: the arrays are
        overwritten in place (a memcpy each), the per-list tables copied."""
        for name in self._ARRAYS:
            getattr(self, name)[:] = getattr(other, name)
        self.lists_head[:] = other.lists_head
        self.lists_tail[:] = other.lists_tail
        self.lists_len[:] = other.lists_len
        self.list_ops += 1
        self.lists_dirty.update(range(len(self.lists_len)))
        self.touched[:] = other.touched
        self.relinked = other.relinked
        self.weight_free = other.weight_free
        self.weight_cma = other.weight_cma
        self.free_listed = other.free_listed
        self.cma_listed = other.cma_listed
        self.dirty = bytearray(b"\x01") * self.nr_chunks  # written wholesale: untracked
        self.saved = []

    def clone(self) -> Memmap:
        new = Memmap.__new__(Memmap)
        new.nr = self.nr
        for name in self._ARRAYS:
            setattr(new, name, array(getattr(self, name).typecode, getattr(self, name)))
        new.touched = list(self.touched)
        new.relinked = self.relinked
        new.list_ops = self.list_ops
        new.lists_head = list(self.lists_head)
        new.lists_tail = list(self.lists_tail)
        new.lists_len = list(self.lists_len)
        new.lists_dirty = set(range(len(new.lists_len)))
        new.weight_free = self.weight_free  # never written after the zone sets them
        new.weight_cma = self.weight_cma
        new.free_listed = self.free_listed
        new.cma_listed = self.cma_listed
        new.dirty = bytearray(b"\x01") * new.nr_chunks  # a clone is untracked
        new.saved = []
        new.observer = None
        return new

    # -- copy-on-write ----------------------------------------------------------------

    def cow(self, i: int) -> None:
        """Page ``i`` is about to be written: save its chunk first if this is the
        chunk's first write since ``track()``."""
        if self.observer is not None:
            self.observer(i)
        c = i >> CHUNK_SHIFT
        if not self.dirty[c]:
            self._save(c)

    def cow_range(self, i: int, n: int) -> None:
        """Pages [i, i+n) are about to be written."""
        if self.observer is not None:
            for k in range(i, i + n):
                self.observer(k)
        dirty = self.dirty
        for c in range(i >> CHUNK_SHIFT, ((i + n - 1) >> CHUNK_SHIFT) + 1):
            if not dirty[c]:
                self._save(c)

    def _observe(self, *pages: int) -> None:
        assert self.observer is not None
        for k in pages:
            if k != NIL:
                self.observer(k)

    def _save(self, c: int) -> None:
        lo = c << CHUNK_SHIFT
        hi = min(lo + CHUNK, self.nr)
        # array.__getitem__, not [lo:hi]: saving is bookkeeping, not a read of the pages
        # by the running step (a reducing exploration taps the arrays: zonesim.model.tap)
        part = slice(lo, hi)
        self.saved.append((c, tuple([_get(getattr(self, a), part) for a in self._ARRAYS])))
        self.dirty[c] = 1

    def track(self) -> None:
        """From now on, save every chunk before its first write (``rollback`` restores)."""
        self.dirty = bytearray(self.nr_chunks)
        self.saved = []

    def small_state(self) -> tuple[object, ...]:
        """The per-list tables and running totals (what ``rollback`` does not restore)."""
        return (list(self.lists_head), list(self.lists_tail), list(self.lists_len),
                list(self.touched), self.relinked, self.free_listed, self.cma_listed)

    def restore_small(self, state: tuple[object, ...]) -> None:
        heads, tails, lens, touched, relinked, free_listed, cma_listed = state
        self.lists_head[:] = heads  # type: ignore[call-overload]
        self.lists_tail[:] = tails  # type: ignore[call-overload]
        self.lists_len[:] = lens  # type: ignore[call-overload]
        self.list_ops += 1
        self.lists_dirty.update(range(len(self.lists_len)))
        self.touched[:] = touched  # type: ignore[call-overload]
        self.relinked = bool(relinked)
        self.free_listed = int(free_listed)  # type: ignore[call-overload]
        self.cma_listed = int(cma_listed)  # type: ignore[call-overload]

    def rollback(self) -> None:
        """Restore every chunk written since ``track()`` (and keep tracking). The small
        per-list tables are the zone snapshot's business (``Zone.rollback``)."""
        arrays = [getattr(self, a) for a in self._ARRAYS]
        dirty = self.dirty
        for c, parts in self.saved:
            lo = c << CHUNK_SHIFT
            for arr, part in zip(arrays, parts, strict=True):
                arr[lo : lo + len(part)] = part
            dirty[c] = 0
        self.saved = []

    # -- intrusive lists (include/linux/list.h) --------------------------------------

    def list_add(self, i: int, lid: int) -> None:
        """list_add(): insert page ``i`` at the head of list ``lid``."""
        if self.list_id[i] != NIL:
            self.relinked = True
        first = self.lists_head[lid]
        if self.observer is not None:
            self._observe(i, first)
        dirty = self.dirty
        if not dirty[i >> CHUNK_SHIFT]:
            self._save(i >> CHUNK_SHIFT)
        if first != NIL and not dirty[first >> CHUNK_SHIFT]:
            self._save(first >> CHUNK_SHIFT)
        self.prev[i] = NIL
        self.next[i] = first
        if first == NIL:
            self.lists_tail[lid] = i
        else:
            self.prev[first] = i
        self.lists_head[lid] = i
        self.list_id[i] = lid
        self.lists_len[lid] += 1
        self.list_ops += 1
        self.lists_dirty.add(lid)
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
        if self.observer is not None:
            self._observe(i, last)
        dirty = self.dirty
        if not dirty[i >> CHUNK_SHIFT]:
            self._save(i >> CHUNK_SHIFT)
        if last != NIL and not dirty[last >> CHUNK_SHIFT]:
            self._save(last >> CHUNK_SHIFT)
        self.next[i] = NIL
        self.prev[i] = last
        if last == NIL:
            self.lists_head[lid] = i
        else:
            self.next[last] = i
        self.lists_tail[lid] = i
        self.list_id[i] = lid
        self.lists_len[lid] += 1
        self.list_ops += 1
        self.lists_dirty.add(lid)
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
        if self.observer is not None:
            self._observe(i, p, n)
        dirty = self.dirty
        if not dirty[i >> CHUNK_SHIFT]:
            self._save(i >> CHUNK_SHIFT)
        if p != NIL and not dirty[p >> CHUNK_SHIFT]:
            self._save(p >> CHUNK_SHIFT)
        if n != NIL and not dirty[n >> CHUNK_SHIFT]:
            self._save(n >> CHUNK_SHIFT)
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
        self.list_ops += 1
        self.lists_dirty.add(lid)
        self.free_listed -= self.weight_free[lid]
        self.cma_listed -= self.weight_cma[lid]
        t = self.touched
        t.append(p)
        t.append(n)

    def list_iter(self, lid: int) -> Iterator[int]:
        """Page indexes of list ``lid`` from head to tail. A corrupted list that loops (a
        page linked back to an earlier one) ends after ``nr`` pages -- no list holds more --
        so the invariants that walk it finish and report it (I1's prev links and length,
        page conservation's pages claimed twice) instead of going round for ever."""
        i = self.lists_head[lid]
        left = self.nr
        nxt = self.next
        while i != NIL and left:
            yield i
            i = nxt[i]
            left -= 1

    @staticmethod
    def bytes_per_page() -> int:
        """Bytes of array storage per simulated page (the memory budget is 32)."""
        return 2 + 1 + 1 + 2 + 4 + 4 + 4 + 2
