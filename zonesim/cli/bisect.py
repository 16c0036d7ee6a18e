"""``zonesim bisect``: git bisect for a race — the releases that have it, and the commits
that bring it or take it away (docs/bisect.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from zonesim import api
from zonesim.cli.options import SubParsers, add_json, add_progress
from zonesim.cli.output import Output
from zonesim.cli.progress import Reporter


def register(sub: SubParsers) -> None:
    b = sub.add_parser(
        "bisect", help="git bisect for a race: which releases have it, which commit did it",
        description="Explore a scenario under every release of the timeline (the states "
        "before v5.15 reachable by removing its switches, then the release presets "
        "v5.15 ... v6.17; not rfc-v1/proposal, which were never released), each as a matrix "
        "cell (bounded DFS, then PCT), and name the first and last release with each "
        "verdict. For every change of verdict between two neighbouring releases, bisect "
        "over the switches that differ (by version, then catalogue order, closed under "
        "builds_on) to the commit that flips it, and say which other commits the flip "
        "needs. Every violation is written to --artifacts as a replayable artifact. Exits "
        "0 when the bisect ran, whatever it found; 2 for bad input.")
    b.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML)")
    b.add_argument(
        "--executions", type=int, default=None, metavar="N",
        help="execution budget per design, half for the DFS and the rest for PCT (default: "
        "the scenario's [explore] executions, else 2000)")
    b.add_argument("--seed", type=int, default=0, help="PCT seed (default: %(default)s)")
    b.add_argument("--artifacts", type=Path, default=Path("logs"), metavar="DIR",
                   help="directory for failure artifacts (default: %(default)s)")
    add_json(b)
    add_progress(b)
    b.set_defaults(handler=cmd_bisect)


def cmd_bisect(args: argparse.Namespace, out: Output) -> int:
    progress = Reporter("bisect", out.stderr, quiet=args.quiet, every=args.progress_every)
    try:
        result = api.bisect(args.scenario, executions=args.executions, seed=args.seed,
                            artifacts=args.artifacts, progress=progress)
    finally:
        progress.close()
    if args.json:
        out.json(result.to_json())
    else:
        render(result, out)
    return 0  # a bisect that finds a race has done its job


# -- text ----------------------------------------------------------------------------------


def render(result: api.Bisection, out: Output) -> None:
    b = result.budget
    execs = (f"{b.executions} executions" if b.executions
             else "the scenario's [explore] executions (else 2000)")
    out.text(f"zonesim bisect {result.path}: {result.scenario.name}; per design {execs}, "
             f"dfs first, then pct seed {b.seed}; {result.explored} designs explored")
    out.table(["release", "design", "verdict"],
              [[s.name, v.policy.name, v.summary] for s, v in result.states],
              title="Releases")
    lines = ["", "Runs:"]
    for run in result.runs:
        lines.append(f"  {run.race:<9}  {span(run.first, run.last)}")
        if len(run.verdicts) > 1:
            lines += [f"             {v}: {span(f, la)}" for v, f, la in run.verdicts]
            lines.append("             (the race stays; the invariant that catches it changes)")
    out.lines(lines)
    for change in result.changes:
        render_change(change, out)
    replays = [(s.name, v.replay) for s, v in result.states if v.replay]
    if replays:
        out.lines(["", "Replay:", *(f"  {name}: {cmd}" for name, cmd in replays)])


def span(first: str, last: str) -> str:
    return first if first == last else f"{first} .. {last}"


def render_change(c: api.VerdictChange, out: Output) -> None:
    lines = ["", f"{c.before.name} -> {c.after.name}: {c.was.text} -> {c.now.text} "
             f"({c.kind}); {len(c.moves)} switch(es) differ"]
    if c.applies is not None:
        lines.append(f"  the scenario applies from {commit(c.applies.move)}")
    f = c.flip
    lines.append(f"  first with {c.now.text}: {commit(f.move)}")
    for m in f.group:
        if m != f.move:
            lines.append(f"    moves with it (builds_on): {commit(m)}")
    lines.append(f"    {f.before.policy.name}: {f.before.text}")
    lines.append(f"    {f.after.policy.name}: {f.after.text}")
    if c.single:
        lines.append("  it flips the verdict on its own (A + it alone gives B's verdict)")
    else:
        if all(n.move != f.move for n in c.needs):
            lines.append("  (that is where it shows on the path, once the violation found "
                         "before it stops being found first)")
        lines.append(f"  {c.before.name} + {len(c.needs)} switches together give "
                     f"{c.now.text}:")
    phrase = DECIDES.get(c.kind, "decides it")
    lines += [f"  {phrase}: {commit(n.move)}" for n in c.deciders]
    if not c.deciders:
        lines.append("  no switch of the set decides it alone (see each one left out)")
    lines.append("  each one left out (with what builds on it) gives:")
    out.lines(lines)
    out.table(["commit", "version", "title", "without it"],
              [[member(n), n.move.version, n.move.title, without(n, c)] for n in c.needs])
    out.table(["prefix", "design", "verdict"],
              [["-" if s.prefix is None else str(s.prefix), s.verdict.policy.name,
                s.verdict.text] for s in c.steps],
              title="  designs explored by this bisect")


def commit(m: api.Move) -> str:
    return f"{m.switch} ({m.version}) {m.title}"


def member(n: api.NeededSwitch) -> str:
    return n.move.text + (f" (and {', '.join(n.also)})" if n.also else "")


DECIDES = {
    "the race appears": "brings the race",
    "the race disappears": "closes the race",
    "the invariant changes": "changes the invariant",
    "the scenario applies, with the race": "brings the race",
    "the scenario stops applying": "makes the scenario n/a",
}


def without(n: api.NeededSwitch, c: api.VerdictChange) -> str:
    v = n.without
    what = {
        "decides": DECIDES.get(c.kind, "decides it"),
        "applies": "the scenario applies only with it",
        "other": "another violation is found first",
        "differs": f"the same invariant, another way: {v.cell.message}",
        "same": f"moves with {n.pulled_by}" if n.pulled_by else "not needed alone",
    }[n.role]
    return f"{v.text}: {what}"
