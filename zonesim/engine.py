"""One execution: scenario + policy + model + ops + scheduler + checks.

The zone is booted and the scenario's ``[[setup]]`` run once per engine (setup is
sequential and deterministic); every execution starts from a copy of that state, so an
exploration pays for boot once. Checks: the ``step`` invariants at every switch point,
the ``quiescent`` ones after every top-level op, all of them when every CPU is done.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import struct
import threading
from array import array
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import trio
import trio.testing

from zonesim.check.baseline import Baseline, baseline, conservation_suspect
from zonesim.check.events import EVENT_INVARIANTS
from zonesim.check.fused import COVERED, suspect
from zonesim.check.isolation import ISOLATION_HELD
from zonesim.check.pageblocks import isolate_census
from zonesim.check.registry import (
    Cadence,
    InvariantViolation,
    Violation,
    check_zone,
    registry,
)
from zonesim.coverage import ExecCoverage, Observed, Tracker
from zonesim.interp import Env, Interp
from zonesim.model.alloc import prep_new_page, take_free_block_at
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.errors import ModelFault
from zonesim.model.geometry import Geometry
from zonesim.model.tap import TAP, instrument
from zonesim.model.tap import attach as tap_attach
from zonesim.model.tap import detach as tap_detach
from zonesim.model.tap import paused as tap_paused
from zonesim.model.types import MigrateType
from zonesim.model.zone import PerCpuPages, Zone
from zonesim.obs.logging import ListSink, bind_cpu, make_logger
from zonesim.ops import Kernel
from zonesim.policy import Policy
from zonesim.scenario import Alloc, Choose, Isolate, Repeat, Scenario, ScenarioError
from zonesim.scenario.fingerprint import behaviour_fingerprint, legacy_fingerprint
from zonesim.scenario.limits import step_bound
from zonesim.scenario.ops import Op
from zonesim.sched import (
    ZONE,
    Choice,
    ChoiceLog,
    Deadlock,
    ForeignAwait,
    LivelockSuspected,
    Obj,
    ReplayStrategy,
    SchedError,
    Scheduler,
    SleepInAtomic,
    StepRecorder,
    Strategy,
    in_atomic,
)

MODEL_VERSION = "zonesim-model/1"
_SIG_BATCH = 7 * 256  # signature ints packed at a time (256 steps)


class NotApplicable(Exception):
    """The modelled kernel refuses the scenario's layout outright (e.g. v5.15 rejects a CMA
    area that is not MAX_ORDER-1 aligned): the verdict is ``n/a``, not a violation."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one execution found."""

    violation: Violation | None
    choices: Sequence[Choice]  # a ChoiceLog from the scheduler (Choice records on demand)
    steps: int
    trace_hash: str
    events: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None  # a non-violation failure (ReplayMismatch, ...)
    coverage: ExecCoverage | None = None  # with Engine.coverage: what the execution covered


def layout_for(scenario: Scenario, policy: Policy) -> ZoneLayout:
    z = scenario.zone
    g = Geometry(
        z.start_pfn,
        z.pages,
        z.max_order,
        z.pageblock_order,
        z.cpus,
        z.thp,
        sparsemem_classic=z.sparsemem_classic,
    )
    return ZoneLayout(
        geometry=g,
        pageblock_types=tuple(
            (PfnRange(p.range.start, p.range.end), p.migratetype) for p in z.pageblocks
        ),
        holes=tuple(PfnRange(r.start, r.end) for r in z.holes),
        reserved=tuple(PfnRange(r.start, r.end) for r in z.reserved),
        cma=tuple(PfnRange(c.range.start, c.range.end) for c in scenario.cma),
        cma_names=tuple(c.name for c in scenario.cma),
        cma_order_per_bit=tuple(c.order_per_bit for c in scenario.cma),
        movable_zone=z.movable_zone,
        pcp_high=z.pcp_high,
        pcp_batch=z.pcp_batch,
        flags=policy.model_flags(),
    )


