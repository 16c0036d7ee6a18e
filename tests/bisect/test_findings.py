"""`zonesim bisect` on the two findings (docs/bisect.md): which releases have the race, and
the commits that bring it and take it away. foreign-undo: the shared run of conftest.py;
inflight-free-isolated (slow) at 100 executions per design, about 35 s of CPU (its own
budget, 600, takes about 90 s: docs/bisect.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import zonesim

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"

INFLIGHT = ROOT / "scenarios" / "findings" / "inflight-free-isolated.toml"
RELEASES = ["v5.15", "v5.19", "v6.0", "v6.10", "v6.17"]


def verdicts(result: zonesim.api.Bisection) -> dict[str, str]:
    return {s.name: v.text for s, v in result.states}


def change(result: zonesim.api.Bisection, before: str, after: str) -> Any:
    found = [c for c in result.changes if (c.before.name, c.after.name) == (before, after)]
    assert len(found) == 1, [(c.before.name, c.after.name) for c in result.changes]
    return found[0]


def test_foreign_undo_is_present_from_v5_19_through_v6_17(
        foreign: zonesim.api.Bisection) -> None:
    v = verdicts(foreign)
    assert [s.name for s, _ in foreign.states][-len(RELEASES):] == RELEASES
    assert v["v5.15"] == "pass"  # a failed isolation returns without the undo
    assert all(v[r].startswith("violation:") for r in RELEASES[1:])
    runs = foreign.runs
    assert (runs[-1].race, runs[-1].first, runs[-1].last) == ("violation", "v5.19", "v6.17")
    assert (runs[-2].race, runs[-2].last) == ("pass", "v5.15")
    # the race stays; the isolate bit changes the invariant that catches it
    assert [x[0] for x in runs[-1].verdicts] == ["violation:cma_pageblocks",
                                                  "violation:I5b_isolated_range_clean"]


def test_foreign_undo_is_brought_by_b2c9e2fbba32(foreign: zonesim.api.Bisection) -> None:
    c = change(foreign, "v5.15", "v5.19")
    assert c.kind == "the race appears" and c.applies is None
    # the "goto done" undo over the whole range: without it (and the fix that builds on
    # it) the scenario passes
    assert [n.move.switch for n in c.deciders] == ["b2c9e2fbba32"]
    b2c = c.deciders[0]
    assert b2c.role == "decides" and b2c.without.text == "pass"
    assert "became MOVABLE" in (c.now.cell.message or "")
    # 88ee134320b8 only keeps I6 (b2c9e2fbba32's own accounting bug) from being found first
    roles = {n.move.switch: (n.role, n.without.text) for n in c.needs}
    assert roles["88ee134320b8"] == ("other", "violation:I6_nr_isolate_pageblock")
    assert not c.single


def test_foreign_undo_invariant_change_is_the_isolate_bit(
        foreign: zonesim.api.Bisection) -> None:
    c = change(foreign, "v6.10", "v6.17")
    assert c.kind == "the invariant changes"
    assert c.flip.move.switch == "591342fccd72" and c.single
    assert [n.role for n in c.needs] == ["decides"]


def test_every_violation_carries_a_schedule_that_replays(
        foreign: zonesim.api.Bisection) -> None:
    for state, v in foreign.states:
        doc = v.to_json()
        if v.race == "violation":
            assert doc["schedule"].startswith("zs") and doc["artifact"], state.name
            assert doc["replay"] == f"zonesim replay {doc['artifact']}"
        else:
            assert doc["schedule"] is None
    v619 = dict((s.name, v) for s, v in foreign.states)["v5.19"]
    assert v619.cell.found is not None and v619.cell.found.artifact is not None
    again = zonesim.replay(v619.cell.found.artifact)
    assert again.reproduced and again.to_json()["invariant"] == "cma_pageblocks"


def check_inflight(result: zonesim.api.Bisection) -> None:
    v = verdicts(result)
    assert v["v5.15"] == "pass" and v["v6.17"] == "pass"
    assert all(v[r] == "violation:I5a_isolated_not_allocatable"
               for r in ("v5.19", "v6.0", "v6.10"))
    opens = change(result, "v5.15", "v5.19")
    assert opens.kind == "the race appears"
    b2c = next(n for n in opens.deciders if n.move.switch == "b2c9e2fbba32")
    assert b2c.without.text == "pass"  # without it (and what builds on it): no race
    closes = change(result, "v6.10", "v6.17")
    assert closes.kind == "the race disappears"
    assert closes.flip.move.switch == "e98337d11bbd" and closes.single
    assert closes.flip.move.version == "6.12"


@pytest.mark.slow
def test_inflight_free_window_opens_with_b2c9e2fbba32_and_closes_with_e98337d11bbd(
        tmp_path: Path) -> None:
    result = zonesim.bisect(INFLIGHT, executions=100, artifacts=tmp_path)
    check_inflight(result)
    # before 3.18 the scenario breaks NR_FREE_PAGES (I2); 3.18's re-read of the pageblock
    # type under zone->lock (ad53f92eb416) closes it
    old = change(result, "<= 3.17", "3.18")
    assert old.flip.move.switch == "ad53f92eb416" and old.single


def test_bad_budget_is_bad_input() -> None:
    with pytest.raises(zonesim.BadInput, match="--executions: expected a positive integer"):
        zonesim.bisect(FOREIGN, executions=0)


@pytest.mark.slow
def test_the_same_bisect_in_two_processes(tmp_path: Path) -> None:
    """DESIGN.md §10: same scenario and seed, any process, any hash seed: the same JSON."""
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "zonesim", "bisect", str(FOREIGN), "--json", "--quiet",
             "--executions", "24", "--artifacts", str(tmp_path)],
            capture_output=True, text=True, check=True, cwd=ROOT,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"})
        outs.append(done.stdout)
    assert outs[0] == outs[1] and '"b2c9e2fbba32"' in outs[0]
