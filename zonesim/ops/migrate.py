"""Page migration: migrate_pages() of movable allocations and
__alloc_contig_migrate_range() (v5.15 mm/migrate.c, mm/page_alloc.c).

The model migrates whole allocations (a base page, a compound page, or a non-compound
high-order movable allocation): a target of the same order comes from the normal
allocator (it may fail: -ENOMEM), the data token moves to the target, the source is
freed through the normal free path — so a source in an isolated pageblock lands on
free_list[ISOLATE]. LRU isolation, unmapping and copying are one step; the switch point
before the target allocation is where other CPUs interleave (P6).
"""

from __future__ import annotations

from zonesim.model.memmap import NIL, PG_hugetlb, PG_lru, PG_movable
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.alloc import alloc_pages
from zonesim.ops.errno import EAGAIN, EBUSY, ENOMEM
from zonesim.ops.free import free_pages
from zonesim.ops.kernel import Kernel

MIGRATE_MAX_TRIES = 5  # __alloc_contig_migrate_range gives up after 5 tries: -EBUSY
COMPACT_CLUSTER_MAX = 32  # isolate_migratepages_block isolates at most this many pages a round


def is_movable(k: Kernel, a: Allocation) -> bool:
    """PageLRU(head) or __PageMovable(head), or a hugetlb page (isolate_hugetlb(); the
    model's hstate, the PMD size, is migratable on x86-64)."""
    flags = k.zone.memmap.flags[k.zone.idx(a.pfn)]
    return bool(flags & (PG_lru | PG_movable | PG_hugetlb))


async def migrate_page(k: Kernel, cpu: int, a: Allocation) -> int:
    """migrate_pages() of one allocation: 0, -ENOMEM (no target), -EAGAIN (not movable)."""
    zone = k.zone
    if not is_movable(k, a):
        return EAGAIN
    await k.sp("migrate_pages:before_target", cpu)
    if a.id not in zone.allocations:
        return 0  # freed by its owner meanwhile: nothing left to migrate
    # alloc_migration_target(): GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL
    target = await alloc_pages(
        k,
        cpu,
        a.order,
        MigrateType.MOVABLE,
        compound=a.compound,
        movable=not a.hugetlb,
        cma=True,
        hugetlb=a.hugetlb,
    )
    if target is None:
        return ENOMEM
    if a.id not in zone.allocations:
        await free_pages(k, cpu, target)
        return 0
    # move_to_new_page(): the contents (the token) go to the target; the source is freed
    token = a.token
    del zone.by_token[target.token]
    target.token = token
    target.cpu = a.cpu
    zone.by_token[token] = target.id
    a.token = -a.id  # the source's data is gone
    k.trace("migrate_page", cpu, pfn=a.pfn, order=a.order, to_pfn=target.pfn, result="ok")
    await free_pages(k, cpu, a)
    return 0


def movable_allocations(k: Kernel, start: int, end: int) -> list[Allocation]:
    """isolate_migratepages_range(): movable allocations whose HEAD lies in [start, end),
    in pfn order. A tail whose head is before ``start`` is not PageLRU and is skipped."""
    found, _ = isolate_migratepages_range(k, start, end, limit=None)
    return found


def isolate_migratepages_range(
    k: Kernel, start: int, end: int, *, limit: int | None = COMPACT_CLUSTER_MAX
) -> tuple[list[Allocation], int]:
    """isolate_migratepages_range() for alloc_contig_range: scan [start, end) forward and
    take movable allocations (head in the range) until ``limit`` pages are taken
    (COMPACT_CLUSTER_MAX; a compound page counts all its pages). Returns them and
    cc->migrate_pfn, where the next round resumes: pages that appear behind it later are
    never looked at again."""
    zone = k.zone
    m = zone.memmap
    found: list[Allocation] = []
    taken = 0
    pfn = max(start, zone.start_pfn)
    end = min(end, zone.end_pfn)
    while pfn < end:
        i = pfn - zone.start_pfn
        aid = m.owner[i]
        if aid == NIL:
            pfn += 1
            continue
        a = zone.allocations[aid]
        if a.pfn == pfn and is_movable(k, a):
            found.append(a)
            taken += a.nr
        pfn = max(pfn + 1, a.pfn + a.nr)
        if limit is not None and taken >= limit:
            break
    return found, pfn


async def __alloc_contig_migrate_range(k: Kernel, cpu: int, start: int, end: int) -> int:
    """__alloc_contig_migrate_range() (v5.15): walk [start, end) once, isolating up to
    COMPACT_CLUSTER_MAX pages a round and migrating them; pages whose migration failed stay
    on the list and are retried, and the fifth round that still has some gives -EBUSY
    (the rest of the range is then never scanned). -ENOMEM (no target) ends it at once.
    Returns 0, -ENOMEM or -EBUSY."""
    pfn = start
    pending: list[Allocation] = []
    tries = 0
    ret = 0
    while pfn < end or pending:
        if not pending:
            pending, pfn = isolate_migratepages_range(k, pfn, end)
            tries = 0
            if not pending:
                break
        else:
            tries += 1
            if tries == MIGRATE_MAX_TRIES:
                ret = EBUSY
                break
        failed: list[Allocation] = []
        for a in pending:
            r = await migrate_page(k, cpu, a)
            if r == ENOMEM:
                k.trace("alloc_contig_migrate_range", cpu, pfn=start, result="-ENOMEM")
                return ENOMEM
            if r:
                failed.append(a)  # -EAGAIN: stays on cc->migratepages
        pending = failed
    if ret:
        k.trace("alloc_contig_migrate_range", cpu, pfn=start, result="-EBUSY")
    return ret
