"""Partial-order reduction of the bounded DFS (zonesim.sched.sleep): the reduced search
reaches every verdict and every final state the full search reaches at the same bound,
with fewer executions, and splits into worker units exactly like the sequential one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.coordinator import Run, explore_dfs
from zonesim.model.zone import Zone
from zonesim.parallel import InlineBackend
from zonesim.sched import DFSStrategy, DPORStrategy, Footprint, ReducedDFS, StepRecorder
from zonesim.sched.steps import SP
from zonesim.units import EngineSpec

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "scenarios" / "seed"
FINDINGS = ROOT / "scenarios" / "findings"
SWITCHES = ROOT / "tests" / "switches" / "data"


def engine(path: Path, policy: str) -> Engine:
    return Engine(load_scenario(path), parse_policy(policy))


def final_state(zone: Zone) -> str:
    """Everything an invariant can read of the final zone: the memmap arrays, pageblock
    bits, free-list counts, counters, pcp lists, the allocation table and CMA bitmaps."""
    h = hashlib.blake2b(digest_size=16)
    m = zone.memmap
    for arr in (m.flags, m.order, m.cached_mt, m.owner, m.refcount, m.prev, m.next,
                m.list_id, m.lists_head, m.lists_tail, m.lists_len):
        h.update(repr(list(arr)).encode())
    h.update(bytes(zone.pageblock))
    h.update(repr((zone.nr_free, zone.NR_FREE_PAGES, zone.NR_FREE_CMA_PAGES,
                   zone.nr_isolate_pageblock, zone.nr_reserved_highatomic,
                   [(p.count, p.high, p.batch) for p in zone.pcp],
                   sorted((a.id, a.pfn, a.order, a.nr, a.token, a.cpu)
                          for a in zone.allocations.values()),
                   [bytes(a.bitmap) for a in zone.cma_areas.values()])).encode())
    return h.hexdigest()


def exhaust(e: Engine, dfs: DFSStrategy | ReducedDFS | DPORStrategy,
            cap: int) -> tuple[int, set[str], set[str]]:
    """Run ``dfs`` to exhaustion, going on after violations: (executions, verdicts,
    final states of the executions that ran to the end)."""
    verdicts: set[str] = set()
    finals: set[str] = set()
    n = 0
    while dfs.begin_execution():
        o = e.run(dfs)
        dfs.end_execution(o.violation is not None)
        n += 1
        verdicts.add("pass" if o.violation is None else o.violation.invariant)
        if o.violation is None:
            assert e.last_zone is not None
            finals.add(final_state(e.last_zone))
        assert n <= cap, "not exhausted within the cap"
    return n, verdicts, finals


CASES = [
    (FINDINGS / "inflight-free-isolated.toml", "v5.15", 2),
    (SEED / "vmem-b-unmovable-neighbour.toml", "rfc-v1", 2),
    (SEED / "vmem-a-both-pageblocks.toml", "rfc-v1", 2),
    (SEED / "cma-c-concurrent.toml", "rfc-v1", 1),  # a violation and passing schedules
    (FINDINGS / "undo-window-free.toml", "v5.15", 1),
    (FINDINGS / "undo-window-steal.toml", "v5.15", 1),
    # known races of tests/switches/data, with the fix removed: violations at bound 2
    (SWITCHES / "88e8ac11d2ea-pcp-update-race.toml", "v5.15 -3b12e7e97938 -88e8ac11d2ea", 2),
    (SWITCHES / "55612e80e722-free-vs-steal.toml", "v6.10 -55612e80e722", 2),
    (SWITCHES / "7b086755fb8c-cma-free-trylock.toml", "v6.0", 2),
    (SWITCHES / "ad53f92eb416-stale-type-free.toml", "v5.15 -ad53f92eb416", 2),
    # every schedule stops early at I2, and a second race (kernel_bug) lies behind it: a
    # search must not learn its races only from executions cut short by a violation
    (SWITCHES / "isolate-split-race.toml", "v5.19 -86d28b070927", 1),
]


@pytest.mark.parametrize("reduction", ["sleep", "dpor"])
@pytest.mark.parametrize("path,policy,bound", CASES,
                         ids=[f"{c[0].stem}-{c[1]}-b{c[2]}" for c in CASES])
def test_reduced_dfs_reaches_the_same_verdicts_and_final_states(
        path: Path, policy: str, bound: int, reduction: str) -> None:
    same_outcomes(path, policy, bound, reduction)


@pytest.mark.slow
def test_reduced_dfs_same_outcomes_vmem_c() -> None:
    same_outcomes(SEED / "vmem-c-partial-isolation.toml", "v5.15", 2, "sleep")  # ~700 runs
    same_outcomes(SEED / "vmem-c-partial-isolation.toml", "v5.15", 2, "dpor")


def same_outcomes(path: Path, policy: str, bound: int, reduction: str) -> None:
    e = engine(path, policy)
    full_n, full_v, full_f = exhaust(e, DFSStrategy(bound), 3000)
    red: ReducedDFS | DPORStrategy = (ReducedDFS((), bound) if reduction == "sleep"
                                      else DPORStrategy(bound))
    red_n, red_v, red_f = exhaust(e, red, 3000)
    assert red_v == full_v
    assert red_f == full_f
    assert red_n <= full_n


def test_reduction_saves_executions() -> None:
    """Not a vacuous reduction: on these scenarios sleep sets prune schedules."""
    saved = 0
    for path, policy, bound in [CASES[0], CASES[9]]:
        e = engine(path, policy)
        saved += exhaust(e, DFSStrategy(bound), 3000)[0] - exhaust(e, ReducedDFS((), bound),
                                                                    3000)[0]
    assert saved > 0


def test_reduced_dfs_split_into_one_execution_units_is_the_sequential_search() -> None:
    """Worker units carry the sleep set at their root: cut as finely as possible they
    replay exactly the sequential reduced search, in its order."""
    e = engine(FINDINGS / "inflight-free-isolated.toml", "v5.15")
    dfs = ReducedDFS((), 2)
    sequential = []
    while dfs.begin_execution():
        o = e.run(dfs)
        dfs.end_execution(o.violation is not None)
        sequential.append(o.trace_hash)
    run = Run(InlineBackend(), e, None, None, 10_000)
    col = explore_dfs(run, EngineSpec.of(e), 2, False, first_limit=1, limit=1, reduction=True)
    assert [r.trace_hash for r in col.records] == sequential
    assert col.exhausted
    full = explore_dfs(Run(InlineBackend(), e, None, None, 10_000), EngineSpec.of(e), 2,
                       False, first_limit=1, limit=1)
    assert len(col.records) < len(full.records)


@pytest.mark.parametrize("reduction,fewer_than", [("sleep", None), ("dpor", 62)])
def test_one_and_two_workers_report_the_same_with_reduction(
        reduction: str, fewer_than: int | None) -> None:
    """Sleep sets split into worker units carrying their root's sleep set; DPOR runs as
    one unit: either way the JSON does not depend on the number of workers. (62: what
    sleep sets need here.)"""
    e = engine(FINDINGS / "inflight-free-isolated.toml", "v5.15")
    cfg = StrategyConfig("dfs", 0, preemption_bound=2, reduction=reduction)
    one = explore(e, cfg, executions=1000, artifacts=None, workers=1)
    two = explore(e, cfg, executions=1000, artifacts=None, workers=2)
    assert one.to_json() == two.to_json()
    assert one.exhausted and one.reduction == reduction and one.preemption_bound == 2
    if fewer_than is not None:
        assert one.executions < fewer_than


def test_footprint_conflicts() -> None:
    def fp(reads: tuple[tuple[str, int | str | None], ...] = (),
           writes: tuple[tuple[str, int | str | None], ...] = ()) -> Footprint:
        f = Footprint("cpu0")
        f.reads.update(reads)
        f.writes.update(writes)
        return f

    assert not fp(reads=(("zone", None),)).conflicts(fp(reads=(("zone", None),)))
    assert fp(reads=(("page", 3),)).conflicts(fp(writes=(("page", None),)))
    assert fp(writes=(("page", None),)).conflicts(fp(reads=(("page", 3),)))
    assert fp(writes=(("page", 3),)).conflicts(fp(reads=(("page", None),)))
    assert not fp(writes=(("page", 3),)).conflicts(fp(writes=(("page", 4),)))
    assert not fp(writes=(("page", 3),)).conflicts(fp(writes=(("pb", 3),)))
    assert fp(writes=(("lock", "zone->lock"),)).conflicts(fp(writes=(("lock", "zone->lock"),)))


def test_an_observed_write_the_declarations_missed_makes_the_step_conflict() -> None:
    """While exploring (merge), a write seen on the state (Memmap.observer, the probe)
    joins the step's writes, so the step conflicts with another CPU's read of that object
    and the reduction does not treat the two as independent; a write already declared
    (here: by kind, every pcp) is not reported again as observed."""
    rec = StepRecorder(["cpu0", "cpu1"])
    rec.cur = Footprint("cpu0")
    rec.observed(("page", 7))
    writer = rec.close(SP, "cpu0")
    reader = Footprint("cpu1")
    reader.reads.add(("page", 7))
    assert writer.conflicts(reader)
    assert writer.observed == {("page", 7)}

    rec.cur = Footprint("cpu0")
    rec.touch(("pcp", None), True)
    rec.observed(("pcp", 1))
    declared = rec.close(SP, "cpu0")
    assert declared.writes == {("pcp", None)}
    assert declared.observed == set()


def test_no_sleep_entry_where_nobody_could_keep_running() -> None:
    """At a decision with no running CPU (one blocked or finished) moving a step first
    can cost a preemption the pruned schedule did not pay (Coons et al. 2013): such a
    decision creates no sleep entry."""
    d = ReducedDFS((), 2)
    assert d.begin_execution()
    d.pick_cpu(0, ["cpu0", "cpu1"], None)
    d.end_execution(False)
    _, frontier = d.frontier()
    assert frontier and all(sleep == () for _, _, sleep in frontier)


def test_reduction_with_a_sampler_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zonesim.cli import main

    code = main(["explore", str(ROOT / "scenarios" / "seed" / "vmem-b-unmovable-neighbour.toml"),
                 "--strategy", "pct", "--reduction", "sleep", "-q", "--artifacts",
                 str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["--reduction sleep: expected --strategy dfs or dfs+feedback (it prunes "
                   "the exhaustive search), got --strategy pct"]


def test_dpor_prunes_more_than_sleep_sets() -> None:
    """Bounded DPOR tries another CPU only where an execution showed a race: on these
    cases it needs fewer executions than sleep sets to exhaust the same bounded space
    (vmem-a rfc-v1: 91 with sleep sets, 6 with DPOR; cma-free-trylock v6.0: 39 and 25)."""
    for path, policy, bound in [CASES[2], CASES[8]]:
        e = engine(path, policy)
        sleep_n = exhaust(e, ReducedDFS((), bound), 3000)[0]
        dpor_n = exhaust(e, DPORStrategy(bound), 3000)[0]
        assert dpor_n < sleep_n, (path.stem, dpor_n, sleep_n)


def test_dpor_budget_cut_is_not_exhausted() -> None:
    """A DPOR search stopped by its budget does not claim exhaustion."""
    e = engine(FINDINGS / "inflight-free-isolated.toml", "v5.15")
    cfg = StrategyConfig("dfs", 0, preemption_bound=2, reduction="dpor")
    r = explore(e, cfg, executions=10, artifacts=None, workers=1)
    assert r.executions == 10 and not r.exhausted


@pytest.mark.slow
def test_dpor_exhausts_cma_b_at_bound_2_within_its_budget() -> None:
    """Issue 10's done-when: cma-b (v5.15) at preemption bound 2, within the scenario's
    [explore] budget of 1,000 executions (598 on 2026-12-03; sleep sets need 3,908)."""
    path = SEED / "cma-b-partial-isolation.toml"
    e = engine(path, "v5.15")
    cfg = StrategyConfig("dfs", 0, preemption_bound=2, reduction="dpor")
    r = explore(e, cfg, executions=load_scenario(path).explore.executions or 1000,
                artifacts=None, workers=1)
    assert r.exhausted and r.preemption_bound == 2 and not r.violations


def test_whole_sections_leave_the_lock_word_alone_under_dpor() -> None:
    """With ``sections_commute`` (DPOR) a step that takes and releases a lock does not
    touch its word; taking it and ending the step holding it writes it."""
    st = StepRecorder(("cpu0",))
    st.sections_commute = True
    st.run("cpu0", [], False)
    st.locked("zone->lock", ())
    st.unlocked("zone->lock")
    whole = st.close(SP, "cpu0")
    assert ("lock", "zone->lock") not in whole.reads | whole.writes
    st.run("cpu0", [], False)
    st.locked("zone->lock", ())
    held = st.close(SP, "cpu0")
    assert ("lock", "zone->lock") in held.writes
    st.run("cpu0", ["zone->lock"], False)
    st.unlocked("zone->lock")
    released = st.close(SP, "cpu0")
    assert ("lock", "zone->lock") in released.writes
    plain = StepRecorder(("cpu0",))
    plain.run("cpu0", [], False)
    plain.locked("zone->lock", ())
    plain.unlocked("zone->lock")
    assert ("lock", "zone->lock") in plain.close(SP, "cpu0").reads
