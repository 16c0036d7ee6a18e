"""Reading and filtering logs: an artifact's embedded log or a JSON-lines file (DESIGN.md
§9). A filter that names a CPU or an event the log cannot contain is bad input, not an
empty answer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zonesim.artifact import Artifact, validate
from zonesim.engine import cpu_names
from zonesim.errors import BadInput
from zonesim.files import read_text
from zonesim.obs.events import ALL_EVENTS


@dataclass(slots=True)
class LogFile:
    path: Path
    records: list[dict[str, Any]]
    artifact: Artifact | None
    cpus: list[str]  # the scenario's CPUs for an artifact, else the ones the log names


def _cpu_key(name: str) -> tuple[int, str]:
    m = re.fullmatch(r"cpu(\d+)", name)
    return (int(m.group(1)), "") if m else (1 << 30, name)


def read_log(path: str | Path) -> LogFile:
    p = Path(path)
    text = read_text(p, "log")
    try:
        whole = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        whole = None
    if isinstance(whole, dict) and "format" in whole:
        a = validate(p, whole)
        try:
            cpus = cpu_names(a.scenario())
        except Exception:  # a damaged embedded scenario: the log can still be read
            cpus = []
        return LogFile(p, a.log, a, _merge_cpus(cpus, a.log))
    records: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise BadInput(f"{p}:{n}: expected one JSON object per line") from None
        if not isinstance(rec, dict):
            raise BadInput(f"{p}:{n}: expected a JSON object, got {type(rec).__name__}")
        records.append(rec)
    return LogFile(p, records, None, _merge_cpus([], records))


def _merge_cpus(known: list[str], records: Sequence[Mapping[str, Any]]) -> list[str]:
    seen = {str(r["cpu"]) for r in records if "cpu" in r}
    return sorted(set(known) | seen, key=_cpu_key)


def parse_span(text: str | None, where: str) -> tuple[int, int] | None:
    """``START`` or ``START-END`` (inclusive), decimal or 0x hex."""
    if text is None:
        return None
    a, sep, b = text.partition("-")
    lo = _int(a, where)
    hi = _int(b, where) if sep else lo
    if hi < lo:
        raise BadInput(f"{where}: expected START-END with START <= END, got {text!r}")
    return lo, hi


def _int(text: str, where: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise BadInput(f"{where}: expected an integer (decimal or 0x hex), got {text!r}") \
            from None


def touches(r: Mapping[str, Any], lo: int, hi: int) -> bool:
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


def select(
    log: LogFile,
    records: Sequence[dict[str, Any]],
    *,
    cpus: Sequence[str] = (),
    events: Sequence[str] = (),
    pfn: str | None = None,
    steps: str | None = None,
) -> list[dict[str, Any]]:
    """The records that pass every filter. CPUs must be the log's, events zonesim's (or
    ones the log itself has)."""
    for c in cpus:
        if c not in log.cpus:
            raise BadInput(f"--cpu {c}: expected one of {', '.join(log.cpus) or '(none)'} "
                           f"(the CPUs of {log.path})")
    present = {str(r.get("event")) for r in records}
    for e in events:
        if e not in ALL_EVENTS and e not in present:
            raise BadInput(f"--event {e}: expected an event zonesim logs, one of "
                           f"{', '.join(sorted(ALL_EVENTS))}")
    pfns = parse_span(pfn, "--pfn")
    span = parse_span(steps, "--steps")

    def keep(r: Mapping[str, Any]) -> bool:
        if cpus and r.get("cpu") not in cpus:
            return False
        if events and r.get("event") not in events:
            return False
        if span and not (isinstance(r.get("step"), int) and span[0] <= r["step"] <= span[1]):
            return False
        return pfns is None or touches(r, pfns[0], pfns[1])

    return [r for r in records if keep(r)]
