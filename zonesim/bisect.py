"""``zonesim bisect``: git bisect for a race (docs/bisect.md). The engine layer; the
command line is cli/bisect.py, the public entry ``zonesim.api.bisect``.

1. Every state of the release timeline (zonesim.timeline) is explored exactly as a matrix
   cell explores it (``matrix.run_cell``: the scenario's [explore] budget, bounded DFS, then
   PCT). A verdict is ``pass``, ``n/a`` or ``violation:<invariant>``; any violation counts
   as the race being present, so runs of states are runs of pass / violation / n/a, and a
   run of violations says where its invariant changes.
2. For each pair of neighbouring states A -> B whose verdicts differ, the designs between
   them are A plus a prefix of the moves (the switches that differ, in version order),
   closed under ``builds_on``. A binary search finds the first prefix whose verdict equals
   B's: the same invariant broken the same way (``verdict.statement``: the message with pfns and
   counts blanked). Another violation on the way is another bug; the steps show it. When
   A is n/a, a first search finds the commit from which the scenario applies at all.
3. The flip commit may not flip the verdict on its own: the search then adds, greedily, the
   earlier moves it needs (a binary search over the prefix before the flip for the first
   that still gives B's verdict, repeated until A + the set does) and explores the set
   without each member, which says what each one contributes: decides the verdict, makes
   the scenario apply, or keeps another violation from being found first.

Verdicts are cached by switch set within one bisect, so a design is explored once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from zonesim.matrix import Budget, MatrixProgress
from zonesim.policy import BY_ID
from zonesim.policy.policy import dependents
from zonesim.scenario import Scenario
from zonesim.timeline import Move, State, design, moves_between, timeline
from zonesim.verdict import Evaluate, Verdict, Verdicts

# -- one change of verdict ---------------------------------------------------------------


@dataclass(slots=True)
class Step:
    """A design a search explored: A + the first ``prefix`` moves (None: a design off the
    prefix path, built while finding what the flip needs)."""

    prefix: int | None
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "policy": self.verdict.policy.name,
                "verdict": self.verdict.text}


@dataclass(slots=True)
class Flip:
    """The first prefix with the wanted verdict: its last move and the moves that came
    with it because of ``builds_on``; ``before`` / ``after``: the designs either side."""

    move: Move
    group: list[Move]
    before: Verdict
    after: Verdict

    def to_json(self) -> dict[str, Any]:
        return {**switch_json(self.move), "group": [switch_json(m) for m in self.group],
                "before": self.before.to_json(), "after": self.after.to_json()}


@dataclass(slots=True)
class NeededSwitch:
    """A member of the set of moves that takes A to B's verdict. ``pulled_by``: the move
    whose ``builds_on`` brought it (None: the search found it). ``role``, from the verdict
    of the set without it (and without ``also``, what builds on it):

    - ``decides``: A's verdict comes back;
    - ``differs``: B's invariant breaks another way (another statement, another bug);
    - ``applies``: the scenario does not apply (n/a);
    - ``other``: another violation is found first;
    - ``same``: still B's verdict (it is there because another member builds on it)."""

    move: Move
    pulled_by: str | None
    without: Verdict
    role: str
    also: list[str]  # left out with it: the members that build on it

    def to_json(self) -> dict[str, Any]:
        return {**switch_json(self.move), "pulled_by": self.pulled_by, "role": self.role,
                "left_out_with_it": self.also, "without": self.without.to_json()}


def switch_json(move: Move) -> dict[str, Any]:
    s = BY_ID[move.switch]
    return {"commit": s.id, "on": move.on, "title": s.title, "version": s.version}