def check_applicable(scenario: Scenario, policy: Policy) -> None:
    """Refuse what the modelled kernel refuses at boot: a CMA area must be aligned to
    max(MAX_ORDER-1, pageblock) pages in 5.15 (cma_init_reserved_mem), to a pageblock with
    11ac3e87ce09 / rfc1/1-align (CMA_MIN_ALIGNMENT_PAGES)."""
    z = scenario.zone
    pb = 1 << z.pageblock_order
    if policy.has("11ac3e87ce09") or policy.has("rfc1/1-align"):
        align, why = pb, "pageblock_nr_pages (CMA_MIN_ALIGNMENT_PAGES)"
    else:
        align, why = max(1 << (z.max_order - 1), pb), "max(MAX_ORDER_NR_PAGES, pageblock_nr_pages)"
    for c in scenario.cma:
        if c.range.start % align or c.range.end % align:
            raise NotApplicable(
                f"CMA area {c.name} [{c.range.start:#x}, {c.range.end:#x}) is not aligned to "
                f"{why} = {align} pages: {policy.name} refuses it (cma_init_reserved_mem: -EINVAL)"
            )


def held_isolations(scenario: Scenario) -> tuple[tuple[int, int], ...]:
    """The pfn ranges the scenario holds isolated on purpose, which may stay ISOLATE when
    every CPU is done (zonesim.check.isolation): its ``type = "isolate"`` pageblocks and
    the range of every ``isolate`` op, wherever it appears."""
    held = [(p.range.start, p.range.end) for p in scenario.zone.pageblocks
            if p.migratetype == MigrateType.ISOLATE]

    def walk(ops: tuple[Op, ...]) -> None:
        for op in ops:
            if isinstance(op, Isolate):
                held.append((op.start, op.end))
            elif isinstance(op, Repeat):
                walk(op.ops)
            elif isinstance(op, Choose):
                for option in op.options:
                    walk(option.ops)

    walk(scenario.setup)
    for cpu in scenario.cpus:
        walk(cpu.ops)
    return tuple(held)


def cpu_names(scenario: Scenario) -> list[str]:
    return [f"cpu{i}" for i in range(scenario.zone.cpus)]


