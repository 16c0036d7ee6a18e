"""scenario_fingerprint: independent of PYTHONHASHSEED, key order, comments, file path and
prose; dependent on what the scenario does."""

from __future__ import annotations

import os
import subprocess
import sys

from scenario_docs import EXAMPLE, FULL

from zonesim.scenario import parse_scenario, scenario_fingerprint

SCRIPT = (
    "import sys; from zonesim.scenario import load_scenario, scenario_fingerprint; "
    "print(scenario_fingerprint(load_scenario(sys.argv[1])))"
)


def _run(seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(EXAMPLE)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_stable_across_hash_seeds() -> None:
    a, b = _run("1"), _run("12345")
    assert a == b
    assert len(a) == 16 and set(a) <= set("0123456789abcdef")


def test_ignores_layout_but_not_content() -> None:
    base = parse_scenario(FULL, "x.toml")
    # Same content: comments, blank lines, another directory.
    same = parse_scenario("# comment\n" + FULL.replace("\n\n", "\n\n\n"), "other/dir/x.toml")
    assert scenario_fingerprint(same) == scenario_fingerprint(base)
    changed = parse_scenario(FULL.replace("times = 3", "times = 4"), "x.toml")
    assert scenario_fingerprint(changed) != scenario_fingerprint(base)
    # Default written out explicitly is the same scenario.
    explicit = parse_scenario(
        FULL.replace("[zone]\npages = 2048", "[zone]\npages = 2048\ncpus = 2"), "x.toml"
    )
    assert scenario_fingerprint(explicit) == scenario_fingerprint(base)


def test_ignores_prose_and_expect_but_not_an_ops_expect() -> None:
    base = parse_scenario(FULL, "x.toml")
    assert base.summary == "test" and base.expect
    edited = parse_scenario(
        FULL.replace('summary = "test"', 'summary = "reworded"\ndescription = "more"'), "x.toml"
    )
    assert edited.summary != base.summary
    assert scenario_fingerprint(edited) == scenario_fingerprint(base)
    head, tail = FULL.split("[expect]")
    no_expect = parse_scenario(head + "[explore]" + tail.split("[explore]")[1], "x.toml")
    assert not no_expect.expect
    assert scenario_fingerprint(no_expect) == scenario_fingerprint(base)
    op_expect = parse_scenario(FULL.replace('expect = "-EBUSY"', 'expect = "ok"'), "x.toml")
    assert scenario_fingerprint(op_expect) != scenario_fingerprint(base)
