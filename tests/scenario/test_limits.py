"""Resource limits are part of the input contract (issue 12, item 1): every case is refused
in one line naming the figure and the limit, before anything is allocated; the step bound
follows the scenario's own size; the validators the command line calls refuse NaN,
infinities, negatives and absurd sizes."""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from zonesim.engine import Engine, NotApplicable
from zonesim.policy import PRESETS, parse_policy
from zonesim.scenario import ScenarioError, load_scenario, parse_scenario
from zonesim.scenario.limits import (
    BYTES_PER_PAGE,
    DEFAULT_MAX_STEPS,
    MEMORY_BUDGET,
    LimitError,
    check_attempts,
    check_depth,
    check_executions,
    check_max_steps,
    check_pfn,
    check_seconds,
    check_workers,
    check_zone_size,
    estimated_steps,
    max_pages,
    max_step_bound,
    memory_estimate,
    step_bound,
)
from zonesim.sched import PCTStrategy, RandomStrategy, ReplayStrategy

ROOT = Path(__file__).resolve().parents[2]
HEAD = '[scenario]\nname = "x"\nsummary = "s"\n'


def _parse(body: str) -> object:
    return parse_scenario(HEAD + body, "x.toml")


def _refused(body: str) -> ScenarioError:
    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError) as info:
            _parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"refusing the scenario allocated {peak} bytes"
    assert "\n" not in str(info.value)
    return info.value


# -- the zone ---------------------------------------------------------------------------


def test_regression_documented_maximum_zone_is_refused_with_its_figure() -> None:
    # `[zone] pages = 268435456` (the documented maximum) was a MemoryError.
    err = _refused("[zone]\npages = 268435456\n")
    assert err.path == "zone.pages"
    assert "268435456 pages" in err.message
    # 2^28 x BYTES_PER_PAGE (48) + runtime and steps
    assert "12.1 GiB" in err.message and "memory limit of 2.0 GiB" in err.message
    assert f"at most {max_pages()} pages fit" in err.message


def test_regression_zone_of_2_26_pages_is_refused() -> None:
    # `pages = 2^26`: 2.6 GB and minutes before; now refused before boot.
    err = _refused(f"[zone]\npages = {1 << 26}\n")
    assert err.path == "zone.pages" and "GiB" in err.message


def test_largest_admitted_zone_is_2_24_pages_and_more() -> None:
    # 2^24 pages were measured at 1.45 GB peak and 2.3 s per execution: admitted.
    assert max_pages() > 1 << 24
    s = _parse(f"[zone]\npages = {1 << 24}\n")
    assert s is not None


def test_regression_show_pages_1e9_is_refused_by_check_zone_size() -> None:
    # `zonesim show --pages 1000000000` took 141 s and 19.6 GB; the CLI checks it here.
    with pytest.raises(LimitError, match=r"1000000000 pages .* need an estimated 44\.8 GiB"):
        check_zone_size(1_000_000_000, 2)


def test_workers_multiply_the_estimate() -> None:
    pages = max_pages(2, workers=1)
    check_zone_size(pages, 2, workers=1)
    with pytest.raises(LimitError, match="2 workers"):
        check_zone_size(pages, 2, workers=2)
    assert max_pages(2, workers=4) < max_pages(2, workers=2) < pages
    assert memory_estimate(1000, 2, 10, workers=3) == 3 * memory_estimate(1000, 2, 10)
    check_zone_size(pages * 2, 2, budget=MEMORY_BUDGET * 2)  # a caller with more memory


