"""The bisect's search on designs whose verdicts a rule decides (no exploration): the first
prefix with B's verdict, the set of switches the flip needs, what each one contributes,
n/a, runs, and the cache."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from zonesim import verdict as verdict_mod
from zonesim.matrix import Budget, Cell
from zonesim.policy import PRESETS
from zonesim.timeline import State, policy_for
from zonesim.verdict import Verdict, Verdicts, statement

bisect_mod = importlib.import_module("zonesim.bisect")  # zonesim.bisect is the API function

V515 = State("v5.15", PRESETS["v5.15"][1], True)
V519 = State("v5.19", PRESETS["v5.19"][1], True)
B2C, FIX, VMEM, CMA = "b2c9e2fbba32", "88ee134320b8", "448b8ec3bf11", "11ac3e87ce09"

Rule = Callable[[frozenset[str]], tuple[str, str | None, str | None]]


class Fake:
    """Verdicts from a rule over the switch set, counting what the bisect asks for."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.asked: list[frozenset[str]] = []

    def __call__(self, switches: frozenset[str]) -> object:
        self.asked.append(switches)
        verdict, invariant, message = self.rule(switches)
        return Verdict(policy_for(switches), Cell(verdict=verdict, invariant=invariant,
                                                  message=message))


def change(rule: Rule, a: State = V515, b: State = V519) -> object:
    fake = Fake(rule)
    return bisect_mod.bisect_change(fake, a, fake(a.switches), b, fake(b.switches))


def masked(s: frozenset[str]) -> tuple[str, str | None, str | None]:
    """Like the in-flight free: b2c9e2fbba32 without its fix 88ee134320b8 trips I6 first;
    the race needs b2c9e2fbba32 and virtio-mem's pageblock subblocks (448b8ec3bf11)."""
    if B2C in s and FIX not in s:
        return "violation", "I6", "nr_isolate_pageblock (expected 1, got 0)"
    if B2C in s and VMEM in s:
        return "violation", "I5a", "block at pfn 0x0 overlaps isolated pageblock 0x200"
    return "pass", None, None


def test_the_first_prefix_with_b_s_verdict_and_what_it_needs() -> None:
    c = change(masked)
    # on the prefix path, I6 hides the race until the fix: the flip is 88ee134320b8
    assert c.flip.move.switch == FIX and c.flip.before.text == "violation:I6"
    assert c.flip.after.text == "violation:I5a"
    assert c.kind == "the race appears"
    needs = {n.move.switch: n for n in c.needs}
    assert set(needs) == {B2C, VMEM, FIX}
    assert needs[B2C].pulled_by == FIX  # came with the fix through builds_on
    assert FIX in needs[B2C].also  # left out together with what builds on it
    assert needs[B2C].role == "decides" and needs[B2C].without.text == "pass"
    assert needs[VMEM].role == "decides"
    assert needs[FIX].role == "other" and needs[FIX].without.text == "violation:I6"
    assert [n.move.switch for n in c.deciders] == [B2C, VMEM]
    assert not c.single
    # the log holds each design once, the prefix steps first
    names = [s.verdict.policy.name for s in c.steps]
    assert len(names) == len(set(names))
    assert all(s.prefix is not None for s in c.steps[:2])


def test_a_flip_on_its_own() -> None:
    def rule(s: frozenset[str]) -> tuple[str, str | None, str | None]:
        return ("violation", "I3", "x") if "1dd214b8f21c" not in s else ("pass", None, None)

    c = change(rule)
    assert c.kind == "the race disappears"
    assert c.flip.move.switch == "1dd214b8f21c" and c.single
    assert [(n.move.switch, n.role) for n in c.needs] == [("1dd214b8f21c", "decides")]


def test_not_applicable_then_the_same_invariant_broken_two_ways() -> None:
    """Like foreign-undo: n/a until CMA areas may be pageblock aligned (11ac3e87ce09);
    then, without b2c9e2fbba32, another pageblock breaks the same invariant."""

    def rule(s: frozenset[str]) -> tuple[str, str | None, str | None]:
        if CMA not in s:
            return "n/a", None, "not aligned"
        if B2C in s:
            return "violation", "cma_pageblocks", "pageblock 0x600-0x7ff became MOVABLE"
        return "violation", "cma_pageblocks", "pageblock 0x400-0x5ff outside is CMA"

    c = change(rule)
    assert c.kind == "the scenario applies, with the race"
    assert c.applies is not None and c.applies.move.switch == CMA
    needs = {n.move.switch: n.role for n in c.needs}
    assert needs == {B2C: "differs", CMA: "applies"}
    assert [n.move.switch for n in c.deciders] == [B2C]


def test_the_search_contract_on_a_non_monotone_sequence() -> None:
    verdicts = [False, True, False, False, True, True, False, True]

    def prefix(k: int) -> object:
        return verdicts[k]

    k = bisect_mod.first(prefix, len(verdicts) - 1, bool)
    assert verdicts[k] and not verdicts[k - 1]


def test_runs_name_first_and_last_and_the_invariant_changes() -> None:
    states = [State(n, frozenset(), False) for n in ("a", "b", "c", "d", "e")]
    texts = [("n/a", None), ("violation", "X"), ("violation", "X"), ("violation", "Y"),
             ("pass", None)]
    pairs = [(s, Verdict(policy_for(frozenset()), Cell(verdict=v, invariant=i)))
             for s, (v, i) in zip(states, texts, strict=True)]
    runs = [r.to_json() for r in bisect_mod.runs(pairs)]
    assert [(r["verdict"], r["first"], r["last"]) for r in runs] == [
        ("n/a", "a", "a"), ("violation", "b", "d"), ("pass", "e", "e")]
    assert runs[1]["verdicts"] == [
        {"verdict": "violation:X", "first": "b", "last": "c"},
        {"verdict": "violation:Y", "first": "d", "last": "d"}]


def test_statement_blanks_pfns_and_counts_only() -> None:
    st = statement
    assert st("pageblock 0x600-0x7ff became MOVABLE (expected 1024, got 512)") == \
        st("pageblock 0x400-0x5ff became MOVABLE (expected 3, got 4)")
    assert st("pageblock 0x600 became MOVABLE") != st("pageblock 0x600 outside is CMA")


def test_verdicts_explore_each_switch_set_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_cell(scenario: object, path: str, policy: object, budget: Budget,
                  **_: object) -> Cell:
        calls.append(policy.name)  # type: ignore[attr-defined]
        return Cell(verdict="pass")

    monkeypatch.setattr(verdict_mod, "run_cell", fake_cell)
    from zonesim.api import load

    scenario = load(Path(__file__).parents[2] / "scenarios/findings/foreign-undo.toml")
    v = Verdicts(scenario, "x.toml", Budget(), artifacts=None)
    same = PRESETS["v5.15"][1]
    v(same)
    v(frozenset(sorted(same)))
    v(PRESETS["v5.19"][1])
    assert calls == ["v5.15", "v5.19"]
