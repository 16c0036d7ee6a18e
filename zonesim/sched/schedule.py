"""Schedule strings: a compact, versioned, copy-pasteable form of a run's choices.

    zs1:<fingerprint>:<body>
    body  = token ("." token)*  |  ""            e.g.  cpu0*12.cpu1*3.#2.cpu0*5
    token = <cpu name>["*"<count>]  |  "#"<option>["*"<count>]

CPU choices are written by name (stable across CPU reordering), data choices as ``#index``;
runs of equal choices are run-length encoded.  The fingerprint is opaque (the engine hashes
scenario + policy + model version); it must not contain whitespace, and since the body never
contains ':' the body is whatever follows the last ':'.
"""

from __future__ import annotations

from collections.abc import Iterable

from zonesim.sched.choice import Choice, ChoiceValue
from zonesim.sched.errors import ScheduleFormatError

MAGIC = "zs1"
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_REST = _NAME_FIRST | frozenset("0123456789-")


def _token(value: ChoiceValue) -> str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"option index {value} is negative")
        return f"#{value}"
    if not value or value[0] not in _NAME_FIRST or not set(value) <= _NAME_REST:
        raise ValueError(f"cpu name {value!r} cannot be written in a schedule")
    return value


def encode(choices: Iterable[Choice | ChoiceValue], fingerprint: str) -> str:
    """Encode choice values (``Choice`` records or bare values) with ``fingerprint``."""
    if any(ch.isspace() for ch in fingerprint):
        raise ValueError(f"fingerprint {fingerprint!r} contains whitespace")
    parts: list[str] = []
    prev: str | None = None
    count = 0
    for c in choices:
        tok = _token(c.value if isinstance(c, Choice) else c)
        if tok == prev:
            count += 1
            continue
        if prev is not None:
            parts.append(prev if count == 1 else f"{prev}*{count}")
        prev, count = tok, 1
    if prev is not None:
        parts.append(prev if count == 1 else f"{prev}*{count}")
    return f"{MAGIC}:{fingerprint}:{'.'.join(parts)}"


def _parse_token(tok: str, pos: int) -> tuple[ChoiceValue, int]:
    head, star, tail = tok.partition("*")
    count = 1
    if star:
        if not tail.isdigit() or not tail.isascii() or int(tail) < 1:
            raise ScheduleFormatError(
                f"schedule token {pos} {tok!r}: expected a count >= 1 after '*'"
            )
        count = int(tail)
    if head.startswith("#"):
        digits = head[1:]
        if not digits.isdigit() or not digits.isascii():
            raise ScheduleFormatError(
                f"schedule token {pos} {tok!r}: expected '#' followed by an option index"
            )
        return int(digits), count
    if not head or head[0] not in _NAME_FIRST or not set(head) <= _NAME_REST:
        raise ScheduleFormatError(
            f"schedule token {pos} {tok!r}: expected a cpu name ([A-Za-z_][A-Za-z0-9_-]*) "
            "or '#<option>'"
        )
    return head, count


def decode(s: str) -> tuple[str, list[ChoiceValue]]:
    """Parse a schedule string into ``(fingerprint, choice values)`` for ``ReplayStrategy``.

    Raises ``ScheduleFormatError`` (one line, saying what was expected) on anything else.
    """
    s = s.strip()
    magic, sep, rest = s.partition(":")
    if magic != MAGIC or not sep:
        shown = s[:20] + ("..." if len(s) > 20 else "")
        raise ScheduleFormatError(f"schedule {shown!r}: expected it to start with '{MAGIC}:'")
    fingerprint, sep, body = rest.rpartition(":")
    if not sep:
        raise ScheduleFormatError(
            "schedule: expected 'zs1:<fingerprint>:<body>', found no ':' after the fingerprint"
        )
    if any(ch.isspace() for ch in fingerprint):
        raise ScheduleFormatError("schedule: expected a fingerprint without whitespace")
    values: list[ChoiceValue] = []
    if body:
        for pos, tok in enumerate(body.split(".")):
            value, count = _parse_token(tok, pos)
            values.extend([value] * count)
    return fingerprint, values
