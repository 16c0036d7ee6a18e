"""zonesim.ops: kernel paths as async functions run by a simulated CPU."""

from zonesim.ops.alloc import alloc_pages
from zonesim.ops.drain import drain_all_pages, drain_local_pages, zone_pcp_update
from zonesim.ops.free import free_pages
from zonesim.ops.kernel import Kernel

__all__ = [
    "Kernel",
    "alloc_pages",
    "drain_all_pages",
    "drain_local_pages",
    "free_pages",
    "zone_pcp_update",
]
