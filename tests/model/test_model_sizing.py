"""zone_batchsize, zone_highsize, min_free_kbytes and watermarks (kernel-reference §1.1)."""

from __future__ import annotations

import pytest

from zonesim.model.geometry import Geometry
from zonesim.model.sizing import (
    min_free_kbytes,
    rounddown_pow_of_two,
    zone_batchsize,
    zone_highsize,
    zone_watermarks,
)

GIB = 262144  # pages of 4 KiB


def test_rounddown_pow_of_two() -> None:
    assert [rounddown_pow_of_two(n) for n in (1, 2, 3, 4, 5, 95, 96, 127, 128)] == [
        1, 2, 2, 4, 4, 64, 64, 64, 128
    ]


@pytest.mark.parametrize(("managed", "batch"), [
    (GIB, 63),  # min(256, 256) / 4 = 64 -> rounddown(96) - 1
    (4 * GIB, 63),  # capped at 1 MiB worth of pages
    (GIB // 4, 15),  # 64 / 4 = 16 -> rounddown(24) - 1
    (GIB // 2, 31),  # 128 / 4 = 32 -> rounddown(48) - 1
    (8192, 1),  # 8 / 4 = 2 -> rounddown(3) - 1 = 1
    (4096, 1),  # 4 / 4 = 1 -> rounddown(1) - 1 = 0 -> max(1, 0)
    (1024, 1),  # 0 -> 1
])
def test_zone_batchsize(managed: int, batch: int) -> None:
    assert zone_batchsize(managed) == batch


@pytest.mark.parametrize(("pages", "kbytes"), [
    (64, 128),  # sqrt(256 * 16) = 64, clamped up to 128
    (4096, 512),  # sqrt(16384 * 16)
    (GIB, 4096),  # sqrt(1048576 * 16)
    (1 << 30, 262144),  # 4 TiB: exactly the upper clamp
    (1 << 32, 262144),  # clamped down
])
def test_min_free_kbytes(pages: int, kbytes: int) -> None:
    assert min_free_kbytes(pages) == kbytes


def test_watermarks_by_the_formula_for_1_gib() -> None:
    wm = zone_watermarks(GIB)
    # pages_min = 4096 kB >> 2 = 1024; tmp = max(1024 >> 2, 262144 * 10 // 10000 = 262)
    assert (wm.min, wm.low, wm.high) == (1024, 1024 + 262, 1024 + 524)


def test_watermarks_scale_factor_term_dominates_for_big_zones() -> None:
    pages = 16 * GIB  # 16 GiB: min = sqrt(16 Gi kB * 16) = 16384 kB -> 4096 pages
    wm = zone_watermarks(pages)
    tmp = pages * 10 // 10000
    assert tmp > wm.min // 4
    assert (wm.min, wm.low, wm.high) == (4096, 4096 + tmp, 4096 + 2 * tmp)
    wm30 = zone_watermarks(pages, watermark_scale_factor=30)
    assert wm30.low - wm30.min == pages * 30 // 10000


def test_zone_highsize_splits_the_low_watermark_over_cpus() -> None:
    assert zone_highsize(1286, 63, 2) == 643
    assert zone_highsize(1286, 63, 8) == 252  # 160 < 4 * 63
    assert zone_highsize(160, 1, 0) == 160  # no CPUs: treated as one
    # percpu_pagelist_high_fraction
    assert zone_highsize(1286, 63, 2, high_fraction=8, managed_pages=GIB) == GIB // 8 // 2


def test_pcp_lists_and_pindex_layout() -> None:
    g = Geometry(0, 1024)
    assert g.nr_pcp_lists == 15
    assert [g.order_to_pindex(mt, o) for o in (0, 1, 2, 3, 9) for mt in (0, 1, 2)] == list(
        range(15)
    )
    assert [g.pindex_to_order(p) for p in range(15)] == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [
        9
    ] * 3
    assert [o for o in range(11) if g.pcp_allowed_order(o)] == [0, 1, 2, 3, 9]
    nothp = Geometry(0, 1024, thp=False)
    assert nothp.nr_pcp_lists == 12
    assert [o for o in range(11) if nothp.pcp_allowed_order(o)] == [0, 1, 2, 3]


def test_geometry_rejects_pageblock_order_at_or_above_max_order() -> None:
    with pytest.raises(ValueError):
        Geometry(0, 1024, max_order=11, pageblock_order=11)
    g = Geometry(100, 4000, pageblock_order=9)
    assert (g.end_pfn, g.first_pageblock, g.nr_pageblocks, g.max_order_nr_pages) == (
        4100, 0, 9, 1024
    )
