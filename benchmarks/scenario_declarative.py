"""Would msgspec shrink zonesim/scenario/ while keeping every error message? (issue 11 item 4)

A measurement, not a port: the scenario format declared as msgspec Structs (every table,
every op, static bounds and enums, unknown keys forbidden, ops as a tagged union on
``op``), plus the smallest generic translator from msgspec's errors to zonesim's one-line
messages (the value looked up in the raw document, the expected text from the field's
constraints). It then

1. runs every pinned case of tests/scenario/test_scenario_errors.py through msgspec and
   sorts them: *kept* (the translated message has the same key path and the pinned
   text), *semantic* (msgspec accepts the document: the rule needs the zone, names or
   several keys, so zonesim's own code stays), or *lost* (msgspec reports another key
   or wording that the translator cannot rebuild);
2. times loading every bundled scenario (TOML parse + validation) with zonesim's loader and
   with msgspec's structural decode (TOML parse + ``msgspec.convert``), best of 5;
3. prints the lines of this declaration and translator beside the lines of zonesim's
   declaration, generic reader and schema generator that it would replace.

Run: ``.venv/bin/pip install msgspec && .venv/bin/python benchmarks/scenario_declarative.py``
(msgspec is not a dependency of zonesim). The result is written up in docs/design-notes.md.
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scenario"))

# ---- the declaration (what would replace tables.py + spec.py) ------- DECLARATION START
MT = Literal["unmovable", "movable", "reclaimable", "highatomic", "cma", "isolate"]
REQ = Literal["unmovable", "movable", "reclaimable", "highatomic", "cma"]
EXPECT = Literal["ok", "-EBUSY", "-ENOMEM", "fail", "null"]
NAME = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")]
REF = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*(\[(0|[1-9][0-9]*)\])?$")]
PFN = Annotated[int, Meta(ge=0, le=1 << 40)]
COUNT = Annotated[int, Meta(ge=1, le=1 << 28)]
ORDER = Annotated[int, Meta(ge=0, le=15)]
TEXT = Annotated[str, Meta(min_length=1)]


class Table(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Head(Table, kw_only=True):
    name: TEXT
    summary: TEXT
    source: TEXT | None = None
    description: TEXT | None = None


class RangeEntry(Table, kw_only=True):
    range: tuple[int, int]


class PageblockEntry(Table, kw_only=True):
    range: tuple[int, int]
    type: MT


class Zone(Table, kw_only=True):
    pages: Annotated[int, Meta(ge=1, le=1 << 28)]
    max_order: Annotated[int, Meta(ge=1, le=16)] = 11
    pageblock_order: Annotated[int, Meta(ge=0, le=15)] | None = None
    start_pfn: PFN = 0
    cpus: Annotated[int, Meta(ge=1, le=64)] = 2
    movable_zone: bool = False
    pcp_high: Annotated[int, Meta(ge=0)] | None = None
    pcp_batch: Annotated[int, Meta(ge=1)] | None = None
    thp: bool = True
    pageblocks: list[PageblockEntry] = []
    holes: list[RangeEntry] = []
    reserved: list[RangeEntry] = []


class Cma(Table, kw_only=True):
    name: NAME
    range: tuple[int, int]
    order_per_bit: Annotated[int, Meta(ge=0, le=31)] = 0


class Op(Table, tag_field="op", kw_only=True):
    as_: NAME | None = field(default=None, name="as")
    expect: EXPECT | None = None


class Alloc(Op, tag="alloc", kw_only=True):
    order: ORDER
    type: REQ = "movable"
    compound: bool = False
    cma: bool | None = None
    movable: bool | None = None
    pfn: PFN | None = None
    count: COUNT = 1


class Free(Op, tag="free", kw_only=True):
    ref: REF


class AllocContigRange(Op, tag="alloc_contig_range", kw_only=True):
    start: PFN
    end: PFN
    type: REQ = "movable"


class FreeContigRange(Op, tag="free_contig_range", kw_only=True):
    ref: REF | None = None
    start: PFN | None = None
    count: COUNT | None = None


class CmaAlloc(Op, tag="cma_alloc", kw_only=True):
    cma: NAME
    count: COUNT
    align: Annotated[int, Meta(ge=0, le=31)] = 0


class CmaRelease(Op, tag="cma_release", kw_only=True):
    ref: REF


class Migrate(Op, tag="migrate", kw_only=True):
    ref: REF


class Isolate(Op, tag="isolate", kw_only=True):
    start: PFN
    end: PFN
    type: REQ = "movable"
    flags: list[Literal["MEMORY_OFFLINE", "REPORT_FAILURE"]] = []


class Unisolate(Op, tag="unisolate", kw_only=True):
    start: PFN
    end: PFN
    type: REQ = "movable"


class OfflinePages(Op, tag="offline_pages", kw_only=True):
    start: PFN
    count: COUNT


class OnlinePages(Op, tag="online_pages", kw_only=True):
    start: PFN
    count: COUNT


class VirtioMemUnplug(Op, tag="virtio_mem_unplug", kw_only=True):
    start: PFN
    count: COUNT


class VirtioMemPlug(Op, tag="virtio_mem_plug", kw_only=True):
    ref: REF | None = None
    start: PFN | None = None
    count: COUNT | None = None


class DrainAllPages(Op, tag="drain_all_pages", kw_only=True):
    pass


class DrainLocalPages(Op, tag="drain_local_pages", kw_only=True):
    pass


class PcpUpdate(Op, tag="pcp_update", kw_only=True):
    high: Annotated[int, Meta(ge=0)] | None = None
    batch: Annotated[int, Meta(ge=1)] | None = None


class SoftOfflinePage(Op, tag="soft_offline_page", kw_only=True):
    ref: REF | None = None
    pfn: PFN | None = None


class Repeat(Op, tag="repeat", kw_only=True):
    times: Annotated[int, Meta(ge=1, le=1 << 20)]
    ops: Annotated[list[AnyOp], Meta(min_length=1)]


class Option(Table, kw_only=True):
    ops: list[AnyOp]
    weight: Annotated[int, Meta(ge=1, le=1 << 20)] = 1


class Choose(Op, tag="choose", kw_only=True):
    options: Annotated[list[Option], Meta(min_length=1)]


AnyOp = (
    Alloc | Free | AllocContigRange | FreeContigRange | CmaAlloc | CmaRelease | Migrate
    | Isolate | Unisolate | OfflinePages | OnlinePages | VirtioMemUnplug | VirtioMemPlug
    | DrainAllPages | DrainLocalPages | PcpUpdate | SoftOfflinePage | Repeat | Choose
)


class Cpu(Table, kw_only=True):
    ops: list[AnyOp]


class Explore(Table, kw_only=True):
    executions: Annotated[int, Meta(ge=1)] | None = None
    max_steps: Annotated[int, Meta(ge=1)] | None = None
    strategy: Literal["random", "pct", "dfs", "hypothesis"] | None = None
    preemption_bound: Annotated[int, Meta(ge=0)] | None = None


class Document(Table, kw_only=True):
    scenario: Head
    zone: Zone
    cma: list[Cma] = []
    setup: list[AnyOp] = []
    cpu: list[Cpu] = []
    expect: dict[str, str] = {}
    explore: Explore = field(default_factory=Explore)
# ----------------------------------------------------------------------- DECLARATION END

# ---- the translator: msgspec error -> zonesim's one-line message ------ TRANSLATOR START
# It reuses zonesim's wording helpers (they would stay) and re-derives what msgspec's
# messages leave out: the value (looked up in the raw document), the zone-dependent bounds,
# the choices in declaration order (msgspec sorts them), the key msgspec hides in
# `expect[...]`, and the op's key order (msgspec lists inherited fields first).
from zonesim.scenario.policyspec import VALUE_SHAPE  # noqa: E402
from zonesim.scenario.reader import did_you_mean, int_range, join, one_of, quoted  # noqa: E402

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_DYNAMIC = {"order": "max_order", "pfn": "pfn", "start": "pfn", "end": "end", "count": "pages"}
_SECTION_ARRAYS = {"cma", "setup", "cpu"}


def _hints(cls: type) -> dict[str, Any]:
    import typing

    return typing.get_type_hints(cls, include_extras=True)


def _args(tp: Any) -> list[Any]:
    import typing

    out: list[Any] = []
    for t in typing.get_args(tp) or [tp]:
        if typing.get_origin(t) is Annotated:
            t = typing.get_args(t)[0]
        out.extend(typing.get_args(t) if typing.get_origin(t) is Literal else [t])
    return out


def _strip(tp: Any) -> Any:
    """X for Annotated[X, ...] and X | None."""
    import typing

    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, type(int | None)) and len(args) == 1:
            tp = args[0]
            continue
        return tp


def _walk(raw: dict[str, Any], steps: list[str]) -> tuple[Any, str | None, Any]:
    """(enclosing struct class, field name or None, value) at a msgspec path."""
    import typing

    cls: Any = Document
    field: str | None = None
    value: Any = raw
    tp: Any = Document
    for step in steps:
        if step.isdigit():
            value = value[int(step)]
            tp = typing.get_args(_strip(tp))[0]
            if isinstance(value, dict) and value.get("op") in _OPS:
                tp = _OPS[value["op"]]
        else:
            value = value.get(step) if isinstance(value, dict) else None
            tp = _hints(cls).get("as_" if step == "as" else step)
            field = step
        if isinstance(_strip(tp), type) and issubclass(_strip(tp), Struct):
            cls, field, tp = _strip(tp), None, _strip(tp)
    return cls, field, value


def _describe(value: Any) -> str:
    from zonesim.scenario.errors import describe

    return describe(value)


_OPS = {c.__struct_config__.tag: c for c in _args(AnyOp)}


def _bound(field: str, raw: dict[str, Any], lo: int | None, hi: int | None) -> tuple[Any, Any]:
    zone = raw.get("zone", {})
    start = zone.get("start_pfn", 0)
    end = start + zone.get("pages", 0)
    kind = _DYNAMIC.get(field)
    if kind == "max_order":
        return lo, zone.get("max_order", 11) - 1
    if kind == "pfn":
        return start, end - 1
    if kind == "end":
        return start, end
    if kind == "pages":
        return lo, zone.get("pages", hi)
    return lo, hi


def _keys(cls: type, in_setup: bool) -> list[str]:
    names = [f.encode_name for f in msgspec.structs.fields(cls)]
    if not in_setup:  # 'pfn' is a setup-only key of alloc: not offered in a [[cpu]]
        names = [n for n in names if not (cls is Alloc and n == "pfn")]
    if issubclass(cls, Op):  # zonesim lists an op's own keys first, then as and expect
        names = ["op"] + [n for n in names if n not in ("as", "expect")] + ["as", "expect"]
    return names


def translate(exc: msgspec.ValidationError, raw: dict[str, Any]) -> tuple[str, str]:
    """(key path, message) in zonesim's words, from what msgspec says."""
    m = _AT.match(str(exc))
    assert m is not None
    what, at = m["what"], (m["path"] or "")
    if at.endswith("[...]"):  # msgspec does not say which key of a dict: find it
        table = raw.get("expect", {})
        bad = next(k for k, v in table.items() if not isinstance(v, str))
        return join("expect", bad), f"expected {VALUE_SHAPE}, got {_describe(table[bad])}"
    parts = re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]", at)
    steps = [k or i for k, i in parts]
    path = "".join(f"[{i}]" if i else f".{k}" for k, i in parts).lstrip(".")
    cls, field, value = _walk(raw, steps)
    quoted_key = re.findall(r"`([^`]*)`", what)
    if what.startswith("Object contains unknown field"):
        key, allowed = quoted_key[0], _keys(cls or Document, path.startswith("setup"))
        return join(path, key), (
            f"unknown key {key!r}{did_you_mean(key, allowed)}; expected one of: {one_of(allowed)}"
        )
    if what.startswith("Object missing required field"):
        key = quoted_key[0]
        if cls is Document:
            return key, f"missing required table [{key}]"
        if key == "op":
            return join(path, "op"), f"missing required key; expected one of: {one_of(_OPS)}"

        sub = _hints(cls).get(key) if cls else None
        return join(path, key), f"missing required key; expected {_expected(key, sub, raw)}"
    if path.endswith(".op"):
        if isinstance(value, str):
            return path, (
                f"unknown op {value!r}{did_you_mean(value, _OPS)}; expected one of: {one_of(_OPS)}"
            )
        return path, f"expected an op name (one of: {one_of(_OPS)}), got {_describe(value)}"
    tp = _hints(cls).get("as_" if field == "as" else field) if cls and field else None
    if what.startswith("Expected `array` of length >= 1"):
        noun = "option" if field == "options" else "op"
        return path, f"expected at least one {noun}, got []"
    if field in _SECTION_ARRAYS and "got `object`" in what:
        return path, f"expected an array of tables ([[{field}]]), got a table"
    return path, f"expected {_expected(field or '', tp, raw)}, got {_describe(value)}" + (
        did_you_mean(value, [str(a) for a in _args(tp)]) if isinstance(value, str) else ""
    )


