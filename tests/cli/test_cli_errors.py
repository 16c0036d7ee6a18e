"""Bad input: one line naming the file, the key path and the expectation; exit 2; no
traceback (DESIGN.md §6, §8)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "scenarios" / "stress" / "drain-races-alloc.toml"


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def dump(doc: dict[str, Any]) -> str:
    """A minimal TOML writer: top-level tables and arrays of tables, inline values below."""
    out: list[str] = []
    for key, val in doc.items():
        if isinstance(val, dict):
            out.append(f"[{key}]")
            out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in val.items()]
        elif isinstance(val, list) and val and all(isinstance(x, dict) for x in val):
            for item in val:
                out.append(f"[[{key}]]")
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
            found += paths(v, (*prefix, i))
    return found


def get_parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        doc = doc[p]
    return doc


WRONG = {int: "nine", str: 12345, bool: "maybe", list: "not-a-list", dict: 7, float: "x"}


@st.composite
def malformed(draw: st.DrawFn) -> str:
    """A valid document with one change that must make it invalid."""
    doc = tomllib.loads(BASE.read_text())
    candidates = [p for p in paths(doc) if p[-1] not in ("summary", "description", "source")]
    path = draw(st.sampled_from(candidates))
    parent = get_parent(doc, path)
    kind = draw(st.sampled_from(["wrong_type", "unknown_key"]))
    if kind == "unknown_key" and isinstance(parent, dict):
        parent["no_such_key_" + draw(st.sampled_from(["a", "zz", "order2"]))] = 1
    else:
        value = parent[path[-1]]
        parent[path[-1]] = WRONG[type(value)]
    return dump(doc)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=malformed())
def test_malformed_documents_exit_2_with_one_line(text: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "drain-races-alloc.toml"
    f.write_text(text)
    rc = main(["explore", str(f), "--executions", "1"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith(str(f)), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["explore", "missing.toml"], "missing.toml"),
        (["explore", str(BASE), "--policy", "v9.99"], "--policy"),
        (["explore", str(BASE), "--with", "deadbeef"], "deadbeef"),
        (["explore", str(BASE), "--executions", "0"], "--executions"),
        (["explore", str(BASE), "--depth", "0"], "--depth"),
        (["explore", str(BASE), "--preemption-bound", "-1"], "--preemption-bound"),
        (["explore", str(BASE), "--time", "-1"], "--time"),
        (["explore", str(BASE), "--strategy", "bogus"], "bogus"),
        (["show"], "--pages"),
        (["show", "--pages", "4096", "--pageblock-order", "12"], "--pageblock-order: expected"),
        (["show", "--pages", "0"], "--pages: expected a positive integer, got 0"),
        (["run", str(BASE), "--schedule", "garbage"], "--schedule"),
        (["log", "nope.jsonl"], "nope.jsonl"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_bad_cli_input(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and needle in err, err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"format": "other"}', "format"),
        ('{"format": "zonesim-artifact/1", "scenario": 3}', "scenario"),
    ],
)
def test_bad_artifact(content: str, needle: str, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.json"
    f.write_text(content)
    for cmd in ("replay", "shrink"):
        rc = main([cmd, str(f)])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and needle in err and str(f) in err, err
    assert f.read_text() == content  # nothing already written is lost
