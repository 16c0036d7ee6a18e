"""What a step touches without holding the lock that protects it: the objects of a lockless
access, and when two accesses conflict.

The scheduler knows no pages, so an object is an opaque ``(kind, key)`` pair chosen by the
kernel paths — ``("pb", 3)`` for pageblock 3's bits, ``("page", 0x200)`` for the
PageBuddy/order of pfn 0x200, ``("lock", "pcp[cpu0]")`` for a lock word — and a key of
``None`` stands for every object of that kind (a scan that will read pageblock after
pageblock). Two accesses conflict when one writes an object the other reads or writes.

Used in two places (DESIGN.md §3):

- a CPU parked at a switch point *declares* the lockless access its next step begins with
  (``switch_point(label, access)``): a reader about to peek at PageBuddy, a ``spin_trylock``,
  a sysctl about to rewrite another CPU's ``pcp->high``;
- a CPU inside a lock-held or IRQ-off section reaches a *window* right after it wrote (or
  right before it reads) such an object (``window(label, access)``). Holding a lock counts
  as writing its lock word, so a ``spin_trylock`` of that lock conflicts with every window
  of the holder.

A window is a scheduling decision only when some other CPU is parked with a conflicting
declared access: that CPU, and only it, can observe the half-done section (see
docs/lockless.md for the argument and its limits).
"""

from __future__ import annotations

from dataclasses import dataclass

#: (kind, key); key None = every object of the kind.
Obj = tuple[str, int | str | None]


def _hits(a: Obj, b: Obj) -> bool:
    return a[0] == b[0] and (a[1] is None or b[1] is None or a[1] == b[1])


@dataclass(frozen=True, slots=True)
class Access:
    """The objects one step reads and writes outside the locks it holds."""

    reads: tuple[Obj, ...] = ()
    writes: tuple[Obj, ...] = ()

    def conflicts(self, other: Access) -> bool:
        """True when one side writes an object the other reads or writes."""
        for w in self.writes:
            for o in other.reads:
                if _hits(w, o):
                    return True
            for o in other.writes:
                if _hits(w, o):
                    return True
        for w in other.writes:
            for o in self.reads:
                if _hits(w, o):
                    return True
        return False

    def holding(self, locks: list[str]) -> Access:
        """This access plus the lock words of ``locks`` (a holder "writes" its locks)."""
        if not locks:
            return self
        return Access(self.reads, self.writes + tuple(("lock", n) for n in locks))

    def describe(self) -> str:
        """``reads pb[3]; writes page[*]`` for reports and docs."""

        def one(o: Obj) -> str:
            return f"{o[0]}[{'*' if o[1] is None else o[1]}]"

        parts = []
        if self.reads:
            parts.append("reads " + ", ".join(one(o) for o in self.reads))
        if self.writes:
            parts.append("writes " + ", ".join(one(o) for o in self.writes))
        return "; ".join(parts) or "nothing"


def reads(*objs: Obj) -> Access:
    return Access(reads=objs)


def writes(*objs: Obj) -> Access:
    return Access(writes=objs)


# -- step footprints (partial-order reduction, docs/performance.md) ----------------------
#
# A *step* is what runs between two recorded decisions. Its footprint is every modelled
# shared object it read or wrote, at the coarseness of the objects above plus:
#
# - ``("zone", None)``: the state zone->lock protects (free lists, nr_free, the counters,
#   the allocation table) -- one object, so zone->lock sections all conflict;
# - ``("pcp", cpu)``: a CPU's pcp lists (its count/high/batch are ``pcp_count``/``pcp_high``);
# - ``("work", cpu)``: the queue of work items a CPU runs at its next switch point;
# - ``("parked", cpu)``: where a CPU is parked and the access it declared there, which
#   decides whether a lock holder's window is a decision (zonesim.sched.window).
#
# Every step reads the zone, every pageblock's bits, its own CPU's work queue and writes its
# own parked state (what the code between two switch points reads without a declaration is
# covered that way); lock holders add what their lock protects (``_Lock.covers``).

ZONE: Obj = ("zone", None)
ALL_PAGES: Obj = ("page", None)
ALL_PAGEBLOCKS: Obj = ("pb", None)
#: what a zone->lock holder may touch: everything of the zone.
ZONE_LOCK_COVERS: tuple[Obj, ...] = (ZONE, ALL_PAGES, ALL_PAGEBLOCKS)
#: an allocation made, freed or migrated outside zone->lock: the allocation table (and
#: its id and token counters) is zone state, and the allocation's pages are written.
ALLOCATION_WRITES: tuple[Obj, ...] = (ZONE, ALL_PAGES)


def pcp_objects(cpu: int) -> tuple[Obj, ...]:
    """A CPU's pcp lists, count, high and batch: what its pcp lock (5.15: IRQs off on
    that CPU; v6.0: ``pcp->lock``) protects -- and the pages: the lists run through
    page->lru of whatever pages are on them, and a refill or spill moves pages between
    them and the buddy (coarse: every page)."""
    return (("pcp", cpu), ("pcp_count", cpu), ("pcp_high", cpu), ALL_PAGES)


def _conflict(writes: set[Obj], other_reads: set[Obj], other_writes: set[Obj]) -> bool:
    """Does one of ``writes`` hit an object of the other step (either key may be None)?"""
    for w in writes:
        kind, key = w
        if key is None:
            for o in other_writes:
                if o[0] == kind:
                    return True
            for o in other_reads:
                if o[0] == kind:
                    return True
        elif (w in other_writes or w in other_reads or (kind, None) in other_writes
              or (kind, None) in other_reads):
            return True
    return False


class Footprint:
    """The objects one step read and wrote, who ran it and how it ended.

    ``cpus``: every CPU that ran in the step (more than one when the baton moved without
    a decision: a CPU blocked and the only runnable one took over). ``clean``: one CPU ran
    the whole step, from one of its switch points to the next one, where the next decision
    was taken with it as the running CPU, and no window of a lock-held section was passed
    on the way (its code is a single transition of that CPU, in the sense of
    partial-order reduction)."""

    __slots__ = ("clean", "cpu", "cpus", "observed", "reads", "windowed", "writes")

    def __init__(self, cpu: str | None = None) -> None:
        self.cpu = cpu
        self.cpus: set[str] = set() if cpu is None else {cpu}
        self.reads: set[Obj] = set()
        self.writes: set[Obj] = set()
        self.observed: set[Obj] = set()  # writes seen on the state (zonesim.sched.steps)
        self.windowed = False
        self.clean = False

    def touch(self, obj: Obj, write: bool) -> None:
        (self.writes if write else self.reads).add(obj)

    def conflicts(self, other: Footprint) -> bool:
        """True when one side writes an object the other reads or writes (a key of None
        stands for every object of its kind)."""
        return (_conflict(self.writes, other.reads, other.writes)
                or _conflict(other.writes, self.reads, self.writes))

    def covers(self, obj: Obj, write: bool) -> bool:
        """Does this footprint declare ``obj`` (written, if ``write``)?"""
        pool = self.writes if write else self.writes | self.reads
        return obj in pool or (obj[0], None) in pool

    def __repr__(self) -> str:
        def one(o: Obj) -> str:
            return f"{o[0]}[{'*' if o[1] is None else o[1]}]"

        r = ", ".join(sorted(one(o) for o in self.reads))
        w = ", ".join(sorted(one(o) for o in self.writes))
        return f"<step {sorted(self.cpus)} reads {r}; writes {w}{' clean' if self.clean else ''}>"