class Engine:
    def __init__(
        self, scenario: Scenario, policy: Policy, *, max_steps: int | None = None
    ) -> None:
        check_applicable(scenario, policy)
        self.scenario = scenario
        self.policy = policy
        # None: the scenario's own bound ([explore] max_steps, else derived from its ops),
        # so a long legal loop is not reported as a livelock.
        self.max_steps = step_bound(scenario) if max_steps is None else max_steps
        # What decides behaviour (zone, setup, ops, switches, model), not names or [expect]:
        # schedules survive edits of a scenario's prose. zs1 schedules carry the older
        # fingerprint, which hashed the whole parsed file and the policy's name.
        self.fingerprint = behaviour_fingerprint(scenario, policy.switches, MODEL_VERSION)
        self.legacy_fingerprint = hashlib.sha256(
            f"{legacy_fingerprint(scenario)}|{policy.name}|{MODEL_VERSION}".encode()
        ).hexdigest()[:16]
        self._base: tuple[Zone, Env] | None = None
        self.isolation_held = held_isolations(scenario)
        # The booted zone is also the working zone: it tracks its writes and every
        # execution starts by rolling the previous one back (zonesim.model.memmap), so an
        # exploration holds one zone and a reset costs what the execution wrote.
        # _written: an execution ran since the last rollback. _baseline: the booted state
        # passed every end invariant, so end checks judge what an execution wrote
        # (zonesim.check.baseline). _exclusive: one execution at a time on the zone (two
        # threads of one Dask worker share the engine; the GIL serialises them anyway).
        self._written = False
        self._baseline: Baseline | None = None
        self._exclusive = threading.RLock()
        # Benchmarks switch the invariant checks off to see what scheduling alone costs;
        # last_zone is the final zone of the latest run (for same-work comparisons): valid
        # until the next run or base_state() call, which roll it back.
        self.checks = True
        # Allocator-state coverage (zonesim.coverage): a tracker per execution, only when on.
        self.coverage = False
        self.last_zone: Zone | None = None
        self._step_invariants = [i for i in registry().values() if i.cadence == "step"]

    # -- boot + setup, once ------------------------------------------------------------

    def base_state(self) -> tuple[Zone, Env]:
        """The booted zone after ``[[setup]]`` (rolled back if an execution ran on it)."""
        with self._exclusive:
            if self._base is None:
                zone = build_zone(layout_for(self.scenario, self.policy))
                env = Env()
                self._run_setup(zone, env)
                # Walk the booted zone's lists once: executions start from a zone whose
                # lists the incremental checks already know clean.
                suspect(zone)
                clean = end_check(zone) is None
                zone.track_writes()
                self._baseline = baseline(zone) if clean else None
                self._base = (zone, env)
            elif self._written:
                self._base[0].rollback()
                self._written = False
            return self._base

    def _run_setup(self, zone: Zone, env: Env) -> None:
        """Setup runs on cpu0 with nobody preempting it; placed allocations are carved."""
        placed = [op for op in self.scenario.setup if isinstance(op, Alloc) and op.pfn is not None]
        for op in placed:
            assert op.pfn is not None
            for n in range(op.count):
                pfn = op.pfn + n * (1 << op.order)
                if pfn & ((1 << op.order) - 1):
                    raise ScenarioError(
                        self.scenario.file,
                        op.path + ".pfn",
                        f"expected a pfn aligned to 2^{op.order}, got {pfn:#x}",
                    )
                try:
                    take_free_block_at(zone, pfn, op.order)
                except (ValueError, ModelFault) as exc:
                    raise ScenarioError(
                        self.scenario.file,
                        op.path + ".pfn",
                        f"expected free memory at the placed pfn: {exc}",
                    ) from None
                a = prep_new_page(
                    zone,
                    pfn,
                    op.order,
                    op.migratetype,
                    compound=op.compound,
                    movable=op.movable,
                    cpu=0,
                    hugetlb=op.hugetlb,
                )
                if op.as_name is not None:
                    name = op.as_name if op.count == 1 else f"{op.as_name}[{n}]"
                    env.names[name] = [a.token]
        rest = tuple(op for op in self.scenario.setup if op not in placed)
        if not rest:
            return
        k = self._kernel(zone, None, tracing=False)
        interp = Interp(k, 0, env)

        async def setup_body() -> None:
            await interp.run_ops(rest)

        sched = Scheduler(ReplayStrategy(()), max_steps=self.max_steps)
        k.queue_work = sched.queue_work
        for i, name in enumerate(cpu_names(self.scenario)):
            sched.add_cpu(name, setup_body if i == 0 else _idle)
        try:
            trio.run(sched.run, clock=trio.testing.MockClock())
        except InvariantViolation as exc:
            raise ScenarioError(
                self.scenario.file, "setup", f"expected a setup that runs cleanly: {exc}"
            ) from None
        env.names.update(interp.env.names)

    def _kernel(
        self, zone: Zone, hook: Callable[[str, int], None] | None, *, tracing: bool
    ) -> Kernel:
        def no_queue(cpu: str, label: str, fn: Callable[[], Awaitable[None]]) -> Any:
            raise AssertionError("queue_work before the scheduler exists")

        return Kernel(
            zone,
            self.policy,
            cpu_names=cpu_names(self.scenario),
            queue_work=no_queue,
            step_hook=hook,
            tracing=tracing,
        )

    # -- one execution -----------------------------------------------------------------

    def run(self, strategy: Strategy, *, tracing: bool = False) -> Outcome:
        """One execution under ``strategy`` (the caller calls begin/end_execution)."""
        out: list[Outcome] = []
        strategies = iter((strategy,))
        self.run_batch(lambda _prev: next(strategies, None), out.append, tracing=tracing)
        return out[0]

    def run_batch(
        self,
        next_strategy: Callable[[Outcome | None], Strategy | None],
        on_outcome: Callable[[Outcome], None],
        *,
        tracing: bool = False,
    ) -> None:
        """Many executions in ONE ``trio.run``: ``next_strategy(previous outcome)`` gives the
        strategy of the next execution (None = stop); ``on_outcome`` receives each outcome
        as soon as it is known, so an interrupted batch keeps what finished.

        Starting and tearing down trio costs 1.4-2.1 ms, a large share of a small
        execution; each execution still gets a fresh Scheduler, zone clone and kernel, and
        trio's own scheduling never decides anything (baton passing), so the outcomes are
        exactly those of one ``trio.run`` per execution.
        """
        try:
            self.base_state()
        except ModelFault as exc:
            # The modelled kernel already crashes while booting or running [[setup]]
            # (e.g. an unvalidated buddy read outside the memmap): a violation, not a bug.
            v = Violation(exc.invariant, f"during boot or [[setup]]: {exc}", pfn=exc.pfn)
            h0 = hashlib.blake2b(f"{self.fingerprint}|boot|{v.invariant}".encode(),
                                 digest_size=16)
            failed: Outcome | None = None
            while next_strategy(failed) is not None:
                failed = Outcome(v, (), 0, h0.hexdigest())
                on_outcome(failed)
            return

        # Ctrl-C ends the batch after the execution in progress, then raises
        # KeyboardInterrupt here: raised inside the scheduler's baton passing it would
        # leave trio with a task rescheduled twice (TrioInternalError).
        interrupted = False

        def on_sigint(signum: int, frame: object) -> None:
            nonlocal interrupted
            interrupted = True

        async def main() -> None:
            prev: Outcome | None = None
            while not interrupted and (strategy := next_strategy(prev)) is not None:
                prev = await self._run_one(strategy, tracing)
                on_outcome(prev)

        with _sigint_flag(on_sigint):
            trio.run(main, clock=trio.testing.MockClock())
        if interrupted:
            raise KeyboardInterrupt

    async def _run_one(self, strategy: Strategy, tracing: bool) -> Outcome:
        with self._exclusive:
            zone, base_env = self.base_state()
            self.last_zone = zone
            self._written = True
            return await self._execute(zone, base_env, strategy, tracing)

    async def _execute(self, zone: Zone, base_env: Env, strategy: Strategy,
                       tracing: bool) -> Outcome:
        checks = self.checks
        h = hashlib.blake2b(digest_size=16)
        h.update(self.fingerprint.encode())
        step_invariants = self._step_invariants

        # The per-step state signature of trace_hash: ints only (labels numbered in order
        # of first appearance, never hash()ed), packed as int64s and hashed at the end.
        # Appended to a short list and packed in batches: array.extend of a tuple cost
        # ~0.5 us per step, and a whole execution's list of ints would hold ~3x the memory.
        sig = array("q")
        buf: list[int] = []

        def pack() -> None:
            sig.frombytes(struct.pack(f"{len(buf)}q", *buf))
            buf.clear()

        label_no: dict[str, int] = {}
        pcps = zone.pcp
        m = zone.memmap

        # While a CPU is inside a zone->lock or IRQ-off section (at a window, or another CPU
        # runs during it), the state that section protects is half-written: the invariants
        # judge it again at the next switch point after the section ends.
        sched_box: list[Scheduler] = []

        def mid_section() -> bool:
            return sched_box[0].suspended_in_section or in_atomic()

        pcp_pages = _pcp_pages(pcps)
        # I6's census counts ISOLATE bytes over every pageblock (2048 at 1M pages): only
        # recounted after set_pageblock_migratetype wrote one (Zone.pb_writes).
        census = [-1, 0]  # [pb_writes counted at, count + offline_isolated_pageblocks]

        def nr_isolated() -> int:
            if census[0] != zone.pb_writes:
                census[0] = zone.pb_writes
                census[1] = isolate_census(zone) + zone.offline_isolated_pageblocks
            return census[1] - zone.offline_isolated_pageblocks

        extend = buf.extend

        def hook(label: str, cpu: int) -> None:
            n = label_no.get(label)
            if n is None:
                n = label_no[label] = len(label_no)
            nr_free = zone.NR_FREE_PAGES
            nr_cma = zone.NR_FREE_CMA_PAGES
            nr_iso = zone.nr_isolate_pageblock
            extend((k.step, cpu, n, nr_free, nr_cma, nr_iso, pcp_pages()))
            if len(buf) >= _SIG_BATCH:
                pack()
            # The cheap invariants (I2, I3, I6) from running totals the list operations
            # keep (Memmap.free_listed / cma_listed); the registered functions run only
            # to word a violation (and recompute the totals from the lists: a suspicion
            # they do not confirm is no violation), and not while a section is half done.
            # The census is inline while no pageblock was retyped (nr_isolated's fast path).
            if (
                checks
                and (
                    m.free_listed != nr_free
                    or m.cma_listed != nr_cma
                    or zone.cma_pages < nr_cma
                    or (census[1] - zone.offline_isolated_pageblocks
                        if census[0] == zone.pb_writes else nr_isolated()) != nr_iso
                )
                and not mid_section()
            ):
                for inv in step_invariants:
                    for v in inv.fn(zone):
                        raise InvariantViolation(v)

        tracker: Tracker | None = None
        if self.coverage:
            tracker = Tracker(zone, cpu_names(self.scenario))
            strategy = Observed(strategy, tracker)
            check_step = hook

            def hook(label: str, cpu: int) -> None:
                tracker.step(label, cpu)  # first: a step invariant may raise
                check_step(label, cpu)

        k = self._kernel(zone, hook, tracing=tracing)

        def checkpoint(label: str) -> None:
            if checks and not mid_section():
                quiescent_check(zone, "quiescent")

        k._checkpoint = checkpoint
        if checks:  # I5b/I7 are invariants too: off with the others
            k._event_check = lambda name, start, end: event_check(zone, name, start, end)
        sink = ListSink()
        if tracing:
            k.log = make_logger(sink)
        sched = Scheduler(strategy, max_steps=self.max_steps)
        sched_box.append(sched)
        k.queue_work = sched.queue_work
        k.sched = sched
        steps = sched.step_recorder
        observer = m.observer  # a caller's (a test's) is put back afterwards
        if steps is not None:  # a reducing strategy: record what every step touches
            k.steps = steps
            watch_state(zone, steps)
            # The checks read the whole zone: not the running step's reads.
            k.step_hook = _untapped(k.step_hook)
            k._checkpoint = _untapped(k._checkpoint)
            k._event_check = _untapped(k._event_check)
        names = cpu_names(self.scenario)
        programs = {i: p.ops for i, p in enumerate(self.scenario.cpus)}
        for i, name in enumerate(names):
            sched.add_cpu(
                name, self._cpu_body(k, i, name, programs.get(i, ()), base_env.copy(), tracing)
            )
        violation: Violation | None = None
        error: Exception | None = None
        result: ChoiceLog | None = None
        try:
            # The state booted + set up must itself be one the design allows. When it
            # passed every end invariant at boot (``_baseline``), this zone is that state
            # again, byte for byte (base_state's rollback; tests/model/test_model_cow.py),
            # checker caches included: judging it again could find nothing, and would
            # leave those caches as they are. Otherwise it is judged (and fails) here.
            if checks and self._baseline is None:
                quiescent_check(zone, "quiescent")
            if steps is not None:
                tap_attach(*steps.taps)
            result = (await sched.run()).choices
            tap_detach()
            if checks:
                violation = end_check(zone, self._baseline)
                if violation is None:  # a pageblock left ISOLATE that nobody holds
                    violation = next(iter(ISOLATION_HELD.fn(zone, self.isolation_held)),
                                     None)
        except InvariantViolation as exc:
            violation = exc.violation
        except ModelFault as exc:
            violation = Violation(exc.invariant, str(exc), pfn=exc.pfn)
        except Deadlock as exc:
            violation = Violation("deadlock", str(exc))
        except LivelockSuspected as exc:
            violation = Violation("livelock_suspected", str(exc))
        except (ForeignAwait, SleepInAtomic) as exc:
            violation = Violation("scheduler", str(exc))
        except SchedError as exc:
            error = exc
        finally:
            m.observer = observer
            tap_detach()
        choices = result if result is not None else sched.choices
        pack()
        h.update(sig.tobytes())
        h.update("|".join(label_no).encode())
        h.update(choices.hash_text().encode())
        if violation is not None:
            h.update(f"violation:{violation.invariant}".encode())
        cov = None if tracker is None else tracker.finish(choices)
        return Outcome(violation, choices, sched.steps, h.hexdigest(), sink.records, error,
                       cov)

    def _cpu_body(
        self, k: Kernel, cpu: int, name: str, ops: tuple[Any, ...], env: Env, tracing: bool
    ) -> Callable[[], Awaitable[None]]:
        zone = k.zone

        async def body() -> None:
            if tracing:
                bind_cpu(name)
            interp = Interp(k, cpu, env)
            for op in ops:
                await interp.run_op(op)
                if self.checks and not k.mid_section():
                    if TAP.read is None:
                        quiescent_check(zone, "quiescent")
                    else:
                        with tap_paused():
                            quiescent_check(zone, "quiescent")

        return body


