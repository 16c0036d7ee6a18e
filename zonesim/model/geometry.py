"""Zone geometry: MAX_ORDER, pageblock_order, the zone's pfn span (include/linux/mmzone.h).

The 5.15 convention is kept: orders 0..max_order-1 exist, so ``max_order`` is the
kernel's MAX_ORDER (exclusive bound) and MAX_ORDER_NR_PAGES = 1 << (max_order - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from zonesim.model.types import Pfn


@dataclass(frozen=True, slots=True)
class Geometry:
    """The shape of one zone. All pfns are absolute; ``start_pfn`` may be unaligned."""

    start_pfn: int
    pages: int
    max_order: int = 11
    pageblock_order: int = 9
    cpus: int = 2
    thp: bool = True  # CONFIG_TRANSPARENT_HUGEPAGE: pageblock_order pcp lists, PageTransCompound
    # CONFIG_SPARSEMEM without VMEMMAP and without SPARSEMEM_EXTREME: pfn_to_page() of a pfn
    # past the last present memory section dereferences NULL. The model's memmap ends with
    # the zone; with VMEMMAP (x86-64's default) computing such a page pointer is harmless.
    sparsemem_classic: bool = False

    def __post_init__(self) -> None:
        if self.pages < 1:
            raise ValueError(f"{self.pages=} must be at least 1")
        if self.start_pfn < 0:
            raise ValueError(f"{self.start_pfn=} must not be negative")
        if not 1 <= self.max_order <= 16:
            raise ValueError(f"{self.max_order=} must be in 1..16")
        # "mm: enforce pageblock_order < MAX_ORDER" (5.18); 5.15 corner configs allowed
        # pageblock_order >= MAX_ORDER, which the model does not support.
        if not 0 <= self.pageblock_order < self.max_order:
            raise ValueError(f"{self.pageblock_order=} must be in 0..{self.max_order - 1=}")
        if not 1 <= self.cpus <= 64:
            raise ValueError(f"{self.cpus=} must be in 1..64")

    @property
    def end_pfn(self) -> int:
        """First pfn past the zone (zone_end_pfn)."""
        return self.start_pfn + self.pages

    @property
    def max_order_nr_pages(self) -> int:
        """MAX_ORDER_NR_PAGES: the size of the largest buddy block."""
        return 1 << (self.max_order - 1)

    @property
    def pageblock_nr_pages(self) -> int:
        return 1 << self.pageblock_order

    @property
    def first_pageblock(self) -> int:
        """Index (pfn >> pageblock_order) of the pageblock holding start_pfn."""
        return self.start_pfn >> self.pageblock_order

    @property
    def nr_pageblocks(self) -> int:
        """Pageblocks the zone touches, partial ones at either edge included."""
        return ((self.end_pfn - 1) >> self.pageblock_order) - self.first_pageblock + 1

    def spans(self, pfn: int) -> bool:
        """zone_spans_pfn()."""
        return self.start_pfn <= pfn < self.end_pfn

    def pageblock_start(self, pfn: int) -> Pfn:
        return Pfn(pfn & ~(self.pageblock_nr_pages - 1))

    def pcp_allowed_order(self, order: int) -> bool:
        """pcp_allowed_order(): orders 0..PAGE_ALLOC_COSTLY_ORDER, and pageblock_order with THP."""
        return order <= PAGE_ALLOC_COSTLY_ORDER or (self.thp and order == self.pageblock_order)

    @property
    def nr_pcp_lists(self) -> int:
        """NR_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1 + NR_PCP_THP)."""
        return 3 * (PAGE_ALLOC_COSTLY_ORDER + 1 + (1 if self.thp else 0))

    def order_to_pindex(self, mt: int, order: int) -> int:
        """order_to_pindex(): pcp list index for (migratetype < MIGRATE_PCPTYPES, order)."""
        base = order
        if order > PAGE_ALLOC_COSTLY_ORDER:
            # Only pageblock_order (THP) gets past pcp_allowed_order() here.
            base = PAGE_ALLOC_COSTLY_ORDER + 1
        return 3 * base + mt

    def pindex_to_order(self, pindex: int) -> int:
        base = pindex // 3
        if base > PAGE_ALLOC_COSTLY_ORDER:
            return self.pageblock_order
        return base


PAGE_ALLOC_COSTLY_ORDER = 3
