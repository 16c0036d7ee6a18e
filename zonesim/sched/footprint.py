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
# shared object it read, wrote or added to:
#
# - the zone's state, each object reported by the container that holds it
#   (zonesim.model.tap): ``("page", pfn)``, ``("fl", list id)`` (a free list),
#   ``("nr_free", order)`` and ``("ctr", name)`` (counters only ever added to),
#   ``("pb", block)``, ``("alloc", id)``, ``("tok", token)``; ``("alloc_ids", None)`` the
#   id and token counters (every allocation reads and advances them);
#   ``("transient", None)`` the ranges being isolated (the checker's exemption list);
# - ``("zone", None)``: the rest of the zone's scalars (nr_isolate_pageblock,
#   nr_reserved_highatomic, managed/present pages, pcp high/batch defaults, ...): read
#   by every step, written when the probe sees one change;
# - ``("pcp", cpu)``: a CPU's pcp lists (its count/high/batch are ``pcp_count``/``pcp_high``);
# - ``("work", cpu)``: the queue of work items a CPU runs at its next switch point;
# - ``("parked", cpu)``: the access a CPU declared at the switch point it is parked at,
#   which decides whether a lock holder's window is a decision (zonesim.sched.window);
# - ``("lock", name)``: a lock word, written by the steps that change it: one that takes
#   a lock and ends holding it, one that releases a lock taken in an earlier step, one
#   that queues on a held lock; read by a trylock (declared) and by the step that resumes
#   after a handoff. A step that takes and releases it (a whole critical section) reads
#   it (found it free, left it free: two such steps commute when their data does) -- or,
#   for DPOR (``StepRecorder.sections_commute``), does not touch it at all. A step that
#   only goes on holding a lock does not touch the word, only what the lock covers.

ZONE: Obj = ("zone", None)
ALL_PAGES: Obj = ("page", None)
ALL_PAGEBLOCKS: Obj = ("pb", None)


def pcp_objects(cpu: int) -> tuple[Obj, ...]:
    """A CPU's pcp lists, count, high and batch: what its pcp lock (5.15: IRQs off on
    that CPU; v6.0: ``pcp->lock``) protects. The pages on the lists are tapped."""
    return (("pcp", cpu), ("pcp_count", cpu), ("pcp_high", cpu))


def _conflict(writes: set[Obj], *pools: set[Obj]) -> bool:
    """Does one of ``writes`` hit an object of ``pools`` (either key may be None)?"""
    if not writes:
        return False
    for w in writes:
        kind, key = w
        if key is None:
            for pool in pools:
                for o in pool:
                    if o[0] == kind:
                        return True
        else:
            wild = (kind, None)
            for pool in pools:
                if w in pool or wild in pool:
                    return True
    return False


class Footprint:
    """The objects one step read and wrote, who ran it and how it ended.

    ``cpus``: every CPU that ran in the step (more than one when the baton moved without
    a decision: a CPU blocked and the only runnable one took over). ``clean``: one CPU ran
    the whole step, from one of its switch points to where it next stopped (its next
    switch point, or blocked, or finished): its code is a single transition of that CPU,
    in the sense of partial-order reduction. Window sites passed on the way are in the
    footprint (``pk:`` reads) and do not make it unclean."""

    __slots__ = ("adds", "clean", "cpu", "cpus", "end", "observed", "reads", "writes")

    def __init__(self, cpu: str | None = None) -> None:
        self.cpu = cpu
        self.cpus: set[str] = set() if cpu is None else {cpu}
        self.reads: set[Obj] = set()
        self.writes: set[Obj] = set()
        # counters changed only by += / -= (zonesim.model.tap): adds commute with adds
        self.adds: set[Obj] = set()
        self.observed: set[Obj] = set()  # writes seen on the state (zonesim.sched.steps)
        self.clean = False
        self.end = ""  # the kind of decision that ended it (zonesim.sched.steps)

    def touch(self, obj: Obj, write: bool) -> None:
        (self.writes if write else self.reads).add(obj)

    def conflicts(self, other: Footprint) -> bool:
        """True when one side writes an object the other reads, writes or adds to, or
        adds to one the other reads (a key of None stands for every object of its
        kind). Two adds to one counter commute."""
        return (_conflict(self.writes, other.reads, other.adds, other.writes)
                or _conflict(other.writes, self.reads, self.adds, self.writes)
                or _conflict(self.adds, other.reads)
                or _conflict(other.adds, self.reads))

    def covers(self, obj: Obj, write: bool) -> bool:
        """Does this footprint declare ``obj`` (written, if ``write``)?"""
        pool = self.writes if write else self.writes | self.reads
        return obj in pool or (obj[0], None) in pool

    def __repr__(self) -> str:
        def one(o: Obj) -> str:
            return f"{o[0]}[{'*' if o[1] is None else o[1]}]"

        r = ", ".join(sorted(one(o) for o in self.reads))
        w = ", ".join(sorted(one(o) for o in self.writes))
        a = ", ".join(sorted(one(o) for o in self.adds))
        return (f"<step {sorted(self.cpus)} reads {r}; writes {w}; adds {a}"
                f"{' clean' if self.clean else ''}>")