def test_memory_estimate_covers_the_measured_peak() -> None:
    # Boot a 2^20-page zone and run two executions in a fresh process: its peak
    # RSS growth must stay below the estimate's zone part (the figures are not guesses).
    # VmHWM, not ru_maxrss: a child inherits its parent's ru_maxrss across exec.
    code = (
        "import re, sys\n"
        "def hwm():\n"
        "    text = open('/proc/self/status').read()\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', text).group(1)) * 1024\n"
        "from zonesim.scenario import parse_scenario\n"
        "from zonesim.engine import Engine\n"
        "from zonesim.policy import parse_policy\n"
        "from zonesim.sched import ReplayStrategy\n"
        "s = parse_scenario(sys.argv[1], 'x.toml')\n"
        "before = hwm()\n"
        "e = Engine(s, parse_policy('v5.15'))\n"
        "e.run(ReplayStrategy(()))\n"
        "o = e.run(ReplayStrategy(()))  # cloned while the first execution's zone lives\n"
        "print(hwm() - before, o.steps)\n"
    )
    pages = 1 << 20
    doc = HEAD + f'[zone]\npages = {pages}\n[[cpu]]\nops = [{{ op = "alloc", order = 3 }}]\n'
    out = subprocess.run(
        [sys.executable, "-c", code, doc], check=True, capture_output=True, text=True
    ).stdout.split()
    grown, steps = int(out[0]), int(out[1])
    assert steps > 0
    assert grown <= pages * BYTES_PER_PAGE
    assert grown > pages * BYTES_PER_PAGE // 4  # and the estimate is not absurdly loose


# -- steps: the bound follows the scenario --------------------------------------------


LOOP = (
    "[zone]\npages = 4096\ncpus = 1\n[[cpu]]\n"
    'ops = [{{ op = "repeat", times = {times}, ops = [{{ op = "alloc", order = 0, as = "a" }}, '
    '{{ op = "free", ref = "a" }}] }}]\n'
)


def test_regression_long_legal_loop_is_not_a_livelock() -> None:
    # `repeat times = 100000` (legal) ran into the fixed 100k step bound in every execution
    # and was reported as a suspected livelock. 26000 iterations take 104k steps: past the
    # old bound, inside the scenario's own.
    s = _parse(LOOP.format(times=26_000))
    engine = Engine(s, parse_policy("v5.15"))  # type: ignore[arg-type]
    assert engine.max_steps == step_bound(s) > DEFAULT_MAX_STEPS  # type: ignore[arg-type]
    outcome = engine.run(ReplayStrategy(()))
    assert outcome.violation is None
    assert DEFAULT_MAX_STEPS < outcome.steps <= engine.max_steps


@pytest.mark.slow
def test_regression_repeat_100000_runs_to_the_end() -> None:
    s = _parse(LOOP.format(times=100_000))
    outcome = Engine(s, parse_policy("v5.15")).run(ReplayStrategy(()))  # type: ignore[arg-type]
    assert outcome.violation is None and outcome.steps >= 400_000


def test_real_livelock_is_still_reported_under_the_scenarios_bound() -> None:
    s = _parse(LOOP.format(times=30_000))
    engine = Engine(s, parse_policy("v5.15"), max_steps=1000)  # type: ignore[arg-type]
    outcome = engine.run(ReplayStrategy(()))
    assert outcome.violation is not None
    assert outcome.violation.invariant == "livelock_suspected"


def test_regression_repeat_beyond_the_memory_limit_is_refused_at_its_times() -> None:
    # Nested repeats multiply: 2^20 x 2^20 iterations are legal key by key.
    err = _refused(
        "[zone]\npages = 2048\n[[cpu]]\n"
        'ops = [{ op = "repeat", times = 1048576, ops = [{ op = "repeat", times = 1048576, '
        'ops = [{ op = "alloc", order = 0 }] }] }]\n'
    )
    assert err.path == "cpu[0].ops[0].times"
    assert "scheduler steps per execution" in err.message
    assert "memory limit of 2.0 GiB" in err.message and "[explore] max_steps" in err.message


