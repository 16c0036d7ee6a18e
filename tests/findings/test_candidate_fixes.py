"""The candidate fixes of docs/findings/ do what their write-ups claim, and nothing else.

Each ``fix/...`` switch is proposed for the stable releases named in its finding. A fix
earns that claim when, added to a release preset, it turns its findings' violations into
passes and leaves every other bundled scenario's verdict (seed and findings) exactly as
that release's ``[expect]`` says — a stable fix that changes an unrelated verdict would
be a regression, or a sign it fixes more than its changelog says.

Slow: it explores 11 scenarios under 4 designs with each scenario's ``[explore]`` budget,
as ``zonesim matrix --check`` does (about 2 min of CPU, 2 workers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import zonesim
from zonesim.matrix import matches
from zonesim.scenario.document import PolicySpec

ROOT = Path(__file__).resolve().parents[2]

# fix -> (the scenarios whose violation it is meant to remove, the releases it is proposed for)
FIXES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    # builds on b2c9e2fbba32 (v5.19): nothing to fix before it
    "fix/acr-undo-own": (frozenset({"foreign-undo"}), ("v5.19", "v6.10")),
    # the in-flight MAX_ORDER-1 free: the founding thread's case b as the seeds model it
    # (cma-b, vmem-c with their hypothetical order-10 movable page) and the findings
    "fix/free-split-pageblocks": (
        frozenset({"inflight-free-isolated", "undo-window-free", "undo-window-steal",
                   "cma-b-partial-isolation", "vmem-c-partial-isolation"}),
        ("v5.15", "v6.0"),
    ),
}


@pytest.mark.slow
def test_each_candidate_fix_fixes_its_findings_and_changes_nothing_else(tmp_path: Path) -> None:
    designs = [(fix, release) for fix, (_, releases) in FIXES.items() for release in releases]
    result = zonesim.matrix(
        [ROOT / "scenarios" / "seed", ROOT / "scenarios" / "findings"],
        [f"{release} +{fix}" for fix, release in designs],
        artifacts=tmp_path, workers=2,
    )
    assert len(result.rows) >= 11
    fixed: dict[str, set[str]] = {fix: set() for fix in FIXES}
    problems: list[str] = []
    for row in result.rows:
        name = row.scenario.name
        for (fix, release), column in zip(designs, result.columns, strict=True):
            cell = row.cells[column.name]
            base = row.scenario.expectation_for(PolicySpec(release))
            assert base is not None, f"{name}: [expect] says nothing about {release}"
            targets = FIXES[fix][0]
            if name in targets and base.kind == "violation":
                if cell.verdict == "pass":
                    fixed[fix].add(name)
                else:
                    problems.append(f"{name} x {column.name}: still {cell.verdict} "
                                    f"{cell.invariant} ({cell.message})")
            elif not matches(base, cell):
                problems.append(f"{name} x {column.name}: {cell.verdict} {cell.invariant}, "
                                f"but {release} is expected {base} without the fix")
    assert not problems, "\n".join(problems)
    # every fix removed at least one violation it was written for, in a release it names
    assert fixed["fix/acr-undo-own"] == {"foreign-undo"}
    assert {"inflight-free-isolated", "undo-window-free", "undo-window-steal"} <= \
        fixed["fix/free-split-pageblocks"]
