"""Engine benchmarks (DESIGN.md §11): steps and executions per second of a PCT exploration
on every scenario of ``scenarios/stress/``, and the scheduling overhead ratio

    exploration time / time of the same model operations run sequentially without trio

(goal at most 2x). Run from the repository root::

    .venv/bin/python benchmarks/engine.py              # ~1 minute
    .venv/bin/python benchmarks/engine.py --quick      # ~15 seconds
    .venv/bin/python benchmarks/engine.py --profile    # + cProfile of one exploration

The sequential baseline runs the same kernel paths (``zonesim.ops`` through the engine's own
``Interp`` and CPU bodies, on a fresh deepcopy of the same booted zone per execution, as
``Engine.run`` does) with each CPU's op list run one CPU after another, driven by a bare
``coro.send(None)`` loop: no trio, no scheduler. Inside this process only, while the baseline
runs, these names are replaced by no-op stand-ins (and restored afterwards):

* ``zonesim.ops.kernel.switch_point``  -> ``async def`` that returns at once
* ``zonesim.ops.kernel.SpinLock`` / ``Mutex`` -> a lock whose acquire/release do nothing
  (the Kernel built for the baseline holds these)
* ``irq_off`` in ``zonesim.ops.alloc`` / ``zonesim.ops.free`` / ``zonesim.ops.drain``
  -> a context manager that does nothing
* ``zonesim.interp.choose`` -> replays the data choices (``choose`` ops) that the
  exploration's execution made, per label, in order (0 when none is recorded)
* ``Kernel.queue_work`` (an attribute) -> runs the work inline when it is flushed, so
  ``drain_all_pages`` drains the other CPUs' pcp lists synchronously
* ``zonesim.engine.quiescent_check`` -> no-op when checks are excluded

Nothing is asserted on times (shared, noisy machines): figures are the best of several
repeats and the script prints ratios against the goal.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import pstats
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
from zonesim.check.registry import InvariantViolation, check_zone
from zonesim.engine import Engine
from zonesim.explore import StrategyConfig, explore
from zonesim.model.memmap import Memmap
from zonesim.model.zone import Zone
from zonesim.policy.policy import make_policy
from zonesim.scenario import load_scenario
from zonesim.sched import ReplayStrategy

ROOT = Path(__file__).resolve().parent.parent
STRESS = ROOT / "scenarios" / "stress"
GOAL = 2.0
POLICY = "v5.15"

# -- no-op stand-ins --------------------------------------------------------------------


async def _no_switch(label: str) -> None:
    return None


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
        (ops_kernel, "switch_point", _no_switch),
        (ops_kernel, "yield_cpu", _no_switch),
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
    """One execution's model operations, CPU after CPU (call inside ``sequential_stubs``)."""
    base_zone, base_env = engine.base_state()
    zone = base_zone.clone()
    hook = None
    if checks:
        step_invariants = engine._step_invariants

        def hook(label: str, cpu: int) -> None:
            for inv in step_invariants:
                for v in inv.fn(zone):
                    raise InvariantViolation(v)

    k = engine._kernel(zone, hook, tracing=False)
    k.queue_work = _inline_queue_work  # type: ignore[assignment]
    names = engine_mod.cpu_names(engine.scenario)
    programs = {i: p.ops for i, p in enumerate(engine.scenario.cpus)}
    for i, name in enumerate(names):
        body = engine._cpu_body(k, i, name, programs.get(i, ()), base_env.copy(), False)
        drive(body())  # type: ignore[arg-type]
    if checks:
        found = check_zone(zone, "end")
        if found:
            raise InvariantViolation(found[0])
    return zone


# -- same-work check --------------------------------------------------------------------


