"""Reading op lists: op tables -> op dataclasses, with name scoping for ``as``/``ref``.

Scoping rule (kept simple on purpose, so a reader can see where a name comes from):

- names defined in ``[[setup]]`` are visible to every later setup op and to every CPU;
- names defined by a CPU are visible to that CPU's later ops only (no cross-CPU refs:
  whether another CPU's op already ran is what the scheduler decides);
- a ``repeat`` body and each ``choose`` option open a scope of their own: names defined
  inside are visible later in that body only;
- an ``as`` name may not reuse a name visible at that point;
- ``alloc`` with ``count = n > 1`` and ``as = "x"`` defines ``x[0]`` .. ``x[n-1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from zonesim.model.types import MigrateType
from zonesim.scenario.errors import describe
from zonesim.scenario.ops import ChooseOption, Op
from zonesim.scenario.reader import Reader, did_you_mean, join, one_of
from zonesim.scenario.spec import Env
from zonesim.scenario.tables import OP_SPECS, OPS_BY_NAME, OPTION, OpSpec

OP_NAMES: tuple[str, ...] = tuple(spec.name for spec in OP_SPECS)


@dataclass
class Scope:
    """Names visible at one point of an op list: ``name -> (result kind, where defined)``."""

    parent: Scope | None = None
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, tuple[int, str]] = field(default_factory=dict)  # alloc count groups

    def lookup(self, name: str) -> tuple[str, str] | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def group(self, name: str) -> tuple[int, str] | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.groups:
                return scope.groups[name]
            scope = scope.parent
        return None

    def visible(self) -> list[str]:
        out: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            out.update(n for n in scope.names if "[" not in n)
            out.update(f"{g}[...]" for g in scope.groups)
            scope = scope.parent
        return sorted(out)


class OpReader:
    """Reads the op lists of one scenario, given its zone geometry and CMA area names."""

    def __init__(self, reader: Reader, env: Env, cma_names: tuple[str, ...]) -> None:
        self.reader = reader
        self.env = env
        self.cma_names = cma_names
        # name -> cpu that defined it, only for the "defined by another CPU" hint.
        self.cpu_names: dict[str, str] = {}
        self.cpu: str | None = None

    def read_ops(
        self, raw: list[dict[str, object]], path: str, scope: Scope, *, in_setup: bool
    ) -> tuple[Op, ...]:
        return tuple(
            self.read_op(item, f"{path}[{i}]", scope, in_setup=in_setup)
            for i, item in enumerate(raw)
        )

    def read_op(self, raw: dict[str, object], path: str, scope: Scope, *, in_setup: bool) -> Op:
        error = self.reader.error
        if "op" not in raw:
            raise error(
                join(path, "op"), f"missing required key; expected one of: {one_of(OP_NAMES)}"
            )
        name = raw["op"]
        if not isinstance(name, str):
            raise error(
                join(path, "op"),
                f"expected an op name (one of: {one_of(OP_NAMES)}), got {describe(name)}",
            )
        if name not in OPS_BY_NAME:
            raise error(
                join(path, "op"),
                f"unknown op {name!r}{did_you_mean(name, OP_NAMES)}; "
                f"expected one of: {one_of(OP_NAMES)}",
            )
        spec = OPS_BY_NAME[name]
        if name == "choose" and in_setup:
            raise error(
                join(path, "op"),
                "'choose' is not allowed in [[setup]]: setup pins "
                "down one initial state; use choose in a [[cpu]]",
            )
        values = self.reader.read_table(
            raw, spec.table, path, self.env, in_setup=in_setup, extra_keys=("op",)
        )
        self.check_op(spec, values, path)
        ref = values.get("ref")
        result_kind = name
        if isinstance(ref, str):
            result_kind = self.resolve_ref(spec, ref, join(path, "ref"), scope)
            if name != "migrate":
                result_kind = name
        # Nested bodies: after the op's own keys, before its 'as' is defined (a body cannot
        # refer to the name of the op that contains it).
        if name == "repeat":
            body = cast(list[dict[str, object]], values["ops"])
            if not body:
                raise error(join(path, "ops"), "expected at least one op, got []")
            values["ops"] = self.read_ops(body, join(path, "ops"), Scope(scope), in_setup=in_setup)
        elif name == "choose":
            values["options"] = self.read_options(
                cast(list[dict[str, object]], values["options"]), join(path, "options"), scope
            )
        as_name = values.get("as_name")
        if isinstance(as_name, str):
            count = values.get("count") if name == "alloc" else 1
            assert isinstance(count, int)
            self.define(as_name, result_kind, count, path, scope)
        for key in ("migratetype",):
            if key in values:
                values[key] = MigrateType.from_scenario(cast(str, values[key]))
        values["path"] = path
        return cast(Op, spec.cls(**cast(dict[str, Any], values)))

    def read_options(
        self, raw: list[dict[str, object]], path: str, scope: Scope
    ) -> tuple[ChooseOption, ...]:
        options = []
        for i, item in enumerate(raw):
            opt_path = f"{path}[{i}]"
            values = self.reader.read_table(item, OPTION, opt_path, self.env)
            ops = self.read_ops(
                cast(list[dict[str, object]], values["ops"]),
                join(opt_path, "ops"),
                Scope(scope),
                in_setup=False,
            )
            options.append(ChooseOption(cast(int, values["weight"]), ops))
        return tuple(options)

    def check_op(self, spec: OpSpec, values: Mapping[str, object], path: str) -> None:
        """Rules that involve more than one key of an op."""
        error = self.reader.error
        end_pfn = self.env["end_pfn"]
        start, end, count = values.get("start"), values.get("end"), values.get("count")
        if isinstance(start, int) and isinstance(end, int) and end <= start:
            raise error(join(path, "end"), f"expected end > start ({start}), got {end}")
        if (
            spec.name != "alloc"
            and isinstance(start, int)
            and isinstance(count, int)
            and start + count > end_pfn
        ):
            raise error(
                join(path, "count"),
                f"expected start + count <= zone end pfn "
                f"{end_pfn}, got {start} + {count} = {start + count}",
            )
        if spec.name == "alloc" and isinstance(values.get("pfn"), int):
            pfn, order = cast(int, values["pfn"]), cast(int, values["order"])
            # No 2^order alignment check: the DESIGN.md §6 example carves order 10 at pfn 512;
            # what an unaligned placed block means is the engine's call.
            last = pfn + cast(int, count) * (1 << order)
            if last > end_pfn:
                raise error(
                    join(path, "count"),
                    f"expected the {count} block(s) of order "
                    f"{order} at pfn {pfn} to end by zone end pfn {end_pfn}, "
                    f"they end at {last}",
                )
        if spec.name in ("free_contig_range", "virtio_mem_plug"):
            has_ref = values.get("ref") is not None
            has_start, has_count = start is not None, count is not None
            if has_ref and (has_start or has_count):
                raise error(join(path, "ref"), "give either 'ref' or 'start' + 'count', not both")
            if not has_ref and not (has_start and has_count):
                missing = "count" if has_start else "start" if has_count else "ref"
                raise error(
                    join(path, missing),
                    "missing required key; expected 'ref', or 'start' + 'count'",
                )
        if spec.name == "soft_offline_page" and (values.get("ref") is None) == (
            values.get("pfn") is None
        ):
            raise error(join(path, "ref"), "expected exactly one of 'ref' or 'pfn'")
        if spec.name == "pcp_update" and values.get("high") is None and values.get("batch") is None:
            raise error(join(path, "high"), "missing required key; expected 'high' and/or 'batch'")
        if spec.name == "cma_alloc" and values["cma"] not in self.cma_names:
            known = one_of(self.cma_names) if self.cma_names else "none ([[cma]] is empty)"
            raise error(
                join(path, "cma"),
                f"unknown CMA area {values['cma']!r}"
                f"{did_you_mean(cast(str, values['cma']), self.cma_names)}; "
                f"defined areas: {known}",
            )

    def resolve_ref(self, spec: OpSpec, ref: str, path: str, scope: Scope) -> str:
        """The result kind ``ref`` names; raises when it is not visible or the wrong kind."""
        error = self.reader.error
        found = scope.lookup(ref)
        if found is None:
            base, _, index = ref.partition("[")
            group = scope.group(base)
            if group is not None:
                n, where = group
                if index:
                    raise error(
                        path, f"{ref!r} is out of range: {where} defines {base}[0]..{base}[{n - 1}]"
                    )
                raise error(
                    path,
                    f"{ref!r} names {n} allocations ({where}, count = {n}); "
                    f"refer to one of them as {base}[0]..{base}[{n - 1}]",
                )
            other = self.cpu_names.get(ref)
            if other is not None and other != self.cpu:
                raise error(
                    path,
                    f"{ref!r} is defined by {other}; a ref may name setup results "
                    "or earlier results of the same CPU",
                )
            visible = scope.visible()
            known = one_of(visible) if visible else "none"
            raise error(
                path,
                f"undefined name {ref!r}{did_you_mean(ref, visible)}; a ref must "
                f"name an earlier 'as' (visible here: {known})",
            )
        kind, where = found
        if kind not in spec.ref_kinds:
            wanted = " or ".join(spec.ref_kinds) or "nothing"
            raise error(
                path,
                f"{ref!r} is the result of {kind} ({where}); {spec.name} takes "
                f"the result of {wanted}",
            )
        return kind

    def define(self, name: str, kind: str, count: int, op_path: str, scope: Scope) -> None:
        """Define ``name`` (or ``name[0..count-1]``) as the result of the op at ``op_path``."""
        error = self.reader.error
        path = join(op_path, "as")
        clash = scope.lookup(name)
        group = scope.group(name)
        if clash is not None or group is not None:
            where = clash[1] if clash is not None else cast(tuple[int, str], group)[1]
            raise error(
                path, f"name {name!r} is already defined ({where}); 'as' names must be unique"
            )
        if count > 1:
            scope.groups[name] = (count, op_path)
            for i in range(count):
                scope.names[f"{name}[{i}]"] = (kind, op_path)
        else:
            scope.names[name] = (kind, op_path)
        if self.cpu is not None:
            self.cpu_names.setdefault(name, self.cpu)
