"""The deterministic scheduler: simulated CPUs as trio tasks, one baton, strategy-chosen switches.

Baton passing (loom's ``Execution``, shuttle's ``ExecutionState``): every CPU task except the
one holding the baton is parked in ``trio.lowlevel.wait_task_rescheduled``, so trio's run
queue holds at most one CPU task and its (deliberately shuffled) order never decides anything.
Handing the baton = ``reschedule(next)`` then parking self.  At the normal end the last CPU
to finish wakes the others, which return; parks are cancellable, which is how a failed
execution is torn down (a CPU's exception, a foreign await).

Steps: every scheduler entry (a ``switch_point``, a block, an idle CPU looking for work) is one
step; ``max_steps`` bounds them (``LivelockSuspected``).  A decision is recorded only when more
than one CPU could run; at a ``switch_point`` of an atomic CPU (spinlock held, irqs or
preemption off) nothing is decided.

Lock-held and IRQ-off sections keep mutual exclusion (a CPU that wants a held lock waits, not
runnable; IRQ-off keeps queued work off that CPU) but are not atomic to the other CPUs: at a
``window`` inside a section — right after the holder wrote, or right before it reads, state that
code outside the lock reads or writes — the CPUs parked at a switch point whose declared next
access conflicts may run (zonesim.sched.footprint). While a holder is suspended in a window the
zone is mid-section; ``suspended_in_section`` tells the engine not to judge it.

Exceptions raised by a CPU body (or a work item) leave ``run()`` unchanged, carrying the step
as ``exc.sched_step`` and a note; see ``errors.py`` for the scheduler's own failures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import trio
import trio.testing

from zonesim.sched import cpu as _cpu
from zonesim.sched.choice import ChoiceLog, Recorder
from zonesim.sched.cpu import Wait, current_cpu_state
from zonesim.sched.errors import Deadlock, ForeignAwait, LivelockSuspected, SchedError, WaitFor
from zonesim.sched.footprint import Access
from zonesim.sched.steps import GIVE, OPT, SOLO, SP, START, WINDOW, YIELD, StepRecorder
from zonesim.sched.strategy import Strategy
from zonesim.sched.work import Work

#: A CPU of this scheduler, and the running one: zonesim.sched.cpu keeps them generic so that
#: it imports neither this module nor the work items (no import cycle).
Cpu: TypeAlias = "_cpu.Cpu[Scheduler]"
CURRENT = cast("ContextVar[Cpu]", _cpu.CURRENT)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """A finished execution: every recorded decision and the number of scheduler steps."""

    choices: ChoiceLog  # Choice records built when first read
    steps: int


def _abort(_: Any) -> trio.lowlevel.Abort:
    # A parked CPU has no resources to release; cancellation may always proceed.
    return trio.lowlevel.Abort.SUCCEEDED


class Scheduler:
    """Runs registered CPUs under one strategy for exactly one execution (one ``trio.run``)."""

    def __init__(self, strategy: Strategy, *, max_steps: int = 100_000) -> None:
        self._recorder = Recorder(strategy)
        self._max_steps = max_steps
        self._cpus: list[Cpu] = []
        self._by_name: dict[str, Cpu] = {}
        self._step = 0
        self._current: Cpu | None = None
        # runnable tuples keyed by the CPU put first (None = registration order); cleared by
        # every state change, so the hot path reuses one tuple between changes.
        self._runnable_cache: dict[str | None, tuple[str, ...]] = {}
        self._failure: Exception | None = None
        self._scope: trio.CancelScope | None = None
        self._started = False
        # CPUs parked with a declared access (a cheap test before any window is computed:
        # public, so that the kernel's window reads it without a call) and CPUs suspended
        # inside a lock-held or IRQ-off section.
        self.declared = 0
        # The object kinds those declared accesses name, with how many parked CPUs name
        # each: Access.conflicts matches only objects of one kind, so a window on a kind
        # not in here (and no lock word declared) is no decision, known without a call.
        self.parked_kinds: dict[str, int] = {}
        self._in_section = 0
        self._locks_access: dict[tuple[str, ...], Access] = {}
        self._parked = 0  # CPU tasks started and parked, waiting for the baton
        self._over = False  # every CPU finished: the parked ones return on wake-up
        # Step footprints, only for a strategy that reduces by them (zonesim.sched.sleep).
        self._steps: StepRecorder | None = None
        attach = getattr(strategy, "attach_steps", None)
        if callable(attach):
            self._steps = StepRecorder(())
            attach(self._steps)

    # -- setup ---------------------------------------------------------------------------

    def add_cpu(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Register a CPU; names are ``[A-Za-z0-9_-]+``, unique, and order = registration."""
        if self._started:
            raise SchedError(f"add_cpu({name!r}) after run() started")
        if not name or not set(name) <= _NAME_CHARS or name[0] in "-0123456789":
            raise SchedError(
                f"cpu name {name!r} is invalid: expected a letter or '_' then [A-Za-z0-9_-]"
            )
        if name in self._by_name:
            raise SchedError(f"cpu {name!r} registered twice")
        cpu = _cpu.Cpu(self, name, body)
        self._cpus.append(cpu)
        self._by_name[name] = cpu

    # -- introspection -------------------------------------------------------------------

    @property
    def choices(self) -> ChoiceLog:
        """Every decision taken so far in this execution, in order."""
        return self._recorder.choices

    @property
    def steps(self) -> int:
        """Scheduler steps taken so far."""
        return self._step

    @property
    def cpu_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._cpus)

    @property
    def step_recorder(self) -> StepRecorder | None:
        """The step footprints of this execution, when the strategy asked for them."""
        return self._steps

    @property
    def suspended_in_section(self) -> bool:
        """True while some CPU is suspended in a window of a lock-held or IRQ-off section:
        the state it protects is half-written, so invariants must not judge it now."""
        return self._in_section > 0

    def _lock_words(self, held: list[str]) -> Access:
        """``Access(writes=(("lock", n), ...))`` for the held locks (a holder "writes" its
        locks' words), built once per set of held locks."""
        key = tuple(held)
        a = self._locks_access.get(key)
        if a is None:
            a = self._locks_access[key] = Access().holding(held)
        return a

    def _count_kinds(self, access: Access, d: int) -> None:
        """A CPU parks (``d`` = 1) or resumes (-1) with ``access`` declared."""
        kinds = self.parked_kinds
        objs = access.reads + access.writes
        for k in (objs[0][0],) if len(objs) == 1 else {o[0] for o in objs}:
            n = kinds.get(k, 0) + d
            if n:
                kinds[k] = n
            else:
                del kinds[k]

    # -- services for CPU code -----------------------------------------------------------

    def choose(self, n: int, label: str) -> int:
        """A data choice among ``n`` options (0 = the simple thing); recorded if n > 1."""
        if n < 1:
            raise SchedError(f"choose({n=}, {label!r}): need at least one option")
        if n == 1:
            return 0
        st = self._steps
        if st is not None:
            cpu = self._current
            st.close(OPT, None if cpu is None else cpu.name)
            if cpu is not None:
                st.run(cpu.name, cpu.held, cpu.irq_off > 0)
        return self._recorder.pick_option(self._step, n, label)

    def queue_work(self, cpu: str, label: str, fn: Callable[[], Awaitable[None]]) -> Work:
        """``queue_work_on(cpu, ...)``: ``fn`` will run on ``cpu``'s own task.

        It runs at that CPU's next preemptible switch point, while that CPU sleeps (mutex,
        flush), or once it finished its body; never inside its atomic sections.
        """
        target = self._by_name.get(cpu)
        if target is None:
            raise SchedError(f"queue_work on unknown cpu {cpu!r}; cpus: {self.cpu_names}")
        work = Work(cpu, label, fn)
        if self._steps is not None:
            self._steps.touch(("work", cpu), True)
        target.pending.append(work)
        self._runnable_cache.clear()
        return work

    # -- the execution -------------------------------------------------------------------

    async def run(self) -> ExecutionResult:
        """Run every CPU to completion under the strategy; call once, inside ``trio.run``.

        Raises the first failure: a CPU body's own exception (unchanged, ``.sched_step`` set)
        or a ``SchedError``.
        """
        if self._started:
            raise SchedError("Scheduler.run() called twice: build one Scheduler per execution")
        self._started = True
        if self._steps is not None:
            self._steps.cpu_index = {c.name: i for i, c in enumerate(self._cpus)}
            self._steps.start()
        if self._cpus:
            watchdog = _Watchdog.of_this_run()
            try:
                async with trio.open_nursery() as nursery:
                    self._scope = nursery.cancel_scope
                    # Spawned together; the last one to park takes the first decision
                    # and hands the baton (one scheduling round, not a nursery.start()
                    # round trip per CPU, nor a round to wake this task for it).
                    watchdog.arm(self)
                    for cpu in self._cpus:
                        nursery.start_soon(self._cpu_main, cpu)
            finally:
                watchdog.disarm(self)
        self._recorder.flush()
        if self._failure is not None:
            raise self._failure
        return ExecutionResult(self._recorder.log(), self._step)

    def _begin(self) -> Cpu:
        """The first decision: which CPU runs first (it gets the baton)."""
        runnable = self._runnable(None)
        idx = 0
        if len(runnable) > 1:
            if self._steps is not None:
                self._steps.close(START, None)
            idx = self._recorder.pick_cpu(self._step, runnable, None, "start")
        return self._by_name[runnable[idx]]

    async def _cpu_main(self, cpu: Cpu) -> None:
        CURRENT.set(cpu)
        cpu.task = trio.lowlevel.current_task()
        self._parked += 1
        try:
            if self._parked < len(self._cpus):
                await trio.lowlevel.wait_task_rescheduled(_abort)
            else:  # the last to start: every CPU has its task, the execution begins
                first = self._begin()  # (a ReplayMismatch here fails the execution)
                if first is cpu:
                    if self._steps is not None:
                        self._steps.run(cpu.name, cpu.held, cpu.irq_off > 0)
                    self._current = cpu
                else:
                    self._hand_to(first)
                    await trio.lowlevel.wait_task_rescheduled(_abort)
            await cpu.body()
            await self._finish(cpu)
        except Exception as exc:  # Cancelled is a BaseException: teardown passes through
            self._fail(exc)

    def _foreign_await(self) -> None:
        """Every task is blocked while this execution runs (``_Watchdog``): the CPU holding
        the baton awaits something foreign -- baton handoffs always leave one task
        runnable."""
        cpu = self._current
        self._fail(ForeignAwait(cpu.name if cpu is not None else "<no cpu>", self._step))

    def _fail(self, exc: Exception) -> None:
        if self._failure is None:
            cpu = self._current
            exc.sched_step = self._step  # type: ignore[attr-defined]
            exc.add_note(
                f"zonesim.sched: raised at step {self._step} on "
                f"{cpu.name if cpu is not None else '<no cpu>'}"
            )
            self._failure = exc
        assert self._scope is not None
        self._scope.cancel()

    # -- baton ---------------------------------------------------------------------------

    def _hand_to(self, nxt: Cpu) -> None:
        if self._steps is not None:
            self._steps.run(nxt.name, nxt.held, nxt.irq_off > 0)
        self._current = nxt
        assert nxt.task is not None
        trio.lowlevel.reschedule(nxt.task)

    async def _switch_to(self, cpu: Cpu, nxt: Cpu) -> None:
        """Give the baton to ``nxt`` and park ``cpu`` until someone hands it back."""
        if self._steps is not None:
            self._steps.run(nxt.name, nxt.held, nxt.irq_off > 0)
        self._current = nxt
        trio.lowlevel.reschedule(nxt.task)  # type: ignore[arg-type]
        await trio.lowlevel.wait_task_rescheduled(_abort)

    def _runnable(self, first: Cpu | None) -> tuple[str, ...]:
        key = first.name if first is not None else None
        cached = self._runnable_cache.get(key)
        if cached is not None:
            return cached
        names = [first.name] if first is not None else []
        names.extend(c.name for c in self._cpus if c is not first and c.eligible())
        result = tuple(names)
        self._runnable_cache[key] = result
        return result

    def _tick(self) -> None:
        self._step += 1
        if self._step > self._max_steps:
            raise LivelockSuspected(self._step, self._max_steps)

    async def _give_away(self, cpu: Cpu, label: str) -> None:
        """``cpu`` cannot continue its own code: pick who runs next (maybe ``cpu`` for work)."""
        self._tick()
        runnable = self._runnable(None)
        if not runnable:
            raise self._deadlock()
        idx = 0
        # The step ends with ``cpu`` blocked or finished: still one transition of it
        # (``at``), which the others' steps may commute with (zonesim.sched.steps).
        if len(runnable) > 1:
            if self._steps is not None:
                self._steps.close(GIVE, cpu.name)
            idx = self._recorder.pick_cpu(self._step, runnable, None, label)
        elif self._steps is not None and self._steps.solo:
            self._steps.close(SOLO, cpu.name)
        nxt = self._by_name[runnable[idx]]
        if nxt is not cpu:
            await self._switch_to(cpu, nxt)
        elif self._steps is not None:
            self._steps.run(cpu.name, cpu.held, cpu.irq_off > 0)

    async def block(self, cpu: Cpu, wait: Wait, label: str) -> None:
        """Park the running ``cpu`` until ``wait.done``; run its queued work if it sleeps."""
        cpu.blocked = wait
        cpu.at_label, cpu.at_access = label, None  # it resumes holding what it waited for
        self._runnable_cache.clear()
        while True:
            await self._give_away(cpu, label)
            if wait.done:
                break
            await self.run_pending(cpu)
            if wait.done:
                break
        cpu.blocked = None
        self._runnable_cache.clear()

    async def run_pending(self, cpu: Cpu) -> None:
        """Run ``cpu``'s queued work items, in queue order, on its own task."""
        while cpu.pending:
            work = cpu.pending.popleft()
            if self._steps is not None:
                self._steps.touch(("work", cpu.name), True)
            saved, cpu.blocked = cpu.blocked, None
            cpu.in_work += 1
            self._runnable_cache.clear()
            try:
                await work.fn()
            finally:
                cpu.in_work -= 1
                cpu.blocked = saved
            work.complete()
            self._runnable_cache.clear()

    async def _finish(self, cpu: Cpu) -> None:
        """The body returned: become an idle worker until the whole execution is over."""
        cpu.finished = True
        self._runnable_cache.clear()
        while True:
            if cpu.pending:
                await self.run_pending(cpu)
                continue
            if self._over:
                return  # the last CPU to finish woke this one up
            if all(c.finished and not c.in_work and not c.pending for c in self._cpus):
                # Every other CPU is parked right here, in _give_away: wake them to
                # return normally (cheaper than unwinding them with Cancelled), and
                # cancel the watchdog alone.
                self._over = True
                self._current = None
                for c in self._cpus:
                    if c is not cpu:
                        trio.lowlevel.reschedule(c.task)  # type: ignore[arg-type]
                _Watchdog.of_this_run().disarm(self)
                return
            await self._give_away(cpu, "idle")

    def _deadlock(self) -> Deadlock:
        waits = tuple(
            WaitFor(c.name, c.blocked.on.blame())
            for c in self._cpus
            if c.blocked is not None and not c.blocked.done
        )
        return Deadlock(waits, self._step)


