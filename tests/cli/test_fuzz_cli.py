"""The reliability attack of issue 12 as a test suite: Hypothesis draws broken scenario
documents, damaged artifacts, edited schedule strings and odd command lines, and every
case must end the way the input contract says (DESIGN.md §8):

- exit code 0, 1 or 2 (never 3, never a traceback);
- exit 2 with exactly one line on stderr;
- within a bounded wall time, and within a bounded peak memory: in-process the process's
  high-water mark (ru_maxrss) stays under ``RSS_LIMIT``; a subset runs in child processes
  whose address space is capped (RLIMIT_AS), so a runaway allocation is a MemoryError
  there, which would be exit 3.

The CLI runs in-process for speed (``issue12.cli``). Example counts are scaled by
``ZONESIM_FUZZ_SCALE`` (default 1: 1,176 cases, about 1.5 minutes on 2 cores, marked slow:
CI runs them, ``-m "not slow"`` does not); derandomized (tests/conftest.py), so the cases
are the same on every run. ``--hypothesis-profile=random`` draws new ones. The value pools
hold odd values (NaN, infinities, negatives, absurd sizes, wrong types, special files) and
small legal ones -- not legal-but-huge ones (a 2^24-page zone is accepted by the limits
and takes seconds per execution: a benchmark, not a fuzz case).
"""

from __future__ import annotations

import copy
import json
import os
import resource
import shutil
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from issue12 import ALLOC_FREE, CMA_B, FOREIGN, ROOT, Ran, cli, found_artifact, subprocess_cli

SCALE = max(1, int(os.environ.get("ZONESIM_FUZZ_SCALE", "1")))
CASE_SECONDS = 30.0  # a case that takes longer is a hang
RSS_LIMIT = 1536 << 20  # the test process's high-water mark: far below a runaway
CHILD_ADDRESS_SPACE = 3 << 30  # zonesim's memory limit (2 GiB) plus the interpreter
PASS_DIR = ROOT / "tests" / "matrix" / "data" / "pass"


def fuzz_settings(n: int) -> settings:
    # nested_given: `explore --strategy hypothesis` runs Hypothesis inside this test (the
    # check is the outer test's to waive)
    return settings(max_examples=n * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.nested_given])


