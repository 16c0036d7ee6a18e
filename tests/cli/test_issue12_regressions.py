"""Issue 12's first list, case by case: each broke (traceback, hang, runaway memory, a lost
result, a wrong exit code) and each has its test here, named after the case, checking the
one-line exit 2 or the documented behaviour. Signals (Ctrl-C, SIGTERM) are in
test_signals.py; the library side of the limits in tests/scenario/test_limits.py."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from issue12 import (
    ALLOC_FREE,
    FOREIGN,
    ROOT,
    cli,
    copy_artifact,
    found_artifact,
    in_small_tmpfs,
    subprocess_cli,
    unshare_works,
)

from zonesim.engine import Engine
from zonesim.policy import parse_policy
from zonesim.scenario import load_scenario
from zonesim.scenario.limits import DEFAULT_MAX_STEPS, memory_estimate
from zonesim.sched import RandomStrategy, encode, parse_schedule, preemptions

MiB = 1 << 20


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return found_artifact(tmp_path_factory.mktemp("found"))


def _scenario(tmp_path: Path, name: str, replace: tuple[str, str] | None = None,
              source: Path = ALLOC_FREE) -> Path:
    text = source.read_text().replace(f'name = "{source.stem}"', f'name = "{name}"')
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    f = tmp_path / f"{name}.toml"
    f.write_text(text)
    return f


def _fingerprint(scenario: Path = ALLOC_FREE, policy: str = "v5.15") -> str:
    return Engine(load_scenario(scenario), parse_policy(policy)).fingerprint


# -- zone size -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "explore", "show"])
def test_zone_pages_268435456_documented_maximum(command: str, tmp_path: Path) -> None:
    """Was: MemoryError (exit 3)."""
    f = _scenario(tmp_path, "huge", ("pages = 1024", "pages = 268435456"))
    ran = cli(command, f, measure=True)
    assert ran.one_line_error(), ran.err
    assert ran.err.startswith(f"{f}: zone.pages: ") and "memory limit of 2.0 GiB" in ran.err
    assert ran.peak < 16 * MiB


def test_zone_pages_2_pow_26(tmp_path: Path) -> None:
    """Was: 2.6 GB and minutes."""
    f = _scenario(tmp_path, "big", ("pages = 1024", f"pages = {1 << 26}"))
    ran = cli("explore", f, "--executions", "1", measure=True)
    assert ran.one_line_error() and "zone.pages" in ran.err, ran.err
    assert ran.peak < 16 * MiB and ran.seconds < 10


def test_show_pages_1000000000_skipped_the_cap() -> None:
    """Was: 141 s and 19.6 GB, exit 0."""
    ran = cli("show", "--pages", "1000000000", measure=True)
    assert ran.one_line_error(), ran.err
    # the estimate is the model's own figure (BYTES_PER_PAGE follows the zone's layout)
    need = memory_estimate(1_000_000_000, 2, DEFAULT_MAX_STEPS)
    assert need > 40 << 30
    assert ran.err.startswith("1000000000 pages with 2 cpus")
    assert f"{need / (1 << 30):.1f} GiB" in ran.err
    assert ran.peak < 16 * MiB and ran.seconds < 10


# -- schedule counts -------------------------------------------------------------------------


def test_run_schedule_count_of_20_digits_was_overflow_error() -> None:
    ran = cli("run", ALLOC_FREE, "--schedule",
              f"zs1:{_fingerprint()}:cpu0*99999999999999999999", measure=True)
    assert ran.one_line_error(), ran.err
    assert ran.err.startswith("--schedule: ") and "expected a count 1..999999999" in ran.err
    assert ran.peak < 4 * MiB


def test_run_schedule_cpu0_times_999999999_was_memory_error() -> None:
    # checked against the execution's own step bound before anything is expanded
    ran = cli("run", ALLOC_FREE, "--schedule", f"zs2:{_fingerprint()}:cpu0*999999999",
              measure=True)
    assert ran.one_line_error(), ran.err
    assert "more than 100000 decisions" in ran.err
    assert ran.peak < 4 * MiB


def test_artifact_with_cpu0_times_99999999_took_1_6_gb(artifact: Path, tmp_path: Path) -> None:
    fp = json.loads(artifact.read_text())["fingerprint"]
    edited = copy_artifact(artifact, tmp_path, schedule=f"zs2:{fp}:cpu0*99999999")
    for command in ("replay", "shrink", "report", "log"):
        args = [command, edited] + (["--format", "ftrace"] if command == "log" else [])
        ran = cli(*args, measure=True)
        assert ran.one_line_error(), (command, ran.err)
        assert ran.err.startswith(f"{edited}: schedule: ") and "decisions" in ran.err
        assert ran.peak < 8 * MiB, command


# -- long legal loops and absurd counts ---------------------------------------------------------


@pytest.mark.slow
def test_repeat_times_100000_is_not_a_livelock(tmp_path: Path) -> None:
    """Was: every execution ran into the fixed step bound of 100000, was reported as a
    suspected livelock, and shrinking re-ran 100k-step executions (> 300 s). Now the step
    bound follows the scenario's ops: the execution runs to its end and passes."""
    f = _scenario(tmp_path, "long-loop", (
        'ops = [ { op = "alloc", order = 0, type = "movable", as = "a" },\n'
        '        { op = "free", ref = "a" } ]',
        'ops = [ { op = "repeat", times = 100000, ops = [\n'
        '          { op = "alloc", order = 0, type = "movable", as = "a" },\n'
        '          { op = "free", ref = "a" } ] } ]'))
    ran = cli("explore", f, "--executions", "1", "--artifacts", tmp_path, "--json", "-q")
    assert ran.code == 0, ran.err
    doc = ran.json()
    assert doc["violations"] == [] and doc["steps"] > 100_000


