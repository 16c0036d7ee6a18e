"""Model benchmarks (DESIGN.md §2, §11): memory per simulated page, time per alloc/free pair
at 65,536 vs 1,048,576 pages, zone build time, and the CLI's peak memory.

Run from the repository root::

    .venv/bin/python benchmarks/model.py            # ~1 minute (about 60-80 s)
    .venv/bin/python benchmarks/model.py --quick    # ~15 seconds

Nothing is asserted: the machines are shared and noisy, so the script prints figures,
ratios and PASS/FAIL markers against the design's budgets. Timings are the best (min) of
several repeats.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import subprocess
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zonesim.model.alloc import (
    free_pages_prepare,
    prep_new_page,
    rmqueue_buddy,
    zone_watermark_ok,
)
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.buddy import FPI_NONE, __free_one_page
from zonesim.model.geometry import Geometry
from zonesim.model.memmap import Memmap
from zonesim.model.pcp import __rmqueue_pcplist, free_unref_page_commit
from zonesim.model.sync import sequential  # async model primitives, run to completion
from zonesim.model.types import MIGRATE_PCPTYPES, MigrateType
from zonesim.model.zone import Allocation, Zone

rmqueue_buddy = sequential(rmqueue_buddy)
__free_one_page = sequential(__free_one_page)
__rmqueue_pcplist = sequential(__rmqueue_pcplist)
free_unref_page_commit = sequential(free_unref_page_commit)

SMALL = 65_536
LARGE = 1_048_576
BUDGET = 32  # bytes per simulated page at 1M pages (DESIGN.md §2)
RATIO_GOAL = 1.5  # time per op at 1M / at 64K (DESIGN.md §11: "flat")
START_PFN = 0x100000  # 4 GiB: MAX_ORDER-aligned, as a Normal zone above DMA32 would be
# Same pcp high/batch at both sizes (the kernel formulas scale them with the zone, which
# would change how often the pcp path spills and refills, not what one operation costs).
PCP_HIGH = 64
PCP_BATCH = 8
ORDERS = (0, 1, 2, 3, 9)
TYPES = (MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE)
RING = 16  # allocations kept live: each pair frees the oldest, so lists move

ROOT = Path(__file__).resolve().parent.parent


def marker(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def layout(pages: int) -> ZoneLayout:
    return ZoneLayout(Geometry(START_PFN, pages), pcp_high=PCP_HIGH, pcp_batch=PCP_BATCH)


# -- memory -----------------------------------------------------------------------------


def storage_bytes(zone: Zone) -> int:
    """Bytes of the zone's per-page storage: every array of the memmap (element count x
    itemsize) plus the pageblock bytearray. Per-list and per-CPU tables are not per page."""
    m = zone.memmap
    total = 0
    for name in Memmap.__slots__:
        v = getattr(m, name)
        if isinstance(v, array):
            total += v.buffer_info()[1] * v.itemsize
    return total + len(zone.pageblock)


_CHILD_BUILD = """
import resource, sys
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.geometry import Geometry
zone = build_zone(ZoneLayout(Geometry({start}, int(sys.argv[1]))))
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm[0].split()[1] if hwm else 0)
"""

_CHILD_CLI = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def child_peak_kib(code: str, args: list[str], repeats: int) -> int:
    """Min over ``repeats`` fresh interpreters of the peak RSS (KiB) they print."""
    best = sys.maxsize
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        best = min(best, int(out.split()[-1]))
    return best


def bench_memory(repeats: int) -> None:
    print("== memory per simulated page ==")
    zone = build_zone(layout(LARGE))
    b = storage_bytes(zone)
    per = b / LARGE
    print(f"  array storage at {LARGE:,} pages: {b:,} bytes = {per:.2f} B/page  (budget {BUDGET})"
          f"  [{marker(per <= BUDGET)}]")
    print(f"  Memmap.bytes_per_page() claims {Memmap.bytes_per_page()} B/page")
    del zone
    gc.collect()

    # A fork()ed child inherits the parent's RSS high-water mark into its own ru_maxrss
    # (Linux keeps it across exec), so the child that builds the zone is started by a small
    # fresh wrapper interpreter, which reads RUSAGE_CHILDREN after waiting for it.
    code = _CHILD_BUILD.format(start=START_PFN)
    py = sys.executable
    small = child_peak_kib(_CHILD_CLI, [py, "-c", code, str(SMALL)], repeats)
    large = child_peak_kib(_CHILD_CLI, [py, "-c", code, str(LARGE)], repeats)
    per_rss = (large - small) * 1024 / (LARGE - SMALL)
    print(f"  peak RSS (ru_maxrss), build_zone in a fresh process: {SMALL:,} pages "
          f"{small:,} KiB, {LARGE:,} pages {large:,} KiB")
    print(f"  (peak1M - peak64K) / added pages = {per_rss:.2f} B/page  (budget {BUDGET})"
          f"  [{marker(per_rss <= BUDGET)}]")

    exe = shutil.which("zonesim", path=str(Path(sys.executable).parent)) or "zonesim"
    cli_small = child_peak_kib(_CHILD_CLI, [exe, "show", "--pages", str(SMALL)], repeats)
    cli_large = child_peak_kib(_CHILD_CLI, [exe, "show", "--pages", str(LARGE)], repeats)
    per_cli = (cli_large - cli_small) * 1024 / (LARGE - SMALL)
    print(f"  peak RSS, `zonesim show --pages N`: {SMALL:,} -> {cli_small:,} KiB, "
          f"{LARGE:,} -> {cli_large:,} KiB")
    print(f"  CLI (peak1M - peak64K) / added pages = {per_cli:.2f} B/page  (criterion <= "
          f"{BUDGET})  [{marker(per_cli <= BUDGET)}]")


# -- zone build -------------------------------------------------------------------------


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_build(repeats: int) -> None:
    print("== zone build (boot: memmap arrays + memblock_free_all) ==")
    times = {n: best_of(repeats, lambda n=n: build_zone(layout(n))) for n in (SMALL, LARGE)}
    for n, t in times.items():
        print(f"  build_zone({n:,} pages): {t * 1e3:.2f} ms  ({t * 1e9 / n:.1f} ns/page)")
    print(f"  ratio 1M/64K: {times[LARGE] / times[SMALL]:.1f}  (pages ratio 16)")


# -- alloc/free pairs -------------------------------------------------------------------


@dataclass
class PairStats:
    ns_per_pair: float
    failed: int


def fragment(zone: Zone, seed: int) -> None:
    """Allocate about half the zone in small blocks of mixed types, then free a random
    half of them: long free lists of scattered small blocks, stolen pageblocks."""
    rng = random.Random(seed)
    target = zone.NR_FREE_PAGES // 2
    live: list[Allocation] = []
    while target < zone.NR_FREE_PAGES:
        order = rng.choice((0, 0, 0, 1, 2, 3))
        mt = rng.choice(TYPES)
        pfn = rmqueue_buddy(zone, order, int(mt), 0)
        if pfn is None:
            break
        live.append(prep_new_page(zone, pfn, order, mt, compound=False, movable=False, cpu=0))
    rng.shuffle(live)
    for a in live[: len(live) // 2]:
        pfn, order, mt = a.pfn, a.order, zone.memmap.cached_mt[zone.idx(a.pfn)]
        free_pages_prepare(zone, a)
        __free_one_page(zone, pfn, order, mt, FPI_NONE)


def plan(n: int, seed: int, orders: tuple[int, ...] = ORDERS) -> list[tuple[int, MigrateType]]:
    rng = random.Random(seed)
    return [(rng.choice(orders), rng.choice(TYPES)) for _ in range(n)]


def buddy_pairs(zone: Zone, steps: list[tuple[int, MigrateType]]) -> int:
    """rmqueue_buddy + prep_new_page, then free_pages_prepare + __free_one_page of the
    oldest live allocation (the zone->lock half of alloc_pages / __free_pages_ok)."""
    ring: deque[Allocation] = deque()
    failed = 0
    wmark = zone.watermarks.min
    for order, mt in steps:
        if zone_watermark_ok(zone, order, wmark, 0):
            pfn = rmqueue_buddy(zone, order, int(mt), 0)
            if pfn is None:
                failed += 1
            else:
                ring.append(
                    prep_new_page(zone, pfn, order, mt, compound=order == 9, movable=False, cpu=0)
                )
        else:
            failed += 1
        if len(ring) > RING:
            _buddy_free(zone, ring.popleft())
    while ring:
        _buddy_free(zone, ring.popleft())
    return failed


def _buddy_free(zone: Zone, a: Allocation) -> None:
    """free_pages_prepare, __free_pages_ok's pageblock read, __free_one_page."""
    pfn, order = a.pfn, a.order
    free_pages_prepare(zone, a)
    mt = int(zone.get_pageblock_migratetype(pfn))
    __free_one_page(zone, pfn, order, mt, FPI_NONE)


