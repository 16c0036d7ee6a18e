"""For every switch: a scenario whose outcome changes when the switch is turned off (issue:
"for every switch, a scenario where turning it off changes the outcome (or a written
reason why none exists)"). docs/switches.md is the table of these cases.

Each case names a base design that has the switch (it is removed for the "without" side)
or lacks it (it is added for the "with" side), a scenario under tests/switches/data/, how
the scenario is run, and the outcome on both sides: "pass", "n/a" (the design refuses the
layout) or the invariant of the first violation ("expectation" = an op's `expect` failed).
Both sides are asserted, so a case cannot pass vacuously.

Switches for which no scenario in this model can show a difference are in
EQUIVALENT_SWITCHES; their tests assert the documented equivalence instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.engine import NotApplicable
from zonesim.policy.policy import dependents
from zonesim.policy.switches import SWITCHES
from zonesim.sched import ReplayStrategy

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Run:
    """How a scenario is run: one deterministic execution (no preemption), or a bounded
    exploration with a fixed strategy, bound, seed and budget."""

    strategy: str = "single"
    bound: int = 0
    executions: int = 0
    seed: int = 0
    exhaust: bool = False  # a "pass" must come from an exhausted DFS (a proof for the bound)


SINGLE = Run()


@dataclass(frozen=True)
class Case:
    switch: str
    scenario: str
    base: str  # a preset, optionally with "+X"/"-X" tokens
    with_: str
    without: str
    run: Run = SINGLE

    @property
    def specs(self) -> tuple[str, str]:
        """(policy with the switch, policy without it). Taking a switch out takes out the
        later commits that build on it too (a policy without them is refused)."""
        base = parse_policy(self.base)
        if base.has(self.switch):
            later = "".join(f" -{d}" for d in dependents(self.switch, base.switches))
            return self.base, f"{self.base} -{self.switch}{later}"
        return f"{self.base} +{self.switch}", self.base

    @property
    def id(self) -> str:
        return f"{self.switch}:{self.scenario}:{self.base.replace(' ', '')}"


def outcome(scenario: str, spec: str, run: Run = SINGLE) -> str:
    """"pass", "n/a", or the invariant of the (first) violation."""
    path = DATA / f"{scenario}.toml" if "/" not in scenario else ROOT / f"{scenario}.toml"
    try:
        engine = Engine(load_scenario(path), parse_policy(spec))
    except NotApplicable:
        return "n/a"
    if run.strategy == "single":
        out = engine.run(ReplayStrategy(()))
        assert out.error is None, out.error
        return "pass" if out.violation is None else out.violation.invariant
    report = explore(
        engine,
        StrategyConfig(run.strategy, preemption_bound=run.bound, seed=run.seed),
        executions=run.executions,
        artifacts=None,
    )
    if report.violations:
        return report.violations[0].invariant
    if run.exhaust:
        assert report.exhausted, f"{spec}: DFS bound {run.bound} not exhausted"
    return "pass"


DFS1 = Run("dfs", bound=1, executions=500, exhaust=True)
DFS2 = Run("dfs", bound=2, executions=500, exhaust=True)

CASES: tuple[Case, ...] = (
    # -- v5.15's own fixes (3.18 - 5.11): remove them and the old bug comes back --------
    Case("d9dddbf55667", "d9dddbf55667-normal-into-isolated", "v5.15", "pass",
         "I2_nr_free_pages"),
    Case("ad53f92eb416", "ad53f92eb416-stale-type-free", "v5.15", "pass", "I2_nr_free_pages",
         DFS2),
    Case("51bb1a4093cc", "51bb1a4093cc-pcp-cached-type", "v5.15", "pass", "I2_nr_free_pages"),
    # ec6e8c7e0314 replaced 968318261221's drain-again loop: the window shows against 5.8
    Case("968318261221", "ec6e8c7e0314-offline-pcp-window", "v5.15 -ec6e8c7e0314", "pass",
         "expectation", DFS1),
    Case("3c605096d315", "d9dddbf55667-isolated-merge", "v5.15 -d9dddbf55667 -7ad69832f37e",
         "pass", "I2_nr_free_pages"),
    Case("7ad69832f37e", "7ad69832f37e-order10-free", "v5.15", "pass", "memmap_access"),
    Case("bac9c6fa1f92", "bac9c6fa1f92-soft-offline-free", "v5.15", "pass", "I2_nr_free_pages"),
    # 5.8's commit path: high read before, batch after a concurrent pcp update; the hang
    # needs the 5.9-5.13 spill (READ_ONCE(pcp->batch)) as well as the missing clamp.
    Case("88e8ac11d2ea", "88e8ac11d2ea-pcp-update-race", "v5.15 -3b12e7e97938", "pass",
         "cpu_stuck", DFS2),
    Case("3b12e7e97938", "88e8ac11d2ea-pcp-update-race", "v5.15 -88e8ac11d2ea", "pass",
         "cpu_stuck", DFS2),
    # -- 5.18 prerequisites ---------------------------------------------------------------
    Case("1dd214b8f21c", "1dd214b8f21c-cma-merge", "v5.19", "pass", "I3_nr_free_cma_pages"),
    Case("787af64d05cd", "787af64d05cd-unaligned-zone", "v5.15", "pass", "memmap_access"),
    Case("60a60e32cf91", "cma-mutex-two-cpus", "v5.15", "pass", "expectation",
         Run("pct", bound=2, executions=50, seed=1)),
    # -- Zi Yan's RFC v1 ------------------------------------------------------------------
    # rfc-v1 lacks 1dd214b8f21c, so the accepted area merges with pb0 at boot (I3): the
    # cma-a problem of the seed scenarios; without the switch the area does not exist.
    # RFC 1/3 changed both alignments: the CMA area's and alloc_contig_range's.
    Case("rfc1/1-align", "cma-align-pageblock-area", "rfc-v1", "I3_nr_free_cma_pages", "n/a"),
    Case("rfc1/1-align", "cma-align-pageblock-area", "rfc-v1 +1dd214b8f21c", "pass", "n/a"),
    Case("rfc1/1-align", "acr-unmovable-neighbour", "rfc-v1", "pass", "expectation"),
    Case("rfc1/2-vmem-sb", "vmem-unplug-one-pageblock", "rfc-v1", "pass", "expectation"),
    # -- David Hildenbrand's proposal -------------------------------------------------------
    Case("dh/a-isolate-bit", "dh-a-undo-restores-type", "proposal", "pass", "cma_pageblocks"),
    Case("dh/b-range-unmovable", "dh-b-extension-unmovable", "proposal", "pass", "expectation"),
    # proposal lacks 1dd214b8f21c: its pageblock-aligned CMA area would merge at boot.
    # Without c) the proposal would fall back to the RFC's pageblock alignment (RFC 1/3);
    # c) is shown against the 5.15 MAX_ORDER-1 extension it limits, with the CMA area's
    # pageblock alignment from 11ac3e87ce09 instead of the RFC.
    Case("dh/c-no-extend", "dh-c-cma-neighbour",
         "proposal +1dd214b8f21c +11ac3e87ce09 -rfc1/1-align", "pass", "expectation"),
    # -- the v5.19 series and the 2022 fixes -------------------------------------------------
    # b2c9e2fbba32 alone, as first merged (research §3.2: Doug Berger's drift): turning it
    # on in v5.15 brings the bug, 5.15 isolation is clean ...
    Case("b2c9e2fbba32", "b2c9e2fbba32-small-cma-alloc", "v5.15", "I6_nr_isolate_pageblock",
         "pass"),
    # ... and what it is for: pageblock-granular isolation (the RFC's alignment) is safe only
    # with it; without the series (b2c9e2fbba32 and what builds on it) one isolated pageblock
    # of a free order-10 block leaves the block on the CMA list across it.
    Case("b2c9e2fbba32", "split-free-page-accounting", "v5.19 +rfc1/1-align", "pass",
         "I5a_isolated_not_allocatable"),
    Case("6e263fff1de4", "acr-unaligned-unmovable-neighbour", "v5.19", "pass", "expectation"),
    Case("11ac3e87ce09", "cma-align-pageblock-area", "v5.19", "pass", "n/a"),
    Case("448b8ec3bf11", "vmem-unplug-one-pageblock", "v5.19", "pass", "expectation"),
    Case("88ee134320b8", "b2c9e2fbba32-small-cma-alloc", "v5.19", "pass",
         "I6_nr_isolate_pageblock"),
    Case("9b209e557d69", "cma-alloc-in-one-pageblock", "v5.19", "pass", "expectation"),
    Case("86d28b070927", "split-free-page-accounting", "v5.19", "pass", "I2_nr_free_pages"),
    Case("80e2b584f3ab", "cma-boundary-movable-caller", "v5.19", "pass", "expectation"),
    # -- v6.0: the pcp spinlock --------------------------------------------------------------
    # The bug came with the spinlock (a free can now bypass the pcp) ...
    Case("4b23a68f9536", "7b086755fb8c-cma-free-trylock", "v6.0", "I3_nr_free_cma_pages",
         "pass", DFS2),
    # ... and needs a CPU that takes another CPU's pcp lock: the remote drain.
    Case("443c2accd1b6", "7b086755fb8c-cma-free-trylock", "v6.0", "I3_nr_free_cma_pages",
         "pass", DFS2),
    Case("7b086755fb8c", "7b086755fb8c-cma-free-trylock", "v6.0", "pass",
         "I3_nr_free_cma_pages", DFS2),
    # -- v6.10: freelist hygiene; e0932b6c1f94's WARNs make a broken list/type pairing an
    # outcome, so each earlier patch is shown by what 6.10 would WARN about without it ----
    Case("17edeb5d3f76", "17edeb5d3f76-pcp-stale-type", "v6.10", "pass", "freelist_hygiene"),
    Case("e0932b6c1f94", "17edeb5d3f76-pcp-stale-type", "v6.10 -17edeb5d3f76",
         "freelist_hygiene", "pass"),
    Case("e6cf9e1c4cde", "e6cf9e1c4cde-merge-fixup", "v6.10", "pass", "freelist_hygiene"),
    Case("c0cd6f557b90", "c0cd6f557b90-unclaimed-steal", "v6.10", "pass", "freelist_hygiene"),
    Case("55612e80e722", "55612e80e722-free-vs-steal", "v6.10", "pass", "freelist_hygiene",
         DFS2),
    Case("fd919a85cd55", "fd919a85cd55-straddling-thp", "v6.10", "kernel_warn", "pass"),
    # -- 6.12, 6.13, 6.17 -------------------------------------------------------------------
    # the finding of docs/findings/inflight-free-isolated.md: the split free closes it
    Case("e98337d11bbd", "scenarios/findings/inflight-free-isolated", "v6.17", "pass",
         "I5a_isolated_not_allocatable", Run("dfs", bound=2, executions=600)),
    Case("faeec8e23c10", "faeec8e23c10-last-block", "v6.17", "pass", "memmap_access"),
    # -- candidate fixes for the findings (docs/findings/) ----------------------------------
    Case("fix/acr-undo-own", "scenarios/findings/foreign-undo", "v5.19", "pass",
         "cma_pageblocks", DFS2),
    Case("fix/acr-undo-own", "scenarios/findings/foreign-undo", "v6.17", "pass",
         "I5b_isolated_range_clean", DFS2),
    Case("fix/free-split-pageblocks", "scenarios/findings/inflight-free-isolated", "v5.19",
         "pass", "I5a_isolated_not_allocatable", Run("dfs", bound=2, executions=600)),
    Case("591342fccd72", "dh-a-undo-restores-type", "v6.17", "pass", "cma_pageblocks"),
)

# Switches no scenario in this model can tell apart (docs/switches.md says why); each has
# an equivalence test below.
EQUIVALENT_SWITCHES = (
    "844fbae63e46",
    "547be963c99f",
    "01b44456a7aa",
    "b54ccd3c6bac",
    "2dd482ba627d",
    "ec6e8c7e0314",
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_turning_the_switch_off_changes_the_outcome(case: Case) -> None:
    with_spec, without_spec = case.specs
    assert case.with_ != case.without
    got = (outcome(case.scenario, with_spec, case.run), outcome(case.scenario, without_spec,
                                                                 case.run))
    assert got == (case.with_, case.without), f"with: {with_spec!r}, without: {without_spec!r}"


def test_every_switch_has_a_case_or_a_documented_equivalence() -> None:
    covered = {c.switch for c in CASES} | set(EQUIVALENT_SWITCHES)
    assert covered == {s.id for s in SWITCHES}
    assert not {c.switch for c in CASES} & set(EQUIVALENT_SWITCHES)


def test_the_cases_are_listed_in_docs_switches_md() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "switches.md").read_text()
    for s in SWITCHES:
        assert f"`{s.id}`" in doc, s.id
    for c in CASES:
        assert f"{c.scenario}.toml" in doc, c.scenario


# -- switches without an observable difference ------------------------------------------


def traced(scenario: str, spec: str) -> tuple[list[dict[str, object]], str | None]:
    engine = Engine(load_scenario(DATA / f"{scenario}.toml"), parse_policy(spec))
    out = engine.run(ReplayStrategy(()), tracing=True)
    assert out.error is None
    return out.events, (None if out.violation is None else out.violation.invariant)


def events_named(events: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in events if e["event"] == name]


@pytest.mark.parametrize("base", ["v5.19", "v5.19 -80e2b584f3ab"])
def test_844fbae63e46_range_limit_changes_nothing_at_pageblock_granularity(base: str) -> None:
    """Boundary pageblocks are checked over their whole pageblock (from 88ee134320b8 on),
    middle pageblocks lie inside the range, and a straddling compound page's temporary
    isolation covers [head, pageblock end): every has_unmovable_pages call gets the same
    range with and without the limit, so the whole trace is identical."""
    with_ = traced("isolation-range-checks", base)
    without = traced("isolation-range-checks", f"{base} -844fbae63e46")
    assert with_ == without
    events, violation = with_
    assert violation is None  # every op got its `expect`
    # the scenario exercises the paths the limit could touch
    assert {e["unmovable_pfn"] for e in events_named(events, "isolate_failed")} == {
        3100,  # middle pageblock
        1540,  # boundary pageblock, outside the range
    }
    assert events_named(events, "migrate_page")  # straddler, temporary isolation


def test_844fbae63e46_bites_only_in_a_combination_no_kernel_had() -> None:
    """The limit would decide only with 6e263fff1de4 but without b2c9e2fbba32 (the 5.15
    isolation loop fed an unaligned range): a design that no kernel had, and that zonesim
    refuses since 6e263fff1de4 builds on b2c9e2fbba32. v5.19 gives -EBUSY either way."""
    import pytest as _pytest

    from zonesim.policy import PolicyError

    scenario = "range-limit-unaligned-isolate"
    with _pytest.raises(PolicyError, match="6e263fff1de4 builds on b2c9e2fbba32"):
        parse_policy("v5.15 +6e263fff1de4")
    assert outcome(scenario, "v5.19") == "expectation"
    assert outcome(scenario, "v5.19 -844fbae63e46") == "expectation"


def test_547be963c99f_compound_nr_of_a_tail_is_never_taken() -> None:
    """compound_nr(page) and compound_nr(head) differ only on a tail page; the boundary
    scan starts MAX_ORDER-1 aligned and jumps head to head, so with compound orders
    <= MAX_ORDER-1 it never stands on a tail: identical traces."""
    with_ = traced("compound-at-boundary", "v5.19")
    without = traced("compound-at-boundary", "v5.19 -547be963c99f")
    assert with_ == without
    events, violation = with_
    assert violation is None
    assert [e["pfn"] for e in events_named(events, "migrate_page")] == [2048]


def test_547be963c99f_explored_races_agree() -> None:
    """Also under preemption (two CPUs, the seed's virtio-mem c race): the same
    exploration finds the same verdicts with and without the switch."""
    seed = Path(__file__).parents[2] / "scenarios" / "seed"
    scenario = load_scenario(seed / "vmem-c-partial-isolation.toml")
    verdicts = []
    for spec in ("v5.19", "v5.19 -547be963c99f"):
        report = explore(Engine(scenario, parse_policy(spec)),
                         StrategyConfig("pct", preemption_bound=2, seed=0), executions=40,
                         artifacts=None)
        verdicts.append((report.executions, [v.invariant for v in report.violations]))
    assert verdicts[0] == verdicts[1]


# -- model bugs ---------------------------------------------------------------------------


def test_787af64d05cd_v519_boot_read_is_clean_with_the_switch() -> None:
    assert outcome("787af64d05cd-boot", "v5.19") == "pass"


def test_787af64d05cd_v519_boot_read_without_the_switch_is_a_violation() -> None:
    assert outcome("787af64d05cd-boot", "v5.19 -787af64d05cd") == "memmap_access"


def test_a_switch_off_with_a_later_commit_on_that_builds_on_it_is_refused() -> None:
    import pytest as _pytest

    from zonesim.policy import PRESETS, PolicyError

    with _pytest.raises(PolicyError, match="80e2b584f3ab builds on 88ee134320b8"):
        parse_policy("v5.19 -88ee134320b8")
    with _pytest.raises(PolicyError, match=r"add \+b2c9e2fbba32"):
        parse_policy("v5.15 +88ee134320b8")
    with _pytest.raises(PolicyError, match="1dd214b8f21c builds on d9dddbf55667"):
        parse_policy("v5.19 -d9dddbf55667")
    assert parse_policy("v5.19 -80e2b584f3ab -88ee134320b8").name
    for preset in PRESETS:  # every preset is consistent with itself
        parse_policy(preset)


def test_01b44456a7aa_changes_no_outcome() -> None:
    """The outer local_lock goes, pcp->lock is taken with IRQs off instead: with
    4b23a68f9536 the model's pcp section already is IRQs off plus the spinlock, so an
    exhaustive exploration of the v6.0 trylock race gives identical traces."""
    hashes = []
    for spec in ("v6.0", "v6.0 -01b44456a7aa"):
        engine = Engine(load_scenario(DATA / "7b086755fb8c-cma-free-trylock.toml"),
                        parse_policy(spec))
        report = explore(engine, StrategyConfig("dfs", preemption_bound=2), executions=500,
                         artifacts=None, keep_going=True)
        hashes.append((report.executions, [v.invariant for v in report.violations]))
    assert hashes[0] == hashes[1]


def test_b54ccd3c6bac_and_2dd482ba627d_change_no_outcome() -> None:
    """b54ccd3c6bac: __isolate_free_page retypes only pageblocks that are not isolated,
    which in the model (no compaction) never happens; 2dd482ba627d: in 6.10 every mover
    goes through prep_move_freepages_block. The unaligned zone of 787af64d05cd and a CMA
    allocation (isolate_freepages_range) give identical explorations either way."""
    for switch in ("b54ccd3c6bac", "2dd482ba627d"):
        for scenario in ("787af64d05cd-unaligned-zone", "cma-alloc-in-one-pageblock"):
            runs = []
            for spec in ("v6.10", f"v6.10 -{switch}"):
                engine = Engine(load_scenario(DATA / f"{scenario}.toml"), parse_policy(spec))
                report = explore(engine, StrategyConfig("dfs", preemption_bound=1),
                                 executions=200, artifacts=None)
                runs.append((report.executions, [v.invariant for v in report.violations]))
            assert runs[0] == runs[1], (switch, scenario)


def test_ec6e8c7e0314_replaced_968318261221_without_a_new_outcome() -> None:
    """ec6e8c7e0314 (5.11) disabled the pcp lists during offline instead of 968318261221's
    drain on every retry (which it removed: it builds on it). Within the model both catch the
    page a racing free leaves on a pcp list; the kernel retries until a signal, so they
    differ in time, not outcome. Without both, the offline fails."""
    verdicts = []
    for spec in ("v5.15", "v5.15 -ec6e8c7e0314", "v5.15 -ec6e8c7e0314 -968318261221"):
        verdicts.append(outcome("ec6e8c7e0314-offline-pcp-window", spec, DFS1 if spec == "v5.15"
                                else Run("dfs", bound=1, executions=500)))
    assert verdicts == ["pass", "pass", "expectation"]
