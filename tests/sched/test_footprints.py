"""Step footprints against the state actually written (issue 10, item 1).

Every bundled scenario runs under every preset with a recording zone: ``Memmap.observer``
reports each page about to be written and the engine's probe every change of the zone's
counters, allocation table, pageblock bits, pcp counts/high/batch and CMA bitmaps. The
recorder keeps those observed writes apart from the footprint the code *declared* (locks
and what they protect, IRQ-off sections, declared lockless accesses, windows, allocation
changes); a step that wrote an object it did not declare fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.engine import NotApplicable
from zonesim.ops import Kernel
from zonesim.sched import RandomStrategy, StepRecorder

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted([*ROOT.glob("scenarios/**/*.toml"), *ROOT.glob("tests/switches/data/*.toml")])
PRESETS = ("v5.15", "rfc-v1", "proposal", "v5.19", "v6.0", "v6.10", "v6.17")


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
                if not fp.covers(obj, True):
                    out.append(f"{path.name} {policy} seed {seed} step {k}: wrote {obj}, "
                               f"declared {fp!r}")
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_write_is_declared(path: Path) -> None:
    gaps = [g for policy in PRESETS for g in undeclared(path, policy, range(2))]
    assert not gaps, "\n".join(gaps[:10])


def test_the_audit_sees_a_missing_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the allocation-table declaration, frees and allocations outside zone->lock
    write the zone and their pages undeclared, and the audit says so."""
    monkeypatch.setattr(Kernel, "changes_allocations", lambda self: None)
    gaps = undeclared(ROOT / "scenarios" / "findings" / "inflight-free-isolated.toml",
                      "v5.15", range(2))
    assert any("('zone', None)" in g for g in gaps)


def test_observer_is_cleared_after_an_execution() -> None:
    e = Engine(load_scenario(ROOT / "scenarios" / "seed" / "vmem-a-both-pageblocks.toml"),
               parse_policy("v5.15"))
    audit = Audit(0)
    audit.begin_execution()
    e.run(audit)
    assert e.last_zone is not None and e.last_zone.memmap.observer is None