def pcp_pairs(zone: Zone, steps: list[tuple[int, MigrateType]]) -> int:
    """__rmqueue_pcplist + prep_new_page, then free_pages_prepare + the
    free_unref_page_prepare pageblock read + free_unref_page_commit (spills included)."""
    ring: deque[Allocation] = deque()
    failed = 0
    m = zone.memmap
    wmark = zone.watermarks.min
    for order, mt in steps:
        if zone_watermark_ok(zone, order, wmark, 0):
            pfn = __rmqueue_pcplist(zone, 0, order, int(mt), 0)
            if pfn is None:
                failed += 1
            else:
                ring.append(
                    prep_new_page(zone, pfn, order, mt, compound=order == 9, movable=False, cpu=0)
                )
        else:
            failed += 1
        if len(ring) > RING:
            _pcp_free(zone, m, ring.popleft())
    while ring:
        _pcp_free(zone, m, ring.popleft())
    return failed


def _pcp_free(zone: Zone, m: Memmap, a: Allocation) -> None:
    pfn, order = a.pfn, a.order
    free_pages_prepare(zone, a)
    mt = int(zone.get_pageblock_migratetype(pfn))
    m.cached_mt[zone.idx(pfn)] = mt
    if mt >= MIGRATE_PCPTYPES:
        mt = int(MigrateType.MOVABLE)
    free_unref_page_commit(zone, 0, pfn, mt, order)


