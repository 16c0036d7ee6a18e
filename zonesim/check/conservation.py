"""Page conservation: every pfn of the zone is exactly one of: in one free block, on one
pcp list, owned by one allocation, or not memory (hole, reserved, offline). The
strongest check: a lost, duplicated or double-handed page breaks it."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from zonesim.check.invariant import Violation, invariant
from zonesim.model.memmap import NIL, PG_buddy
from zonesim.model.types import MIGRATE_TYPES
from zonesim.model.zone import Zone


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
    # Every role claims a pfn range [lo, hi). Sorted, the claims must tile [0, n) exactly:
    # O(claims log claims), no Python object per page (a 1M-page zone has a few thousand
    # claims, not a million counters).
    claims: list[tuple[int, int]] = []  # free, pcp and absent ranges (no owner)
    add = claims.append
    for lid in range(zone.nr_free_lists):
        size = 1 << (lid // MIGRATE_TYPES)
        for i in m.list_iter(lid):
            add((max(i, 0), min(i + size, n)))
    for lid in range(zone.nr_free_lists, len(m.lists_head)):
        for i in m.list_iter(lid):
            add((max(i, 0), min(i + (1 << m.order[i]), n)))  # a pcp page: its order
    for start, end in zone.absent_ranges:
        i = start - zone.start_pfn
        add((max(i, 0), min(i + end - start, n)))
    unowned = list(claims)
    for a in zone.allocations.values():
        i = a.pfn - zone.start_pfn
        add((max(i, 0), min(i + a.nr, n)))
    bad = _first_miscounted(claims, n)
    if bad is not None:
        i, count = bad
        pfn = i + zone.start_pfn
        what = (
            "lost: neither free, on a pcp list, allocated nor offline"
            if count == 0
            else f"claimed {count} times"
        )
        yield Violation(
            "page_conservation",
            f"pfn {pfn:#x} is {what} ({_roles(zone, i)})",
            pfn,
            expected=1,
            actual=count,
        )
        return
    # Slices compared with a run of one value: a memcmp, where array.count() would
    # compare a Python int per page.
    for a in zone.allocations.values():
        i = a.pfn - zone.start_pfn
        if m.owner[i : i + a.nr] != array("i", [a.id]) * a.nr:
            yield Violation(
                "page_conservation",
                f"allocation {a.id} ({a.nr} pages at pfn {a.pfn:#x}) no longer owns "
                "all of its pages: another owner took some",
                a.pfn,
                a.order,
                "owner",
            )
            return
    # PageOffline pages held by a driver (virtio-mem fake offline) carry an allocation id,
    # so they are counted above like any allocation. A page may still carry an owner it
    # does not belong to (in use and free at once): every pfn the claims give to no
    # allocation -- free, on a pcp list, absent -- must have no owner.
    for lo, hi in _pieces(_runs(unowned)):
        want = _NIL_RUN if hi - lo == _PIECE else _NIL_RUN[: hi - lo]
        if m.owner[lo:hi] != want:
            i = next(j for j in range(lo, hi) if m.owner[j] != NIL)
            pfn = i + zone.start_pfn
            yield Violation("page_conservation",
                            f"pfn {pfn:#x} is marked in use by allocation {m.owner[i]}, which "
                            f"does not hold it ({_roles(zone, i)})", pfn, expected=1, actual=2)
            return


_PIECE = 1 << 16  # compared at most this many pages at a time: no zone-sized temporaries
_NIL_RUN = array("i", [NIL]) * _PIECE


def _pieces(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(p, min(p + _PIECE, hi)) for lo, hi in runs for p in range(lo, hi, _PIECE)]


def _runs(claims: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent ranges merged (a fresh zone's free blocks are one run): few, long
    comparisons instead of one per block."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(claims):
        if lo >= hi:
            continue
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _first_miscounted(claims: list[tuple[int, int]], n: int) -> tuple[int, int] | None:
    """The lowest index in [0, n) not claimed exactly once, with its claim count."""
    claims = sorted(c for c in claims if c[0] < c[1])
    covered = 0  # [0, covered) is claimed exactly once so far
    for k, (lo, hi) in enumerate(claims):
        if lo > covered:
            return covered, 0
        if lo < covered:
            # lo is claimed by this range and by an earlier one still open
            return lo, sum(1 for a, b in claims[: k + 1] if a <= lo < b) + sum(
                1 for a, _ in claims[k + 1 :] if a == lo)
        covered = hi
    if covered < n:
        return covered, 0
    return None


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