class _Watchdog:
    """One watchdog task per ``trio.run`` for all the executions it runs (a system task:
    it ends with the run). Armed by the running execution, it waits until every task is
    blocked (``wait_all_tasks_blocked``) and then fails that execution with
    ``ForeignAwait``; disarmed, it parks until the next execution arms it (so a run that
    blocks between executions -- a test awaiting something -- does not wake it in a loop).

    A watchdog task per execution cost a spawn, a cancel scope and its teardown: ~40 us
    of an execution's ~160 us of fixed scheduling cost (a 3-CPU execution of empty
    bodies under ``trio.run``), more than the steps of a small execution cost."""

    __slots__ = ("armed", "parked", "task")

    _VAR: trio.lowlevel.RunVar[_Watchdog] = trio.lowlevel.RunVar("zonesim_watchdog")

    def __init__(self) -> None:
        self.armed: Scheduler | None = None
        self.parked = False
        self.task: trio.lowlevel.Task | None = None

    @classmethod
    def of_this_run(cls) -> _Watchdog:
        try:
            return cls._VAR.get()
        except LookupError:
            w = cls()
            cls._VAR.set(w)
            w.task = trio.lowlevel.spawn_system_task(w._watch, name="zonesim watchdog")
            return w

    def arm(self, sched: Scheduler) -> None:
        self.armed = sched
        if self.parked:
            self.parked = False
            assert self.task is not None
            trio.lowlevel.reschedule(self.task)

    def disarm(self, sched: Scheduler) -> None:
        if self.armed is sched:
            self.armed = None

    async def _watch(self) -> None:
        while True:
            if self.armed is None:
                self.parked = True
                await trio.lowlevel.wait_task_rescheduled(_abort)
                continue
            await trio.testing.wait_all_tasks_blocked()
            sched = self.armed
            if sched is not None:
                self.armed = None
                sched._foreign_await()


