"""The scenario format, declared once: every table, every key, every op.

``reader.py`` validates against these declarations and ``schema.py`` turns them into a
JSON Schema; neither restates a key, range or default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zonesim.model.types import SCENARIO_MIGRATETYPE_NAMES
from zonesim.scenario.ops import (
    EXPECT_RESULTS,
    ISOLATE_FLAGS,
    OP_CLASSES,
    OpBase,
)
from zonesim.scenario.spec import (
    REQUIRED,
    Bound,
    Env,
    FieldSpec,
    Kind,
    TableSpec,
    int_field,
)

# -- limits -----------------------------------------------------------------------------
MAX_MAX_ORDER = 16
MAX_CPUS = 64
MAX_PAGES = 1 << 28  # 1 TiB of 4K pages: beyond this the model's arrays are the problem
MAX_PFN = 1 << 40

# Only the gfp-visible types make sense for an allocation or as "the type to restore";
# "isolate" is a pageblock state, not something a caller asks for.
REQUEST_TYPES: tuple[str, ...] = tuple(n for n in SCENARIO_MIGRATETYPE_NAMES if n != "isolate")
STRATEGIES: tuple[str, ...] = ("random", "pct", "pos", "feedback", "dfs", "dfs+feedback",
                                "hypothesis")

ORDER_HI = Bound(MAX_MAX_ORDER - 1, "zone.max_order - 1", lambda env: env["max_order"] - 1)
PFN_LO = Bound(0, "zone.start_pfn", lambda env: env["start_pfn"])
PFN_HI = Bound(MAX_PFN, "zone end pfn - 1", lambda env: env["end_pfn"] - 1)
END_HI = Bound(MAX_PFN, "zone end pfn", lambda env: env["end_pfn"])
COUNT_HI = Bound(MAX_PAGES, "zone.pages", lambda env: env["pages"])


def _pfn(name: str, doc: str, *, default: object = REQUIRED, setup_only: bool = False) -> FieldSpec:
    return int_field(name, doc, lo=PFN_LO, hi=PFN_HI, default=default, setup_only=setup_only)


def _end(doc: str) -> FieldSpec:
    return int_field("end", doc, lo=PFN_LO, hi=END_HI)


def _count(doc: str, *, default: object = REQUIRED) -> FieldSpec:
    return int_field("count", doc, lo=1, hi=COUNT_HI, default=default)


def _type(
    doc: str, choices: tuple[str, ...] = REQUEST_TYPES, *, default: object = "movable"
) -> FieldSpec:
    return FieldSpec("type", Kind.CHOICE, doc, attr="migratetype", choices=choices, default=default)


def _ref(doc: str, *, default: object = REQUIRED) -> FieldSpec:
    return FieldSpec("ref", Kind.REF, doc, default=default)


RANGE = FieldSpec("range", Kind.RANGE, "pfn range [start, end), inside the zone")

# -- [scenario] -------------------------------------------------------------------------
SCENARIO = TableSpec(
    "[scenario]",
    "What the scenario is and where it comes from.",
    (
        FieldSpec("name", Kind.STR, "the scenario's name; must equal the file name without .toml"),
        FieldSpec("summary", Kind.STR, "one line: what race or state the scenario pins down"),
        FieldSpec("source", Kind.STR, "where the case comes from (mail, commit)", default=None),
        FieldSpec("description", Kind.STR, "longer explanation", default=None),
    ),
)

# -- [zone] -----------------------------------------------------------------------------
RANGE_ENTRY = TableSpec("range entry", "A pfn range.", (RANGE,))
PAGEBLOCK_ENTRY = TableSpec(
    "[[zone.pageblocks]]",
    "Initial migratetype of the pageblocks in a range (pageblocks not listed are movable).",
    (
        RANGE,
        _type("initial pageblock migratetype", SCENARIO_MIGRATETYPE_NAMES, default=REQUIRED),
    ),
)


def _default_pageblock_order(values: Mapping[str, object], env: Env) -> object:
    # x86-64 has HUGETLB_PAGE_ORDER 9; since 5.18 pageblock_order < MAX_ORDER is enforced,
    # so a small max_order pulls the default down with it.
    max_order = values.get("max_order", 11)
    assert isinstance(max_order, int)
    return min(9, max_order - 1)


ZONE = TableSpec(
    "[zone]",
    "Geometry of the one simulated zone (5.15 convention: orders 0..max_order-1).",
    (
        int_field("pages", "number of pfns in the zone (spanned pages)", lo=1, hi=MAX_PAGES),
        int_field(
            "max_order",
            "MAX_ORDER (orders 0..max_order-1 exist)",
            lo=1,
            hi=MAX_MAX_ORDER,
            default=11,
        ),
        int_field(
            "pageblock_order",
            "pageblock_order (< max_order)",
            lo=0,
            hi=ORDER_HI,
            derived=_default_pageblock_order,
            default_doc="min(9, max_order - 1)",
        ),
        int_field(
            "start_pfn",
            "zone_start_pfn; need not be MAX_ORDER aligned",
            lo=0,
            hi=MAX_PFN,
            default=0,
        ),
        int_field("cpus", "number of CPUs (pcp lists, drain work)", lo=1, hi=MAX_CPUS, default=2),
        FieldSpec(
            "movable_zone",
            Kind.BOOL,
            "ZONE_MOVABLE instead of ZONE_NORMAL (has_unmovable_pages trusts ZONE_MOVABLE)",
            default=False,
        ),
        int_field("pcp_high", "pcp->high override (default: kernel sizing)", lo=0, default=None),
        int_field("pcp_batch", "pcp->batch override (default: kernel sizing)", lo=1, default=None),
        FieldSpec(
            "thp",
            Kind.BOOL,
            "CONFIG_TRANSPARENT_HUGEPAGE: pageblock_order pcp lists, PageTransCompound",
            default=True,
        ),
        FieldSpec(
            "sparsemem_classic",
            Kind.BOOL,
            "CONFIG_SPARSEMEM without VMEMMAP/EXTREME: pfn_to_page() past the memmap's end "
            "(the zone's end) oopses",
            default=False,
        ),
        FieldSpec(
            "pageblocks",
            Kind.TABLES,
            "initial pageblock migratetypes",
            default=(),
            table=PAGEBLOCK_ENTRY,
        ),
        FieldSpec("holes", Kind.TABLES, "pfn ranges without memmap", default=(), table=RANGE_ENTRY),
        FieldSpec(
            "reserved", Kind.TABLES, "PageReserved pfn ranges", default=(), table=RANGE_ENTRY
        ),
    ),
)

# -- [[cma]] ----------------------------------------------------------------------------
CMA = TableSpec(
    "[[cma]]",
    "A CMA area. Alignment legality is the design's call (5.15 and 5.19 differ), not checked "
    "here; the size must be a multiple of 2^order_per_bit pages.",
    (
        FieldSpec("name", Kind.NAME, "the area's name, unique (cma_alloc refers to it)"),
        RANGE,
        int_field(
            "order_per_bit", "pages per bitmap bit = 2^order_per_bit", lo=0, hi=31, default=0
        ),
    ),
)

# -- ops --------------------------------------------------------------------------------
COMMON_OP_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("as", Kind.NAME, "name the result for a later 'ref'", attr="as_name", default=None),
    FieldSpec(
        "unrealistic",
        Kind.STR,
        "why this op's shape is one no real caller produces (printed beside verdicts)",
        default=None,
    ),
    FieldSpec(
        "expect",
        Kind.CHOICE,
        "result the op must have in every schedule",
        choices=EXPECT_RESULTS,
        default=None,
    ),
)


def _alloc_cma_default(values: Mapping[str, object], env: Env) -> object:
    return values.get("migratetype") == "movable"


def _alloc_compound_default(values: Mapping[str, object], env: Env) -> object:
    # LRU pages larger than one page are folios, and so are hugetlb pages (realism.py).
    lru = values.get("movable", values.get("migratetype") in ("movable", "cma"))
    order = values.get("order", 0)
    return values.get("hugetlb") is True or (lru is True and isinstance(order, int) and order > 0)


def _alloc_movable_default(values: Mapping[str, object], env: Env) -> object:
    return values.get("migratetype") in ("movable", "cma")


@dataclass(frozen=True, slots=True)
class OpSpec:
    """One op: its TOML name, dataclass, keys (common keys appended) and ref rules.

    ``ref_kinds`` lists the ops whose named results a ``ref`` of this op may name.
    """

    table: TableSpec
    cls: type[OpBase]
    ref_kinds: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.cls.KIND


def _op(cls: type[OpBase], doc: str, *fields: FieldSpec, ref_kinds: tuple[str, ...] = ()) -> OpSpec:
    return OpSpec(TableSpec(f"op {cls.KIND!r}", doc, (*fields, *COMMON_OP_FIELDS)), cls, ref_kinds)


# migrate's "as" names the moved allocation, so it counts as an alloc result.
_ALLOCATIONS = ("alloc",)
_BY_KIND = {cls.KIND: cls for cls in OP_CLASSES}
_K = _BY_KIND.__getitem__

OPTION = TableSpec(
    "choose option",
    "One weighted alternative of a choose.",
    (
        int_field("weight", "relative weight", lo=1, hi=1 << 20, default=1),
        FieldSpec("ops", Kind.OPS, "the ops of this alternative"),
    ),
)

OP_SPECS: tuple[OpSpec, ...] = (
    _op(
        _K("alloc"),
        "alloc_pages(gfp, order)",
        int_field("order", "allocation order", lo=0, hi=ORDER_HI),
        _type("migratetype of the request (gfp_migratetype)"),
        FieldSpec(
            "compound",
            Kind.BOOL,
            "__GFP_COMP",
            derived=_alloc_compound_default,
            default_doc="true iff the page is a folio: movable (LRU) and order > 0, or hugetlb",
        ),
        FieldSpec(
            "hugetlb",
            Kind.BOOL,
            "a hugetlb page (PageHuge: compound, not LRU, migratable); order = pageblock_order",
            default=False,
        ),
        FieldSpec(
            "reclaim",
            Kind.BOOL,
            "may enter direct reclaim: on failure unreserve highatomic blocks, drain the pcp "
            "lists and retry (default: fail at once, like __GFP_NORETRY)",
            default=False,
        ),
        FieldSpec(
            "cma",
            Kind.BOOL,
            "ALLOC_CMA: may be served from CMA pageblocks",
            derived=_alloc_cma_default,
            default_doc="true iff type is movable",
        ),
        FieldSpec(
            "movable",
            Kind.BOOL,
            "LRU/movable contents (false: pinned)",
            derived=_alloc_movable_default,
            default_doc="true iff type is movable or cma",
        ),
        _pfn(
            "pfn",
            "carve the block exactly at this pfn (setup only)",
            default=None,
            setup_only=True,
        ),
        _count("repeat the allocation; with 'as' the names are as[0]..as[count-1]", default=1),
    ),
    _op(
        _K("free"),
        "__free_pages of a named allocation",
        _ref("the allocation to free"),
        ref_kinds=_ALLOCATIONS,
    ),
    _op(
        _K("alloc_contig_range"),
        "alloc_contig_range(start, end, type)",
        _pfn("start", "first pfn"),
        _end("end pfn (exclusive)"),
        _type("migratetype to isolate with (movable, or cma for CMA)"),
    ),
    _op(
        _K("free_contig_range"),
        "free_contig_range: 'ref', or 'start' + 'count'",
        _ref("a named alloc_contig_range result", default=None),
        _pfn("start", "first pfn", default=None),
        _count("number of pages", default=None),
        ref_kinds=("alloc_contig_range",),
    ),
    _op(
        _K("cma_alloc"),
        "cma_alloc(cma, count, align)",
        FieldSpec("cma", Kind.NAME, "name of a [[cma]] area"),
        _count("number of pages"),
        int_field("align", "alignment order", lo=0, hi=31, default=0),
    ),
    _op(
        _K("cma_release"),
        "cma_release of a named cma_alloc result",
        _ref("the cma_alloc result"),
        ref_kinds=("cma_alloc",),
    ),
    _op(
        _K("migrate"),
        "migrate_pages of a named allocation",
        _ref("the allocation to migrate"),
        ref_kinds=_ALLOCATIONS,
    ),
    _op(
        _K("isolate"),
        "start_isolate_page_range(start, end, type, flags)",
        _pfn("start", "first pfn"),
        _end("end pfn (exclusive)"),
        _type("migratetype a later undo restores"),
        FieldSpec("flags", Kind.FLAGS, "isolation flags", choices=ISOLATE_FLAGS, default=()),
    ),
    _op(
        _K("unisolate"),
        "undo_isolate_page_range(start, end, type)",
        _pfn("start", "first pfn"),
        _end("end pfn (exclusive)"),
        _type("migratetype to restore"),
    ),
    _op(
        _K("offline_pages"),
        "offline_pages(start, count)",
        _pfn("start", "first pfn"),
        _count("number of pages"),
    ),
    _op(
        _K("online_pages"),
        "online_pages(start, count)",
        _pfn("start", "first pfn"),
        _count("number of pages"),
    ),
    _op(
        _K("virtio_mem_unplug"),
        "virtio_mem_fake_offline(start, count)",
        _pfn("start", "first pfn"),
        _count("number of pages"),
    ),
    _op(
        _K("virtio_mem_plug"),
        "virtio_mem_fake_online: 'ref', or 'start' + 'count'",
        _ref("a named virtio_mem_unplug result", default=None),
        _pfn("start", "first pfn", default=None),
        _count("number of pages", default=None),
        ref_kinds=("virtio_mem_unplug",),
    ),
    _op(_K("drain_all_pages"), "drain_all_pages(zone)"),
    _op(_K("drain_local_pages"), "drain_local_pages(zone)"),
    _op(
        _K("pcp_update"),
        "new pcp high/batch (sysctl write, onlining); at least one",
        int_field("high", "new pcp->high", lo=0, default=None),
        int_field("batch", "new pcp->batch", lo=1, default=None),
    ),
    _op(
        _K("soft_offline_page"),
        "soft_offline_page: 'ref' or 'pfn'",
        _ref("a named allocation", default=None),
        _pfn("pfn", "the pfn", default=None),
        ref_kinds=_ALLOCATIONS,
    ),
    _op(
        _K("repeat"),
        "run ops 'times' times (names inside are local to one iteration)",
        int_field("times", "number of iterations", lo=1, hi=1 << 20),
        FieldSpec("ops", Kind.OPS, "the loop body"),
    ),
    _op(
        _K("choose"),
        "run one weighted option, drawn by the scheduler (not in setup)",
        FieldSpec("options", Kind.OPTIONS, "the alternatives", table=OPTION),
    ),
)
OPS_BY_NAME: Mapping[str, OpSpec] = {spec.name: spec for spec in OP_SPECS}

# -- [[cpu]], [expect], [explore] -------------------------------------------------------
CPU = TableSpec(
    "[[cpu]]",
    "The i-th [[cpu]] is cpu<i>; its ops run in order.",
    (FieldSpec("ops", Kind.OPS, "the CPU's ops"),),
)

EXPLORE = TableSpec(
    "[explore]",
    "Default budget hints for zonesim explore.",
    (
        int_field("executions", "number of executions", lo=1, default=None),
        int_field(
            "max_steps", "step bound per execution (livelock suspected beyond)", lo=1, default=None
        ),
        FieldSpec(
            "strategy", Kind.CHOICE, "exploration strategy", choices=STRATEGIES, default=None
        ),
        int_field("preemption_bound", "preemption bound (dfs, pct depth)", lo=0, default=None),
    ),
)


@dataclass(frozen=True, slots=True)
class Section:
    """A top-level key of the file: a table, an array of tables, or the expect map."""

    name: str
    doc: str
    required: bool
    array: bool = False
    table: TableSpec | None = None  # None only for [expect]


SECTIONS: tuple[Section, ...] = (
    Section("scenario", SCENARIO.doc, True, table=SCENARIO),
    Section("zone", ZONE.doc, True, table=ZONE),
    Section("cma", CMA.doc, False, array=True, table=CMA),
    Section(
        "setup",
        "Ops run sequentially before the CPUs start (alloc may take 'pfn').",
        False,
        array=True,
    ),
    Section("cpu", CPU.doc, False, array=True, table=CPU),
    Section("expect", "Verdict per policy spec.", False),
    Section("explore", EXPLORE.doc, False, table=EXPLORE),
)
