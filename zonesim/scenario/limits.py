"""Resource limits: part of the input contract, decided before anything is allocated.

A scenario, a schedule or a command-line argument that would make zonesim allocate more
memory than it may, or run an execution longer than its step bound allows, is bad input:
one line naming the figure and the limit, never a ``MemoryError`` minutes later.

The figures below were measured (``python benchmarks/limits.py`` prints them again):

- ``BYTES_PER_PAGE``: peak RSS of booting a zone and running executions on it (copy-on-
  write, zonesim.model.memmap): 21-22 bytes per page by VmHWM from 64K to 4M pages; an
  execution that writes every page holds a saved copy too (20 more), hence 48. (Before
  copy-on-write, with a clone per execution: 66-87.)
- ``BYTES_PER_STEP`` and ``BYTES_PER_DECISION``: what one scheduler step keeps until the
  execution ends (the trace_hash signature, 7 int64) and what a recorded decision adds
  (only when two CPUs can run): 113 bytes per step on one CPU, 465 with a decision at
  every step.
- ``BYTES_PER_CPU``: a CPU's trio task, pcp lists and scheduler state, about 4.7 KB.
- ``RUNTIME_BYTES``: the interpreter with zonesim, trio and Hypothesis imported, 47 MB.

``MEMORY_BUDGET`` is 2 GiB: what a laptop or a 2-core CI machine running other jobs can
spare, and the line past which the reliability attack of issue 12 counted a run as
runaway. At the default step bound it admits zones up to about 42 million pages
(2^24 pages = 64 GiB of simulated memory was measured at 1.45 GB and 2.3 s per execution
with a clone per execution; copy-on-write holds about a quarter of that).
Callers with more memory pass ``budget``.

Every check raises :class:`LimitError`, a ``ValueError`` whose message is one line: what
was given, the figure it implies, the limit, and the way out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from zonesim.scenario.document import Scenario
from zonesim.scenario.ops import (
    Alloc,
    AllocContigRange,
    Choose,
    CmaAlloc,
    CmaRelease,
    DrainAllPages,
    FreeContigRange,
    Isolate,
    Migrate,
    OfflinePages,
    OnlinePages,
    Op,
    PcpUpdate,
    Repeat,
    SoftOfflinePage,
    Unisolate,
    VirtioMemPlug,
    VirtioMemUnplug,
)

MEMORY_BUDGET = 2 << 30
RUNTIME_BYTES = 64 << 20  # measured 47 MB, rounded up
# measured 21-22 (the zone's arrays, 20, once: executions run on it copy-on-write); an
# execution that writes every chunk also holds the saved originals, another 20
BYTES_PER_PAGE = 48
BYTES_PER_STEP = 128  # measured 113 on one CPU (no decisions)
BYTES_PER_DECISION = 384  # measured 465 per step with a decision at every step
BYTES_PER_CPU = 16 << 10  # measured 4.7 KB

DEFAULT_MAX_STEPS = 100_000  # the step bound below which no scenario is cut short
MAX_EXECUTIONS = 1 << 40  # a budget counter, not memory: far beyond any run's lifetime
MAX_SECONDS = 30 * 24 * 3600.0  # a month: a larger time cap is a typo
MAX_WORKERS = 1024
MAX_ATTEMPTS = 1 << 20  # shrink replays

# -- the step bound of one execution, from the scenario's own size ----------------------
#
# Steps one CPU takes for one op when nobody gets in its way, as an upper bound: the
# op:<kind> switch point, the switch points of the kernel path (P1..P10) and one per lock
# taken. Counted on every bundled scenario by tests/scenario/test_limits.py, which checks
# that no explored execution takes more than the estimate.
OP_STEPS = 8
PAGEBLOCK_STEPS = 8  # isolation walks, boundary handling, free_contig_range's yield
PAGE_STEPS = 1  # a page freed through free_unref_page may take zone->lock (pcp batch 1)
MIGRATE_STEPS = 24  # migrate_page: alloc the target, copy, free the source
CPU_STEPS = 16  # drain work queued on, and flushed from, each CPU
MIGRATE_ROUNDS = 5  # __alloc_contig_migrate_range: MIGRATE_MAX_TRIES
OFFLINE_ROUNDS = 8  # offline_pages' retry loop (ops/hotplug.py)
UNPLUG_TRIES = 5  # virtio_mem_fake_offline in ZONE_MOVABLE
# A CPU that blocks on a lock, or an idle CPU that runs queued drain work, costs the
# scheduler an entry besides the holder's own steps: at most one per step of the others.
CONTENTION = 2


class LimitError(ValueError):
    """An input beyond what zonesim may allocate or run; the message is one line."""


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def memory_estimate(pages: int, cpus: int, max_steps: int, workers: int = 1) -> int:
    """Bytes one exploration needs at most: every worker process holds the interpreter,
    the booted zone and one execution's copy, and an execution's steps."""
    per_step = BYTES_PER_STEP + (BYTES_PER_DECISION if cpus > 1 else 0)
    per_worker = RUNTIME_BYTES + pages * BYTES_PER_PAGE + cpus * BYTES_PER_CPU
    return workers * (per_worker + max_steps * per_step)


def max_pages(
    cpus: int = 2, *, workers: int = 1, max_steps: int = DEFAULT_MAX_STEPS,
    budget: int = MEMORY_BUDGET,
) -> int:
    """The largest zone that fits ``budget`` (0 if none does)."""
    spare = budget // workers - memory_estimate(0, cpus, max_steps)
    return max(0, spare // BYTES_PER_PAGE)


def check_zone_size(
    pages: int,
    cpus: int = 2,
    *,
    workers: int = 1,
    max_steps: int = DEFAULT_MAX_STEPS,
    budget: int = MEMORY_BUDGET,
) -> None:
    """Refuse a zone (with its CPUs, workers and step bound) that does not fit ``budget``."""
    need = memory_estimate(pages, cpus, max_steps, workers)
    if need <= budget:
        return
    fit = max_pages(cpus, workers=workers, max_steps=max_steps, budget=budget)
    who = f"{workers} worker{'s' if workers != 1 else ''}"
    room = "fewer workers, a smaller zone" if workers > 1 else "a smaller zone"
    raise LimitError(
        f"{pages} pages with {cpus} cpus, {who} and a step bound of {max_steps} need an "
        f"estimated {_gib(need)}, over the memory limit of {_gib(budget)} "
        f"(at most {fit} pages fit; {room} or a larger memory limit make room)"
    )


def check_count(name: str, value: object, lo: int, hi: int) -> int:
    """An integer ``lo <= value <= hi`` (bool, float and str are refused, as NaN is)."""
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise LimitError(f"{name}: expected an integer {lo}..{hi}, got {value!r}")
    return value


def check_executions(n: object) -> int:
    return check_count("--executions", n, 1, MAX_EXECUTIONS)


def check_workers(n: object) -> int:
    return check_count("--workers", n, 1, MAX_WORKERS)


def check_attempts(n: object) -> int:
    return check_count("--attempts", n, 1, MAX_ATTEMPTS)


def check_max_steps(n: object, *, name: str = "--max-steps") -> int:
    """A step bound; its memory is checked with the zone by :func:`check_zone_size`."""
    return check_count(name, n, 1, max_step_bound())


def check_depth(depth: object, max_steps: int) -> int:
    """PCT's bug depth: ``depth - 1`` change points, each on a step of the execution, so a
    depth beyond the step bound cannot change a schedule (it only costs memory)."""
    return check_count("--depth", depth, 1, max_steps + 1)


def check_seconds(seconds: object, *, name: str = "--time", allow_zero: bool = False) -> float:
    """A finite number of seconds; NaN, infinities and negatives are refused."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise LimitError(f"{name}: expected a number of seconds, got {seconds!r}")
    lo_ok = seconds >= 0 if allow_zero else seconds > 0
    if not math.isfinite(seconds) or not lo_ok or seconds > MAX_SECONDS:
        low = ">= 0" if allow_zero else "> 0"
        raise LimitError(
            f"{name}: expected a finite number of seconds {low} and <= {MAX_SECONDS:.0f} "
            f"(30 days), got {seconds!r}"
        )
    return float(seconds)


