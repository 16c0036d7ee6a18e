"""Same decisions as before: every bundled scenario, two designs, pct/random/dfs, against
the records in data/decisions-golden.json (see golden_decisions.py). Engine and scheduler
speedups must not change a single decision, state signature or schedule string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_decisions import GOLDEN, POLICIES, ROOT, STRATEGIES, key, record, scenario_paths

PATHS = scenario_paths()
FAST = ("stress", "findings")
# The stress and findings scenarios in the fast run (~5 s); the rest in the slow one.
PARAMS = [
    pytest.param(p, id=str(p.relative_to(ROOT)),
                 marks=[] if p.parent.name in FAST else [pytest.mark.slow])
    for p in PATHS
]


@pytest.fixture(scope="module")
def golden() -> dict[str, dict[str, object]]:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_golden_file_covers_every_scenario(golden: dict[str, dict[str, object]]) -> None:
    want = {key(p, pol, s) for p in PATHS for pol in POLICIES for s in STRATEGIES}
    assert set(golden) == want
    # not vacuous: most records ran, some found a violation, some did not
    ran = [r for r in golden.values() if not r.get("n/a")]
    assert len(ran) > 0.9 * len(golden)
    assert any(r["violations"] for r in ran) and any(not r["violations"] for r in ran)


@pytest.mark.parametrize("path", PARAMS)
def test_same_decisions_as_the_golden_record(
    path: Path, golden: dict[str, dict[str, object]]
) -> None:
    for policy in POLICIES:
        for strategy in STRATEGIES:
            k = key(path, policy, strategy)
            assert record(path, policy, strategy) == golden[k], k
