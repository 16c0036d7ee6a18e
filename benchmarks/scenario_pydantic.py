"""The same measurement as scenario_declarative.py, with pydantic v2 instead of msgspec.

pydantic differs where it matters for exact messages: its errors are structured (location
tuple, error type, the input value, the bound in ``ctx``) and it reports *every* error, so
the translator needs no string parsing and can pick the error zonesim would report first
(unknown keys of a table before its values, keys in declaration order, the zone before
the ops).

Run: ``.venv/bin/pip install msgspec pydantic && .venv/bin/python benchmarks/scenario_pydantic.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from scenario_declarative import _bound, report

from zonesim.scenario.policyspec import VALUE_SHAPE
from zonesim.scenario.reader import did_you_mean, int_range, join, one_of, quoted

# ---- the declaration ------------------------------------------------ DECLARATION START
MT = Literal["unmovable", "movable", "reclaimable", "highatomic", "cma", "isolate"]
REQ = Literal["unmovable", "movable", "reclaimable", "highatomic", "cma"]
EXPECT = Literal["ok", "-EBUSY", "-ENOMEM", "fail", "null"]
NAME = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")]
REF = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*(\[(0|[1-9][0-9]*)\])?$")]
PFN = Annotated[int, Field(ge=0, le=1 << 40)]
COUNT = Annotated[int, Field(ge=1, le=1 << 28)]
ORDER = Annotated[int, Field(ge=0, le=15)]
TEXT = Annotated[str, Field(min_length=1)]
RANGE = Annotated[list[int], Field(min_length=2, max_length=2)]


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Head(Table):
    name: TEXT
    summary: TEXT
    source: TEXT | None = None
    description: TEXT | None = None


class RangeEntry(Table):
    range: RANGE


class PageblockEntry(Table):
    range: RANGE
    type: MT


class Zone(Table):
    pages: Annotated[int, Field(ge=1, le=1 << 28)]
    max_order: Annotated[int, Field(ge=1, le=16)] = 11
    pageblock_order: Annotated[int, Field(ge=0, le=15)] | None = None
    start_pfn: PFN = 0
    cpus: Annotated[int, Field(ge=1, le=64)] = 2
    movable_zone: bool = False
    pcp_high: Annotated[int, Field(ge=0)] | None = None
    pcp_batch: Annotated[int, Field(ge=1)] | None = None
    thp: bool = True
    pageblocks: list[PageblockEntry] = []
    holes: list[RangeEntry] = []
    reserved: list[RangeEntry] = []


class Cma(Table):
    name: NAME
    range: RANGE
    order_per_bit: Annotated[int, Field(ge=0, le=31)] = 0


class Op(Table):
    as_: NAME | None = Field(default=None, alias="as")
    expect: EXPECT | None = None


class Alloc(Op):
    op: Literal["alloc"]
    order: ORDER
    type: REQ = "movable"
    compound: bool = False
    cma: bool | None = None
    movable: bool | None = None
    pfn: PFN | None = None
    count: COUNT = 1


class Free(Op):
    op: Literal["free"]
    ref: REF


class AllocContigRange(Op):
    op: Literal["alloc_contig_range"]
    start: PFN
    end: PFN
    type: REQ = "movable"


class FreeContigRange(Op):
    op: Literal["free_contig_range"]
    ref: REF | None = None
    start: PFN | None = None
    count: COUNT | None = None


class CmaAlloc(Op):
    op: Literal["cma_alloc"]
    cma: NAME
    count: COUNT
    align: Annotated[int, Field(ge=0, le=31)] = 0


class CmaRelease(Op):
    op: Literal["cma_release"]
    ref: REF


class Migrate(Op):
    op: Literal["migrate"]
    ref: REF


class Isolate(Op):
    op: Literal["isolate"]
    start: PFN
    end: PFN
    type: REQ = "movable"
    flags: list[Literal["MEMORY_OFFLINE", "REPORT_FAILURE"]] = []


class Unisolate(Op):
    op: Literal["unisolate"]
    start: PFN
    end: PFN
    type: REQ = "movable"


class OfflinePages(Op):
    op: Literal["offline_pages"]
    start: PFN
    count: COUNT


class OnlinePages(Op):
    op: Literal["online_pages"]
    start: PFN
    count: COUNT


class VirtioMemUnplug(Op):
    op: Literal["virtio_mem_unplug"]
    start: PFN
    count: COUNT


class VirtioMemPlug(Op):
    op: Literal["virtio_mem_plug"]
    ref: REF | None = None
    start: PFN | None = None
    count: COUNT | None = None


class DrainAllPages(Op):
    op: Literal["drain_all_pages"]


class DrainLocalPages(Op):
    op: Literal["drain_local_pages"]


class PcpUpdate(Op):
    op: Literal["pcp_update"]
    high: Annotated[int, Field(ge=0)] | None = None
    batch: Annotated[int, Field(ge=1)] | None = None


class SoftOfflinePage(Op):
    op: Literal["soft_offline_page"]
    ref: REF | None = None
    pfn: PFN | None = None


class Repeat(Op):
    op: Literal["repeat"]
    times: Annotated[int, Field(ge=1, le=1 << 20)]
    ops: Annotated[list[AnyOp], Field(min_length=1)]


class Option(Table):
    weight: Annotated[int, Field(ge=1, le=1 << 20)] = 1
    ops: list[AnyOp]


class Choose(Op):
    op: Literal["choose"]
    options: Annotated[list[Option], Field(min_length=1)]


AnyOp = Annotated[
    Alloc | Free | AllocContigRange | FreeContigRange | CmaAlloc | CmaRelease | Migrate
    | Isolate | Unisolate | OfflinePages | OnlinePages | VirtioMemUnplug | VirtioMemPlug
    | DrainAllPages | DrainLocalPages | PcpUpdate | SoftOfflinePage | Repeat | Choose,
    Field(discriminator="op"),
]


class Cpu(Table):
    ops: list[AnyOp]


class Explore(Table):
    executions: Annotated[int, Field(ge=1)] | None = None
    max_steps: Annotated[int, Field(ge=1)] | None = None
    strategy: Literal["random", "pct", "dfs", "hypothesis"] | None = None
    preemption_bound: Annotated[int, Field(ge=0)] | None = None


class Document(Table):
    scenario: Head
    zone: Zone
    cma: list[Cma] = []
    setup: list[AnyOp] = []
    cpu: list[Cpu] = []
    expect: dict[str, str] = {}
    explore: Explore = Explore()


for _model in (Repeat, Option, Choose, Cpu, Document):
    _model.model_rebuild()
# ----------------------------------------------------------------------- DECLARATION END

# ---- the translator ------------------------------------------------- TRANSLATOR START
SECTIONS = ("scenario", "zone", "cma", "setup", "cpu", "expect", "explore")
OPS = {m.model_fields["op"].annotation.__args__[0]: m for m in AnyOp.__origin__.__args__}
_TABLES = {"cma": "cma", "setup": None, "cpu": "cpu"}


def _model_at(loc: tuple[Any, ...], raw: Any) -> tuple[type[BaseModel], Any]:
    """The model of the table holding the last key of ``loc`` (and that table's raw value)."""
    model: Any = Document
    value = raw
    prev: Any = None
    for part in loc[:-1]:
        if isinstance(prev, int) and part in OPS:
            prev = part
            continue  # pydantic puts the op tag in the location: cpu.0.ops.0.alloc.order
        prev = part
        value = value[part] if isinstance(value, dict | list) else None
        if isinstance(value, dict) and isinstance(value.get("op"), str) and value["op"] in OPS:
            model = OPS[value["op"]]
            continue
        ann = model.model_fields.get(part) if isinstance(part, str) else None
        if ann is not None:
            for t in _flat(ann.annotation):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    model = t
    return model, value


def _flat(tp: Any) -> list[Any]:
    import typing

    out: list[Any] = []
    for t in typing.get_args(tp) or [tp]:
        if typing.get_origin(t) is Annotated:
            t = typing.get_args(t)[0]
        out.extend(_flat(t) if typing.get_args(t) else [t])
    return out


def _keys(model: type[BaseModel], in_setup: bool) -> list[str]:
    names = [f.alias or n for n, f in model.model_fields.items()]
    if issubclass(model, Op):
        names = ["op"] + [n for n in names if n not in ("op", "as", "expect")] + ["as", "expect"]
        if not in_setup and model is Alloc:
            names.remove("pfn")
    return names


def _order(loc: tuple[Any, ...], kind: str) -> tuple[Any, ...]:
    """zonesim's reading order: sections in dependency order, a table's unknown keys before
    its values, keys in declaration order."""
    key: list[Any] = []
    for i, part in enumerate(loc):
        if i == 0 and part in SECTIONS:
            key.append((SECTIONS.index(part), 0))
        elif isinstance(part, int):
            key.append((part, 0))
        elif part in OPS:
            continue
        else:
            key.append((0 if kind == "extra_forbidden" and i == len(loc) - 1 else 1, 0))
    return tuple(key)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in OPS or out.endswith("]") is False:
            out = join(out, str(part))
    return out


def _describe(value: Any) -> str:
    from zonesim.scenario.errors import describe

    return describe(value)


def last_of(e: Any) -> Any:
    return e["loc"][-1] if e["loc"] else ""


def translate(exc: ValidationError, raw: dict[str, Any]) -> tuple[str, str]:
    errors = sorted(exc.errors(), key=lambda e: _order(tuple(e["loc"]), e["type"]))
    e = errors[0]
    loc = tuple(p for i, p in enumerate(e["loc"]) if not (p in OPS and i and
                                                          isinstance(e["loc"][i - 1], int)))
    kind, value, path = e["type"], e.get("input"), _path(loc)
    model, _ = _model_at(tuple(e["loc"][:-1]) if isinstance(last_of(e), int) else
                         tuple(e["loc"]), raw)
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        allowed = _keys(model, path.startswith("setup"))
        return path, f"unknown key {last!r}{did_you_mean(str(last), allowed)}; " \
                     f"expected one of: {one_of(allowed)}"
    if kind == "missing" and len(loc) == 1:
        return path, f"missing required table [{last}]"
    if kind == "union_tag_not_found":
        return join(path, "op"), f"missing required key; expected one of: {one_of(OPS)}"
    if kind == "union_tag_invalid":
        tag = e["ctx"]["tag"]
        if not isinstance(value.get("op") if isinstance(value, dict) else None, str):
            return join(path, "op"), f"expected an op name (one of: {one_of(OPS)}), " \
                                     f"got {_describe(value.get('op'))}"
        return join(path, "op"), f"unknown op {tag!r}{did_you_mean(tag, OPS)}; " \
                                 f"expected one of: {one_of(OPS)}"
    if loc[0] == "expect" and len(loc) == 2:
        return path, f"expected {VALUE_SHAPE}, got {_describe(value)}"
    name = str(loc[-2] if isinstance(last, int) else last)  # flags[1]: the flags field
    field = model.model_fields.get("as_" if name == "as" else name)
    expected = _expected(name, field, raw)
    if kind == "missing":
        return path, f"missing required key; expected {expected}"
    if kind == "too_short":
        noun = "option" if last == "options" else "op"
        return path, f"expected at least one {noun}, got []"
    if last in _TABLES and kind == "list_type":
        return path, f"expected an array of tables ([[{last}]]), got a table"
    hint = did_you_mean(value, [str(a) for a in _flat(field.annotation) if isinstance(a, str)]) \
        if isinstance(value, str) and field else ""
    return path, f"expected {expected}, got {_describe(value)}{hint}"


def _expected(field: str, info: FieldInfo | None, raw: dict[str, Any]) -> str:
    import typing

    if field == "range":
        return "a pfn range [start, end] (end exclusive)"
    tp = info.annotation if info else None
    metas = list(info.metadata) if info else []
    for t in typing.get_args(tp):  # X | None keeps X's constraints in an Annotated
        if typing.get_origin(t) is Annotated:
            tp, metas = typing.get_args(t)[0], list(typing.get_args(t)[1].metadata)
    if tp is int:
        lo = next((m.ge for m in metas if hasattr(m, "ge")), None)
        hi = next((m.le for m in metas if hasattr(m, "le")), None)
        return int_range(*_bound(field, raw, lo, hi))
    choices = [a for a in _flat(tp) if isinstance(a, str)]
    if choices:
        return f"one of {quoted(choices)}"
    if field in ("as", "cma"):
        return "a name (letters, digits, '_', '-'; starting with a letter or '_')"
    if field == "ops":
        return 'an array of op tables ([{ op = "...", ... }, ...])'
    if bool in _flat(tp):
        return "true or false"
    return "a non-empty string"
# ------------------------------------------------------------------------ TRANSLATOR END


def pydantic_validate(raw: dict[str, Any]) -> tuple[str, str] | None:
    try:
        Document.model_validate(raw)
    except ValidationError as exc:
        try:
            return translate(exc, raw)
        except Exception as bug:
            return ("?", repr(bug))
    return None


def main() -> int:
    report("pydantic", Path(__file__), pydantic_validate, Document.model_validate)
    t0 = time.perf_counter()
    Document.model_json_schema()
    print(f"Document.model_json_schema(): {(time.perf_counter() - t0) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
