"""Options shared by several commands, each with its help text and its default."""

from __future__ import annotations

import argparse
import math
from typing import Any

DEFAULT_POLICY = "v5.15"
EXIT_INTERRUPTED = 130  # Ctrl-C: the summary of what finished is still printed

SubParsers = Any  # argparse's _SubParsersAction (a private type)


def add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy", default=DEFAULT_POLICY, metavar="SPEC",
        help="the design: a preset, optionally with switches added (+) or removed (-), e.g. "
        "\"v5.19 -86d28b070927\" (see `zonesim policies`; default: %(default)s)")
    p.add_argument("--with", dest="add", action="append", default=[], metavar="SWITCH",
                   help="add a switch to the design; repeatable (default: none)")
    p.add_argument("--without", dest="remove", action="append", default=[],
                   metavar="SWITCH",
                   help="remove a switch from the design; repeatable (default: none)")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of text (default: text)")


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, otherwise a "
                   "line every --progress-every seconds)")
    p.add_argument("--progress-every", type=_interval, default=5.0, metavar="SECONDS",
                   help="seconds between two progress lines when stderr is not a terminal "
                   "(default: %(default)g)")


def _interval(text: str) -> float:
    """A finite number of seconds >= 0 (argparse turns the ValueError into one line)."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


_interval.__name__ = "finite, non-negative seconds"  # argparse: "invalid <name> value"


def policy_spec(args: argparse.Namespace) -> tuple[str, list[str], list[str]]:
    return args.policy, list(args.add), list(args.remove)


def add_parallel(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="worker processes on this machine; the findings, JSON and trace_hash do not "
        "depend on N (default: the machine's cores)")
    p.add_argument(
        "--cluster", default=None, metavar="ADDRESS",
        help="run on this Dask scheduler instead (tcp://host:8786; needs "
        "`pip install 'zonesim[dask]'`, see docs/cluster.md) (default: "
        "$ZONESIM_DASK_SCHEDULER, else none)")


def parallel(args: argparse.Namespace) -> tuple[int, str | None]:
    """--workers (default: the cores) and --cluster (default: $ZONESIM_DASK_SCHEDULER)."""
    from zonesim import api

    return api.parallel_target(args.workers, args.cluster)
