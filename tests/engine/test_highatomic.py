"""The highatomic reserve as the allocator drives it: a high-order ALLOC_HARDER allocation
reserves its pageblock (get_page_from_freelist), and a request that may reclaim gets it back
before it fails (__alloc_pages_direct_reclaim keeps one block; should_reclaim_retry, before
OOM, takes the last) -- with nr_reserved_highatomic equal to the HIGHATOMIC pageblocks."""

from __future__ import annotations

from zonesim.engine import Engine
from zonesim.model.types import MigrateType
from zonesim.policy import parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import ReplayStrategy

SCENARIO = """
[scenario]
name = "highatomic"
summary = "reserve on an atomic order-1 success, unreserve when a reclaiming request would fail"

[zone]
pages = 2048
cpus = 1

[[cpu]]
ops = [ { op = "alloc", order = 1, type = "highatomic", as = "atomic", expect = "ok" },
        { op = "alloc", order = 9, type = "movable", count = 2, as = "thp" },
        { op = "alloc", order = 8, type = "movable", as = "more" },
        { op = "alloc", order = 7, type = "movable", as = "rest" },
        { op = "alloc", order = 8, type = "movable", as = "late", reclaim = true, expect = "ok" } ]
"""


def run(spec: str) -> tuple[list[str], str | None, int]:
    engine = Engine(parse_scenario(SCENARIO, "highatomic.toml"), parse_policy(spec))
    out = engine.run(ReplayStrategy(()), tracing=True)
    events = [e["event"] for e in out.events if e["event"].startswith("highatomic")]
    zone = engine.last_zone
    assert zone is not None
    return events, (out.violation.invariant if out.violation else None), (
        zone.nr_reserved_highatomic
    )


def test_reserved_by_the_atomic_allocation_and_given_back_before_failing() -> None:
    for spec in ("v5.15", "v6.0", "v6.10"):
        events, violation, reserved = run(spec)
        assert violation is None, spec
        assert events == ["highatomic_reserved", "highatomic_unreserved"], spec
        assert reserved == 0


def test_without_reclaim_the_request_fails_and_the_reserve_stays() -> None:
    text = SCENARIO.replace('reclaim = true, expect = "ok"', 'expect = "null"')
    engine = Engine(parse_scenario(text, "highatomic.toml"), parse_policy("v5.15"))
    out = engine.run(ReplayStrategy(()), tracing=True)
    assert out.violation is None
    assert [e["event"] for e in out.events if e["event"].startswith("highatomic")] == [
        "highatomic_reserved"
    ]
    assert engine.last_zone is not None and engine.last_zone.nr_reserved_highatomic == 512


def test_a_pageblock_the_allocation_took_whole_is_reserved_too() -> None:
    """An atomic order-9 allocation takes all of pageblock 0: reserve_highatomic_pageblock()
    still reserves it. From c0cd6f557b90 the free pages move first and only a failure
    (-1: the block straddles the zone's edge) skips the reservation -- zero pages moved is
    a success (``if (move_freepages_block(...) == -1) goto out_unlock``)."""
    text = SCENARIO.split("[[cpu]]")[0] + """[[cpu]]
ops = [ { op = "alloc", order = 9, type = "highatomic", as = "atomic", expect = "ok" } ]
"""
    for spec in ("v5.15", "v6.10"):
        engine = Engine(parse_scenario(text, "highatomic.toml"), parse_policy(spec))
        out = engine.run(ReplayStrategy(()), tracing=True)
        assert out.violation is None, spec
        assert [(e["event"], e["pfn"]) for e in out.events
                if e["event"].startswith("highatomic")] == [("highatomic_reserved", 0)], spec
        zone = engine.last_zone
        assert zone is not None and zone.nr_reserved_highatomic == 512, spec
        assert zone.get_pageblock_migratetype(0) == MigrateType.HIGHATOMIC, spec
