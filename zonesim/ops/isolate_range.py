"""start_isolate_page_range(): the entry point of mm/page_isolation.c, which picks the
isolation of its release — whole aligned pageblocks (v5.15, ``zonesim.ops.isolation``) or
pageblock granularity with the two boundary pageblocks (b2c9e2fbba32, v5.19,
``zonesim.ops.isolate_boundary``). A module of its own so that the two implementations
do not import each other.
"""

from __future__ import annotations

from zonesim.ops.isolate_boundary import start_isolate_page_range_v519
from zonesim.ops.isolation import start_isolate_page_range_v515
from zonesim.ops.kernel import Kernel


async def start_isolate_page_range(
    k: Kernel,
    cpu: int,
    start: int,
    end: int,
    mt: int,
    flags: int,
    roi: tuple[int, int] | None = None,
) -> int:
    """Isolate [start, end) as the policy's release does; 0 or -EBUSY (undone)."""
    pb = k.zone.geometry.pageblock_nr_pages
    # While the range is walked the kernel tolerates half-isolated states: a MAX_ORDER-1
    # block on the ISOLATE list before its second pageblock is isolated (5.15), a block
    # straddling a boundary pageblock before it is split (5.19).
    with k.walking(start & ~(pb - 1), (end + pb - 1) & ~(pb - 1)):
        if k.policy.has("b2c9e2fbba32"):
            return await start_isolate_page_range_v519(k, cpu, start, end, mt, flags, roi)
        return await start_isolate_page_range_v515(k, cpu, start, end, mt, flags, roi)
