"""Data choices (``choose`` ops, Scheduler.choose): a choice with one option is no choice."""

from __future__ import annotations

import pytest

from zonesim.engine import Engine
from zonesim.policy import parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import ReplayStrategy

SCENARIO = """
[scenario]
name = "choose"
summary = "a choose op"

[zone]
pages = 2048
cpus = 1

[[cpu]]
ops = [ { op = "choose", options = [ OPTIONS ] } ]
"""
ALLOC = '{ ops = [ { op = "alloc", order = ORDER, type = "movable", as = "a", expect = "ok" } ] }'


@pytest.mark.parametrize("orders", [(3,), (3, 5)])
def test_a_choose_runs_exactly_one_option_and_records_a_decision_only_when_there_are_two(
        orders: tuple[int, ...]) -> None:
    """Scheduler.choose(n): n == 1 is no decision (the only option runs: index 0, nothing
    recorded in the schedule); n == 2 is a data choice the schedule records, and with the
    empty replay schedule the scheduler takes option 0 ("the simple thing")."""
    options = ", ".join(ALLOC.replace("ORDER", str(o)) for o in orders)
    engine = Engine(parse_scenario(SCENARIO.replace("OPTIONS", options), "choose.toml"),
                    parse_policy("v5.15"))
    out = engine.run(ReplayStrategy(()), tracing=True)
    assert out.violation is None
    allocs = [e["order"] for e in out.events if e["event"] == "alloc_pages"]
    assert allocs == [orders[0]]
    data = [c for c in out.choices if c.kind != "cpu"]
    assert len(data) == (len(orders) > 1)