def check(ran: Ran, what: object) -> None:
    """The contract for one case."""
    assert ran.code in (0, 1, 2), (what, ran.code, ran.err[-3000:])
    assert "Traceback" not in ran.err, (what, ran.err[-3000:])
    if ran.code == 2:
        assert ran.err.count("\n") == 1 and ran.err.endswith("\n"), (what, ran.err)
    assert ran.seconds < CASE_SECONDS, (what, ran.seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert rss < RSS_LIMIT, (what, rss)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files the cases point at: a real artifact, a directory, a FIFO, a file."""
    d = tmp_path_factory.mktemp("fuzz")
    artifact = found_artifact(d / "found")
    fifo = d / "fifo"
    os.mkfifo(fifo)
    (d / "file.txt").write_text("not a scenario\n")
    (d / "out").mkdir()
    return {"dir": d, "artifact": artifact, "fifo": fifo, "file": d / "file.txt",
            "out": d / "out"}


# -- odd values -----------------------------------------------------------------------------

ODD_NUMBERS = ["0", "-1", "1", "2", "3", "nan", "-nan", "inf", "-inf", "1e308", "1e-300",
               "-0", "0.5", "2147483648", "9223372036854775808", str(10**31),
               "9" * 5000, "0x10", "1_000", " 1", "", "one", "½", "1e3"]
ODD_TEXT = ["", "-", "--", "x", "v5.15", "v5.19 -86d28b070927", "v9.99", "v5.15 +bogus",
            "\u00e9\u4e2d", "a b", "-q", "--json", "zs2:", "%s", "..", "/", "\t"]


def input_paths(work: dict[str, Path]) -> st.SearchStrategy[str]:
    """What a command may be asked to read: special files, directories, a FIFO (reading
    it would block), files of the wrong kind."""
    return st.sampled_from([
        "/nonexistent/dir/x", "/proc/nope", "/proc/version", "/dev/null", "/dev/zero",
        "/etc/hostname", "/etc/hostname/sub", str(work["dir"]), str(work["fifo"]),
        str(work["file"]), str(work["out"]), str(work["artifact"]), str(ALLOC_FREE),
        str(FOREIGN), "", "\u00e9.toml",
    ])


def output_paths(work: dict[str, Path]) -> st.SearchStrategy[str]:
    """What a command may be asked to write (never a file of the repository or the
    system: the cases run as whoever runs the tests, root included)."""
    return st.sampled_from([
        "/nonexistent/dir/x", "/proc/nope", "/proc/version", "/dev/null", "/dev/full",
        "/etc/hostname/sub", "/", str(work["dir"]), str(work["fifo"]), str(work["file"]),
        str(work["out"]), str(work["out"] / "x.json"), "", "new-\u00e9.jsonl",
    ])


# -- command lines ---------------------------------------------------------------------------

OPTIONS: dict[str, list[str]] = {
    "run": ["--policy", "--strategy", "--seed", "--schedule", "--log", "--with", "--without"],
    "explore": ["--policy", "--strategy", "--seed", "--time", "--depth",
                "--preemption-bound", "--max-steps", "--artifacts", "--keep-going",
                "--with", "--without", "--progress-every", "--workers"],
    "show": ["--pages", "--start-pfn", "--pageblock-order", "--max-order", "--cpus",
             "--format", "--policy"],
    "matrix": ["--policy", "--seconds", "--seed", "--check", "--artifacts", "--workers"],
    "replay": [],
    "shrink": ["--attempts"],
    "report": ["-o"],
    "log": ["--cpu", "--pfn", "--event", "--steps", "--format", "-o"],
    "scenarios": [],
    "policies": [],
    "schema": [],
}
# Legal values per option: drawn more often than the odd ones, so that the cases get past
# argument parsing into the runs, the replays and the files they write.
LEGAL: dict[str, list[str]] = {
    "--policy": ["v5.15", "v5.19", "rfc-v1", "proposal", "v5.19 -86d28b070927"],
    "--strategy": ["random", "pct", "dfs", "hypothesis"],
    "--seed": ["0", "1", "7", str(2**40)],
    "--time": ["1", "0.5", "5"],
    "--depth": ["1", "2", "3", "10"],
    "--preemption-bound": ["0", "1", "2"],
    "--max-steps": ["5", "1000", "100000"],
    "--progress-every": ["0", "5"],
    "--pages": ["512", "1024", "4096"],
    "--start-pfn": ["0", "1", "1000"],
    "--pageblock-order": ["3", "9"],
    "--max-order": ["4", "11"],
    "--cpus": ["1", "2", "4"],
    "--format": ["buddyinfo", "pagetypeinfo", "zoneinfo", "map", "text", "jsonl",
                 "perfetto", "ftrace"],
    "--seconds": ["0", "1"],
    "--attempts": ["1", "10"],
    "--cpu": ["cpu0", "cpu1", "cpu9"],
    "--pfn": ["0x600", "0-100", "100-0", "0x600-0x9ff"],
    "--event": ["free_pages", "alloc_contig_range", "nope"],
    "--steps": ["1-10", "5", "10-1"],
    "--with": ["86d28b070927", "1dd214b8f21c", "bogus"],
    "--without": ["86d28b070927", "b2c9e2fbba32", "bogus"],
    "--workers": ["1", "2"],
}
FLAGS = {"--keep-going", "--check"}
PATH_OPTIONS = {"--log", "--artifacts", "-o"}
SMALL_EXECUTIONS = ["1", "2", "3"] * 3 + ["0", "-1", "nan", str(10**13), "x"]


@st.composite
def command_lines(draw: st.DrawFn, work: dict[str, Path]) -> list[str]:
    cmd = draw(st.sampled_from(sorted(OPTIONS)))
    argv = [cmd]
    legal = draw(st.integers(0, 3)) > 0  # legal targets three times out of four
    if cmd in ("run", "explore", "show"):
        target = (draw(st.sampled_from([str(ALLOC_FREE), str(FOREIGN), str(CMA_B)]))
                  if legal else draw(input_paths(work)))
        if cmd != "show" or draw(st.booleans()):
            argv.append(target)
    elif cmd in ("matrix", "scenarios"):
        # directories are searched recursively: the small ones only (scanning / is a
        # legal request that takes minutes, not a fuzz case)
        argv.append(draw(st.sampled_from([str(ALLOC_FREE), str(PASS_DIR), str(work["out"]),
                                          str(work["file"]), "/nonexistent/dir",
                                          "/proc/nope", str(work["fifo"])])))
    elif cmd in ("replay", "shrink", "report", "log"):
        argv.append(str(work["artifact"]) if legal else draw(input_paths(work)))
    chosen = draw(st.lists(st.sampled_from(OPTIONS[cmd]), max_size=3)) if OPTIONS[cmd] else []
    for option in chosen:
        argv.append(option)
        if option in FLAGS:
            continue
        if option in PATH_OPTIONS:
            argv.append(draw(output_paths(work)) if not draw(st.integers(0, 2)) else
                        str(work["out"] / draw(st.sampled_from(["a.jsonl", "b.html", "c"]))))
        elif option == "--schedule":
            argv.append(draw(schedule_strings()))
        elif draw(st.integers(0, 3)):  # three legal values for one odd one
            argv.append(draw(st.sampled_from(LEGAL[option])))
        else:
            argv.append(draw(st.sampled_from(ODD_NUMBERS + ODD_TEXT)))
    if cmd in ("explore", "matrix"):
        # a budget always: a legal run of 1000 executions is not a fuzz case
        argv += ["--executions", draw(st.sampled_from(SMALL_EXECUTIONS)), "-q"]
        if cmd == "explore" and "--artifacts" not in argv:
            argv += ["--artifacts", str(work["out"])]
        if cmd == "matrix":
            argv += ["--policy", "v5.15"]
            if "--artifacts" not in argv:
                argv += ["--artifacts", str(work["out"])]
    if cmd == "report" and "-o" not in argv:
        argv += ["-o", str(work["out"] / "r.html")]
    if cmd == "shrink" and argv[1] == str(work["artifact"]):
        argv[1] = str(work["out"] / "shrink-me.json")  # a copy: never rewrite the shared one
    if draw(st.booleans()):
        argv.append("--json")
    return argv


@pytest.fixture(autouse=True)
def _in_the_work_directory(work: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (the default logs/, a file named on the command line) land in the
    test's own directory, never in the repository."""
    monkeypatch.chdir(work["dir"])


@pytest.mark.slow
@fuzz_settings(450)
@given(data=st.data())
def test_command_lines(data: st.DataObject, work: dict[str, Path]) -> None:
    argv = data.draw(command_lines(work), label="argv")
    if argv[0] == "shrink":
        shutil.copy(work["artifact"], work["out"] / "shrink-me.json")
    check(cli(*argv), argv)


def test_the_command_lines_of_the_issue(work: dict[str, Path]) -> None:
    """The issue's own command lines (each also has a named test with its exact message
    in test_issue12_regressions.py)."""
    for argv in issue_argv(work):
        ran = cli(*argv)
        check(ran, argv)
        assert ran.code == 2, (argv, ran.err)


def issue_argv(work: dict[str, Path]) -> list[list[str]]:
    a, s = str(work["artifact"]), str(ALLOC_FREE)
    return [
        ["show", "--pages", "1000000000"],
        ["run", s, "--schedule", "zs1:0123456789abcdef:cpu0*99999999999999999999"],
        ["run", s, "--schedule", "zs2:0123456789abcdef:cpu0*999999999"],
        ["explore", s, "--depth", "1000000000", "--executions", "3"],
        ["explore", s, "--time", "nan", "--executions", "1"],
        ["matrix", s, "--seconds", "nan"],
        ["show", "--pages", "4096", "--start-pfn", str(10**31)],
        ["run", s, "--log", str(work["dir"])],
        ["run", s, "--log", "/nonexistent/dir/x.jsonl"],
        ["run", s, "--log", "/proc/version"],
        ["explore", s, "--artifacts", "/etc/hostname", "--executions", "1"],
        ["explore", s, "--artifacts", "/proc/nope", "--executions", "1"],
        ["run", s, "--log", "/dev/full"],
        ["shrink", a, "--attempts", "-1"],
    ]


# -- scenario documents -----------------------------------------------------------------------

ODD_VALUES: list[Any] = [-1, 0, 1, 2, 2**31, 2**63, 10**31, float("nan"), float("inf"),
                         -0.0, 1.5, "x", "", "movable", "isolate", "cma0", True, [], [0],
                         [0, 2**63], {}, {"op": "alloc"}]


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == float("inf") else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"


def dump(doc: dict[str, Any]) -> str:
    out: list[str] = []
    for key, val in doc.items():
        if isinstance(val, dict):
            out.append(f"[{json.dumps(key)}]")
            out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in val.items()]
        elif isinstance(val, list) and val and all(isinstance(x, dict) for x in val):
            for item in val:
                out.append(f"[[{json.dumps(key)}]]")
                out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items()]
        else:
            out.append(f"{json.dumps(key)} = {toml_value(val)}")
    return "\n".join(out) + "\n"


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            found.append((*prefix, k))
            found += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found.append((*prefix, i))
            found += paths(v, (*prefix, i))
    return found


