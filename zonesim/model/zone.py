"""struct zone: free_area, vm counters, pageblock flags, per-CPU pagesets, allocations.

One object holds the whole state of one execution (loom's ``Execution``); it is rebuilt
for every execution by ``zonesim.model.boot.build_zone``. Kernel-named primitives that
run under zone->lock live in ``buddy``, ``pcp`` and ``freepages``; this module has the
state and its accessors only.
"""

from __future__ import annotations

from dataclasses import dataclass

from zonesim.model.cma import CmaArea
from zonesim.model.errors import MemmapAccess
from zonesim.model.flags import ModelFlags
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import NIL, Memmap, PG_nomap
from zonesim.model.sync import SEQUENTIAL, ZoneSync
from zonesim.model.tapcore import NR_ISOLATE_PAGEBLOCK_OBJ, tap_read
from zonesim.model.types import MIGRATE_PCPTYPES, MIGRATE_TYPES, AllocId, MigrateType

ISOLATE = MigrateType.ISOLATE
CMA = MigrateType.CMA
PB_MT_MASK = 0x7  # PB_migratetype_bits = 3
PB_ISOLATE_BIT = 0x8  # the standalone isolate bit of the proposal / v6.17


# get_pageblock_migratetype() by table lookup: no enum construction in the hot path.
# Type bits 6 and 7 are no migratetype (a model bug): None, and the slow path raises
# MigrateType's own ValueError as before.
_MT_BITS: tuple[MigrateType | None, ...] = (*MigrateType, None, None)
_PB_TYPE: tuple[MigrateType | None, ...] = tuple(
    ISOLATE if v & PB_ISOLATE_BIT else _MT_BITS[v & PB_MT_MASK] for v in range(256)
)


def _checked(t: MigrateType | None, v: int) -> MigrateType:
    return t if t is not None else MigrateType(v & PB_MT_MASK)


class PerCpuPages:
    """struct per_cpu_pages of one CPU for this zone."""

    __slots__ = ("batch", "count", "cpu", "free_factor", "high", "list_base")

    def __init__(self, cpu: int, list_base: int, high: int, batch: int) -> None:
        self.cpu = cpu
        self.list_base = list_base  # list id of pindex 0
        self.count = 0  # pages (base pages: an order-9 THP counts 512)
        self.high = high
        self.batch = batch
        self.free_factor = 0

    def clone(self) -> PerCpuPages:
        new = PerCpuPages(self.cpu, self.list_base, self.high, self.batch)
        new.count = self.count
        new.free_factor = self.free_factor
        return new


class Allocation:
    """One allocation handed out by the model: what ``struct page`` of its head tells,
    plus the scenario-level data token that migration must carry to the new pfn."""

    __slots__ = (
        "cma",
        "compound",
        "contig",
        "cpu",
        "hugetlb",
        "id",
        "movable",
        "mt",
        "nr",
        "order",
        "pfn",
        "token",
    )

    def __init__(
        self,
        id: AllocId,
        pfn: int,
        order: int,
        mt: MigrateType,
        *,
        compound: bool,
        movable: bool,
        cpu: int,
        token: int,
        cma: bool,
        nr: int | None = None,
        contig: bool = False,
        hugetlb: bool = False,
    ) -> None:
        self.id = id
        self.pfn = pfn
        self.order = order
        self.mt = mt
        self.compound = compound
        self.movable = movable
        self.cpu = cpu
        self.token = token
        self.cma = cma
        # Pages covered. A buddy allocation has 2^order; a contiguous range from
        # alloc_contig_range() is ``nr`` split order-0 pages, each with refcount 1.
        self.nr = (1 << order) if nr is None else nr
        self.contig = contig
        self.hugetlb = hugetlb  # PageHuge: compound, not LRU, moved by hugetlb migration

    def clone(self) -> Allocation:
        return Allocation(
            self.id,
            self.pfn,
            self.order,
            self.mt,
            compound=self.compound,
            movable=self.movable,
            cpu=self.cpu,
            token=self.token,
            cma=self.cma,
            nr=self.nr,
            contig=self.contig,
            hugetlb=self.hugetlb,
        )

    def __repr__(self) -> str:
        return (
            f"Allocation(id={self.id}, pfn={self.pfn:#x}, order={self.order}, "
            f"mt={self.mt.name}, compound={self.compound}, movable={self.movable})"
        )