_F = TypeVar("_F", bound=Callable[..., None])


def _untapped(fn: _F | None) -> _F | None:
    """``fn`` with the zone's taps paused while it runs (zonesim.model.tap)."""
    if fn is None:
        return None
    inner = fn

    def call(*args: Any) -> None:
        with tap_paused():
            inner(*args)

    return cast(_F, call)


def _pcp_pages(pcps: list[PerCpuPages]) -> Callable[[], int]:
    """``sum(p.count for p in pcps)`` for the per-step signature, unrolled for the usual
    CPU counts: it runs at every switch point, and the loop cost ~0.5 us."""
    if len(pcps) == 2:
        a, b = pcps
        return lambda: a.count + b.count
    if len(pcps) == 3:
        a, b, c = pcps
        return lambda: a.count + b.count + c.count
    if len(pcps) == 4:
        a, b, c, d = pcps
        return lambda: a.count + b.count + c.count + d.count
    return lambda: sum([p.count for p in pcps])


#: How the fields of ``Zone`` reach a step footprint (zonesim.sched.footprint) in a
#: reducing exploration; tests/sched/test_footprints.py fails on a field missing here.
ZONE_FIELDS_RESIDUAL = (  # the probe's ``zone`` value: every step reads it
    "nr_reserved_highatomic", "cma_pages", "managed_pages",
    "present_pages", "watermarks", "pageset_high", "pageset_batch",
    "offline_isolated_pageblocks", "start_pfn", "end_pfn", "movable_zone")