#: What ``switch_enter`` left for ``switch_rest``: nothing (the switch point is over), a
#: decision for the strategy, or the running CPU's queued work to run.
SP_DONE, SP_DECIDE, SP_WORK = 0, 1, 2


def switch_enter(label: str, access: Access | None = None) -> int:
    """The synchronous part of ``switch_point``: count the step, and when the running CPU
    keeps the baton without asking the strategy (atomic, alone, or the strategy's horizon
    promise holds: ``Recorder.keep``), record that and finish here. Returns what is left
    for ``switch_rest`` (``SP_DONE``: nothing, and no coroutine is needed at all: the hot
    path of ``Kernel.sp`` and of a lock's acquisition, which call this directly)."""
    cpu = CURRENT.get(None)
    if cpu is None:
        current_cpu_state()  # raises the explanatory SchedError
        return SP_DONE
    sched = cpu.sched
    step = sched._step = sched._step + 1
    if step > sched._max_steps:
        raise LivelockSuspected(step, sched._max_steps)
    if cpu.atomic:
        return SP_DONE
    name = cpu.name
    runnable = sched._runnable_cache.get(name)
    if runnable is None:
        runnable = sched._runnable(cpu)
    if len(runnable) > 1:
        cpu.at_label = label  # the step this decision is about (zonesim.sched.events)
        cpu.at_access = access
        rec = sched._recorder
        if runnable is not rec.keep or step >= rec.keep_until:
            return SP_DECIDE
        rec.raw.append(step)  # ("cpu", name, len(runnable), label, step, name): ChoiceLog
        rec.kept.append(label)
        rec.answered = step
    elif sched._steps is not None and sched._steps.solo:
        sched._steps.close(SOLO, name)  # alone: a transition ends, no decision
        sched._steps.run(name, cpu.held, cpu.irq_off > 0)
    if access is not None and sched._steps is not None:
        sched._steps.access(access)  # the next step begins with it
    if cpu.pending and not cpu.in_work:
        return SP_WORK
    return SP_DONE


