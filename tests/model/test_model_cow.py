"""Copy-on-write zones (zonesim.model.memmap): an exploration runs every execution on the
booted zone and rolls it back, and the end checks judge only the chunks an execution
wrote (zonesim.check.baseline). Both are sound only if every per-page write is saved
first: checked here on real executions of every bundled scenario, and in the source."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.check.registry import check_zone
from zonesim.engine import NotApplicable, end_check
from zonesim.model.memmap import CHUNK_SHIFT, Memmap
from zonesim.model.zone import Zone
from zonesim.sched import RandomStrategy

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.toml"))
SWITCHES = sorted((ROOT / "tests" / "switches" / "data").glob("*.toml"))
ARRAYS = set(Memmap._ARRAYS)


def state(z: Zone) -> tuple[Any, ...]:
    m = z.memmap
    return (tuple(bytes(getattr(m, n)) for n in Memmap._ARRAYS), bytes(z.pageblock),
            m.lists_head, m.lists_tail, m.lists_len, m.free_listed, m.cma_listed,
            z.nr_free, z.NR_FREE_PAGES, z.NR_FREE_CMA_PAGES, z.nr_isolate_pageblock,
            sorted((a.id, a.pfn, a.nr, a.order, a.token) for a in z.allocations.values()),
            z.by_token, [(p.count, p.high, p.batch, p.free_factor) for p in z.pcp],
            z.transient_ranges, z.absent_ranges, z.next_alloc_id, z.next_token,
            z.managed_pages, z.present_pages, z.offline_isolated_pageblocks,
            z.nr_reserved_highatomic)


def unwritten_chunks_unchanged(z: Zone, pristine: Zone) -> list[tuple[str, int]]:
    """(array, chunk) pairs that differ from the pristine copy in a chunk not marked
    written: a write that bypassed Memmap.cow."""
    m, p = z.memmap, pristine.memmap
    bad = []
    for name in Memmap._ARRAYS:
        a, b = getattr(m, name), getattr(p, name)
        for c in range(m.nr_chunks):
            if not m.dirty[c]:
                lo, hi = c << CHUNK_SHIFT, (c + 1) << CHUNK_SHIFT
                if a[lo:hi] != b[lo:hi]:
                    bad.append((name, c))
    return bad


def check_scenario(path: Path, policy: str, seeds: range) -> int:
    try:
        e = Engine(load_scenario(path), parse_policy(policy))
    except NotApplicable:
        return 0
    zone, _ = e.base_state()
    pristine = zone.clone()
    want = state(pristine)
    wrote = 0
    for seed in seeds:
        s = RandomStrategy(seed)
        s.begin_execution()
        out = e.run(s)
        assert e.last_zone is zone
        assert unwritten_chunks_unchanged(zone, pristine) == [], (path.name, policy, seed)
        if out.violation is None and out.error is None and e._baseline is not None:
            # the incremental end check agrees with the full one on the final state
            assert end_check(zone, e._baseline) is None
            assert check_zone(zone, "end") == []
        wrote += len(zone.memmap.saved)
        e.base_state()  # rolls back
        assert state(zone) == want, (path.name, policy, seed)
    return wrote


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_execution_rolls_back_to_the_booted_zone(path: Path) -> None:
    wrote = sum(check_scenario(path, pol, range(4)) for pol in ("v5.15", "v6.0"))
    assert wrote > 0  # not vacuous: the executions wrote chunks and they came back


@pytest.mark.slow
@pytest.mark.parametrize("path", SWITCHES, ids=lambda p: p.stem)
def test_switch_scenarios_roll_back_too(path: Path) -> None:
    for pol in ("v5.15", "v5.19", "v6.10", "v6.17"):
        check_scenario(path, pol, range(3))


def _writes_before_save(tree: ast.AST) -> list[str]:
    """Functions that store into a memmap array (m.flags[i] = ..., or through an alias
    such as ``f = m.flags``) before any call that saves the chunk (cow, cow_range, a
    list operation)."""
    out = []
    saving = {"cow", "cow_range", "list_add", "list_add_tail", "list_del", "_save"}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        aliases = {t.id for node in ast.walk(fn) if isinstance(node, ast.Assign)
                   for t in node.targets if isinstance(t, ast.Name)
                   and isinstance(node.value, ast.Attribute) and node.value.attr in ARRAYS}
        saves = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr in saving]
        for node in ast.walk(fn):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AugAssign) else [])
            for t in targets:
                if not isinstance(t, ast.Subscript):
                    continue
                v = t.value
                array_write = ((isinstance(v, ast.Attribute) and v.attr in ARRAYS)
                               or (isinstance(v, ast.Name) and v.id in aliases))
                if array_write and not any(line <= node.lineno for line in saves):
                    out.append(f"{fn.name}:{node.lineno}")
    return out


def test_every_memmap_write_in_the_model_and_the_ops_saves_its_chunk_first() -> None:
    found = {}
    for path in sorted((ROOT / "zonesim").rglob("*.py")):
        if path.name in ("memmap.py", "boot.py"):  # the lists themselves; boot: untracked
            continue
        bad = _writes_before_save(ast.parse(path.read_text(encoding="utf-8")))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    assert found == {}


def test_the_source_scan_sees_a_write_without_a_save() -> None:
    src = ("def f(m):\n    m.flags[3] |= 1\n    m.cow(3)\n\n"
           "def g(m):\n    m.cow(3)\n    m.owner[3] = 1\n")
    assert _writes_before_save(ast.parse(src)) == ["f:2"]


def test_rollback_of_an_untracked_zone_is_refused() -> None:
    e = Engine(load_scenario(ROOT / "scenarios/stress/drain-races-alloc.toml"),
               parse_policy("v5.15"))
    zone, _ = e.base_state()
    with pytest.raises(ValueError, match="not tracking"):
        zone.clone().rollback()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_write_observer_sees_every_page_that_changed(path: Path) -> None:
    """Memmap.observer: every page whose arrays changed during an execution was reported
    before it was written (page granularity: what a footprint recorder needs)."""
    e = Engine(load_scenario(path), parse_policy("v6.0"))
    zone, _ = e.base_state()
    pristine = zone.clone()
    seen: set[int] = set()
    zone.memmap.observer = seen.add
    try:
        for seed in range(3):
            s = RandomStrategy(seed)
            s.begin_execution()
            e.run(s)
            changed = {i for name in Memmap._ARRAYS
                       for i, (a, b) in enumerate(zip(getattr(zone.memmap, name),
                                                      getattr(pristine.memmap, name),
                                                      strict=True)) if a != b}
            assert changed <= seen, sorted(changed - seen)[:5]
            assert changed  # not vacuous
            e.base_state()
            seen.clear()
    finally:
        zone.memmap.observer = None
