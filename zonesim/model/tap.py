"""Read and write taps on the zone's state, for the step footprints of partial-order
reduction (zonesim.sched.steps, docs/performance.md#partial-order-reduction).

A reducing exploration must know which modelled objects each step read and wrote: two
steps of different CPUs commute when neither writes what the other touches. Declaring
that by hand at every access of ``mm/page_alloc.c``'s model would be as large as the
model and could not be audited, so the containers that hold the zone's state are
replaced, for such an exploration only, by subclasses that report every access:

==========================================  =============================  ==============
state                                       object                         reported by
==========================================  =============================  ==============
a page's flags/order/refcount/owner/links   ``("page", pfn)``              reads here;
                                                                           writes by
                                                                           ``Memmap.observer``
a free list's head, tail, length            ``("fl", list id)``            reads, writes
a pcp list's head, tail, length             ``("pcp", cpu)``               reads, writes
``free_area[order].nr_free``                ``("nr_free", order)``         *adds*
a pageblock's bits                          ``("pb", block)``              reads, writes
an allocation (the table entry and fields)  ``("alloc", id)``              reads, writes
the token table (data token -> allocation)  ``("tok", token)``             reads, writes
==========================================  =============================  ==============

``free_area[order].nr_free`` and ``NR_FREE_PAGES``/``NR_FREE_CMA_PAGES`` only ever change
by ``+=``/``-=`` (``__mod_zone_freepage_state``, ``add_to_free_list``): two such updates
commute, so they are *adds*, which conflict with reads but not with each other. Their few
readers (the watermark check, ``__rmqueue``'s CMA balance) declare the read with
``tap_read`` (tests/sched/test_footprints.py checks by AST that every read does, and that
nothing assigns them except by ``+=``/``-=``).

Nothing is reported while ``TAP.read`` is None: outside a reducing execution and while
the engine's checks, the probe and the scheduler read the zone (``paused``). An
exploration runs one execution at a time per process, so one module-level tap serves
every container.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from zonesim.model.tapcore import (
    NR_FREE_CMA_PAGES_OBJ,
    NR_FREE_PAGES_OBJ,
    NR_ISOLATE_PAGEBLOCK_OBJ,
    TAP,
    Obj,
    Report,
    Tap,
    paused,
    tap_read,
)
from zonesim.model.zone import Allocation, Zone

__all__ = [
    "NR_FREE_CMA_PAGES_OBJ", "NR_FREE_PAGES_OBJ", "NR_ISOLATE_PAGEBLOCK_OBJ", "TAP", "Obj",
    "Report", "Tap", "attach", "detach", "instrument", "paused", "tap_read",
]


# -- the containers ----------------------------------------------------------------------


def _indexes(i: Any, n: int) -> range | tuple[int]:
    """The entries a subscript ``i`` of a container of length ``n`` touches."""
    if type(i) is int:
        return (i if i >= 0 else n + i,)
    return range(*i.indices(n))


class PageArray(array):  # type: ignore[type-arg]
    """A memmap array that reports the pages it is read at (writes go through
    ``Memmap.cow``/list operations, which ``Memmap.observer`` already reports)."""

    base: int

    def __getitem__(self, i: Any) -> Any:
        fn = TAP.read
        if fn is not None:
            base = self.base
            for k in _indexes(i, len(self)):
                fn(("page", base + k))
        return array.__getitem__(self, i)


class ListTable(list):  # type: ignore[type-arg]
    """``lists_head``/``lists_tail``/``lists_len``: entry ``lid`` is the object
    ``objs[lid]`` (a free list, or the pcp of the CPU whose list it is)."""

    objs: tuple[Obj, ...]

    def __getitem__(self, i: Any) -> Any:
        fn = TAP.read
        if fn is not None:
            for k in _indexes(i, len(self)):
                fn(self.objs[k])
        return list.__getitem__(self, i)

    def __setitem__(self, i: Any, v: Any) -> None:
        fn = TAP.write
        if fn is not None:
            for k in _indexes(i, len(self)):
                fn(self.objs[k])
        list.__setitem__(self, i, v)


class NrFree(list):  # type: ignore[type-arg]
    """``free_area[order].nr_free``: every store is an add (``+=``/``-=``); reads are
    declared by the readers (``tap_read``)."""

    def __setitem__(self, i: Any, v: Any) -> None:
        fn = TAP.add
        if fn is not None and type(i) is int:
            fn(("nr_free", i))
        list.__setitem__(self, i, v)


class PageblockBits(bytearray):
    """The pageblock flags: entry ``b`` is ``("pb", b + first)``: the zone's pageblock
    number as ``Zone.pageblock`` indexes it, offset to the absolute block number the
    declared accesses use (``pfn >> pageblock_order``)."""

    first: int

    def __getitem__(self, i: Any) -> Any:
        fn = TAP.read
        if fn is not None:
            for k in _indexes(i, len(self)):
                fn(("pb", self.first + k))
        return bytearray.__getitem__(self, i)

    def __setitem__(self, i: Any, v: Any) -> None:
        fn = TAP.write
        if fn is not None:
            for k in _indexes(i, len(self)):
                fn(("pb", self.first + k))
        bytearray.__setitem__(self, i, v)


_ALLOC_FIELDS = frozenset(Allocation.__slots__)


class TappedAllocation(Allocation):
    """An allocation whose field reads and writes are reported as ``("alloc", id)``: a
    CPU may hold one across steps (migration keeps the folio it is moving)."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        fn = TAP.read
        if fn is not None and name in _ALLOC_FIELDS:
            fn(("alloc", object.__getattribute__(self, "id")))
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        fn = TAP.write
        if fn is not None:
            fn(("alloc", object.__getattribute__(self, "id")))
        object.__setattr__(self, name, value)


