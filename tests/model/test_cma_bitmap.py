"""struct cma's bitmap arithmetic at its edges (mm/cma.c, lib/bitmap.c): the last window
that fits exactly, alignment masks and offsets, bits per page (issue 12, item 6)."""

from __future__ import annotations

from zonesim.model.cma import CmaArea


def test_a_window_that_ends_exactly_at_the_end_of_the_bitmap_fits() -> None:
    cma = CmaArea("cma0", base_pfn=1024, count=8)
    assert cma.maxno == 8
    assert cma.find_next_zero_area_off(0, 8, 0, 0) == 0
    cma.set(0, 1, 1)
    assert cma.find_next_zero_area_off(0, 7, 0, 0) == 1  # [1, 8): ends at maxno
    assert cma.find_next_zero_area_off(0, 8, 0, 0) >= cma.maxno  # no room
    cma.set(7, 1, 1)
    assert cma.find_next_zero_area_off(0, 6, 0, 0) == 1
    assert cma.find_next_zero_area_off(0, 7, 0, 0) >= cma.maxno


def test_alignment_skips_to_the_next_aligned_free_window() -> None:
    cma = CmaArea("cma0", base_pfn=0, count=16)
    cma.set(0, 1, 1)
    assert cma.find_next_zero_area_off(0, 4, 3, 0) == 4  # align 4: 1 -> 4
    cma.set(5, 1, 1)
    assert cma.find_next_zero_area_off(0, 4, 3, 0) == 8
    assert cma.find_next_zero_area_off(0, 2, 1, 0) == 2
    assert cma.find_next_zero_area_off(9, 2, 0, 0) == 9  # from the start given
    cma.set(0, 16, 0)
    assert cma.find_next_zero_area_off(0, 16, 0, 0) == 0
    assert cma.find_next_zero_area_off(1, 16, 0, 0) >= cma.maxno


def test_bits_masks_and_offsets() -> None:
    cma = CmaArea("cma0", base_pfn=0x600, count=1024, order_per_bit=2)
    assert cma.maxno == 256
    assert cma.pages_to_bits(1) == 1 and cma.pages_to_bits(4) == 1
    assert cma.pages_to_bits(5) == 2 and cma.pages_to_bits(8) == 2
    assert cma.aligned_mask(2) == 0 and cma.aligned_mask(1) == 0
    assert cma.aligned_mask(3) == 1 and cma.aligned_mask(9) == (1 << 7) - 1
    # base 0x600 is 512-aligned but not 1024-aligned: the offset in bits
    assert cma.aligned_offset(9) == 0
    assert cma.aligned_offset(10) == 0x200 >> 2
    assert cma.contains(0x600) and cma.contains(0x9ff)
    assert not cma.contains(0x5ff) and not cma.contains(0xa00)


def test_set_and_clone_are_independent() -> None:
    cma = CmaArea("cma0", base_pfn=0, count=8)
    cma.set(2, 3, 1)
    assert bytes(cma.bitmap) == bytes([0, 0, 1, 1, 1, 0, 0, 0])
    copy = cma.clone()
    cma.set(2, 3, 0)
    assert bytes(copy.bitmap) == bytes([0, 0, 1, 1, 1, 0, 0, 0])
    assert (copy.name, copy.base_pfn, copy.count, copy.order_per_bit) == ("cma0", 0, 8, 0)


def test_an_area_at_an_odd_pfn_aligns_allocations_to_pfns_not_to_bits() -> None:
    """cma_bitmap_aligned_offset() takes every low bit of base_pfn: an area at pfn 0x41
    (pageblock_order 0 lets a CMA area start anywhere) serves an 8-page, order-3-aligned
    request from bit 7, i.e. pfn 0x48, not from its first bit (pfn 0x41)."""
    cma = CmaArea("cma0", base_pfn=0x41, count=64)
    assert cma.aligned_offset(3) == 1
    bit = cma.find_next_zero_area_off(0, 8, cma.aligned_mask(3), cma.aligned_offset(3))
    assert cma.base_pfn + bit == 0x48
