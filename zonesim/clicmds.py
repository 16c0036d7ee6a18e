"""What each ``zonesim`` subcommand does (the cli layer; argument parsing is in cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zonesim.engine import Engine, NotApplicable, cpu_names
from zonesim.explore import (
    STRATEGIES,
    StrategyConfig,
    explore,
    replay_command,
)
from zonesim.model.boot import ZoneLayout, build_zone
from zonesim.model.errors import ModelFault
from zonesim.model.geometry import Geometry
from zonesim.model.snapshot import snapshot
from zonesim.obs import proc
from zonesim.obs.logging import write_json_lines, write_log
from zonesim.obs.report import failure_report
from zonesim.parallel import ClusterError
from zonesim.policy import PRESETS, SWITCHES, Policy, PolicyError, make_policy
from zonesim.scenario import PolicySpec, Scenario, ScenarioError, json_schema, load_scenario
from zonesim.sched import ReplayMismatch, ReplayStrategy, ScheduleFormatError, decode


class BadInput(Exception):
    """One line naming the file / option, the key path and what was expected."""


def dispatch(args: argparse.Namespace) -> int:
    handler = _COMMANDS[args.cmd]
    try:
        return handler(args)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    except PolicyError as exc:
        raise BadInput(f"--policy: {exc}") from None
    except NotApplicable as exc:
        # Not bad input and not a violation: the modelled kernel refuses the layout.
        if getattr(args, "json", False):
            print(json.dumps({"scenario": getattr(args, "scenario", None),
                              "policy": args.policy, "verdict": "n/a",
                              "not_applicable": str(exc)}, sort_keys=True))
        else:
            print(f"n/a: {exc}")
        return 0


# -- helpers -------------------------------------------------------------------------


def _policy(args: argparse.Namespace) -> Policy:
    """--policy accepts a preset or a whole spec ("v5.19 -86d28b070927"); --with and
    --without add to it."""
    from zonesim.policy import parse_policy

    base = parse_policy(args.policy)
    add = (*base.added, *args.add)
    remove = (*base.removed, *args.remove)
    return make_policy(base.preset, tuple(add), tuple(remove))


def _known_policy(spec: PolicySpec) -> str | None:
    try:
        make_policy(spec.preset, spec.add, spec.remove)
    except PolicyError as exc:
        return str(exc)
    return None


def load(path: str | Path) -> Scenario:
    return load_scenario(path, known_policies=_known_policy)


def _positive(name: str, v: int | None) -> None:
    if v is not None and v < 1:
        raise BadInput(f"{name}: expected a positive integer, got {v}")


def _parallel(args: argparse.Namespace) -> tuple[int, str | None]:
    """--workers (default: the cores) and --cluster (default: $ZONESIM_DASK_SCHEDULER)."""
    from zonesim.parallel import cluster_from_env, default_workers

    _positive("--workers", args.workers)
    return args.workers or default_workers(), cluster_from_env(args.cluster)


# -- show ----------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    policy = _policy(args)
    if args.scenario:
        engine = Engine(load(args.scenario), policy)
        try:
            zone, _ = engine.base_state()
        except ModelFault as exc:
            print(f"{args.scenario}: the modelled kernel fails while booting or running "
                  f"[[setup]] under {policy.name}: {exc.invariant}: {exc}")
            return 1
    else:
        if args.pages is None:
            raise BadInput("zonesim show: expected a SCENARIO or --pages N")
        po = (
            args.pageblock_order if args.pageblock_order is not None else min(9, args.max_order - 1)
        )
        try:
            g = Geometry(args.start_pfn, args.pages, args.max_order, po, args.cpus)
        except ValueError as exc:
            raise BadInput(f"zonesim show: {exc}") from None
        zone = build_zone(ZoneLayout(g, flags=policy.model_flags()))
    s = snapshot(zone)
    render = {
        "buddyinfo": proc.buddyinfo,
        "pagetypeinfo": proc.pagetypeinfo,
        "zoneinfo": proc.zoneinfo,
        "map": proc.pageblock_map,
    }[args.format]
    sys.stdout.write(render(s))
    return 0


# -- run -----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    policy = _policy(args)
    engine = Engine(scenario, policy)
    if args.schedule:
        fp, values = _decode(args.schedule, "--schedule")
        _check_fingerprint(fp, engine, "--schedule")
        strategy: Any = ReplayStrategy(values)
    else:
        strategy = StrategyConfig(args.strategy, args.seed).make()
        strategy.begin_execution()
    outcome = engine.run(strategy, tracing=True)
    if isinstance(outcome.error, ReplayMismatch):
        raise BadInput(f"--schedule: expected a schedule this scenario follows; {outcome.error}")
    from zonesim.sched import encode

    schedule = encode(outcome.choices, engine.fingerprint)
    if args.log:
        with open(args.log, "w", encoding="utf-8") as f:
            write_json_lines(outcome.events, f)
    v = outcome.violation
    if args.json:
        print(
            json.dumps(
                {
                    "scenario": scenario.name,
                    "policy": policy.name,
                    "strategy": "replay" if args.schedule else args.strategy,
                    "seed": None if args.schedule else args.seed,
                    "steps": outcome.steps,
                    "trace_hash": outcome.trace_hash,
                    "schedule": schedule,
                    "violation": None
                    if v is None
                    else {"invariant": v.invariant, "message": v.message},
                },
                sort_keys=True,
            )
        )
    else:
        write_log(outcome.events)
        if v is None:
            print(f"ok: {outcome.steps} steps, no violation; trace_hash {outcome.trace_hash}")
        else:
            print(f"VIOLATION {v}")
        print(f"schedule {schedule}")
    return 0 if v is None else 1


# -- explore -------------------------------------------------------------------------


def cmd_explore(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    policy = _policy(args)
    hints = scenario.explore
    if args.executions is None:
        args.executions = hints.executions or 1000
    if args.strategy is None:
        args.strategy = hints.strategy if hints.strategy in STRATEGIES else "pct"
    if args.preemption_bound is None:
        args.preemption_bound = hints.preemption_bound if hints.preemption_bound is not None else 2
    _positive("--executions", args.executions)
    _positive("--max-steps", args.max_steps)
    _positive("--depth", args.depth)
    if args.preemption_bound < 0:
        raise BadInput(f"--preemption-bound: expected an integer >= 0, got {args.preemption_bound}")
    if args.time is not None and args.time <= 0:
        raise BadInput(f"--time: expected a positive number of seconds, got {args.time}")
    max_steps = args.max_steps or hints.max_steps or 100_000
    engine = Engine(scenario, policy, max_steps=max_steps)
    cfg = StrategyConfig(args.strategy, args.seed, args.depth, args.preemption_bound)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    progress = _progress_bar if show_progress else None
    workers, cluster = _parallel(args)
    try:
        report = explore(
            engine,
            cfg,
            executions=args.executions,
            seconds=args.time,
            keep_going=args.keep_going,
            artifacts=args.artifacts,
            scenario_path=args.scenario,
            progress=progress,
            workers=workers,
            cluster=cluster,
        )
    except ClusterError as exc:
        raise BadInput(str(exc)) from None
    if show_progress:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), sort_keys=True))
    else:
        print(
            f"{'scenario':<28} {'policy':<16} {'strategy':<10} {'seed':>5} {'execs':>7} "
            f"{'steps':>9}  verdict"
        )
        verdict = (
            "pass"
            if not report.violations
            else "violation: " + ", ".join(v.invariant for v in report.violations)
        )
        if report.exhausted:
            verdict += " (bounded space exhausted)"
        print(
            f"{report.scenario:<28} {report.policy:<16} {report.strategy:<10} "
            f"{report.seed:>5} {report.executions:>7} {report.steps:>9}  {verdict}"
        )
        print(f"trace_hash {report.trace_hash}  ({report.seconds:.1f} s)"
              + ("  INTERRUPTED: the executions that finished" if report.interrupted else ""))
        for f in report.violations:
            print()
            print(
                failure_report(
                    invariant=f.invariant,
                    message=f.message,
                    scenario=args.scenario,
                    policy=report.policy,
                    strategy=report.strategy,
                    seed=report.seed,
                    schedule=f.schedule,
                    replay=replay_command(f.artifact or "?"),
                    records=f.events,
                    cpus=cpu_names(scenario),
                    preemptions=f.preemptions,
                    switches=f.switches,
                )
            )
    if report.interrupted:
        return 130
    return 1 if report.violations else 0


def _progress_bar(n: int, total: int, found: int) -> None:
    width = 30
    done = int(width * n / total) if total else 0
    sys.stderr.write(
        f"\r[{'#' * done}{'.' * (width - done)}] {n}/{total} executions, {found} violation(s)"
    )
    sys.stderr.flush()


# -- matrix --------------------------------------------------------------------------


DEFAULT_MATRIX_SCENARIOS = "scenarios/seed"


def cmd_matrix(args: argparse.Namespace) -> int:
    from zonesim import matrix
    from zonesim.policy import parse_policy

    _positive("--executions", args.executions)
    if args.seconds < 0:
        raise BadInput(f"--seconds: expected a number >= 0 (0 = no cap), got {args.seconds:g}")
    policies: list[Policy] = []
    for spec in args.policies:
        try:
            policies.append(parse_policy(spec))
        except PolicyError as exc:
            raise BadInput(f"--policy {spec!r}: {exc}") from None
    try:
        files = matrix.find_scenarios(args.scenarios or [DEFAULT_MATRIX_SCENARIOS])
        entries = [(str(f), load(f)) for f in files]
        columns = matrix.columns_for([s for _, s in entries], policies)
        budget = matrix.Budget(args.executions, args.seconds, args.seed)
        show_progress = sys.stderr.isatty() if args.progress is None else args.progress

        def progress(n: int, total: int, scenario: str, policy: str) -> None:
            print(f"[{n}/{total}] {scenario} x {policy}", file=sys.stderr, flush=True)

        workers, cluster = _parallel(args)
        result = matrix.run_matrix(
            entries,
            columns,
            budget,
            artifacts=args.artifacts,
            progress=progress if show_progress else None,
            workers=workers,
            cluster=cluster,
        )
    except matrix.MatrixInputError as exc:
        raise BadInput(f"zonesim matrix: {exc}") from None
    except ClusterError as exc:
        raise BadInput(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True))
    else:
        sys.stdout.write(matrix.render_text(result, check=args.check))
    if result.interrupted:
        print("zonesim matrix: interrupted; empty cells (-) did not finish", file=sys.stderr)
        return 130
    return 1 if args.check and result.mismatches() else 0


def _decode(schedule: str, where: str) -> tuple[str, list[str | int]]:
    try:
        return decode(schedule)
    except ScheduleFormatError as exc:
        raise BadInput(f"{where}: {exc}") from None


def _check_fingerprint(fp: str, engine: Engine, where: str) -> None:
    if fp != engine.fingerprint:
        raise BadInput(
            f"{where}: schedule fingerprint {fp} does not match scenario + policy + model "
            f"({engine.fingerprint}): the scenario file, the policy or zonesim changed"
        )


# -- listings ------------------------------------------------------------------------


def cmd_scenarios(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        raise BadInput(f"{root}: expected a directory of scenarios")
    for f in sorted(root.rglob("*.toml")):
        s = load(f)
        print(f"{f!s:<52} {s.summary}")
    return 0


def cmd_policies(args: argparse.Namespace) -> int:
    print("Presets:")
    for name, (what, switches) in PRESETS.items():
        print(f"  {name:<10} {what}")
        print(f"  {'':<10} switches: {' '.join(sorted(switches)) or '(none)'}")
    print("\nSwitches:")
    for s in SWITCHES:
        print(f"  {s.id:<14} {s.version:<9} {s.title}")
        print(f"  {'':<14} {'':<9} {s.behaviour}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


Command = Callable[[argparse.Namespace], int]

_COMMANDS: dict[str, Command] = {
    "show": cmd_show,
    "run": cmd_run,
    "explore": cmd_explore,
    "matrix": cmd_matrix,
    "replay": lambda a: _artifacts("cmd_replay")(a),
    "shrink": lambda a: _artifacts("cmd_shrink")(a),
    "log": lambda a: _artifacts("cmd_log")(a),
    "scenarios": cmd_scenarios,
    "policies": cmd_policies,
    "schema": cmd_schema,
}



def _artifacts(name: str) -> Command:
    # Imported on use: cli_artifacts imports this module's helpers.
    from zonesim import cli_artifacts

    cmd: Command = getattr(cli_artifacts, name)
    return cmd
