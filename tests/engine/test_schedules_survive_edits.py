"""Schedules that survive edits (issue 12, item 5).

The fingerprint covers what decides behaviour (zone, setup, ops, switches, model), not
names, summaries, comments or ``[expect]``; an anchored schedule replays an edited scenario
as far as it still applies, then says where it diverged and what it did instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zonesim.engine import Engine, Outcome
from zonesim.explore import StrategyConfig, explore
from zonesim.policy import make_policy, parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import (
    RandomStrategy,
    ReplayStrategy,
    ScheduleFormatError,
    Strategy,
    check_fingerprint,
    encode,
    parse_schedule,
    replay_schedule,
)

ROOT = Path(__file__).resolve().parents[2]
CMA_C = ROOT / "scenarios" / "seed" / "cma-c-concurrent.toml"
NAME = "cma-c-concurrent.toml"


def _engine(text: str, policy: str = "rfc-v1") -> Engine:
    return Engine(parse_scenario(text, NAME), parse_policy(policy))


def _fingerprints(engine: Engine) -> dict[str, str]:
    return {"zs2": engine.fingerprint, "zs1": engine.legacy_fingerprint}


def _prose_edited(text: str) -> str:
    """Everything a reader may change without changing what the scenario does."""
    edited = re.sub(r'(?m)^summary = ".*"$', 'summary = "reworded after review"', text)
    edited = re.sub(r'(?m)^source = ".*"$', 'source = "a later mail"', edited)
    edited = edited.replace('"rfc-v1" = "violation', '"rfc-v1" = "pass"\n# was: "violation', 1)
    edited = edited.replace('as = "a"', 'as = "first"').replace('as = "b"', 'as = "second"')
    edited = "# a comment on top\n" + edited.replace("\n[[cpu]]", "\n# cpu program\n[[cpu]]")
    assert edited != text
    return edited


def test_fingerprint_ignores_prose_expect_comments_and_names() -> None:
    text = CMA_C.read_text()
    base = _engine(text)
    edited = _engine(_prose_edited(text))
    assert edited.scenario.summary != base.scenario.summary
    assert edited.scenario.expect != base.scenario.expect
    assert edited.fingerprint == base.fingerprint
    assert edited.legacy_fingerprint != base.legacy_fingerprint  # zs1's covered the prose


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pages = 4096", "pages = 8192"),  # the zone
        ("count = 512, align = 9, as = \"b\"", "count = 256, align = 9, as = \"b\""),  # an op
    ],
)
def test_fingerprint_changes_with_behaviour(old: str, new: str) -> None:
    text = CMA_C.read_text()
    assert old in text
    assert _engine(text.replace(old, new, 1)).fingerprint != _engine(text).fingerprint


def test_fingerprint_follows_switches_not_the_policy_spelling() -> None:
    text = CMA_C.read_text()
    v515, v519 = parse_policy("v5.15"), parse_policy("v5.19")
    # v5.19 spelled as v5.15 plus and minus the commits between them
    spelled = make_policy(
        "v5.15", tuple(sorted(v519.switches - v515.switches)),
        tuple(sorted(v515.switches - v519.switches)),
    )
    assert spelled.switches == v519.switches and spelled.name != v519.name
    same = Engine(parse_scenario(text, NAME), spelled)
    some = sorted(v519.switches)[0]
    assert same.fingerprint == _engine(text, "v5.19").fingerprint
    assert _engine(text, f"v5.19 -{some}").fingerprint != same.fingerprint
    with_expect = text.replace('count = 512, align = 9, as = "a" }', 'count = 512, align = 9, '
                               'as = "a", expect = "ok" }', 1)
    assert with_expect != text  # an op's own expect decides a verdict: it counts
    assert _engine(with_expect).fingerprint != _engine(text).fingerprint


def test_artifact_replays_after_its_scenarios_summary_and_expect_are_edited(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / NAME
    scenario.write_text(CMA_C.read_text())
    engine = _engine(scenario.read_text())
    report = explore(
        engine, StrategyConfig("random", 1), executions=600, artifacts=tmp_path / "logs",
        scenario_path=str(scenario),
    )
    assert report.violations, "rfc-v1 fails cma-c within the budget"
    artifact = Path(report.violations[0].artifact or "")
    doc = json.loads(artifact.read_text())
    assert doc["schedule"].startswith("zs2:")

    scenario.write_text(_prose_edited(scenario.read_text()))
    edited = _engine(scenario.read_text())
    schedule = parse_schedule(doc["schedule"], max_decisions=edited.max_steps)
    check_fingerprint(schedule, _fingerprints(edited))
    outcome, divergence = replay_schedule(schedule, lambda s: edited.run(s, tracing=True))
    assert divergence is None
    assert outcome.violation is not None
    assert outcome.violation.invariant == doc["violation"]["invariant"]
    assert outcome.trace_hash == doc["trace_hash"]

    # ... and through the command line, which checks the fingerprint against the file.
    out = subprocess.run(
        [sys.executable, "-m", "zonesim", "replay", str(artifact), "--json"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr  # reproduced: same invariant, same trace_hash
    assert json.loads(out.stdout)["reproduced"] is True


def _full_run(text: str) -> tuple[Engine, Outcome]:
    engine = _engine(text, "v5.15")  # v5.15 passes cma-c: executions run to the end
    strategy = RandomStrategy(5)
    strategy.begin_execution()
    outcome = engine.run(strategy)
    assert outcome.violation is None and len(outcome.choices) > 100
    return engine, outcome


APPEND = {
    "cpu0": ('as = "a2" } ]', 'as = "a2" },\n        { op = "alloc", order = 0 } ]'),
    "cpu1": ('as = "b2" } ]', 'as = "b2" },\n        { op = "alloc", order = 0 } ]'),
}


def test_after_an_op_is_appended_to_one_cpu_it_replays_to_the_divergence_and_reports_it() -> None:
    text = CMA_C.read_text()
    engine, original = _full_run(text)
    schedule = parse_schedule(encode(original.choices, engine.fingerprint))
    total = len(original.choices)
    diverged = []
    for cpu, (old, new) in APPEND.items():
        assert old in text
        edited = _engine(text.replace(old, new, 1), "v5.15")
        assert edited.fingerprint != engine.fingerprint  # the ops changed: so it says
        outcome, divergence = replay_schedule(schedule, edited.run)
        assert outcome.choices[:total] == original.choices  # every recorded decision applied
        if divergence is None:
            continue  # this CPU finished last: its new op runs alone, nothing to decide
        diverged.append(cpu)
        # The CPU that finished first now decides once more, where the recorded run had a
        # single runnable CPU: the schedule ends, the replay goes on with choice 0.
        assert divergence.index == total and divergence.expected is None
        assert divergence.step == outcome.choices[total].step
        assert outcome.choices[total].label == "op:alloc"
        message = str(divergence)
        assert f"after its last decision ({total}, all replayed)" in message
        assert f"'op:alloc' with {cpu} running" in message
        assert outcome.violation is None
    assert len(diverged) == 1


def test_an_op_inserted_early_diverges_midway_and_says_what_happened_instead() -> None:
    text = CMA_C.read_text()
    engine, original = _full_run(text)
    schedule = parse_schedule(encode(original.choices, engine.fingerprint))
    old = 'ops = [ { op = "cma_alloc", cma = "cma0", count = 512, align = 9, as = "b" },'
    new = 'ops = [ { op = "alloc", order = 0 },\n' + old[len("ops = [ "):]
    edited = _engine(text.replace(old, new, 1), "v5.15")
    outcome, divergence = replay_schedule(schedule, edited.run)
    assert divergence is not None and divergence.expected is not None
    i = divergence.index
    assert 0 < i < len(original.choices)
    assert outcome.choices[:i] == original.choices[:i]  # followed as far as it applied
    instead = outcome.choices[i]
    assert divergence.step == instead.step
    assert instead.label != original.choices[i].label or instead.value != original.choices[i].value
    message = str(divergence)
    assert f"decision {i} of {len(original.choices)} (step {instead.step})" in message
    assert f"recorded {divergence.expected}" in message
    assert f"the scenario decided at {instead.label!r}" in message
    # After the divergence: choice 0 everywhere (no preemption).
    assert all(c.value == c.current for c in outcome.choices[i + 1 :] if c.current is not None)


def test_zs1_strings_of_the_docs_still_replay() -> None:
    # rfc-v1 fails cma-b with no preemption at all. A zs1 fingerprint covers the whole file
    # (prose included), so the string belongs to a frozen copy of the scenario: it pins that
    # the legacy fingerprint is computed the same way for good.
    text = (Path(__file__).parent / "data" / "cma-b-partial-isolation.toml").read_text()
    engine = Engine(parse_scenario(text, "cma-b-partial-isolation.toml"), parse_policy("rfc-v1"))
    schedule = parse_schedule("zs1:44f8f2aab62f6029:cpu0*3")
    check_fingerprint(schedule, _fingerprints(engine))
    outcome, divergence = replay_schedule(schedule, engine.run)
    assert divergence is None
    assert outcome.violation is not None
    assert outcome.violation.invariant == "I5a_isolated_not_allocatable"


def test_regression_artifact_schedule_count_is_bounded_by_the_step_bound() -> None:
    # An artifact with `cpu0*99999999` took 1.6 GB before its fingerprint was looked at.
    engine = _engine(CMA_C.read_text())
    with pytest.raises(ScheduleFormatError, match=f"more than {engine.max_steps} decisions"):
        parse_schedule(f"zs2:{engine.fingerprint}:cpu0*99999999", max_decisions=engine.max_steps)


def test_replay_of_an_unedited_scenario_is_exact() -> None:
    engine, original = _full_run(CMA_C.read_text())
    schedule = parse_schedule(encode(original.choices, engine.fingerprint))

    def run(strategy: Strategy) -> Outcome:
        return engine.run(strategy)

    outcome, divergence = replay_schedule(schedule, run)
    assert divergence is None and outcome.trace_hash == original.trace_hash
    assert engine.run(ReplayStrategy(schedule.values)).trace_hash == original.trace_hash