SCENARIO_BASES = [ALLOC_FREE, FOREIGN, CMA_B]


@st.composite
def scenario_texts(draw: st.DrawFn) -> tuple[str, str]:
    """(file stem, text): a real scenario with one to three edits (a value replaced by an
    odd one, a key removed, a key added), or its text cut or garbled."""
    base = draw(st.sampled_from(SCENARIO_BASES))
    text = base.read_text()
    if draw(st.integers(0, 9)) == 0:  # raw text damage
        cut = draw(st.integers(0, len(text)))
        junk = draw(st.text(alphabet=string.printable + "\u00e9\x00", max_size=20))
        return base.stem, text[:cut] + junk + text[cut + len(junk):]
    doc = tomllib.loads(text)
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(doc)
        path = draw(st.sampled_from(candidates))
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "replace":  # a copy: the pool's lists and tables must stay as they are
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif action == "delete" and isinstance(parent, dict) and len(path) > 1:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["times", "count", "pfn", "order", "extra", "as"]))] = \
                copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    try:
        return base.stem, dump(doc)
    except (TypeError, ValueError):
        return base.stem, text


@pytest.mark.slow
@fuzz_settings(300)
@given(case=scenario_texts(), command=st.sampled_from(["run", "show", "explore"]),
       as_json=st.booleans())