ZONE_FIELDS_ELSEWHERE = {
    "memmap": "tapped (zonesim.model.tap): pages, free and pcp lists",
    "pageblock": "tapped: pb[block]",
    "nr_free": "tapped: adds",
    "allocations": "tapped: alloc[id]",
    "by_token": "tapped: tok[token]",
    "NR_FREE_PAGES": "probe: an add; readers declare (tap_read)",
    "NR_FREE_CMA_PAGES": "probe: an add; readers declare (tap_read)",
    "nr_isolate_pageblock": "probe: an add; has_isolate_pageblock() declares the read",
    "next_alloc_id": "probe: alloc_ids (read by the allocator only as it advances it)",
    "next_token": "probe: alloc_ids",
    "transient_ranges": "probe: transient",
    "absent_ranges": "probe: zone (as a tuple)",
    "cma_ranges": "probe: zone (as a tuple)",
    "pcp": "probe per CPU (pcp, pcp_count, pcp_high) and the pcp locks / IRQ-off sections",
    "cma_areas": "probe per area (cma) and cma->lock",
    "geometry": "constant", "flags": "constant (the design's switches)", "name": "constant",
    "max_order": "constant", "pageblock_order": "constant", "nr_free_lists": "constant",
    "first_pageblock": "constant",
    "retyped": "the checker's worklist, not state", "pb_writes": "the checker's census version",
    "checked_state": "the checker's cache", "sync": "zone->lock (a declared lock)",
    "snapshot": "rollback's copy", "_memmap_small": "rollback's copy",
}


