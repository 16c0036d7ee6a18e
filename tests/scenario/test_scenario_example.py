"""The DESIGN.md §6 example and a document using every op parse into the expected values."""

from __future__ import annotations

import pickle

import pytest
from scenario_docs import EXAMPLE, FULL, doc

from zonesim.model.types import MigrateType
from zonesim.scenario import (
    Alloc,
    AllocContigRange,
    Choose,
    CmaAlloc,
    CmaArea,
    CmaRelease,
    CpuProgram,
    Expectation,
    ExpectEntry,
    ExploreHints,
    Isolate,
    PageblockInit,
    PfnRange,
    PolicySpec,
    Repeat,
    Scenario,
    ScenarioError,
    Zone,
    format_op,
    load_scenario,
    parse_scenario,
)


def test_design_example_parses_to_expected_values() -> None:
    s = load_scenario(EXAMPLE)
    expected = Scenario(
        name="cma-c-concurrent",
        summary="Two CMA allocations race for pageblock 0 and 1 of one MAX_ORDER-1 block",
        source="Hildenbrand 2021, CMA case c",
        zone=Zone(
            pages=2048,
            max_order=11,
            pageblock_order=9,
            cpus=2,
            pageblocks=(PageblockInit(PfnRange(0, 1024), MigrateType.CMA),),
        ),
        cma=(CmaArea("cma0", PfnRange(0, 1024)),),
        setup=(
            Alloc(order=0, migratetype=MigrateType.MOVABLE, count=300, as_name="filler"),
            Alloc(
                order=10,
                migratetype=MigrateType.UNMOVABLE,
                compound=True,
                pfn=512,
                cma=False,  # derived: only movable requests may use CMA
                movable=False,  # derived: unmovable contents are pinned
                as_name="big",
            ),
        ),
        cpus=(
            CpuProgram(
                "cpu0",
                (
                    CmaAlloc(cma="cma0", count=512, align=9, as_name="a"),
                    CmaRelease(ref="a"),
                ),
            ),
            CpuProgram("cpu1", (CmaAlloc(cma="cma0", count=512, align=9, as_name="b"),)),
        ),
        expect=(
            ExpectEntry(PolicySpec("v5.15"), Expectation("pass")),
            ExpectEntry(PolicySpec("rfc-v1"), Expectation("violation")),
            ExpectEntry(PolicySpec("v5.19", remove=("86d28b070927",)), Expectation("violation")),
        ),
    )
    assert s == expected
    assert s.file == str(EXAMPLE)
    assert s.setup[1].path == "setup[1]"
    assert s.cpus[0].ops[1].path == "cpu[0].ops[1]"
    assert s.expectation_for(PolicySpec("v5.19", (), ("86d28b070927",))) == Expectation("violation")
    assert s.expectation_for(PolicySpec("v6.0")) is None


def test_values_are_frozen_and_picklable() -> None:
    s = load_scenario(EXAMPLE)
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.zone.pages = 1  # type: ignore[misc]
    assert not hasattr(s.zone, "__dict__")  # slotted
    assert pickle.loads(pickle.dumps(s)) == s


def test_full_document_parses() -> None:
    s = parse_scenario(FULL, "x.toml")
    assert s.zone.holes == (PfnRange(2040, 2048),)
    assert s.zone.reserved == (PfnRange(1536, 1544),)
    assert isinstance(s.setup[2], Repeat)
    cpu0 = s.cpus[0].ops
    assert isinstance(cpu0[2], Alloc) and cpu0[2].migratetype is MigrateType.RECLAIMABLE
    assert cpu0[2].movable is False and cpu0[2].cma is False and cpu0[2].compound
    assert isinstance(cpu0[6], AllocContigRange) and cpu0[6].migratetype is MigrateType.MOVABLE
    assert isinstance(cpu0[9], Isolate) and cpu0[9].flags == ("MEMORY_OFFLINE",)
    loop = cpu0[11]
    assert isinstance(loop, Repeat) and loop.times == 3
    choose = loop.ops[1]
    assert isinstance(choose, Choose)
    assert [o.weight for o in choose.options] == [2, 1]
    assert choose.options[1].ops[0].path == "cpu[0].ops[11].ops[1].options[1].ops[0]"
    assert s.expect[1].policy == PolicySpec("v5.19", ("extra",), ("86d28b070927",))
    assert s.expect[1].expectation == Expectation("violation", "I5b")
    assert str(s.expect[1].policy) == "v5.19 +extra -86d28b070927"
    assert s.explore == ExploreHints(100, 5000, "pct", 2)


def test_defaults() -> None:
    s = parse_scenario(doc(zone="pages = 2048\nmax_order = 6"), "x.toml")
    assert s.zone.pageblock_order == 5  # clamped to max_order - 1 (5.18+ rule)
    assert s.zone.cpus == 2 and s.zone.thp and not s.zone.movable_zone
    assert s.zone.pcp_high is None and s.zone.pcp_batch is None
    s = parse_scenario(doc('[[cpu]]\nops = [{ op = "alloc", order = 0, type = "cma" }]'), "x.toml")
    op = s.cpus[0].ops[0]
    assert isinstance(op, Alloc) and op.movable and not op.cma and op.count == 1


def test_format_op() -> None:
    s = parse_scenario(FULL, "x.toml")
    lines = [format_op(op) for op in s.cpus[0].ops + s.cpus[1].ops]
    assert lines[0] == "cma_alloc(cma0, count=512, align=9) as a expect=ok"
    assert lines[1] == "cma_release(a)"
    assert lines[2] == "alloc(order=3, mt=RECLAIMABLE, compound) as r"
    assert lines[9] == "isolate(start=0x400, end=0x600, mt=MOVABLE, flags=MEMORY_OFFLINE)"
    assert lines[11] == "repeat(times=3, ops=2)"
    assert lines[19] == "pcp_update(high=0, batch=1)"
    assert all("\n" not in line for line in lines)
    assert format_op(Alloc(order=3, as_name="a")) == "alloc(order=3, mt=MOVABLE) as a"
    assert format_op(Alloc(order=0, cma=False)) == "alloc(order=0, mt=MOVABLE, cma=false)"


def test_known_policies_callback() -> None:
    def known(spec: PolicySpec) -> str | None:
        return None if spec.preset != "rfc-v1" else "unknown preset 'rfc-v1'; known: v5.15"

    with pytest.raises(ScenarioError) as info:
        load_scenario(EXAMPLE, known_policies=known)
    assert info.value.path == "expect.rfc-v1"
    assert str(info.value).endswith("unknown preset 'rfc-v1'; known: v5.15")
