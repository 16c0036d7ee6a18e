"""The CLI on real scenarios: policy specs, replay divergence, log filters, show, n/a."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
CMA_A = ROOT / "scenarios" / "seed" / "cma-a-mixed-pageblocks.toml"


def test_policy_spec_and_with_without_are_the_same_design(
        capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", str(FOREIGN), "--policy", "v5.19 -88ee134320b8 -80e2b584f3ab", "--json"])
    a = json.loads(capsys.readouterr().out)
    main(["run", str(FOREIGN), "--policy", "v5.19", "--without", "88ee134320b8",
          "--without", "80e2b584f3ab", "--json"])
    b = json.loads(capsys.readouterr().out)
    assert a["policy"] == b["policy"] == "v5.19 -80e2b584f3ab -88ee134320b8"
    assert a["trace_hash"] == b["trace_hash"]


def test_not_applicable_is_a_verdict_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(CMA_A), "--policy", "v5.15", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "n/a" and "cma_init_reserved_mem" in doc["not_applicable"]


def test_foreign_undo_found_replayed_and_filtered(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["explore", str(FOREIGN), "--policy", "v5.19", "--strategy", "dfs",
               "--executions", "50", "--artifacts", str(tmp_path), "--json"])
    found = json.loads(capsys.readouterr().out)["violations"]
    assert rc == 1 and found[0]["invariant"] == "cma_pageblocks" and found[0]["preemptions"] == 1
    artifact = found[0]["artifact"]
    assert main(["replay", artifact]) == 0
    out = capsys.readouterr().out
    assert "preempted at" in out and "reproduced cma_pageblocks" in out
    # log filters: pfn spans (0x600 lies inside [0x600, 0xa00)), cpu, event
    assert main(["log", artifact, "--cpu", "cpu1", "--pfn", "0x700",
                 "--event", "alloc_contig_range", "--format", "jsonl"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in lines] == ["alloc_contig_range"]
    assert lines[0]["cpu"] == "cpu1"
    # a schedule that does not fit the scenario: one line, exit 2
    doc = json.loads(Path(artifact).read_text())
    fp = doc["schedule"].split(":")[1]
    assert main(["run", str(FOREIGN), "--policy", "v5.19", "--schedule",
                 f"zs1:{fp}:cpu7*3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--schedule" in err


def test_show_a_scenario_after_setup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"),
                 "--format", "pagetypeinfo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Page block order: 9\nPages per block:  512\n")
    assert "Node 0, zone   Normal " in out