def test_explore_max_steps_bounds_the_execution_and_is_checked_too() -> None:
    s = _parse(LOOP.format(times=30_000) + "[explore]\nmax_steps = 5000\n")
    assert step_bound(s) == 5000  # type: ignore[arg-type]
    err = _refused("[zone]\npages = 2048\n[explore]\nmax_steps = 1000000000\n")
    assert err.path == "explore.max_steps" and "GiB" in err.message


def _bundled() -> list[Path]:
    files = sorted((ROOT / "scenarios").rglob("*.toml"))
    files += sorted((ROOT / "tests").rglob("data/**/*.toml"))
    return files


def test_step_estimate_bounds_every_explored_execution() -> None:
    # The cost model (limits.OP_STEPS, ...) is an upper bound: no execution of a bundled
    # scenario, under any preset, random or PCT, takes more steps than estimated (before
    # the contention factor and the floor of DEFAULT_MAX_STEPS).
    checked = 0
    for f in _bundled():
        try:
            scenario = load_scenario(f)
        except ScenarioError:
            continue  # data for error tests
        _, estimate = estimated_steps(scenario)
        for preset in PRESETS:
            try:
                engine = Engine(scenario, parse_policy(preset), max_steps=10 * estimate + 100)
            except NotApplicable:
                continue
            for strategy in (RandomStrategy(1), PCTStrategy(2)):
                strategy.begin_execution()
                try:
                    outcome = engine.run(strategy)
                except ScenarioError:
                    break  # setup refused under this design
                assert outcome.steps <= estimate, (f.name, preset, outcome.steps, estimate)
                checked += 1
    assert checked > 100


# -- validators for the command line ----------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e12, "3", True])
def test_regression_time_nan_and_friends_are_refused(value: object) -> None:
    # `--time nan`, `matrix --seconds nan` were accepted.
    with pytest.raises(LimitError) as info:
        check_seconds(value)
    assert str(info.value).startswith("--time: expected")
    assert "\n" not in str(info.value)


def test_seconds_accepts_finite_positive_and_zero_where_allowed() -> None:
    assert check_seconds(2.5) == 2.5
    assert check_seconds(0, name="--seconds", allow_zero=True) == 0.0
    with pytest.raises(LimitError, match="--seconds: expected a finite number"):
        check_seconds(math.nan, name="--seconds", allow_zero=True)


def test_regression_depth_1e9_is_refused() -> None:
    # `explore --depth 1000000000 --executions 3`: memory growing 4 MB/s.
    expected = r"--depth: expected an integer 1\.\.100001, got 1000000000"
    with pytest.raises(LimitError, match=expected):
        check_depth(1_000_000_000, DEFAULT_MAX_STEPS)
    assert check_depth(3, DEFAULT_MAX_STEPS) == 3


def test_regression_start_pfn_10_31_is_refused() -> None:
    # `show --start-pfn 10^31` was accepted.
    with pytest.raises(LimitError, match=r"--start-pfn: expected an integer 0\.\.1099511627776"):
        check_pfn(10**31)
    assert check_pfn(0) == 0


def test_regression_attempts_negative_is_refused() -> None:
    # `shrink --attempts -1` was accepted.
    with pytest.raises(LimitError, match=r"--attempts: expected an integer 1\.\."):
        check_attempts(-1)


@pytest.mark.parametrize(
    ("check", "bad"),
    [
        (check_executions, 0),
        (check_executions, 1 << 50),
        (check_executions, 2.0),
        (check_workers, 0),
        (check_workers, 100_000),
        (check_max_steps, 0),
        (check_max_steps, 10**12),
    ],
)
def test_count_validators_refuse_out_of_range(check: object, bad: object) -> None:
    with pytest.raises(LimitError, match="expected an integer"):
        check(bad)  # type: ignore[operator]


def test_max_step_bound_fits_the_budget() -> None:
    bound = max_step_bound()
    assert memory_estimate(0, 64, bound) <= MEMORY_BUDGET < memory_estimate(0, 64, bound + 10)
    assert check_max_steps(bound) == bound
