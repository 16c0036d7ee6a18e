"""isolate_single_pageblock()'s lockless PageBuddy check and its split under zone->lock
(issue 7, "done when"): another CPU that allocates the free block in between is found,
and replays, under the three forms the kernel had.

- 86d28b070927 off (b2c9e2fbba32 as first merged): split_free_page takes a page off a free
  list it is no longer on. The commit also fixed split_free_page's accounting, which breaks
  on every schedule, so a plain exploration stops at I2 in its first execution; --keep-going
  reports one finding per invariant, and the race shows as its own (kernel_bug).
- v5.19 to v6.9: the re-check backs off, and the order-9 rest of the other CPU's allocation
  stays allocatable inside the isolated pageblock (I5a) — the race fd919a85cd55's changelog
  describes.
- v6.10: set_migratetype_isolate splits the straddling buddy under zone->lock; the bounded
  space is exhausted without a violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim import explore
from zonesim.api import run

pytestmark = pytest.mark.slow  # three bounded explorations, ~10 s of CPU

SCENARIO = Path(__file__).parent / "data" / "isolate-split-race.toml"


def test_without_the_recheck_the_split_corrupts_a_free_list_and_replays(tmp_path: Path) -> None:
    report = explore(SCENARIO, "dfs", policy="v5.19 -86d28b070927", preemption_bound=1,
                     executions=1000, keep_going=True, artifacts=tmp_path)
    found = {f.invariant: f for f in report.violations}
    race = found["kernel_bug"]
    assert "del_page_from_free_list" in race.message
    assert "is not a free order-10 block" in race.message
    assert race.preemptions == 1
    # cpu0 lost the CPU at the switch point between the lockless check and the split
    assert "isolate_single_pageblock:split" in race.schedule
    replayed = run(SCENARIO, "v5.19 -86d28b070927", schedule=race.schedule)
    assert replayed.outcome.violation is not None
    assert replayed.outcome.violation.invariant == "kernel_bug"


def test_with_the_recheck_the_rest_of_the_block_stays_allocatable(tmp_path: Path) -> None:
    report = explore(SCENARIO, "dfs", policy="v5.19", preemption_bound=1, executions=1000,
                     artifacts=tmp_path)
    assert [f.invariant for f in report.violations] == ["I5a_isolated_not_allocatable"]
    found = report.violations[0]
    assert found.preemptions == 1 and "isolate_single_pageblock:split" in found.schedule
    assert "order-9 block at pfn 0x600 on free_area[9].free_list[CMA]" in found.message
    replayed = run(SCENARIO, "v5.19", schedule=found.schedule)
    assert replayed.outcome.violation is not None
    assert replayed.outcome.violation.invariant == "I5a_isolated_not_allocatable"


def test_v6_10_isolation_splits_under_the_lock() -> None:
    report = explore(SCENARIO, "dfs", policy="v6.10", preemption_bound=1, executions=1000,
                     artifacts=None)
    assert report.exhausted and not report.violations
