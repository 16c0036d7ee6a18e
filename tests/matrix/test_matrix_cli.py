"""`zonesim matrix`: JSON per DESIGN.md §8, --check exit codes, n/a cells, violations with
their CPU-column diagram and a replay command that replays, bad input, determinism."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from zonesim.cli import main
from zonesim.engine import Engine, NotApplicable
from zonesim.policy import PRESETS

DATA = Path(__file__).parent / "data"
PASS = DATA / "pass"  # alloc-free ([expect] v5.15 and "v5.15 -ad53f92eb416"), buddy-free (none)
MISMATCH = DATA / "mismatch" / "alloc-free-wrong.toml"  # expects a violation; it passes
PLANTED = DATA / "planted" / "planted-lost-update.toml"  # "violation:I2" with the planted bug
EXTRA = "v5.15 -ad53f92eb416"
# the module, not the public zonesim.matrix() function that shadows its name on the package
matrix_mod = importlib.import_module("zonesim.matrix")
CELL_KEYS = {"verdict", "invariant", "executions", "expected", "matches"}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    rc = main(["matrix", *args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def strip_timing(doc: dict[str, Any]) -> dict[str, Any]:
    for row in doc["rows"]:
        for cell in row["cells"].values():
            cell.pop("seconds")
    return doc


def test_json_structure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(PASS), "--artifacts", str(tmp_path))
    assert rc == 0
    # every preset, then the extra design alloc-free's [expect] names
    assert doc["policies"] == [*PRESETS, EXTRA]
    assert [r["scenario"] for r in doc["rows"]] == ["alloc-free", "buddy-free"]
    for row in doc["rows"]:
        assert set(row["cells"]) == set(doc["policies"])
        for cell in row["cells"].values():
            assert set(cell) >= CELL_KEYS
    alloc, buddy = (r["cells"] for r in doc["rows"])
    assert alloc["v5.15"]["verdict"] == "pass"
    assert alloc["v5.15"]["invariant"] is None
    assert alloc["v5.15"]["expected"] == "pass" and alloc["v5.15"]["matches"] is True
    assert alloc["v5.15"]["exhaustive"] is True and alloc["v5.15"]["executions"] > 0
    assert alloc[EXTRA]["verdict"] == "pass" and alloc[EXTRA]["matches"] is True
    # no expectation: null, not a mismatch
    assert buddy["v5.15"]["verdict"] == "pass"
    assert buddy["v5.15"]["expected"] is None and buddy["v5.15"]["matches"] is None
    # the extra column is not run for a scenario that does not name it
    assert buddy[EXTRA]["verdict"] is None and buddy[EXTRA]["executions"] is None
    assert doc["mismatches"] == 0


def test_same_arguments_same_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = (str(PASS), str(MISMATCH), "--policy", "v5.15", "--artifacts", str(tmp_path))
    _, first = run_json(capsys, *args)
    _, second = run_json(capsys, *args)
    assert strip_timing(first) == strip_timing(second)
    main(["matrix", *args])
    text1 = capsys.readouterr().out
    main(["matrix", *args])
    assert capsys.readouterr().out == text1


def test_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    art = ["--artifacts", str(tmp_path)]
    assert main(["matrix", str(PASS), "--check", *art]) == 0
    capsys.readouterr()
    assert main(["matrix", str(MISMATCH), "--check", *art]) == 1
    out = capsys.readouterr().out
    assert "pass (exh." in out and " !" in out
    assert "alloc-free-wrong x v5.15: expected violation, got pass" in out
    # without --check a matrix only reports
    assert main(["matrix", str(MISMATCH), *art]) == 0
    capsys.readouterr()
    rc, doc = run_json(capsys, str(MISMATCH), "--policy", "v5.15", *art)
    assert rc == 0
    cell = doc["rows"][0]["cells"]["v5.15"]
    assert cell["expected"] == "violation" and cell["matches"] is False
    assert doc["mismatches"] == 1


def test_policy_restricts_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(PASS), "--policy", "v5.15", "--artifacts", str(tmp_path))
    assert rc == 0 and doc["policies"] == ["v5.15"]
    # a named design with switches is run for every scenario
    _, doc = run_json(capsys, str(PASS), "--policy", EXTRA, "--artifacts", str(tmp_path))
    assert doc["policies"] == [EXTRA]
    assert [r["cells"][EXTRA]["verdict"] for r in doc["rows"]] == ["pass", "pass"]


def test_not_applicable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Refusing(Engine):
        def base_state(self) -> Any:
            if self.scenario.name == "buddy-free":
                raise NotApplicable("v5.15 refuses this layout (test)")
            return super().base_state()

    monkeypatch.setattr(matrix_mod, "Engine", Refusing)
    rc, doc = run_json(capsys, str(PASS), "--policy", "v5.15", "--artifacts", str(tmp_path))
    assert rc == 0
    alloc, buddy = (r["cells"]["v5.15"] for r in doc["rows"])
    assert alloc["verdict"] == "pass"
    assert buddy["verdict"] == "n/a" and buddy["invariant"] is None
    assert buddy["message"] == "v5.15 refuses this layout (test)"
    main(["matrix", str(PASS), "--policy", "v5.15", "--artifacts", str(tmp_path)])
    out = capsys.readouterr().out
    assert "buddy-free x v5.15: v5.15 refuses this layout (test)" in out


def test_not_applicable_from_constructor_is_a_mismatch_when_pass_expected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def refusing(*args: Any, **kwargs: Any) -> Engine:
        raise NotApplicable("not aligned (test)")

    monkeypatch.setattr(matrix_mod, "Engine", refusing)
    rc = main(["matrix", str(PASS / "alloc-free.toml"), "--policy", "v5.15", "--check",
               "--artifacts", str(tmp_path)])
    assert rc == 1
    out = capsys.readouterr().out
    assert "n/a !" in out and "expected pass, got n/a" in out


def test_violation_diagram_and_replay(
    planted: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(PLANTED), "--policy", "v5.15", "--artifacts", str(tmp_path)]
    assert main(["matrix", *args, "--check"]) == 0  # "violation:I2" matches I2_nr_free_pages
    out = capsys.readouterr().out
    assert "violation I2 (" in out
    assert "=== planted-lost-update x v5.15: VIOLATION I2_nr_free_pages" in out
    # the CPU-column diagram of the shrunk interleaving
    header = next(line for line in out.splitlines() if "CPU0" in line)
    assert "CPU1" in header
    assert "free_pages(" in out
    replay_lines = [line.strip() for line in out.splitlines() if "replay: " in line]
    assert len(replay_lines) == 1
    artifact = replay_lines[0].removeprefix("replay: zonesim replay ")
    assert Path(artifact).is_file() and Path(artifact).parent == tmp_path

    _, doc = run_json(capsys, *args)
    cell = doc["rows"][0]["cells"]["v5.15"]
    assert cell["verdict"] == "violation" and cell["invariant"] == "I2_nr_free_pages"
    assert cell["expected"] == "violation:I2" and cell["matches"] is True
    assert cell["executions"] >= 1 and cell["preemptions"] == 1
    assert cell["replay"] == f"zonesim replay {artifact}"

    # the printed command replays: same invariant and trace_hash (replay exits 0)
    assert main(["replay", artifact, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["reproduced"] is True and rep["invariant"] == "I2_nr_free_pages"


def test_unplanted_violation_expectation_mismatches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["matrix", str(PLANTED), "--policy", "v5.15", "--check",
               "--artifacts", str(tmp_path)])
    assert rc == 1
    assert "expected violation:I2, got pass" in capsys.readouterr().out


def test_dfs_then_pct_within_the_execution_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alloc-free's bounded DFS space (14 schedules) exceeds half of 6 executions: DFS takes
    3, PCT the other 3; with no seconds cap the counts are exact."""
    rc, doc = run_json(capsys, str(PASS / "alloc-free.toml"), "--policy", "v5.15",
                       "--executions", "6", "--seconds", "0", "--artifacts", str(tmp_path))
    assert rc == 0
    cell = doc["rows"][0]["cells"]["v5.15"]
    assert cell["verdict"] == "pass" and cell["strategy"] == "dfs+feedback"
    assert cell["executions"] == 6 and cell["exhaustive"] is False
    assert cell["time_capped"] is False


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/nonexistent/x.toml"], "/nonexistent/x.toml: no such scenario file or directory"),
        ([str(PASS), "--policy", "v9.99"], "--policy 'v9.99': unknown policy"),
        ([str(PASS), "--policy", "v5.15 bogus"], "bad policy token"),
        ([str(PASS), "--executions", "0"], "--executions: expected an integer 1.."),
        ([str(PASS), "--seconds", "-1"], "--seconds: expected a finite number of seconds >= 0"),
        ([str(PASS), "--seconds", "soon"], "invalid float value"),
    ],
)
def test_bad_input(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_default_scenarios_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(DATA)  # no scenarios/seed/ here
    assert main(["matrix"]) == 2
    assert "scenarios/seed: no such scenario file or directory" in capsys.readouterr().err


def test_help_says_a_matrix_reports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["matrix", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exits 0 even when cells find violations" in out
    assert "with --check it exits 1 when any cell differs" in out
