"""Everything a command prints or writes goes through here: stdout (text or one JSON
object), one-line errors on stderr, tables, and the files the user named (written
atomically: a temp file in the same directory, then a rename, so a reader never sees half
a file and a failed write leaves the old file as it was)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from zonesim.api import BadInput


class Output:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> TextIO:
        # looked up on use: pytest's capsys replaces sys.stdout after we are built
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    def text(self, text: str) -> None:
        self.stdout.write(text if text.endswith("\n") else text + "\n")

    def lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.stdout.write(line + "\n")

    def json(self, doc: Any) -> None:
        """One JSON object on one line of stdout (DESIGN.md §8), keys sorted."""
        self.stdout.write(json.dumps(doc, sort_keys=True) + "\n")

    def error(self, message: str) -> None:
        """Bad input: exactly one line on stderr."""
        self.stderr.write(" ".join(message.split("\n")) + "\n")
        self.stderr.flush()

    def not_applicable(self, args: argparse.Namespace | None, why: str) -> None:
        if args is not None and getattr(args, "json", False):
            self.json({"scenario": getattr(args, "scenario", None),
                       "policy": getattr(args, "policy", None),
                       "verdict": "n/a", "not_applicable": why})
        else:
            self.text(f"n/a: {why}")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]],
              title: str | None = None) -> None:
        """A plain table (rich): aligned columns, no colour when stdout is not a terminal,
        never wrapped to 80 columns in a pipe."""
        t = Table(*headers, box=box.SIMPLE_HEAD, title=title, title_justify="left",
                  show_edge=False, pad_edge=False, header_style="bold")
        for row in rows:
            t.add_row(*row)
        if self.stdout.isatty():
            Console(file=self.stdout, highlight=False).print(t)
            return
        buf = io.StringIO()
        Console(file=buf, width=160, no_color=True, highlight=False).print(t)
        self.lines([line.rstrip() for line in buf.getvalue().splitlines()])

    def check_writable(self, path: Path, option: str) -> Path:
        """The directory ``path`` will be written in; bad input (one line) when ``path`` is a
        directory or its directory does not exist. Checked before a long run, so a typo
        does not cost the run."""
        if path.is_dir():
            raise BadInput(f"{option} {path}: expected a file, got a directory")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise BadInput(f"{option} {path}: no such directory {parent}")
        return parent

    def write_file(self, path: Path, data: str | bytes, option: str) -> None:
        """Write a file the user named with ``option`` (text as UTF-8, or bytes); a path that
        cannot be written is bad input (one line), and whatever was there stays intact."""
        parent = self.check_writable(path, option)
        try:
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise BadInput(f"{option} {path}: cannot write: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise BadInput(f"{option} {path}: cannot write: {exc.strerror}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
