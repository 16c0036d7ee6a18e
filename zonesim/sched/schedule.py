"""Schedule strings: a compact, versioned, copy-pasteable form of a run's choices.

    zs2:<fingerprint>:<tokens>[~<label>~<label>...]
    tokens = token ("." token)*  |  ""        e.g.  cpu1@0.cpu1@1*2.cpu0@2.#1@3~start~op:alloc~...
    token  = (<cpu name> | "#"<option>) ["@"<label index>] ["*"<count>]

CPU choices are written by name (stable across CPU reordering), data choices as ``#index``.
Each decision is *anchored* on the switch point (or ``choose``) label where it was taken,
as an index into the label table after ``~``; labels are percent-encoded outside
``[A-Za-z0-9_:>.\\[\\]-]``. Runs of equal (choice, label) are run-length encoded. Replay
uses the anchors to find where an edited scenario stops following the schedule
(``replay.first_divergence``). The fingerprint (``[A-Za-z0-9_-]+``) is opaque here: the
engine hashes what decides behaviour.

    zs1:<fingerprint>:<tokens>      (read only: zonesim wrote these before anchors)

has no anchors and no label table; the body is whatever follows the last ':'.

Every count is bounded *before* anything is expanded: a schedule holds at most
``max_decisions`` decisions (the replaying execution's step bound: an execution makes at
most one decision per step), so ``cpu0*99999999999999999999`` is a one-line error, not
an ``OverflowError`` or a ``MemoryError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zonesim.sched.choice import Choice, ChoiceValue
from zonesim.sched.errors import ScheduleFormatError

MAGIC = "zs2"
LEGACY_MAGIC = "zs1"
#: Decisions a schedule may hold when the caller gives no step bound: the largest step
#: bound zonesim's memory limit admits (zonesim.scenario.limits.max_step_bound()).
DEFAULT_MAX_DECISIONS = 1 << 22
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_REST = _NAME_FIRST | frozenset("0123456789-")
_FP_CHARS = _NAME_REST
_LABEL_SAFE = _NAME_REST | frozenset(":>.[]")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A decoded schedule: ``values[i]`` is decision i (cpu name or option index),
    ``labels[i]`` the switch point it was taken at (None: not anchored, as in zs1)."""

    version: str
    fingerprint: str
    values: tuple[ChoiceValue, ...]
    labels: tuple[str | None, ...]

    @property
    def anchored(self) -> bool:
        return any(label is not None for label in self.labels)


def _value_token(value: ChoiceValue) -> str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"option index {value} is negative")
        return f"#{value}"
    if not value or value[0] not in _NAME_FIRST or not set(value) <= _NAME_REST:
        raise ValueError(f"cpu name {value!r} cannot be written in a schedule")
    return value


def _quote(label: str) -> str:
    return "".join(
        ch if ch in _LABEL_SAFE else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in label
    )


def _unquote(text: str, pos: int) -> str:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            digits = text[i + 1 : i + 3]
            if len(digits) != 2 or not all(c in "0123456789ABCDEFabcdef" for c in digits):
                raise ScheduleFormatError(
                    f"schedule label {pos}: expected '%' followed by two hex digits"
                )
            out.append(int(digits, 16))
            i += 3
            continue
        if ch not in _LABEL_SAFE:
            raise ScheduleFormatError(
                f"schedule label {pos}: character {ch!r} must be percent-encoded"
            )
        out += ch.encode("ascii")
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ScheduleFormatError(f"schedule label {pos}: not UTF-8 once decoded") from None


def encode(choices: Iterable[Choice | ChoiceValue], fingerprint: str) -> str:
    """Encode choices with ``fingerprint`` as a ``zs2`` string.

    ``Choice`` records are anchored on their labels; bare values are written unanchored.
    """
    if not fingerprint or not set(fingerprint) <= _FP_CHARS:
        raise ValueError(f"fingerprint {fingerprint!r}: expected [A-Za-z0-9_-]+")
    labels: dict[str, int] = {}
    parts: list[str] = []
    prev: str | None = None
    count = 0
    for c in choices:
        if isinstance(c, Choice):
            idx = labels.setdefault(c.label, len(labels))
            tok = f"{_value_token(c.value)}@{idx}"
        else:
            tok = _value_token(c)
        if tok == prev:
            count += 1
            continue
        if prev is not None:
            parts.append(prev if count == 1 else f"{prev}*{count}")
        prev, count = tok, 1
    if prev is not None:
        parts.append(prev if count == 1 else f"{prev}*{count}")
    table = "".join("~" + _quote(label) for label in labels)
    return f"{MAGIC}:{fingerprint}:{'.'.join(parts)}{table}"