def zone_signature(zone: Zone) -> tuple[Any, ...]:
    m = zone.memmap
    arrays = tuple(
        bytes(getattr(m, n)) for n in Memmap.__slots__ if hasattr(getattr(m, n), "tobytes")
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
    engine.base_state()
    ce, cb = Counted(), Counted()
    with patched(counting(ce)):
        out = engine.run(ReplayStrategy(()))
    assert engine.last_zone is not None
    captured = [engine.last_zone]
    if out.violation is not None or out.error is not None:
        return f"no-preemption run failed: {out.violation or out.error}"
    feed = _ChoiceFeed()
    with sequential_stubs(feed, checks=True), patched(counting(cb)):
        zb = run_sequential(engine, checks=True)
    ok = zone_signature(captured[-1]) == zone_signature(zb) and (ce.allocs, ce.frees) == (
        cb.allocs,
        cb.frees,
    )
    return (
        f"{'SAME' if ok else 'DIFFERENT'}: alloc_pages {ce.allocs} vs {cb.allocs}, free_pages "
        f"{ce.frees} vs {cb.frees}, NR_FREE_PAGES {captured[-1].NR_FREE_PAGES} vs "
        f"{zb.NR_FREE_PAGES}, memmap arrays {'equal' if ok else 'compared'}"
    )


# -- timing -----------------------------------------------------------------------------


def recorded_options(engine: Engine, seed: int, executions: int) -> list[list[tuple[str, int]]]:
    """The data choices of each execution of the PCT exploration (it is deterministic)."""
    strategy = StrategyConfig("pct", seed).make()
    out: list[list[tuple[str, int]]] = []
    while len(out) < executions and strategy.begin_execution():
        o = engine.run(strategy)
        strategy.end_execution(o.violation is not None)
        out.append([(c.label, int(c.value)) for c in o.choices if c.kind == "opt"])
        if o.violation is not None:
            break
    return out


def time_explore(engine: Engine, seed: int, executions: int, repeats: int) -> tuple[float, Any]:
    best, report = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        report = explore(engine, StrategyConfig("pct", seed), executions=executions,
                         artifacts=None)
        best = min(best, time.perf_counter() - t)
    return best, report


def time_baseline(
    engine: Engine, options: list[list[tuple[str, int]]], repeats: int, *, checks: bool
) -> float:
    feed = _ChoiceFeed()
    best = float("inf")
    with sequential_stubs(feed, checks=checks):
        for _ in range(repeats):
            gc.collect()
            t = time.perf_counter()
            for opts in options:
                feed.load(opts)
                run_sequential(engine, checks=checks)
            best = min(best, time.perf_counter() - t)
    return best


def bench_scenario(path: Path, executions: int, repeats: int, seed: int) -> None:
    scenario = load_scenario(path)
    engine = Engine(scenario, make_policy(POLICY))
    engine.base_state()
    print(f"== {path.relative_to(ROOT)} (policy {POLICY}, pct seed {seed}, "
          f"{executions} executions, best of {repeats}) ==")
    secs, report = time_explore(engine, seed, executions, repeats)
    print(f"  exploration: {report.executions} executions, {report.steps:,} steps in "
          f"{secs:.2f} s -> {report.steps / secs:,.0f} steps/s, "
          f"{report.executions / secs:,.1f} executions/s "
          f"({secs / report.executions * 1e3:.2f} ms/execution); "
          f"violations {[v.invariant for v in report.violations]}")
    if report.violations:
        print("  (stopped at a violation: the ratio covers the executions run)")
    print(f"  same-work check (no preemption vs baseline): {same_work(engine)}")
    options = recorded_options(engine, seed, report.executions)
    with checks_off(engine):
        secs_nc, _ = time_explore(engine, seed, executions, repeats)
    base_nc = time_baseline(engine, options, repeats, checks=False)
    base_c = time_baseline(engine, options, repeats, checks=True)
    rows = [
        ("engine as is / baseline without checks", secs, base_nc),
        ("engine as is / baseline with the same checks", secs, base_c),
        ("both without invariant checks (scheduling only)", secs_nc, base_nc),
    ]
    print(f"  sequential baseline: {base_nc:.2f} s without checks, {base_c:.2f} s with "
          f"step+quiescent+end checks; exploration without checks {secs_nc:.2f} s")
    for name, a, b in rows:
        r = a / b
        print(f"  ratio {name}: {a:.2f} / {b:.2f} = {r:.2f}x  (goal <= {GOAL:g}x)  "
              f"[{'PASS' if r <= GOAL else 'FAIL'}]")
    print(f"  invariant checks: {secs - secs_nc:.2f} s of the exploration "
          f"({(secs - secs_nc) / secs:.0%}); {base_c - base_nc:.2f} s of the baseline")


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
    args = p.parse_args(argv)
    executions = args.executions or (60 if args.quick else 200)
    repeats = 2 if args.quick else 3
    print(f"zonesim engine benchmark: python {sys.version.split()[0]}, "
          f"{'quick' if args.quick else 'full'} run")
    t0 = time.perf_counter()
    scenarios = sorted(STRESS.glob("*.toml"))
    for path in scenarios:
        bench_scenario(path, executions, repeats, args.seed)
    if args.profile is not None:
        chosen = [s for s in scenarios if args.profile in s.name] or scenarios[:1]
        profile(chosen[0], min(executions, 100), args.seed, 25)
    print(f"(total {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
