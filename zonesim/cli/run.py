"""``zonesim run`` (one execution, readable steps) and ``zonesim explore`` (many)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from zonesim import api
from zonesim.cli.options import (
    EXIT_INTERRUPTED,
    SubParsers,
    add_json,
    add_parallel,
    add_policy,
    add_progress,
    parallel,
)
from zonesim.cli.output import Output
from zonesim.cli.progress import Reporter
from zonesim.cli.signals import StopRequests
from zonesim.obs.logging import render_json_line
from zonesim.obs.report import failure_report, model_events, step_lines


def register(sub: SubParsers) -> None:
    r = sub.add_parser(
        "run", help="one execution with its steps as readable lines",
        description="One execution of a scenario: its steps (the lines of a failure report), "
        "the verdict and the schedule string that replays it. --log writes every record "
        "(model events, op starts, locks, pages moving between buddy and pcp) as JSON lines.")
    r.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML)")
    add_policy(r)
    r.add_argument("--strategy", choices=api.RUN_STRATEGIES, default="pct",
                   help="who runs at each switch point (default: %(default)s)")
    r.add_argument("--seed", type=int, default=0,
                   help="seed of the random and pct strategies (default: %(default)s)")
    r.add_argument("--schedule", metavar="STRING",
                   help="replay this schedule string (zs2:... or zs1:...) instead of a "
                   "strategy: it must carry this scenario's fingerprint, and a schedule "
                   "shorter than the execution is a prefix (no preemption after it) "
                   "(default: none)")
    r.add_argument("--log", type=Path, metavar="FILE",
                   help="write the records as JSON lines to FILE (default: none)")
    add_json(r)
    r.set_defaults(handler=cmd_run)

    e = sub.add_parser(
        "explore", help="many executions; shrunk failures become artifacts",
        description="Explore a scenario under one design; every violation found is shrunk "
        "and written to --artifacts as a replayable artifact (with the scenario's text, so "
        "it replays from any directory). Defaults marked 'hint' come from the scenario's "
        "[explore] table when it has one.")
    e.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML)")
    add_policy(e)
    e.add_argument("--strategy", choices=api.STRATEGIES, default=None,
                   help="search strategy (default: hint, else dfs+feedback)")
    e.add_argument("--seed", type=int, default=0,
                   help="seed of the strategy (default: %(default)s)")
    e.add_argument("--executions", type=int, default=None, metavar="N",
                   help="execution budget (default: hint, else 1000)")
    e.add_argument("--time", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds, whichever of --executions and --time "
                   "ends first; finite, > 0, at most 30 days (default: no time limit)")
    e.add_argument("--depth", type=int, default=3,
                   help="pct bug depth d, 1..the step bound + 1 (default: %(default)s)")
    e.add_argument("--preemption-bound", type=int, default=None, metavar="K",
                   help="dfs: at most K preemptions per schedule (default: hint, else 2)")
    e.add_argument("--reduction", choices=api.REDUCTIONS, default=None,
                   help="dfs: partial-order reduction, sound within the preemption bound: "
                   "'sleep' (sleep sets) skips a schedule that only reorders independent "
                   "steps of one explored before; 'dpor' (bounded dynamic partial-order "
                   "reduction with sleep sets) tries another CPU only where an execution "
                   f"showed a race (default: {api.DEFAULT_REDUCTION})")
    e.add_argument("--no-deepen", dest="deepen", action="store_false", default=None,
                   help="dfs: search at the preemption bound alone, deepest schedules first "
                   "(default: bounds 0, 1, ..., K in turn, each exhausted before the next; "
                   "the JSON's exhausted_bound says how far that got)")
    e.add_argument("--keep-going", action="store_true",
                   help="go on after a violation: one finding per invariant (default: stop "
                   "at the first)")
    e.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="steps after which an execution is a suspected livelock "
                   "(default: hint, else derived from the scenario's ops, at least 100000)")
    e.add_argument("--artifacts", type=Path, default=Path("logs"), metavar="DIR",
                   help="directory for failure artifacts (default: %(default)s)")
    e.add_argument("--coverage", action="store_true",
                   help="report allocator-state coverage: signatures reached, new ones per "
                   "100 executions, windows never opened (default: off)")
    e.add_argument("--coverage-plot", type=Path, default=None, metavar="FILE.png",
                   help="write the saturation curve as a PNG image (implies --coverage; "
                   "default: none)")
    add_json(e)
    add_progress(e)
    add_parallel(e)
    e.set_defaults(handler=cmd_explore)


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    out.check_file(args.log, "--log")
    policy = api.resolve_policy(args.policy, args.add, args.remove)
    result = api.run(args.scenario, policy, strategy=args.strategy, seed=args.seed,
                     schedule=args.schedule)
    if args.log is not None:
        out.write_file(args.log, "".join(render_json_line(r) + "\n"
                                          for r in result.observation.records), "--log")
    code = 0 if result.outcome.violation is None else 1
    if args.json:
        out.json(result.to_json())
        return code
    events = model_events(result.observation.records)
    v = result.outcome.violation
    if v is not None:
        out.text(failure_report(
            invariant=v.invariant, message=v.message, scenario=args.scenario,
            policy=policy.name, strategy=result.strategy,
            seed=result.seed if result.seed is not None else "-",
            schedule=result.schedule,
            replay=run_command(args.scenario, policy.name, result.schedule),
            records=events, cpus=result.observation.cpus))
    else:
        out.lines(["Steps:", *("  " + s for s in step_lines(events))])
        out.text(f"ok: {result.outcome.steps} steps, no violation; trace_hash "
                 f"{result.outcome.trace_hash}")
        out.text(f"schedule {result.schedule}")
    if result.divergence is not None:
        out.text(f"note: {result.divergence}")
    return code


def run_command(scenario: str, policy: str, schedule: str) -> str:
    """The command that replays a schedule string (what to run when no artifact exists)."""
    return (f"zonesim run {shlex.quote(scenario)} --policy {shlex.quote(policy)} "
            f"--schedule {shlex.quote(schedule)}")


def cmd_explore(args: argparse.Namespace, out: Output) -> int:
    policy = api.resolve_policy(args.policy, args.add, args.remove)
    plot: Path | None = args.coverage_plot
    if plot is not None:
        out.check_file(plot, "--coverage-plot")  # before a long run, not after it
    progress = Reporter("explore", out.stderr, quiet=args.quiet, every=args.progress_every)
    workers, cluster = parallel(args)
    try:
        with StopRequests() as stop:  # SIGTERM as SIGINT: see zonesim.cli.signals
            report = api.explore(
                args.scenario, args.strategy, policy=policy, seed=args.seed,
                executions=args.executions, seconds=args.time, depth=args.depth,
                preemption_bound=args.preemption_bound, reduction=args.reduction,
                deepen=args.deepen, keep_going=args.keep_going, max_steps=args.max_steps,
                artifacts=args.artifacts,
                progress=progress.executions, workers=workers, cluster=cluster,
                coverage=args.coverage or plot is not None)
    finally:
        progress.close()
    if plot is not None:
        out.write_file(plot, api.coverage_png(report), "--coverage-plot")
    # Ctrl-C / SIGTERM: the summary of what finished, then exit 130
    done = EXIT_INTERRUPTED if report.interrupted else 1 if report.violations else 0
    if report.interrupted:
        out.interrupted("explore", stop.name,
                        f"the summary covers the {report.executions} execution(s) that "
                        "finished; every artifact written is kept")
    unwritten = [f.artifact_error for f in report.violations if f.artifact_error]
    if unwritten:
        out.not_written(f"{len(unwritten)} artifact(s) not written ({unwritten[0]}); the "
                        "schedule strings above replay them with `zonesim run`")
    if args.json:
        out.json(report.to_json())
        return done
    verdict = ("pass" if not report.violations
               else "violation: " + ", ".join(v.invariant for v in report.violations))
    if report.exhausted:
        verdict += f" (bounded space exhausted, {report.preemption_bound} preemptions)"
    elif report.exhausted_bound is not None:
        verdict += (f" (exhausted up to {report.exhausted_bound} preemption(s) of "
                    f"{report.preemption_bound})")
    if report.interrupted:
        verdict += " (interrupted)"
    out.table(["scenario", "policy", "strategy", "seed", "executions", "steps", "verdict"],
              [[report.scenario, report.policy, report.strategy, str(report.seed),
                str(report.executions), str(report.steps), verdict]])
    out.text(f"trace_hash {report.trace_hash}  ({report.seconds:.1f} s)")
    if report.coverage is not None:
        out.lines(report.coverage.lines())
        if plot is not None:
            out.text(f"saturation curve written to {plot}")
    for note in report.unrealistic:
        out.text(f"note: {note['op']} is unrealistic on purpose: {note['why']}")
    scenario = api.load(args.scenario)
    for f in report.violations:
        out.text("")
        replay = (api.replay_command(f.artifact) if f.artifact is not None
                  else run_command(args.scenario, report.policy, f.schedule))
        out.text(failure_report(
            invariant=f.invariant, message=f.message, scenario=args.scenario,
            policy=report.policy, strategy=report.strategy, seed=report.seed,
            schedule=f.schedule, replay=replay,
            records=f.events, cpus=api.cpu_names(scenario), preemptions=f.preemptions,
            switches=f.switches))
    if report.interrupted:
        out.text("interrupted: the figures above cover the executions that finished")
    return done