def _shown(tok: str) -> str:
    return repr(tok if len(tok) <= 40 else tok[:37] + "...")


def _count(tok: str, tail: str, pos: int) -> int:
    """The run length after '*': digits only, at most 9 of them (checked before int(),
    which is slow on a huge digit string and raises past sys.get_int_max_str_digits())."""
    if not tail.isascii() or not tail.isdigit() or len(tail) > 9 or int(tail) < 1:
        raise ScheduleFormatError(
            f"schedule token {pos} {_shown(tok)}: expected a count 1..999999999 after '*'"
        )
    return int(tail)


def _parse_value(head: str, tok: str, pos: int) -> ChoiceValue:
    if head.startswith("#"):
        digits = head[1:]
        if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
            raise ScheduleFormatError(
                f"schedule token {pos} {_shown(tok)}: expected '#' followed by an option "
                "index (at most 9 digits)"
            )
        return int(digits)
    if not head or head[0] not in _NAME_FIRST or not set(head) <= _NAME_REST:
        raise ScheduleFormatError(
            f"schedule token {pos} {_shown(tok)}: expected a cpu name "
            "([A-Za-z_][A-Za-z0-9_-]*) or '#<option>'"
        )
    return head


def parse_schedule(s: str, *, max_decisions: int = DEFAULT_MAX_DECISIONS) -> Schedule:
    """Parse a ``zs2`` or ``zs1`` schedule string.

    Raises ``ScheduleFormatError`` (one line, saying what was expected) on anything else,
    including more than ``max_decisions`` decisions, before any run is expanded.
    """
    s = s.strip()
    magic, sep, rest = s.partition(":")
    if magic not in (MAGIC, LEGACY_MAGIC) or not sep:
        shown = s[:20] + ("..." if len(s) > 20 else "")
        raise ScheduleFormatError(
            f"schedule {shown!r}: expected it to start with '{MAGIC}:' (or '{LEGACY_MAGIC}:')"
        )
    if magic == LEGACY_MAGIC:
        fingerprint, sep, body = rest.rpartition(":")
        table: list[str | None] = []
    else:
        fingerprint, sep, body = rest.partition(":")
    if not sep:
        raise ScheduleFormatError(
            f"schedule: expected '{magic}:<fingerprint>:<body>', found no ':' after the "
            "fingerprint"
        )
    if any(ch.isspace() for ch in fingerprint):
        raise ScheduleFormatError("schedule: expected a fingerprint without whitespace")
    if magic == MAGIC:
        if not fingerprint or not set(fingerprint) <= _FP_CHARS:
            raise ScheduleFormatError(
                "schedule: expected a fingerprint of [A-Za-z0-9_-] (16 hex digits from zonesim)"
            )
        body, *raw_labels = body.split("~")
        table = [_unquote(text, i) for i, text in enumerate(raw_labels)]
    if body.count(".") + 1 > max_decisions:
        raise ScheduleFormatError(
            f"schedule: {body.count('.') + 1} tokens exceed the limit of {max_decisions} "
            "decisions, the most the replaying execution can take (at most one per step)"
        )
    values: list[ChoiceValue] = []
    labels: list[str | None] = []
    budget = max_decisions
    if body:
        for pos, tok in enumerate(body.split(".")):
            head, star, tail = tok.partition("*")
            count = _count(tok, tail, pos) if star else 1
            if count > budget:
                raise ScheduleFormatError(
                    f"schedule token {pos} {_shown(tok)}: more than {max_decisions} decisions, "
                    "the most the replaying execution can take (at most one per step)"
                )
            head, at, anchor = head.partition("@")
            value = _parse_value(head, tok, pos)
            label: str | None = None
            if at:
                if magic == LEGACY_MAGIC:
                    raise ScheduleFormatError(
                        f"schedule token {pos} {_shown(tok)}: zs1 schedules have no '@' anchors"
                    )
                ok = anchor.isascii() and anchor.isdigit() and len(anchor) <= 9
                if not ok or int(anchor) >= len(table):
                    raise ScheduleFormatError(
                        f"schedule token {pos} {_shown(tok)}: expected '@' followed by the "
                        f"index of a label (0..{len(table) - 1}) in the table after '~'"
                    )
                label = table[int(anchor)]
            budget -= count
            values.extend([value] * count)
            labels.extend([label] * count)
    return Schedule(magic, fingerprint, tuple(values), tuple(labels))


def decode(s: str, *, max_decisions: int = DEFAULT_MAX_DECISIONS) -> tuple[str, list[ChoiceValue]]:
    """``(fingerprint, choice values)`` of a schedule string, for ``ReplayStrategy``."""
    sched = parse_schedule(s, max_decisions=max_decisions)
    return sched.fingerprint, list(sched.values)
