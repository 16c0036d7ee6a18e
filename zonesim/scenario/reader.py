"""Generic reading of one TOML table against its :class:`TableSpec`.

Checks unknown keys (first: a typo ``ordr`` should be reported as such, not as a missing
``order``), then each declared key in declaration order, then derived defaults. Values of
nested kinds (ops, options, arrays of tables) are only checked to be arrays of tables here;
the caller descends into them with its own path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from zonesim.scenario.errors import ScenarioError, describe
from zonesim.scenario.spec import Env, FieldSpec, Kind, TableSpec

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
REF_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\[(0|[1-9][0-9]*)\])?")
_BARE_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def join(path: str, key: str) -> str:
    """``cpu[0].ops[1]`` + ``order``; keys that are not bare TOML keys are quoted."""
    if not _BARE_KEY.fullmatch(key):
        key = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path}.{key}" if path else key


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Reader:
    """Reads tables of one file; every error it raises names that file."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, path: str, message: str) -> ScenarioError:
        return ScenarioError(self.file, path, message)

    def expect_table(self, raw: object, path: str, what: str) -> dict[str, object]:
        if not isinstance(raw, dict):
            raise self.error(path, f"expected {what}, got {describe(raw)}")
        return raw

    def expect_tables(self, raw: object, path: str, what: str) -> list[dict[str, object]]:
        """An array whose elements are all tables (``[[x]]`` or ``[{...}, ...]``)."""
        if not isinstance(raw, list):
            raise self.error(path, f"expected {what}, got {describe(raw)}")
        for i, item in enumerate(raw):
            self.expect_table(item, f"{path}[{i}]", "a table")
        return raw

    def check_keys(self, raw: Mapping[str, object], path: str, allowed: tuple[str, ...]) -> None:
        for key in raw:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                raise self.error(
                    join(path, key),
                    f"unknown key {key!r}{hint}; expected one of: {one_of(allowed)}",
                )

    def read_table(
        self,
        raw: Mapping[str, object],
        spec: TableSpec,
        path: str,
        env: Env,
        *,
        in_setup: bool = True,
        extra_keys: tuple[str, ...] = (),
    ) -> dict[str, object]:
        """Validate ``raw`` against ``spec``; returns ``{attr: value}`` with defaults.

        ``env`` supplies the zone-dependent bounds; integer values read from this table are
        visible to later keys' bounds (``pageblock_order`` below ``max_order``).
        """
        allowed = (*extra_keys, *spec.field_names(in_setup))
        for key in raw:
            fs = spec.by_name.get(key)
            if fs is not None and fs.setup_only and not in_setup:
                raise self.error(
                    join(path, key),
                    f"{key!r} is only allowed in [[setup]] ops (it pins the initial state "
                    "before the CPUs start)",
                )
        self.check_keys(raw, path, allowed)
        local_env = dict(env)
        values: dict[str, object] = {}
        for fs in spec.fields:
            if fs.setup_only and not in_setup:
                values[fs.py_name] = fs.default
                continue
            key_path = join(path, fs.name)
            if fs.name in raw:
                value = self.read_value(fs, raw[fs.name], key_path, local_env)
                if isinstance(value, int) and not isinstance(value, bool):
                    local_env[fs.name] = value
            elif fs.required:
                raise self.error(
                    key_path, f"missing required key; expected {expectation(fs, local_env)}"
                )
            elif fs.derived is not None:
                continue  # filled in below, once every explicit key is known
            else:
                value = fs.default
            values[fs.py_name] = value
        for fs in spec.fields:
            if fs.derived is not None and fs.py_name not in values:
                values[fs.py_name] = fs.derived(values, local_env)
        return values

    def read_value(self, fs: FieldSpec, value: object, path: str, env: Env) -> object:
        """Check one value against its declaration and convert it (lists -> tuples)."""
        kind = fs.kind
        if kind is Kind.INT:
            lo = fs.lo.resolve(env) if fs.lo else None
            hi = fs.hi.resolve(env) if fs.hi else None
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or (lo is not None and value < lo)
                or (hi is not None and value > hi)
            ):
                raise self.error(path, f"expected {int_range(lo, hi)}, got {describe(value)}")
            return value
        if kind is Kind.BOOL:
            if not isinstance(value, bool):
                raise self.error(path, f"expected true or false, got {describe(value)}")
            return value
        if kind is Kind.STR:
            if not isinstance(value, str) or not value.strip():
                raise self.error(path, f"expected a non-empty string, got {describe(value)}")
            return value
        if kind is Kind.CHOICE:
            if not isinstance(value, str) or value not in fs.choices:
                hint = did_you_mean(value, fs.choices) if isinstance(value, str) else ""
                raise self.error(path, f"expected {expectation(fs)}, got {describe(value)}{hint}")
            return value
        if kind in (Kind.NAME, Kind.REF):
            pattern = NAME_RE if kind is Kind.NAME else REF_RE
            if not isinstance(value, str) or not pattern.fullmatch(value):
                raise self.error(path, f"expected {expectation(fs)}, got {describe(value)}")
            return value
        if kind is Kind.RANGE:
            return self.read_range(value, path, env)
        if kind is Kind.FLAGS:
            if not isinstance(value, list):
                raise self.error(path, f"expected {expectation(fs)}, got {describe(value)}")
            for i, flag in enumerate(value):
                if not isinstance(flag, str) or flag not in fs.choices:
                    raise self.error(
                        f"{path}[{i}]",
                        f"expected one of {quoted(fs.choices)}, got {describe(flag)}",
                    )
                if flag in value[:i]:
                    raise self.error(f"{path}[{i}]", f"flag {flag!r} given twice")
            return tuple(value)
        if kind in (Kind.OPS, Kind.TABLES):
            self.expect_tables(value, path, expectation(fs))
            return value
        if kind is Kind.OPTIONS:
            options = self.expect_tables(value, path, expectation(fs))
            if not options:
                raise self.error(path, "expected at least one option, got []")
            return value
        raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover

    def read_range(self, value: object, path: str, env: Env) -> tuple[int, int]:
        """``[start, end]`` with ``start < end``, inside the zone when the zone is known."""
        shape = "a pfn range [start, end] (end exclusive)"
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise self.error(path, f"expected {shape}, got {describe(value)}")
        start, end = value
        if start >= end:
            raise self.error(path, f"expected start < end, got {describe(value)}")
        if "start_pfn" in env and (start < env["start_pfn"] or end > env["end_pfn"]):
            raise self.error(
                path,
                f"expected a range inside the zone [{env['start_pfn']}, {env['end_pfn']}), "
                f"got {describe(value)}",
            )
        return (start, end)


