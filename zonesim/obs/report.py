"""Failure reports a kernel developer reads: steps as lines, and a CPU-column diagram in
the style of commit messages ("CPU0 / CPU1" races)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from zonesim.obs.events import OBSERVER_EVENTS

_SKIP = ("event", "step", "cpu")


def model_events(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The kernel paths' own records, without what an observer added (locks, op starts,
    pages between buddy and pcp): what failure reports show."""
    return [r for r in records if r.get("event") not in OBSERVER_EVENTS]


def format_event(rec: Mapping[str, Any]) -> str:
    """``alloc_pages(order=0, mt=MOVABLE) -> pfn 0x200`` style, from one log record."""
    args = []
    result = None
    for k, v in sorted(rec.items()):
        if k in _SKIP:
            continue
        if k == "result":
            result = v
            continue
        if isinstance(v, int) and not isinstance(v, bool) and "pfn" in k:
            v = f"{v:#x}"
        args.append(f"{k}={v}")
    text = f"{rec.get('event', '?')}({', '.join(args)})"
    if result is not None:
        text += f" -> {result}"
    return text


def step_lines(records: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"[{r.get('step', 0):5}] {r.get('cpu', '?')}: {format_event(r)}" for r in records]


def cpu_columns(
    records: Sequence[Mapping[str, Any]], cpus: Sequence[str], width: int = 44
) -> list[str]:
    """One column per CPU, time flowing down; each record on its CPU's column. A record
    longer than its column wraps onto continuation lines (indented two spaces) at commas
    and spaces, never cut: every argument stays readable."""
    col = {c: i for i, c in enumerate(cpus)}
    head = "".join(f"{c.upper():<{width}}" for c in cpus).rstrip()
    rule = "".join(f"{'-' * (width - 4):<{width}}" for _ in cpus).rstrip()
    lines = [head, rule]
    for r in records:
        i = col.get(str(r.get("cpu")), 0)
        for part in wrap_event(format_event(r), width - 2):
            lines.append((" " * (width * i) + part).rstrip())
    return lines


def wrap_event(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (a single token longer than that
    is split), continuation lines indented by two."""
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]


def failure_report(
    *,
    invariant: str,
    message: str,
    scenario: str,
    policy: str,
    strategy: str,
    seed: int | str | None,
    schedule: str,
    replay: str,
    records: Sequence[Mapping[str, Any]],
    cpus: Sequence[str],
    preemptions: int | None = None,
    switches: Sequence[str] = (),
) -> str:
    out = [
        f"VIOLATION {invariant}: {message}",
        f"  scenario {scenario}, policy {policy}, strategy {strategy}, seed {seed}",
    ]
    if preemptions is not None:
        out.append(f"  shrunk to {preemptions} preemption(s)")
    out += [f"  schedule {schedule}", f"  replay   {replay}"]
    if switches:
        out += ["", "Preemptions (where the scheduler took the CPU away):"]
        out += ["  " + s for s in switches]
    out += ["", "Steps:"]
    out += ["  " + s for s in step_lines(records)]
    out += ["", "Interleaving:"]
    out += ["  " + s for s in cpu_columns(records, cpus)]
    return "\n".join(out) + "\n"


def preemption_lines(choices: Sequence[Any]) -> list[str]:
    """One line per preemption of a choice sequence: who was running, at which switch
    point (the window), and who ran instead. ``choices`` are zonesim.sched Choice records."""
    return [
        f"{c.current} preempted at {c.label} -> {c.value} runs"
        for c in choices
        if getattr(c, "is_preemption", False)
    ]