def test_scenario_documents(case: tuple[str, str], command: str, as_json: bool,
                            work: dict[str, Path]) -> None:
    stem, text = case
    f = work["dir"] / "scenarios" / f"{stem}.toml"
    f.parent.mkdir(exist_ok=True)
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    argv = [command, str(f)]
    if command == "explore":
        argv += ["--executions", "2", "--artifacts", str(work["out"]), "-q"]
    if command == "run":
        argv += ["--policy", "v5.19"]
    if as_json:
        argv.append("--json")
    check(cli(*argv), (argv, text))


# -- artifacts ---------------------------------------------------------------------------------


@st.composite
def damaged_artifacts(draw: st.DrawFn, source: Path) -> str:
    doc = json.loads(source.read_text())
    kind = draw(st.sampled_from(["value", "value", "delete", "schedule", "text", "nest"]))
    if kind == "value":
        key = draw(st.sampled_from([*sorted(doc), "violation.invariant", "scenario_text"]))
        value = draw(st.sampled_from([*ODD_VALUES, None, "x", "0" * 32, "zs2:x:y"]))
        value = copy.deepcopy(value)
        if key == "violation.invariant":
            doc["violation"]["invariant"] = value
        else:
            doc[key] = value
    elif kind == "delete":
        doc.pop(draw(st.sampled_from(sorted(doc))), None)
    elif kind == "schedule":
        doc["schedule"] = draw(schedule_strings(doc["schedule"]))
    elif kind == "nest":
        depth = draw(st.sampled_from([10, 1000, 100000]))
        return "[" * depth + "]" * depth
    else:
        raw = json.dumps(doc, indent=1)
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.text(max_size=10)) + raw[cut + 5:]
    if kind == "value" and draw(st.booleans()):
        text = doc.get("scenario_text")
        if isinstance(text, str):
            doc["scenario_text"] = text.replace("pages = 4096", f"pages = {2**40}")
    return json.dumps(doc, indent=1)