def test_explore_depth_1000000000_grew_4_mb_per_second() -> None:
    ran = cli("explore", ALLOC_FREE, "--depth", "1000000000", "--executions", "3",
              measure=True)
    assert ran.one_line_error(), ran.err
    assert ran.err.startswith("--depth: expected an integer 1..")
    assert ran.peak < 8 * MiB


@pytest.mark.parametrize(("args", "needle"), [
    (["explore", str(ALLOC_FREE), "--time", "nan"], "--time: expected a finite number"),
    (["explore", str(ALLOC_FREE), "--time", "inf"], "--time: expected a finite number"),
    (["matrix", str(ALLOC_FREE), "--seconds", "nan"], "--seconds: expected a finite number"),
    (["show", "--pages", "4096", "--start-pfn", str(10**31)], "--start-pfn: expected an "
     "integer 0..1099511627776"),
    (["explore", str(ALLOC_FREE), "--max-steps", "99999999999"], "--max-steps: expected"),
    (["explore", str(ALLOC_FREE), "--executions", str(10**13)], "--executions: expected"),
])
def test_time_nan_seconds_nan_start_pfn_10_31_were_accepted(args: list[str],
                                                            needle: str) -> None:
    ran = cli(*args)
    assert ran.one_line_error() and ran.err.startswith(needle), ran.err


# -- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (["run", str(ALLOC_FREE), "--log", "DIR"], "--log DIR: expected a file, got a directory"),
    (["run", str(ALLOC_FREE), "--log", "/nonexistent/dir/x.jsonl"],
     "--log /nonexistent/dir/x.jsonl: no such directory /nonexistent/dir"),
    (["run", str(ALLOC_FREE), "--log", "/proc/version"],
     "--log /proc/version: cannot create a file in /proc"),
    (["explore", str(ALLOC_FREE), "--artifacts", "/etc/hostname"],
     "--artifacts /etc/hostname: expected a directory, got a file"),
    (["explore", str(ALLOC_FREE), "--artifacts", "/proc/nope"],
     "--artifacts /proc/nope: cannot create files in /proc"),
    (["explore", str(ALLOC_FREE), "--artifacts", "/etc/hostname/sub"],
     "--artifacts /etc/hostname/sub: expected a directory, but /etc/hostname is a file"),
    (["matrix", str(ALLOC_FREE), "--artifacts", "/proc/nope"], "--artifacts /proc/nope"),
    (["report", "ARTIFACT", "-o", "/proc/nope.html"], "-o /proc/nope.html: cannot create"),
    (["log", "ARTIFACT", "-o", "DIR"], "-o DIR: expected a file, got a directory"),
])
def test_log_and_artifacts_paths_were_tracebacks(args: list[str], needle: str, tmp_path: Path,
                                                 artifact: Path) -> None:
    """Was: tracebacks, or a whole exploration before the path was looked at. Now the
    path is checked before any work: exit 2, one line, nothing run."""
    args = [str(tmp_path) if a == "DIR" else str(artifact) if a == "ARTIFACT" else a
            for a in args]
    needle = needle.replace("DIR", str(tmp_path))
    ran = cli(*args)
    assert ran.one_line_error() and ran.err.startswith(needle), ran.err
    assert ran.out == "" and ran.seconds < 5


