"""``parse_scenario`` / ``load_scenario``: TOML text -> a validated :class:`Scenario`.

Sections are read in dependency order (the zone first: op bounds and ranges depend on
it), each through the declarations of ``tables.py``. The first problem found is raised as
a one-line :class:`ScenarioError`; nothing else escapes for any input text.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any, cast

from zonesim.model.types import MigrateType
from zonesim.scenario.document import (
    CmaArea,
    CpuProgram,
    ExpectEntry,
    ExploreHints,
    PageblockInit,
    PfnRange,
    PolicySpec,
    Scenario,
    Zone,
)
from zonesim.scenario.errors import ScenarioError, describe
from zonesim.scenario.limits import check_scenario
from zonesim.scenario.opreader import OpReader, Scope
from zonesim.scenario.policyspec import (
    VALUE_SHAPE,
    parse_expectation,
    parse_policy_spec,
)
from zonesim.scenario.reader import Reader, join
from zonesim.scenario.realism import first_unmarked
from zonesim.scenario.spec import Env
from zonesim.scenario.tables import CMA, CPU, EXPLORE, SCENARIO, SECTIONS, ZONE

PolicyCheck = Callable[[PolicySpec], str | None]
"""Returns why a policy spec is unknown (``"no preset 'v5.20'"``), or None if it exists."""

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def load_scenario(
    path: str | os.PathLike[str], known_policies: PolicyCheck | None = None
) -> Scenario:
    """Read and validate one scenario file; every problem is a one-line ScenarioError."""
    file = os.fspath(path)
    p = Path(file)
    try:
        if p.exists() and not p.is_file():
            raise ScenarioError(file, "", "cannot read scenario: not a regular file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(file, "", "cannot read scenario: no such file") from None
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot read scenario: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            file, "", f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    return parse_scenario(text, file, known_policies)


def parse_scenario(text: str, file: str, known_policies: PolicyCheck | None = None) -> Scenario:
    """Validate scenario TOML ``text``; ``file`` names it in errors and gives the stem that
    ``scenario.name`` must equal. ``known_policies`` checks the ``[expect]`` keys."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(file, text, exc) from None
    try:
        return _Validator(file, known_policies).scenario(doc)
    except RecursionError:
        raise ScenarioError(file, "", "ops nested too deeply") from None


def _syntax_error(file: str, text: str, exc: tomllib.TOMLDecodeError) -> ScenarioError:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match:
        line, column = int(match[1]), int(match[2])
        message = message[: match.start()]
    else:  # "(at end of document)"
        message = message.replace("(at end of document)", "").strip()
        line, column = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
    return ScenarioError(file, "", f"invalid TOML: {message}", line=line, column=column)


