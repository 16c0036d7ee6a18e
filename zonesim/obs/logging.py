"""structlog, configured in this one module.

Logs are data: one JSON object per model-visible action, keys sorted, no wall clock, so
the same scenario + policy + seed gives a byte-identical log. Each CPU task binds its
``cpu`` through structlog's contextvars (trio gives every task its own context copy).
Nothing is configured globally: each execution gets its own logger writing to its own
sink, so two executions in one process cannot mix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

LOG_KEYS = ("event", "step", "cpu", "op", "pfn", "order", "mt", "from_mt", "to_mt", "result")


class ListSink:
    """A structlog logger that keeps rendered-free event dicts in a list."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def msg(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    info = debug = warning = error = msg


def _keep_dict(_: WrappedLogger, __: str, event_dict: EventDict) -> Any:
    # The final processor hands the dict itself to ListSink.msg (no rendering yet):
    # rendering happens once, when a log is written, with sorted keys.
    return ((dict(event_dict),), {})


def make_logger(sink: ListSink) -> Any:
    """A per-execution structlog logger: contextvars (the CPU) merged, dict kept."""
    return structlog.wrap_logger(
        sink,
        processors=[structlog.contextvars.merge_contextvars, _keep_dict],
        cache_logger_on_first_use=False,
    )


def bind_cpu(name: str) -> None:
    """Bind ``cpu`` for every record the calling task logs (per-task contextvars)."""
    structlog.contextvars.bind_contextvars(cpu=name)


def render_json_line(record: Mapping[str, Any]) -> str:
    """One deterministic JSON line (sorted keys, no whitespace variance)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def write_json_lines(records: Iterable[Mapping[str, Any]], out: TextIO) -> None:
    for r in records:
        out.write(render_json_line(r) + "\n")


def render_console(record: Mapping[str, Any]) -> str:
    """A human line for a TTY: ``step cpu event key=value ...``."""
    rest = " ".join(
        f"{k}={_fmt(v, k)}" for k, v in sorted(record.items()) if k not in ("event", "step", "cpu")
    )
    return (
        f"{record.get('step', ''):>6} {record.get('cpu', ''):<5} {record.get('event', '')} {rest}"
    )


def _fmt(v: Any, key: str) -> str:
    if isinstance(v, int) and key.endswith("pfn"):
        return f"{v:#x}"
    return str(v)


def write_log(records: Iterable[Mapping[str, Any]], out: TextIO | None = None) -> None:
    """JSON lines, or console lines when ``out`` is a TTY."""
    out = out or sys.stdout
    if out.isatty():
        for r in records:
            out.write(render_console(r) + "\n")
    else:
        write_json_lines(records, out)
