"""``zonesim replay``, ``shrink`` and ``log``: the commands that read what an exploration
wrote (artifacts, JSON-lines logs). Part of the cli layer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from zonesim.clicmds import BadInput, _check_fingerprint, _decode, load
from zonesim.engine import Engine, cpu_names
from zonesim.explore import ARTIFACT_FORMAT, atomic_write_text, replay_command, shrink_outcome
from zonesim.obs.logging import write_log
from zonesim.obs.report import failure_report, preemption_lines
from zonesim.policy import PolicyError
from zonesim.sched import ReplayMismatch, ReplayStrategy, preemptions

# -- artifacts: replay, shrink -------------------------------------------------------


def read_artifact(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: no such artifact file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read artifact: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path}: expected a JSON artifact, got invalid JSON at line "
            f"{exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != ARTIFACT_FORMAT:
        raise BadInput(f"{path}: format: expected {ARTIFACT_FORMAT!r}, got {doc.get('format')!r}")
    for key, typ in (
        ("scenario", str),
        ("policy", str),
        ("schedule", str),
        ("strategy", str),
        ("seed", int),
        ("violation", dict),
    ):
        if not isinstance(doc.get(key), typ):
            raise BadInput(f"{path}: {key}: expected a {typ.__name__}, got {doc.get(key)!r}")
    if not isinstance(doc["violation"].get("invariant"), str):
        raise BadInput(f"{path}: violation.invariant: expected a string")
    return doc






def _artifact_engine(path: Path, doc: dict[str, Any]) -> Engine:
    from zonesim.policy import parse_policy

    try:
        policy = parse_policy(doc["policy"])
    except PolicyError as exc:
        raise BadInput(f"{path}: policy: {exc}") from None
    return Engine(load(doc["scenario"]), policy)


def cmd_replay(args: argparse.Namespace) -> int:
    doc = read_artifact(args.artifact)
    engine = _artifact_engine(args.artifact, doc)
    fp, values = _decode(doc["schedule"], f"{args.artifact}: schedule")
    _check_fingerprint(fp, engine, f"{args.artifact}: schedule")
    want = doc["violation"]["invariant"]
    outcome = engine.run(ReplayStrategy(values), tracing=True)
    if isinstance(outcome.error, ReplayMismatch):
        raise BadInput(f"{args.artifact}: schedule: expected a schedule this scenario follows; "
                       f"{outcome.error}")
    v = outcome.violation
    reproduced = v is not None and v.invariant == want
    if args.json:
        print(
            json.dumps(
                {
                    "reproduced": reproduced,
                    "invariant": v.invariant if v else None,
                    "trace_hash": outcome.trace_hash,
                },
                sort_keys=True,
            )
        )
    else:
        if v is not None:
            print(
                failure_report(
                    invariant=v.invariant,
                    message=v.message,
                    scenario=doc["scenario"],
                    policy=doc["policy"],
                    strategy=doc["strategy"],
                    seed=doc["seed"],
                    schedule=doc["schedule"],
                    replay=replay_command(str(args.artifact)),
                    records=outcome.events,
                    cpus=cpu_names(engine.scenario),
                    preemptions=preemptions(outcome.choices),
                    switches=preemption_lines(outcome.choices),
                )
            )
        print(
            ("reproduced " if reproduced else "NOT reproduced: expected ")
            + want
            + f"; trace_hash {outcome.trace_hash}"
        )
    return 1 if reproduced else 0


def cmd_shrink(args: argparse.Namespace) -> int:
    from zonesim.sched import encode

    doc = read_artifact(args.artifact)
    engine = _artifact_engine(args.artifact, doc)
    fp, values = _decode(doc["schedule"], f"{args.artifact}: schedule")
    _check_fingerprint(fp, engine, f"{args.artifact}: schedule")
    outcome = engine.run(ReplayStrategy(values))
    if outcome.violation is None or outcome.violation.invariant != doc["violation"]["invariant"]:
        raise BadInput(
            f"{args.artifact}: schedule: expected it to reproduce "
            f"{doc['violation']['invariant']}; it does not (run `zonesim replay`)"
        )
    before = (preemptions(outcome.choices), len(outcome.choices))
    small = shrink_outcome(engine, outcome, args.attempts)
    traced = engine.run(ReplayStrategy(small.choices), tracing=True)
    after = (preemptions(traced.choices), len(traced.choices))
    doc["schedule"] = encode(traced.choices, engine.fingerprint)
    doc["trace_hash"] = traced.trace_hash
    doc["log"] = traced.events
    atomic_write_text(args.artifact, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(
            json.dumps(
                {
                    "before": {"preemptions": before[0], "decisions": before[1]},
                    "after": {"preemptions": after[0], "decisions": after[1]},
                    "schedule": doc["schedule"],
                },
                sort_keys=True,
            )
        )
    else:
        print(
            f"shrunk {before[0]} preemptions / {before[1]} decisions -> "
            f"{after[0]} / {after[1]}; {args.artifact} rewritten"
        )
    return 1


# -- log -----------------------------------------------------------------------------


def _int(text: str, where: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise BadInput(f"{where}: expected an integer (decimal or 0x hex), got {text!r}") from None


def _span(text: str | None, where: str) -> tuple[int, int] | None:
    if text is None:
        return None
    a, sep, b = text.partition("-")
    lo = _int(a, where)
    hi = _int(b, where) if sep else lo
    if hi < lo:
        raise BadInput(f"{where}: expected START-END with START <= END, got {text!r}")
    return lo, hi


def _touches(r: dict[str, Any], lo: int, hi: int) -> bool:
    """Does the record's pfn span meet [lo, hi]? A record spans [pfn, end_pfn) when it has
    an end_pfn, [pfn, pfn + 2^order) when it has an order, [pfn, pfn + count) with a count;
    other *pfn keys (to_pfn, merged_pfn, ...) are single pfns."""
    spans: list[tuple[int, int]] = []
    pfn = r.get("pfn")
    if isinstance(pfn, int):
        if isinstance(r.get("end_pfn"), int):
            spans.append((pfn, r["end_pfn"] - 1))
        elif isinstance(r.get("order"), int):
            spans.append((pfn, pfn + (1 << r["order"]) - 1))
        elif isinstance(r.get("count"), int):
            spans.append((pfn, pfn + r["count"] - 1))
        else:
            spans.append((pfn, pfn))
    for key, v in r.items():
        # *end_pfn keys are exclusive ends of a span, not pfns the record touches
        if key != "pfn" and key.endswith("pfn") and not key.endswith("end_pfn") \
                and isinstance(v, int):
            spans.append((v, v))
    return any(a <= hi and lo <= b for a, b in spans)


def cmd_log(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read log: {exc.strerror}") from None
    records: list[dict[str, Any]]
    stripped = text.lstrip()
    if stripped.startswith("{") and '"format"' in stripped[:200]:
        records = read_artifact(path).get("log", [])
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise BadInput(f"{path}:{n}: expected one JSON object per line") from None
            if not isinstance(rec, dict):
                raise BadInput(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
            records.append(rec)
    pfns = _span(args.pfn, "--pfn")
    steps = _span(args.steps, "--steps")

    def keep(r: dict[str, Any]) -> bool:
        if args.cpu and r.get("cpu") not in args.cpu:
            return False
        if args.event and r.get("event") not in args.event:
            return False
        if steps and not (isinstance(r.get("step"), int) and steps[0] <= r["step"] <= steps[1]):
            return False
        return pfns is None or _touches(r, pfns[0], pfns[1])

    write_log([r for r in records if keep(r)])
    return 0