@dataclass(frozen=True, slots=True)
class Watermarks:
    min: int
    low: int
    high: int


class Zone:
    """The zone: every field the v5.15 allocator paths read or write."""

    def __init__(
        self,
        geometry: Geometry,
        flags: ModelFlags,
        *,
        pcp_high: int,
        pcp_batch: int,
        watermarks: Watermarks,
        movable_zone: bool,
        name: str = "Normal",
    ) -> None:
        g = geometry
        self.geometry = g
        self.flags = flags
        self.name = name
        self.movable_zone = movable_zone  # ZONE_MOVABLE: has_unmovable_pages() assumes movable
        self.start_pfn = g.start_pfn
        self.end_pfn = g.end_pfn
        self.max_order = g.max_order  # MAX_ORDER (exclusive)
        self.pageblock_order = g.pageblock_order
        self.nr_free_lists = g.max_order * MIGRATE_TYPES
        nr_lists = self.nr_free_lists + g.cpus * g.nr_pcp_lists
        self.memmap = Memmap(g.pages, nr_lists)
        for lid in range(self.nr_free_lists):
            order, mt = divmod(lid, MIGRATE_TYPES)
            self.memmap.weight_free[lid] = 0 if mt == ISOLATE else 1 << order
            self.memmap.weight_cma[lid] = 1 << order if mt == CMA else 0
        # pageblock flags: 3 bits migratetype (+ the isolate bit where the design has it)
        self.pageblock = bytearray([MigrateType.MOVABLE]) * g.nr_pageblocks
        self.first_pageblock = g.first_pageblock
        self.nr_free = [0] * g.max_order  # free_area[order].nr_free
        self.NR_FREE_PAGES = 0
        self.NR_FREE_CMA_PAGES = 0
        self.nr_isolate_pageblock = 0
        self.nr_reserved_highatomic = 0
        self.cma_pages = 0
        self.managed_pages = 0
        self.present_pages = 0
        self.watermarks = watermarks
        self.pageset_high = pcp_high  # zone->pageset_high, restored by zone_pcp_enable()
        self.pageset_batch = pcp_batch
        self.pcp = [
            PerCpuPages(cpu, self.nr_free_lists + cpu * g.nr_pcp_lists, pcp_high, pcp_batch)
            for cpu in range(g.cpus)
        ]
        self.allocations: dict[int, Allocation] = {}
        self.by_token: dict[int, int] = {}  # data token -> allocation id (follows migration)
        self.cma_ranges: list[tuple[int, int]] = []  # [start, end) of each CMA area
        self.cma_areas: dict[str, CmaArea] = {}
        # [start, end) ranges some CPU is isolating or un-isolating pageblock by pageblock
        # right now: the checker does not judge the transient states the kernel tolerates
        # there (DESIGN.md §5). Maintained by zonesim.ops; empty between operations.
        self.transient_ranges: list[tuple[int, int]] = []
        # [start, end) pfn ranges that are not memory: holes, reserved ranges, offlined
        # sections (page_conservation counts them as accounted for)
        self.absent_ranges: list[tuple[int, int]] = []
        # Pageblocks of sections offline_pages took away: still ISOLATE in the bitmap but no
        # longer counted in nr_isolate_pageblock (2.11), so the census subtracts them.
        self.offline_isolated_pageblocks = 0
        self.next_alloc_id = 1
        self.next_token = 1
        # For the incremental checker (zonesim.check.fused): pageblocks retyped since its
        # last clean check, and the walked ranges it judged against (None: never ran).
        self.retyped: list[int] = []
        self.pb_writes = 0  # set_pageblock_migratetype() calls (a version of ``pageblock``)
        self.checked_state: tuple[tuple[int, int], ...] | None = None
        # zone->lock and the lockless windows of the lock-held primitives (model.sync); the
        # engine's kernel replaces it for an execution.
        self.sync: ZoneSync = SEQUENTIAL
        # The state track_writes() saw (small fields only; the memmap keeps its own
        # copy-on-write chunks): what rollback() restores. None = untracked.
        self.snapshot: Zone | None = None
        self._memmap_small: tuple[object, ...] = ()

    def clone(self) -> Zone:
        """An independent copy for the next execution (cheaper than copy.deepcopy: the
        arrays are copied as buffers, the small objects field by field)."""
        new = Zone.__new__(Zone)
        new.__dict__.update(self.__dict__)
        new.memmap = self.memmap.clone()
        new.pageblock = bytearray(self.pageblock)
        new._copy_small(self)
        new.snapshot = None
        return new

    def reset_from(self, base: Zone) -> None:
        """Become a copy of ``base`` (a zone this one was cloned from) in place: the big
        arrays are overwritten, not reallocated, so an exploration holds two zones
        whatever happens to the previous execution's garbage."""
        memmap, pageblock = self.memmap, self.pageblock
        self.__dict__.update(base.__dict__)
        memmap.copy_from(base.memmap)
        pageblock[:] = base.pageblock
        self.memmap, self.pageblock = memmap, pageblock
        self._copy_small(base)
        self.snapshot = None

    def track_writes(self) -> None:
        """Copy-on-write from here on (zonesim.model.memmap): ``rollback()`` puts the zone
        back to this state at the cost of what was written since, so an exploration runs
        every execution on this one zone. Every per-page array write must go through
        ``memmap.cow`` / ``cow_range`` (tests/model/test_model_cow.py checks the result)."""
        snap = Zone.__new__(Zone)
        snap.__dict__.update(self.__dict__)
        snap._copy_small(self)
        snap.pageblock = bytearray(self.pageblock)
        snap.snapshot = None
        snap._memmap_small = self.memmap.small_state()
        self.snapshot = snap
        self.memmap.track()

    def rollback(self) -> None:
        """Back to the state of ``track_writes()`` (and still tracking)."""
        snap = self.snapshot
        if snap is None:
            raise ValueError("rollback() of a zone that is not tracking its writes")
        memmap, pageblock = self.memmap, self.pageblock
        memmap.rollback()
        self.__dict__.update(snap.__dict__)
        memmap.restore_small(snap._memmap_small)
        pageblock[:] = snap.pageblock
        self.memmap, self.pageblock = memmap, pageblock
        self._copy_small(snap)
        self.snapshot = snap
        self._memmap_small = ()

    def _copy_small(self, base: Zone) -> None:
        """The small mutable fields, copied from ``base`` (the rest is shared or copied
        by the caller)."""
        self.nr_free = list(base.nr_free)
        self.pcp = [p.clone() for p in base.pcp]
        self.allocations = {aid: a.clone() for aid, a in base.allocations.items()}
        self.by_token = dict(base.by_token)
        self.cma_ranges = list(base.cma_ranges)
        self.cma_areas = {n: c.clone() for n, c in base.cma_areas.items()}
        self.transient_ranges = list(base.transient_ranges)
        self.absent_ranges = list(base.absent_ranges)
        self.retyped = list(base.retyped)

    # -- pfn <-> memmap index ---------------------------------------------------------

    def idx(self, pfn: int) -> int:
        """pfn_to_page(): index into the memmap arrays; a pfn without memmap oopses."""
        i = pfn - self.start_pfn
        if not 0 <= i < self.memmap.nr or self.memmap.flags[i] & PG_nomap:
            raise MemmapAccess(f"pfn {pfn:#x} has no memmap in this zone", pfn=pfn)
        return i

    def has_memmap(self, pfn: int) -> bool:
        """pfn_valid() && zone_spans_pfn(): a struct page exists and belongs to the zone."""
        i = pfn - self.start_pfn
        return 0 <= i < self.memmap.nr and not self.memmap.flags[i] & PG_nomap

    # -- pageblock flags (get/set_pfnblock_flags_mask) -------------------------------

    def _pb_index(self, pfn: int) -> int:
        b = (pfn >> self.pageblock_order) - self.first_pageblock
        if not 0 <= b < len(self.pageblock):
            raise MemmapAccess(f"pageblock of pfn {pfn:#x} is outside the zone", pfn=pfn)
        return b

    def get_pageblock_migratetype(self, pfn: int) -> MigrateType:
        """get_pageblock_migratetype(): ISOLATE when the isolate bit is set (v6.17 mask)."""
        b = (pfn >> self.pageblock_order) - self.first_pageblock
        if not 0 <= b < len(self.pageblock):
            self._pb_index(pfn)  # raises MemmapAccess
        v = self.pageblock[b]
        t = _PB_TYPE[v]
        return t if t is not None else _checked(t, v)

    def get_pageblock_original_mt(self, pfn: int) -> MigrateType:
        """The migratetype bits alone: what the isolate-bit design restores on undo."""
        v = self.pageblock[self._pb_index(pfn)]
        return _checked(_MT_BITS[v & PB_MT_MASK], v)

    def set_pageblock_migratetype(self, pfn: int, mt: MigrateType) -> None:
        """set_pageblock_migratetype(). With the isolate bit, ISOLATE sets the bit and keeps
        the type bits; any other type clears the bit and writes the type."""
        b = self._pb_index(pfn)
        self.retyped.append(b)  # the checker judges the free blocks over it again
        self.pb_writes += 1  # the engine's per-step census recounts only after a write
        if self.flags.isolate_bit:
            if mt == ISOLATE:
                self.pageblock[b] |= PB_ISOLATE_BIT
            else:
                self.pageblock[b] = int(mt)
        else:
            self.pageblock[b] = int(mt)

    def pageblock_pfn(self, b: int) -> int:
        """First pfn (possibly before the zone) of pageblock number ``b`` of this zone."""
        return (b + self.first_pageblock) << self.pageblock_order

    # -- list ids ---------------------------------------------------------------------

    def free_list_id(self, order: int, mt: int) -> int:
        """The list id of free_area[order].free_list[mt]."""
        return order * MIGRATE_TYPES + mt

    def pcp_list_id(self, cpu: int, mt: int, order: int) -> int:
        return self.pcp[cpu].list_base + self.geometry.order_to_pindex(mt, order)

    def describe_list(self, lid: int) -> str:
        """Human name of a list id, for violation messages."""
        if lid < self.nr_free_lists:
            order, mt = divmod(lid, MIGRATE_TYPES)
            return f"free_area[{order}].free_list[{MigrateType(mt).name}]"
        rel = lid - self.nr_free_lists
        cpu, pindex = divmod(rel, self.geometry.nr_pcp_lists)
        order = self.geometry.pindex_to_order(pindex)
        return f"cpu{cpu} pcp.lists[order {order} {MigrateType(pindex % MIGRATE_PCPTYPES).name}]"

    def free_list_first(self, order: int, mt: int) -> int | None:
        """First pfn on free_area[order].free_list[mt], or None."""
        i = self.memmap.lists_head[order * MIGRATE_TYPES + mt]
        return None if i == NIL else i + self.start_pfn

    def free_list_empty(self, order: int, mt: int) -> bool:
        return self.memmap.lists_head[order * MIGRATE_TYPES + mt] == NIL

    def free_list_pfns(self, order: int, mt: int) -> list[int]:
        base = self.start_pfn
        return [i + base for i in self.memmap.list_iter(order * MIGRATE_TYPES + mt)]

    def has_isolate_pageblock(self) -> bool:
        tap_read(NR_ISOLATE_PAGEBLOCK_OBJ)
        return self.nr_isolate_pageblock != 0

    # -- allocation ids ---------------------------------------------------------------

    def new_alloc_id(self) -> AllocId:
        a = AllocId(self.next_alloc_id)
        self.next_alloc_id += 1
        return a

    def new_token(self) -> int:
        t = self.next_token
        self.next_token += 1
        return t
