"""Guard a design with zonesim: "my design must pass cma-b and cma-c".

Copy this file into your tests, point SCENARIOS at zonesim's scenarios (or your own), set
MY_DESIGN to your design — a preset with your switches added (+) or removed (-), e.g.
"v5.19 -86d28b070927" — and run `pytest`. With zonesim installed (`pip install zonesim`
or `pip install -e .` in its checkout) the `zonesim` fixture is there: no conftest.py.

When the verdict is wrong the failure is the report a kernel developer reads: the
invariant, the preemptions, the steps, the CPU0/CPU1 column diagram and the command that
replays it (`zonesim replay <artifact>`; `zonesim report <artifact> -o failure.html` draws
it). Budgets are the scenarios' own `[explore]` hints unless you pass executions=.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MY_DESIGN = "v5.15"  # passes both; "proposal" (DH's a/b/c on Zi Yan's RFC) fails cma-c
# (docs/findings.md), and "rfc-v1" fails both


@pytest.mark.parametrize("case", ["cma-b-partial-isolation", "cma-c-concurrent"])
def test_my_design_passes(zonesim, case):  # type: ignore[no-untyped-def]
    zonesim.check(SCENARIOS / "seed" / f"{case}.toml", policy=MY_DESIGN, expect="pass")


def test_my_design_keeps_a_small_case_passing(zonesim):  # type: ignore[no-untyped-def]
    # a scenario can also be written inline
    zonesim.check(
        """
        [scenario]
        name = "alloc-then-free"
        summary = "one CPU allocates while another frees"

        [zone]
        pages = 2048
        cpus = 2

        [[cpu]]
        ops = [ { op = "alloc", order = 0, type = "movable", as = "a" },
                { op = "free", ref = "a" } ]

        [[cpu]]
        ops = [ { op = "alloc", order = 3, type = "unmovable", as = "b" },
                { op = "free", ref = "b" } ]
        """,
        policy=MY_DESIGN,
        expect="pass",
        executions=200,
    )
