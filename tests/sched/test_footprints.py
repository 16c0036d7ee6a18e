"""Step footprints against the state actually touched (issue 10, item 1).

The zone's pages, free lists, nr_free, pageblock bits, allocation and token tables report
their own reads and writes (zonesim.model.tap). What is still *declared* -- a CPU's pcp
(the pcp lock or IRQ-off section), a CMA bitmap (cma->lock), lock words, work queues,
parked declarations, and the reads of the add-only counters -- is checked here:

- every bundled scenario under every preset, with the probe's observed writes kept apart:
  a step that wrote a pcp or CMA object it did not declare fails;
- by AST: every read of NR_FREE_PAGES / NR_FREE_CMA_PAGES / nr_free in zonesim/model and
  zonesim/ops is declared with ``tap_read`` in the same function, and nothing stores them
  except by ``+=`` / ``-=`` (what makes them adds);
- every field of ``Zone`` is classified (engine.ZONE_FIELDS_*), so a new field cannot
  escape the footprints unnoticed;
- the taps themselves report reads, writes and adds, and nothing while paused."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.engine import ZONE_FIELDS_ELSEWHERE, ZONE_FIELDS_RESIDUAL, NotApplicable
from zonesim.model import tap
from zonesim.model.tap import instrument
from zonesim.ops import Kernel
from zonesim.sched import RandomStrategy, StepRecorder

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted([*ROOT.glob("scenarios/**/*.toml"), *ROOT.glob("tests/switches/data/*.toml")])
PRESETS = ("v5.15", "rfc-v1", "proposal", "v5.19", "v6.0", "v6.10", "v6.17")
#: objects a step's footprint has only when the code declares them (the rest are tapped)
DECLARED_KINDS = ("pcp", "pcp_count", "pcp_high", "cma")


class Audit(RandomStrategy):
    """A random schedule (often preempting) whose step recorder keeps observed writes
    out of the declared footprint."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, switch_probability=0.3)
        self.recorders: list[StepRecorder] = []

    def attach_steps(self, steps: StepRecorder) -> None:
        steps.merge = False
        self.recorders.append(steps)


def undeclared(path: Path, policy: str, seeds: range) -> list[str]:
    try:
        e = Engine(load_scenario(path), parse_policy(policy))
    except NotApplicable:
        return []
    out: list[str] = []
    for seed in seeds:
        audit = Audit(seed)
        assert audit.begin_execution()
        e.run(audit)
        audit.end_execution(False)
        (rec,) = audit.recorders
        for k, fp in enumerate([*rec.log, rec.cur]):
            for obj in sorted(fp.observed, key=repr):
                if obj[0] in DECLARED_KINDS and not fp.covers(obj, True):
                    out.append(f"{path.name} {policy} seed {seed} step {k}: wrote {obj}, "
                               f"declared {fp!r}")
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_write_is_declared(path: Path) -> None:
    gaps = [g for policy in PRESETS for g in undeclared(path, policy, range(2))]
    assert not gaps, "\n".join(gaps[:10])


