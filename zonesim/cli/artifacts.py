"""``zonesim replay``, ``shrink`` and ``report``: the commands that read an artifact."""

from __future__ import annotations

import argparse
from pathlib import Path

from zonesim import api
from zonesim.cli.options import SubParsers, add_json
from zonesim.cli.output import Output
from zonesim.obs.report import failure_report


def register(sub: SubParsers) -> None:
    rp = sub.add_parser(
        "replay", help="replay a failure artifact",
        description="Replay an artifact's schedule with its embedded scenario and design; "
        "prints the failure report (steps, CPU columns, replay command) and verifies it: "
        "exit 0 when the same invariant fails with the recorded trace_hash, 1 when not "
        "(saying which differs), 2 for a damaged artifact (its schedule does not carry the "
        "fingerprint of its scenario, policy and model, or its scenario does not follow it).")
    rp.add_argument("artifact", type=Path, metavar="ARTIFACT",
                    help="artifact file (logs/*.json) written by explore or matrix")
    add_json(rp)
    rp.set_defaults(handler=cmd_replay)

    sh = sub.add_parser("shrink", help="shrink an artifact's schedule further (rewrites it)",
                        description="Verify an artifact as replay does, shrink its schedule "
                        "further and rewrite the artifact atomically (same invariant, fewer "
                        "preemptions). Exit 0 when shrunk or already minimal (then the file is "
                        "left as it is), 1 when the artifact does not reproduce, 2 for a "
                        "damaged artifact.")
    sh.add_argument("artifact", type=Path, metavar="ARTIFACT", help="artifact file to shrink")
    sh.add_argument("--attempts", type=int, default=1000, metavar="N",
                    help="candidate schedules to try at most, 1..1048576 (default: "
                    "%(default)s)")
    add_json(sh)
    sh.set_defaults(handler=cmd_shrink)

    rep = sub.add_parser(
        "report", help="a failure as one self-contained HTML page",
        description="Replay an artifact and write one HTML file that needs no network: the "
        "CPU columns side by side, a step slider, and the zone map at each step "
        "(pageblocks by migratetype, isolated ones hatched, free blocks by order and list, "
        "pcp-held pages, the invariant's pageblock outlined), with the invariant, the "
        "design, the preemptions and the replay command.")
    rep.add_argument("artifact", type=Path, metavar="ARTIFACT", help="artifact file")
    rep.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                     help="the HTML file to write (default: ARTIFACT with .html)")
    add_json(rep)
    rep.set_defaults(handler=cmd_report)


def cmd_replay(args: argparse.Namespace, out: Output) -> int:
    result = api.replay(args.artifact)
    a = result.artifact
    if args.json:
        out.json(result.to_json())
    else:
        v = result.outcome.violation
        if v is not None:
            out.text(failure_report(
                invariant=v.invariant, message=v.message, scenario=a.scenario_path,
                policy=a.policy_spec, strategy=str(a.doc["strategy"]), seed=a.doc["seed"],
                schedule=a.schedule, replay=api.replay_command(str(args.artifact)),
                records=result.outcome.events, cpus=result.cpus,
                preemptions=None, switches=result.switches))
        if result.divergence is not None:
            out.text(f"note: {result.divergence}")
        out.text(result.explain())
    return 0 if result.reproduced else 1


def cmd_shrink(args: argparse.Namespace, out: Output) -> int:
    out.check_file(args.artifact, "ARTIFACT")
    result = api.shrink(args.artifact, args.attempts, write=False)
    if result.document is not None:
        out.write_file(args.artifact, result.document, "ARTIFACT")
    if args.json:
        out.json(result.to_json())
    elif not result.replay.reproduced:
        out.text(f"{args.artifact}: {result.replay.explain()}; nothing to shrink (run "
                 "`zonesim replay` for the report)")
    elif result.changed:
        (p0, d0), (p1, d1) = result.before, result.after
        out.text(f"shrunk {p0} preemptions / {d0} decisions -> {p1} / {d1}; "
                 f"{args.artifact} rewritten")
    else:
        p, d = result.after
        out.text(f"already minimal: {p} preemptions / {d} decisions; {args.artifact} "
                 "unchanged")
    return 0 if result.replay.reproduced else 1


def cmd_report(args: argparse.Namespace, out: Output) -> int:
    target: Path = args.output or args.artifact.with_suffix(".html")
    out.check_file(target, "-o")
    page = api.report(args.artifact)
    written = out.write_file(target, page, "-o")
    if args.json:
        out.json({"artifact": str(args.artifact), "output": str(target) if written else None,
                  "bytes": len(page.encode("utf-8"))})
    elif written:
        out.text(f"wrote {target} ({len(page.encode('utf-8')) // 1024} KiB); open it in a "
                 "browser")
    return 0
