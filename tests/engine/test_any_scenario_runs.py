"""Scenarios written by others (from the kernel's history) will be run against every
preset: any valid scenario must end in an outcome — pass, a violation, or n/a — never in
a Python exception (exit 3). Hypothesis writes the scenarios."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonesim import Engine, parse_policy
from zonesim.engine import NotApplicable
from zonesim.policy import PRESETS
from zonesim.scenario import ScenarioError, parse_scenario
from zonesim.sched import RandomStrategy, ReplayStrategy

PB = 512
PAGES = 4096
TYPES = ["unmovable", "movable", "reclaimable", "highatomic", "cma"]


@st.composite
def pfn_range(draw: st.DrawFn, aligned: bool) -> tuple[int, int]:
    if aligned:
        a = draw(st.integers(0, PAGES // PB - 1)) * PB
        b = draw(st.integers(a // PB + 1, PAGES // PB)) * PB
        return a, b
    a = draw(st.integers(0, PAGES - 2))
    b = draw(st.integers(a + 1, min(PAGES, a + 1200)))
    return a, b


@st.composite
def op(draw: st.DrawFn, n: int) -> str:
    kind = draw(st.sampled_from([
        "alloc", "alloc_contig_range", "isolate", "cma_alloc", "virtio_mem_unplug",
        "drain_all_pages", "drain_local_pages", "pcp_update", "offline_pages", "migrate",
    ]))
    name = f"n{n}"
    if kind == "alloc":
        order = draw(st.integers(0, 10))
        t = draw(st.sampled_from(TYPES))
        compound = draw(st.booleans())
        return (f'{{ op = "alloc", order = {order}, type = "{t}", compound = '
                f'{str(compound).lower()}, as = "{name}" }}, {{ op = "free", ref = "{name}" }}')
    if kind == "migrate":
        return (f'{{ op = "alloc", order = {draw(st.integers(0, 9))}, as = "{name}" }}, '
                f'{{ op = "migrate", ref = "{name}" }}, {{ op = "free", ref = "{name}" }}')
    if kind == "alloc_contig_range":
        a, b = draw(pfn_range(False))
        t = draw(st.sampled_from(["movable", "cma"]))
        return (f'{{ op = "alloc_contig_range", start = {a}, end = {b}, type = "{t}", '
                f'as = "{name}" }}, {{ op = "free_contig_range", ref = "{name}" }}')
    if kind == "isolate":
        a, b = draw(pfn_range(draw(st.booleans())))
        return (f'{{ op = "isolate", start = {a}, end = {b} }}, '
                f'{{ op = "unisolate", start = {a}, end = {b} }}')
    if kind == "cma_alloc":
        count = draw(st.integers(1, 1024))
        align = draw(st.integers(0, 10))
        return (f'{{ op = "cma_alloc", cma = "cma0", count = {count}, align = {align}, '
                f'as = "{name}" }}, {{ op = "cma_release", ref = "{name}" }}')
    if kind == "virtio_mem_unplug":
        a = draw(st.integers(0, PAGES // PB - 1)) * PB
        return (f'{{ op = "virtio_mem_unplug", start = {a}, count = {PB}, as = "{name}" }}, '
                f'{{ op = "virtio_mem_plug", ref = "{name}" }}')
    if kind == "offline_pages":
        a, b = draw(pfn_range(True))
        return (f'{{ op = "offline_pages", start = {a}, count = {b - a} }}, '
                f'{{ op = "online_pages", start = {a}, count = {b - a} }}')
    if kind == "pcp_update":
        return f'{{ op = "pcp_update", high = {draw(st.integers(0, 64))}, batch = 1 }}'
    return f'{{ op = "{kind}" }}'


@st.composite
def scenario_text(draw: st.DrawFn) -> str:
    cma_start = draw(st.sampled_from([0, 1024, 2048, 2560]))
    cma_end = draw(st.sampled_from([e for e in (512, 1024, 2048, 3072, 4096) if e > cma_start]))
    lines = [
        '[scenario]\nname = "fuzz"\nsummary = "generated"\n',
        f"[zone]\npages = {PAGES}\ncpus = 2\n",
        f'[[cma]]\nname = "cma0"\nrange = [{cma_start}, {cma_end}]\n',
    ]
    if draw(st.booleans()):
        a = draw(st.integers(0, PAGES // PB - 1)) * PB
        t = draw(st.sampled_from(["unmovable", "reclaimable", "highatomic"]))
        if not cma_start <= a < cma_end:
            lines.append(f'[[zone.pageblocks]]\nrange = [{a}, {a + PB}]\ntype = "{t}"\n')
    n = 0
    for _cpu in range(2):
        ops = []
        for _ in range(draw(st.integers(1, 3))):
            ops.append(draw(op(n)))
            n += 1
        lines.append("[[cpu]]\nops = [ " + ", ".join(ops) + " ]\n")
    return "\n".join(lines)


@settings(max_examples=int(os.environ.get("ZONESIM_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(text=scenario_text(), preset=st.sampled_from(sorted(PRESETS)), seed=st.integers(0, 3))
def test_any_valid_scenario_ends_in_an_outcome(text: str, preset: str, seed: int) -> None:
    try:
        scenario = parse_scenario(text, "fuzz.toml")
    except ScenarioError:
        return  # the generator may write something the format refuses: not our subject
    try:
        engine = Engine(scenario, parse_policy(preset), max_steps=20_000)
        engine.base_state()
    except NotApplicable:
        return
    for strategy in (ReplayStrategy(()), RandomStrategy(seed)):
        strategy.begin_execution()
        outcome = engine.run(strategy)  # must not raise
        assert outcome.error is None, outcome.error
