"""--workers N: the same executions, findings, artifacts and trace_hash for any N
(DESIGN.md §8, §11), and Ctrl-C keeps what finished."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.cli import main
from zonesim.coordinator import Run, explore_dfs, segment_starts
from zonesim.parallel import InlineBackend
from zonesim.sched import DFSStrategy, SchedError
from zonesim.units import EngineSpec, SubtreeDFS, execution_seed

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "scenarios" / "seed"
DRAIN = ROOT / "scenarios" / "stress" / "drain-races-alloc.toml"


def engine(path: Path, policy: str) -> Engine:
    return Engine(load_scenario(path), parse_policy(policy))


def artifacts_of(report: Any) -> list[dict[str, Any]]:
    docs = []
    for v in report.violations:
        doc = json.loads(Path(v.artifact).read_text())
        del doc["replay"]  # names the artifact's own path
        docs.append(doc)
    return docs


CASES = [
    (DRAIN, "v5.15", "pct", 40),
    (DRAIN, "v5.15", "random", 40),
    (SEED / "cma-c-concurrent.toml", "rfc-v1", "pct", 100),  # violation at execution 16
    (SEED / "vmem-b-unmovable-neighbour.toml", "rfc-v1", "dfs", 100),  # exhausts at 16
    (ROOT / "scenarios" / "findings" / "foreign-undo.toml", "v5.19", "dfs", 50),
]


@pytest.mark.parametrize("path,policy,strategy,n", CASES,
                         ids=[f"{c[0].stem}-{c[1]}-{c[2]}" for c in CASES])
def test_one_and_two_workers_report_the_same(path: Path, policy: str, strategy: str, n: int,
                                             tmp_path: Path) -> None:
    reports = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        r = explore(engine(path, policy), StrategyConfig(strategy, 5), executions=n,
                    artifacts=out, workers=workers)
        reports.append(r)
    one, two = reports
    assert one.to_json() | {"violations": None} == two.to_json() | {"violations": None}
    assert [v.to_json() | {"artifact": None} for v in one.violations] == [
        v.to_json() | {"artifact": None} for v in two.violations]
    assert artifacts_of(one) == artifacts_of(two)
    assert one.executions > 0


def test_first_violation_is_the_lowest_failing_index() -> None:
    """Executions by index: the run stops at the first failing index, whatever the
    workers ran past it, and every counted execution before it passes."""
    e = engine(SEED / "cma-c-concurrent.toml", "rfc-v1")
    full = explore(e, StrategyConfig("pct", 5), executions=100, artifacts=None, keep_going=True)
    first = explore(e, StrategyConfig("pct", 5), executions=100, artifacts=None, workers=2)
    assert first.violations and first.violations[0].execution == first.executions
    assert full.violations[0].execution == first.executions


def test_dfs_split_into_one_execution_units_is_the_sequential_dfs() -> None:
    """The coordinator's subtree units, cut as finely as possible, replay exactly the
    executions of the sequential DFSStrategy, in its order."""
    e = engine(SEED / "vmem-a-both-pageblocks.toml", "rfc-v1")
    dfs = DFSStrategy(2)
    sequential = []
    while dfs.begin_execution():
        o = e.run(dfs)
        dfs.end_execution(o.violation is not None)
        sequential.append(o.trace_hash)
    run = Run(InlineBackend(), e, None, None, 10_000)
    col = explore_dfs(run, EngineSpec.of(e), 2, False, first_limit=1, limit=1)
    assert [r.trace_hash for r in col.records] == sequential
    assert col.exhausted and len(sequential) > 20  # vmem-a is exhausted at bound 2


def test_subtree_frontier_is_the_dfs_stack() -> None:
    s = SubtreeDFS((1,), 1)
    assert s.begin_execution()
    assert s.pick_option(0, 3, "x") == 1  # the prefix
    assert s.pick_cpu(1, ["cpu0", "cpu1"], "cpu0") == 0
    assert s.pick_cpu(2, ["cpu0", "cpu1", "cpu2"], "cpu0") == 0
    s.end_execution(False)
    trail, frontier = s.frontier()
    # deepest first, alternatives ascending; nothing above the prefix's own depth
    assert trail == (1, 0, 0) and frontier == ((2, 1), (2, 2), (1, 1))


@pytest.mark.parametrize("path,policy", [
    (SEED / "vmem-a-both-pageblocks.toml", "rfc-v1"),
    (SEED / "cma-b-partial-isolation.toml", "proposal"),
])
def test_dfs_with_the_horizon_is_the_sequential_dfs(path: Path, policy: str) -> None:
    """One unit running many executions: past its prefix, and inside a prefix it derived
    from its own previous execution, the scheduler answers "keep running" itself; the
    trail rebuilt from the decision log gives the sequential DFSStrategy's executions (same
    trace hashes, in order) while the strategy is asked only a few times."""
    e = engine(path, policy)
    dfs = DFSStrategy(2)
    sequential = []
    while len(sequential) < 60 and dfs.begin_execution():
        o = e.run(dfs)
        dfs.end_execution(o.violation is not None)
        sequential.append(o.trace_hash)
    sub = SubtreeDFS((), 2)
    asked = decisions = 0
    mine = []
    while len(mine) < len(sequential) and sub.begin_execution():
        o = e.run(sub)
        asked += len(sub._trail)  # the decisions the strategy was asked about
        decisions += len(o.choices)
        sub.end_logged(o.choices, o.violation is not None)
        mine.append(o.trace_hash)
    assert mine == sequential
    assert decisions > 10 * asked  # not vacuous: most decisions came from the horizon


def test_dfs_answered_from_the_horizon_needs_the_log() -> None:
    """A DFS whose decisions the scheduler answered cannot end from the decisions it saw
    alone (its trail would miss them): end_execution refuses."""
    e = engine(SEED / "vmem-a-both-pageblocks.toml", "rfc-v1")
    sub = SubtreeDFS((), 2)
    assert sub.begin_execution()
    e.run(sub)
    with pytest.raises(SchedError, match="end_logged"):
        sub.end_execution(False)


def test_indexed_units_shrink_towards_the_end() -> None:
    """Executions 1..budget in units of at most ``largest``, shrinking near the end so the
    workers finish together; one slot: equal units (inline: one)."""
    for budget, largest, slots in [(600, 32, 2), (1000, 32, 4), (10, 4, 2), (1, 4, 2)]:
        starts = segment_starts(budget, largest, slots)
        sizes = [b - a for a, b in itertools.pairwise(starts)]
        assert starts[0] == 1 and starts[-1] == budget + 1 and min(sizes) > 0
        assert max(sizes) <= largest and sizes == sorted(sizes, reverse=True)
    starts = segment_starts(600, 32, 2)
    assert starts[-2] - starts[-3] <= 4 < starts[2] - starts[1]  # last units small
    assert segment_starts(600, 600, 1) == [1, 601]


def test_execution_seeds_are_stable_and_distinct() -> None:
    assert execution_seed(0, 1) == execution_seed(0, 1)
    assert len({execution_seed(s, i) for s in range(3) for i in range(100)}) == 300


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_the_executions_that_finished(workers: int) -> None:
    """SIGINT once some executions finished: every worker stops, the report covers a
    prefix of the execution order -- the same as a run with that budget."""
    e = engine(DRAIN, "v5.15")
    started = threading.Event()

    def progress(done: int, budget: int, found: int) -> None:
        started.set()

    def interrupt() -> None:
        started.wait(60)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    # Inline, the single unit reports progress only when it ends: interrupt it by time.
    if workers == 1:
        started.set()
    threading.Thread(target=interrupt, daemon=True).start()
    r = explore(e, StrategyConfig("pct", 1), executions=100_000, artifacts=None,
                workers=workers, progress=progress)
    assert r.interrupted and 0 < r.executions < 100_000
    again = explore(e, StrategyConfig("pct", 1), executions=r.executions, artifacts=None)
    assert again.trace_hash == r.trace_hash and again.steps == r.steps


def test_cli_workers_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(DRAIN), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers" in err
    outs = []
    for w in ("1", "2"):
        assert main(["explore", str(DRAIN), "--strategy", "random", "--executions", "20",
                     "--workers", w, "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
