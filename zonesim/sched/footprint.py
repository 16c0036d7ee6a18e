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
