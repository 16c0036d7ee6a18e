"""The curated public API (STYLE.md point 1): each public name exported once, nothing
private leaking, and the API is what the command line and the plugin call."""

from __future__ import annotations

import ast
import json
import types
from pathlib import Path

import pytest

import zonesim
from zonesim import api

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"


def test_each_public_name_is_exported_once_and_nothing_private_leaks() -> None:
    names = zonesim.__all__
    assert len(names) == len(set(names)), "a name exported twice"
    assert all(hasattr(zonesim, n) for n in names)
    assert [n for n in names if n.startswith("_") and n != "__version__"] == []
    public = {n for n in dir(zonesim) if not n.startswith("_")}
    # besides __all__, only the package's own submodules are attributes of zonesim
    leaked = sorted(n for n in public - set(names)
                    if not isinstance(getattr(zonesim, n), types.ModuleType))
    assert leaked == []
    # one object, one name: no aliases in the curated surface
    objects = [id(getattr(zonesim, n)) for n in names if n != "__version__"]
    assert len(objects) == len(set(objects))


def test_api_all_is_accurate() -> None:
    assert len(api.__all__) == len(set(api.__all__))
    assert all(hasattr(api, n) for n in api.__all__)
    assert not [n for n in api.__all__ if n.startswith("_") and n != "__version__"]


def test_the_commands_of_design_md_are_in_the_api() -> None:
    for name in ("explore", "replay", "shrink", "matrix", "show", "report"):
        assert callable(getattr(zonesim, name)), name
        assert getattr(zonesim, name) is getattr(api, name)


def test_the_cli_calls_only_the_api_obs_and_scenario() -> None:
    for path in sorted((ROOT / "zonesim" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zonesim"):
                mod = node.module or ""
                if mod == "zonesim":
                    assert {a.name for a in node.names} <= {"api"}, path
                else:
                    assert mod.split(".")[1] in ("api", "cli", "obs", "scenario"), (path, mod)


def test_a_script_explores_replays_and_reports(tmp_path: Path) -> None:
    report = zonesim.explore(FOREIGN, policy="v5.19", strategy="dfs", executions=50,
                             artifacts=tmp_path)
    assert [v.invariant for v in report.violations] == ["cma_pageblocks"]
    artifact = report.violations[0].artifact
    assert artifact is not None
    again = zonesim.replay(artifact)
    assert again.reproduced and again.to_json()["trace_hash"] == json.loads(
        Path(artifact).read_text())["trace_hash"]
    page = zonesim.report(artifact)
    assert page.startswith("<!DOCTYPE html>") and "cma_pageblocks" in page
    assert zonesim.show(pages=4096).nr_free[-1] == 4


def test_bad_arguments_are_bad_input() -> None:
    with pytest.raises(zonesim.BadInput, match=r"--executions: expected an integer 1\.\."):
        zonesim.explore(FOREIGN, policy="v5.19", executions=0)
    with pytest.raises(zonesim.BadInput, match="--policy"):
        zonesim.explore(FOREIGN, policy="v9.99")
    with pytest.raises(zonesim.BadInput, match="--time"):
        zonesim.explore(FOREIGN, policy="v5.19", seconds=float("nan"))
