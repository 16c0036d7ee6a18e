"""Scenario ops: one frozen dataclass per kernel path a CPU (or the setup) can run.

Every op carries the keys common to all ops:

- ``as_name`` (TOML ``as``): names the op's result so that a later op can ``ref`` it.
  An ``alloc`` with ``count = n > 1`` defines ``as[0]`` .. ``as[n-1]`` instead (one name
  per allocation; ``ref = "as"`` alone is then an error that says so).
- ``expect``: the result the op must have in every explored schedule (``"ok"``,
  ``"-EBUSY"``, ``"-ENOMEM"``, ``"fail"`` = any error, ``"null"`` = NULL page).
- ``path``: where the op was written (``cpu[0].ops[2]``), for reports; not part of
  equality or of the scenario fingerprint.

pfns are absolute (the zone's ``start_pfn`` is not subtracted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zonesim.model.types import MigrateType

EXPECT_RESULTS: tuple[str, ...] = ("ok", "-EBUSY", "-ENOMEM", "fail", "null")
ISOLATE_FLAGS: tuple[str, ...] = ("MEMORY_OFFLINE", "REPORT_FAILURE")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpBase:
    """Keys shared by every op (see module doc)."""

    KIND: ClassVar[str] = ""
    as_name: str | None = None
    expect: str | None = None
    # Why this op's shape is one no real caller produces (the scenario says so on purpose);
    # matrix and explore print it beside the verdict.
    unrealistic: str | None = None
    path: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alloc(OpBase):
    """``alloc_pages(gfp, order)`` of one migratetype.

    ``cma``: ALLOC_CMA allowed (may be served from CMA pageblocks). ``movable``: the page
    is an LRU/movable page that migration can move (False = pinned/unmovable contents).
    ``pfn`` (setup only): carve ``[pfn, pfn + 2^order)`` out of the free lists exactly there
    (alignment is not checked by the file format; the engine decides).
    ``count``: repeat the allocation; with ``pfn`` the blocks are consecutive.
    ``hugetlb``: a hugetlb page (PageHuge): compound, not on an LRU, migratable when its
    hstate is (the model's hstate is the PMD size, migratable on x86-64).
    ``reclaim``: the request may enter direct reclaim (GFP_KERNEL-like): on failure the
    slow path gives back highatomic reserves and drains the pcp lists, then retries.
    """

    KIND: ClassVar[str] = "alloc"
    order: int
    migratetype: MigrateType = MigrateType.MOVABLE
    compound: bool = False
    hugetlb: bool = False
    reclaim: bool = False
    cma: bool = True
    movable: bool = True
    pfn: int | None = None
    count: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Free(OpBase):
    """``__free_pages`` of a named allocation (all of it, for a ``count`` group member)."""

    KIND: ClassVar[str] = "free"
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocContigRange(OpBase):
    """``alloc_contig_range(start, end, migratetype, GFP_KERNEL)``."""

    KIND: ClassVar[str] = "alloc_contig_range"
    start: int
    end: int
    migratetype: MigrateType = MigrateType.MOVABLE


@dataclass(frozen=True, slots=True, kw_only=True)
class FreeContigRange(OpBase):
    """``free_contig_range(pfn, nr)``: of a named ``alloc_contig_range`` result, or of
    ``count`` pages from ``start``."""

    KIND: ClassVar[str] = "free_contig_range"
    ref: str | None = None
    start: int | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CmaAlloc(OpBase):
    """``cma_alloc(cma, count, align, no_warn)``; ``align`` is an order."""

    KIND: ClassVar[str] = "cma_alloc"
    cma: str
    count: int
    align: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CmaRelease(OpBase):
    """``cma_release(cma, pages, count)`` of a named ``cma_alloc`` result."""

    KIND: ClassVar[str] = "cma_release"
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Migrate(OpBase):
    """``migrate_pages`` of one named allocation (e.g. compaction moving it); ``as`` names
    the allocation at its new place."""

    KIND: ClassVar[str] = "migrate"
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Isolate(OpBase):
    """``start_isolate_page_range(start, end, migratetype, flags)``; ``migratetype`` is the
    type a later undo restores."""

    KIND: ClassVar[str] = "isolate"
    start: int
    end: int
    migratetype: MigrateType = MigrateType.MOVABLE
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Unisolate(OpBase):
    """``undo_isolate_page_range(start, end, migratetype)``."""

    KIND: ClassVar[str] = "unisolate"
    start: int
    end: int
    migratetype: MigrateType = MigrateType.MOVABLE


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflinePages(OpBase):
    """``offline_pages(start, count)`` (memory hot-unplug of a range)."""

    KIND: ClassVar[str] = "offline_pages"
    start: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OnlinePages(OpBase):
    """``online_pages(start, count)``."""

    KIND: ClassVar[str] = "online_pages"
    start: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtioMemUnplug(OpBase):
    """``virtio_mem_fake_offline(start, count)``: unplug an online subblock."""

    KIND: ClassVar[str] = "virtio_mem_unplug"
    start: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtioMemPlug(OpBase):
    """``virtio_mem_fake_online``: of a named unplug result, or ``count`` pages at ``start``."""

    KIND: ClassVar[str] = "virtio_mem_plug"
    ref: str | None = None
    start: int | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainAllPages(OpBase):
    """``drain_all_pages(zone)``: queue drain work on every CPU with pcp pages."""

    KIND: ClassVar[str] = "drain_all_pages"


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainLocalPages(OpBase):
    """``drain_local_pages(zone)`` on the running CPU."""

    KIND: ClassVar[str] = "drain_local_pages"


@dataclass(frozen=True, slots=True, kw_only=True)
class PcpUpdate(OpBase):
    """``zone_set_pageset_high_and_batch`` with new values (sysctl write or onlining);
    a value left out keeps the current one."""

    KIND: ClassVar[str] = "pcp_update"
    high: int | None = None
    batch: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftOfflinePage(OpBase):
    """``soft_offline_page(pfn)`` of a named allocation or of a pfn."""

    KIND: ClassVar[str] = "soft_offline_page"
    ref: str | None = None
    pfn: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat(OpBase):
    """Run ``ops`` ``times`` times. Names defined inside are local to one iteration."""

    KIND: ClassVar[str] = "repeat"
    times: int
    ops: tuple[Op, ...]


@dataclass(frozen=True, slots=True)
class ChooseOption:
    """One weighted alternative of a ``choose``."""

    weight: int
    ops: tuple[Op, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Choose(OpBase):
    """Run one option, picked through the scheduler's choice stream (so replay is exact).
    Not allowed in ``[[setup]]``, which must pin down one initial state."""

    KIND: ClassVar[str] = "choose"
    options: tuple[ChooseOption, ...]


Op = (
    Alloc
    | Free
    | AllocContigRange
    | FreeContigRange
    | CmaAlloc
    | CmaRelease
    | Migrate
    | Isolate
    | Unisolate
    | OfflinePages
    | OnlinePages
    | VirtioMemUnplug
    | VirtioMemPlug
    | DrainAllPages
    | DrainLocalPages
    | PcpUpdate
    | SoftOfflinePage
    | Repeat
    | Choose
)

OP_CLASSES: tuple[type[OpBase], ...] = (
    Alloc,
    Free,
    AllocContigRange,
    FreeContigRange,
    CmaAlloc,
    CmaRelease,
    Migrate,
    Isolate,
    Unisolate,
    OfflinePages,
    OnlinePages,
    VirtioMemUnplug,
    VirtioMemPlug,
    DrainAllPages,
    DrainLocalPages,
    PcpUpdate,
    SoftOfflinePage,
    Repeat,
    Choose,
)
