"""struct cma: one CMA area and its allocation bitmap (mm/cma.h). Pure data; the bitmap
is changed under the area's cma->lock by zonesim.ops.cma."""

from __future__ import annotations


class CmaArea:
    __slots__ = ("base_pfn", "bitmap", "count", "name", "order_per_bit")

    def __init__(self, name: str, base_pfn: int, count: int, order_per_bit: int = 0) -> None:
        self.name = name
        self.base_pfn = base_pfn
        self.count = count  # pages
        self.order_per_bit = order_per_bit
        self.bitmap = bytearray(self.maxno)  # one byte per bit: clarity over density

    def clone(self) -> CmaArea:
        new = CmaArea(self.name, self.base_pfn, self.count, self.order_per_bit)
        new.bitmap = bytearray(self.bitmap)
        return new

    @property
    def maxno(self) -> int:
        """cma_bitmap_maxno()."""
        return self.count >> self.order_per_bit

    def aligned_mask(self, align_order: int) -> int:
        """cma_bitmap_aligned_mask()."""
        if align_order <= self.order_per_bit:
            return 0
        return (1 << (align_order - self.order_per_bit)) - 1

    def aligned_offset(self, align_order: int) -> int:
        """cma_bitmap_aligned_offset()."""
        return (self.base_pfn & ((1 << align_order) - 1)) >> self.order_per_bit

    def pages_to_bits(self, pages: int) -> int:
        """cma_bitmap_pages_to_bits()."""
        unit = 1 << self.order_per_bit
        return (pages + unit - 1) >> self.order_per_bit

    def find_next_zero_area_off(
        self, start: int, nr: int, align_mask: int, align_offset: int
    ) -> int:
        """bitmap_find_next_zero_area_off(); a result >= maxno means no room."""
        size = self.maxno
        bm = self.bitmap
        while True:
            try:
                index = bm.index(0, start)
            except ValueError:
                return size
            index = ((index + align_offset + align_mask) & ~align_mask) - align_offset
            end = index + nr
            if end > size:
                return end
            busy = bm.find(1, index, end)
            if busy < 0:
                return index
            start = busy + 1

    def set(self, bitmap_no: int, nr: int, value: int) -> None:
        self.bitmap[bitmap_no : bitmap_no + nr] = bytes([value]) * nr

    def contains(self, pfn: int) -> bool:
        return self.base_pfn <= pfn < self.base_pfn + self.count
