"""Everything a command prints or writes goes through here: stdout (text or one JSON
object), one-line errors on stderr, tables, and the files the user named: checked before
any work (``check_file``), written atomically (a temp file in the same directory, then a
rename, so a reader never sees half a file and a failed write leaves the old file as it
was), and a write that fails after the work is remembered so that the result still
reaches stdout (``write_file``, ``unwritten``)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from zonesim import api


class Output:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self.unwritten: list[str] = []  # "option path: reason" of files not written

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

    def interrupted(self, command: str, signal_name: str, what: str) -> None:
        """One line on stderr: the command stopped on a signal, and what the output covers."""
        self.error(f"zonesim {command}: interrupted by {signal_name or 'SIGINT'}; {what}")

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

    def check_file(self, path: Path | None, option: str) -> None:
        """Before any work: a file the user wants written must be writable (one line,
        exit 2, nothing run)."""
        if path is not None:
            api.check_output_file(path, option)

    def write_file(self, path: Path, text: str | bytes, option: str) -> bool:
        """Write a file the user named with ``option``, atomically (``zonesim.files``).
        A write that fails now (a full disk, a file system gone read-only) does not lose
        the result: it is remembered in ``unwritten``, the command prints its result, and
        ``main`` names the file in one line and exits non-zero. False when not written."""
        try:
            api.write_text(path, text)
        except OSError as exc:
            self.unwritten.append(f"{option} {path}: {exc.strerror or exc}")
            return False
        return True

    def not_written(self, what: str) -> None:
        """A file the command could not write (e.g. an artifact), said by ``main``."""
        self.unwritten.append(what)
