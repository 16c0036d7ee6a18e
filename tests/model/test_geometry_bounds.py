"""Geometry's bounds, each at its edge (the first value refused and the last one
accepted), and the derived figures a zone is built from (issue 12, item 6: an off-by-one
in a bound survived the fast tests)."""

from __future__ import annotations

import pytest

from zonesim.model.geometry import PAGE_ALLOC_COSTLY_ORDER, Geometry


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"pages": 0}, "pages"),
    ({"start_pfn": -1}, "start_pfn"),
    ({"max_order": 0}, "max_order"),
    ({"max_order": 17}, "max_order"),
    ({"max_order": 11, "pageblock_order": 11}, "pageblock_order"),
    ({"pageblock_order": -1}, "pageblock_order"),
    ({"cpus": 0}, "cpus"),
    ({"cpus": 65}, "cpus"),
])
def test_the_first_value_past_each_bound_is_refused(kwargs: dict[str, int],
                                                    field: str) -> None:
    args = {"start_pfn": 0, "pages": 1024, **kwargs}
    with pytest.raises(ValueError, match=field):
        Geometry(**args)


@pytest.mark.parametrize("kwargs", [
    {"pages": 1}, {"start_pfn": 0}, {"max_order": 1, "pageblock_order": 0},
    {"max_order": 16, "pageblock_order": 15}, {"max_order": 11, "pageblock_order": 10},
    {"pageblock_order": 0}, {"cpus": 1}, {"cpus": 64},
])
def test_the_last_value_inside_each_bound_is_accepted(kwargs: dict[str, int]) -> None:
    Geometry(**{"start_pfn": 0, "pages": 1024, **kwargs})


def test_derived_figures() -> None:
    g = Geometry(start_pfn=1000, pages=3000, max_order=11, pageblock_order=9)
    assert g.end_pfn == 4000
    assert g.max_order_nr_pages == 1024 and g.pageblock_nr_pages == 512
    assert g.first_pageblock == 1  # 1000 >> 9
    assert g.nr_pageblocks == 7  # pageblocks 1..7: [512, 4096) touches [1000, 4000)
    assert g.spans(1000) and g.spans(3999) and not g.spans(999) and not g.spans(4000)
    assert g.pageblock_start(1535) == 1024 and g.pageblock_start(1536) == 1536
    assert Geometry(0, 512, pageblock_order=9).nr_pageblocks == 1
    assert Geometry(0, 513, pageblock_order=9).nr_pageblocks == 2


def test_pcp_orders_and_list_indices() -> None:
    g = Geometry(0, 1024, pageblock_order=9)
    assert [o for o in range(11) if g.pcp_allowed_order(o)] == [0, 1, 2, 3, 9]
    assert not Geometry(0, 1024, thp=False).pcp_allowed_order(9)
    assert g.nr_pcp_lists == 3 * (PAGE_ALLOC_COSTLY_ORDER + 2) == 15
    assert Geometry(0, 1024, thp=False).nr_pcp_lists == 12
    seen = set()
    for order in (0, 1, 2, 3, 9):
        for mt in range(3):
            p = g.order_to_pindex(mt, order)
            assert 0 <= p < g.nr_pcp_lists and p not in seen
            seen.add(p)
            assert g.pindex_to_order(p) == order
