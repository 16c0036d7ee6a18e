"""Modelled kernel locks and atomic sections: spinlock, mutex, irq-off, preempt-off.

``async with lock:`` acquires; the acquisition is a switch point *before* the lock is taken
(label ``spin_lock:<name>`` / ``mutex_lock:<name>``), release is not (the path's next switch
point is where preemption can happen again).  A CPU holding a spinlock or inside an
``irq_off()`` / ``preempt_disable()`` section is atomic: its switch points offer no preemption
and its queued work waits, but other CPUs still run between two such sections.

Waiters are served FIFO by wait order (direct handoff on release), so lock order is a
scheduling decision only through the switch point before acquisition; spinning waiters cannot
run their queued work, sleeping (mutex) waiters can.  Sleeping in atomic context raises
``SleepInAtomic`` (``might_sleep()``).  A lock belongs to one execution; using it under another
scheduler resets it (locks left held by a failed execution do not leak into the next).
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import ClassVar

from zonesim.sched.cpu import Wait, current_cpu_state
from zonesim.sched.errors import Deadlock, SchedError, SleepInAtomic, WaitFor
from zonesim.sched.footprint import Access, Obj, pcp_objects, reads
from zonesim.sched.scheduler import CURRENT, Cpu, Scheduler, switch_enter, switch_point, switch_rest


class _Lock:
    """Common part of ``SpinLock`` and ``Mutex``: holder, FIFO waiters, handoff."""

    kind: ClassVar[str]
    sleeping: ClassVar[bool]
    __slots__ = (
        "_label", "_owner_sched", "_try_access", "_try_label", "_waiters", "covers", "holder",
        "name",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.holder: str | None = None
        self._waiters: deque[tuple[Cpu, Wait]] = deque()
        prefix = "spin" if self.kind == "spinlock" else self.kind
        self._label = f"{prefix}_lock:{name}"
        self._try_label = f"{prefix}_trylock:{name}"
        self._try_access: Access | None = None  # what a trylock's switch point declares
        self._owner_sched: Scheduler | None = None
        # What a holder may touch, for step footprints (zonesim.sched.steps): zone->lock
        # protects the whole zone, a pcp lock its CPU's lists. Empty for a mutex that only
        # serialises (its word alone).
        self.covers: tuple[Obj, ...] = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} held by {self.holder}>"

    def blame(self) -> str:
        return f"{self.kind} {self.name} held by {self.holder}"

    def _bind(self, cpu: Cpu) -> None:
        if self._owner_sched is not cpu.sched:
            self._owner_sched = cpu.sched
            self.holder = None
            self._waiters.clear()

    def _take(self, cpu: Cpu) -> None:
        st = cpu.sched._steps
        if st is not None:  # the running step (the releaser's, on a handoff)
            st.locked(self.name, self.covers)
        self.holder = cpu.name
        cpu.held.append(self.name)
        if not self.sleeping:
            cpu.atomic += 1  # spin_lock() disables preemption

    async def acquire(self) -> None:
        """Take the lock, waiting (not runnable) while another CPU holds it.

        Also the lock's ``__aenter__`` (no extra coroutine per ``async with``): the switch
        point (its synchronous part inline: no coroutine when the CPU keeps the baton),
        then one test of ``holder`` and the take."""
        cpu = CURRENT.get(None)
        if cpu is None:
            cpu = current_cpu_state()  # raises the explanatory SchedError
        if self._owner_sched is not cpu.sched:
            self._bind(cpu)
        if self.sleeping and cpu.atomic:
            raise SleepInAtomic(cpu.name, self._label, cpu.context(), cpu.sched.steps)
        left = switch_enter(self._label)
        if left:
            await switch_rest(left, self._label)
        if self.holder is None:
            self._take(cpu)
            return
        if self.holder == cpu.name:
            raise Deadlock((WaitFor(cpu.name, self.blame() + " (itself)"),), cpu.sched.steps)
        wait = Wait(self, sleeping=self.sleeping)
        self._waiters.append((cpu, wait))
        st = cpu.sched._steps
        if st is not None:  # found it held and queued itself: the lock's state changed
            st.touch(("lock", self.name), True)
        await cpu.sched.block(cpu, wait, self._label)
        # release() handed the lock over: self.holder == cpu.name. The step that resumes
        # here reads the word the releaser's step wrote: it runs after that release.
        st = cpu.sched._steps
        if st is not None:
            st.touch(("lock", self.name), False)

    __aenter__ = acquire

    async def trylock(self, label: str | None = None, *, switch: bool = True) -> bool:
        """``spin_trylock`` / ``mutex_trylock``: take the lock if it is free, never wait.

        The attempt reads the lock word without holding the lock, so it is preceded by a
        switch point that declares that read: while this CPU is parked there, the holder's
        windows are offered to it, and the attempt fails exactly in the schedules where
        another CPU is inside its section at that moment. The outcome is a function of the
        recorded CPU choices, so replay reproduces it. ``switch=False``: no switch point (the
        caller took one just before)."""
        cpu = current_cpu_state()
        if self._owner_sched is not cpu.sched:
            self._bind(cpu)
        if switch:
            access = self._try_access
            if access is None:
                access = self._try_access = reads(("lock", self.name))
            await switch_point(label or self._try_label, access)
        if self.holder is not None:
            return False
        self._take(cpu)
        return True

    def release(self) -> None:
        """Release; the longest waiter (if any) becomes the holder and runnable."""
        cpu = CURRENT.get(None)
        if cpu is None:
            cpu = current_cpu_state()
        if self.holder != cpu.name:
            raise SchedError(f"{cpu.name} released {self.kind} {self.name} held by {self.holder}")
        self.holder = None
        if cpu.sched._steps is not None:
            cpu.sched._steps.unlocked(self.name)
        cpu.held.remove(self.name)
        if not self.sleeping:
            cpu.atomic -= 1
        if self._waiters:
            nxt, wait = self._waiters.popleft()
            self._take(nxt)
            wait.done = True
            cpu.sched._runnable_cache.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class SpinLock(_Lock):
    """``spinlock_t`` (``zone->lock``, ``cma->lock``): holding it makes the CPU atomic."""

    kind = "spinlock"
    sleeping = False
    __slots__ = ()


class Mutex(_Lock):
    """``struct mutex`` (``cma_mutex``, ``pcpu_drain_mutex``): holder stays preemptible."""

    kind = "mutex"
    sleeping = True
    __slots__ = ()


class _Section:
    """An atomic section, usable as ``with`` or ``async with``, nestable per CPU.

    Stateless (one instance per kind): enter and exit find the CPU through ``CURRENT``,
    which is the same task on both sides, even when the section is suspended in a window
    and another CPU enters its own section meanwhile."""

    __slots__ = ("_irq",)

    def __init__(self, irq: bool) -> None:
        self._irq = irq

    def __enter__(self) -> None:
        cpu = CURRENT.get(None)
        if cpu is None:
            cpu = current_cpu_state()
        cpu.atomic += 1
        if self._irq:
            cpu.irq_off += 1
            st = cpu.sched._steps
            if st is not None:  # 5.15's pcp local_lock: this CPU's pcp lists
                st.touch_all(pcp_objects(st.cpu_index[cpu.name]), True)
        else:
            cpu.preempt_off += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cpu = CURRENT.get(None)
        if cpu is None:
            cpu = current_cpu_state()
        cpu.atomic -= 1
        if self._irq:
            cpu.irq_off -= 1
        else:
            cpu.preempt_off -= 1

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


_IRQ_OFF = _Section(irq=True)
_PREEMPT_OFF = _Section(irq=False)


def irq_off() -> _Section:
    """``local_irq_save()`` ... ``local_irq_restore()`` (also the 5.15 pcp ``local_lock``)."""
    return _IRQ_OFF


def preempt_disable() -> _Section:
    """``preempt_disable()`` ... ``preempt_enable()``."""
    return _PREEMPT_OFF


def in_atomic() -> bool:
    """True when the running CPU cannot be preempted (spinlock held, irqs or preemption off)."""
    cpu = CURRENT.get(None)
    if cpu is None:
        cpu = current_cpu_state()
    return cpu.atomic > 0


def irqs_disabled() -> bool:
    """True when the running CPU is inside an ``irq_off()`` section."""
    return current_cpu_state().irq_off > 0