def _expected(field: str, tp: Any, raw: dict[str, Any]) -> str:
    import typing

    options = [tp, *typing.get_args(tp)]  # X, or the members of X | None
    for t in options:
        if typing.get_origin(t) is Annotated and typing.get_args(t)[0] is int:
            meta = next(a for a in typing.get_args(t)[1:] if isinstance(a, Meta))
            return int_range(*_bound(field, raw, meta.ge, meta.le))
    if field == "range":
        return "a pfn range [start, end] (end exclusive)"
    if int in options:
        return int_range(*_bound(field, raw, None, None))
    choices = [a for a in _args(tp) if isinstance(a, str)]
    if choices:
        return f"one of {quoted(choices)}"
    if field in ("as", "cma"):
        return "a name (letters, digits, '_', '-'; starting with a letter or '_')"
    if field == "ops":
        return 'an array of op tables ([{ op = "...", ... }, ...])'
    if any(a is bool for a in _args(tp)):
        return "true or false"
    return "a non-empty string"
# ------------------------------------------------------------------------ TRANSLATOR END


Validate = Callable[[dict[str, Any]], "tuple[str, str] | None"]


def msgspec_validate(raw: dict[str, Any]) -> tuple[str, str] | None:
    """None when msgspec accepts the document, else the translated (key path, message)."""
    try:
        msgspec.convert(raw, Document, strict=True)
    except msgspec.ValidationError as exc:
        try:
            return translate(exc, raw)
        except Exception as bug:  # the translator cannot place the error at all
            return ("?", repr(bug))
    return None


