"""The public API of zonesim.scenario: curated, exported once, importing only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import zonesim.scenario as scenario

PACKAGE = Path(scenario.__file__).parent


def test_all_names_exist_once_and_are_public() -> None:
    assert len(scenario.__all__) == len(set(scenario.__all__))
    assert all(not name.startswith("_") for name in scenario.__all__)
    for name in scenario.__all__:
        assert hasattr(scenario, name), name


def test_imports_stay_inside_the_allowed_layers() -> None:
    # DESIGN.md §1: scenario may use the vocabulary module zonesim.model.types, nothing else.
    allowed = ("zonesim.scenario", "zonesim.model.types")
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("zonesim"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