def check_pfn(pfn: object, *, name: str = "--start-pfn", hi: int = 1 << 40) -> int:
    """A pfn the model can address (the scenario format's MAX_PFN, 4 PiB of 4K pages)."""
    return check_count(name, pfn, 0, hi)


def max_step_bound(budget: int = MEMORY_BUDGET) -> int:
    """The largest step bound whose steps (with decisions) fit ``budget`` beside a small
    zone; the zone's own memory is checked with it by :func:`check_zone_size`."""
    per_step = BYTES_PER_STEP + BYTES_PER_DECISION
    return max(DEFAULT_MAX_STEPS, (budget - memory_estimate(0, 64, 0)) // per_step)


# -- step estimate ------------------------------------------------------------------------


class _Cost:
    """Upper bounds of the steps ops take, for one scenario's zone and CMA areas."""

    def __init__(self, scenario: Scenario) -> None:
        z = scenario.zone
        self.pb = z.pageblock_nr_pages
        self.cpus = z.cpus
        self.zone_pages = z.pages
        self.movable_zone = z.movable_zone
        self.subblock = max(1 << (z.max_order - 1), self.pb)
        self.areas = {c.name: c for c in scenario.cma}
        self.allocations = max(1, _allocations(scenario))
        # A ref'd range (free_contig_range, cma_release, plug) is no larger than the largest
        # range any op of the scenario allocates.
        self.largest = max((_range_pages(op) for op in _walk(scenario)), default=0)
        self.largest = min(self.zone_pages, max(self.largest, 1))

    def walk(self, pages: int, rounds: int) -> int:
        """An op over ``pages`` pages that migrates what it finds for ``rounds`` rounds.

        The range is widened by a MAX_ORDER-1 block at each end: 5.15 isolates whole
        MAX_ORDER-1 blocks, 5.19's boundary handling splits or migrates what straddles
        them, and alloc_contig_range frees the pages between outer_start and start (and
        past end) one by one, each under zone->lock."""
        widened = pages + 2 * self.subblock
        return (
            OP_STEPS
            + PAGEBLOCK_STEPS * -(-widened // self.pb)
            + PAGE_STEPS * widened
            + MIGRATE_STEPS * rounds * min(widened, self.allocations)
            + CPU_STEPS * self.cpus  # drain_all_pages on the way
        )

    def op(self, op: Op) -> int:
        match op:
            case Repeat():
                return op.times * self.ops(op.ops)
            case Choose():
                return OP_STEPS + max(self.ops(o.ops) for o in op.options)
            case Alloc():
                return op.count * OP_STEPS
            case AllocContigRange() | Isolate() | Unisolate():
                return self.walk(op.end - op.start, MIGRATE_ROUNDS)
            case OfflinePages() | OnlinePages():
                return self.walk(op.count, OFFLINE_ROUNDS)
            case VirtioMemUnplug():
                tries = UNPLUG_TRIES if self.movable_zone else 1
                return tries * self.walk(op.count, MIGRATE_ROUNDS)
            case CmaAlloc():
                return self.cma_alloc(op)
            case FreeContigRange() | VirtioMemPlug():
                return self.walk(op.count if op.count is not None else self.largest, 0)
            case CmaRelease():
                return self.walk(self.largest, 0)
            case Migrate() | SoftOfflinePage():
                return OP_STEPS + MIGRATE_STEPS
            case DrainAllPages() | PcpUpdate():
                return OP_STEPS + CPU_STEPS * self.cpus
            case _:
                return OP_STEPS

    def cma_alloc(self, op: CmaAlloc) -> int:
        area = self.areas.get(op.cma)
        bits = 1 if area is None else max(1, area.range.nr_pages >> area.order_per_bit)
        per_bit = 0 if area is None else area.order_per_bit
        step = max(1, (1 << op.align) >> per_bit)  # the window moves by the alignment
        windows = max(1, -(-bits // step))
        return OP_STEPS + windows * self.walk(op.count, MIGRATE_ROUNDS)

    def ops(self, ops: Iterable[Op]) -> int:
        return sum(self.op(op) for op in ops)


def _walk(scenario: Scenario) -> Iterable[Op]:
    def rec(ops: Iterable[Op]) -> Iterable[Op]:
        for op in ops:
            yield op
            if isinstance(op, Repeat):
                yield from rec(op.ops)
            elif isinstance(op, Choose):
                for o in op.options:
                    yield from rec(o.ops)

    yield from rec(scenario.setup)
    for cpu in scenario.cpus:
        yield from rec(cpu.ops)


def _range_pages(op: Op) -> int:
    if isinstance(op, AllocContigRange):
        return op.end - op.start
    if isinstance(op, CmaAlloc | VirtioMemUnplug):
        return op.count
    return 0


def _allocations(scenario: Scenario) -> int:
    """How many allocations the scenario makes at most (what migration can find)."""

    def count(ops: Iterable[Op]) -> int:
        n = 0
        for op in ops:
            if isinstance(op, Alloc):
                n += op.count
            elif isinstance(op, Repeat):
                n += op.times * count(op.ops)
            elif isinstance(op, Choose):
                n += max(count(o.ops) for o in op.options)
        return n

    return count(scenario.setup) + sum(count(c.ops) for c in scenario.cpus)


def estimated_steps(scenario: Scenario) -> tuple[int, int]:
    """``(setup steps, steps of one execution)``: upper bounds before :data:`CONTENTION`."""
    cost = _Cost(scenario)
    return cost.ops(scenario.setup), sum(cost.ops(c.ops) for c in scenario.cpus)


def heaviest_op(scenario: Scenario) -> tuple[str, int]:
    """The op (by key path) that contributes most steps, for the error message."""
    cost = _Cost(scenario)
    tops: list[tuple[int, str]] = []
    for op in (*scenario.setup, *(op for c in scenario.cpus for op in c.ops)):
        tops.append((cost.op(op), op.path))
    if not tops:
        return "", 0
    steps, path = max(tops, key=lambda t: t[0])
    return path, steps


def step_bound(scenario: Scenario) -> int:
    """The step bound of one execution: the scenario's ``[explore] max_steps`` if given,
    else its estimated steps times :data:`CONTENTION`, at least :data:`DEFAULT_MAX_STEPS`,
    so that a long legal loop is never reported as a livelock."""
    if scenario.explore.max_steps is not None:
        return scenario.explore.max_steps
    setup, run = estimated_steps(scenario)
    return max(DEFAULT_MAX_STEPS, CONTENTION * max(setup, run))


def check_scenario(
    scenario: Scenario, *, workers: int = 1, budget: int = MEMORY_BUDGET
) -> tuple[str, str] | None:
    """``(key path, message)`` when the scenario does not fit ``budget``, else None.

    The path is where the user can act: ``zone.pages`` for the zone, the heaviest op (a
    ``repeat``'s ``times``) when the step bound is what does not fit.
    """
    z = scenario.zone
    bound = step_bound(scenario)
    if memory_estimate(z.pages, z.cpus, DEFAULT_MAX_STEPS, workers) > budget:
        try:
            check_zone_size(z.pages, z.cpus, workers=workers, budget=budget)
        except LimitError as exc:
            return "zone.pages", str(exc)
    if memory_estimate(z.pages, z.cpus, bound, workers) <= budget:
        return None
    need = memory_estimate(z.pages, z.cpus, bound, workers)
    if scenario.explore.max_steps is not None:
        return "explore.max_steps", (
            f"a step bound of {bound} steps needs an estimated {_gib(need)} with this zone, over "
            f"the memory limit of {_gib(budget)}; expected at most "
            f"{_fit_steps(z.pages, z.cpus, workers, budget)}"
        )
    path, steps = heaviest_op(scenario)
    key = f"{path}.times" if _is_repeat_path(scenario, path) else path
    return key, (
        f"the ops need up to {bound} scheduler steps per execution (estimated; this op "
        f"{steps}), and that many steps need {_gib(need)}, over the memory limit of "
        f"{_gib(budget)}: at most {_fit_steps(z.pages, z.cpus, workers, budget)} steps fit; "
        "fewer iterations, or [explore] max_steps to bound the execution yourself"
    )


def _fit_steps(pages: int, cpus: int, workers: int, budget: int) -> int:
    per_step = memory_estimate(pages, cpus, 1) - memory_estimate(pages, cpus, 0)
    return max(0, (budget // workers - memory_estimate(pages, cpus, 0)) // per_step)


def _is_repeat_path(scenario: Scenario, path: str) -> bool:
    for op in (*scenario.setup, *(op for c in scenario.cpus for op in c.ops)):
        if op.path == path:
            return isinstance(op, Repeat)
    return False
