"""zonesim.matrix below the command line: expectation lookup by design, matching rules,
columns, scenario discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesim.matrix import (
    Cell,
    MatrixInputError,
    columns_for,
    expectations,
    find_scenarios,
    matches,
    short_invariant,
)
from zonesim.policy import PRESETS, parse_policy
from zonesim.scenario import Expectation, load_scenario

DATA = Path(__file__).parent / "data"

SCENARIO = """\
[scenario]
name = "{name}"
summary = "expect lookup"

[zone]
pages = 1024

[[cpu]]
ops = [ {{ op = "alloc", order = 0, type = "movable", as = "a" }} ]

[expect]
{expect}
"""


def write(tmp_path: Path, name: str, expect: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(SCENARIO.format(name=name, expect=expect))
    return p


def test_expectations_are_looked_up_by_design(tmp_path: Path) -> None:
    # v5.15 already has d9dddbf55667: "+d9dddbf55667" is the v5.15 column itself
    s = load_scenario(write(tmp_path, "a", '"v5.15 +d9dddbf55667" = "violation:I2"'))
    assert expectations(s) == {"v5.15": Expectation("violation", "I2")}
    s = load_scenario(write(tmp_path, "b", '"v5.15  -ad53f92eb416" = "n/a"'))
    assert expectations(s) == {"v5.15 -ad53f92eb416": Expectation("n/a")}


def test_two_spellings_of_one_design_must_agree(tmp_path: Path) -> None:
    s = load_scenario(
        write(tmp_path, "c", '"v5.15" = "pass"\n"v5.15 +d9dddbf55667" = "violation"')
    )
    with pytest.raises(MatrixInputError, match=r"the same design as 'v5\.15'"):
        expectations(s)


def test_unknown_design_in_expect(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "d", '"v9.99" = "pass"'))  # no policy check on load
    with pytest.raises(MatrixInputError, match=r'expect\."v9.99": unknown policy'):
        expectations(s)
    with pytest.raises(MatrixInputError, match="unknown policy"):
        columns_for([s], None)


@pytest.mark.parametrize(
    ("expected", "verdict", "invariant", "ok"),
    [
        ("pass", "pass", None, True),
        ("pass", "violation", "I2_nr_free_pages", False),
        ("pass", "n/a", None, False),
        ("violation", "violation", "page_conservation", True),
        ("violation", "pass", None, False),
        ("violation:I2", "violation", "I2_nr_free_pages", True),
        ("violation:I2_nr_free_pages", "violation", "I2_nr_free_pages", True),
        ("violation:I5a", "violation", "I5b_isolated_range_clean", False),
        ("violation:I5", "violation", "I5a_isolated_not_allocatable", False),
        ("violation:page_conservation", "violation", "page_conservation", True),
        ("n/a", "n/a", None, True),
        ("n/a", "pass", None, False),
    ],
)
def test_matching(expected: str, verdict: str, invariant: str | None, ok: bool) -> None:
    kind, _, inv = expected.partition(":")
    cell = Cell(verdict=verdict, invariant=invariant)
    assert matches(Expectation(kind, inv or None), cell) is ok


def test_short_invariant() -> None:
    assert short_invariant("I5a_isolated_not_allocatable") == "I5a"
    assert short_invariant("I2_nr_free_pages") == "I2"
    assert short_invariant("page_conservation") == "page_conservation"


def test_columns() -> None:
    scenarios = [load_scenario(p) for p in find_scenarios([DATA / "pass"])]
    cols = columns_for(scenarios, None)
    assert [c.name for c in cols] == [*PRESETS, "v5.15 -ad53f92eb416"]
    assert [c.extra for c in cols] == [False] * len(PRESETS) + [True]
    named = columns_for(scenarios, [parse_policy("v5.15"), parse_policy("v5.15 +d9dddbf55667")])
    assert [c.name for c in named] == ["v5.15"]  # one design, one column


def test_find_scenarios(tmp_path: Path) -> None:
    found = find_scenarios([DATA, DATA / "pass" / "alloc-free.toml"])
    names = [p.name for p in found]
    assert found == sorted(DATA.rglob("*.toml"))  # directories: sorted
    assert names.count("alloc-free.toml") == 1  # named twice, run once
    assert {"alloc-free.toml", "buddy-free.toml", "alloc-free-wrong.toml",
            "planted-lost-update.toml"} <= set(names)
    with pytest.raises(MatrixInputError, match="expected a directory with"):
        find_scenarios([tmp_path])
