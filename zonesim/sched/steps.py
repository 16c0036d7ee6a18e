"""The footprint of every step of one execution, for partial-order reduction.

Recorded only when the strategy asks for it (``attach_steps``: ``zonesim.sched.sleep``);
otherwise the scheduler holds ``None`` and every hook below is one attribute test.

Two sources fill a step's footprint (``zonesim.sched.footprint.Footprint``):

- *declared*: what the code says it does -- a lock taken or released (its word, and what
  the lock protects: ``_Lock.covers``), an IRQ-off section (that CPU's pcp), a switch
  point's declared lockless access, a window's object, a work item queued or run. These
  are what the kernel's locking discipline names (docs/lockless.md lists every access
  made without the lock that protects the object);
- *observed*: writes seen on the state itself -- ``Memmap.observer`` for every page about
  to be written, and the engine's ``probe`` (a digest of the zone's counters, allocation
  table and pageblock bits, each CPU's pcp count/high/batch) compared at every decision.

With ``merge`` (exploration) observed writes are added to the footprint, so a write the
declarations miss still makes its step conflict. Without it (tests/sched/
test_footprints.py) they are kept apart, and a test fails when a step wrote an object
its declarations did not name.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from zonesim.sched.footprint import (
    ZONE,
    Access,
    Footprint,
    Obj,
    pcp_objects,
)

#: object kinds the zone's taps report (zonesim.model.tap): a declaration adds nothing
TAPPED = frozenset(("page", "pb", "fl", "alloc", "tok"))

#: decision kinds: a switch point, a window inside a section, a CPU that cannot continue
#: (blocked, finished), ``yield_cpu``, the first pick, a data choice.
SP, WINDOW, GIVE, YIELD, START, OPT = "sp", "window", "give", "yield", "start", "opt"
#: not a decision: the end of a transition where only one CPU could run next (recorded
#: only with ``StepRecorder.solo``, for DPOR: a step is then one CPU's transition even
#: when nobody else was runnable, so races inside what would be one merged step are seen)
SOLO = "solo"

#: A digest of state no hook reports, one value per group of objects (``probe_objects``).
Probe = Callable[[], tuple[Hashable, ...]]


class StepRecorder:
    """``log[k]`` is the step that ended at decision ``k`` (``log[0]``: from the start to
    the first decision); ``cur`` the step running now."""

    __slots__ = ("_mark", "_taken", "at", "covers", "cpu_index", "cur", "kind", "log", "merge",
                 "probe", "probe_adds", "probe_objects", "sections_commute", "solo", "taps")

    def __init__(self, cpu_names: Sequence[str], *, merge: bool = True) -> None:
        self.cpu_index = {n: i for i, n in enumerate(cpu_names)}
        self.log: list[Footprint] = []
        self.cur = Footprint()
        self.merge = merge
        self.solo = False  # also end a step where only one CPU can go on (``SOLO``)
        # A step that takes and releases a lock does not touch its word (DPOR only;
        # zonesim.sched.dpor, "Locks"): two whole critical sections commute when what
        # they touch does.
        self.sections_commute = False
        # lock name -> the objects its holder may touch (registered when first taken)
        self.covers: dict[str, tuple[Obj, ...]] = {}
        self.probe: Probe | None = None
        self.probe_objects: tuple[tuple[Obj, ...], ...] = ()  # what each value stands for
        # per probe value: its objects are counters only ever added to (an add, not a write)
        self.probe_adds: tuple[bool, ...] = ()
        self._taken: list[str] = []  # locks taken by the current step and still held
        # (read, write, add) for the zone's taps (zonesim.model.tap), set by the engine
        self.taps: tuple[Callable[[Obj], None], ...] = ()
        self._mark: tuple[Hashable, ...] | None = None
        self.kind = START  # the latest decision's kind and running CPU (``close``)
        self.at: str | None = None

    # -- hooks ----------------------------------------------------------------------------

    def touch(self, obj: Obj, write: bool) -> None:
        (self.cur.writes if write else self.cur.reads).add(obj)

    def touch_all(self, objs: Sequence[Obj], write: bool) -> None:
        (self.cur.writes if write else self.cur.reads).update(objs)

    def access(self, a: Access) -> None:
        """A switch point's declared lockless access, for the step that begins there.

        Its objects of tapped kinds (pages, pageblocks, free lists, allocations) are left
        out: the taps report what the step really reads of them, object by object. The
        CPU leaves the spot where it was parked with that declaration (``parks``)."""
        cur = self.cur
        for o in a.reads:
            if o[0] not in TAPPED:
                cur.reads.add(o)
        for o in a.writes:
            if o[0] not in TAPPED:
                cur.writes.add(o)
        self._park(a)

    def parks(self, a: Access) -> None:
        """The running step ends at a switch point that declares ``a``: while its CPU is
        parked there, a window on any object of ``a`` offers it the baton."""
        self._park(a)

    def _park(self, a: Access) -> None:
        # ("pk:<kind>", key): the set of CPUs parked with a declared access to (kind, key),
        # what a window on (kind, key) reads (``window``). Parking and leaving are adds to
        # that set: two CPUs parking commute; a window's decision does not.
        add = self.cur.adds
        for o in a.reads:
            add.add(("pk:" + o[0], o[1]))
        for o in a.writes:
            add.add(("pk:" + o[0], o[1]))

    def read(self, obj: Obj) -> None:
        """A tapped read (zonesim.model.tap)."""
        self.cur.reads.add(obj)

    def added(self, obj: Obj) -> None:
        """An add to a counter (zonesim.model.tap; the probe)."""
        self.cur.adds.add(obj)

    def observed(self, obj: Obj) -> None:
        """A write seen on the state (``Memmap.observer``, the probe)."""
        cur = self.cur
        if self.merge:
            w = cur.writes
            if obj in w or (obj[0], None) in w:
                return  # declared already (the hot case: a zone->lock holder's pages)
            w.add(obj)
        cur.observed.add(obj)

    def window(self, obj: Obj, held: Sequence[str]) -> None:
        """The step passed a window site on ``obj`` of a section holding ``held``:
        whether that window is a decision depends on which CPUs are parked with a
        declared access to ``obj`` or to one of those lock words
        (``window_candidates``)."""
        cur = self.cur
        cur.reads.add(("pk:" + obj[0], obj[1]))
        for lock in held:
            cur.reads.add(("pk:lock", lock))

    def locked(self, name: str, covers: tuple[Obj, ...]) -> None:
        """``name`` taken by the running step: what it protects, and its word: read while
        the step releases it again (it found the lock free and leaves it free), written
        when the step ends holding it (``close``)."""
        if covers:
            self.covers[name] = covers
            self.cur.writes.update(covers)
        if not self.sections_commute:
            self.cur.reads.add(("lock", name))
        self._taken.append(name)

    def unlocked(self, name: str) -> None:
        """``name`` released by the running step: a write of its word unless the same
        step took it."""
        if name in self._taken:
            self._taken.remove(name)
        else:
            self.cur.writes.add(("lock", name))

    def run(self, name: str, held: Sequence[str], irq_off: bool) -> None:
        """CPU ``name`` runs (or resumes) in the current step."""
        fp = self.cur
        if fp.cpu is None:
            fp.cpu = name
        fp.cpus.add(name)
        # The zone's scalars are not tapped one by one (``ZONE``: any step may read
        # them), and a CPU runs the work queued on it at its switch points.
        fp.reads.add(ZONE)
        fp.reads.add(("work", name))
        # Resuming inside a section (a window) or holding a mutex: what the lock covers.
        # Not its word: a step that only goes on holding a lock leaves the word as it
        # was (held), so another CPU's look at it (a trylock, a blocked spin_lock) reads
        # the same in every order; only taking and releasing change it (``close``,
        # ``unlocked``). Whether a window of the section is a decision is ``pk:lock``.
        for lock in held:
            fp.writes.update(self.covers.get(lock, ()))
        if irq_off:
            fp.writes.update(pcp_objects(self.cpu_index[name]))

    # -- decisions ------------------------------------------------------------------------

    def start(self) -> None:
        """The execution begins: the probe's first reading."""
        if self.probe is not None:
            self._mark = self.probe()

    def close(self, kind: str, at: str | None) -> Footprint:
        """A decision of ``kind`` is taken with ``at`` as the running CPU (None: no CPU
        can continue): the current step ends here."""
        fp = self.cur
        if self._taken:  # taken in this step and still held: the word changed
            for name in self._taken:
                fp.writes.add(("lock", name))
            self._taken.clear()
        if self.probe is not None:
            mark = self.probe()
            old = self._mark
            if old is not None and mark != old:
                for a, b, objs, add in zip(mark, old, self.probe_objects, self.probe_adds,
                                           strict=True):
                    if a != b:
                        for o in objs:
                            if add:
                                self.added(o)
                            else:
                                self.observed(o)
            self._mark = mark
        self.kind, self.at = kind, at
        fp.end = kind
        fp.clean = (kind in (SP, SOLO, GIVE) and at is not None and fp.cpu == at
                    and len(fp.cpus) == 1)
        self.log.append(fp)
        self.cur = Footprint()
        return fp
