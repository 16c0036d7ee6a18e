"""A broken design the matrix must flag: set_migratetype_isolate that forgets to move the
pageblock's free pages onto the ISOLATE list (the step 2.7 of kernel-reference does right
after setting the type). Free pages of an isolated pageblock then stay allocatable, and
`zonesim matrix --check` on the founding thread's scenarios must report mismatches where
the real designs pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zonesim.ops.isolation as isolation
from zonesim.cli import main
from zonesim.model.buddy import __mod_zone_freepage_state
from zonesim.model.types import MigrateType
from zonesim.ops.errno import EBUSY
from zonesim.ops.kernel import Kernel

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [ROOT / "scenarios" / "seed" / f"{n}.toml"
             for n in ("cma-b-partial-isolation", "vmem-c-partial-isolation")]


async def forgetful_set_migratetype_isolate(
    k: Kernel, cpu: int, pfn: int, mt: int, flags: int, start: int, end: int,
    roi: tuple[int, int] | None = None,
) -> int:
    zone = k.zone
    if zone.get_pageblock_migratetype(pfn) == MigrateType.ISOLATE:
        return EBUSY
    old = zone.get_pageblock_migratetype(pfn)
    zone.set_pageblock_migratetype(pfn, MigrateType.ISOLATE)
    zone.nr_isolate_pageblock += 1
    __mod_zone_freepage_state(zone, 0, old)  # BUG: no move_freepages_block()
    return 0


def run_matrix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[int, dict[str, object]]:
    # --workers 1: the broken design is a monkeypatch of this process
    rc = main(["matrix", *map(str, SCENARIOS), "--policy", "v5.15", "--check", "--json",
               "--executions", "40", "--seconds", "0", "--artifacts", str(tmp_path),
               "--workers", "1"])
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return rc, doc


def test_correct_v5_15_matches_its_expectations(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    rc, doc = run_matrix(capsys, tmp_path)
    assert rc == 0, doc


def test_broken_design_is_flagged(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr(isolation, "set_migratetype_isolate", forgetful_set_migratetype_isolate)
    rc, doc = run_matrix(capsys, tmp_path)
    assert rc == 1  # --check: verdicts no longer match the scenarios' [expect]
    rows = doc["rows"]
    assert isinstance(rows, list)
    cells = [r["cells"]["v5.15"] for r in rows]
    assert all(c["verdict"] == "violation" and c["matches"] is False for c in cells), cells
    assert {c["invariant"] for c in cells} <= {"I5a_isolated_not_allocatable",
                                               "I5b_isolated_range_clean",
                                               "I4i_isolate_list_stranded"}
