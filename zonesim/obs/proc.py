"""/proc renderers in the exact v5.15 formats (mm/vmstat.c): buddyinfo, pagetypeinfo,
the zone and pcp part of zoneinfo, plus a one-character-per-pageblock map.

Counters the model does not keep (LRU sizes, NUMA hits, protection) print as 0 so the
layout stays line-for-line what a kernel developer knows.
"""

from __future__ import annotations

from zonesim.model.snapshot import ZoneSnapshot
from zonesim.model.types import MIGRATE_TYPES, MigrateType

NODE = 0


def buddyinfo(s: ZoneSnapshot) -> str:
    """frag_show_print(): "Node %d, zone %8s " then "%6lu " per order."""
    line = f"Node {NODE}, zone {s.name:>8} " + "".join(f"{n:6d} " for n in s.nr_free)
    return line + "\n"


def pagetypeinfo(s: ZoneSnapshot) -> str:
    """pagetypeinfo_show(): free blocks per list type and order, then pageblocks per type."""
    out = [
        f"Page block order: {s.pageblock_order}\n",
        f"Pages per block:  {1 << s.pageblock_order}\n",
        "\n",
    ]
    head = f"{'Free pages count per migrate type at order':<43} "
    head += "".join(f"{o:6d} " for o in range(s.max_order))
    out.append(head + "\n")
    for mt in range(MIGRATE_TYPES):
        row = f"Node {NODE:4d}, zone {s.name:>8}, type {MigrateType(mt).kernel_name:>12} "
        for order in range(s.max_order):
            n = s.list_len[mt][order]
            # pagetypeinfo_showfree_print() stops counting at 100000 and prints ">"
            row += f">{100000:6d} " if n >= 100000 else f"{'':s}{n:6d} "
        out.append(row + "\n")
    out.append("\n")
    out.append(
        f"{'Number of blocks type ':<23}"
        + "".join(f"{MigrateType(mt).kernel_name:>12} " for mt in range(MIGRATE_TYPES))
        + "\n"
    )
    out.append(
        f"Node {NODE}, zone {s.name:>8} " + "".join(f"{n:12d} " for n in s.pageblock_counts) + "\n"
    )
    return "".join(out)


_ZONE_STATS = (
    "nr_free_pages",
    "nr_zone_inactive_anon",
    "nr_zone_active_anon",
    "nr_zone_inactive_file",
    "nr_zone_active_file",
    "nr_zone_unevictable",
    "nr_zone_write_pending",
    "nr_mlock",
    "nr_bounce",
    "nr_zspages",
    "nr_free_cma",
)


def zoneinfo(s: ZoneSnapshot) -> str:
    """zoneinfo_show_print() for one populated zone, without the per-node stats block."""
    out = [f"Node {NODE}, zone {s.name:>8}"]
    out.append(f"\n  pages free     {s.nr_free_pages}")
    out.append(f"\n        min      {s.wmark_min}")
    out.append(f"\n        low      {s.wmark_low}")
    out.append(f"\n        high     {s.wmark_high}")
    out.append(f"\n        spanned  {s.spanned}")
    out.append(f"\n        present  {s.present}")
    out.append(f"\n        managed  {s.managed}")
    out.append(f"\n        cma      {s.cma_pages}")
    out.append("\n        protection: (0, 0, 0, 0, 0)")
    for name in _ZONE_STATS:
        v = (
            s.nr_free_pages
            if name == "nr_free_pages"
            else s.nr_free_cma_pages
            if name == "nr_free_cma"
            else 0
        )
        out.append(f"\n      {name:<12} {v}")
    for name in ("numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local",
                 "numa_other"):
        out.append(f"\n      {name:<12} 0")
    out.append("\n  pagesets")
    for p in s.pcp:
        out.append(f"\n    cpu: {p.cpu}")
        out.append(f"\n              count: {p.count}")
        out.append(f"\n              high:  {p.high}")
        out.append(f"\n              batch: {p.batch}")
        out.append(f"\n  vm stats threshold: {_threshold(s)}")
    out.append("\n  node_unreclaimable:  0")
    out.append(f"\n  start_pfn:           {s.start_pfn}")
    out.append("\n")
    return "".join(out)


def _threshold(s: ZoneSnapshot) -> int:
    """calculate_normal_threshold(): 2 * fls(cpus) * (1 + fls(mem_MB / 128)), max 125."""
    cpus = len(s.pcp)
    mem_mb = (s.managed * 4096) >> 20
    threshold = 2 * cpus.bit_length() * (1 + (mem_mb >> 7).bit_length())
    return min(125, threshold)


def pageblock_map(s: ZoneSnapshot, width: int = 64) -> str:
    """One character per pageblock, U M E H C I by type, rows of ``width`` with the
    first pfn of each row; isolated pageblocks are I (their type is ISOLATE)."""
    pb = 1 << s.pageblock_order
    rows = []
    types = s.pageblock_types
    for k in range(0, len(types), width):
        pfn = s.pageblock_first_pfn + k * pb
        rows.append(f"{pfn:#010x} " + "".join(t.letter for t in types[k : k + width]))
    legend = "U=Unmovable M=Movable E=Reclaimable H=HighAtomic C=CMA I=Isolate"
    return "\n".join(rows) + "\n" + legend + "\n"
