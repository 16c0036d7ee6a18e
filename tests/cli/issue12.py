"""Helpers of the issue 12 regression and fuzz tests: the CLI in-process with its output
captured and its peak memory measured, in a subprocess under resource limits, and the
artifacts they work on."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
ALLOC_FREE = ROOT / "tests" / "matrix" / "data" / "pass" / "alloc-free.toml"
CMA_B = ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"


@dataclass(frozen=True, slots=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float
    peak: int  # bytes allocated at most while it ran (tracemalloc), 0 when not measured

    def one_line_error(self) -> bool:
        """Exit 2 with exactly one line on stderr and no traceback."""
        return self.code == 2 and self.err.count("\n") == 1 and "Traceback" not in self.err

    def json(self) -> dict[str, object]:
        doc = json.loads(self.out)
        assert isinstance(doc, dict)
        return doc


def cli(*args: str | os.PathLike[str], measure: bool = False) -> Ran:
    """``zonesim ARGS`` in this process (sys.stdout/stderr captured), with its wall time
    and, with ``measure``, its peak allocation."""
    out, err = io.StringIO(), io.StringIO()
    if measure:
        tracemalloc.start()
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([os.fspath(a) for a in args])
    finally:
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if measure else 0
        if measure:
            tracemalloc.stop()
    return Ran(code, out.getvalue(), err.getvalue(), took, peak)


def limit_memory(limit: int) -> None:
    """``preexec_fn``: cap the address space (a runaway allocation becomes MemoryError)."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def subprocess_cli(*args: str | os.PathLike[str], cwd: Path | None = None,
                   address_space: int | None = None, timeout: float = 120,
                   **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m zonesim ARGS`` in a child process, optionally under RLIMIT_AS."""
    pre = None if address_space is None else (lambda: limit_memory(address_space))
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "zonesim", *map(os.fspath, args)], cwd=cwd, text=True,
        capture_output=True, timeout=timeout, check=False, preexec_fn=pre, **kwargs)


def found_artifact(directory: Path) -> Path:
    """An artifact of a real finding: foreign-undo under v5.19 (one preemption)."""
    ran = cli("explore", FOREIGN, "--policy", "v5.19", "--strategy", "dfs", "--executions",
              "50", "--artifacts", directory, "--json", "-q")
    assert ran.code == 1, ran.err
    violations = ran.json()["violations"]
    assert isinstance(violations, list)
    return Path(violations[0]["artifact"])


def copy_artifact(source: Path, directory: Path, **changes: object) -> Path:
    """A copy of ``source`` in ``directory`` with top-level keys changed."""
    doc = json.loads(source.read_text())
    doc.update(changes)
    target = directory / f"edited-{len(list(directory.iterdir()))}.json"
    target.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return target


def unshare_works() -> bool:
    """A user and mount namespace of our own (for a tiny or read-only tmpfs, no root)."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    r = subprocess.run([exe, "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                       capture_output=True, check=False)
    return r.returncode == 0


def in_small_tmpfs(script: str, mount: Path, *, size: str = "256k",
                   timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the shell ``script`` with a fresh tmpfs of ``size`` mounted at ``mount``, in a
    user + mount namespace of its own (nothing outside it sees the mount)."""
    mount.mkdir(parents=True, exist_ok=True)
    setup = f"mount -t tmpfs -o size={size} tmpfs {mount} && "
    return subprocess.run(["unshare", "-rm", "sh", "-c", setup + script], text=True,
                          capture_output=True, timeout=timeout, check=False)
