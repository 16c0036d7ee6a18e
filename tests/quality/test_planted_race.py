"""A race planted on purpose: free_one_page reads NR_FREE_PAGES before taking zone->lock
and writes it back under the lock, so two CPUs freeing at once lose an update. The
explorer must find it with every strategy, write an artifact that replays to the same
invariant and trace hash, and shrink it to a single preemption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zonesim.ops.free as free_mod
from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.cli import main
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.ops.kernel import Kernel
from zonesim.sched import ReplayStrategy, decode, preemptions, sort_key

SCENARIO = Path(__file__).parent / "data" / "planted-free.toml"


async def racy_free_one_page(k: Kernel, cpu: int, pfn: int, order: int, mt: int,
                             fpi: int) -> None:
    zone = k.zone
    stale = zone.NR_FREE_PAGES  # BUG: read outside zone->lock
    async with k.zone_lock:  # (acquiring is a switch point: another CPU may free here)
        await free_one_page_locked(zone, pfn, order, mt, fpi)
        zone.NR_FREE_PAGES = stale + (1 << order)  # overwrites a concurrent update


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(free_mod, "free_one_page", racy_free_one_page)


def engine() -> Engine:
    return Engine(load_scenario(SCENARIO), parse_policy("v5.15"))


def test_sequential_run_is_clean(planted: None) -> None:
    """Without a preemption the planted bug is invisible: only the race shows it."""
    outcome = engine().run(ReplayStrategy(()))
    assert outcome.violation is None


def test_correct_free_path_never_fails() -> None:
    report = explore(engine(), StrategyConfig("dfs", preemption_bound=2), executions=500,
                     artifacts=None)
    assert report.violations == []
    assert report.exhausted is True


@pytest.mark.parametrize("strategy", ["random", "pct", "pos", "feedback", "dfs", "dfs+feedback",
                                      "hypothesis"])
def test_found_replayed_and_shrunk(planted: None, strategy: str, tmp_path: Path) -> None:
    e = engine()
    report = explore(e, StrategyConfig(strategy, seed=3), executions=300, artifacts=tmp_path,
                     scenario_path=str(SCENARIO))
    assert [v.invariant for v in report.violations] == ["I2_nr_free_pages"]
    found = report.violations[0]
    # the minimal lost update is one switch between the read and the lock; Hypothesis's own
    # shrinker may stop at an equivalent two-switch schedule that ours cannot cut further
    assert found.preemptions == 1 or (strategy == "hypothesis" and found.preemptions <= 2)
    assert found.artifact is not None
    doc = json.loads(Path(found.artifact).read_text())
    assert doc["violation"]["invariant"] == "I2_nr_free_pages"
    # replay from the artifact reproduces the same invariant and trace hash
    fp, values = decode(doc["schedule"])
    assert fp == e.fingerprint
    again = e.run(ReplayStrategy(values), tracing=True)
    assert again.violation is not None
    assert again.violation.invariant == "I2_nr_free_pages"
    assert again.trace_hash == doc["trace_hash"]
    # shrinking never grows: the shrunk schedule is no bigger than what was found first, by
    # the shrinker's order (preemptions, then decisions, then data choices)
    _, original = decode(doc["original_schedule"])
    first = e.run(ReplayStrategy(original))
    assert sort_key(list(again.choices)) <= sort_key(list(first.choices))
    assert preemptions(again.choices) <= preemptions(first.choices)


def test_cli_explore_replay_shrink(planted: None, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    # --workers 1: the planted bug is a monkeypatch of this process
    rc = main(["explore", str(SCENARIO), "--strategy", "pct", "--seed", "1", "--executions",
               "200", "--artifacts", str(tmp_path), "--json", "--workers", "1"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    artifact = out["violations"][0]["artifact"]
    assert main(["replay", artifact, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["reproduced"] is True and rep["invariant"] == "I2_nr_free_pages"
    assert main(["shrink", artifact, "--json"]) == 0
    sh = json.loads(capsys.readouterr().out)
    assert sh["after"]["preemptions"] <= sh["before"]["preemptions"]
    assert main(["replay", artifact, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reproduced"] is True
