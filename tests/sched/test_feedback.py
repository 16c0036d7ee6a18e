"""The feedback strategy's mutants (zonesim.sched.feedback): a kept prefix replayed, one
decision changed, POS afterwards; no corpus = plain POS."""

from __future__ import annotations

from sched_workloads import lost_update

from zonesim.sched import Failure, POSStrategy, execute
from zonesim.sched.feedback import MutantStrategy, mutant


def values(strategy: object) -> list[object]:
    strategy.begin_execution()  # type: ignore[attr-defined]
    o = execute(strategy, lost_update(cpus=3))  # type: ignore[arg-type]
    return [c.value for c in o.choices]


def test_a_mutant_keeps_the_prefix_and_changes_the_next_decision() -> None:
    parent = values(POSStrategy(1))
    assert len(parent) >= 4
    for k in range(len(parent)):
        child = values(MutantStrategy(parent[:k], parent[k], seed=k))
        assert child[:k] == parent[:k]
        assert child[k] != parent[k]


def test_no_corpus_is_pos_and_a_corpus_is_mutated_deterministically() -> None:
    assert values(mutant((), 7)) == values(POSStrategy(7))
    parent = tuple(values(POSStrategy(1)))
    corpus = [(parent, 3)]
    a, b = values(mutant(corpus, 9)), values(mutant(corpus, 9))
    assert a == b
    kids = {tuple(values(mutant(corpus, s))) for s in range(20)}
    assert len(kids) > 3  # cut points and continuations differ by seed


def test_mutants_find_the_lost_update() -> None:
    parent = tuple(values(POSStrategy(0)))
    found = 0
    for s in range(40):
        m = mutant([(parent, 1)], s)
        m.begin_execution()
        found += isinstance(execute(m, lost_update(cpus=3)), Failure)
    assert found > 0


def test_a_mutant_changes_one_decision_and_leaves_the_rest_to_pos() -> None:
    """RFF's mutation flips the decision at the cut point only: later decisions are POS's,
    so the CPU the parent ran at the cut may run again at a later decision (a mutant that
    kept avoiding it would explore only schedules where that CPU goes last)."""
    parent = values(POSStrategy(1))
    for k in range(len(parent) - 1):
        later = [values(MutantStrategy(parent[:k], parent[k], seed=s))[k + 1 :]
                 for s in range(20)]
        assert any(parent[k] in rest for rest in later), k
