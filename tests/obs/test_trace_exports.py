"""`zonesim log --format perfetto|ftrace`: Chrome Trace Event JSON whose structure a test
validates, and trace-cmd-shaped kmem lines that parse with the kernel's field names."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
CMA_B = ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"
DRAIN = ROOT / "scenarios" / "stress" / "drain-races-alloc.toml"

# include/trace/events/kmem.h (v5.15): each tracepoint's TP_printk fields, in order
KMEM_FIELDS = {
    "mm_page_alloc": ["page", "pfn", "order", "migratetype", "gfp_flags"],
    "mm_page_free": ["page", "pfn", "order"],
    "mm_page_alloc_zone_locked": ["page", "pfn", "order", "migratetype", "percpu_refill"],
    "mm_page_pcpu_drain": ["page", "pfn", "order", "migratetype"],
}
# trace-cmd report: "<comm>-<pid> [<cpu>] <secs>.<usecs>: <event>: <fields>"
LINE = re.compile(r"^\s*(?P<comm>\S+)-(?P<pid>\d+)\s+\[(?P<cpu>\d{3})\]\s+"
                  r"(?P<ts>\d+\.\d{6}):\s+(?P<event>\w+):\s+(?P<fields>.*)$")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("arts")
    assert main(["explore", str(FOREIGN), "--policy", "v5.19", "--strategy", "dfs",
                 "--executions", "50", "--artifacts", str(tmp), "--json", "-q"]) == 1
    return str(next(tmp.glob("*.json")))


def validate_chrome_trace(doc: Any) -> dict[int, str]:
    """The Trace Event Format's rules that the viewers rely on; returns tid -> name."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    names: dict[int, str] = {}
    slices: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for e in doc["traceEvents"]:
        assert e["ph"] in ("M", "X", "i"), e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        assert isinstance(e["name"], str) and e["name"]
        if e["ph"] == "M":
            if e["name"] == "thread_name":
                names[e["tid"]] = e["args"]["name"]
            continue
        assert isinstance(e["ts"], int | float) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] > 0
            slices[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
        else:
            assert e["s"] in ("t", "p", "g")
        assert e["tid"] in names or e.get("s") == "g", f"track {e['tid']} has no name"
    for tid, spans in slices.items():  # slices on one track nest or follow each other
        stack: list[int] = []
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1], f"slices cross on track {names[tid]}"
            stack.append(end)
    return names


def test_perfetto_structure(artifact: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trace.json"
    assert main(["log", artifact, "--format", "perfetto", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    doc = json.loads(out.read_text())
    names = validate_chrome_trace(doc)
    assert {"cpu0", "cpu1", "cpu0 locks", "cpu1 locks"} <= set(names.values())
    events = doc["traceEvents"]
    ops = [e for e in events if e.get("cat") == "op"]
    locks = [e for e in events if e.get("cat") == "lock"]
    instants = [e for e in events if e["ph"] == "i" and e.get("cat") == "model"]
    assert {e["name"] for e in ops} >= {"alloc_contig_range"}
    assert "zone->lock" in {e["name"] for e in locks}
    assert all(names[e["tid"]].endswith(" locks") for e in locks)
    assert {e["name"] for e in instants} >= {"pageblock_isolated", "alloc_contig_range"}
    assert any(e["name"].startswith("VIOLATION cma_pageblocks") for e in events)
    # the same artifact gives the same trace (no clock in it)
    assert main(["log", artifact, "--format", "perfetto"]) == 0
    assert json.loads(capsys.readouterr().out) == doc


def test_validator_rejects_crossing_slices() -> None:
    bad = {"traceEvents": [
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 0, "args": {"name": "cpu0"}},
        {"ph": "X", "name": "a", "pid": 1, "tid": 0, "ts": 0, "dur": 10},
        {"ph": "X", "name": "b", "pid": 1, "tid": 0, "ts": 5, "dur": 10},
    ]}
    with pytest.raises(AssertionError, match="slices cross"):
        validate_chrome_trace(bad)


def parse_ftrace(text: str) -> list[tuple[str, int, dict[str, str]]]:
    lines = text.splitlines()
    assert re.fullmatch(r"cpus=\d+", lines[0])
    out = []
    for line in lines[1:]:
        m = LINE.match(line)
        assert m, line
        fields = dict(kv.split("=", 1) for kv in m["fields"].split())
        assert list(fields) == KMEM_FIELDS[m["event"]], line
        out.append((m["event"], int(m["cpu"]), fields))
    return out


def test_ftrace_lines_parse_with_the_kernels_field_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "run.jsonl"
    assert main(["run", str(DRAIN), "--log", str(log)]) == 0
    capsys.readouterr()
    assert main(["log", str(log), "--format", "ftrace"]) == 0
    parsed = parse_ftrace(capsys.readouterr().out)
    assert {e for e, _, _ in parsed} == set(KMEM_FIELDS)  # all four tracepoints
    for event, _, f in parsed:
        assert re.fullmatch(r"0x[0-9a-f]+", f["pfn"]) and int(f["order"]) >= 0
        assert int(f["page"], 16) == 0xFFFFEA0000000000 + 64 * int(f["pfn"], 16) \
            or f["page"] == "0000000000000000"
        if "migratetype" in f:
            assert 0 <= int(f["migratetype"]) <= 5
        if event == "mm_page_alloc_zone_locked":
            assert f["percpu_refill"] in ("0", "1")
    # every page a pcp list gave back was on it: drained pfns were freed or refilled first
    seen: set[int] = set()
    for event, _, f in parsed:
        pfn = int(f["pfn"], 16)
        if event in ("mm_page_free", "mm_page_alloc_zone_locked"):
            seen.add(pfn)
        if event == "mm_page_pcpu_drain":
            assert pfn in seen, f"drained {pfn:#x} never reached a pcp list"


def test_ftrace_of_an_artifact_replays_with_observation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cma-b under v5.19: cpu1 allocates (straight from the buddy: percpu_refill=0) and
    frees the order-10 page whose free is the race."""
    assert main(["explore", str(CMA_B), "--policy", "v5.19", "--artifacts", str(tmp_path),
                 "--json", "-q"]) == 1
    capsys.readouterr()
    artifact = str(next(tmp_path.glob("*.json")))
    assert main(["log", artifact, "--format", "ftrace", "--cpu", "cpu1"]) == 0
    parsed = parse_ftrace(capsys.readouterr().out)
    assert {cpu for _, cpu, _ in parsed} == {1}
    assert [e for e, _, _ in parsed[:3]] == [
        "mm_page_alloc_zone_locked", "mm_page_alloc", "mm_page_free"]
    assert parsed[0][2]["percpu_refill"] == "0"
    assert parsed[0][2]["pfn"] == parsed[1][2]["pfn"]
    assert parsed[2][2] == {"page": "ffffea0000020000", "pfn": "0x800", "order": "10"}
