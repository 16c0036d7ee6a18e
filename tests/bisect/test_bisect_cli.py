"""`zonesim bisect` on the command line: the table, --json, progress on stderr, exit codes,
help with defaults, bad input in one line."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import zonesim
from zonesim import api
from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = str(ROOT / "scenarios" / "findings" / "foreign-undo.toml")
SMALL = ROOT / "tests" / "matrix" / "data" / "pass" / "alloc-free.toml"  # passes everywhere


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["bisect", *args])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def shared(foreign: zonesim.api.Bisection, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The command runs on conftest's shared bisect (the exploration is tested there);
    what the command passed to the API is recorded."""
    calls: list[Any] = []

    def bisect(target: str, **kwargs: Any) -> zonesim.api.Bisection:
        calls.append((target, kwargs))
        return foreign

    monkeypatch.setattr(api, "bisect", bisect)
    return calls


def test_json_has_states_verdicts_schedules_and_commits(
        shared: list[Any], foreign: zonesim.api.Bisection) -> None:
    rc, out, _ = run(FOREIGN, "--json", "--seed", "3", "--executions", "7")
    assert rc == 0  # a bisect that finds a race ran fine
    assert out.count("\n") == 1  # one JSON object on one line
    (target, kwargs), = shared
    assert target == FOREIGN and kwargs["seed"] == 3 and kwargs["executions"] == 7
    assert kwargs["artifacts"] == Path("logs")
    doc = json.loads(out)
    assert doc == json.loads(json.dumps(foreign.to_json()))
    assert doc["scenario"] == "foreign-undo" and doc["file"] == FOREIGN
    assert doc["budget"] == {"executions": 24, "seed": 0}
    names = [s["name"] for s in doc["states"]]
    assert names[-5:] == ["v5.15", "v5.19", "v6.0", "v6.10", "v6.17"]
    for s in doc["states"]:
        assert s["verdict"] in ("pass", "n/a") or s["verdict"].startswith("violation:")
        assert (s["schedule"] is not None) == s["verdict"].startswith("violation:")
        assert (s["artifact"] is not None) == (s["schedule"] is not None)
        assert Path(s["artifact"]).is_file() if s["artifact"] else True
    assert [(r["verdict"], r["first"], r["last"]) for r in doc["runs"]][-1] == (
        "violation", "v5.19", "v6.17")
    first = doc["changes"][0]
    assert (first["from"], first["to"]) == ("v5.15", "v5.19")
    assert first["decided_by"] == ["b2c9e2fbba32"] and first["applies"] is None
    assert first["flip"]["version"] == "5.19" and first["flip"]["title"]
    need = next(n for n in first["needs"] if n["commit"] == "b2c9e2fbba32")
    assert need["title"] == "mm: make alloc_contig_range work at pageblock granularity"
    assert need["without"]["verdict"] == "pass" and need["role"] == "decides"
    assert need["left_out_with_it"] == ["88ee134320b8"]
    fix = next(n for n in first["needs"] if n["commit"] == "88ee134320b8")
    assert fix["without"]["schedule"]  # the evidence replays too
    assert all(set(step) == {"prefix", "policy", "verdict"} for step in first["steps"])
    assert doc["explored"] == len({s["policy"] for s in doc["states"]} | {
        step["policy"] for c in doc["changes"] for step in c["steps"]})


def test_the_table(shared: list[Any], foreign: zonesim.api.Bisection) -> None:
    rc, out, err = run(FOREIGN, "--quiet")
    assert rc == 0 and err == ""
    assert "release" in out and "design" in out and "verdict" in out
    assert "violation cma_pageblocks (2)" in out  # the matrix's cell text
    assert "pass       <= 3.17 .. v5.15" in out
    assert "violation  v5.19 .. v6.17" in out
    assert "v5.15 -> v5.19: pass -> violation:cma_pageblocks (the race appears)" in out
    assert "brings the race: b2c9e2fbba32 (5.19) mm: make alloc_contig_range work at " \
           "pageblock granularity" in out
    assert "changes the invariant" in out and "591342fccd72 (6.17)" in out
    replay = dict((s.name, v.replay) for s, v in foreign.states)["v6.17"]
    assert f"v6.17: {replay}" in out


def test_a_real_run_shows_progress_on_stderr(tmp_path: Path) -> None:
    rc, out, err = run(str(SMALL), "--executions", "8", "--artifacts", str(tmp_path),
                       "--progress-every", "0", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["changes"] == [] and [r["verdict"] for r in doc["runs"]] == ["pass"]
    lines = err.splitlines()
    assert lines and all(line.startswith("zonesim bisect:") for line in lines)
    assert "alloc-free, timeline x v5.19" in err
    assert lines[-1].startswith("zonesim bisect: done")
    rc, _, err = run(str(SMALL), "--executions", "8", "--artifacts", str(tmp_path), "-q")
    assert rc == 0 and err == ""


def test_help_names_every_default() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["bisect", "--help"])
    text = " ".join(out.getvalue().split())
    for option in ("--executions", "--seed", "--artifacts", "--json", "--quiet",
                   "--progress-every"):
        assert option in text
    assert text.count("(default:") >= 6


@pytest.mark.parametrize("args, expected", [
    (["missing.toml"], "missing.toml"),
    ([FOREIGN, "--executions", "0"], "--executions: expected a positive integer"),
    ([FOREIGN, "--executions", "many"], "--executions: invalid int value"),
    ([], "the following arguments are required: SCENARIO"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str) -> None:
    rc, out, err = run(*args)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and expected in err


def test_a_broken_scenario_names_its_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[scenario]\nname = "broken"\nsummary = "s"\n[zone]\npages = "many"\n')
    rc, _, err = run(str(bad), "--artifacts", str(tmp_path))
    assert rc == 2 and err.count("\n") == 1 and str(bad) in err and "pages" in err
