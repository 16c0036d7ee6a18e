"""Replay reproduces executions; schedules round-trip; tampering and garbage are reported."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sched_workloads import traced

from zonesim.sched import (
    Choice,
    ChoiceValue,
    Failure,
    RandomStrategy,
    ReplayMismatch,
    ReplayStrategy,
    ScheduleFormatError,
    decode,
    encode,
    execute,
)


def test_replay_reproduces_the_step_sequence() -> None:
    strategy = RandomStrategy(42)
    assert strategy.begin_execution()
    log: list[tuple[str, str]] = []
    original = execute(strategy, traced(log))
    assert not isinstance(original, Failure)
    assert len({cpu for cpu, _ in log[:4]}) > 1  # really interleaved

    fingerprint, values = decode(encode(original.choices, "fp"))
    assert fingerprint == "fp"
    replay = ReplayStrategy(values)
    assert replay.begin_execution()
    again: list[tuple[str, str]] = []
    replayed = execute(replay, traced(again))
    assert not isinstance(replayed, Failure)
    assert again == log
    assert replayed.choices == original.choices
    assert replayed.steps == original.steps
    assert replay.unused == 0
    assert not replay.begin_execution()  # replay runs once


def test_tampered_schedule_raises_replay_mismatch_with_step_and_label() -> None:
    strategy = RandomStrategy(42)
    strategy.begin_execution()
    original = execute(strategy, traced([]))
    assert not isinstance(original, Failure)
    values: list[ChoiceValue] = [c.value for c in original.choices]
    values[3] = "cpu7"  # not a CPU of this scenario
    outcome = execute(ReplayStrategy(values), traced([]))
    assert isinstance(outcome, Failure)
    err = outcome.error
    assert isinstance(err, ReplayMismatch)
    assert err.step == original.choices[3].step
    assert err.label == original.choices[3].label
    assert f"at step {err.step} ({err.label})" in str(err)
    assert "recorded cpu 'cpu7' is not runnable" in str(err)


def test_replay_runs_out_into_choice_zero() -> None:
    log: list[tuple[str, str]] = []
    outcome = execute(ReplayStrategy([]), traced(log))
    assert not isinstance(outcome, Failure)
    assert all(c.value == c.current for c in outcome.choices if c.current is not None)
    assert [cpu for cpu, _ in log] == ["cpu0"] * 4 + ["cpu1"] * 4 + ["cpu2"] * 4


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True)
values_st = st.lists(st.one_of(names, st.integers(0, 1000)), max_size=40)
fingerprints = st.from_regex(r"[!-~]{0,20}", fullmatch=True)


@given(values_st, fingerprints)
def test_encode_decode_round_trips(values: list[ChoiceValue], fingerprint: str) -> None:
    s = encode(values, fingerprint)
    assert s.startswith("zs1:")
    assert decode(s) == (fingerprint, values)


def test_encoding_is_compact() -> None:
    choices = [Choice("cpu", "cpu0", 2, "x", i) for i in range(12)]
    choices += [Choice("cpu", "cpu1", 2, "x", 12 + i) for i in range(3)]
    choices += [Choice("opt", 2, 3, "op", 15)]
    assert encode(choices, "abc") == "zs1:abc:cpu0*12.cpu1*3.#2"


@pytest.mark.parametrize(
    ("garbage", "expected"),
    [
        ("", "start with 'zs1:'"),
        ("zs2:fp:cpu0", "start with 'zs1:'"),
        ("zs1:fp", "found no ':'"),
        ("zs1:fp:cpu0*", "count >= 1"),
        ("zs1:fp:cpu0*0", "count >= 1"),
        ("zs1:fp:#x", "'#' followed by an option index"),
        ("zs1:fp:cpu0..cpu1", "expected a cpu name"),
        ("zs1:fp:9cpu", "expected a cpu name"),
        ("zs1:f p:cpu0", "without whitespace"),
    ],
)
def test_garbage_gives_schedule_format_error(garbage: str, expected: str) -> None:
    with pytest.raises(ScheduleFormatError, match=expected) as info:
        decode(garbage)
    assert "\n" not in str(info.value)