def state_probe(zone: Zone) -> tuple[Callable[[], tuple[Hashable, ...]],
                                      tuple[tuple[Obj, ...], ...], tuple[bool, ...]]:
    """A digest of the state no tap, lock or declaration reports by itself, the objects
    each part stands for, and which parts are counters changed only by adds: the zone's
    residual scalars (``zone``), NR_FREE_PAGES, NR_FREE_CMA_PAGES and
    nr_isolate_pageblock (adds), the id and
    token counters (``alloc_ids``), the ranges being isolated (``transient``); each CPU's
    pcp count/high/batch (that pcp); each CMA area's bitmap. Compared at every decision,
    a change is an observed write (or add) of those objects by the step."""
    pcps = zone.pcp
    areas = list(zone.cma_areas.values())
    residual = ZONE_FIELDS_RESIDUAL

    def probe() -> tuple[Hashable, ...]:
        z = zone
        d = z.__dict__
        return ((*[d[f] for f in residual], tuple(z.absent_ranges), tuple(z.cma_ranges)),
                z.NR_FREE_PAGES, z.NR_FREE_CMA_PAGES, z.nr_isolate_pageblock,
                (z.next_alloc_id, z.next_token),
                tuple(z.transient_ranges),
                *[p.count for p in pcps], *[(p.high, p.batch) for p in pcps],
                *[bytes(a.bitmap) for a in areas])

    objects = ((ZONE,), (("ctr", "NR_FREE_PAGES"),), (("ctr", "NR_FREE_CMA_PAGES"),),
               (("ctr", "nr_isolate_pageblock"),), (("alloc_ids", None),), (("transient", None),),
               *[(("pcp", i), ("pcp_count", i)) for i in range(len(pcps))],
               *[(("pcp_high", i),) for i in range(len(pcps))],
               *[(("cma", a.name),) for a in areas])
    adds = (False, True, True, True) + (False,) * (len(objects) - 4)
    return probe, objects, adds


