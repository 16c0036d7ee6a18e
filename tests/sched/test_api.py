"""The public API is curated in zonesim/sched/__init__.py; sched imports only stdlib and trio."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import zonesim.sched as sched

SCHED_DIR = Path(sched.__file__).parent


def test_public_names_exported_once_and_nothing_private() -> None:
    assert len(sched.__all__) == len(set(sched.__all__))
    assert all(not name.startswith("_") for name in sched.__all__)
    for name in sched.__all__:
        assert hasattr(sched, name), name


def test_sched_imports_only_stdlib_trio_and_itself() -> None:
    problems = []
    for path in sorted(SCHED_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                ok = (
                    top in sys.stdlib_module_names
                    or top == "trio"
                    or mod.startswith("zonesim.sched")
                    or (top == "hypothesis" and path.name == "hypothesis_strategy.py")
                )
                if not ok:
                    problems.append(f"{path.name}: import {mod} (sched may import stdlib, trio)")
    assert problems == []