@dataclass(slots=True)
class VerdictChange:
    """Neighbouring states A -> B with different verdicts, bisected."""

    before: State
    after: State
    was: Verdict
    now: Verdict
    moves: list[Move]
    flip: Flip
    needs: list[NeededSwitch]
    applies: Flip | None = None  # A is n/a: the commit from which the scenario applies
    steps: list[Step] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return describe_change(self.was.race, self.now.race)

    @property
    def deciders(self) -> list[NeededSwitch]:
        """The members without which A's verdict comes back, or B's invariant breaks
        another way (another statement: another bug, and B's violation is gone)."""
        return [n for n in self.needs if n.role in ("decides", "differs")]

    @property
    def single(self) -> bool:
        """The flip commit (with what it must move with) changes A's verdict to B's alone."""
        return all(n.move in self.flip.group for n in self.needs)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.before.name, "to": self.after.name,
            "from_verdict": self.was.text, "to_verdict": self.now.text, "kind": self.kind,
            "moves": [m.text for m in self.moves],
            "applies": None if self.applies is None else self.applies.to_json(),
            "flip": self.flip.to_json(),
            "single": self.single,
            "decided_by": [n.move.switch for n in self.deciders],
            "needs": [n.to_json() for n in self.needs],
            "steps": [s.to_json() for s in self.steps],
        }


def describe_change(was: str, now: str) -> str:
    if now == "n/a":
        return "the scenario stops applying"
    if was == "n/a":
        return f"the scenario applies, {'with' if now == 'violation' else 'without'} the race"
    if was == now:
        return "the invariant changes"
    return "the race appears" if now == "violation" else "the race disappears"


def bisect_change(evaluate: Evaluate, before: State, was: Verdict, after: State,
                  now: Verdict) -> VerdictChange:
    a = before.switches
    moves = moves_between(a, after.switches)
    steps: list[Step] = []

    def prefix(k: int) -> Verdict:
        v = evaluate(design(a, moves[:k]))
        if 0 < k < len(moves):
            log(steps, Step(k, v))
        return v

    def flip_at(k: int) -> Flip:
        lo, hi = design(a, moves[: k - 1]), design(a, moves[:k])
        group = [m for m in moves if m.switch in lo ^ hi]
        return Flip(moves[k - 1], group, evaluate(lo), evaluate(hi))

    applies = None
    if was.race == "n/a":
        applies = flip_at(first(prefix, len(moves), lambda v: v.race != "n/a"))
    k = first(prefix, len(moves), lambda v: v.same(now))
    flip = flip_at(k)
    wanted = needed(evaluate, a, moves, k - 1, now, steps)
    needs = roles(evaluate, a, [moves[i] for i in wanted], was, now, steps)
    return VerdictChange(before, after, was, now, moves, flip, needs, applies, steps)


def log(steps: list[Step], step: Step) -> None:
    """The designs a bisect explored, each once, in the order it asked for them."""
    if all(s.verdict.policy != step.verdict.policy for s in steps):
        steps.append(step)


def first(prefix: Callable[[int], Verdict], n: int, want: Callable[[Verdict], bool]) -> int:
    """Binary search for a k with ``want(prefix(k))`` and not ``want(prefix(k - 1))``,
    given not ``want(prefix(0))`` and ``want(prefix(n))``. The verdict need not be
    monotone in k: then this is one such k, as ``git bisect`` finds one bad commit."""
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if want(prefix(mid)):
            hi = mid
        else:
            lo = mid
    return hi


def needed(evaluate: Evaluate, a: frozenset[str], moves: Sequence[Move], flip: int,
           target: Verdict, steps: list[Step]) -> list[int]:
    """Indices of moves that take A to ``target``'s verdict (``Verdict.same``): the flip
    move, then, while A + the set does not give it, the last of the earlier moves it
    needs — the first k with (A + moves[:k] + set) giving it names moves[k - 1]. Last,
    a member the others give the verdict without is dropped (the flip itself may only
    be where the verdict shows on the prefix path, once another violation stops hiding
    it)."""
    chosen = [flip]

    def verdict(extra: Sequence[int], skip: int | None = None) -> Verdict:
        picked = sorted({*extra, *chosen} - {skip})
        v = evaluate(design(a, [moves[i] for i in picked]))
        log(steps, Step(None, v))
        return v

    limit = flip  # A + moves[:limit] + chosen gives target (the flip prefix itself)
    while not verdict(()).same(target):
        if limit == 0:  # cannot happen: verdicts are cached by switch set
            break
        k = first(lambda j: verdict(range(j)), limit, lambda v: v.same(target))
        chosen.append(k - 1)
        limit = k - 1
    for i in sorted(chosen):
        if len(chosen) > 1 and verdict((), skip=i).same(target):
            chosen.remove(i)
    return sorted(chosen)