def watch_state(zone: Zone, steps: StepRecorder) -> None:
    """Feed ``steps`` what every step of the coming execution touches of the zone: the
    tapped containers' reads, writes and adds (zonesim.model.tap), every page about to
    be written (``Memmap.observer``; the engine puts the previous one back when the
    execution ends) and the probe."""
    start = zone.start_pfn
    observed = steps.observed
    before = zone.memmap.observer
    if before is None:
        zone.memmap.observer = lambda i: observed(("page", start + i))
    else:
        def both(i: int) -> None:
            before(i)
            observed(("page", start + i))

        zone.memmap.observer = both
    instrument(zone)
    steps.probe, steps.probe_objects, steps.probe_adds = state_probe(zone)
    steps.taps = (steps.read, observed, steps.added)


# the same frozensets every time: zonesim.check.registry.due caches by them
_CONSERVATION = frozenset({"page_conservation"})
_COVERED_AND_CONSERVATION = COVERED | _CONSERVATION


def event_check(zone: Zone, name: str, start: int, end: int) -> None:
    for v in EVENT_INVARIANTS[name].fn(zone, start, end):
        raise InvariantViolation(v)


def end_check(zone: Zone, base: Baseline | None = None) -> Violation | None:
    """Every invariant, as ``check_zone(zone, "end")`` reports it: the one-pass gate
    first, then page conservation (itself a sort of the claims, no per-page lists).
    ``base``: the zone tracks its writes from that baseline (zonesim.check.baseline):
    the gates judge what the execution wrote; the registered invariants still word any
    report, over the whole zone."""
    if zone.snapshot is None:
        base = None  # not tracking: nothing is known unwritten
    claims: list[tuple[int, int]] = []  # the free blocks, as the gate's walk found them
    if suspect(zone, end=True, base=base, claims=claims):
        found = check_zone(zone, "end")
        return found[0] if found else None
    skip = COVERED
    if base is not None and not conservation_suspect(zone, base, claims):
        skip = _COVERED_AND_CONSERVATION
    found = check_zone(zone, "end", skip=skip)  # conservation, and any the gate lacks
    return found[0] if found else None


def quiescent_check(zone: Zone, cadence: Cadence) -> None:
    """The step and quiescent invariants, as ``check_zone`` reports them (gated)."""
    if suspect(zone):
        found = check_zone(zone, cadence, skip=_CONSERVATION)
    else:  # the invariants the gate does not answer for (none today) run ungated
        found = check_zone(zone, cadence, skip=_COVERED_AND_CONSERVATION)
    if found:
        raise InvariantViolation(found[0])


@contextlib.contextmanager
def _sigint_flag(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """Route SIGINT to ``handler`` while a batch runs -- only where Python's default
    handler is in place (the main thread of a normal process; a pool worker ignores
    SIGINT and keeps ignoring it)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


async def _idle() -> None:
    return None
