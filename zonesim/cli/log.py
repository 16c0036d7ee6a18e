"""``zonesim log``: filter a log and print it as lines, JSON lines, a Chrome/Perfetto
trace or ``trace-cmd report``-shaped kmem tracepoints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zonesim import api
from zonesim.cli.options import SubParsers, add_json
from zonesim.cli.output import Output
from zonesim.obs.ftrace import ftrace_lines
from zonesim.obs.logging import render_json_line
from zonesim.obs.perfetto import chrome_trace
from zonesim.obs.report import step_lines

FORMATS = ("text", "jsonl", "perfetto", "ftrace")


def register(sub: SubParsers) -> None:
    lg = sub.add_parser(
        "log", help="filter a log (artifact or JSON lines); export it for Perfetto or diffing "
        "with trace-cmd",
        description="Read an artifact's log or a JSON-lines log (zonesim run --log), keep "
        "the records that pass every filter, and print them. --format perfetto writes Chrome "
        "Trace Event JSON (one track per CPU: ops as slices, model events as instants; lock "
        "holds on a track beside it) for ui.perfetto.dev or chrome://tracing; --format "
        "ftrace writes mm_page_alloc, mm_page_free, mm_page_alloc_zone_locked and "
        "mm_page_pcpu_drain lines as trace-cmd report prints them. For those two formats an "
        "artifact is replayed with observation, to add ops, locks and pcp moves.")
    lg.add_argument("file", type=Path, metavar="FILE", help="artifact (.json) or JSON-lines log")
    lg.add_argument("--cpu", action="append", default=[], metavar="CPU",
                    help="only this CPU, e.g. cpu1; repeatable (default: every CPU)")
    lg.add_argument("--pfn", metavar="START[-END]",
                    help="only records touching these pfns, inclusive, hex or decimal "
                    "(default: every pfn)")
    lg.add_argument("--event", action="append", default=[], metavar="EVENT",
                    help="only this event, e.g. free_pages; repeatable (default: every event)")
    lg.add_argument("--steps", metavar="A-B",
                    help="only scheduler steps A..B, inclusive (default: every step)")
    lg.add_argument("--format", choices=FORMATS, default="text",
                    help="text: readable step lines; jsonl: one JSON object per line; "
                    "perfetto; ftrace (default: %(default)s)")
    lg.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                    help="write to FILE instead of stdout (default: stdout)")
    add_json(lg)
    lg.set_defaults(handler=cmd_log)


def cmd_log(args: argparse.Namespace, out: Output) -> int:
    out.check_file(args.output, "-o")
    log = api.read_log(args.file)
    violation = None
    records = log.records
    if args.format in ("perfetto", "ftrace"):
        records, violation = api.traced_records(log)
    kept = api.select(log, records, cpus=args.cpu, events=args.event, pfn=args.pfn,
                      steps=args.steps)
    if args.format == "perfetto":
        text = json.dumps(chrome_trace(kept, log.cpus, title=str(args.file),
                                       violation=violation), sort_keys=True) + "\n"
    elif args.format == "ftrace":
        text = "".join(line + "\n" for line in ftrace_lines(kept, log.cpus))
    elif args.format == "jsonl":
        text = "".join(render_json_line(r) + "\n" for r in kept)
    elif args.json:
        text = ""
    else:
        text = "".join(line + "\n" for line in step_lines(kept))
    written = args.output is not None and out.write_file(args.output, text, "-o")
    if args.json:
        out.json({"file": str(args.file), "format": args.format, "records": kept,
                  "count": len(kept), "output": str(args.output) if written else None})
    elif args.output is None:
        out.stdout.write(text)
    return 0
