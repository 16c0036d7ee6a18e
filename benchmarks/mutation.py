"""Mutation testing: do the fast tests catch realistic one-line bugs? (issue 12, item 6)

Plants one bug at a time in a temp copy of the repository and runs the fast test suite
against it (``python -m pytest -m "not slow" -x -q``). A mutant is *killed* when the suite
fails, or hangs: one test runs past ``TEST_LIMIT`` (150 s; the slowest fast test takes
~26 s), or the suite runs past 3x the unmutated suite's time and again past 6x when
retried (a loaded machine is not a hang); it *survives* when the suite passes.
Prints the kill rate over the sample and every survivor (file:line, the line before and
after), per package.

The whole fast suite runs for every mutant, ordered so that the tests likeliest to kill
it run first (benchmarks/mutation_order.py): the tests of the mutated file's package,
tests/quality, and the folders that drive that package (``FIRST`` below), then the rest.
With ``-x`` a mutant dies at its first failing test, so a kill costs seconds, not a suite;
a survivor still passes every fast test.

Equivalent mutants (a change no input can observe) are registered in
benchmarks/mutation_equivalent.toml, each with the argument and the experiment behind it.
They are not run (``--run-equivalent`` runs them too: a registered mutant that is killed
was never equivalent and is reported). The benchmark prints the raw kill rate (an
equivalent counts as a survivor) and the rate over the non-equivalent mutants, which is
the one held to the goal.

The bugs are the one-line slips a kernel developer makes, found with ``ast`` in
zonesim/model, ops, check and sched and written back as a text edit of that one span:

  compare   ``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``is`` <-> ``is not``,
            ``in`` <-> ``not in``
  arith     ``+`` <-> ``-``, ``<<`` <-> ``>>``, ``&`` <-> ``|``, ``^`` -> ``|``, and the
            augmented forms (``+=`` <-> ``-=``)
  constant  an integer literal n -> n + 1 (0 -> 1, 1 -> 2, ...); ``True`` <-> ``False``
  condition ``if c:`` / ``while c:`` / ``c if ... else`` -> ``not (c)``; ``and`` <-> ``or``

Not mutated: docstrings and other strings, f-string parts (messages only), type
annotations, ``assert`` statements, ``__all__``, decorators, and the arguments of
``trace(...)`` calls (log fields).

The sample is deterministic: every site is enumerated in file order and ``--sample N``
of them are drawn with ``random.Random(--seed)``. Tests written against the survivors of
one seed should be judged on another seed (a fresh sample).

    .venv/bin/python benchmarks/mutation.py                       # 60 mutants, seed 1
    .venv/bin/python benchmarks/mutation.py --seed 2 --jobs 2     # another sample
    .venv/bin/python benchmarks/mutation.py --list                # the sites, no runs
    .venv/bin/python benchmarks/mutation.py --only model/buddy.py:137

Not run by CI (``.ci/run``): a run takes 15-40 minutes (a survivor costs one whole fast
suite, ~80-150 s on a 2-core machine; ``--jobs`` runs mutants side by side).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "ops", "check", "sched")
PYTEST = [sys.executable, "-m", "pytest", "-m", "not slow", "-x", "-q", "-p", "no:cacheprovider",
          "-p", "mutation_order"]
EQUIVALENT = ROOT / "benchmarks" / "mutation_equivalent.toml"
# seconds one test may take before the run counts as a hang (benchmarks/mutation_order.py):
# the slowest fast test takes ~26 s on a loaded 2-core machine
TEST_LIMIT = 150.0
# the test folders run first for a mutant in each package (then tests/quality, then the rest):
# the package's own unit tests, and the folders whose tests drive that package end to end
FIRST = {
    "model": ("tests/model", "tests/quality", "tests/engine"),
    "ops": ("tests/ops", "tests/quality", "tests/switches", "tests/engine"),
    "check": ("tests/check", "tests/quality", "tests/engine"),
    "sched": ("tests/sched", "tests/quality", "tests/engine"),
}

_COMPARE = {
    ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"), ast.In: ("in", "not in"), ast.NotIn: ("not in", "in"),
}
_BINARY = {
    ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.LShift: ("<<", ">>"),
    ast.RShift: (">>", "<<"), ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&"),
    ast.BitXor: ("^", "|"),
}


@dataclass(frozen=True, slots=True)
class Mutant:
    path: str  # relative to the repository, e.g. zonesim/model/buddy.py
    line: int  # 1-based
    start: int  # byte offsets of the span within the file's text
    end: int
    replacement: str
    kind: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]

    def describe(self, text: str) -> tuple[str, str]:
        before = text.splitlines()[self.line - 1].strip()
        after = self.apply(text).splitlines()[self.line - 1].strip()
        return before, after

    @property
    def where(self) -> str:
        return f"{self.path.removeprefix('zonesim/')}:{self.line}"

    @property
    def package(self) -> str:
        return self.path.split("/")[1]


@dataclass(frozen=True, slots=True)
class Equivalent:
    """A registered equivalent mutant: the file and its line before and after, stripped."""

    path: str
    before: str
    after: str
    reason: str
    experiment: str

    def matches(self, m: Mutant, text: str) -> bool:
        return m.path == self.path and m.describe(text) == (self.before, self.after)


def equivalents(path: Path = EQUIVALENT) -> list[Equivalent]:
    if not path.exists():
        return []
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for e in doc.get("equivalent", []):
        missing = {"file", "before", "after", "reason", "experiment"} - set(e)
        if missing:
            raise SystemExit(f"{path.name}: an entry lacks {', '.join(sorted(missing))}")
        out.append(Equivalent(e["file"], e["before"].strip(), e["after"].strip(),
                              " ".join(e["reason"].split()), " ".join(e["experiment"].split())))
    return out


def _offsets(text: str) -> list[int]:
    """Byte offset of each line start (ast columns are UTF-8 byte offsets)."""
    out, pos = [0], 0
    for line in text.encode("utf-8").splitlines(keepends=True):
        pos += len(line)
        out.append(pos)
    return out


class _Sites(ast.NodeVisitor):
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.raw = text.encode("utf-8")
        self.lines = _offsets(text)
        self.found: list[Mutant] = []

    # -- helpers -------------------------------------------------------------------------

    def _pos(self, line: int, col: int) -> int:
        return self.lines[line - 1] + col

    def _span(self, node: ast.AST) -> tuple[int, int]:
        a = self._pos(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        b = self._pos(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return a, b

    def _add(self, line: int, start: int, end: int, new: bytes, kind: str) -> None:
        # stored as character offsets of the text (the edit is applied to str)
        s = len(self.raw[:start].decode("utf-8"))
        e = len(self.raw[:end].decode("utf-8"))
        self.found.append(Mutant(self.path, line, s, e, new.decode("utf-8"), kind))

    def _operator(self, left: ast.AST, right: ast.AST, old: str, new: str, kind: str) -> None:
        """Replace the operator token between two operands."""
        a = self._pos(left.end_lineno, left.end_col_offset)  # type: ignore[attr-defined]
        b = self._pos(right.lineno, right.col_offset)  # type: ignore[attr-defined]
        gap = self.raw[a:b]
        i = gap.find(old.encode())
        if i < 0 or gap.count(old.encode()) != 1:
            return  # parenthesised oddly or ambiguous: skip rather than guess
        line = left.end_lineno  # type: ignore[attr-defined]
        self._add(line, a + i, a + i + len(old), new.encode(), kind)

    def _negate(self, test: ast.AST) -> None:
        a, b = self._span(test)
        self._add(test.lineno, a, b, b"not (" + self.raw[a:b] + b")", "condition")  # type: ignore[attr-defined]

    # -- what is not mutated -----------------------------------------------------------------

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # docstring
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # f-strings: messages

    def visit_Assert(self, node: ast.Assert) -> None:
        return

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for stmt in node.body:
            self.visit(stmt)
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for stmt in node.body:  # not the decorators: @dataclass(slots=...) changes nothing
            self.visit(stmt)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("trace", "_trace"):
            return  # log fields
        self.generic_visit(node)

    # -- mutation sites ----------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            old_new = _COMPARE.get(type(op))
            if old_new is not None and not isinstance(op, ast.Is | ast.IsNot | ast.In
                                                      | ast.NotIn):
                self._operator(left, right, *old_new, "compare")
            elif old_new is not None:
                self._word_operator(left, right, *old_new)
            left = right
        self.generic_visit(node)

    def _word_operator(self, left: ast.AST, right: ast.AST, old: str, new: str) -> None:
        a = self._pos(left.end_lineno, left.end_col_offset)  # type: ignore[attr-defined]
        b = self._pos(right.lineno, right.col_offset)  # type: ignore[attr-defined]
        gap = self.raw[a:b]
        if gap.strip().decode() != old:
            return
        line = left.end_lineno  # type: ignore[attr-defined]
        self._add(line, a, b, b" " + new.encode() + b" ", "compare")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        old_new = _BINARY.get(type(node.op))
        if old_new is not None:
            self._operator(node.left, node.right, *old_new, "arith")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        old_new = _BINARY.get(type(node.op))
        if old_new is not None:
            self._operator(node.target, node.value, old_new[0] + "=", old_new[1] + "=",
                           "arith")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:], strict=False):
            self._word_operator_bool(left, right, old, new)
        self.generic_visit(node)

    def _word_operator_bool(self, left: ast.AST, right: ast.AST, old: str, new: str) -> None:
        a = self._pos(left.end_lineno, left.end_col_offset)  # type: ignore[attr-defined]
        b = self._pos(right.lineno, right.col_offset)  # type: ignore[attr-defined]
        gap = self.raw[a:b]
        i = gap.find(old.encode())
        if i < 0 or gap.count(old.encode()) != 1:
            return
        line = left.end_lineno  # type: ignore[attr-defined]
        self._add(line, a + i, a + i + len(old), new.encode(), "condition")

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        if not (isinstance(node.test, ast.Constant) and node.test.value is True):
            self._negate(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        a, b = self._span(node)
        if isinstance(v, bool):
            self._add(node.lineno, a, b, str(not v).encode(), "constant")
        elif isinstance(v, int) and self.raw[a:b].isdigit():
            self._add(node.lineno, a, b, str(v + 1).encode(), "constant")


def sites() -> list[Mutant]:
    out: list[Mutant] = []
    for pkg in PACKAGES:
        for f in sorted((ROOT / "zonesim" / pkg).glob("*.py")):
            text = f.read_text(encoding="utf-8")
            visitor = _Sites(str(f.relative_to(ROOT)), text)
            visitor.visit(ast.parse(text))
            for m in visitor.found:
                try:
                    ast.parse(m.apply(text))
                except SyntaxError:
                    continue
                if m.apply(text) != text:
                    out.append(m)
    return sorted(set(out), key=lambda m: (m.path, m.start, m.end, m.replacement))


def sample(all_sites: list[Mutant], n: int, seed: int) -> list[Mutant]:
    if n >= len(all_sites):
        return all_sites
    picked = random.Random(seed).sample(range(len(all_sites)), n)
    return [all_sites[i] for i in sorted(picked)]


# -- running --------------------------------------------------------------------------------


def _copy(dest: Path) -> None:
    def ignore(d: str, names: list[str]) -> set[str]:
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                ".hypothesis"}
        if Path(d) == ROOT / "logs":
            return {n for n in names if n != ".gitkeep"}
        return {n for n in names if n in skip or n.endswith(".egg-info")}

    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)


def _env(copy: Path, first: tuple[str, ...] = ()) -> dict[str, str]:
    env = dict(os.environ)
    # the copy's zonesim comes before the editable install of this checkout; its benchmarks
    # folder holds the ordering plugin
    env["PYTHONPATH"] = os.pathsep.join([str(copy), str(copy / "benchmarks"),
                                         env.get("PYTHONPATH", "")])
    env["ZONESIM_MUTATION_FIRST"] = ",".join(first)
    env["ZONESIM_MUTATION_TEST_LIMIT"] = str(TEST_LIMIT)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _run_suite(copy: Path, timeout: float, first: tuple[str, ...] = (),
               screen: bool = False) -> tuple[str, float]:
    """("killed" | "survived" | "timeout", seconds). ``screen``: the ``first`` folders only."""
    started = time.monotonic()
    try:
        r = subprocess.run(PYTEST + (list(first) if screen else []), cwd=copy,
                           env=_env(copy, first), capture_output=True, text=True,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started
    took = time.monotonic() - started
    if r.returncode == 0:
        return "survived", took
    if r.returncode in (1, 3):  # tests failed / internal error of pytest: both kill
        return "killed", took
    if r.returncode < 0:  # the suite died of a signal (the OOM killer: a runaway mutant)
        return "killed", took
    raise SystemExit(f"pytest exited {r.returncode} on a mutant: {r.stdout[-2000:]}")


def _check_copy(copy: Path) -> None:
    r = subprocess.run([sys.executable, "-c", "import zonesim; print(zonesim.__file__)"],
                       cwd=copy, env=_env(copy), capture_output=True, text=True, check=True)
    if not r.stdout.strip().startswith(str(copy)):
        raise SystemExit(f"the temp copy's zonesim is not the one imported: {r.stdout}")


def _workers(n: int) -> Iterator[Path]:
    for _ in range(n):
        d = Path(tempfile.mkdtemp(prefix="zonesim-mutation-"))
        _copy(d)
        _check_copy(d)
        yield d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=60, help="mutants to run (default: 60)")
    ap.add_argument("--seed", type=int, default=1, help="which sample (default: 1)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run side by side (default: 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per mutant (default: 3x the unmutated suite)")
    ap.add_argument("--list", action="store_true", help="print the sampled sites and exit")
    ap.add_argument("--only", action="append", default=[], metavar="FILE:LINE",
                    help="run the sites on these lines only, e.g. model/buddy.py:137")
    ap.add_argument("--screen", action="store_true",
                    help="run only the test folders of the mutant's package (FIRST): a cheap "
                         "first look for survivors while writing tests; no kill rate printed")
    ap.add_argument("--run-equivalent", action="store_true",
                    help="run the registered equivalent mutants too (a kill disproves one)")
    args = ap.parse_args()

    every = sites()
    by_pkg = {p: sum(1 for m in every if m.package == p) for p in PACKAGES}
    chosen = ([m for m in every if m.where in args.only] if args.only
              else sample(every, args.sample, args.seed))
    texts = {m.path: (ROOT / m.path).read_text(encoding="utf-8")
             for m in every}
    register = equivalents()
    for e in register:  # an entry no site matches any more: the code moved on, say so
        if not any(e.matches(m, texts[m.path]) for m in every if m.path == e.path):
            print(f"warning: {EQUIVALENT.name}: no site matches {e.path}: {e.before!r} -> "
                  f"{e.after!r} (stale entry)", flush=True)
    equivalent = {m: e for m in chosen for e in register if e.matches(m, texts[m.path])}
    print(f"{len(every)} mutation sites ("
          + ", ".join(f"{p} {n}" for p, n in by_pkg.items()) + f"); running {len(chosen)} "
          f"(seed {args.seed}); {len(equivalent)} registered equivalent", flush=True)
    if args.list:
        for m in chosen:
            before, after = m.describe(texts[m.path])
            tag = " [equivalent]" if m in equivalent else ""
            print(f"  {m.where:28} {m.kind:9} {before}\n  {'':28} {'':9} {after}{tag}")
        return 0
    to_run = [m for m in chosen if m not in equivalent or args.run_equivalent]

    copies = list(_workers(max(1, args.jobs)))
    try:
        if args.screen:  # a first look: the per-test limit catches a looping mutant
            timeout = args.timeout or 600.0
        else:
            baseline, took = _run_suite(copies[0], timeout=3600)
            if baseline != "survived":
                raise SystemExit("the unmutated suite fails: fix that first")
            timeout = args.timeout or max(120.0, 3 * took)
            print(f"unmutated suite: passes in {took:.0f} s; limit per mutant {timeout:.0f} s",
                  flush=True)
        free = list(copies)
        results: dict[Mutant, tuple[str, float]] = {}

        def one(m: Mutant) -> None:
            copy = free.pop()
            target = copy / m.path
            try:
                target.write_text(m.apply(texts[m.path]), encoding="utf-8")
                results[m] = _run_suite(copy, timeout, FIRST[m.package], args.screen)
                if results[m][0] == "timeout":
                    # a busy machine, or a hang? Once more with twice the time: only a
                    # mutant that runs past that too counts as a hang (killed)
                    results[m] = _run_suite(copy, 2 * timeout, FIRST[m.package], args.screen)
            finally:
                target.write_text(texts[m.path], encoding="utf-8")
                free.append(copy)
            verdict, secs = results[m]
            print(f"  [{len(results):3}/{len(to_run)}] {verdict:8} {secs:5.0f} s  {m.where}",
                  flush=True)

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            list(pool.map(one, to_run))
    finally:
        for c in copies:
            shutil.rmtree(c, ignore_errors=True)

    killed = [m for m in to_run if results[m][0] != "survived"]
    survivors = [m for m in to_run if results[m][0] == "survived" and m not in equivalent]
    print()
    if args.screen:
        print(f"screening (the package's own test folders only, not the whole suite): "
              f"{len(killed)}/{len(to_run)} killed; no kill rate")
        for m in survivors:
            before, after = m.describe(texts[m.path])
            print(f"  {m.where} ({m.kind})\n      - {before}\n      + {after}")
        return 0
    for p in PACKAGES:
        ms = [m for m in chosen if m.package == p]
        if ms:
            k = sum(1 for m in ms if m in killed)
            eq = sum(1 for m in ms if m in equivalent)
            print(f"  {p:6} {k}/{len(ms)} killed" + (f", {eq} equivalent" if eq else ""))
    raw = len(killed) / len(chosen) if chosen else 1.0
    live = [m for m in chosen if m not in equivalent]
    rate = sum(1 for m in live if m in killed) / len(live) if live else 1.0
    print(f"kill rate (raw) {len(killed)}/{len(chosen)} = {raw:.0%}")
    print(f"kill rate over non-equivalent mutants {sum(1 for m in live if m in killed)}/"
          f"{len(live)} = {rate:.0%} (goal >= 90%: {'PASS' if rate >= 0.9 else 'FAIL'}); "
          f"timeouts counted as killed: {sum(1 for m in to_run if results[m][0] == 'timeout')}")
    if equivalent:
        print("equivalent (benchmarks/mutation_equivalent.toml):")
        for m, e in equivalent.items():
            before, after = m.describe(texts[m.path])
            note = ""
            if m in results:
                note = (" -- KILLED: not equivalent, fix the register" if m in killed
                        else " -- survived this run too")
            print(f"  {m.where} ({m.kind}){note}\n      - {before}\n      + {after}\n"
                  f"      why: {e.reason}")
    if survivors:
        print("survivors:")
        for m in survivors:
            before, after = m.describe(texts[m.path])
            print(f"  {m.where} ({m.kind})\n      - {before}\n      + {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
