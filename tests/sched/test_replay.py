"""Replay reproduces executions; schedules round-trip; tampering and garbage are reported;
anchored schedules say where an edited workload stops following them."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sched_workloads import traced

from zonesim.sched import (
    Choice,
    ChoiceValue,
    ExecutionResult,
    Failure,
    FingerprintMismatch,
    RandomStrategy,
    ReplayMismatch,
    ReplayStrategy,
    Schedule,
    ScheduleFormatError,
    Strategy,
    check_fingerprint,
    decode,
    encode,
    execute,
    parse_schedule,
    replay_schedule,
)
from zonesim.sched.schedule import _FP_CHARS, DEFAULT_MAX_DECISIONS


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
fingerprints = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
labels = st.sampled_from(
    ["start", "op:alloc", "spin_lock:cma->lock[cma0]", "choose:cpu[0].ops[2]", "a~b@c*d.e%f",
     "ünïcode label", ""]
)


@given(values_st, fingerprints)
def test_encode_decode_round_trips(values: list[ChoiceValue], fingerprint: str) -> None:
    s = encode(values, fingerprint)
    assert s.startswith("zs2:")
    assert decode(s) == (fingerprint, values)
    assert parse_schedule(s).labels == (None,) * len(values)  # bare values: unanchored


@given(st.lists(st.tuples(st.one_of(names, st.integers(0, 9)), labels), max_size=30))
def test_anchored_encoding_round_trips_labels(decisions: list[tuple[ChoiceValue, str]]) -> None:
    choices = [
        Choice("cpu" if isinstance(v, str) else "opt", v, 2, label, i)
        for i, (v, label) in enumerate(decisions)
    ]
    sched = parse_schedule(encode(choices, "fp"))
    assert sched.version == "zs2"
    assert list(sched.values) == [v for v, _ in decisions]
    assert list(sched.labels) == [label for _, label in decisions]


def test_encoding_is_compact() -> None:
    choices = [Choice("cpu", "cpu0", 2, "x", i) for i in range(12)]
    choices += [Choice("cpu", "cpu1", 2, "x", 12 + i) for i in range(3)]
    choices += [Choice("opt", 2, 3, "choose:cpu[0].ops[1]", 15)]
    assert encode(choices, "abc") == "zs2:abc:cpu0@0*12.cpu1@0*3.#2@1~x~choose:cpu[0].ops[1]"


def test_zs1_strings_still_decode() -> None:
    # Written by zonesim before anchors (docs/failures.md): no labels, fingerprint kept.
    sched = parse_schedule("zs1:f79093b84477b3e7:cpu1*4.cpu0*13.cpu1*2")
    assert (sched.version, sched.fingerprint) == ("zs1", "f79093b84477b3e7")
    assert sched.values == ("cpu1",) * 4 + ("cpu0",) * 13 + ("cpu1",) * 2
    assert sched.labels == (None,) * 19
    assert decode("zs1:a:b:#3*2") == ("a:b", [3, 3])  # a zs1 body follows the last ':'


@pytest.mark.parametrize(
    ("garbage", "expected"),
    [
        ("", "start with 'zs2:'"),
        ("zs3:fp:cpu0", "start with 'zs2:'"),
        ("zs1:fp", "found no ':'"),
        ("zs2:fp", "found no ':'"),
        ("zs1:fp:cpu0*", "count 1..999999999"),
        ("zs1:fp:cpu0*0", "count 1..999999999"),
        ("zs1:fp:#x", "'#' followed by an option index"),
        ("zs1:fp:#12345678901", "'#' followed by an option index"),
        ("zs1:fp:cpu0..cpu1", "expected a cpu name"),
        ("zs1:fp:9cpu", "expected a cpu name"),
        ("zs1:f p:cpu0", "without whitespace"),
        ("zs1:fp:cpu0@0", "zs1 schedules have no '@' anchors"),
        ("zs2:f.p:cpu0", "fingerprint of"),
        ("zs2:fp:cpu0@1~start", "index of a label (0..0)"),
        ("zs2:fp:cpu0@x~start", "index of a label"),
        ("zs2:fp:cpu0@0~st art", "must be percent-encoded"),
        ("zs2:fp:cpu0@0~st%2", "two hex digits"),
        ("zs2:fp:cpu0@0~%FF", "not UTF-8"),
    ],
)
def test_garbage_gives_schedule_format_error(garbage: str, expected: str) -> None:
    with pytest.raises(ScheduleFormatError, match=re.escape(expected)) as info:
        decode(garbage)
    assert "\n" not in str(info.value)


def test_a_bad_token_is_quoted_whole_up_to_40_characters_then_cut() -> None:
    """The one-line error quotes the offending token: whole up to 40 characters, else its
    first 37 and '...' (an edited artifact's token can be as long as the user made it)."""
    for tok, shown in (("c" * 38 + "*0", "c" * 38 + "*0"),
                       ("c" * 39 + "*0", "c" * 37 + "...")):
        with pytest.raises(ScheduleFormatError, match=re.escape(f"token 0 {shown!r}:")):
            decode(f"zs1:fp:{tok}")


def test_encode_refuses_a_fingerprint_a_schedule_string_could_not_carry() -> None:
    for bad in ("", "f.p", "f:p", "f p"):
        with pytest.raises(ValueError, match="fingerprint"):
            encode(["cpu0"], bad)
    every = "".join(sorted(_FP_CHARS))  # [A-Za-z0-9_-], each once: all of them fit
    assert decode(encode(["cpu0"], every)) == (every, ["cpu0"])


# -- issue 12: counts are bounded before anything is expanded --------------------------


def test_regression_schedule_count_overflow_is_one_line_bad_input() -> None:
    # `run --schedule 'zs1:<fp>:cpu0*99999999999999999999'` was an OverflowError.
    with pytest.raises(ScheduleFormatError, match=r"count 1\.\.999999999") as info:
        decode("zs1:fp:cpu0*99999999999999999999")
    assert "\n" not in str(info.value)
    with pytest.raises(ScheduleFormatError, match="count"):
        decode("zs2:fp:cpu0*" + "9" * 100_000)  # past int()'s digit limit: still one line


def test_regression_schedule_count_beyond_step_bound_is_refused_before_expansion() -> None:
    # `cpu0*999999999` was a MemoryError, `cpu0*99999999` in an artifact 1.6 GB: the run
    # was expanded before anything was checked. Now the budget is checked first.
    tracemalloc.start()
    try:
        for s in ("zs1:fp:cpu0*999999999", "zs2:fp:cpu0*99999999", "zs2:fp:cpu0*60000.cpu1*50000"):
            with pytest.raises(ScheduleFormatError, match="more than 100000 decisions"):
                decode(s, max_decisions=100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20  # nothing of the size of the runs was allocated
    assert len(decode("zs2:fp:cpu0*100000", max_decisions=100_000)[1]) == 100_000
    assert len(decode("zs2:fp:cpu0.cpu1.cpu0", max_decisions=3)[1]) == 3  # at the limit: fine
    with pytest.raises(ScheduleFormatError, match="tokens exceed the limit of 3"):
        decode("zs2:fp:cpu0.cpu1.cpu0.cpu1", max_decisions=3)
    with pytest.raises(ScheduleFormatError, match=f"more than {DEFAULT_MAX_DECISIONS}"):
        decode("zs1:fp:cpu0*999999999")  # the default bound applies without a caller's


# -- anchored replay -------------------------------------------------------------------


def _recorded(seed: int = 42) -> tuple[Schedule, list[tuple[str, str]], tuple[Choice, ...]]:
    strategy = RandomStrategy(seed)
    strategy.begin_execution()
    log: list[tuple[str, str]] = []
    original = execute(strategy, traced(log))
    assert not isinstance(original, Failure)
    return parse_schedule(encode(original.choices, "fp")), log, original.choices


def test_anchored_schedule_replays_exactly() -> None:
    sched, log, choices = _recorded()
    again: list[tuple[str, str]] = []
    result, divergence = replay_schedule(sched, lambda s: _run(s, again))
    assert divergence is None
    assert again == log and tuple(result.choices) == choices


def _run(strategy: Strategy, log: list[tuple[str, str]], **kw: int) -> ExecutionResult:
    log.clear()
    out = execute(strategy, traced(log, **kw))
    assert not isinstance(out, Failure)
    return out


def test_divergence_names_the_decision_the_anchor_and_what_happened_instead() -> None:
    sched, _, choices = _recorded()
    i = 5
    edited = Schedule(
        "zs2", "fp", sched.values, (*sched.labels[:i], "elsewhere", *sched.labels[i + 1 :])
    )
    log: list[tuple[str, str]] = []
    result, divergence = replay_schedule(edited, lambda s: _run(s, log))
    assert divergence is not None
    assert (divergence.index, divergence.step) == (i, choices[i].step)
    assert tuple(result.choices[:i]) == choices[:i]  # followed up to the divergence
    taken = result.choices[i]
    assert taken.value == (taken.current or taken.value)  # then choice 0: no preemption
    text = str(divergence)
    assert f"decision {i} of {len(choices)} (step {choices[i].step})" in text
    assert "'elsewhere'" in text and repr(choices[i].label) in text
    assert f"the first {i} decisions were replayed as recorded" in text
    # what it did instead: choice 0 keeps the running CPU going (no preemption)
    assert taken.current is not None and f"and kept {taken.current} running" in text
    assert "\n" not in text


def test_divergence_when_the_execution_decides_past_the_schedule_or_ends_before_it() -> None:
    sched, _, choices = _recorded()
    short = Schedule("zs2", "fp", sched.values[:-3], sched.labels[:-3])
    log: list[tuple[str, str]] = []
    _, divergence = replay_schedule(short, lambda s: _run(s, log))
    assert divergence is not None and divergence.expected is None
    assert divergence.index == len(choices) - 3
    assert "after its last decision" in str(divergence)
    longer = Schedule("zs2", "fp", (*sched.values, "cpu0"), (*sched.labels, "start"))
    _, divergence = replay_schedule(longer, lambda s: _run(s, log))
    assert divergence is not None and divergence.step is None
    assert "1 recorded decisions were not used" in str(divergence)


def test_unanchored_zs1_replay_diverges_only_on_values() -> None:
    _, _, choices = _recorded()
    legacy = parse_schedule(f"zs1:fp:{encode([c.value for c in choices], 'x').split(':')[2]}")
    log: list[tuple[str, str]] = []
    _, divergence = replay_schedule(legacy, lambda s: _run(s, log))
    assert divergence is None
    values = list(legacy.values)
    values[3] = "cpu7"
    _, divergence = replay_schedule(
        Schedule("zs1", "fp", tuple(values), legacy.labels), lambda s: _run(s, log)
    )
    assert divergence is not None and divergence.index == 3
    assert "recorded cpu cpu7" in str(divergence)


def test_fingerprint_check_by_schedule_version() -> None:
    expected = {"zs2": "new", "zs1": "old"}
    check_fingerprint(parse_schedule("zs2:new:cpu0"), expected)
    check_fingerprint(parse_schedule("zs1:old:cpu0"), expected)
    for s in ("zs2:old:cpu0", "zs1:new:cpu0"):
        with pytest.raises(FingerprintMismatch, match="does not match") as info:
            check_fingerprint(parse_schedule(s), expected)
        assert "\n" not in str(info.value)
