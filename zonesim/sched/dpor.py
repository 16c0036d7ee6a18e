"""Preemption-bounded dynamic partial-order reduction (``--reduction dpor``).

The bounded DFS of CHESS tries every alternative at every decision within the bound;
sleep sets (zonesim.sched.sleep) only stop it from re-running a step that commutes with
what ran instead. Here, as in Flanagan and Godefroid's DPOR (POPL 2005), a decision's
alternatives are explored only when an execution shows they matter: every decision
starts with its first alternative alone, and after each execution every *race* -- two
transitions of different CPUs whose footprints conflict (zonesim.sched.footprint) and
that nothing orders (vector clocks over program order and conflicts) -- adds the later
transition's CPU as an alternative at the decision that began the earlier one. Every
race, not only the latest per transition: that is what FG's rule, applied at every
state of the execution, amounts to, and the latest alone misses schedules within the
bound (cma-c, rfc-v1, bound 1: a free switch at a flush_work).

**Transitions, not decisions.** The step recorder ends a step at every switch point of
the running CPU and wherever the baton passes, also where only one CPU can go on
(``StepRecorder.solo``, ``SOLO``): otherwise a CPU that finished and the one that took
over would share one step, and the races between them would be invisible. A race whose
earlier transition began where only its CPU could run has no decision to reverse it at:
the other CPU was not runnable there, and nobody else was (FG add every runnable CPU).

**The preemption bound** breaks plain DPOR: reversing a race at a decision where the
running CPU could go on costs a preemption, and the reversed order may fit the bound only
when the other CPU runs earlier, where the block of the earlier transition's CPU began
(Coons, Musuvathi, McKinley, "Bounded partial-order reduction", OOPSLA 2013). So, as
BPOR does, every race also adds the CPU at the decision that began that block (its run
of consecutive transitions).

**Sleep sets** (Godefroid) with the bounded rule of zonesim.sched.sleep: at a preemptive
switch point, once alternative 0 (the running CPU A goes on with one transition ``a``)
has been explored, the alternatives that switch away put A to sleep with ``a``'s
footprint until a conflicting step runs; a sleeping CPU is never added as an alternative,
and an execution whose every alternative sleeps is *sleep-blocked* (it runs on, its
verdict is real, nothing below is explored and its races after that point are ignored).
A transition that ends with its CPU blocked or finished is still one transition, and so
is one that passes window sites: whether a window is a decision is part of its footprint
(``pk:`` objects).

**Locks.** A step that takes *and* releases a lock -- a whole critical section -- does
not touch the lock word (``StepRecorder.sections_commute``): two whole sections commute
when their bodies do. Taking a lock and ending the step holding it, releasing one taken
in an earlier step, and queueing on a held lock write the word; resuming after a handoff
and a trylock read it. Why this is sound: where a whole section ``s`` of A and a step
``b`` of B that takes the lock are both possible, ``b`` first makes A's attempt block
instead; a blocked attempt changes no state but the lock's queue, A is handed the lock
at B's release and runs ``s`` then -- the schedule with A's attempt removed and ``s`` run
after B's release reaches the same states with no more preemptions (the preemption to A
and the free switch away from the blocked A cost what a preemption straight to the next
CPU costs), and that schedule is in the class the search explores. Without this rule
cma-b (v5.15, bound 2) needs 1,657 executions, each of its ~500 page-by-page
``free_contig_range`` sections ordered against cpu1's free; with it, 598.

Data choices (``choose``) are never pruned. The search is *exhausted* when no decision
has an alternative left that fits the bound. Sequential only: a race found deep in one
subtree adds alternatives near the root, so the tree cannot be split into worker units
in advance (``zonesim.coordinator.explore_dpor`` runs it as one unit, so the JSON does
not depend on ``--workers``).

Soundness rests on the footprints (tests/sched/test_footprints.py audits them) and is
checked against the full bounded DFS: the same verdicts and the same final states on
every case of tests/sched/test_reduction.py. What exhaustion proves is what it proves
for sleep sets (docs/performance.md, "Partial-order reduction").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from zonesim.sched.dfs import check_prefix_reached, check_replayed
from zonesim.sched.errors import SchedError
from zonesim.sched.footprint import Footprint, Obj
from zonesim.sched.sleep import clean_transition, decision_kind, sleep_entry, still_asleep
from zonesim.sched.steps import OPT, SOLO, StepRecorder


@dataclass(slots=True)
class _Node:
    n: int
    taken: int
    preemptible: bool
    names: tuple[str, ...]  # the alternatives' CPUs; () for a data choice
    todo: set[int] = field(default_factory=set)  # alternatives to explore
    done: set[int] = field(default_factory=set)  # alternatives explored (or running)
    # the CPU that could keep running (a preemptive switch point), and the footprint of
    # its next transition once alternative 0 ran it (None: not one clean transition)
    current: str | None = None
    alt0: Footprint | None = None
    sleep: dict[str, Footprint] = field(default_factory=dict)  # asleep at this node


class _Entry:
    """The accesses to one object since its last write (a step index each)."""

    __slots__ = ("adds", "reads", "write")

    def __init__(self) -> None:
        self.write = -1
        self.reads: list[int] = []
        self.adds: list[int] = []


class DPORStrategy:
    """Bounded DPOR over the whole tree (``prefix`` () only: see the module doc)."""

    def __init__(self, preemption_bound: int = 2) -> None:
        if preemption_bound < 0:
            raise ValueError(f"{preemption_bound=} must be >= 0")
        self.bound = preemption_bound
        self.preemption_bound = preemption_bound
        self.exhausted = False
        self.executions = 0
        self._prefix: list[int] = []
        self._tree: list[_Node] = []  # the nodes of the current path, kept across runs
        self._trail: list[_Node] = []
        self._steps: StepRecorder | None = None
        self._seen = 0  # steps of the recorder's log already judged for sleep sets
        self._blocked: int | None = None  # the decision where every alternative slept
        self._blocked_steps = 0  # the steps that ran before it
        self.blocked_executions = 0

    # -- the scheduler's side --------------------------------------------------------------

    def attach_steps(self, steps: StepRecorder) -> None:
        steps.solo = True  # one step per transition, decision or not
        steps.sections_commute = True  # see the module doc, "Locks"
        self._steps = steps

    def begin_execution(self) -> bool:
        if self.exhausted:
            return False
        self.executions += 1
        self._trail = []
        self._steps = None
        self._seen = 0
        self._blocked = None
        return True

    def _sleep_here(self, i: int) -> dict[str, Footprint]:
        """The sleep set at decision ``i`` (zonesim.sched.sleep, with the same bounded
        rule: an entry only for the CPU that could have kept running at a preemptive
        switch point, with its clean next transition); also records alternative 0's
        transition at decision ``i - 1`` when that is what ran."""
        st = self._steps
        if st is None:
            return {}
        new = st.log[self._seen:]
        self._seen = len(st.log)
        if i == 0:
            return {}
        prev = self._trail[i - 1]
        if prev.taken == 0 and new:
            prev.alt0 = clean_transition(new[0], prev.current)
        base = dict(prev.sleep)
        entry = sleep_entry(prev.names, prev.taken, prev.current, prev.alt0)
        if entry is not None:
            base[entry[0]] = entry[1]
        return still_asleep(base, new)

    def _pick(self, step: int, n: int, preemptible: bool, names: tuple[str, ...],
              current: str | None) -> int:
        i = len(self._trail)
        sleep = self._sleep_here(i)
        if i < len(self._prefix):
            taken = self._prefix[i]
            check_replayed(i, step, n, taken)
            node = self._tree[i]
            if node.n != n or node.names != names:
                raise SchedError(
                    f"DPOR: decision {i} replayed with alternatives {names or n}, "
                    f"recorded {node.names or node.n} (the model is not deterministic)")
            node.taken = taken
            node.sleep = sleep
        else:
            taken = 0
            if names and self._blocked is None:
                # the first awake alternative (a preemptive decision's alternative 0,
                # the running CPU, never sleeps: it just ran)
                awake = [a for a in range(n) if names[a] not in sleep]
                if not awake:
                    self._blocked = i  # sleep-blocked: equivalent to an explored run
                    self._blocked_steps = len(self._steps.log) if self._steps else 0
                    self.blocked_executions += 1
                else:
                    taken = awake[0]
            node = _Node(n, taken, preemptible, names, {taken}, {taken},
                         current if preemptible else None, None, sleep)
            if not names:  # a data choice: every answer is explored
                node.todo = set(range(n))
            del self._tree[i:]
            self._tree.append(node)
        self._trail.append(node)
        return taken

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        preemptible, at = decision_kind(runnable, current, self._steps)
        return self._pick(step, len(runnable), preemptible, tuple(runnable), at)

    def pick_option(self, step: int, n: int, label: str) -> int:
        return self._pick(step, n, False, (), None)

    # -- races -----------------------------------------------------------------------------

    def _add(self, depth: int, cpu: str) -> None:
        """Explore ``cpu`` at decision ``depth`` (every runnable CPU if it was not)."""
        node = self._trail[depth]
        if not node.names:
            return
        if cpu in node.names:
            if cpu not in node.sleep:
                node.todo.add(node.names.index(cpu))
        else:
            node.todo.update(a for a in range(node.n) if node.names[a] not in node.sleep)

    def _decisions(self, steps: Sequence[Footprint]) -> list[int | None]:
        """Per step: the decision (trail index) at which another CPU could have run
        instead of it -- the decision that began its CPU's transition -- or None when
        that transition began where only its CPU could run (``SOLO``) or before the
        first decision. A data choice (``OPT``) splits a transition in two steps; both
        belong to the CPU decision before the first."""
        out: list[int | None] = []
        starts: list[int | None] = []  # per step: the decision right before it, if any
        d = -1
        for k in range(len(steps)):
            if k == 0:
                starts.append(None)
            else:
                end = steps[k - 1].end
                if end == SOLO:
                    starts.append(None)
                else:
                    d += 1
                    starts.append(d)
        for k in range(len(steps)):
            j = k
            while j >= 1 and steps[j - 1].end == OPT:
                j -= 1
            out.append(starts[j] if j >= 1 else None)
        return out

    def _reverse(self, steps: Sequence[Footprint], dec: Sequence[int | None], i: int,
                 cpu: str) -> None:
        """Run ``cpu`` before step ``i``: at the decision that began ``i``'s transition,
        and -- for the preemption bound -- at the one that began the block of ``i``'s CPU
        (its run of consecutive transitions: BPOR's conservative point, where running
        ``cpu`` instead costs no more than the switch to that block did). A transition or
        block that began where only its CPU could run has no such decision: ``cpu`` was
        not runnable there, and nothing else was (Flanagan and Godefroid add every
        runnable CPU then)."""
        d = dec[i]
        if d is not None and d < len(self._trail):
            self._add(d, cpu)
        q = steps[i].cpu
        j = i
        while j >= 1 and steps[j - 1].cpu == q:
            j -= 1
        b = dec[j]
        if b is not None and b != d and b < len(self._trail):
            self._add(b, cpu)

    def _races(self, steps: Sequence[Footprint]) -> None:
        """Add the alternatives the races of this execution call for. ``steps`` are the
        execution's transitions in order (``StepRecorder.solo``: one CPU each)."""
        table: dict[Obj, _Entry] = {}
        by_kind: dict[str, set[Obj]] = {}
        clocks: dict[str, dict[str, int]] = {}  # per CPU: its vector clock
        step_clock: list[dict[str, int]] = [{} for _ in steps]
        owner: list[str | None] = [fp.cpu for fp in steps]
        dec = self._decisions(steps)
        for k in range(len(steps)):
            fp = steps[k]
            if fp.cpu is None:
                continue
            if len(fp.cpus) > 1:
                # The baton passed without a step boundary: their accesses are merged,
                # so the race between them cannot be seen. Run the later ones first.
                for c in sorted(fp.cpus - {fp.cpu}):
                    self._reverse(steps, dec, k, c)
            cands: set[int] = set()
            for obj, mode in _accesses(fp):
                kind, key = obj
                if key is None:
                    entries = [table[o] for o in by_kind.get(kind, ())]
                else:
                    entries = [e for e in (table.get(obj), table.get((kind, None)))
                               if e is not None]
                for e in entries:
                    if e.write >= 0:
                        cands.add(e.write)
                    if mode != "r":
                        cands.update(e.reads)
                    if mode != "a":
                        cands.update(e.adds)
            # The race, for each CPU that ran in the step (more than one when the baton
            # passed without a decision: their accesses are merged, so each is judged
            # with all of them): the latest conflicting step of another CPU that does
            # not already happen before that CPU's position.
            for c in sorted(fp.cpus):
                mine = clocks.get(c, {})
                for i in sorted(cands):
                    other = owner[i]
                    if other is None or other == c:
                        continue
                    if mine.get(other, 0) < step_clock[i].get(other, 0):
                        self._reverse(steps, dec, i, c)
            # happens-before: program order of every CPU that ran, and every conflict
            vc: dict[str, int] = {}
            for c in fp.cpus:
                for a, t in clocks.get(c, {}).items():
                    if vc.get(a, 0) < t:
                        vc[a] = t
            for i in cands:
                for a, t in step_clock[i].items():
                    if vc.get(a, 0) < t:
                        vc[a] = t
            for c in fp.cpus:
                vc[c] = k + 1  # 1-based: 0 means "knows nothing of c"
            step_clock[k] = vc
            for c in fp.cpus:
                clocks[c] = vc
            for obj, mode in _accesses(fp):
                ent = table.get(obj)
                if ent is None:
                    ent = table[obj] = _Entry()
                    by_kind.setdefault(obj[0], set()).add(obj)
                if mode == "w":
                    ent.write, ent.reads, ent.adds = k, [], []
                elif mode == "r":
                    ent.reads.append(k)
                else:
                    ent.adds.append(k)

    # -- backtracking ----------------------------------------------------------------------

    def end_execution(self, failed: bool) -> None:
        trail = self._trail
        check_prefix_reached(len(trail), len(self._prefix))
        st = self._steps
        if st is None and any(p.names and p.n > 1 for p in trail):
            raise SchedError("DPOR: no step footprints (the engine did not record steps)")
        if st is not None:
            # a sleep-blocked execution: only what ran before the blocked decision counts
            self._races([*st.log, st.cur] if self._blocked is None
                        else st.log[:self._blocked_steps])
        if failed:
            # The execution stopped at a violation: the transitions it never ran may race
            # with any it ran, so every decision it passed tries every awake CPU, as the
            # plain DFS does (schedules that share the whole prefix meet the same
            # violation). Without this, --keep-going would call the space exhausted after
            # an execution cut short, and miss every other violation.
            top = len(trail) if self._blocked is None else self._blocked
            for p in trail[:top]:
                if p.names:
                    p.todo.update(a for a in range(p.n) if p.names[a] not in p.sleep)
        used: list[int] = []
        count = 0
        for p in trail:
            used.append(count)
            if p.preemptible and p.taken:
                count += 1
        top = len(trail) if self._blocked is None else self._blocked
        for i in range(top - 1, -1, -1):
            p = trail[i]
            for a in sorted(p.todo - p.done):
                if p.preemptible and a and used[i] + 1 > self.bound:
                    continue
                p.done.add(a)
                self._prefix = [q.taken for q in trail[:i]] + [a]
                del self._tree[i + 1:]
                return
        self.exhausted = True

    def next_prefix(self) -> tuple[int, ...] | None:
        """The prefix the next execution replays (None: exhausted)."""
        return None if self.exhausted else tuple(self._prefix)


def _accesses(fp: Footprint) -> list[tuple[Obj, str]]:
    """Every object of a step with its strongest mode: w(rite) > a(dd) > r(ead)."""
    out: dict[Obj, str] = {}
    for o in fp.reads:
        out[o] = "r"
    for o in fp.adds:
        out[o] = "w" if o in out else "a"  # read and added: a read-modify-write
    for o in fp.writes:
        out[o] = "w"
    return list(out.items())
