"""Chrome Trace Event JSON (the format the Perfetto UI and chrome://tracing open).

Layout: one process for the execution; per CPU one track (thread) with the scenario's ops
as slices and every model event as an instant, and beside it a lock track with the
modelled locks' holds as slices (a lock may be held across two ops, e.g.
pcp_batch_high_lock from zone_pcp_disable to zone_pcp_enable, so holds get their own
track to keep every track's slices properly nested). Time is the record's position in the
log, one microsecond per record (the model has no clock); the scheduler's step is in each
event's args.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PID = 1
LOCK_TID_BASE = 1000  # the lock track of cpuN is thread 1000 + N


def chrome_trace(
    records: Sequence[Mapping[str, Any]],
    cpus: Sequence[str],
    *,
    title: str = "zonesim",
    violation: str | None = None,
) -> dict[str, Any]:
    tid = {c: i for i, c in enumerate(cpus)}
    for r in records:  # a CPU the list does not name still gets a track
        c = str(r.get("cpu", "?"))
        tid.setdefault(c, len(tid))
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": PID, "tid": 0, "args": {"name": title}},
    ]
    for c, t in tid.items():
        events.append({"ph": "M", "name": "thread_name", "pid": PID, "tid": t,
                       "args": {"name": c}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": t,
                       "args": {"sort_index": 2 * t}})
        events.append({"ph": "M", "name": "thread_name", "pid": PID,
                       "tid": LOCK_TID_BASE + t, "args": {"name": f"{c} locks"}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": PID,
                       "tid": LOCK_TID_BASE + t, "args": {"sort_index": 2 * t + 1}})
    end = len(records)
    open_op: dict[str, tuple[int, str]] = {}
    held: dict[tuple[str, str], int] = {}
    last: dict[str, int] = {}

    def close_op(cpu: str, at: int) -> None:
        start, name = open_op.pop(cpu)
        events.append({"ph": "X", "name": name, "cat": "op", "pid": PID, "tid": tid[cpu],
                       "ts": start, "dur": max(1, at - start)})

    for ts, r in enumerate(records):
        cpu = str(r.get("cpu", "?"))
        event = str(r.get("event", "?"))
        last[cpu] = ts
        args = {k: v for k, v in sorted(r.items()) if k not in ("event", "cpu")}
        if event == "op_start":
            if cpu in open_op:
                close_op(cpu, ts)
            open_op[cpu] = (ts, str(r.get("op", "op")))
        elif event == "lock_acquired":
            held[(cpu, str(r.get("lock")))] = ts
        elif event == "lock_released":
            start = held.pop((cpu, str(r.get("lock"))), None)
            if start is not None:
                events.append({"ph": "X", "name": str(r.get("lock")), "cat": "lock",
                               "pid": PID, "tid": LOCK_TID_BASE + tid[cpu], "ts": start,
                               "dur": max(1, ts - start)})
        else:
            events.append({"ph": "i", "s": "t", "name": event, "cat": "model", "pid": PID,
                           "tid": tid[cpu], "ts": ts, "args": args})
    for cpu in sorted(open_op, key=lambda c: tid[c]):
        close_op(cpu, max(end, last.get(cpu, 0) + 1))
    for (cpu, lock), start in sorted(held.items(), key=lambda kv: kv[1]):
        events.append({"ph": "X", "name": f"{lock} (still held)", "cat": "lock", "pid": PID,
                       "tid": LOCK_TID_BASE + tid[cpu], "ts": start,
                       "dur": max(1, end - start)})
    if violation is not None:
        events.append({"ph": "i", "s": "g", "name": f"VIOLATION {violation}",
                       "cat": "violation", "pid": PID, "tid": 0, "ts": end})
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"producer": "zonesim", "time": "one microsecond per record"}}