def test_the_audit_sees_a_missing_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the pcp objects an IRQ-off section / pcp lock declares, the pcp counts the
    frees and allocations change are undeclared writes, and the audit says so."""
    import zonesim.sched.locks as locks
    import zonesim.sched.steps as steps

    monkeypatch.setattr(locks, "pcp_objects", lambda cpu: ())
    monkeypatch.setattr(steps, "pcp_objects", lambda cpu: ())
    monkeypatch.setattr(Kernel, "__init__", _no_pcp_covers(Kernel.__init__))
    gaps = undeclared(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml",
                      "v5.15", range(2))
    assert any("('pcp', 1)" in g for g in gaps), gaps[:3]


def _no_pcp_covers(init: Any) -> Any:
    def patched(self: Kernel, *a: Any, **kw: Any) -> None:
        init(self, *a, **kw)
        for lock in self._pcp_locks:
            lock.covers = ()

    return patched


# -- the add-only counters: every read declared, every store an add -----------------------

COUNTERS = {"NR_FREE_PAGES": "NR_FREE_PAGES_OBJ", "NR_FREE_CMA_PAGES": "NR_FREE_CMA_PAGES_OBJ",
            "nr_free": "'nr_free'", "nr_isolate_pageblock": "NR_ISOLATE_PAGEBLOCK_OBJ"}


#: functions that copy or instrument the whole state (no step runs them)
NOT_STEPS = {"instrument", "_copy_small", "clone", "reset_from", "rollback", "track_writes"}


def counter_accesses(source: str) -> tuple[list[str], list[str]]:
    """(undeclared reads, stores other than += / -=) of the counters in ``source``."""
    tree = ast.parse(source)
    undeclared_reads: list[str] = []
    stores: list[str] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.name in NOT_STEPS:
            continue
        declared = {ast.unparse(c.args[0]) for c in ast.walk(fn)
                    if isinstance(c, ast.Call) and ast.unparse(c.func) == "tap_read" and c.args}
        aug_targets = {id(n.target) for n in ast.walk(fn) if isinstance(n, ast.AugAssign)}
        aug_targets |= {id(n.target.value) for n in ast.walk(fn)
                        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Subscript)}
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Attribute) and node.attr in COUNTERS):
                continue
            where = f"{fn.name}:{node.lineno} {node.attr}"
            if isinstance(node.ctx, ast.Store):
                if id(node) not in aug_targets and fn.name != "__init__":
                    stores.append(where)
            elif id(node) not in aug_targets:
                want = COUNTERS[node.attr]
                if not any(want in d for d in declared):
                    undeclared_reads.append(where)
    return undeclared_reads, stores


def test_every_counter_read_is_declared_and_every_store_is_an_add() -> None:
    problems: list[str] = []
    for path in sorted([*ROOT.glob("zonesim/model/*.py"), *ROOT.glob("zonesim/ops/*.py")]):
        if path.name in ("snapshot.py",):  # a copy of the state for reports, not a step
            continue
        reads, stores = counter_accesses(path.read_text())
        problems += [f"{path.name} {r}: read without tap_read" for r in reads]
        problems += [f"{path.name} {s}: stored other than by += / -=" for s in stores]
    assert not problems, "\n".join(problems)


def test_the_counter_audit_sees_a_missing_declaration() -> None:
    src = ("def f(zone):\n    if zone.NR_FREE_PAGES > 3:\n        zone.nr_free[0] += 1\n"
           "def g(zone):\n    tap_read(NR_FREE_PAGES_OBJ)\n    zone.NR_FREE_PAGES = 4\n")
    reads, stores = counter_accesses(src)
    assert reads == ["f:2 NR_FREE_PAGES"]
    assert stores == ["g:6 NR_FREE_PAGES"]


def test_every_zone_field_is_classified() -> None:
    e = Engine(load_scenario(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"),
               parse_policy("v5.15"))
    zone, _ = e.base_state()
    known = set(ZONE_FIELDS_RESIDUAL) | set(ZONE_FIELDS_ELSEWHERE)
    assert set(zone.__dict__) <= known, set(zone.__dict__) - known


# -- the taps ------------------------------------------------------------------------------


def test_taps_report_reads_writes_and_adds_and_nothing_when_paused() -> None:
    e = Engine(load_scenario(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"),
               parse_policy("v5.15"))
    zone, _ = e.base_state()
    instrument(zone)
    got: list[tuple[str, object]] = []
    tap.attach(lambda o: got.append(("r", o)), lambda o: got.append(("w", o)),
               lambda o: got.append(("a", o)))
    try:
        m = zone.memmap
        _ = m.flags[5]
        _ = m.owner[2:4]
        _ = m.lists_head[zone.free_list_id(3, 1)]
        zone.nr_free[2] += 1
        zone.nr_free[2] -= 1
        _ = zone.get_pageblock_migratetype(zone.start_pfn)
        aid = next(iter(dict.keys(zone.allocations)))
        a = zone.allocations[aid]
        _ = a.pfn
        with tap.paused():
            _ = m.flags[7]
            _ = zone.allocations[aid]
    finally:
        tap.detach()
    start = zone.start_pfn
    assert got[:4] == [("r", ("page", start + 5)), ("r", ("page", start + 2)),
                       ("r", ("page", start + 3)), ("r", ("fl", zone.free_list_id(3, 1)))]
    assert got[4:6] == [("a", ("nr_free", 2))] * 2
    assert ("r", ("pb", zone.first_pageblock)) in got
    assert got[-2:] == [("r", ("alloc", aid)), ("r", ("alloc", aid))]  # the table, the field
    assert ("r", ("page", start + 7)) not in got


def test_observer_is_cleared_after_an_execution() -> None:
    e = Engine(load_scenario(ROOT / "scenarios" / "seed" / "vmem-a-both-pageblocks.toml"),
               parse_policy("v5.15"))
    audit = Audit(0)
    audit.begin_execution()
    e.run(audit)
    assert e.last_zone is not None and e.last_zone.memmap.observer is None
