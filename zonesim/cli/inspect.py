"""``zonesim show`` (/proc views of a zone), ``scenarios``, ``policies``, ``schema``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from zonesim import api
from zonesim.cli.options import SubParsers, add_json, add_policy
from zonesim.cli.output import Output
from zonesim.obs import proc
from zonesim.scenario import json_schema

FORMATS = {
    "buddyinfo": proc.buddyinfo,
    "pagetypeinfo": proc.pagetypeinfo,
    "zoneinfo": proc.zoneinfo,
    "map": proc.pageblock_map,
}


def register(sub: SubParsers) -> None:
    s = sub.add_parser(
        "show", help="/proc views of a fresh zone or of a scenario's zone after [[setup]]",
        description="Print a zone in the v5.15 /proc formats: a scenario's zone after its "
        "[[setup]], or a freshly booted zone of --pages pages.")
    s.add_argument("scenario", nargs="?", metavar="SCENARIO",
                   help="scenario file: its zone after [[setup]] (default: none; then "
                   "--pages is required)")
    s.add_argument("--pages", type=int, metavar="N",
                   help="zone size in pages, without a scenario (default: none)")
    s.add_argument("--start-pfn", type=int, default=0, metavar="PFN",
                   help="first pfn of the zone (default: %(default)s)")
    s.add_argument("--pageblock-order", type=int, default=None, metavar="ORDER",
                   help="pageblock_order (default: min(9, --max-order - 1))")
    s.add_argument("--max-order", type=int, default=11, metavar="N",
                   help="MAX_ORDER, exclusive: orders 0..N-1 exist (default: %(default)s)")
    s.add_argument("--cpus", type=int, default=2, metavar="N",
                   help="CPUs, for the pcp part of zoneinfo (default: %(default)s)")
    s.add_argument("--format", choices=tuple(FORMATS), default="buddyinfo",
                   help="which view (default: %(default)s)")
    add_policy(s)
    add_json(s)
    s.set_defaults(handler=cmd_show)

    sc = sub.add_parser("scenarios", help="list the scenarios under a directory")
    sc.add_argument("dir", nargs="?", type=Path, default=Path("scenarios"), metavar="DIR",
                    help="directory searched recursively for scenario files "
                    "(default: %(default)s)")
    add_json(sc)
    sc.set_defaults(handler=cmd_scenarios)

    po = sub.add_parser("policies", help="list presets and switches")
    add_json(po)
    po.set_defaults(handler=cmd_policies)

    sm = sub.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    add_json(sm)
    sm.set_defaults(handler=cmd_schema)


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    policy = api.resolve_policy(args.policy, args.add, args.remove)
    try:
        snap = api.show(args.scenario, pages=args.pages, start_pfn=args.start_pfn,
                        pageblock_order=args.pageblock_order, max_order=args.max_order,
                        cpus=args.cpus, policy=policy)
    except api.ModelFault as exc:
        if args.json:
            out.json({"scenario": args.scenario, "policy": policy.name,
                      "violation": {"invariant": exc.invariant, "message": str(exc)}})
        else:
            out.text(f"{args.scenario}: the modelled kernel fails while booting or running "
                     f"[[setup]] under {policy.name}: {exc.invariant}: {exc}")
        return 1
    text = FORMATS[args.format](snap)
    if args.json:
        out.json({"format": args.format, "text": text, "zone": _snapshot_json(snap)})
    else:
        out.stdout.write(text)
    return 0


def _snapshot_json(snap: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for f in dataclasses.fields(snap):
        v = getattr(snap, f.name)
        if f.name == "pageblock_types":
            v = [t.name for t in v]
        elif f.name == "pcp":
            v = [dataclasses.asdict(p) for p in v]
        elif isinstance(v, tuple):
            v = json.loads(json.dumps(v))
        doc[f.name] = v
    return doc


def cmd_scenarios(args: argparse.Namespace, out: Output) -> int:
    found = api.scenarios(args.dir)
    if args.json:
        out.json({"scenarios": [{"file": str(f), "name": s.name, "summary": s.summary}
                                for f, s in found]})
    else:
        out.table(["file", "summary"], [[str(f), s.summary] for f, s in found])
    return 0


def cmd_policies(args: argparse.Namespace, out: Output) -> int:
    presets, switches = api.policies()
    if args.json:
        out.json({"presets": [{"name": p.name, "what": p.what, "switches": list(p.switches)}
                              for p in presets],
                  "switches": switches})
        return 0
    out.table(["preset", "what", "switches"],
              [[p.name, p.what, " ".join(p.switches) or "(none)"] for p in presets],
              title="Presets")
    out.text("")
    out.table(["switch", "release", "title", "what the model does differently"],
              [[s["id"], s["version"], s["title"], s["behaviour"] + (
                  f" (builds on {', '.join(s['builds_on'])}: off only with it)"
                  if s["builds_on"] else "")] for s in switches],
              title="Switches")
    return 0


def cmd_schema(args: argparse.Namespace, out: Output) -> int:
    if args.json:
        out.json(json_schema())
    else:
        out.text(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0
