"""Model traces in the shape of ``trace-cmd report``, for the kmem tracepoints the kernel
has, with the field names and formats of include/trace/events/kmem.h (v5.15):

    mm_page_alloc              page=%p pfn=0x%lx order=%d migratetype=%d gfp_flags=%s
    mm_page_free               page=%p pfn=0x%lx order=%d
    mm_page_alloc_zone_locked  page=%p pfn=0x%lx order=%u migratetype=%d percpu_refill=%d
    mm_page_pcpu_drain         page=%p pfn=0x%lx order=%d migratetype=%d

so a model trace can be diffed against ``trace-cmd record -e kmem:mm_page_*`` of a real
kernel. ``page`` is the struct page a vmemmap kernel would have (VMEMMAP_START +
64 * pfn); the task is ``zonesim-cpuN`` and the timestamp the record's position in the log
(one microsecond per record: the model has no clock). The last two tracepoints need an
observed trace (``rmqueue_page`` / ``pcp_drain_page`` records): an artifact is replayed
with observation for them; a JSON-lines log has them when ``zonesim run --log`` wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zonesim.model.types import MigrateType

VMEMMAP_START = 0xFFFFEA0000000000
STRUCT_PAGE_SIZE = 64

# The gfp_flags a kernel caller asking for this migratetype passes (show_gfp_flags names).
GFP_FOR = {
    "UNMOVABLE": "GFP_KERNEL",
    "MOVABLE": "GFP_HIGHUSER_MOVABLE",
    "RECLAIMABLE": "GFP_KERNEL|__GFP_RECLAIMABLE",
    "HIGHATOMIC": "GFP_ATOMIC|__GFP_HIGH",
    "CMA": "GFP_HIGHUSER_MOVABLE",
}


def _page(pfn: int | None) -> str:
    return "0000000000000000" if pfn is None else f"{VMEMMAP_START + STRUCT_PAGE_SIZE * pfn:x}"


def _mt(name: Any) -> int:
    return int(MigrateType[name]) if isinstance(name, str) and name in MigrateType.__members__ \
        else -1


def tracepoint(r: Mapping[str, Any]) -> tuple[str, str] | None:
    """(tracepoint, its fields as the kernel prints them) for one record, or None."""
    event = r.get("event")
    pfn = r.get("pfn") if isinstance(r.get("pfn"), int) else None
    order = r.get("order", 0)
    if event == "alloc_pages":
        mt = r.get("mt")
        # a failed allocation traces page=NULL pfn=0 (the TP_printk of 5.15)
        return "mm_page_alloc", (
            f"page={_page(pfn)} pfn=0x{pfn or 0:x} order={order} migratetype={_mt(mt)} "
            f"gfp_flags={GFP_FOR.get(str(mt), 'GFP_KERNEL')}")
    if event == "free_pages" and pfn is not None:
        return "mm_page_free", f"page={_page(pfn)} pfn=0x{pfn:x} order={order}"
    if event == "rmqueue_page" and pfn is not None:
        return "mm_page_alloc_zone_locked", (
            f"page={_page(pfn)} pfn=0x{pfn:x} order={order} migratetype={_mt(r.get('mt'))} "
            f"percpu_refill={int(r.get('percpu_refill', 0))}")
    if event == "pcp_drain_page" and pfn is not None:
        return "mm_page_pcpu_drain", (
            f"page={_page(pfn)} pfn=0x{pfn:x} order={order} migratetype={_mt(r.get('mt'))}")
    return None


def ftrace_lines(records: Sequence[Mapping[str, Any]], cpus: Sequence[str]) -> list[str]:
    index = {c: i for i, c in enumerate(cpus)}
    out = [f"cpus={len(cpus)}"]
    for ts, r in enumerate(records):
        tp = tracepoint(r)
        if tp is None:
            continue
        cpu = str(r.get("cpu", "?"))
        n = index.get(cpu, len(index))
        task = f"zonesim-{cpu}"
        out.append(f"{task:>16}-{1000 + n:<6} [{n:03d}] {ts / 1e6:12.6f}: "
                   f"{tp[0] + ':':<27} {tp[1]}")
    return out
