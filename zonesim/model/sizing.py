"""Kernel defaults for pcp high/batch and the zone watermarks (v5.15 mm/page_alloc.c).

zone_batchsize(), zone_highsize() and __setup_per_zone_wmarks() with 4 KiB pages, one
node, this zone as all of lowmem. A scenario may override any of them.
"""

from __future__ import annotations

import math

from zonesim.model.zone import Watermarks

PAGE_SIZE = 4096


def rounddown_pow_of_two(n: int) -> int:
    return 1 << (n.bit_length() - 1) if n > 0 else 0


def zone_batchsize(managed_pages: int) -> int:
    """zone_batchsize(): about 1/1024 of the zone, at most 1 MiB worth, then 2^n - 1."""
    batch = min(managed_pages >> 10, (1024 * 1024) // PAGE_SIZE) // 4
    batch = max(batch, 1)
    # Clamp to 2^n - 1 so that batch-sized chunks do not always hit the same cache colour.
    batch = rounddown_pow_of_two(batch + batch // 2) - 1
    return max(1, batch)


def min_free_kbytes(lowmem_pages: int) -> int:
    """init_per_zone_wmark_min(): sqrt(lowmem_kbytes * 16), clamped to [128, 262144]."""
    lowmem_kbytes = lowmem_pages * (PAGE_SIZE // 1024)
    v = math.isqrt(lowmem_kbytes * 16)
    return max(128, min(v, 262144))


def zone_watermarks(managed_pages: int, watermark_scale_factor: int = 10) -> Watermarks:
    """__setup_per_zone_wmarks() for a zone that is all of lowmem."""
    pages_min = min_free_kbytes(managed_pages) >> 2  # kB -> 4 KiB pages
    wmark_min = pages_min  # managed * pages_min / lowmem_pages with managed == lowmem
    tmp = max(wmark_min >> 2, managed_pages * watermark_scale_factor // 10000)
    return Watermarks(min=wmark_min, low=wmark_min + tmp, high=wmark_min + 2 * tmp)


def zone_highsize(
    low_wmark: int, batch: int, nr_cpus: int, high_fraction: int = 0, managed_pages: int = 0
) -> int:
    """zone_highsize(): the low watermark shared by the node's CPUs, at least 4*batch."""
    # percpu_pagelist_high_fraction == 0 (the default) shares the low watermark
    total = managed_pages // high_fraction if high_fraction else low_wmark
    nr = max(nr_cpus, 1)
    return max(total // nr, batch * 4)