def int_range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"an integer {lo}..{hi}"
    if lo is not None:
        return f"an integer >= {lo}"
    return "an integer"


def quoted(choices: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in choices)


def expectation(fs: FieldSpec, env: Env | None = None) -> str:
    """What a key expects, in words (the zone's bounds when ``env`` is given)."""
    kind = fs.kind
    if kind is Kind.INT:
        if env is not None:
            return int_range(
                fs.lo.resolve(env) if fs.lo else None, fs.hi.resolve(env) if fs.hi else None
            )
        return int_range(fs.lo.static if fs.lo else None, fs.hi.static if fs.hi else None)
    if kind is Kind.CHOICE:
        return f"one of {quoted(fs.choices)}"
    if kind is Kind.FLAGS:
        return f"a list of distinct flags from {quoted(fs.choices)}"
    if kind is Kind.OPS:
        return 'an array of op tables ([{ op = "...", ... }, ...])'
    if kind is Kind.TABLES:
        return "an array of tables"
    if kind is Kind.OPTIONS:
        return "an array of option tables ([{ weight = 1, ops = [...] }, ...])"
    if kind is Kind.RANGE:
        return "a pfn range [start, end] (end exclusive)"
    if kind is Kind.BOOL:
        return "true or false"
    return str(kind.value)
