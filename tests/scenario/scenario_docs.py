"""Shared scenario texts for the tests of zonesim.scenario."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "cma-c-concurrent.toml"

ZONE = "pages = 2048"


def doc(body: str = "", *, zone: str = ZONE, name: str = "x") -> str:
    """A minimal valid scenario named ``name`` (file ``x.toml``), with ``body`` appended."""
    return f"""
[scenario]
name = "{name}"
summary = "test"

[zone]
{zone}

[[cma]]
name = "cma0"
range = [0, 1024]

{body}
"""


# A document using every op and every optional table: valid, and a good mutation seed.
FULL = doc(
    """
[[zone.pageblocks]]
range = [0, 1024]
type = "cma"

[[zone.holes]]
range = [2040, 2048]

[[zone.reserved]]
range = [1536, 1544]

[[setup]]
op = "alloc"
order = 0
count = 3
as = "filler"

[[setup]]
op = "alloc"
pfn = 1024
order = 9
type = "unmovable"
as = "big"

[[setup]]
op = "repeat"
times = 2
ops = [ { op = "drain_local_pages" } ]

[[cpu]]
ops = [
  { op = "cma_alloc", cma = "cma0", count = 512, align = 9, as = "a", expect = "ok" },
  { op = "cma_release", ref = "a" },
  { op = "alloc", order = 3, type = "reclaimable", compound = true, cma = false, as = "r" },
  { op = "migrate", ref = "r", as = "r2" },
  { op = "free", ref = "r2" },
  { op = "free", ref = "filler[1]" },
  { op = "alloc_contig_range", start = 1024, end = 1536, type = "movable", as = "acr" },
  { op = "free_contig_range", ref = "acr" },
  { op = "free_contig_range", start = 1100, count = 4 },
  { op = "isolate", start = 1024, end = 1536, flags = ["MEMORY_OFFLINE"] },
  { op = "unisolate", start = 1024, end = 1536, type = "movable" },
  { op = "repeat", times = 3, ops = [
      { op = "alloc", order = 1, as = "t" },
      { op = "choose", options = [
          { weight = 2, ops = [ { op = "free", ref = "t" } ] },
          { ops = [ { op = "migrate", ref = "t" } ] } ] } ] },
]

[[cpu]]
ops = [
  { op = "offline_pages", start = 1536, count = 512, expect = "-EBUSY" },
  { op = "online_pages", start = 1536, count = 512 },
  { op = "virtio_mem_unplug", start = 1024, count = 512, as = "vm" },
  { op = "virtio_mem_plug", ref = "vm" },
  { op = "virtio_mem_plug", start = 1024, count = 512 },
  { op = "drain_all_pages" },
  { op = "drain_local_pages" },
  { op = "pcp_update", high = 0, batch = 1 },
  { op = "soft_offline_page", ref = "big" },
  { op = "soft_offline_page", pfn = 1030 },
  { op = "free", ref = "big", expect = "fail" },
]

[expect]
"v5.15" = "pass"
"v5.19 -86d28b070927 +extra" = "violation:I5b"
"proposal" = "n/a"

[explore]
executions = 100
max_steps = 5000
strategy = "pct"
preemption_bound = 2
"""
)
