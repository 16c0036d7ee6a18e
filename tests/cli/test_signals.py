"""Ctrl-C, SIGTERM and SIGKILL during explore and matrix, on real child processes (issue
12, item 3). Was: Ctrl-C exited 1 with a BaseExceptionGroup traceback and no summary.

Now a SIGINT or SIGTERM stops the run after the execution in progress (the engine's batch
and the worker pool, zonesim.coordinator; SIGTERM is delivered as SIGINT,
zonesim.cli.signals): exit 130, the summary of what finished on stdout (text or --json with
"interrupted": true), one line on stderr, every artifact written so far kept. SIGKILL
cannot be handled; whatever artifacts it leaves are whole (written to a temp file and
renamed) and replay.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from issue12 import FOREIGN, ROOT, cli

SEED = ROOT / "scenarios" / "seed"


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test() -> Iterator[None]:
    """A failed test must not leave a 100000-execution matrix running: it would starve
    every test after it (CI saw timeouts that way)."""
    yield
    while _STARTED:
        p = _STARTED.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


def start(*args: str | Path, cwd: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    out, err = cwd / "stdout", cwd / "stderr"
    p = subprocess.Popen([sys.executable, "-m", "zonesim", *map(str, args)], cwd=cwd,
                         stdout=out.open("w"), stderr=err.open("w"), text=True)
    _STARTED.append(p)
    return p, out, err


def wait_for(what: Callable[[], bool], p: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert p.poll() is None, "the run ended before the signal could be sent"
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


def artifacts(d: Path) -> list[Path]:
    return sorted(d.glob("*.json")) if d.is_dir() else []


def progress_lines(err: Path) -> int:
    return sum(1 for line in err.read_text().splitlines() if " executions," in line)


def found_one(err: Path) -> bool:
    """The progress display has counted a violation (explore writes the artifacts of the
    findings once the executions stop: on the interrupt too)."""
    return any(" 1 violation(s)," in line for line in err.read_text().splitlines())


def assert_all_replay(d: Path) -> None:
    for a in artifacts(d):
        ran = cli("replay", a, "--json")
        assert ran.code == 0 and ran.json()["reproduced"] is True, (a, ran.out, ran.err)


def explore_args(arts: Path) -> list[str | Path]:
    """A run that finds its violation early (an artifact) and then goes on for minutes."""
    return ["explore", FOREIGN, "--policy", "v5.19", "--strategy", "random", "--keep-going",
            "--executions", "1000000", "--artifacts", arts, "--progress-every", "0.1"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_explore_stops_on_sigint_and_sigterm_with_its_summary(sig: signal.Signals,
                                                              tmp_path: Path) -> None:
    arts = tmp_path / "arts"
    p, out, err = start(*explore_args(arts), "--json", cwd=tmp_path)
    wait_for(lambda: found_one(err) and progress_lines(err) >= 3, p)
    p.send_signal(sig)
    assert p.wait(timeout=120) == 130, err.read_text()
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["executions"] > 0
    [found] = doc["violations"]
    assert (tmp_path / found["artifact"]).is_file()
    last = err.read_text().splitlines()[-1]
    assert last == (f"zonesim explore: interrupted by {sig.name}; the summary covers the "
                    f"{doc['executions']} execution(s) that finished; every artifact "
                    "written is kept")
    assert "Traceback" not in err.read_text()
    assert_all_replay(arts)


@pytest.mark.slow
def test_explore_text_summary_on_sigint(tmp_path: Path) -> None:
    arts = tmp_path / "arts"
    p, out, err = start(*explore_args(arts), cwd=tmp_path)
    wait_for(lambda: found_one(err) and progress_lines(err) >= 3, p)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=120) == 130
    text = out.read_text()
    assert "violation: cma_pageblocks (interrupted)" in text
    assert "VIOLATION cma_pageblocks" in text and "replay   zonesim replay " in text
    assert_all_replay(arts)


@pytest.mark.slow
def test_matrix_stops_on_sigint_with_the_cells_that_finished(tmp_path: Path) -> None:
    """rfc-v1 fails the first seed cases within a few executions; v5.15 runs its cells
    to the budget. Interrupted after two artifacts: those cells keep their verdicts."""
    arts = tmp_path / "arts"
    p, out, err = start("matrix", SEED, "--policy", "rfc-v1", "--policy", "v5.15",
                        "--executions", "100000", "--artifacts", arts, "--json",
                        "--progress-every", "0.1", cwd=tmp_path)
    wait_for(lambda: len(artifacts(arts)) >= 2, p)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=120) == 130, err.read_text()
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    cells = [c for row in doc["rows"] for c in row["cells"].values()]
    done = [c for c in cells if c["verdict"] is not None]
    assert len(artifacts(arts)) >= 2 and len(done) >= 2 and len(done) < len(cells)
    written = {c["artifact"] for c in done if c["artifact"]}
    assert {str(a) for a in artifacts(arts)} >= written
    assert err.read_text().splitlines()[-1].startswith(
        "zonesim matrix: interrupted by SIGINT; the table shows the ")
    assert_all_replay(arts)


@pytest.mark.slow
def test_two_sigints_in_a_row_still_end_with_the_summary(tmp_path: Path) -> None:
    arts = tmp_path / "arts"
    p, out, err = start(*explore_args(arts), "--json", cwd=tmp_path)
    wait_for(lambda: progress_lines(err) >= 3, p)
    p.send_signal(signal.SIGINT)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=120) == 130
    assert "Traceback" not in err.read_text()
    assert json.loads(out.read_text())["interrupted"] is True
    assert_all_replay(arts)


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.slow
def test_sigterm_with_a_worker_pool_leaves_no_worker_behind(workers: str,
                                                            tmp_path: Path) -> None:
    """The pool's workers end quietly (no traceback from a forked worker) and the summary
    covers what finished."""
    arts = tmp_path / "arts"
    p, out, err = start(*explore_args(arts), "--json", "--workers", workers, cwd=tmp_path)
    wait_for(lambda: progress_lines(err) >= 3, p)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) == 130, err.read_text()
    assert "Traceback" not in err.read_text()
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["executions"] > 0
    assert err.read_text().splitlines()[-1].startswith("zonesim explore: interrupted by "
                                                       "SIGTERM; the summary covers")
    assert_all_replay(arts)


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_only_whole_artifacts(tmp_path: Path) -> None:
    """SIGKILL a matrix at moments drawn from a fixed seed, counted from when it started
    exploring (the first progress line; the last run from its first artifact, so that
    some artifact is always there to check): every artifact left replays -- a
    half-written one never appears under its name."""
    moments = [random.Random(12).uniform(0.0, 3.0) for _ in range(3)]
    seen = 0
    for n, moment in enumerate(moments):
        work = tmp_path / str(n)
        work.mkdir()
        arts = work / "arts"
        p, _, err = start("matrix", SEED, "--policy", "rfc-v1", "--policy", "proposal",
                          "--executions", "100000", "--artifacts", arts,
                          "--progress-every", "0.1", cwd=work)
        if n == len(moments) - 1:
            wait_for(lambda arts=arts: bool(artifacts(arts)), p)  # type: ignore[misc]
        else:
            wait_for(lambda err=err: progress_lines(err) >= 1, p)  # type: ignore[misc]
        time.sleep(moment)
        p.kill()
        p.wait(timeout=60)
        assert_all_replay(arts)
        seen += len(artifacts(arts))
    assert seen > 0
