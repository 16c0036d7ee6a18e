"""The one place where a command's outcome becomes an exit code and a line on stderr.

Exit codes: 0 nothing found (or the matrix matches), 1 violation found (or mismatch), 2 bad
input or usage (one line, no traceback), 3 internal error (with the traceback: a bug of
zonesim), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from zonesim.api import BadInput, NotApplicable, ScenarioError, WorkerDied, __version__
from zonesim.cli import artifacts, bisect, inspect, log, matrix, run
from zonesim.cli.options import EXIT_INTERRUPTED
from zonesim.cli.output import Output

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

COMMAND_GROUPS = (inspect, run, matrix, bisect, artifacts, log)


class UsageError(Exception):
    """Bad command-line usage: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage + message on two lines; bad input gets one line here.
        raise UsageError(f"{self.prog}: {message} (see {self.prog.split()[0]} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="zonesim",
        description="Deterministic race explorer for the Linux page allocator. Every command "
        "that runs a design takes --policy (default: v5.15, the kernel of the founding "
        "thread); every command takes --json for one JSON object on stdout.",
        epilog="Exit codes: 0 nothing found, 1 violation found (or mismatch), 2 bad input, "
        "3 internal error, 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"zonesim {__version__}",
                   help="print the version and exit (default: off)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    out = Output()
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args, out)
        if out.unwritten:
            # The result is out; the files that could not be written are named in one
            # line, and a command that found nothing does not report success without them.
            out.error(f"zonesim {args.cmd}: not written: " + "; ".join(out.unwritten))
            return code or EXIT_BAD_INPUT
        return code
    except (UsageError, BadInput, ScenarioError) as exc:
        out.error(str(exc))
        return EXIT_BAD_INPUT
    except NotApplicable as exc:
        # Not bad input and not a violation: the modelled kernel refuses the layout.
        out.not_applicable(args, str(exc))
        return EXIT_OK
    except KeyboardInterrupt:
        out.error("zonesim: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except WorkerDied as exc:  # the machine's doing (OOM killer, kill -9), not the input's
        out.error(f"zonesim: {exc}")
        return EXIT_INTERNAL
    except Exception:  # a bug of zonesim, not of the input: say so, with the traceback
        import traceback

        traceback.print_exc()
        out.error("zonesim: internal error (exit 3); please report it with the command above")
        return EXIT_INTERNAL
    except BaseExceptionGroup as group:
        # A Ctrl-C that reaches a trio.run outside the engine's batches (which turn it into
        # a flag, zonesim.cli.signals) arrives wrapped in an exception group.
        if group.split(KeyboardInterrupt)[1] is not None:
            raise
        out.error("zonesim: interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