def test_read_only_artifacts_folder_eacces_was_exit_3(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: exit 3 after the exploration, the whole result lost. Now: exit 2 before any
    work. A folder of mode 0555; as root (who writes anywhere) the kernel's EACCES is
    injected where zonesim asks for a new file."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:
        real = tempfile.mkstemp

        def denied(*args: Any, **kwargs: Any) -> tuple[int, str]:
            if Path(kwargs.get("dir") or ".") == ro:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            return real(*args, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", denied)
    ran = cli("explore", FOREIGN, "--policy", "v5.19", "--artifacts", ro, "--json", "-q")
    assert ran.one_line_error(), ran.err
    assert ran.err == f"--artifacts {ro}: cannot create files in {ro}: Permission denied\n"
    assert ran.out == ""


needs_unshare = pytest.mark.skipif(not unshare_works(),
                                   reason="no user+mount namespace (unshare -rm) here")


@needs_unshare
def test_read_only_artifacts_folder_erofs_was_exit_3(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    py = sys.executable
    r = in_small_tmpfs(f"mount -o remount,ro {mnt} && cd {ROOT} && {py} -m zonesim explore "
                       f"{FOREIGN} --policy v5.19 --artifacts {mnt} --json -q", mnt)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "Read-only file system" in r.stderr and r.stdout == ""


@needs_unshare
def test_full_artifacts_folder_enospc_lost_the_result(tmp_path: Path) -> None:
    """Was: exit 3, the result lost. Now: the result (text and --json) reaches stdout, the
    unwritten artifact is one line naming it and the reason; exit 1 (violation found)."""
    mnt = tmp_path / "mnt"
    py = sys.executable
    fill = f"(cat /dev/zero > {mnt}/fill 2>/dev/null; true)"
    explore = (f"{py} -m zonesim explore {FOREIGN} --policy v5.19 --strategy dfs "
               f"--executions 50 --artifacts {mnt} -q")
    r = in_small_tmpfs(f"{fill} && cd {ROOT} && {explore} --json", mnt, size="64k")
    assert r.returncode == 1, r.stderr
    [found] = json.loads(r.stdout)["violations"]
    assert found["artifact"] is None and "No space left on device" in found["artifact_error"]
    assert found["schedule"].startswith("zs2:")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("zonesim explore: not written: 1 artifact(s) not written (")
    text = in_small_tmpfs(f"{fill} && cd {ROOT} && {explore}", mnt, size="64k")
    assert text.returncode == 1 and "VIOLATION cma_pageblocks" in text.stdout
    assert "  replay   zonesim run " in text.stdout  # the schedule string replays it
    assert text.stderr.count("\n") == 1


def test_full_disk_artifact_in_process_keeps_the_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, by fault injection (fsync says ENOSPC): runs everywhere."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    ran = cli("explore", FOREIGN, "--policy", "v5.19", "--strategy", "dfs", "--executions",
              "50", "--artifacts", tmp_path, "--json", "-q")
    assert ran.code == 1
    [found] = ran.json()["violations"]  # type: ignore[misc]
    assert found["artifact"] is None and found["artifact_error"].endswith(
        ": No space left on device")
    assert ran.err.count("\n") == 1 and "not written" in ran.err
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_run_log_on_a_full_disk_left_a_0_byte_log(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """/dev/full: writing fails with ENOSPC. The result still reaches stdout, one line
    names the log, and the exit code is not 0."""
    ran = cli("run", ALLOC_FREE, "--log", "/dev/full")
    assert ran.code == 2 and "ok: " in ran.out, ran.err
    assert ran.err == "zonesim run: not written: --log /dev/full: No space left on device\n"
    with_json = cli("run", ALLOC_FREE, "--log", "/dev/full", "--json")
    assert with_json.code == 2 and with_json.json()["violation"] is None
    # a regular log on a full disk: written atomically, the previous log is kept whole
    log = tmp_path / "run.jsonl"
    log.write_text('{"event": "previous"}\n')

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    ran = cli("run", ALLOC_FREE, "--log", log)
    assert ran.code == 2 and "ok: " in ran.out
    assert log.read_text() == '{"event": "previous"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


@needs_unshare
def test_run_log_on_a_full_tmpfs_keeps_the_previous_log(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    py = sys.executable
    r = in_small_tmpfs(
        f"echo previous > {mnt}/run.jsonl && (cat /dev/zero > {mnt}/fill 2>/dev/null; true)"
        f" && {py} -m zonesim run {ALLOC_FREE} --log {mnt}/run.jsonl; echo rc=$?;"
        f" cat {mnt}/run.jsonl", mnt, size="64k")
    out = r.stdout.splitlines()
    assert "rc=2" in out and out[-1] == "previous", r.stdout + r.stderr
    assert "ok: " in r.stdout
    assert r.stderr.count("\n") == 1 and "No space left on device" in r.stderr


def test_run_log_dev_null_is_written_in_place() -> None:
    # a device is written, never replaced by a rename (we may be root)
    ran = cli("run", ALLOC_FREE, "--log", "/dev/null")
    assert ran.code == 0 and ran.err == ""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- replay that verifies -----------------------------------------------------------------------


def test_replay_never_compared_the_trace_hash(artifact: Path, tmp_path: Path) -> None:
    """Was: an artifact with "trace_hash": "x" reported reproduced: true."""
    damaged = copy_artifact(artifact, tmp_path, trace_hash="x")
    ran = cli("replay", damaged)
    assert ran.one_line_error(), ran.err
    assert ran.err == f"{damaged}: trace_hash: expected 32 hex digits (what zonesim " \
                      "records), got 'x'\n"
    other = copy_artifact(artifact, tmp_path, trace_hash="0" * 32)
    ran = cli("replay", other, "--json")
    assert ran.code == 1, ran.err
    doc = ran.json()
    assert doc["reproduced"] is False and doc["differs"] == ["trace_hash"]
    ran = cli("replay", other)
    assert ran.code == 1
    assert ran.out.splitlines()[-1] == (
        f"NOT reproduced: trace_hash differs: expected {'0' * 32}, got "
        f"{json.loads(artifact.read_text())['trace_hash']}")


def test_replay_accepted_schedule_steps_after_the_failure(artifact: Path,
                                                          tmp_path: Path) -> None:
    doc = json.loads(artifact.read_text())
    tokens, *labels = doc["schedule"].split("~")
    edited = copy_artifact(artifact, tmp_path,
                           schedule="~".join([tokens + ".cpu0.cpu1*2", *labels]))
    n = len(parse_schedule(doc["schedule"]).values)
    for command in ("replay", "shrink"):
        ran = cli(command, edited)
        assert ran.one_line_error(), ran.err
        assert ran.err.startswith(f"{edited}: schedule: expected a schedule this scenario "
                                  f"follows; schedule diverged at decision {n} of {n + 3}")
        assert "3 recorded decisions were not used" in ran.err


def test_replay_of_another_invariant_printed_violation_and_exited_0(artifact: Path,
                                                                   tmp_path: Path) -> None:
    other = copy_artifact(artifact, tmp_path, violation={"invariant": "I2_nr_free_pages",
                                                         "message": "edited"})
    ran = cli("replay", other)
    assert ran.code == 1
    assert ran.out.splitlines()[-1].startswith(
        "NOT reproduced: invariant differs: expected I2_nr_free_pages, got cma_pageblocks")
    ran = cli("replay", other, "--json")
    assert ran.code == 1 and ran.json()["differs"] == ["invariant"]
    assert cli("replay", artifact).code == 0  # the real one verifies


def test_replay_checks_the_fingerprint(artifact: Path, tmp_path: Path) -> None:
    doc = json.loads(artifact.read_text())
    fp = doc["fingerprint"]
    field = copy_artifact(artifact, tmp_path, fingerprint="0123456789abcdef")
    ran = cli("replay", field)
    assert ran.one_line_error() and ran.err.startswith(f"{field}: fingerprint: "), ran.err
    both = copy_artifact(artifact, tmp_path, fingerprint="0123456789abcdef",
                         schedule=doc["schedule"].replace(fp, "0123456789abcdef"))
    ran = cli("replay", both)
    assert ran.one_line_error() and "schedule fingerprint 0123456789abcdef does not match" \
        in ran.err, ran.err


def test_shrink_said_rewritten_when_nothing_changed_and_exited_1(artifact: Path,
                                                                tmp_path: Path) -> None:
    mine = tmp_path / "a.json"
    shutil.copy(artifact, mine)
    before = mine.read_bytes()
    ran = cli("shrink", mine)
    assert ran.code == 0, ran.err
    n = len(parse_schedule(json.loads(before)["schedule"]).values)
    assert ran.out == f"already minimal: 1 preemptions / {n} decisions; {mine} unchanged\n"
    assert mine.read_bytes() == before
    ran = cli("shrink", mine, "--json")
    assert ran.code == 0 and ran.json()["changed"] is False


def test_shrink_rewrites_and_exits_0_when_it_shrinks(tmp_path: Path) -> None:
    """A schedule with a needless preemption: shrink removes it and says so."""
    f = tmp_path / "cma-b-partial-isolation.toml"
    shutil.copy(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml", f)
    ran = cli("explore", f, "--policy", "rfc-v1", "--artifacts", tmp_path, "--json", "-q")
    artifact = Path(ran.json()["violations"][0]["artifact"])  # type: ignore[index]
    doc = json.loads(artifact.read_text())
    # cma-b fails under rfc-v1 with no preemption at all; a random schedule that preempts
    # and still fails the same way is one shrinking can cut down.
    engine = Engine(load_scenario(f), parse_policy("rfc-v1"))
    for seed in range(200):
        strategy = RandomStrategy(seed)
        strategy.begin_execution()
        worse = engine.run(strategy, tracing=True)
        v = worse.violation
        if v is not None and v.invariant == doc["violation"]["invariant"] and preemptions(
                worse.choices) >= 1:
            break
    else:
        raise AssertionError("no random schedule with a preemption fails cma-b")
    edited = copy_artifact(artifact, tmp_path,
                           schedule=encode(worse.choices, engine.fingerprint),
                           trace_hash=worse.trace_hash)
    ran = cli("shrink", edited)
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"shrunk {preemptions(worse.choices)} preemptions / ")
    assert ran.out.endswith(" -> 0 / 3; " + f"{edited} rewritten\n"), ran.out
    assert cli("replay", edited).code == 0  # the rewritten artifact verifies


def test_shrink_attempts_minus_1_was_accepted(artifact: Path) -> None:
    ran = cli("shrink", artifact, "--attempts", "-1")
    assert ran.one_line_error(), ran.err
    assert ran.err == "--attempts: expected an integer 1..1048576, got -1\n"


# -- artifact names and modes -----------------------------------------------------------------


def test_two_scenarios_with_the_same_name_overwrote_each_others_artifact(
        tmp_path: Path) -> None:
    """Two files named foreign-undo.toml in two folders, one with a comment more: two
    artifacts, each replaying its own scenario."""
    arts = tmp_path / "arts"
    made = []
    for folder, extra in (("a", ""), ("b", "# a comment\n")):
        (tmp_path / folder).mkdir()
        f = tmp_path / folder / FOREIGN.name
        f.write_text(FOREIGN.read_text() + extra)
        ran = cli("explore", f, "--policy", "v5.19", "--strategy", "dfs", "--artifacts",
                  arts, "--json", "-q")
        assert ran.code == 1
        made.append(ran.json()["violations"][0]["artifact"])  # type: ignore[index]
    assert made[0] != made[1]
    assert sorted(str(p) for p in arts.iterdir()) == sorted(made)
    for a in made:
        doc = json.loads(Path(a).read_text())
        assert Path(doc["scenario"]).parent.name in ("a", "b")
        assert cli("replay", a).code == 0


def test_two_explores_at_once_overwrote_each_others_artifact(tmp_path: Path) -> None:
    """Two explores at once into one folder: different findings get different files, the
    same finding the same file, always whole (written atomically)."""
    arts = tmp_path / "arts"
    scenarios = []
    for n in range(2):
        f = tmp_path / str(n) / FOREIGN.name
        f.parent.mkdir()
        f.write_text(FOREIGN.read_text() + f"# run {n}\n")
        scenarios += [f, f]  # each twice: two runs of the same finding at the same time
    results: list[subprocess.CompletedProcess[str]] = []

    def go(f: Path) -> None:
        results.append(subprocess_cli("explore", f, "--policy", "v5.19", "--strategy",
                                      "dfs", "--artifacts", arts, "--json", "-q"))

    threads = [threading.Thread(target=go, args=(f,)) for f in scenarios]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [1, 1, 1, 1], [r.stderr for r in results]
    names = {json.loads(r.stdout)["violations"][0]["artifact"] for r in results}
    assert len(names) == 2 and sorted(str(p) for p in arts.iterdir()) == sorted(names)
    for a in names:
        assert cli("replay", a).code == 0


def test_artifacts_were_created_mode_0600(artifact: Path, tmp_path: Path) -> None:
    assert stat.S_IMODE(artifact.stat().st_mode) == 0o644
    log = tmp_path / "run.jsonl"
    assert cli("run", ALLOC_FREE, "--log", log).code == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o644
    mine = tmp_path / "a.json"
    shutil.copy(artifact, mine)
    html = tmp_path / "a.html"
    assert cli("report", mine, "-o", html).code == 0
    assert stat.S_IMODE(html.stat().st_mode) == 0o644
