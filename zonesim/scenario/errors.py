"""ScenarioError: bad input in a scenario file, always reported on one line.

The message format is ``FILE: KEY.PATH: what was expected, got VALUE`` (or
``FILE:LINE:COL: ...`` for TOML syntax errors), so that an editor can jump to it and a
user reads in one line what was attempted, which rule it broke and the way out.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time


class ScenarioError(Exception):
    """A scenario file is malformed: the user's fault, never the simulator's.

    ``file`` is the file name as given by the caller, ``path`` the TOML key path
    (``cpu[1].ops[0].order``; empty for file-level problems), ``message`` the rule that was
    broken. ``line``/``column`` are set only for TOML syntax errors.
    """

    def __init__(
        self,
        file: str,
        path: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        # Newlines would break the one-line contract (a value echoed back may contain one).
        self.file = file
        self.path = path
        self.message = " ".join(message.split("\n"))
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}:{self.column or 1}: {self.message}"
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default pickling of exceptions; explore
        # workers send errors across processes.
        return (_rebuild, (self.file, self.path, self.message, self.line, self.column))


def _rebuild(
    file: str, path: str, message: str, line: int | None, column: int | None
) -> ScenarioError:
    return ScenarioError(file, path, message, line=line, column=column)


def describe(value: object, limit: int = 40) -> str:
    """Render a parsed TOML value the way the user wrote it (``"nine"``, ``true``, ``3.5``).

    Long values are shortened so the error stays one readable line.
    """
    text: str
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, float):
        text = repr(value)  # nan, inf, 3.5: TOML spells them the same way
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "[" + ", ".join(describe(v, limit) for v in value[:4])
        text += ", ...]" if len(value) > 4 else "]"
    elif isinstance(value, datetime | date | time):
        text = f"a date/time ({value.isoformat()})"
    else:  # pragma: no cover - tomllib produces nothing else
        text = type(value).__name__
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return " ".join(text.split("\n"))
