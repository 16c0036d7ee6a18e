"""Field definitions: each scenario table's keys are declared once, as data.

Both the validator (``reader.py``) and the JSON Schema (``schema.py``) are derived from
these declarations, so the two cannot drift apart. A declaration says the key's name, its
kind, its range, its default and a one-line doc.

Some limits depend on the zone (an order must be below ``zone.max_order``, a pfn inside
the zone). Such a limit is a :class:`Bound` with a *static* value — the loosest legal value,
which the JSON Schema uses — and an expression evaluated against the zone while validating.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Env = Mapping[str, int]
"""Integers a bound or a derived default may read: the zone's geometry plus the values
already read from the current table (``max_order`` while reading ``[zone]``)."""


class Kind(enum.Enum):
    """What a key holds."""

    INT = "integer"
    BOOL = "boolean"
    STR = "string"
    CHOICE = "one of a fixed set of strings"
    NAME = "a name (letters, digits, '_', '-'; starting with a letter or '_')"
    REF = "a name defined earlier with 'as'"
    RANGE = "a pfn range [start, end)"
    FLAGS = "a list of distinct flag names"
    OPS = "a list of op tables"
    OPTIONS = "a list of {weight, ops} tables"
    TABLES = "an array of tables"


@dataclass(frozen=True, slots=True)
class Bound:
    """An inclusive integer limit.

    ``static`` is the limit that holds for every zone (used by the JSON Schema); when
    ``expr`` is set the real limit is ``fn(env)`` and ``expr`` is how messages spell it.
    """

    static: int | None
    expr: str | None = None
    fn: Callable[[Env], int] | None = None

    def resolve(self, env: Env) -> int | None:
        """The limit for this zone (or the static one when the zone does not decide)."""
        if self.fn is not None:
            try:
                return self.fn(env)
            except KeyError:
                # The zone could not be read (it is itself being validated): fall back.
                return self.static
        return self.static


class _Required:
    """Marker type of :data:`REQUIRED`: the key has no default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One key of a TOML table.

    ``attr`` is the Python attribute the value lands in (``as`` -> ``as_name``,
    ``type`` -> ``migratetype``). ``default`` is a constant, :data:`REQUIRED`, or ``None``
    for "optional, absent means None"; ``derived`` computes a default from other keys of
    the same table (``cma`` defaults to ``type == "movable"``) and ``default_doc`` explains
    it in the schema. ``setup_only`` keys are legal only in ``[[setup]]`` ops.
    """

    name: str
    kind: Kind
    doc: str
    attr: str = ""
    default: object = REQUIRED
    derived: Callable[[Mapping[str, object], Env], object] | None = None
    default_doc: str = ""
    lo: Bound | None = None
    hi: Bound | None = None
    choices: tuple[str, ...] = ()
    setup_only: bool = False
    table: TableSpec | None = None  # the entries of a Kind.TABLES key

    @property
    def py_name(self) -> str:
        return self.attr or self.name

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.derived is None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A TOML table: its keys, in the order they are read and documented.

    ``title`` names the table in schema and messages (``"[zone]"``, ``"op 'alloc'"``).
    """

    title: str
    doc: str
    fields: tuple[FieldSpec, ...]
    by_name: Mapping[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def field_names(self, in_setup: bool = True) -> tuple[str, ...]:
        """Legal keys, in declaration order (setup-only keys dropped outside setup)."""
        return tuple(f.name for f in self.fields if in_setup or not f.setup_only)


def int_field(
    name: str,
    doc: str,
    *,
    lo: int | Bound | None = None,
    hi: int | Bound | None = None,
    default: object = REQUIRED,
    attr: str = "",
    derived: Callable[[Mapping[str, object], Env], object] | None = None,
    default_doc: str = "",
    setup_only: bool = False,
) -> FieldSpec:
    """Shorthand for an integer key; plain ints become static bounds."""
    return FieldSpec(
        name,
        Kind.INT,
        doc,
        attr=attr,
        default=default,
        derived=derived,
        default_doc=default_doc,
        lo=Bound(lo) if isinstance(lo, int) else lo,
        hi=Bound(hi) if isinstance(hi, int) else hi,
        setup_only=setup_only,
    )