@pytest.mark.slow
@fuzz_settings(200)
@given(data=st.data(), command=st.sampled_from(["replay", "replay", "shrink", "log",
                                                "report"]),
       as_json=st.booleans())
def test_artifacts(data: st.DataObject, command: str, as_json: bool,
                   work: dict[str, Path]) -> None:
    text = data.draw(damaged_artifacts(work["artifact"]), label="artifact")
    f = work["dir"] / "damaged.json"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    argv = [command, str(f)]
    if command == "report":
        argv += ["-o", str(work["out"] / "d.html")]
    if command == "log":
        argv += ["--format", data.draw(st.sampled_from(["text", "jsonl", "ftrace"]))]
    if as_json:
        argv.append("--json")
    check(cli(*argv), (argv, text[:3000]))


# -- schedule strings ---------------------------------------------------------------------------

SCHEDULE_ALPHABET = "cpu01#@*.~:%zs2_-9AF "


@st.composite
def schedule_strings(draw: st.DrawFn, real: str | None = None) -> str:
    """A real schedule string edited: characters inserted, deleted or replaced, a count
    made huge, an anchor pointed past the table -- or one made up from the grammar."""
    if real is None:
        real = ("zs2:11dfa02e4810f74c:cpu0@0.cpu0@1.cpu1@2*2.#1@3~start~op:alloc"
                "~spin_lock:zone-%3Elock~x")
    s = real
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "count", "anchor",
                                     "magic"]))
        i = draw(st.integers(0, len(s)))
        if kind == "insert":
            s = s[:i] + draw(st.text(alphabet=SCHEDULE_ALPHABET, min_size=1, max_size=6)) + s[i:]
        elif kind == "delete":
            s = s[:i] + s[i + draw(st.integers(1, 8)):]
        elif kind == "replace":
            s = s[:i] + draw(st.sampled_from(SCHEDULE_ALPHABET)) + s[i + 1:]
        elif kind == "count":
            s = s[:i] + "*" + draw(st.sampled_from(["0", "1", "99999999", "999999999",
                                                    "9" * 30, "-1", ""])) + s[i:]
        elif kind == "anchor":
            s = s[:i] + "@" + draw(st.sampled_from(["0", "99", "", "x", "9" * 12])) + s[i:]
        else:
            s = draw(st.sampled_from(["zs1:", "zs2:", "zs3:", "", "zs2::", "zs1:x:"])) + \
                s.split(":", 1)[-1]
    return s


@pytest.fixture(scope="module")
def real_schedule() -> str:
    schedule = cli("run", FOREIGN, "--policy", "v5.19", "--json").json()["schedule"]
    assert isinstance(schedule, str) and schedule.startswith("zs2:")
    return schedule


@pytest.mark.slow
@fuzz_settings(200)
@given(data=st.data(), as_json=st.booleans())
def test_schedule_strings(data: st.DataObject, as_json: bool, real_schedule: str) -> None:
    schedule = data.draw(schedule_strings(real_schedule), label="schedule")
    argv = ["run", str(FOREIGN), "--policy", "v5.19", "--schedule", schedule]
    if as_json:
        argv.append("--json")
    check(cli(*argv), argv)


# -- a subset in child processes, address space capped -------------------------------------------


@pytest.mark.slow
@fuzz_settings(12)
@given(data=st.data())
def test_in_a_child_process_under_rlimit_as(data: st.DataObject,
                                            work: dict[str, Path]) -> None:
    """The same contract through the installed entry point, in a process whose address
    space is capped: a runaway allocation is a MemoryError there (exit 3), not a slow
    machine."""
    argv = data.draw(st.one_of(st.sampled_from(issue_argv(work)), command_lines(work)),
                     label="argv")
    r = subprocess_cli(*argv, address_space=CHILD_ADDRESS_SPACE, timeout=CASE_SECONDS * 2,
                       cwd=work["dir"])
    ran = Ran(r.returncode, r.stdout, r.stderr, 0.0, 0)
    check(ran, argv)