def _ours(text: str) -> tuple[str, str] | None:
    from zonesim.scenario import ScenarioError, parse_scenario

    try:
        parse_scenario(text, "x.toml")
    except ScenarioError as err:
        return (err.path, err.message)
    return None


def classify(validate: Validate) -> dict[str, list[str]]:
    """Sort the pinned cases; *kept* means the whole message equals zonesim's own."""
    from test_scenario_errors import CASES

    out: dict[str, list[str]] = {"kept": [], "semantic": [], "lost": []}
    for case_id, text, _path, _needle in CASES:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            out["kept"].append(case_id)  # TOML syntax errors do not involve the library
            continue
        ours = _ours(text)
        assert ours is not None, f"{case_id}: zonesim accepts it"
        theirs = validate(raw)
        if theirs is None:
            out["semantic"].append(case_id)
        elif theirs == ours:
            out["kept"].append(case_id)
        else:
            out["lost"].append(f"{case_id}: zonesim {ours}, translated {theirs}")
    return out


def mutations(validate: Validate, n: int) -> dict[str, int]:
    """The same comparison over ``n`` mutated documents of the fuzz suite (derandomized):
    where both reject, the same message, the same key in other words, another key first,
    or a translator that could not place the error."""
    from hypothesis import HealthCheck, given, settings
    from toml_mutations import mutated_docs, to_toml

    counts = {"both accept": 0, "same message": 0, "same key, other words": 0,
              "other key first": 0, "translator failed": 0, "only zonesim rejects": 0,
              "only the library rejects": 0}

    @settings(max_examples=n, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated_docs())
    def one(doc: dict[str, Any]) -> None:
        text = to_toml(doc)
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return
        ours, theirs = _ours(text), validate(raw)
        if ours is None:
            counts["both accept" if theirs is None else "only the library rejects"] += 1
        elif theirs is None:
            counts["only zonesim rejects"] += 1
        elif theirs == ours:
            counts["same message"] += 1
        elif theirs[0] == "?":
            counts["translator failed"] += 1
        else:
            counts["same key, other words" if theirs[0] == ours[0] else "other key first"] += 1

    one()
    return counts


