"""Page conservation: every pfn of the zone is exactly one of: in one free block, on one
pcp list, owned by one allocation, or not memory (hole, reserved, offline). The
strongest check: a lost, duplicated or double-handed page breaks it."""

from __future__ import annotations

from collections.abc import Iterator

from zonesim.check.registry import Violation, invariant
from zonesim.model.memmap import (
    NIL,
    PG_buddy,
    PG_nomap,
    PG_offline_section,
    PG_reserved,
)
from zonesim.model.zone import Zone

_NOT_MEMORY = PG_nomap | PG_reserved | PG_offline_section


@invariant(
    "page_conservation",
    "every pfn is exactly one of: free (one buddy block), on one pcp list, owned by one "
    "allocation, or hole/reserved/offline",
    "the page_owner / bad_page() view: no page lost, none handed out twice",
    "end",
)
def page_conservation(zone: Zone) -> Iterator[Violation]:
    m = zone.memmap
    n = m.nr
    holder = bytearray(n)  # how many roles claim each page

    def claim(start: int, count: int) -> None:
        for i in range(max(start, 0), min(start + count, n)):
            holder[i] += 1

    for i in range(n):
        f = m.flags[i]
        if f & _NOT_MEMORY:
            holder[i] += 1
        if f & PG_buddy:
            claim(i, 1 << m.order[i])
        elif m.list_id[i] != NIL and m.list_id[i] >= zone.nr_free_lists:
            claim(i, 1 << m.order[i])  # a pcp page: its order travels with it
        if m.owner[i] != NIL:
            holder[i] += 1
    for i in range(n):
        if m.flags[i] & PG_buddy and (m.list_id[i] == NIL or m.list_id[i] >= zone.nr_free_lists):
            pfn = i + zone.start_pfn
            yield Violation(
                "page_conservation",
                f"PageBuddy pfn {pfn:#x} (order {m.order[i]}) is on no free list: "
                "nobody can allocate it",
                pfn,
                m.order[i],
            )
            return
    for a in zone.allocations.values():
        i = a.pfn - zone.start_pfn
        if m.owner[i : i + a.nr].count(a.id) != a.nr:
            yield Violation("page_conservation",
                            f"allocation {a.id} ({a.nr} pages at pfn {a.pfn:#x}) no longer owns "
                            "all of its pages: another owner took some", a.pfn, a.order, "owner")
            return
        if a.id != m.owner[a.pfn - zone.start_pfn]:
            yield Violation(
                "page_conservation",
                f"allocation {a.id} ({a.nr} pages) no longer owns its first pfn {a.pfn:#x}",
                a.pfn,
                a.order,
                "owner",
            )
    # PageOffline pages held by a driver (virtio-mem fake offline) carry an allocation id,
    # so they are counted above like any allocation.
    for i in range(n):
        if holder[i] != 1:
            pfn = i + zone.start_pfn
            what = (
                "lost: neither free, on a pcp list, allocated nor offline"
                if holder[i] == 0
                else f"claimed {holder[i]} times"
            )
            roles = _roles(zone, i)
            yield Violation(
                "page_conservation",
                f"pfn {pfn:#x} is {what} ({roles})",
                pfn,
                expected=1,
                actual=holder[i],
            )
            return  # the first is what a reader needs; the rest usually follow from it


def _roles(zone: Zone, i: int) -> str:
    m = zone.memmap
    out = []
    if m.owner[i] != NIL:
        out.append(f"owner allocation {m.owner[i]}")
    if m.list_id[i] != NIL:
        out.append(f"on {zone.describe_list(m.list_id[i])}")
    if m.flags[i] & PG_buddy:
        out.append(f"PageBuddy order {m.order[i]}")
    return ", ".join(out) or "no role"
