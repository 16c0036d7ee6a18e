"""Allocation shapes real callers produce (issue: a verdict is only as good as the state it
starts from).

The rules hold for the model's geometry read as x86-64 with 4 KiB pages and hugetlb
configured, where pageblock_order is HPAGE_PMD_ORDER (research R7 §Q11):

- movable LRU folios are at most pageblock_order: THP is HPAGE_PMD_ORDER, and the page
  cache's MAX_PAGECACHE_ORDER works out to the same order (no release up to 6.17 raises it);
- LRU pages larger than one page are compound folios;
- hugetlb pages are the PMD size in the model; gigantic (1 GiB) pages are freed back as
  order-0 chunks (free_contig_range / cma_release), so no caller frees one whole;
- unmovable high-order pages come from alloc_pages() without __GFP_COMP (non-compound) or
  kmalloc_large() (compound): any order up to MAX_ORDER-1 is real.

A scenario may still place another shape on purpose (the founding thread's MAX_ORDER-1
movable page is one); it says so with ``unrealistic = "why"`` on that op, and the verdicts
are printed with the note.
"""

from __future__ import annotations

from collections.abc import Iterator

from zonesim.scenario.document import Scenario
from zonesim.scenario.ops import Alloc, Choose, Op, Repeat


def shape_problem(op: Alloc, pageblock_order: int) -> tuple[str, str] | None:
    """(key, why) when no real caller produces ``op``'s allocation, else None."""
    if op.hugetlb:
        if op.order != pageblock_order:
            return "order", (
                f"a hugetlb page of order {op.order}: the model's hstate is the PMD size "
                f"(order {pageblock_order}); gigantic pages are freed as order-0 chunks"
            )
        return None
    if op.movable and op.order > pageblock_order:
        return "order", (
            f"a movable (LRU) page of order {op.order}: LRU folios are at most "
            f"pageblock_order = {pageblock_order} (THP, MAX_PAGECACHE_ORDER on x86-64)"
        )
    if op.movable and op.order > 0 and not op.compound:
        return "compound", (
            f"a movable (LRU) order-{op.order} page that is not compound: LRU pages "
            "larger than one page are folios (compound)"
        )
    return None


def walk(ops: tuple[Op, ...]) -> Iterator[Op]:
    for op in ops:
        yield op
        if isinstance(op, Repeat):
            yield from walk(op.ops)
        elif isinstance(op, Choose):
            for option in op.options:
                yield from walk(option.ops)


def all_ops(scenario: Scenario) -> Iterator[Op]:
    yield from walk(scenario.setup)
    for cpu in scenario.cpus:
        yield from walk(cpu.ops)


def first_unmarked(scenario: Scenario) -> tuple[str, str] | None:
    """(key path, message) of the first allocation no caller produces that does not say
    ``unrealistic``; None when every shape is real or marked."""
    for op in all_ops(scenario):
        if isinstance(op, Alloc) and op.unrealistic is None:
            problem = shape_problem(op, scenario.zone.pageblock_order)
            if problem is not None:
                key, why = problem
                return (
                    f"{op.path}.{key}",
                    f"expected an allocation shape real callers produce, got {why}; if "
                    f'that is the point, say why with unrealistic = "..." on this op',
                )
    return None


def unrealistic_notes(scenario: Scenario) -> list[dict[str, str]]:
    """Every op marked ``unrealistic``: its key path and the scenario's reason."""
    return [
        {"op": op.path, "why": op.unrealistic}
        for op in all_ops(scenario)
        if op.unrealistic is not None
    ]
