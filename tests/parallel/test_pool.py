"""The process pool behind --workers: jobs come back whatever order they finish in, a job's
exception reaches the coordinator, a worker that dies is reported instead of waited for
forever (multiprocessing.Pool's hang, which CI hit), and workers do not outlive a
coordinator killed with SIGKILL, even in the middle of a long job (orphaned matrix workers
starved CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from zonesim.parallel import PoolBackend, WorkerDied


def _square(n: int) -> int:
    return n * n


def _fail(n: int) -> int:
    raise ValueError(f"unit {n} failed")


def _die(n: int) -> int:
    os._exit(n)


def _unpicklable(n: int) -> Any:
    return lambda: n


def _drain(pool: PoolBackend, tickets: int, deadline: float = 60.0) -> dict[int, Any]:
    got: dict[int, Any] = {}
    end = time.monotonic() + deadline
    while len(got) < tickets:
        assert time.monotonic() < end, "the pool never answered"
        got.update(pool.wait(0.5))
    return got


def test_every_job_comes_back_once() -> None:
    pool = PoolBackend(2)
    try:
        tickets = {pool.submit(_square, n): n for n in range(40)}
        got = _drain(pool, len(tickets))
    finally:
        pool.close()
    assert got == {t: n * n for t, n in tickets.items()}


def test_a_job_exception_is_raised_by_wait() -> None:
    pool = PoolBackend(2)
    try:
        pool.submit(_fail, 7)
        with pytest.raises(ValueError, match="unit 7 failed"):
            _drain(pool, 1)
    finally:
        pool.close()


def test_an_unpicklable_result_is_an_error_not_a_hang() -> None:
    pool = PoolBackend(2)
    try:
        pool.submit(_unpicklable, 3)
        with pytest.raises(RuntimeError, match="could not be sent back"):
            _drain(pool, 1)
    finally:
        pool.close()


def test_a_dead_worker_is_reported_not_waited_for() -> None:
    pool = PoolBackend(2)
    try:
        pool.submit(_die, 9)
        with pytest.raises(WorkerDied, match="exit code 9"):
            _drain(pool, 1)
    finally:
        pool.close()


def test_busy_workers_die_with_a_coordinator_killed_by_sigkill() -> None:
    script = textwrap.dedent("""
        import sys, time
        from zonesim.parallel import PoolBackend
        pool = PoolBackend(2)
        pool.submit(time.sleep, 600)  # both workers busy with a long job
        pool.submit(time.sleep, 600)
        print(*(w.process.pid for w in pool._workers), flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    pids = [int(x) for x in p.stdout.readline().split()]
    assert len(pids) == 2
    p.send_signal(signal.SIGKILL)
    p.wait()
    end = time.monotonic() + 10  # not the 600 s of the job: they die with it
    alive = pids
    while alive and time.monotonic() < end:
        time.sleep(0.1)
        alive = [pid for pid in pids if _running(pid)]
    assert alive == [], "workers outlived their coordinator"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
