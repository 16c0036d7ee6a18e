"""DESIGN.md §1: who may import whom, and no import cycles between files. Walks zonesim/
with ast; a forbidden import fails naming the file, the import and the rule; a cycle fails
naming the files in it."""

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
    # allocator-state coverage: reads the model's state and the scheduler's lock context
    "coverage": ({"coverage", "model", "sched"}, set()),
    "engine": ({"engine", "model", "policy", "ops", "sched", "check", "scenario", "obs",
                "coverage"}, {"trio", "structlog"}),
    # the command line parses and renders: the public API, renderers, the scenario format
    "cli": ({"cli", "api", "obs", "scenario"}, {"rich"}),
    # the pytest plugin is a client of the public API like the command line
    "testing": ({"api", "obs", "scenario"}, {"pytest", "trio"}),
}
# The only exceptions, each with its reason.
EXCEPTIONS = {
    # The Hypothesis-driven strategy is a Hypothesis client by definition (DESIGN.md §7).
    ("sched/hypothesis_strategy.py", "hypothesis"),
    # Beyond one machine, exploration runs on Dask distributed (DESIGN.md §11); imported
    # only when --cluster is used (the optional [dask] extra).
    ("parallel.py", "distributed"),
}
ENGINE_MODULES = {"engine.py", "explore.py", "interp.py", "matrix.py", "bisect.py", "timeline.py",
                  "verdict.py", "artifact.py", "failures.py", "observe.py", "logs.py", "errors.py",
                  "units.py", "coordinator.py", "parallel.py", "files.py"}
# the public API is the engine layer's front door: it may import what the engine may
API_MODULES = {"api.py"}
CLI_MODULES = {"__main__.py"}
# model must not even use the stdlib's random: the model has no randomness (DESIGN.md §1)
FORBIDDEN_STDLIB = {"model": {"random", "time"}, "check": {"random", "time"},
                    "sched": {"time"}, "coverage": {"random", "time"}}


def layer_of(rel: Path) -> str | None:
    if len(rel.parts) == 1:
        if rel.name in ENGINE_MODULES or rel.name in API_MODULES:
            return "engine"
        if rel.name in CLI_MODULES:
            return "cli"
        if rel.name == "testing.py":
            return "testing"
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
    if f"{parts[0]}.py" in ENGINE_MODULES:
        return "engine"
    if f"{parts[0]}.py" in API_MODULES:
        return "api"
    if parts[0] == "cli":
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


# -- import cycles between files ---------------------------------------------------------
# Every import counts (module level, inside functions, under TYPE_CHECKING): a cycle is two
# files that each need the other, whenever the import runs.
# Known cycles, to be removed by their owners; the lead removes these with issue 7.
KNOWN_CYCLES: list[frozenset[str]] = []


def module_file(module: str) -> str | None:
    """zonesim.a.b -> "a/b.py" or "a/b/__init__.py" (relative to zonesim/), if it exists."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__.py"
    base = ROOT.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return str(Path(*parts).with_suffix(".py"))
    if (base / "__init__.py").is_file():
        return str(Path(*parts, "__init__.py"))
    return None


def file_imports(rel: Path, tree: ast.AST) -> set[str]:
    """The zonesim files ``rel`` imports: ``from pkg import sub`` names the submodule's
    file when ``sub`` is one, else the package's ``__init__.py``."""
    package = ["zonesim", *rel.parts[:-1]]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names]
            found = [f for f in map(module_file, subs) if f is not None] \
                if mod.startswith("zonesim") else []
            names = [mod] if len(found) < len(subs) else []
            out.update(found)
        for mod in names:
            if mod == "zonesim" or mod.startswith("zonesim."):
                f = module_file(mod)
                if f is not None:
                    out.add(f)
    out.discard(str(rel))
    return out


def import_graph() -> dict[str, set[str]]:
    return {
        str(p.relative_to(ROOT)): file_imports(p.relative_to(ROOT),
                                               ast.parse(p.read_text(encoding="utf-8")))
        for p in sorted(ROOT.rglob("*.py"))
    }


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one file (Tarjan, iterative order
    by sorted names so the report is stable)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_files() -> None:
    new = [sorted(c) for c in cycles(import_graph()) if c not in KNOWN_CYCLES]
    assert new == [], f"import cycles between files: {new}"


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a.py": {"b.py"}, "b.py": {"c.py"}, "c.py": {"a.py"}, "d.py": {"a.py"}}
    assert cycles(graph) == [frozenset({"a.py", "b.py", "c.py"})]
    assert cycles({"a.py": {"b.py"}, "b.py": set()}) == []


def test_the_cli_is_covered_by_the_layer_rules() -> None:
    """The command line is a package now; every file of it is in the 'cli' layer."""
    cli_files = sorted((ROOT / "cli").glob("*.py"))
    assert cli_files, "zonesim/cli/ is missing"
    assert {layer_of(p.relative_to(ROOT)) for p in cli_files} == {"cli"}
    tree = ast.parse("from zonesim.engine import Engine\nfrom zonesim.model.zone import Zone\n")
    assert [m for m in imports(tree) if zonesim_target(m) not in RULES["cli"][0]] == [
        "zonesim.engine", "zonesim.model.zone"]