def time_pairs(
    zone: Zone,
    fn: Callable[[Zone, list[tuple[int, MigrateType]]], int],
    n: int,
    repeats: int,
    orders: tuple[int, ...] = ORDERS,
) -> PairStats:
    steps = plan(n, seed=7, orders=orders)
    fn(zone, steps[: n // 10])  # warm-up
    failed = 0
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        failed = fn(zone, steps)
        best = min(best, time.perf_counter() - t)
    return PairStats(best * 1e9 / n, failed)


def bench_pairs(n: int, repeats: int) -> None:
    print(f"== time per alloc/free pair (orders {ORDERS}, {n:,} pairs, best of {repeats}) ==")
    results: dict[str, dict[int, PairStats]] = {"buddy": {}, "pcp": {}}
    per_order: dict[tuple[str, int, int], float] = {}
    for pages in (SMALL, LARGE):
        zone = build_zone(layout(pages))
        t = time.perf_counter()
        fragment(zone, seed=1)
        frag = time.perf_counter() - t
        longest = max(zone.memmap.lists_len[: zone.nr_free_lists])
        print(f"  {pages:,} pages: fragmented in {frag:.1f} s; {zone.NR_FREE_PAGES:,} free, "
              f"longest free list {longest:,} blocks, nr_free {zone.nr_free[:4]}")
        results["buddy"][pages] = time_pairs(zone, buddy_pairs, n, repeats)
        results["pcp"][pages] = time_pairs(zone, pcp_pairs, n, repeats)
        for order in ORDERS:
            for path, fn in (("buddy", buddy_pairs), ("pcp", pcp_pairs)):
                st = time_pairs(zone, fn, max(n // 5, 500), repeats, (order,))
                per_order[path, order, pages] = st.ns_per_pair
        del zone
        gc.collect()
    for path, by in results.items():
        s, large = by[SMALL], by[LARGE]
        ratio = large.ns_per_pair / s.ns_per_pair
        print(f"  {path:5} path: {s.ns_per_pair:,.0f} ns/pair at 64K, "
              f"{large.ns_per_pair:,.0f} ns/pair at 1M; ratio 1M/64K {ratio:.2f} "
              f"(goal <= {RATIO_GOAL})  [{marker(ratio <= RATIO_GOAL)}]"
              f"  failed allocs {s.failed}/{large.failed}")
    print("  per order (ns/pair at 64K / 1M, ratio):")
    for path in ("buddy", "pcp"):
        cells = []
        for order in ORDERS:
            a, b = per_order[path, order, SMALL], per_order[path, order, LARGE]
            cells.append(f"o{order} {a:,.0f}/{b:,.0f} {b / a:.2f}")
        print(f"    {path:5}: " + "; ".join(cells))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="fewer pairs and repeats (~15 s)")
    args = p.parse_args(argv)
    pairs, repeats, rss_repeats = (4_000, 3, 1) if args.quick else (15_000, 5, 3)
    print(f"zonesim model benchmark: python {sys.version.split()[0]}, "
          f"{'quick' if args.quick else 'full'} run")
    t0 = time.perf_counter()
    bench_memory(rss_repeats)
    bench_build(repeats)
    bench_pairs(pairs, repeats)
    print(f"(total {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
