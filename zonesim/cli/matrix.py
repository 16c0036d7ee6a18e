"""``zonesim matrix``: scenarios x designs, checked against each scenario's ``[expect]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from zonesim import api
from zonesim.cli.options import (
    EXIT_INTERRUPTED,
    SubParsers,
    add_json,
    add_parallel,
    add_progress,
    parallel,
)
from zonesim.cli.output import Output
from zonesim.cli.progress import Reporter
from zonesim.cli.signals import StopRequests

DEFAULT_SCENARIOS = "scenarios/seed"


def register(sub: SubParsers) -> None:
    mx = sub.add_parser(
        "matrix",
        help="every scenario x every preset: verdicts, checked against [expect]",
        description="Explore every scenario under every policy (the presets, plus the designs "
        "with switches that a scenario's [expect] names) with a fixed budget per cell: a "
        "bounded DFS, then the feedback sampler for what is left. Prints a table (verdict, "
        "invariant, "
        "executions to the first failure), and for each violation the shrunk interleaving "
        "as CPU columns and the exact replay command. A matrix reports: it exits 0 even "
        "when cells find violations; with --check it exits 1 when any cell differs from "
        "its scenario's [expect].",
    )
    mx.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO",
        help="scenario files or directories (searched recursively for *.toml files with a "
        f"[scenario] table; other TOML files are skipped) (default: {DEFAULT_SCENARIOS})")
    mx.add_argument(
        "--policy", dest="policies", action="append", default=[], metavar="P",
        help='only this column (repeatable); a preset, optionally with switches: "v5.19 '
        '-86d28b070927" (default: every preset plus the designs [expect] names)')
    mx.add_argument(
        "--executions", type=int, default=None, metavar="N",
        help="execution budget per cell, half for the DFS and the rest for PCT (default: "
        "the scenario's [explore] executions, else 2000)")
    mx.add_argument(
        "--seconds", type=float, default=0.0, metavar="S",
        help="safety cap per cell in seconds; 0 = none, so the verdicts depend only on "
        "the execution budget and every machine gets the same table; a cell the cap ends "
        "is marked ~ and its counts depend on the machine (default: %(default)g)")
    mx.add_argument("--seed", type=int, default=0, help="PCT seed (default: %(default)s)")
    mx.add_argument("--check", action="store_true",
                    help="compare with [expect]; exit 1 on a mismatch (default: report only)")
    mx.add_argument("--artifacts", type=Path, default=Path("logs"), metavar="DIR",
                    help="directory for failure artifacts (default: %(default)s)")
    add_json(mx)
    add_progress(mx)
    add_parallel(mx)
    mx.set_defaults(handler=cmd_matrix)


def cmd_matrix(args: argparse.Namespace, out: Output) -> int:
    progress = Reporter("matrix", out.stderr, quiet=args.quiet, every=args.progress_every)
    workers, cluster = parallel(args)
    try:
        with StopRequests() as stop:  # SIGTERM as SIGINT: see zonesim.cli.signals
            result = api.matrix(args.scenarios or [DEFAULT_SCENARIOS], args.policies,
                                executions=args.executions, seconds=args.seconds,
                                seed=args.seed, artifacts=args.artifacts, progress=progress,
                                workers=workers, cluster=cluster)
    finally:
        progress.close()
    if result.interrupted:
        done = sum(1 for row in result.rows for c in row.cells.values() if c.verdict)
        out.interrupted("matrix", stop.name, f"the table shows the {done} cell(s) that "
                        "finished (the others: -); every artifact written is kept")
    unwritten = [c.found.artifact_error for row in result.rows for c in row.cells.values()
                 if c.found is not None and c.found.artifact_error]
    if unwritten:
        out.not_written(f"{len(unwritten)} artifact(s) not written ({unwritten[0]}); the "
                        "schedule strings above replay them with `zonesim run`")
    if args.json:
        out.json(result.to_json())
    else:
        out.text(api.matrix_text(result, check=args.check))
    if result.interrupted:
        if not args.json:
            out.text("interrupted: the cells shown - did not finish")
        return EXIT_INTERRUPTED
    return 1 if args.check and result.mismatches() else 0
