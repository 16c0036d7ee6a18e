"""Bad input: every error is one line naming the file, the precise key path and the rule."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from scenario_docs import doc

from zonesim.scenario import ScenarioError, load_scenario, parse_scenario


def cpu(*ops: str) -> str:
    return "[[cpu]]\nops = [" + ", ".join(ops) + "]\n"


SETUP_FILLER = '[[setup]]\nop = "alloc"\norder = 0\ncount = 3\nas = "f"\n'

# (id, document, key path, text the message must contain)
CASES: list[tuple[str, str, str, str]] = [
    (
        "order-not-int",
        doc(cpu('{op="drain_all_pages"}') + cpu('{op="alloc", order="nine"}')),
        "cpu[1].ops[0].order",
        'expected an integer 0..10, got "nine"',
    ),
    (
        "order-too-big",
        doc(cpu('{op="alloc", order=11}')),
        "cpu[0].ops[0].order",
        "expected an integer 0..10, got 11",
    ),
    (
        "order-follows-max-order",
        doc(cpu('{op="alloc", order=5}'), zone="pages=2048\nmax_order=5"),
        "cpu[0].ops[0].order",
        "expected an integer 0..4, got 5",
    ),
    (
        "unknown-key-typo",
        doc(cpu('{op="alloc", ordr=3}')),
        "cpu[0].ops[0].ordr",
        "unknown key 'ordr' (did you mean 'order'?); expected one of: op, order",
    ),
    (
        "unknown-op",
        doc(cpu('{op="alloc_page", order=3}')),
        "cpu[0].ops[0].op",
        "unknown op 'alloc_page'; expected one of: alloc, free,",
    ),
    (
        "unknown-op-typo",
        doc(cpu('{op="cma_aloc", count=3}')),
        "cpu[0].ops[0].op",
        "unknown op 'cma_aloc' (did you mean 'cma_alloc'?)",
    ),
    ("missing-op", doc(cpu("{order=3}")), "cpu[0].ops[0].op", "missing required key"),
    ("op-not-string", doc(cpu("{op=3}")), "cpu[0].ops[0].op", "expected an op name"),
    (
        "missing-order",
        doc(cpu('{op="alloc"}')),
        "cpu[0].ops[0].order",
        "missing required key; expected an integer 0..10",
    ),
    (
        "ref-undefined",
        doc(cpu('{op="free", ref="zz"}')),
        "cpu[0].ops[0].ref",
        "undefined name 'zz'; a ref must name an earlier 'as'",
    ),
    (
        "ref-before-definition",
        doc(cpu('{op="free", ref="a"}', '{op="alloc", order=0, as="a"}')),
        "cpu[0].ops[0].ref",
        "undefined name 'a'",
    ),
    (
        "duplicate-as",
        doc(cpu('{op="alloc", order=0, as="a"}', '{op="alloc", order=1, as="a"}')),
        "cpu[0].ops[1].as",
        "name 'a' is already defined (cpu[0].ops[0])",
    ),
    (
        "as-shadows-setup",
        doc(SETUP_FILLER + cpu('{op="alloc", order=0, as="f"}')),
        "cpu[0].ops[0].as",
        "name 'f' is already defined (setup[0])",
    ),
    (
        "cross-cpu-ref",
        doc(cpu('{op="alloc", order=0, as="a"}') + cpu('{op="free", ref="a"}')),
        "cpu[1].ops[0].ref",
        "'a' is defined by cpu0",
    ),
    (
        "ref-count-group",
        doc(SETUP_FILLER + cpu('{op="free", ref="f"}')),
        "cpu[0].ops[0].ref",
        "'f' names 3 allocations (setup[0], count = 3); refer to one of them",
    ),
    (
        "ref-group-out-of-range",
        doc(SETUP_FILLER + cpu('{op="free", ref="f[3]"}')),
        "cpu[0].ops[0].ref",
        "'f[3]' is out of range",
    ),
    (
        "ref-wrong-kind",
        doc(cpu('{op="cma_alloc", cma="cma0", count=8, as="c"}', '{op="free", ref="c"}')),
        "cpu[0].ops[1].ref",
        "'c' is the result of cma_alloc (cpu[0].ops[0]); free takes the result",
    ),
    (
        "repeat-scope",
        doc(
            cpu(
                '{op="repeat", times=2, ops=[{op="alloc", order=0, as="t"}]}',
                '{op="free", ref="t"}',
            )
        ),
        "cpu[0].ops[1].ref",
        "undefined name 't'",
    ),
    (
        "misaligned-pageblock",
        doc('[[zone.pageblocks]]\nrange = [0, 100]\ntype = "cma"'),
        "zone.pageblocks[0].range",
        "expected end aligned to a pageblock (a multiple of 2^pageblock",
    ),
    (
        "pageblock-edge-ok-but-start-misaligned",
        doc(
            '[[zone.pageblocks]]\nrange = [700, 1100]\ntype = "cma"',
            zone="pages = 1100\nstart_pfn = 0",
        ),
        "zone.pageblocks[0].range",
        "expected start aligned to a pageblock",
    ),
    (
        "overlapping-pageblocks",
        doc(
            '[[zone.pageblocks]]\nrange = [0, 1024]\ntype = "cma"\n'
            '[[zone.pageblocks]]\nrange = [512, 1536]\ntype = "unmovable"'
        ),
        "zone.pageblocks[1].range",
        "[512, 1536) overlaps zone.pageblocks[0].range [0, 1024)",
    ),
    (
        "hole-overlaps-reserved",
        doc("[[zone.holes]]\nrange = [10, 20]\n[[zone.reserved]]\nrange = [15, 16]"),
        "zone.reserved[0].range",
        "overlaps zone.holes[0].range [10, 20)",
    ),
    (
        "range-outside-zone",
        doc("[[zone.holes]]\nrange = [2000, 3000]"),
        "zone.holes[0].range",
        "expected a range inside the zone [0, 2048), got [2000, 3000]",
    ),
    (
        "range-empty",
        doc("[[zone.holes]]\nrange = [20, 20]"),
        "zone.holes[0].range",
        "expected start < end, got [20, 20]",
    ),
    (
        "range-shape",
        doc("[[zone.holes]]\nrange = [1, 2, 3]"),
        "zone.holes[0].range",
        "expected a pfn range [start, end] (end exclusive), got [1, 2, 3]",
    ),
    (
        "name-not-stem",
        doc(name="y"),
        "scenario.name",
        'expected "x" (the file name without .toml), got "y"',
    ),
    (
        "expect-bad-key",
        doc('[expect]\n"v5.19 86d28b070927" = "pass"'),
        'expect."v5.19 86d28b070927"',
        "'86d28b070927' is not '+<switch>' or '-<switch>'",
    ),
    (
        "expect-bad-value",
        doc('[expect]\n"v5.15" = "fails"'),
        'expect."v5.15"',
        'expected "pass", "violation", "violation:<invariant>" or "n/a", got "fails"',
    ),
    ("expect-not-string", doc('[expect]\n"v5.15" = true'), 'expect."v5.15"', "got true"),
    (
        "expect-same-design-twice",
        doc('[expect]\n"v5.19 -a -b" = "pass"\n"v5.19 -b -a" = "pass"'),
        'expect."v5.19 -b -a"',
        'the same design as expect."v5.19 -a -b"',
    ),
    (
        "expect-switch-twice",
        doc('[expect]\n"v5.19 -a +a" = "pass"'),
        'expect."v5.19 -a +a"',
        "switch 'a' appears twice",
    ),
    (
        "missing-zone-pages",
        doc(zone="cpus = 2"),
        "zone.pages",
        "missing required key; expected an integer 1..",
    ),
    (
        "missing-zone-table",
        '[scenario]\nname = "x"\nsummary = "s"\n',
        "zone",
        "missing required table [zone]",
    ),
    (
        "cpus-wrong-type",
        doc(zone='pages = 2048\ncpus = "2"'),
        "zone.cpus",
        'expected an integer 1..64, got "2"',
    ),
    (
        "pageblock-order-too-big",
        doc(zone="pages = 2048\nmax_order = 5\npageblock_order = 5"),
        "zone.pageblock_order",
        "expected an integer 0..4, got 5",
    ),
    (
        "bool-wrong-type",
        doc(cpu('{op="alloc", order=0, compound=1}')),
        "cpu[0].ops[0].compound",
        "expected true or false, got 1",
    ),
    (
        "alloc-isolate-type",
        doc(cpu('{op="alloc", order=0, type="isolate"}')),
        "cpu[0].ops[0].type",
        'expected one of "unmovable", "movable",',
    ),
    (
        "type-typo",
        doc(cpu('{op="alloc", order=0, type="moveable"}')),
        "cpu[0].ops[0].type",
        "got \"moveable\" (did you mean 'movable'?)",
    ),
    (
        "nested-repeat",
        doc(cpu('{op="repeat", times=2, ops=[{op="drain_all_pages"}, {op="alloc", order=99}]}')),
        "cpu[0].ops[0].ops[1].order",
        "expected an integer 0..10, got 99",
    ),
    (
        "nested-choose",
        doc(
            cpu(
                '{op="repeat", times=2, ops=[{op="choose", options=['
                '{ops=[]}, {weight=1, ops=[{op="alloc", order=-1}]}]}]}'
            )
        ),
        "cpu[0].ops[0].ops[0].options[1].ops[0].order",
        "expected an integer 0..10, got -1",
    ),
    (
        "choose-weight-zero",
        doc(cpu('{op="choose", options=[{weight=0, ops=[]}]}')),
        "cpu[0].ops[0].options[0].weight",
        "expected an integer 1..1048576, got 0",
    ),
    (
        "choose-no-options",
        doc(cpu('{op="choose", options=[]}')),
        "cpu[0].ops[0].options",
        "expected at least one option",
    ),
    (
        "repeat-empty",
        doc(cpu('{op="repeat", times=2, ops=[]}')),
        "cpu[0].ops[0].ops",
        "expected at least one op",
    ),
    (
        "repeat-times-zero",
        doc(cpu('{op="repeat", times=0, ops=[{op="drain_all_pages"}]}')),
        "cpu[0].ops[0].times",
        "expected an integer 1..1048576, got 0",
    ),
    (
        "choose-in-setup",
        doc('[[setup]]\nop = "choose"\noptions = [{ops=[]}]'),
        "setup[0].op",
        "'choose' is not allowed in [[setup]]",
    ),
    (
        "pfn-outside-setup",
        doc(cpu('{op="alloc", order=0, pfn=0}')),
        "cpu[0].ops[0].pfn",
        "'pfn' is only allowed in [[setup]] ops",
    ),
    (
        "setup-pfn-past-zone",
        doc('[[setup]]\nop = "alloc"\norder = 9\npfn = 1536\ncount = 2'),
        "setup[0].count",
        "to end by zone end pfn 2048, they end at 2560",
    ),
    (
        "too-many-cpus",
        doc(cpu() + cpu() + cpu()),
        "cpu[2]",
        "zone.cpus = 2 but [[cpu]] number 3 is given",
    ),
    (
        "cma-unknown-area",
        doc(cpu('{op="cma_alloc", cma="cma1", count=8}')),
        "cpu[0].ops[0].cma",
        "unknown CMA area 'cma1' (did you mean 'cma0'?); defined areas: cma0",
    ),
    (
        "cma-duplicate",
        doc('[[cma]]\nname = "cma0"\nrange = [1024, 2048]'),
        "cma[1].name",
        "CMA area 'cma0' is already defined (cma[0])",
    ),
    (
        "cma-overlap",
        doc('[[cma]]\nname = "cma1"\nrange = [1000, 2048]'),
        "cma[1].range",
        "overlaps cma[0].range [0, 1024)",
    ),
    (
        "cma-order-per-bit",
        doc('[[cma]]\nname = "c1"\nrange = [1024, 1030]\norder_per_bit = 2'),
        "cma[1].range",
        "multiple of 2^order_per_bit = 4 pages, got 6",
    ),
    (
        "contig-ref-and-start",
        doc(cpu('{op="free_contig_range", ref="x", start=0, count=1}')),
        "cpu[0].ops[0].ref",
        "give either 'ref' or 'start' + 'count', not both",
    ),
    (
        "contig-start-without-count",
        doc(cpu('{op="virtio_mem_plug", start=0}')),
        "cpu[0].ops[0].count",
        "missing required key; expected 'ref', or 'start' + 'count'",
    ),
    (
        "pcp-update-empty",
        doc(cpu('{op="pcp_update"}')),
        "cpu[0].ops[0].high",
        "expected 'high' and/or 'batch'",
    ),
    (
        "soft-offline-both",
        doc(cpu('{op="soft_offline_page", pfn=3, ref="a"}')),
        "cpu[0].ops[0].ref",
        "expected exactly one of 'ref' or 'pfn'",
    ),
    (
        "isolate-bad-flag",
        doc(cpu('{op="isolate", start=0, end=512, flags=["MEMORY_OFFLINE", "SKIP"]}')),
        "cpu[0].ops[0].flags[1]",
        'expected one of "MEMORY_OFFLINE", "REPORT_FAILURE", got "SKIP"',
    ),
    (
        "isolate-end-before-start",
        doc(cpu('{op="isolate", start=512, end=512}')),
        "cpu[0].ops[0].end",
        "expected end > start (512), got 512",
    ),
    (
        "count-past-zone",
        doc(cpu('{op="offline_pages", start=1024, count=4096}')),
        "cpu[0].ops[0].count",
        "expected an integer 1..2048, got 4096",
    ),
    (
        "start-plus-count-past-zone",
        doc(cpu('{op="offline_pages", start=1024, count=1025}')),
        "cpu[0].ops[0].count",
        "expected start + count <= zone end pfn 2048, got 1024 + 1025",
    ),
    (
        "pfn-outside-zone",
        doc(cpu('{op="isolate", start=0, end=4096}')),
        "cpu[0].ops[0].end",
        "expected an integer 0..2048, got 4096",
    ),
    (
        "op-expect-bad",
        doc(cpu('{op="drain_all_pages", expect="EBUSY"}')),
        "cpu[0].ops[0].expect",
        'expected one of "ok", "-EBUSY", "-ENOMEM", "fail", "null"',
    ),
    (
        "unknown-top-level",
        doc("[[cpus]]\nops = []"),
        "cpus",
        "unknown key 'cpus' (did you mean 'cpu'?); expected one of: scenario, zone, cma",
    ),
    (
        "cpu-as-table",
        doc("[cpu]\nops = []"),
        "cpu",
        "expected an array of tables ([[cpu]]), got a table",
    ),
    ("cpu-ops-not-array", doc("[[cpu]]\nops = 3"), "cpu[0].ops", "expected an array of op tables"),
    (
        "cpu-unknown-key",
        doc('[[cpu]]\nname = "a"\nops = []'),
        "cpu[0].name",
        "unknown key 'name'; expected one of: ops",
    ),
    (
        "explore-strategy",
        doc('[explore]\nstrategy = "bfs"'),
        "explore.strategy",
        'expected one of "random", "pct", "pos", "feedback", "dfs", "dfs+feedback", '
        '"hypothesis", got "bfs"',
    ),
    (
        "summary-empty",
        doc().replace('summary = "test"', 'summary = ""'),
        "scenario.summary",
        'expected a non-empty string, got ""',
    ),
    ("as-bad-name", doc(cpu('{op="alloc", order=0, as="a b"}')), "cpu[0].ops[0].as", 'got "a b"'),
    (
        "float-for-int",
        doc(zone="pages = 2048.0"),
        "zone.pages",
        "expected an integer 1..268435456, got 2048.0",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(text: str, path: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "scenarios/x.toml")
    err = info.value
    line = str(err)
    assert "\n" not in line
    assert err.file == "scenarios/x.toml"
    assert err.path == path, line
    assert line.startswith(f"scenarios/x.toml: {path}: "), line
    assert needle in err.message, line


def test_exact_message_from_design() -> None:
    text = doc(cpu('{op="drain_all_pages"}') + cpu('{op="alloc", order="nine"}'))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "scenarios/x.toml")
    assert (
        str(info.value)
        == 'scenarios/x.toml: cpu[1].ops[0].order: expected an integer 0..10, got "nine"'
    )


def test_toml_syntax_error_has_line_and_column() -> None:
    text = '[scenario]\nname = "x"\nsummary = "s\n'
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "scenarios/x.toml")
    line = str(info.value)
    assert line.startswith("scenarios/x.toml:3:"), line
    assert "invalid TOML" in line and "\n" not in line
    assert info.value.line == 3


def test_toml_syntax_error_at_end_of_document() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario("[scenario\n", "x.toml")
    assert str(info.value).startswith("x.toml:"), str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: cannot read scenario: no such file"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read scenario: not a regular file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(b'[scenario]\nname = "\xff"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not valid UTF-8 (byte 0xff at offset 19)"


def test_error_pickles() -> None:
    err = ScenarioError("x.toml", "zone.pages", "bad", line=None)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) == "x.toml: zone.pages: bad"


def test_message_newlines_are_flattened() -> None:
    assert str(ScenarioError("f", "p", "a\nb")) == "f: p: a b"
