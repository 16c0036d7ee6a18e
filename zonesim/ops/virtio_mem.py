"""virtio-mem unplug/plug of subblocks by fake offlining (v5.15 drivers/virtio/virtio_mem.c).

Unplug = alloc_contig_range() of the whole subblock, then the pages are marked PageOffline
and kept with their reference (refcount 1, not LRU: has_unmovable_pages() sees them as
unmovable on ZONE_NORMAL — the seed's virtio-mem a). Subblock size: max(MAX_ORDER-1,
pageblock) in 5.15, one pageblock with 448b8ec3bf11 / rfc1/2-vmem-sb; a request is rounded
out to whole subblocks (the driver never unplugs less). ZONE_NORMAL gives up after one
-EBUSY; ZONE_MOVABLE tries five times.
"""

from __future__ import annotations

from zonesim.model.memmap import PG_offline
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.contig import alloc_contig_range, free_contig_range
from zonesim.ops.errno import EBUSY, ENOMEM, errname
from zonesim.ops.kernel import Kernel


def subblock_pages(k: Kernel) -> int:
    g = k.zone.geometry
    if k.policy.has("448b8ec3bf11") or k.policy.has("rfc1/2-vmem-sb"):
        return g.pageblock_nr_pages
    return max(g.max_order_nr_pages, g.pageblock_nr_pages)


async def virtio_mem_unplug(
    k: Kernel, cpu: int, start: int, count: int
) -> tuple[int, Allocation | None]:
    """virtio_mem_fake_offline() of the subblocks covering [start, start+count)."""
    sb = subblock_pages(k)
    lo, hi = start & ~(sb - 1), (start + count + sb - 1) & ~(sb - 1)
    tries = 5 if k.zone.movable_zone else 1
    ret = EBUSY
    for _ in range(tries):
        ret, a = await alloc_contig_range(k, cpu, lo, hi, int(MigrateType.MOVABLE))
        if ret == ENOMEM:
            break
        if ret == 0 and a is not None:
            m = k.zone.memmap
            m.cow_range(k.zone.idx(a.pfn), a.nr)
            for i in range(k.zone.idx(a.pfn), k.zone.idx(a.pfn) + a.nr):
                m.flags[i] |= PG_offline  # virtio_mem_set_fake_offline(): __SetPageOffline
            k.zone.managed_pages -= a.nr  # adjust_managed_page_count()
            k.trace("virtio_mem_unplug", cpu, pfn=lo, count=hi - lo, result="ok")
            return 0, a
    k.trace("virtio_mem_unplug", cpu, pfn=lo, count=hi - lo, result=errname(ret))
    return ret, None


async def virtio_mem_plug(k: Kernel, cpu: int, a: Allocation) -> None:
    """virtio_mem_fake_online(): clear PageOffline and free the pages back."""
    m = k.zone.memmap
    head = k.zone.idx(a.pfn)
    mask = ~PG_offline
    flags = m.flags
    m.cow_range(head, a.nr)
    for i in range(head, head + a.nr):
        flags[i] &= mask
    k.zone.managed_pages += a.nr
    pfn, nr = a.pfn, a.nr
    await free_contig_range(k, cpu, a, pfn, nr)
    k.trace("virtio_mem_plug", cpu, pfn=pfn, count=nr)