async def switch_rest(left: int, label: str, access: Access | None = None) -> None:
    """What ``switch_enter`` left: ask the strategy (``SP_DECIDE``) and hand the baton
    over if it picks another CPU, then run the CPU's queued work."""
    cpu = CURRENT.get()
    sched = cpu.sched
    if left == SP_DECIDE:
        name = cpu.name
        runnable = sched._runnable(cpu)
        st = sched._steps
        if st is not None:
            if access is not None:
                st.parks(access)
            st.close(SP, name)
        idx = sched._recorder.pick_cpu(sched._step, runnable, name, label)
        if st is not None and not idx:
            st.run(name, cpu.held, cpu.irq_off > 0)
        if idx:
            nxt = sched._by_name[runnable[idx]]
            if access is None:
                await sched._switch_to(cpu, nxt)
            else:
                cpu.parked = access
                sched.declared += 1
                sched._count_kinds(access, 1)
                try:
                    await sched._switch_to(cpu, nxt)
                finally:
                    cpu.parked = None
                    sched.declared -= 1
                    sched._count_kinds(access, -1)
        if access is not None and sched._steps is not None:
            sched._steps.access(access)  # the next step begins with it
    if cpu.pending and not cpu.in_work:
        await sched.run_pending(cpu)


async def switch_point(label: str, access: Access | None = None) -> None:
    """The only place a kernel path may be preempted (a modelled preemption point).

    If the running CPU is atomic or alone, returns at once; otherwise the strategy picks who
    runs.  Picking the running CPU returns without any trio checkpoint (the hot path), and
    while the strategy's horizon promise holds (``Recorder.keep``) without asking it: one
    identity test and one step comparison, then the decision is appended as the same tuple
    the strategy's answer would have recorded (``switch_enter``; callers on the hot path
    call it directly and await ``switch_rest`` only when it leaves something).
    ``access`` declares the lockless access the step after this point begins with: while the
    CPU is parked here, lock holders' windows that conflict with it are offered.
    """
    left = switch_enter(label, access)
    if left:
        await switch_rest(left, label, access)