class _Validator:
    def __init__(self, file: str, known_policies: PolicyCheck | None) -> None:
        self.file = file
        self.reader = Reader(file)
        self.known_policies = known_policies

    def scenario(self, doc: dict[str, object]) -> Scenario:
        r = self.reader
        r.check_keys(doc, "", tuple(s.name for s in SECTIONS))
        for section in SECTIONS:
            if section.name not in doc:
                if section.required:
                    raise r.error(section.name, f"missing required table [{section.name}]")
                continue
            value = doc[section.name]
            if section.array:
                r.expect_tables(value, section.name, f"an array of tables ([[{section.name}]])")
            else:
                r.expect_table(value, section.name, f"a table ([{section.name}])")

        head = r.read_table(cast(dict[str, object], doc["scenario"]), SCENARIO, "scenario", {})
        stem = PurePath(self.file).stem
        if head["name"] != stem:
            raise r.error(
                "scenario.name",
                f"expected {describe(stem)} (the file name without "
                f".toml), got {describe(head['name'])}",
            )
        zone = self.zone(cast(dict[str, object], doc["zone"]))
        env: Env = {
            "max_order": zone.max_order,
            "pageblock_order": zone.pageblock_order,
            "start_pfn": zone.start_pfn,
            "end_pfn": zone.end_pfn,
            "pages": zone.pages,
        }
        cma = self.cma(self._tables(doc, "cma"), env)
        ops = OpReader(r, env, tuple(a.name for a in cma))
        setup_scope = Scope()
        setup = ops.read_ops(self._tables(doc, "setup"), "setup", setup_scope, in_setup=True)
        cpus = []
        for i, raw in enumerate(self._tables(doc, "cpu")):
            path = f"cpu[{i}]"
            if i >= zone.cpus:
                raise r.error(
                    path,
                    f"zone.cpus = {zone.cpus} but [[cpu]] number {i + 1} is "
                    "given; raise zone.cpus or remove this [[cpu]]",
                )
            values = r.read_table(raw, CPU, path, env)
            ops.cpu = f"cpu{i}"
            body = ops.read_ops(
                cast(list[dict[str, object]], values["ops"]),
                join(path, "ops"),
                Scope(setup_scope),
                in_setup=False,
            )
            cpus.append(CpuProgram(f"cpu{i}", body))
        expect = self.expect(cast(dict[str, object], doc.get("expect", {})))
        hints = r.read_table(
            cast(dict[str, object], doc.get("explore", {})), EXPLORE, "explore", env
        )
        scenario = Scenario(
            **cast(dict[str, Any], head),
            zone=zone,
            cma=cma,
            setup=setup,
            cpus=tuple(cpus),
            expect=expect,
            explore=ExploreHints(**cast(dict[str, Any], hints)),
            file=self.file,
        )
        # Resource limits are part of the format: a zone or a loop that cannot run in the
        # memory budget is refused here, before anything is allocated.
        too_big = check_scenario(scenario)
        if too_big is not None:
            raise r.error(*too_big)
        unreal = first_unmarked(scenario)
        if unreal is not None:
            raise r.error(*unreal)
        return scenario

    @staticmethod
    def _tables(doc: dict[str, object], key: str) -> list[dict[str, object]]:
        return cast(list[dict[str, object]], doc.get(key, []))

    def zone(self, raw: dict[str, object]) -> Zone:
        r = self.reader
        v = r.read_table(raw, ZONE, "zone", {})
        start_pfn, pages = cast(int, v["start_pfn"]), cast(int, v["pages"])
        pb_order = cast(int, v["pageblock_order"])
        env: Env = {"start_pfn": start_pfn, "end_pfn": start_pfn + pages, "pages": pages}
        pageblocks = []
        for i, (rng, item) in enumerate(self._ranges(v["pageblocks"], "zone.pageblocks", env)):
            path = f"zone.pageblocks[{i}].range"
            nr = 1 << pb_order
            for edge, pfn in (("start", rng.start), ("end", rng.end)):
                at_zone_edge = pfn in (start_pfn, start_pfn + pages)
                if pfn % nr and not at_zone_edge:
                    raise r.error(
                        path,
                        f"expected {edge} aligned to a pageblock (a multiple "
                        f"of 2^pageblock_order = {nr}) or at a zone edge, got {pfn}",
                    )
            mt = MigrateType.from_scenario(cast(str, item["migratetype"]))
            pageblocks.append(PageblockInit(rng, mt))
        holes = [rng for rng, _ in self._ranges(v["holes"], "zone.holes", env)]
        reserved = [rng for rng, _ in self._ranges(v["reserved"], "zone.reserved", env)]
        self._no_overlap([("zone.pageblocks", [p.range for p in pageblocks])])
        self._no_overlap([("zone.holes", holes), ("zone.reserved", reserved)])
        v.update(pageblocks=tuple(pageblocks), holes=tuple(holes), reserved=tuple(reserved))
        return Zone(**cast(dict[str, Any], v))

    def _ranges(self, raw: object, path: str, env: Env) -> list[tuple[PfnRange, dict[str, object]]]:
        """Entries of a ``[[zone.x]]`` array, each with its validated ``range``."""
        r = self.reader
        out = []
        for i, item in enumerate(cast(list[dict[str, object]], raw)):
            spec = ZONE.by_name[path.rsplit(".", 1)[1]].table
            assert spec is not None
            values = r.read_table(item, spec, f"{path}[{i}]", env)
            start, end = cast(tuple[int, int], values["range"])
            out.append((PfnRange(start, end), values))
        return out

    def _no_overlap(self, groups: Sequence[tuple[str, Sequence[PfnRange]]]) -> None:
        """Raise at the later of two overlapping entries, naming both."""
        entries = [(f"{name}[{i}]", rng) for name, ranges in groups for i, rng in enumerate(ranges)]
        for j, (path_j, rng_j) in enumerate(entries):
            for path_i, rng_i in entries[:j]:
                if rng_i.overlaps(rng_j):
                    raise self.reader.error(
                        f"{path_j}.range",
                        f"{rng_j} overlaps {path_i}.range {rng_i}; ranges must not overlap",
                    )

    def cma(self, raw: list[dict[str, object]], env: Env) -> tuple[CmaArea, ...]:
        r = self.reader
        areas: list[CmaArea] = []
        for i, item in enumerate(raw):
            path = f"cma[{i}]"
            v = r.read_table(item, CMA, path, env)
            name, (start, end) = cast(str, v["name"]), cast(tuple[int, int], v["range"])
            for j, other in enumerate(areas):
                if other.name == name:
                    raise r.error(
                        join(path, "name"),
                        f"CMA area {name!r} is already defined (cma[{j}]); names must be unique",
                    )
            per_bit = cast(int, v["order_per_bit"])
            if (end - start) % (1 << per_bit):
                raise r.error(
                    join(path, "range"),
                    f"expected a size that is a multiple of "
                    f"2^order_per_bit = {1 << per_bit} pages, got {end - start}",
                )
            areas.append(CmaArea(name, PfnRange(start, end), per_bit))
        self._no_overlap([("cma", [a.range for a in areas])])
        return tuple(areas)

    def expect(self, raw: dict[str, object]) -> tuple[ExpectEntry, ...]:
        r = self.reader
        entries: list[ExpectEntry] = []
        seen: dict[PolicySpec, str] = {}
        for key, value in raw.items():
            path = join("expect", key)
            spec = parse_policy_spec(key)
            if isinstance(spec, str):
                raise r.error(path, spec)
            if spec in seen:
                raise r.error(path, f"the same design as {join('expect', seen[spec])}")
            seen[spec] = key
            if self.known_policies is not None:
                problem = self.known_policies(spec)
                if problem is not None:
                    raise r.error(path, problem)
            expectation = parse_expectation(value) if isinstance(value, str) else None
            if expectation is None:
                raise r.error(path, f"expected {VALUE_SHAPE}, got {describe(value)}")
            entries.append(ExpectEntry(spec, expectation))
        return tuple(entries)


__all__ = ["PolicyCheck", "load_scenario", "parse_scenario"]