def roles(evaluate: Evaluate, a: frozenset[str], found: list[Move], was: Verdict,
          now: Verdict, steps: list[Step]) -> list[NeededSwitch]:
    """Every move of A + ``found`` (with what ``builds_on`` pulled in), explored without
    it (and without what builds on it): what each one contributes."""
    full = design(a, found)
    members = [m for m in moves_between(a, full)]
    out: list[NeededSwitch] = []
    for m in members:
        explicit = m in found
        pulled = None if explicit else next(
            (x.switch for x in found if m.switch in design(a, [x]) ^ a), None)
        also = dependents(m.switch, frozenset(x.switch for x in members if x.on)) \
            if m.on else []
        rest = [x for x in members if x.switch != m.switch and x.switch not in also]
        without = evaluate(design(a, rest))
        log(steps, Step(None, without))
        out.append(NeededSwitch(m, pulled, without, role(without, was, now), also))
    return out


def role(without: Verdict, was: Verdict, now: Verdict) -> str:
    if without.same(now):
        return "same"
    if without.race == "n/a":
        return "applies"
    if without.same(was):
        return "decides"
    if without.text == now.text:
        return "differs"
    return "other"


# -- the whole timeline ------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    """Neighbouring states with the same pass / violation / n/a; for violations, the
    sub-runs of each invariant (the invariant may change while the race stays)."""

    race: str
    first: str
    last: str
    verdicts: list[tuple[str, str, str]]  # (verdict, first state, last state)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.race, "first": self.first, "last": self.last,
                "verdicts": [{"verdict": v, "first": f, "last": la}
                             for v, f, la in self.verdicts]}


def runs(states: Sequence[tuple[State, Verdict]]) -> list[Run]:
    out: list[Run] = []
    for state, v in states:
        if out and out[-1].race == v.race:
            run = out[-1]
            run.last = state.name
            if run.verdicts[-1][0] == v.text:
                run.verdicts[-1] = (v.text, run.verdicts[-1][1], state.name)
            else:
                run.verdicts.append((v.text, state.name, state.name))
        else:
            out.append(Run(v.race, state.name, state.name, [(v.text, state.name, state.name)]))
    return out


@dataclass(slots=True)
class Bisection:
    scenario: Scenario
    path: str
    budget: Budget
    states: list[tuple[State, Verdict]]
    changes: list[VerdictChange]
    explored: int  # distinct designs explored (each once)

    @property
    def runs(self) -> list[Run]:
        return runs(self.states)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "file": self.path,
            "budget": {"executions": self.budget.executions, "seed": self.budget.seed},
            "states": [{"name": s.name, "preset": s.preset, **v.to_json()}
                       for s, v in self.states],
            "runs": [r.to_json() for r in self.runs],
            "changes": [c.to_json() for c in self.changes],
            "explored": self.explored,
        }


def run_bisect(scenario: Scenario, path: str, budget: Budget, *,
               artifacts: Path | None = Path("logs"),
               progress: MatrixProgress | None = None) -> Bisection:
    """The timeline's verdicts, then every change of verdict bisected to its commits."""
    evaluate = Verdicts(scenario, path, budget, artifacts=artifacts, progress=progress)
    line = timeline()
    evaluate.planned = len({s.switches for s in line})
    states = [(s, evaluate(s.switches)) for s in line]
    changes = []
    for (a, va), (b, vb) in pairwise(states):
        if va.text != vb.text:
            # the number of designs a bisect explores is not known in advance
            evaluate.phase = f"bisecting {a.name} -> {b.name}"
            changes.append(bisect_change(evaluate, a, va, b, vb))
    return Bisection(scenario, path, budget, states, changes, len(evaluate.cache))