def timing(decode: Callable[[dict[str, Any]], object]) -> tuple[float, float, int]:
    from zonesim.scenario import ScenarioError, load_scenario

    files = []
    for f in sorted((ROOT / "scenarios").rglob("*.toml")):
        try:
            load_scenario(f)
            files.append(f)
        except ScenarioError:
            pass
    texts = [(f, f.read_text()) for f in files]

    def ours() -> None:
        from zonesim.scenario import parse_scenario

        for f, t in texts:
            parse_scenario(t, str(f))

    def theirs() -> None:
        for _, t in texts:
            decode(tomllib.loads(t))

    def best(fn: Any) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(20):
                fn()
            times.append((time.perf_counter() - t0) / 20)
        return min(times)

    ours()
    theirs()  # warm both up (imports, compiled validators)
    return best(ours), best(theirs), len(texts)


def report(
    name: str, me: Path, validate: Validate, decode: Callable[[dict[str, Any]], object]
) -> None:
    decl = lines_between(me, "DECLARATION START", "DECLARATION END")
    trans = lines_between(me, "TRANSLATOR START", "TRANSLATOR END")
    pkg = ROOT / "zonesim" / "scenario"
    replaced = {n: code_lines(pkg / n) for n in ("tables.py", "spec.py", "reader.py", "schema.py")}
    total = sum(code_lines(p) for p in pkg.glob("*.py"))
    print(f"zonesim/scenario/: {total} non-blank lines in all")
    print(f"  declaration + generic reader + schema: {sum(replaced.values())} {replaced}")
    print(f"  {name} declaration {decl} + translator {trans} = {decl + trans} non-blank lines")
    result = classify(validate)
    n = sum(len(v) for v in result.values())
    for kind in ("kept", "semantic", "lost"):
        print(f"{kind:>9}: {len(result[kind])}/{n}")
    for line in result["lost"]:
        print(f"    lost {line}")
    counts = mutations(validate, 500)
    print("mutated documents of the fuzz suite:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    ours, theirs, files = timing(decode)
    print(
        f"load time, {files} bundled scenarios: zonesim {ours * 1e3:.2f} ms, {name} structural "
        f"decode {theirs * 1e3:.2f} ms (ratio {theirs / ours:.2f}; the library does not do "
        "the zone-dependent, name and cross-key checks)"
    )


def lines_between(path: Path, start: str, end: str) -> int:
    text = path.read_text().splitlines()
    a = next(i for i, line in enumerate(text) if start in line)
    b = next(i for i, line in enumerate(text) if end in line)
    return sum(1 for line in text[a + 1 : b] if line.strip())


def code_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def main() -> int:
    report("msgspec", Path(__file__), msgspec_validate,
           lambda raw: msgspec.convert(raw, Document, strict=True))
    t0 = time.perf_counter()
    msgspec.json.schema(Document)
    print(f"msgspec.json.schema(Document): {(time.perf_counter() - t0) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
