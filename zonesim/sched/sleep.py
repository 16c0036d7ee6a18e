"""Preemption-bounded DFS with sleep sets (Godefroid 1996) restricted so that the bounded
result stays sound (Coons, Musuvathi, McKinley, "Bounded partial-order reduction",
OOPSLA 2013: a reduction that ignores the bound misses schedules within it).

The search is ``DFSStrategy``'s (CHESS): replay a prefix of choice indices, take the
simplest answer at every new decision, backtrack to the deepest decision with an untried
alternative within the preemption bound. What is added:

**Sleep entries, created only where moving a step first costs no preemption.** At a
decision taken at a switch point of CPU A that could keep running (a *preemptive*
decision), alternative 0 (A runs its next step ``a``) is explored first. When an
alternative that switches to another CPU is explored next, A goes to sleep with ``a``'s
footprint (recorded when alternative 0 ran: ``zonesim.sched.steps``). In that subtree A
is not scheduled while every step run since is independent of ``a``; the first step that
conflicts with ``a`` (or that A itself runs, when the baton reaches it without a decision)
wakes it. A schedule ``T`` pruned this way runs, after the node, steps ``w1..wk``
independent of ``a`` and then ``a``; ``T' = a w1..wk ...`` is equivalent (same final
state, same steps, each in the same state of what it reads) and has *no more*
preemptions: at the node, ``T`` pays one to switch away from A, ``T'`` none to keep A
and at most one to leave A after ``a``; where ``T`` switches back to A and then away to
Y, ``T'`` switches straight to Y. ``T'`` starts with alternative 0, explored before, so
it is covered within the same bound. Only a step that is one transition of A qualifies
(``Footprint.clean``: A alone ran it, from a switch point to where it next stopped: its
next switch point, or blocked, or finished). Window sites passed on the way do not
disqualify it: whether a window is a decision depends on where the others are parked,
and that is in the footprint (a window site reads ``pk:<object>``, a CPU parking with a
declared access adds to it), so a step that parks where ``a``'s window would have
become a decision wakes A. Entries are never created at decisions where nobody could
keep running (a CPU blocked or finished): there moving ``a`` first can cost a preemption
``T`` did not pay, which is exactly the unsound case of naive bounded POR.

**Sleeping CPUs are never picked.** A new decision takes the first alternative whose CPU
is awake (at a preemptive decision that is always the running CPU: it never sleeps); if
every alternative sleeps the execution is *sleep-blocked*: it runs on (its verdict is
real) but nothing below that decision is explored. Backtracking skips sleeping
alternatives. Data choices (``choose``) are never pruned.

The sleep set at a node depends only on the path to it, so a subtree explored by another
worker (zonesim.units) gets the sleep set at its root with its prefix (``sleep``) and
continues exactly as the sequential search would.

What "independent" rests on: ``zonesim.sched.footprint`` (objects) and
``zonesim.sched.steps`` (what is recorded); docs/performance.md#partial-order-reduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zonesim.sched.dfs import check_prefix_reached, check_replayed
from zonesim.sched.errors import SchedError
from zonesim.sched.footprint import Footprint
from zonesim.sched.steps import OPT, SP, StepRecorder

#: The sleeping CPUs at a node, with the footprint of the step each would run next.
SleepSet = tuple[tuple[str, Footprint], ...]


# -- the bounded sleep-set rule, shared with zonesim.sched.dpor ----------------------------


def decision_kind(runnable: Sequence[str], current: str | None,
                  steps: StepRecorder | None) -> tuple[bool, str | None]:
    """(preemptive, the CPU that may go to sleep below it): a decision is preemptive when
    the running CPU could keep running; only one taken at a switch point of it creates
    sleep entries (at a window, blocked or finished CPU, moving its step first can cost a
    preemption the pruned schedule did not pay)."""
    preemptive = current is not None and runnable[0] == current
    at = current if preemptive and steps is not None and steps.kind == SP else None
    return preemptive, at


def clean_transition(fp: Footprint | None, current: str | None) -> Footprint | None:
    """Alternative 0's step at a decision where ``current`` could keep running, if it was
    one clean transition of ``current`` (``Footprint.clean``): what goes to sleep."""
    if fp is None or current is None or not fp.clean or fp.cpu != current:
        return None
    return fp


def sleep_entry(names: tuple[str, ...], alt: int, current: str | None,
                alt0: Footprint | None) -> tuple[str, Footprint] | None:
    """The CPU put to sleep below alternative ``alt`` of a decision: ``current`` with its
    alternative-0 transition, when ``alt`` switches away from it."""
    if alt == 0 or current is None or not names or names[alt] == current or alt0 is None:
        return None
    return current, alt0


def still_asleep(base: dict[str, Footprint], ran: Sequence[Footprint]) -> dict[str, Footprint]:
    """The entries of ``base`` that no step of ``ran`` woke: a step wakes a CPU when that
    CPU ran in it or it conflicts with the sleeping transition."""
    return {c: f for c, f in base.items()
            if not any(c in fp.cpus or f.conflicts(fp) for fp in ran)}


@dataclass(slots=True)
class _Node:
    n: int
    taken: int
    preemptible: bool  # a cpu decision where the current CPU could keep running
    names: tuple[str, ...]  # the alternatives' CPUs; () for a data choice
    current: str | None  # the CPU that could keep running (preemptive switch point only)
    sleep: dict[str, Footprint]  # asleep at this node


class ReducedDFS:
    """``DFSStrategy``/``SubtreeDFS`` with sleep sets: explores the subtree below ``prefix``
    (all of it for ``()``), within ``preemption_bound``, starting from the sleep set
    ``sleep`` at its root (before the step the prefix's last decision picked)."""

    def __init__(self, prefix: Sequence[int] = (), preemption_bound: int = 2,
                 sleep: SleepSet = ()) -> None:
        if preemption_bound < 0:
            raise ValueError(f"{preemption_bound=} must be >= 0")
        self.floor = len(prefix)
        self.bound = preemption_bound
        self.preemption_bound = preemption_bound
        self.exhausted = False
        self.executions = 0
        self.blocked_executions = 0  # sleep-blocked: equivalent to one explored elsewhere
        self._prefix = list(prefix)
        self._root_sleep = dict(sleep)
        self._trail: list[_Node] = []
        self._last: list[_Node] = []
        # depth -> the footprint of alternative 0's step at that node of the current path
        # (None: not a single transition of the running CPU, so nobody goes to sleep)
        self._alt0: dict[int, Footprint | None] = {}
        self._steps: StepRecorder | None = None
        self._blocked: int | None = None
        self._last_blocked: int | None = None
        self._used = 0  # preemptions in the trail so far

    # -- the scheduler's side --------------------------------------------------------------

    def attach_steps(self, steps: StepRecorder) -> None:
        """Called by each execution's scheduler: that execution's step footprints."""
        self._steps = steps

    def begin_execution(self) -> bool:
        if self.exhausted:
            return False
        self.executions += 1
        self._trail = []
        self._blocked = None
        self._used = 0
        self._steps = None
        return True

    def _sleep_here(self, i: int) -> dict[str, Footprint]:
        """The sleep set at decision ``i``; also records alternative 0's footprint at
        decision ``i - 1`` when that is what ran."""
        steps = self._steps
        fp = steps.log[-1] if steps is not None and steps.log else None
        if i > 0:
            prev = self._trail[i - 1]
            if prev.taken == 0:
                self._alt0[i - 1] = clean_transition(fp, prev.current)
        if i < self.floor or fp is None:
            return {}
        if i == self.floor:
            base = self._root_sleep
        else:
            prev = self._trail[i - 1]
            base = dict(prev.sleep)
            entry = self._entry(i - 1, prev.taken)
            if entry is not None:
                base[entry[0]] = entry[1]
        return still_asleep(base, (fp,))

    def _entry(self, depth: int, alt: int) -> tuple[str, Footprint] | None:
        """The CPU put to sleep below alternative ``alt`` of the node at ``depth``."""
        node = self._trail[depth] if depth < len(self._trail) else self._last[depth]
        return sleep_entry(node.names, alt, node.current, self._alt0.get(depth))

    def _pick(self, step: int, n: int, preemptible: bool, names: tuple[str, ...],
              current: str | None) -> int:
        i = len(self._trail)
        sleep = self._sleep_here(i)
        if i < len(self._prefix):
            taken = self._prefix[i]
            check_replayed(i, step, n, taken)
        else:
            taken = 0
            if names and self._blocked is None:
                for a in range(n):
                    if a and preemptible and self._used + 1 > self.bound:
                        break
                    if names[a] not in sleep:
                        taken = a
                        break
                else:
                    self._blocked = i
                if taken == 0 and names[0] in sleep and self._blocked is None:
                    self._blocked = i
        if preemptible and taken:
            self._used += 1
        self._trail.append(_Node(n, taken, preemptible, names, current, sleep))
        return taken

    def pick_cpu(self, step: int, runnable: Sequence[str], current: str | None) -> int:
        preemptible, at = decision_kind(runnable, current, self._steps)
        return self._pick(step, len(runnable), preemptible, tuple(runnable), at)

    def pick_option(self, step: int, n: int, label: str) -> int:
        if self._steps is not None and self._steps.kind != OPT:
            raise SchedError("ReducedDFS: a data choice the step recorder did not see")
        return self._pick(step, n, False, (), None)

    # -- backtracking ----------------------------------------------------------------------

    def _open(self, trail: list[_Node], blocked: int | None) -> list[tuple[int, list[int]]]:
        """(depth, untried alternatives in order) of every decision that has some,
        deepest first: within the bound, not asleep, not below a sleep-blocked node."""
        out: list[tuple[int, list[int]]] = []
        before: list[int] = []
        count = 0
        for p in trail:
            before.append(count)
            if p.preemptible and p.taken:
                count += 1
        top = len(trail) if blocked is None else blocked
        for i in range(top - 1, self.floor - 1, -1):
            p = trail[i]
            if before[i] + p.preemptible > self.bound:
                continue
            alts = [a for a in range(p.taken + 1, p.n)
                    if not p.names or p.names[a] not in p.sleep]
            if alts:
                out.append((i, alts))
        return out

    def end_execution(self, failed: bool) -> None:
        trail = self._trail
        check_prefix_reached(len(trail), len(self._prefix))
        if trail and trail[-1].taken == 0:
            self._alt0[len(trail) - 1] = None  # its step ended the execution
        if self._blocked is not None:
            self.blocked_executions += 1
        self._last = trail
        self._last_blocked = self._blocked
        nxt = self._open(trail, self._blocked)
        if not nxt:
            self.exhausted = True
            return
        i, alts = nxt[0]
        for d in [d for d in self._alt0 if d > i]:
            del self._alt0[d]
        self._prefix = [q.taken for q in trail[:i]] + [alts[0]]

    def frontier(self) -> tuple[tuple[int, ...], tuple[tuple[int, int, SleepSet], ...]]:
        """(taken values of the last trail, every untried (depth, alternative, sleep set
        at the child's root) in DFS order): what the sequential search would explore
        next, as independent subtrees."""
        last = self._last
        out: list[tuple[int, int, SleepSet]] = []
        for i, alts in self._open(last, self._last_blocked):
            for a in alts:
                sleep = dict(last[i].sleep)
                entry = self._entry(i, a)
                if entry is not None:
                    sleep[entry[0]] = entry[1]
                out.append((i, a, tuple(sorted(sleep.items(), key=lambda kv: kv[0]))))
        return tuple(p.taken for p in last), tuple(out)
