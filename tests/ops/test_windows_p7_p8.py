"""Windows P7 and P8 (kernel-reference §2.12) are places where another CPU can run and
change the outcome (issue 12, item 6: no test needed a preemption there, so a model that
lost either window passed every test). Each test explores every schedule with at most one
preemption and asserts which outcomes need a preemption at that window.
"""

from __future__ import annotations

from collections import defaultdict

from zonesim.engine import Engine
from zonesim.policy import parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import DFSStrategy

HEAD = '[scenario]\nname = "t"\nsummary = "t"\n\n[zone]\npages = 2048\ncpus = 2\n\n'


def preempted_at(choices: tuple) -> tuple[tuple[str, str], ...]:  # type: ignore[type-arg]
    """(label, the CPU that took over) of every preemption."""
    return tuple((c.label, c.value) for c in choices
                 if c.current is not None and c.value != c.current)


def test_p7_a_foreign_undo_in_the_outer_start_window_makes_alloc_contig_range_fail() -> None:
    """cpu0: alloc_contig_range of [1030, 2040) (v5.15 isolates [1024, 2048)); cpu1 undoes
    the isolation of that block (a foreign undo). The call fails with -EBUSY exactly when
    cpu1 runs after the isolation and before test_pages_isolated has read every
    pageblock: at the drain, at the lockless outer_start search (P7), or between the
    pageblocks test_pages_isolated reads without the lock (P7's gap)."""
    text = HEAD + ('[[cpu]]\nops = [ { op = "alloc_contig_range", start = 1030, end = 2040, '
                   'as = "r" } ]\n\n[[cpu]]\nops = [ { op = "unisolate", start = 1024, '
                   'end = 2048 } ]\n')
    engine = Engine(parse_scenario(text, "t.toml"), parse_policy("v5.15"))
    dfs = DFSStrategy(preemption_bound=1)
    failed_at: dict[str, int] = defaultdict(int)
    succeeded = 0
    while dfs.begin_execution():
        outcome = engine.run(dfs)
        dfs.end_execution(outcome.violation is not None)
        if outcome.violation is not None:
            continue  # the foreign undo also breaks I5a/I5b in two schedules (a finding)
        assert engine.last_zone is not None
        got = any(a.contig for a in engine.last_zone.allocations.values())
        pre = preempted_at(outcome.choices)
        if got:
            succeeded += 1
        else:
            [(label, cpu)] = pre  # a failure always needs the preemption
            assert cpu == "cpu1"
            failed_at[label] += 1
    assert dfs.exhausted and succeeded > 0
    assert failed_at["alloc_contig_range:outer_start"] >= 1  # P7
    assert failed_at["test_pages_isolated:read_pb"] == 2  # before each pageblock's read
    assert set(failed_at) <= {"alloc_contig_range:outer_start", "test_pages_isolated:read_pb",
                              "__drain_all_pages:peek", "__drain_all_pages:after_peek",
                              "mutex_lock:pcpu_drain_mutex"}


def test_p8_between_two_pageblocks_of_an_undo_another_isolation_fails_on_the_second() -> None:
    """cpu0 undoes the isolation of the MAX_ORDER-1 block [0, 1024) pageblock by pageblock
    (zone->lock each); cpu1 isolates the same block. Before the undo cpu1 fails at once,
    after it cpu1 succeeds; only between the two pageblocks (P8) does cpu1 isolate
    pageblock 0, fail on pageblock 512 (still ISOLATE) and undo its own pageblock 0."""
    text = HEAD + ('[[setup]]\nop = "isolate"\nstart = 0\nend = 1024\n\n'
                   '[[cpu]]\nops = [ { op = "unisolate", start = 0, end = 1024 } ]\n\n'
                   '[[cpu]]\nops = [ { op = "isolate", start = 0, end = 1024 } ]\n')
    engine = Engine(parse_scenario(text, "t.toml"), parse_policy("v5.15"))
    dfs = DFSStrategy(preemption_bound=1)
    between = []
    while dfs.begin_execution():
        outcome = engine.run(dfs, tracing=True)
        dfs.end_execution(outcome.violation is not None)
        assert outcome.violation is None, outcome.violation
        cpu1 = [(r["event"], r.get("pfn")) for r in outcome.events if r["cpu"] == "cpu1"]
        if cpu1 == [("pageblock_isolated", 0), ("pageblock_unisolated", 0)]:
            between.append(outcome)
        else:
            assert cpu1 in ([], [("pageblock_isolated", 0), ("pageblock_isolated", 512)])
    assert dfs.exhausted and len(between) == 1
    [outcome] = between
    assert preempted_at(outcome.choices) == (("spin_lock:zone->lock", "cpu1"),)
    cpu0 = [(r["event"], r.get("pfn")) for r in outcome.events if r["cpu"] == "cpu0"]
    assert cpu0 == [("pageblock_unisolated", 0), ("pageblock_unisolated", 512)]
    # the preemption came after cpu0's first pageblock and before its second
    first = next(i for i, r in enumerate(outcome.events) if r["cpu"] == "cpu0")
    second = [i for i, r in enumerate(outcome.events) if r["cpu"] == "cpu0"][1]
    assert all(r["cpu"] == "cpu1" for r in outcome.events[first + 1:second])
