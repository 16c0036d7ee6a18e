"""``format_op``: one op as one kernel-like line for traces and reports.

``alloc(order=3, mt=MOVABLE) as a``, ``cma_alloc(cma0, count=512, align=9) as b``,
``isolate(start=0x200, end=0x400, mt=MOVABLE, flags=MEMORY_OFFLINE) expect=-EBUSY``.
pfns are hex (as the kernel prints them), counts and orders decimal; keys still at their
default are left out, except the ones a reader always wants (order, mt).
"""

from __future__ import annotations

import dataclasses
import enum

from zonesim.model.types import MigrateType
from zonesim.scenario.ops import Alloc, Choose, Op, Repeat

_PFN_KEYS = frozenset({"start", "end", "pfn"})
_COMMON = frozenset({"as_name", "expect", "path"})
_POSITIONAL = ("ref", "cma")  # rendered bare, first: free(a), cma_alloc(cma0, ...)
_ALWAYS = frozenset({"order", "migratetype"})


def _value(key: str, value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bool):
        return "true" if value else "false"
    if key in _PFN_KEYS and isinstance(value, int):
        return hex(value)
    if isinstance(value, tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def format_op(op: Op) -> str:
    """Render ``op`` on one line (nested ops of repeat/choose are summarised, not listed)."""
    args: list[str] = []
    if isinstance(op, Repeat):
        args = [f"times={op.times}", f"ops={len(op.ops)}"]
    elif isinstance(op, Choose):
        args = ["weights=" + ":".join(str(o.weight) for o in op.options)]
    else:
        for key in _POSITIONAL:
            value = getattr(op, key, None)
            if isinstance(value, str):
                args.append(value)
        for f in dataclasses.fields(op):
            key = f.name
            if key in _COMMON or (key in _POSITIONAL and isinstance(getattr(op, key), str)):
                continue
            value = getattr(op, key)
            if key not in _ALWAYS and value == _default(op, f):
                continue
            if isinstance(value, bool) and value and _default(op, f) is False:
                args.append(key)  # compound, not compound=true
                continue
            args.append(f"{'mt' if key == 'migratetype' else key}={_value(key, value)}")
    line = f"{op.KIND}({', '.join(args)})"
    if op.as_name:
        line += f" as {op.as_name}"
    if op.expect:
        line += f" expect={op.expect}"
    return line


def _default(op: Op, f: dataclasses.Field[object]) -> object:
    # alloc's cma/movable defaults follow its migratetype (see tables.py).
    if isinstance(op, Alloc) and f.name == "cma":
        return op.migratetype is MigrateType.MOVABLE
    if isinstance(op, Alloc) and f.name == "movable":
        return op.migratetype in (MigrateType.MOVABLE, MigrateType.CMA)
    return f.default
