"""The ``zonesim`` command (DESIGN.md §8).

Exit codes: 0 nothing found (or matrix matches), 1 violation found (or mismatch), 2 bad
input or usage (one line, no traceback), 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from zonesim import clicmds


class UsageError(Exception):
    """Bad input: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage + message on two lines; bad input gets one line here.
        raise UsageError(f"{self.prog}: {message} (see {self.prog.split()[0]} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="zonesim", description="Deterministic race explorer for the Linux page allocator."
    )
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    def parallel_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--workers", type=int, default=None, metavar="N",
            help="worker processes (default: this machine's cores); the findings and "
            "trace_hash do not depend on N",
        )
        sp.add_argument(
            "--cluster", default=None, metavar="ADDRESS",
            help="run the work units on this Dask scheduler (tcp://host:8786; default: "
            "$ZONESIM_DASK_SCHEDULER); needs `pip install 'zonesim[dask]'`",
        )

    def policy_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--policy", default="v5.15", help="preset (see `zonesim policies`)")
        sp.add_argument(
            "--with",
            dest="add",
            action="append",
            default=[],
            metavar="SWITCH",
            help="add a switch to the preset",
        )
        sp.add_argument(
            "--without",
            dest="remove",
            action="append",
            default=[],
            metavar="SWITCH",
            help="remove a switch from the preset",
        )

    s = sub.add_parser("show", help="print /proc views of a fresh zone or a scenario's start")
    s.add_argument("scenario", nargs="?", help="scenario file (state after [[setup]])")
    s.add_argument("--pages", type=int, help="zone size in pages (without a scenario)")
    s.add_argument("--start-pfn", type=int, default=0)
    s.add_argument("--pageblock-order", type=int, default=None)
    s.add_argument("--max-order", type=int, default=11)
    s.add_argument("--cpus", type=int, default=2)
    s.add_argument(
        "--format", choices=("buddyinfo", "pagetypeinfo", "zoneinfo", "map"), default="buddyinfo"
    )
    policy_args(s)

    r = sub.add_parser("run", help="one execution with a readable trace")
    r.add_argument("scenario")
    policy_args(r)
    r.add_argument("--strategy", choices=("random", "pct", "dfs"), default="pct")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--schedule", help="replay this schedule string instead of a strategy")
    r.add_argument("--json", action="store_true")
    r.add_argument("--log", type=Path, help="write the JSON-lines log here")

    e = sub.add_parser("explore", help="many executions; shrunk failures become artifacts")
    e.add_argument("scenario")
    policy_args(e)
    e.add_argument("--strategy", choices=("random", "pct", "dfs", "hypothesis"), default=None,
                   help="default: the scenario's [explore] strategy, else pct")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--executions", type=int, default=None,
                   help="default: the scenario's [explore] executions, else 1000")
    e.add_argument("--time", type=float, default=None, metavar="SECONDS")
    e.add_argument("--depth", type=int, default=3, help="pct bug depth d")
    e.add_argument("--preemption-bound", type=int, default=None,
                   help="dfs bound (default: the scenario's [explore] hint, else 2)")
    e.add_argument("--keep-going", action="store_true", help="one finding per invariant")
    e.add_argument("--max-steps", type=int, default=None)
    e.add_argument("--artifacts", type=Path, default=Path("logs"))
    e.add_argument("--json", action="store_true")
    parallel_args(e)
    e.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )

    mx = sub.add_parser(
        "matrix",
        help="every scenario x every preset: verdicts, checked against [expect]",
        description="Explore every scenario under every policy (the presets, plus the designs "
        "with switches that a scenario's [expect] names) with a fixed budget per cell: a "
        "bounded DFS, then PCT for what is left. Prints a table (verdict, invariant, "
        "executions to the first failure), and for each violation the shrunk interleaving "
        "as CPU columns and the exact replay command. A matrix reports: it exits 0 even "
        "when cells find violations; with --check it exits 1 when any cell differs from "
        "its scenario's [expect].",
    )
    mx.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="scenario files or directories (searched recursively for *.toml); "
        "default: scenarios/seed/",
    )
    mx.add_argument(
        "--policy",
        dest="policies",
        action="append",
        default=[],
        metavar="P",
        help='only this column (repeatable); a preset, optionally with switches: "v5.19 '
        '-86d28b070927"',
    )
    mx.add_argument(
        "--executions",
        type=int,
        default=None,
        metavar="N",
        help="execution budget per cell (default: the scenario's [explore] executions, "
        "else 2000); half for the DFS, the rest for PCT",
    )
    mx.add_argument(
        "--seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="safety cap per cell in seconds (default 0 = none: the verdicts depend only on "
        "the execution budget, so every machine gets the same table); a cell the cap ends "
        "is marked ~ and its counts depend on the machine",
    )
    mx.add_argument("--seed", type=int, default=0, help="PCT seed")
    mx.add_argument(
        "--check", action="store_true", help="compare with [expect]; exit 1 on a mismatch"
    )
    mx.add_argument("--json", action="store_true")
    mx.add_argument("--artifacts", type=Path, default=Path("logs"))
    parallel_args(mx)
    mx.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one line per cell on stderr (default: when stderr is a terminal)",
    )

    rp = sub.add_parser("replay", help="replay a failure artifact")
    rp.add_argument("artifact", type=Path)
    rp.add_argument("--json", action="store_true")

    sh = sub.add_parser("shrink", help="shrink an artifact's schedule further (rewrites it)")
    sh.add_argument("artifact", type=Path)
    sh.add_argument("--attempts", type=int, default=1000)
    sh.add_argument("--json", action="store_true")

    lg = sub.add_parser("log", help="filter a log (artifact or JSON lines)")
    lg.add_argument("file", type=Path)
    lg.add_argument("--cpu", action="append", default=[])
    lg.add_argument("--pfn", help="START or START-END (inclusive, hex or decimal)")
    lg.add_argument("--event", action="append", default=[])
    lg.add_argument("--steps", help="A-B (inclusive)")

    sub.add_parser("scenarios", help="list bundled scenarios").add_argument(
        "dir", nargs="?", type=Path, default=Path("scenarios")
    )
    sub.add_parser("policies", help="list presets and switches")
    sub.add_parser("schema", help="print the scenario JSON Schema")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return clicmds.dispatch(args)
    except UsageError as exc:
        _err(str(exc))
        return 2
    except clicmds.BadInput as exc:
        _err(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug of zonesim, not of the input: say so, with the traceback
        import traceback

        traceback.print_exc()
        _err("zonesim: internal error (exit 3); please report it with the command above")
        return 3


def _err(msg: str) -> None:
    print(msg.replace("\n", " "), file=sys.stderr)


def print_json(doc: Any) -> None:
    print(json.dumps(doc, sort_keys=True))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