class KeyedTable(dict):  # type: ignore[type-arg]
    """``zone.allocations`` (kind ``alloc``) and ``zone.by_token`` (kind ``tok``): a key
    is one object; iterating or sizing the table reads all of them."""

    kind: str

    def _r(self, key: Any) -> None:
        fn = TAP.read
        if fn is not None:
            fn((self.kind, key))

    def _w(self, key: Any) -> None:
        fn = TAP.write
        if fn is not None:
            fn((self.kind, key))

    def __getitem__(self, key: Any) -> Any:
        self._r(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._r(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._r(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._w(key)
        if type(value) is Allocation:
            object.__setattr__(value, "__class__", TappedAllocation)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._w(key)
        dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self._w(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._w(key)
        return dict.setdefault(self, key, default)

    def _all(self) -> None:
        self._r(None)

    def __iter__(self) -> Iterator[Any]:
        self._all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._all()
        return dict.keys(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)

    def __bool__(self) -> bool:
        self._all()
        return dict.__len__(self) != 0

    def update(self, *a: Any, **kw: Any) -> None:
        raise TypeError("KeyedTable.update: write the entries one by one (footprints)")

    def clear(self) -> None:
        raise TypeError("KeyedTable.clear: not used by the model (footprints)")

    def popitem(self) -> Any:
        raise TypeError("KeyedTable.popitem: not used by the model (footprints)")


# -- installing them ---------------------------------------------------------------------


def instrument(zone: Zone) -> None:
    """Give ``zone`` tapped containers. The memmap arrays, the list tables and the
    pageblock bits are converted once (they are overwritten in place by ``rollback``
    and stay tapped); the small tables that ``rollback`` rebuilds (``nr_free``, the
    allocation and token tables) are converted again each time (``instrument`` is called
    before every reducing execution)."""
    m = zone.memmap
    if type(m.flags) is not PageArray:
        for name in m._ARRAYS:
            old = getattr(m, name)
            new = PageArray(old.typecode, old)
            new.base = zone.start_pfn
            setattr(m, name, new)
        nfree = zone.nr_free_lists
        per_cpu = zone.geometry.nr_pcp_lists
        objs: tuple[Obj, ...] = tuple(
            ("fl", lid) if lid < nfree else ("pcp", (lid - nfree) // per_cpu)
            for lid in range(len(m.lists_head)))
        for name in ("lists_head", "lists_tail", "lists_len"):
            t = ListTable(getattr(m, name))
            t.objs = objs
            setattr(m, name, t)
    if type(zone.pageblock) is not PageblockBits:
        pb = PageblockBits(zone.pageblock)
        pb.first = zone.first_pageblock
        zone.pageblock = pb
    if type(zone.nr_free) is not NrFree:
        zone.nr_free = NrFree(zone.nr_free)
    if type(zone.allocations) is not KeyedTable:
        table = KeyedTable()
        table.kind = "alloc"
        for aid, a in dict.items(zone.allocations):
            if type(a) is Allocation:
                object.__setattr__(a, "__class__", TappedAllocation)
            dict.__setitem__(table, aid, a)
        zone.allocations = table
    if type(zone.by_token) is not KeyedTable:
        tokens = KeyedTable(dict.items(zone.by_token))
        tokens.kind = "tok"
        zone.by_token = tokens


def attach(read: Report, write: Report, add: Report) -> None:
    """Report to these from now on (the running step's recorder)."""
    TAP.read, TAP.write, TAP.add = read, write, add


def detach() -> None:
    TAP.read = TAP.write = TAP.add = None