def _running() -> Cpu:
    """The running CPU, typed as one of this scheduler's (raises the explanatory
    SchedError outside a simulated CPU)."""
    return cast(Cpu, current_cpu_state())


def suspended_in_section() -> bool:
    """``Scheduler.suspended_in_section`` of the running CPU's scheduler."""
    return _running().sched.suspended_in_section


def windows_possible() -> bool:
    """Could a window of the running CPU's section be a decision at all? Only while some
    CPU is parked with a declared access: the cheap test before building an ``Access``."""
    cpu = CURRENT.get(None)
    if cpu is None:
        current_cpu_state()
        return False
    return cpu.sched.declared > 0


def window_candidates(access: Access) -> tuple[str, ...]:
    """The CPUs that may run in a window of the running CPU's section: those parked with a
    declared access that conflicts with ``access`` or with the locks the running CPU holds.
    Empty (the window is no decision) in the common case."""
    cpu = CURRENT.get(None)
    if cpu is None:
        current_cpu_state()
        return ()
    sched = cpu.sched
    if not sched.declared:
        return ()
    kinds = sched.parked_kinds
    if not (cpu.held and "lock" in kinds) and not any(
            o[0] in kinds for o in access.writes) and not any(
            o[0] in kinds for o in access.reads):
        return ()  # no parked access names an object of these kinds: no conflict
    # Conflicting with ``access.holding(cpu.held)`` is conflicting with ``access`` or with
    # the held locks' words (Access.conflicts is a union over objects): tested in that
    # order, so the common case (no lock word declared) builds no Access at all.
    out: tuple[str, ...] = ()
    locks: Access | None = None
    for c in sched._cpus:
        parked = c.parked
        if parked is None or c is cpu or not c.eligible():
            continue
        if parked.conflicts(access):
            out += (c.name,)
        elif cpu.held:
            if locks is None:
                locks = sched._lock_words(cpu.held)
            if parked.conflicts(locks):
                out += (c.name,)
    return out


