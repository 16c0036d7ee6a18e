"""Which pageblocks a step touched, and what they look like: the allocator side of a
coverage signature (zonesim.coverage.tracker).

The census keeps, for every list of the zone (each ``free_area[order].free_list[mt]`` and
each CPU's pcp lists), how many blocks on it cover each pageblock -- a free order-10 block
covers both pageblocks of its MAX_ORDER-1 range. ``changed()`` compares the lists' lengths,
heads and tails and the pageblock bitmap with what it saw last (C-speed comparisons of
Python lists and bytes, nothing when the step changed nothing), walks only the lists that
changed, and returns the pageblocks whose census or flags moved: the pageblocks the steps
since the last call touched.

A pageblock's abstract state is what ``/proc/pagetypeinfo`` and a reviewer's diagram show
of it: its flags (migratetype, isolation), the (order, list type) pairs of the free blocks
over it, and whether a pcp list holds pages of it.

Limit: a list whose length, head and tail are all unchanged is taken as unchanged (a page
deleted from its middle and another inserted there in the same step would be missed; no
kernel path of the model does that within one step).
"""

from __future__ import annotations

from zonesim.model.memmap import NIL
from zonesim.model.types import MIGRATE_TYPES, MigrateType
from zonesim.model.zone import PB_ISOLATE_BIT, PB_MT_MASK, Zone

#: (pageblock flags byte, ((order, list migratetype), ...) sorted, pcp holds pages of it)
PageblockState = tuple[int, tuple[tuple[int, int], ...], bool]


class Census:
    """Per-list pageblock counts of one execution's zone, updated on demand."""

    __slots__ = ("_cache", "_counts", "_flags", "_head", "_len", "_ops", "_tail", "_where",
                 "zone")

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        m = zone.memmap
        self._len = list(m.lists_len)
        self._ops = m.list_ops
        self._head = list(m.lists_head)
        self._tail = list(m.lists_tail)
        self._flags = bytes(zone.pageblock)
        m.lists_dirty.clear()  # the tables as of now: a later change marks its list
        self._counts: list[dict[int, int]] = [self._walk(lid) for lid in range(len(self._len))]
        # pageblock -> the lists holding blocks over it; states cached until it changes
        self._where: dict[int, set[int]] = {}
        for lid, counts in enumerate(self._counts):
            for b in counts:
                self._where.setdefault(b, set()).add(lid)
        self._cache: dict[int, PageblockState] = {}

    def _walk(self, lid: int) -> dict[int, int]:
        """Pageblock index -> number of blocks on list ``lid`` that cover it."""
        z = self.zone
        m = z.memmap
        base, pbo, first = z.start_pfn, z.pageblock_order, z.first_pageblock
        free = lid < z.nr_free_lists
        fixed = lid // MIGRATE_TYPES if free else 0
        counts: dict[int, int] = {}
        nxt, orders = m.next, m.order
        i = m.lists_head[lid]
        while i != NIL:
            pfn = i + base
            size = 1 << (fixed if free else orders[i])
            for b in range((pfn >> pbo) - first, ((pfn + size - 1) >> pbo) - first + 1):
                counts[b] = counts.get(b, 0) + 1
            i = nxt[i]
        return counts

    def changed(self) -> list[int]:
        """Pageblocks (zone-relative indexes) whose lists or flags changed since the last
        call, in ascending order."""
        z = self.zone
        m = z.memmap
        touched: set[int] = set()
        nl, nh, nt = m.lists_len, m.lists_head, m.lists_tail
        ol, oh, ot = self._len, self._head, self._tail
        # No list operation since the last look: the tables are equal, skip comparing.
        if m.list_ops != self._ops and (nl != ol or nh != oh or nt != ot):
            where = self._where
            for lid in self._moved(nl, nh, nt):
                before = self._counts[lid]
                after = self._walk(lid)
                for b in before.keys() | after.keys():
                    if before.get(b) != after.get(b):
                        touched.add(b)
                        if b in after:
                            where.setdefault(b, set()).add(lid)
                        else:
                            where[b].discard(lid)
                self._counts[lid] = after
                ol[lid], oh[lid], ot[lid] = nl[lid], nh[lid], nt[lid]
        self._ops = m.list_ops
        flags = z.pageblock
        if flags != self._flags:
            old = self._flags
            touched.update(b for b in range(len(flags)) if flags[b] != old[b])
            self._flags = bytes(flags)
        cache = self._cache
        for b in touched:
            cache.pop(b, None)
        return sorted(touched)

    def _moved(self, nl: list[int], nh: list[int], nt: list[int]) -> list[int]:
        """The lists whose length, head or tail differ from the last look, in ascending
        order. Only the lists a list operation touched since then can (``Memmap.
        lists_dirty``: a step changes a handful of the zone's ~100 lists; comparing all
        of them in slices cost ~10 us at every handoff of the feedback sampler)."""
        ol, oh, ot = self._len, self._head, self._tail
        dirty = self.zone.memmap.lists_dirty
        out = [i for i in sorted(dirty) if nl[i] != ol[i] or nh[i] != oh[i] or nt[i] != ot[i]]
        dirty.clear()
        return out

    def state(self, b: int) -> PageblockState:
        """The abstract state of pageblock ``b`` as of the last ``changed()``."""
        s = self._cache.get(b)
        if s is None:
            nfree = self.zone.nr_free_lists
            lids = sorted(self._where.get(b, ()))
            free = tuple(divmod(lid, MIGRATE_TYPES) for lid in lids if lid < nfree)
            s = self._cache[b] = (self._flags[b], free, bool(lids) and lids[-1] >= nfree)
        return s


def describe_flags(v: int) -> str:
    """A pageblock flags byte as a reviewer reads it: ``MOVABLE``, ``ISOLATE``, or
    ``MOVABLE+isolate`` with the standalone isolate bit (v6.17)."""
    t = MigrateType(v & PB_MT_MASK).name
    return f"{t}+isolate" if v & PB_ISOLATE_BIT else t


def describe_state(s: PageblockState) -> str:
    """``pb(MOVABLE free=0:MOVABLE,10:CMA pcp)``."""
    flags, free, pcp = s
    parts = [describe_flags(flags)]
    if free:
        parts.append("free=" + ",".join(f"{o}:{MigrateType(mt).name}" for o, mt in free))
    if pcp:
        parts.append("pcp")
    return f"pb({' '.join(parts)})"
