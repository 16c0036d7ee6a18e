"""cma_alloc() / cma_release() (v5.15 mm/cma.c).

The bitmap window is reserved under cma->lock, then alloc_contig_range runs with no lock
at all in 5.11-5.17 (P9): two CPUs may work on neighbouring windows of one MAX_ORDER-1
block. 60a60e32cf91 (5.18) serialises them again under cma_mutex. A window that fails with
-EBUSY is released and the search continues just past it.
"""

from __future__ import annotations

from zonesim.model.cma import CmaArea
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops.contig import alloc_contig_range, free_contig_range
from zonesim.ops.errno import EBUSY, ENOMEM, errname
from zonesim.ops.kernel import Kernel

CMA = int(MigrateType.CMA)


async def cma_alloc(
    k: Kernel, cpu: int, cma: CmaArea, count: int, align: int
) -> tuple[int, Allocation | None]:
    if not count:
        return ENOMEM, None
    mask = cma.aligned_mask(align)
    offset = cma.aligned_offset(align)
    bitmap_count = cma.pages_to_bits(count)
    if bitmap_count > cma.maxno:
        return ENOMEM, None
    lock = k.cma_lock(cma.name)
    start = 0
    ret = ENOMEM
    while True:
        async with lock:  # spin_lock_irq(&cma->lock)
            bitmap_no = cma.find_next_zero_area_off(start, bitmap_count, mask, offset)
            if bitmap_no >= cma.maxno:
                break
            cma.set(bitmap_no, bitmap_count, 1)
        pfn = cma.base_pfn + (bitmap_no << cma.order_per_bit)
        k.trace("cma_window", cpu, pfn=pfn, count=count)
        if k.policy.has("60a60e32cf91"):
            async with k.cma_mutex:
                ret, a = await alloc_contig_range(k, cpu, pfn, pfn + count, CMA)
        else:
            ret, a = await alloc_contig_range(k, cpu, pfn, pfn + count, CMA)
        if ret == 0 and a is not None:
            k.trace("cma_alloc", cpu, pfn=pfn, count=count, result="ok")
            return 0, a
        async with lock:  # cma_clear_bitmap()
            cma.set(bitmap_no, bitmap_count, 0)
        if ret != EBUSY:
            break
        start = bitmap_no + mask + 1  # retry just past the failed window
    k.trace("cma_alloc", cpu, count=count, result=errname(ret))
    return ret, None


async def cma_release(k: Kernel, cpu: int, cma: CmaArea, a: Allocation) -> bool:
    """cma_release(): false if the pages are not this area's."""
    if not cma.contains(a.pfn) or not cma.contains(a.pfn + a.nr - 1):
        return False
    pfn, nr = a.pfn, a.nr
    await free_contig_range(k, cpu, a, pfn, nr)
    bitmap_no = (pfn - cma.base_pfn) >> cma.order_per_bit
    async with k.cma_lock(cma.name):
        cma.set(bitmap_no, cma.pages_to_bits(nr), 0)
    k.trace("cma_release", cpu, pfn=pfn, count=nr)
    return True