async def window(label: str, candidates: tuple[str, ...]) -> None:
    """A window inside the running CPU's lock-held or IRQ-off section (see the module doc):
    the strategy picks the running CPU (keep going) or one of ``candidates`` (from
    ``window_candidates``), which then runs while this CPU stays in its section. Mutual
    exclusion holds: a CPU that wants a lock this one holds waits; this CPU's queued work
    waits until it leaves the section."""
    if not candidates:
        return
    cpu = current_cpu_state()
    sched = cpu.sched
    sched._tick()
    cpu.at_label, cpu.at_access = label, None  # in a section: races with every candidate
    runnable = (cpu.name, *candidates)
    st = sched._steps
    if st is not None:
        st.close(WINDOW, cpu.name)
    idx = sched._recorder.pick_cpu(sched._step, runnable, cpu.name, label)
    if st is not None and not idx:
        st.run(cpu.name, cpu.held, cpu.irq_off > 0)
    if idx:
        sched._in_section += 1
        try:
            await sched._switch_to(cpu, sched._by_name[runnable[idx]])
        finally:
            sched._in_section -= 1


def record_window_site(obj: tuple[str, int | str | None]) -> None:
    """The running CPU passes a window site on ``obj`` inside a section: its step's
    footprint reads whether a CPU is parked with a declared access to ``obj`` or to the
    locks the running CPU holds (``StepRecorder.window``)."""
    cpu = _running()
    st = cpu.sched._steps
    if st is not None:
        st.window(obj, cpu.held)


def record_observed(obj: tuple[str, int | str | None]) -> None:
    """A write seen on the state by the running CPU (e.g. ``Memmap.observer``)."""
    cpu = CURRENT.get(None)
    if cpu is None:
        return
    st = cpu.sched._steps
    if st is not None:
        st.observed(obj)


def choose(n: int, label: str) -> int:
    """``Scheduler.choose`` of the running CPU's scheduler."""
    return _running().sched.choose(n, label)



async def yield_cpu(label: str) -> None:
    """A CPU that waits for the others to make progress (a retry loop with cond_resched()
    and time passing: offline_pages waiting for a page to be freed). Another runnable CPU
    gets the baton — chosen by the strategy, not counted as a preemption — and the caller
    runs again when some CPU hands the baton back. With nobody else runnable: returns.

    Without this, "no preemption" would let a retry loop spin against a CPU that real
    hardware runs in parallel, and bounded retries would fail where the kernel succeeds.
    """
    cpu = CURRENT.get(None)
    if cpu is None:
        current_cpu_state()
        return
    sched = cpu.sched
    if cpu.atomic:
        return
    sched._tick()
    others = tuple(n for n in sched._runnable(None) if n != cpu.name)
    if not others:
        return
    cpu.at_label, cpu.at_access = label, None
    idx = 0
    if len(others) > 1:
        if sched._steps is not None:
            sched._steps.close(YIELD, None)
        idx = sched._recorder.pick_cpu(sched._step, others, None, label)
    elif sched._steps is not None and sched._steps.solo:
        sched._steps.close(SOLO, None)
    await sched._switch_to(cpu, sched._by_name[others[idx]])
    if cpu.pending and not cpu.in_work:
        await sched.run_pending(cpu)
