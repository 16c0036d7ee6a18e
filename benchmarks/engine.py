"""Engine benchmarks (DESIGN.md §11, issue 9): CPU time of a PCT exploration on every
scenario of ``scenarios/stress/`` against the same model operations run sequentially,

    exploration CPU time / CPU time of the same model operations run sequentially

(goal at most 1.5x without checks in the baseline), and the cost of an execution at
1,048,576 pages against 65,536 pages (goal at most 1.5x, checks on) with the peak memory
of an exploration at 1M pages (budget 32 B/page). Run from the repository root::

    .venv/bin/python benchmarks/engine.py              # ~2 minutes
    .venv/bin/python benchmarks/engine.py --quick      # ~40 seconds
    .venv/bin/python benchmarks/engine.py --profile    # + cProfile of one exploration

Every figure is CPU time of this process (``time.process_time``), the median of the
repeats, both sides measured in the same run. Same work: the timed explorations and the
timed baselines count their ``alloc_pages`` / ``free_pages`` calls per execution (the
counting wrappers run on both sides); the script prints in how many executions the counts
agree. Interleaving may legitimately change them (an allocation that fails under one
order and succeeds under the other), so the count of agreeing executions is printed, not
assumed.

The sequential baseline runs the same kernel paths (``zonesim.ops`` through the engine's own
``Interp`` and CPU bodies, on the engine's booted zone rolled back before each execution,
as ``Engine.run`` does; with checks, the same end check from the same baseline) with each
CPU's op list run one CPU after another, driven by a bare ``coro.send(None)`` loop: no
trio, no scheduler. Inside this process only, while the baseline runs, these names are
replaced by no-op stand-ins (and restored afterwards):

* ``zonesim.ops.kernel.switch_enter`` (the synchronous part of ``switch_point`` that
  ``Kernel.sp`` calls) -> nothing left to do; ``yield_cpu`` -> ``async def`` that returns
  at once
* ``zonesim.ops.kernel.windows_possible`` -> False and ``window_candidates`` -> no CPU (the
  lock-held primitives' lockless windows return at once), ``suspended_in_section`` -> False
* ``zonesim.ops.kernel.SpinLock`` / ``Mutex`` -> a lock whose acquire/release do nothing
  (the Kernel built for the baseline holds these)
* ``irq_off`` in ``zonesim.ops.alloc`` / ``zonesim.ops.free`` / ``zonesim.ops.drain``
  -> a context manager that does nothing
* ``zonesim.interp.choose`` -> replays the data choices (``choose`` ops) that the
  exploration's execution made, per label, in order (0 when none is recorded)
* ``Kernel.queue_work`` (an attribute) -> runs the work inline when it is flushed, so
  ``drain_all_pages`` drains the other CPUs' pcp lists synchronously
* ``zonesim.engine.quiescent_check`` -> no-op when checks are excluded

With checks, the baseline runs exactly the engine's checks: the step test on the running
list totals at every switch point, the engine's gated ``quiescent_check`` after every op,
the event invariants (I5b, I7) where the kernel relies on a range, and ``end_check`` at
the end. Without checks neither side runs any of them (``Engine.checks`` off).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import io
import itertools
import pstats
import statistics
import subprocess
import sys
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import zonesim.engine as engine_mod
import zonesim.interp as interp_mod
import zonesim.ops.alloc as ops_alloc
import zonesim.ops.drain as ops_drain
import zonesim.ops.free as ops_free
import zonesim.ops.kernel as ops_kernel
from zonesim.check.pageblocks import isolate_census
from zonesim.check.registry import InvariantViolation
from zonesim.engine import Engine
from zonesim.explore import StrategyConfig, _pct_steps, explore
from zonesim.model.memmap import Memmap
from zonesim.model.zone import Zone
from zonesim.policy.policy import make_policy
from zonesim.scenario import load_scenario
from zonesim.sched import ReplayStrategy
from zonesim.units import EngineSpec, IndexedUnit, indexed_strategy

ROOT = Path(__file__).resolve().parent.parent
STRESS = ROOT / "scenarios" / "stress"
GOAL = 1.5
SCALE_GOAL = 1.5
BUDGET = 32.0  # bytes per simulated page
POLICY = "v5.15"

# -- no-op stand-ins --------------------------------------------------------------------


async def _no_switch(label: str, *args: Any) -> None:
    return None


def _nothing_left(label: str, *args: Any) -> int:
    return 0  # SP_DONE: Kernel.sp awaits nothing more


def _no_candidates(access: Any) -> tuple[str, ...]:
    return ()  # no other CPU: a lockless window of a lock-held primitive returns at once


def _not_suspended() -> bool:
    return False


class _NullLock:
    def __init__(self, name: str) -> None:
        self.name = name

    async def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None

    def trylock(self) -> bool:
        return True

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class _NullSection:
    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


_NULL_SECTION = _NullSection()


def _no_irq_off() -> _NullSection:
    return _NULL_SECTION


class _InlineWork:
    """queue_work_on + flush_work, sequentially: the work runs when it is flushed."""

    def __init__(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.fn = fn
        self.done = False

    async def flush(self) -> None:
        if not self.done:
            self.done = True
            await self.fn()


def _inline_queue_work(cpu: str, label: str, fn: Callable[[], Awaitable[None]]) -> _InlineWork:
    return _InlineWork(fn)


class _ChoiceFeed:
    """``choose`` replaying recorded option values per label (FIFO), 0 when none is left."""

    def __init__(self) -> None:
        self.by_label: dict[str, deque[int]] = {}

    def load(self, options: list[tuple[str, int]]) -> None:
        d: dict[str, deque[int]] = defaultdict(deque)
        for label, value in options:
            d[label].append(value)
        self.by_label = d

    def __call__(self, n: int, label: str) -> int:
        q = self.by_label.get(label)
        return q.popleft() if q else 0


def _quiescent_noop(zone: Zone, cadence: Any) -> None:
    return None


@contextlib.contextmanager
def patched(targets: list[tuple[Any, str, Any]]) -> Iterator[None]:
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in targets]
    try:
        for obj, name, value in targets:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def sequential_stubs(feed: _ChoiceFeed, *, checks: bool) -> contextlib.AbstractContextManager[None]:
    t: list[tuple[Any, str, Any]] = [
        (ops_kernel, "switch_enter", _nothing_left),
        (ops_kernel, "yield_cpu", _no_switch),
        (ops_kernel, "windows_possible", _not_suspended),
        (ops_kernel, "window_candidates", _no_candidates),
        (ops_kernel, "suspended_in_section", _not_suspended),
        (ops_kernel, "SpinLock", _NullLock),
        (ops_kernel, "Mutex", _NullLock),
        (ops_alloc, "irq_off", _no_irq_off),
        (ops_free, "irq_off", _no_irq_off),
        (ops_drain, "irq_off", _no_irq_off),
        (interp_mod, "choose", feed),
    ]
    if not checks:
        t.append((engine_mod, "quiescent_check", _quiescent_noop))
    return patched(t)


def checks_off(engine: Engine) -> contextlib.AbstractContextManager[None]:
    """Exploration with the invariant checks excluded: no step invariants, no quiescent
    checks, no end-of-execution check (the engine's state hashing stays)."""
    return patched([(engine, "checks", False)])


# -- the sequential baseline ------------------------------------------------------------


def drive(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that must never really suspend (every await is a no-op stand-in)."""
    try:
        while True:
            if coro.send(None) is not None:
                raise RuntimeError("baseline coroutine yielded to an event loop")
    except StopIteration:
        return


def run_sequential(engine: Engine, *, checks: bool) -> Zone:
    """One execution's model operations, CPU after CPU (call inside ``sequential_stubs``),
    on the engine's own zone after the same rollback an exploration's execution starts
    with; the zone is left as the operations leave it (rolled back at the next call)."""
    zone, base_env = engine.base_state()
    engine._written = True
    hook = None
    if checks:
        step_invariants = engine._step_invariants
        m = zone.memmap

        def hook(label: str, cpu: int) -> None:
            # the engine's step test (running list totals), then the wording invariants
            if (m.free_listed != zone.NR_FREE_PAGES or m.cma_listed != zone.NR_FREE_CMA_PAGES
                    or zone.cma_pages < zone.NR_FREE_CMA_PAGES
                    or isolate_census(zone) != zone.nr_isolate_pageblock):
                for inv in step_invariants:
                    for v in inv.fn(zone):
                        raise InvariantViolation(v)

    k = engine._kernel(zone, hook, tracing=False)
    k.queue_work = _inline_queue_work  # type: ignore[assignment]
    if checks:  # I5b / I7 where the kernel relies on a range, as the engine does
        k._event_check = lambda name, start, end: engine_mod.event_check(zone, name, start, end)
    names = engine_mod.cpu_names(engine.scenario)
    programs = {i: p.ops for i, p in enumerate(engine.scenario.cpus)}
    for i, name in enumerate(names):
        body = engine._cpu_body(k, i, name, programs.get(i, ()), base_env.copy(), False)
        drive(body())  # type: ignore[arg-type]
    if checks:
        found = engine_mod.end_check(zone, engine._baseline)
        if found is not None:
            raise InvariantViolation(found)
    return zone


# -- same-work check --------------------------------------------------------------------


def zone_signature(zone: Zone) -> tuple[Any, ...]:
    m = zone.memmap
    arrays = tuple(
        bytes(getattr(m, n)) for n in Memmap._ARRAYS
    )
    return (
        zone.NR_FREE_PAGES,
        zone.NR_FREE_CMA_PAGES,
        tuple(zone.nr_free),
        tuple(p.count for p in zone.pcp),
        len(zone.allocations),
        bytes(zone.pageblock),
        arrays,
    )


@dataclass
class Counted:
    allocs: int = 0
    frees: int = 0


def counting(c: Counted) -> list[tuple[Any, str, Any]]:
    real_alloc, real_free = interp_mod.alloc_pages, interp_mod.free_pages

    async def alloc_pages(*a: Any, **kw: Any) -> Any:
        c.allocs += 1
        return await real_alloc(*a, **kw)

    async def free_pages(*a: Any, **kw: Any) -> Any:
        c.frees += 1
        return await real_free(*a, **kw)

    return [(interp_mod, "alloc_pages", alloc_pages), (interp_mod, "free_pages", free_pages)]


def same_work(engine: Engine) -> str:
    """No-preemption exploration (ReplayStrategy(())) vs the baseline: same alloc_pages and
    free_pages calls, same final zone (counters, lists, every memmap array)."""
    # (the baseline runs on the engine's zone: its final state is read before it runs)
    engine.base_state()
    ce, cb = Counted(), Counted()
    with patched(counting(ce)):
        out = engine.run(ReplayStrategy(()))
    assert engine.last_zone is not None
    # the final state, read now: the engine rolls its zone back at the next base_state()
    sig_e, nr_e = zone_signature(engine.last_zone), engine.last_zone.NR_FREE_PAGES
    if out.violation is not None or out.error is not None:
        return f"no-preemption run failed: {out.violation or out.error}"
    feed = _ChoiceFeed()
    with sequential_stubs(feed, checks=True), patched(counting(cb)):
        zb = run_sequential(engine, checks=True)
    ok = sig_e == zone_signature(zb) and (ce.allocs, ce.frees) == (cb.allocs, cb.frees)
    return (
        f"{'SAME' if ok else 'DIFFERENT'}: alloc_pages {ce.allocs} vs {cb.allocs}, free_pages "
        f"{ce.frees} vs {cb.frees}, NR_FREE_PAGES {nr_e} vs "
        f"{zb.NR_FREE_PAGES}, memmap arrays {'equal' if ok else 'compared'}"
    )


# -- timing -----------------------------------------------------------------------------


def recorded_options(engine: Engine, seed: int, executions: int) -> list[list[tuple[str, int]]]:
    """The data choices of each execution of the PCT exploration: the same per-index
    strategies ``explore`` builds (zonesim.units), so execution n is the same one."""
    unit = IndexedUnit(EngineSpec.of(engine), "pct", seed, 3, _pct_steps(engine), 1,
                       executions + 1)
    out: list[list[tuple[str, int]]] = []
    for n in range(1, executions + 1):
        strategy = indexed_strategy(unit, n)
        strategy.begin_execution()
        o = engine.run(strategy)
        out.append([(c.label, int(c.value)) for c in o.choices if c.kind == "opt"])
        if o.violation is not None:
            break
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def time_explore(engine: Engine, seed: int, executions: int,
                 repeats: int) -> tuple[float, Any, list[tuple[int, int]]]:
    """Median CPU seconds of the exploration (one process: workers=1), its report, and
    the (alloc_pages, free_pages) calls of each execution (counted in the timed runs)."""
    times: list[float] = []
    report: Any = None
    per: list[tuple[int, int]] = []
    probe = Counted()  # explore's PCT probe (the preemption-free run) comes first
    with patched(counting(probe)):
        engine.run(ReplayStrategy(()))
    for _ in range(repeats):
        c = Counted()
        marks: list[tuple[int, int]] = [(probe.allocs, probe.frees)]

        def progress(done: int, budget: int, found: int,
                     c: Counted = c, marks: list[tuple[int, int]] = marks) -> None:
            marks.append((c.allocs, c.frees))  # once per finished execution (inline)

        gc.collect()
        with patched(counting(c)):
            t = time.process_time()
            report = explore(engine, StrategyConfig("pct", seed), executions=executions,
                             artifacts=None, progress=progress, workers=1)
            times.append(time.process_time() - t)
        # one mark per finished execution, then explore's closing report (no execution)
        per = [(b[0] - a[0], b[1] - a[1])
               for a, b in itertools.pairwise(marks)][: report.executions]
    return median(times), report, per


def time_baseline(
    engine: Engine, options: list[list[tuple[str, int]]], repeats: int, *, checks: bool
) -> tuple[float, list[tuple[int, int]]]:
    feed = _ChoiceFeed()
    times: list[float] = []
    per: list[tuple[int, int]] = []
    with sequential_stubs(feed, checks=checks):
        for _ in range(repeats):
            c = Counted()
            per = []
            gc.collect()
            with patched(counting(c)):
                t = time.process_time()
                for opts in options:
                    before = (c.allocs, c.frees)
                    feed.load(opts)
                    run_sequential(engine, checks=checks)
                    per.append((c.allocs - before[0], c.frees - before[1]))
                times.append(time.process_time() - t)
    return median(times), per


def bench_scenario(path: Path, executions: int, repeats: int, seed: int) -> list[float]:
    scenario = load_scenario(path)
    engine = Engine(scenario, make_policy(POLICY))
    engine.base_state()
    print(f"== {path.relative_to(ROOT)} (policy {POLICY}, pct seed {seed}, "
          f"{executions} executions, CPU time, median of {repeats}) ==")
    secs, report, calls = time_explore(engine, seed, executions, repeats)
    print(f"  exploration: {report.executions} executions, {report.steps:,} steps in "
          f"{secs:.2f} s CPU -> {report.steps / secs:,.0f} steps/s, "
          f"{report.executions / secs:,.1f} executions/s "
          f"({secs / report.executions * 1e3:.2f} ms/execution); "
          f"violations {[v.invariant for v in report.violations]}")
    if report.violations:
        print("  (stopped at a violation: the ratio covers the executions run)")
    print(f"  same-work check (no preemption vs baseline, final zones): {same_work(engine)}")
    options = recorded_options(engine, seed, report.executions)
    with checks_off(engine):
        secs_nc, _, calls_nc = time_explore(engine, seed, executions, repeats)
    base_nc, bcalls = time_baseline(engine, options, repeats, checks=False)
    base_c, _ = time_baseline(engine, options, repeats, checks=True)
    same = sum(1 for a, b in zip(calls, bcalls, strict=False) if a == b)
    print(f"  same model calls per timed execution (alloc_pages, free_pages): {same} of "
          f"{len(calls)} executions agree with the baseline (checks-off exploration: "
          f"{sum(1 for a, b in zip(calls_nc, bcalls, strict=False) if a == b)}); totals "
          f"{tuple(map(sum, zip(*calls, strict=True)))} vs "
          f"{tuple(map(sum, zip(*bcalls, strict=True)))}")
    rows = [
        ("exploration (all checks) / baseline without checks", secs, base_nc, GOAL),
        ("exploration / baseline with the same fused checks", secs, base_c, GOAL),
        ("both without invariant checks (scheduling only)", secs_nc, base_nc, GOAL),
    ]
    print(f"  sequential baseline: {base_nc:.2f} s CPU without checks, {base_c:.2f} s with the "
          f"engine's checks; exploration without checks {secs_nc:.2f} s")
    ratios = []
    for name, a, b, goal in rows:
        r = a / b
        ratios.append(r)
        print(f"  ratio {name}: {a:.2f} / {b:.2f} = {r:.2f}x  (goal <= {goal:g}x)  "
              f"[{'PASS' if r <= goal else 'FAIL'}]")
    print(f"  invariant checks: {secs - secs_nc:.2f} s of the exploration "
          f"({(secs - secs_nc) / secs:.0%}); {base_c - base_nc:.2f} s of the baseline")
    return ratios


# -- 64K vs 1M pages --------------------------------------------------------------------

SCALE_SCENARIO = STRESS / "pcp-pressure-mixed-orders.toml"
SMALL, LARGE = 65_536, 1_048_576

_CHILD_EXPLORE = """
import resource, sys
from dataclasses import replace
from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
s = load_scenario(sys.argv[1])
s = replace(s, zone=replace(s.zone, pages=int(sys.argv[2])))
e = Engine(s, parse_policy("v5.15"))
explore(e, StrategyConfig("pct", 0), executions=int(sys.argv[3]), artifacts=None)
"""

_CHILD_PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def sized_engine(pages: int) -> Engine:
    s = load_scenario(SCALE_SCENARIO)
    s = dataclasses.replace(s, zone=dataclasses.replace(s.zone, pages=pages))
    e = Engine(s, make_policy(POLICY))
    e.base_state()
    return e


def peak_kib(pages: int, executions: int) -> int:
    """Peak RSS (KiB) of an exploration in a fresh interpreter, read by a fresh wrapper
    (a child fork()ed from here would inherit this process's high-water mark)."""
    code = [sys.executable, "-c", _CHILD_EXPLORE, str(SCALE_SCENARIO), str(pages),
            str(executions)]
    out = subprocess.run([sys.executable, "-c", _CHILD_PEAK, *code], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return int(out.split()[-1])


def bench_scale(executions: int, repeats: int) -> None:
    print(f"== {SCALE_SCENARIO.name} at {SMALL:,} vs {LARGE:,} pages (pct seed 0, "
          f"{executions} executions, all checks on, CPU time, median of {repeats}) ==")
    per: dict[int, float] = {}
    for pages in (SMALL, LARGE):
        e = sized_engine(pages)
        secs, report, _ = time_explore(e, 0, executions, repeats)
        per[pages] = secs / report.executions
        print(f"  {pages:>9,} pages: {per[pages] * 1e3:.2f} ms CPU per execution "
              f"({report.executions} executions, {report.steps:,} steps)")
        del e
        gc.collect()
    r = per[LARGE] / per[SMALL]
    print(f"  time per execution 1M / 64K = {r:.2f}x  (goal <= {SCALE_GOAL:g}x)  "
          f"[{'PASS' if r <= SCALE_GOAL else 'FAIL'}]")
    small, large = peak_kib(SMALL, executions), peak_kib(LARGE, executions)
    b = (large - small) * 1024 / (LARGE - SMALL)
    print(f"  peak RSS of the exploration in a fresh process: {small:,} KiB at 64K pages, "
          f"{large:,} KiB at 1M pages: (peak1M - peak64K) / added pages = {b:.1f} B/page "
          f"(budget {BUDGET:g})  [{'PASS' if b <= BUDGET else 'FAIL'}]")


def profile(path: Path, executions: int, seed: int, top: int) -> None:
    engine = Engine(load_scenario(path), make_policy(POLICY))
    engine.base_state()
    prof = cProfile.Profile()
    prof.enable()
    explore(engine, StrategyConfig("pct", seed), executions=executions, artifacts=None)
    prof.disable()
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s)
    st.sort_stats("tottime").print_stats(top)
    print(f"== cProfile: {path.name}, {executions} executions, top {top} by tottime ==")
    print("\n".join(s.getvalue().splitlines()[-(top + 3):]))
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(top)
    print(f"== top {top} by cumulative time ==")
    print("\n".join(s.getvalue().splitlines()[-(top + 3):]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="zonesim engine benchmarks")
    p.add_argument("--quick", action="store_true", help="fewer executions and repeats (~15 s)")
    p.add_argument("--executions", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--profile",
        nargs="?",
        const="pcp-pressure",
        default=None,
        metavar="NAME",
        help="also cProfile one exploration of the stress scenario whose file name contains "
        "NAME (default: pcp-pressure)",
    )
    p.add_argument("--no-scale", action="store_true", help="skip the 64K vs 1M pages part")
    args = p.parse_args(argv)
    executions = args.executions or (60 if args.quick else 200)
    repeats = 2 if args.quick else 3
    print(f"zonesim engine benchmark: python {sys.version.split()[0]}, "
          f"{'quick' if args.quick else 'full'} run")
    t0 = time.perf_counter()
    scenarios = sorted(STRESS.glob("*.toml"))
    worst = 0.0
    for path in scenarios:
        worst = max(worst, bench_scenario(path, executions, repeats, args.seed)[0])
    print(f"== worst exploration / sequential-without-checks ratio: {worst:.2f}x "
          f"(goal <= {GOAL:g}x) [{'PASS' if worst <= GOAL else 'FAIL'}] ==")
    if not args.no_scale:
        bench_scale(20 if args.quick else 50, repeats)
    if args.profile is not None:
        chosen = [s for s in scenarios if args.profile in s.name] or scenarios[:1]
        profile(chosen[0], min(executions, 100), args.seed, 25)
    print(f"(total {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
