"""Issue 11, first paragraph: each rough edge a new user hit, with a test that fails on the
old behaviour (cited in each docstring) and passes now."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from zonesim.cli import main
from zonesim.cli.app import build_parser
from zonesim.obs.report import cpu_columns

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
PASS = ROOT / "tests" / "matrix" / "data" / "pass"
ALLOC_FREE = PASS / "alloc-free.toml"


def zonesim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The installed command in a subprocess, stderr a pipe (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "zonesim", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=300, check=False)


def test_matrix_reports_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """Old: `zonesim matrix` from a script printed nothing on stderr until it ended."""
    r = zonesim("matrix", str(PASS), "--policy", "v5.15", "--artifacts", str(tmp_path),
                "--progress-every", "0")
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith("zonesim matrix: cell")]
    assert lines, r.stderr
    assert re.fullmatch(r"zonesim matrix: cell \d+/2 \(\S+ x v5\.15\), \d+/\d+ executions, "
                        r"\d+/s, \d+ violation\(s\), ETA \S+", lines[-1]), lines[-1]
    assert r.stderr.splitlines()[-1].startswith("zonesim matrix: done, ")
    quiet = zonesim("matrix", str(PASS), "--policy", "v5.15", "--artifacts", str(tmp_path),
                    "--progress-every", "0", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout == r.stdout  # progress never changes the table


def test_explore_reports_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    r = zonesim("explore", str(ALLOC_FREE), "--strategy", "pct", "--executions", "40",
                "--artifacts", str(tmp_path), "--progress-every", "0", "--json")
    assert r.returncode == 0, r.stderr
    assert "zonesim explore: 40/40 executions," in r.stderr
    assert json.loads(r.stdout)["executions"] == 40


def test_run_prints_readable_steps_and_json_lines_only_with_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Old: `zonesim run` printed raw JSON lines mixed with its result."""
    log = tmp_path / "run.jsonl"
    assert main(["run", str(FOREIGN), "--policy", "v5.19", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert not any(line.lstrip().startswith("{") for line in out.splitlines()), out
    assert out.startswith("Steps:\n") and re.search(r"\[\s*\d+\] cpu\d: \w+\(", out)
    assert "ok: " in out and re.search(r"\nschedule zs\d+:", out)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records and all("event" in r and "step" in r for r in records)
    # the same step lines as a failure report, for the same records
    assert main(["run", str(FOREIGN), "--policy", "v5.19"]) == 0
    assert capsys.readouterr().out == out


def test_the_diagram_wraps_instead_of_truncating() -> None:
    """Old: `alloc_contig_range(end_pfn=0x800, isola...` — arguments cut at the column."""
    rec = {"event": "alloc_contig_range", "cpu": "cpu1", "step": 5, "pfn": 0x600,
           "end_pfn": 0x800, "isolate_pfn": 0x600, "isolate_end_pfn": 0x800, "mt": "CMA"}
    lines = cpu_columns([rec], ["cpu0", "cpu1"], width=44)
    text = " ".join(x.strip() for x in lines[2:])
    for part in ("end_pfn=0x800,", "isolate_end_pfn=0x800,", "isolate_pfn=0x600,", "mt=CMA,",
                 "pfn=0x600)"):
        assert part in text
    assert "..." not in text
    assert all(x.startswith(" " * 44) and len(x) <= 88 for x in lines[2:])
    assert len(lines) > 3  # wrapped onto continuation lines


def test_an_artifact_replays_from_any_directory_and_without_its_scenario(
        tmp_path: Path) -> None:
    """Old: the artifact stored the scenario path relative to where explore ran; replay
    from another directory failed."""
    work = tmp_path / "work"
    (work / "s").mkdir(parents=True)
    shutil.copy(FOREIGN, work / "s" / FOREIGN.name)
    r = zonesim("explore", f"s/{FOREIGN.name}", "--policy", "v5.19", "--strategy", "dfs",
                "--executions", "50", "--artifacts", "arts", "--json", cwd=work)
    assert r.returncode == 1, r.stderr
    artifact = work / json.loads(r.stdout)["violations"][0]["artifact"]
    doc = json.loads(artifact.read_text())
    assert doc["scenario"] == f"s/{FOREIGN.name}"  # the path as written
    assert doc["scenario_text"] == FOREIGN.read_text()
    (work / "s" / FOREIGN.name).unlink()  # even with the file gone
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rep = zonesim("replay", str(artifact), "--json", cwd=elsewhere)
    assert rep.returncode == 0, rep.stderr
    assert json.loads(rep.stdout)["reproduced"] is True


def _actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += [(f"{name} {n}", a) for n, a in _actions(sub)]
        elif not isinstance(action, argparse._HelpAction):
            out.append((action.dest, action))
    return out


def test_every_option_has_help_and_says_its_default() -> None:
    """Old: positional arguments, --seed, --time, --max-steps, --artifacts, --json,
    log --cpu/--event had no help; nothing said the default policy is v5.15."""
    missing = []
    for name, action in _actions(build_parser()):
        text = action.help or ""
        optional = bool(action.option_strings) or action.nargs in ("?", "*")
        if not text or (optional and "default" not in text):
            missing.append(name)
    assert missing == []
    policy = next(a for n, a in _actions(build_parser()) if n == "explore policy")
    assert "default: v5.15" in (policy.help or "") % {"default": policy.default}


@pytest.mark.parametrize("args", [
    ["show", "--pages", "4096"],
    ["show", str(FOREIGN), "--format", "map"],
    ["scenarios", str(ROOT / "scenarios")],
    ["policies"],
    ["schema"],
    ["log", "ARTIFACT"],
    ["run", str(FOREIGN)],
    ["replay", "ARTIFACT"],
    ["report", "ARTIFACT", "-o", "OUT"],
])
def test_json_on_every_command(args: list[str], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """Old: show, log, scenarios and policies had no --json."""
    if "ARTIFACT" in args:
        main(["explore", str(FOREIGN), "--policy", "v5.19", "--strategy", "dfs",
              "--executions", "50", "--artifacts", str(tmp_path), "--json", "-q"])
        artifact = json.loads(capsys.readouterr().out)["violations"][0]["artifact"]
        args = [artifact if a == "ARTIFACT" else str(tmp_path / "r.html") if a == "OUT" else a
                for a in args]
    rc = main([*args, "--json"] + (["--policy", "v5.19"] if args[0] == "run" else []))
    out = capsys.readouterr().out
    assert rc in (0, 1)
    assert out.count("\n") == 1
    assert isinstance(json.loads(out), dict)


def test_every_command_has_json() -> None:
    subs = next(a for a in build_parser()._actions
                if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        assert any("--json" in a.option_strings for a in sub._actions), name


@pytest.mark.parametrize(("args", "needle"), [
    (["--cpu", "cpu9"], "--cpu cpu9: expected one of cpu0, cpu1"),
    (["--event", "no_such_event"], "--event no_such_event: expected an event zonesim logs"),
])
def test_log_filters_that_cannot_match_are_bad_input(
        args: list[str], needle: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Old: `log --cpu cpu9` or an unknown --event printed nothing and exited 0."""
    log = tmp_path / "run.jsonl"
    assert main(["run", str(FOREIGN), "--policy", "v5.19", "--log", str(log)]) == 0
    capsys.readouterr()
    assert main(["log", str(log), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
    # a known event that this log happens not to have is a fine (empty) answer
    assert main(["log", str(log), "--event", "virtio_mem_plug"]) == 0


def test_matrix_dir_skips_toml_files_that_are_not_scenarios(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Old: `matrix DIR` took every *.toml as a scenario, pyproject.toml included."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(ALLOC_FREE, d / ALLOC_FREE.name)
    shutil.copy(ROOT / "pyproject.toml", d / "pyproject.toml")
    rc = main(["matrix", str(d), "--policy", "v5.15", "--artifacts", str(tmp_path),
               "--json", "-q"])
    assert rc == 0
    assert [r["scenario"] for r in json.loads(capsys.readouterr().out)["rows"]] == [
        "alloc-free"]
    assert main(["scenarios", str(d), "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)["scenarios"]] == [
        "alloc-free"]


def test_show_pages_zero_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    """Old: `show --pages 0` answered `self.pages=0 must be at least 1`."""
    assert main(["show", "--pages", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "--pages: expected a positive integer, got 0\n"


def test_readme_command_2_comment_says_what_it_runs() -> None:
    """Old: the comment said it runs ruff, mypy and the matrix check; it runs pytest only."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    comment, command = [x for x in block.splitlines() if x.strip()][2:4]
    assert comment.startswith("# 2.") and "pytest" in comment
    assert command.endswith("python -m pytest")
    # what it does not run, it does not claim (it may point to where those run)
    claims = comment.split(";")[0]
    for tool in ("ruff", "mypy", "matrix"):
        assert tool not in claims, comment


def test_the_entry_point_and_python_m_agree() -> None:
    exe = shutil.which("zonesim")
    assert exe is not None
    a = subprocess.run([exe, "show", "--pages", "4096"], capture_output=True, text=True,
                       check=True, env={**os.environ})
    b = zonesim("show", "--pages", "4096")
    assert a.stdout == b.stdout


def test_progress_counts_the_violations_found(tmp_path: Path) -> None:
    """The line names the violation of the execution that ended the run."""
    cma_b = ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"
    r = zonesim("explore", str(cma_b), "--policy", "rfc-v1", "--artifacts", str(tmp_path),
                "--progress-every", "0", "--json")
    assert r.returncode == 1, r.stderr
    assert "zonesim explore: 1/1000 executions," in r.stderr
    assert "1 violation(s)" in r.stderr


def test_matrix_on_workers_says_which_cells_are_in_progress(tmp_path: Path) -> None:
    """Cells on worker processes report only when they end; between ends the display
    hears which cells are in progress, so a long cell is not a silent matrix."""
    heard: list[tuple[int, int, list[str]]] = []

    class Display:
        def cell(self, n: int, total: int, scenario: str, policy: str) -> None:
            pass

        def executions(self, done: int, budget: int, violations: int) -> None:
            pass

        def running(self, done: int, total: int, cells: Sequence[str]) -> None:
            heard.append((done, total, list(cells)))

    from zonesim import api
    api.matrix([ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"],
               ["v5.15", "proposal"], executions=60, artifacts=tmp_path, workers=2,
               progress=Display())
    assert heard and heard[0] == (0, 2, ["cma-b-partial-isolation x v5.15",
                                         "cma-b-partial-isolation x proposal"])
    assert all(total == 2 and len(cells) <= 2 for _, total, cells in heard)
