"""DESIGN.md §1: who may import whom. Walks zonesim/ with ast; a forbidden import fails
naming the file, the import and the rule."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "zonesim"
STDLIB = set(sys.stdlib_module_names)

# layer -> (zonesim layers it may import, third-party top-level packages it may import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "model": ({"model"}, set()),
    "policy": ({"policy", "model"}, set()),
    "sched": ({"sched"}, {"trio"}),
    "check": ({"check", "model"}, set()),
    "ops": ({"ops", "model", "policy", "sched", "obs"}, set()),
    # scenario: policy names only, plus the migratetype vocabulary of model/types.py
    "scenario": ({"scenario", "policy", "model.types"}, set()),
    "obs": ({"obs", "model", "sched"}, {"structlog"}),
    "engine": ({"engine", "model", "policy", "ops", "sched", "check", "scenario", "obs"},
               {"trio", "structlog"}),
    "cli": ({"cli", "engine", "model", "policy", "ops", "sched", "check", "scenario", "obs"},
            set()),
}
# The only exceptions, each with its reason.
EXCEPTIONS = {
    # The Hypothesis-driven strategy is a Hypothesis client by definition (DESIGN.md §7).
    ("sched/hypothesis_strategy.py", "hypothesis"),
    # Beyond one machine, exploration runs on Dask distributed (DESIGN.md §11); imported
    # only when --cluster is used (the optional [dask] extra).
    ("parallel.py", "distributed"),
}
ENGINE_MODULES = {"engine.py", "explore.py", "interp.py", "matrix.py", "units.py",
                  "coordinator.py", "parallel.py"}
CLI_MODULES = {"cli.py", "clicmds.py", "cli_artifacts.py", "__main__.py"}
# model must not even use the stdlib's random: the model has no randomness (DESIGN.md §1)
FORBIDDEN_STDLIB = {"model": {"random", "time"}, "check": {"random", "time"},
                    "sched": {"time"}}


def layer_of(rel: Path) -> str | None:
    if len(rel.parts) == 1:
        if rel.name in ENGINE_MODULES:
            return "engine"
        if rel.name in CLI_MODULES:
            return "cli"
        return None  # zonesim/__init__.py: the curated public API re-exports
    return rel.parts[0]


def imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "zonesim":  # from zonesim import engine -> zonesim.engine
                out += [f"zonesim.{a.name}" for a in node.names]
            else:
                out.append(node.module)
    return out


def zonesim_target(mod: str) -> str:
    parts = mod.split(".")[1:]
    if not parts:
        return "zonesim"
    if parts[0] in ("engine", "explore", "interp", "matrix", "units", "coordinator", "parallel"):
        return "engine"
    if parts[0] in ("cli", "clicmds", "cli_artifacts"):
        return "cli"
    return ".".join(parts[:2]) if parts[0] == "model" and len(parts) > 1 else parts[0]


def violations() -> list[str]:
    bad: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        layer = layer_of(rel)
        if layer is None:
            continue
        allowed_layers, allowed_pkgs = RULES[layer]
        for mod in imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = mod.split(".")[0]
            if top == "zonesim":
                target = zonesim_target(mod)
                ok = target in allowed_layers or target.split(".")[0] in allowed_layers
                if not ok:
                    bad.append(f"zonesim/{rel}: imports {mod}: layer '{layer}' may import only "
                               f"{sorted(allowed_layers)}")
            elif top in STDLIB or top == "__future__":
                if top in FORBIDDEN_STDLIB.get(layer, set()):
                    bad.append(f"zonesim/{rel}: imports {mod}: layer '{layer}' has no "
                               "randomness or clocks")
            elif top not in allowed_pkgs and (str(rel), top) not in EXCEPTIONS:
                bad.append(f"zonesim/{rel}: imports {mod}: layer '{layer}' may use only "
                           f"{sorted(allowed_pkgs) or 'the standard library'}")
    return bad


def test_no_forbidden_import() -> None:
    assert violations() == []


def test_rule_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The walker itself must see a violation (a test that cannot fail is a defect)."""
    tree = ast.parse("import trio\nfrom zonesim.ops import alloc_pages\n")
    assert imports(tree) == ["trio", "zonesim.ops"]
    assert zonesim_target("zonesim.ops.alloc") == "ops"
    assert "ops" not in RULES["model"][0] and "trio" not in RULES["model"][1]
