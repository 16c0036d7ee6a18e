"""Matrix cells asserted through the project's own pytest plugin (zonesim.testing): the
seed cells whose verdict is found in a handful of executions, and the planted race."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim.testing import ZonesimAssertion, ZonesimFixture

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "scenarios" / "seed"
PLANTED = Path(__file__).parent / "data" / "planted" / "planted-lost-update.toml"


@pytest.mark.parametrize(("case", "policy", "expect"), [
    ("cma-a-mixed-pageblocks", "v5.15", "n/a"),
    ("cma-a-mixed-pageblocks", "rfc-v1", "violation:I3"),
    ("cma-b-partial-isolation", "rfc-v1", "violation:I5a"),
    ("vmem-a-both-pageblocks", "v5.15", "violation:expectation"),
    ("vmem-c-partial-isolation", "rfc-v1", "violation:I5a"),
])
def test_seed_cells(zonesim: ZonesimFixture, case: str, policy: str, expect: str) -> None:
    zonesim.check(SEED / f"{case}.toml", policy=policy, expect=expect, strategy="dfs",
                  executions=50)


def test_planted_race_is_found_and_a_clean_design_is_not(
        planted: None, zonesim: ZonesimFixture) -> None:
    out = zonesim.check(PLANTED, policy="v5.15", expect="violation:I2", strategy="dfs",
                        executions=100)
    assert out.report is not None and out.report.violations[0].preemptions == 1
    with pytest.raises(ZonesimAssertion, match="expected pass, got violation I2"):
        zonesim.check(PLANTED, policy="v5.15", expect="pass", strategy="dfs", executions=100)
