"""Where work units run: in this process, in worker processes on this machine, or on an
existing Dask distributed cluster (DESIGN.md §8, §11).

A backend only runs jobs -- ``fn(arg)`` with a module-level ``fn`` and a picklable ``arg``
(a work unit of ``zonesim.units`` or a matrix cell) -- and hands results back in whatever
order they finish. Which results count, and in which order, is the coordinator's business
(``zonesim.coordinator``), so findings never depend on the backend or on timing.

Interrupting (Ctrl-C): the workers ignore SIGINT; the coordinator catches
KeyboardInterrupt, ``close()`` kills the worker processes (or cancels the cluster's
futures) and the coordinator reports what finished.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

ENV_SCHEDULER = "ZONESIM_DASK_SCHEDULER"
Job = Callable[[Any], Any]


class ClusterError(ValueError):
    """``--cluster`` cannot be used: Dask is not installed or no scheduler answers."""


def default_workers() -> int:
    """The cores this process may run on (the default of ``--workers``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cluster_from_env(cluster: str | None) -> str | None:
    """``--cluster`` if given, else ``$ZONESIM_DASK_SCHEDULER`` (empty = none)."""
    return cluster or os.environ.get(ENV_SCHEDULER) or None


class Backend(Protocol):
    #: jobs that run at the same time; the coordinator keeps about twice that in flight
    slots: int
    #: True when jobs run in this process (they may then share the caller's engine)
    local: bool

    def submit(self, fn: Job, arg: Any) -> int:
        """Queue ``fn(arg)``; returns a ticket."""
        ...

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        """Finished jobs as (ticket, result); [] after ``timeout`` seconds. A job's
        exception is raised here."""
        ...

    def close(self) -> None:
        """Stop every worker; jobs not finished are dropped."""
        ...


class InlineBackend:
    """Runs each job in this process when the coordinator waits for it (``--workers 1``)."""

    slots = 1
    local = True

    def __init__(self) -> None:
        self._queue: deque[tuple[int, Job, Any]] = deque()
        self._tickets = itertools.count()

    def submit(self, fn: Job, arg: Any) -> int:
        t = next(self._tickets)
        self._queue.append((t, fn, arg))
        return t

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        if not self._queue:
            return []
        t, fn, arg = self._queue.popleft()
        return [(t, fn(arg))]

    def close(self) -> None:
        self._queue.clear()


class WorkerDied(RuntimeError):
    """A worker process ended while it ran a work unit (killed, out of memory): the run
    cannot say what that unit found, so it stops rather than wait for it forever."""


def _die_with_parent(coordinator: int | None) -> None:
    """Linux: SIGKILL this worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so
    that a coordinator killed with SIGKILL leaves no worker behind running the rest of a
    long job (a matrix cell of 100000 executions ran on as an orphan for minutes, and
    starved every test after it). ``coordinator``: its pid when forked from it (a parent
    that died before the prctl took effect); None under forkserver/spawn, whose parent is
    the fork server, which exits with the coordinator."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker stops at its next job (EOF)
        return
    if coordinator is not None and os.getppid() != coordinator:
        os._exit(0)


_PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h


def _worker_main(conn: Connection, inherited: Connection | None,
                 coordinator: int | None) -> None:
    """A worker: run ``fn(arg)`` for each job the coordinator sends until it sends None or
    goes away (EOF), and send back ``(True, result)`` or ``(False, exception)``."""
    # Ctrl-C reaches the whole process group; only the coordinator handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(coordinator)
    if inherited is not None:  # fork: our copy of the coordinator's end, so that EOF comes
        inherited.close()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, arg = job
        try:
            reply: tuple[bool, Any] = (True, fn(arg))
        except BaseException as exc:  # handed to the coordinator, which raises it
            reply = (False, exc)
        try:
            payload = pickle.dumps(reply)
        except Exception as exc:  # an unpicklable result or exception: say what it was
            payload = pickle.dumps((False, RuntimeError(
                f"work unit {getattr(fn, '__name__', fn)!s}: its result could not be sent "
                f"back ({type(exc).__name__}: {exc}); the unit answered {reply[1]!r:.200}")))
        try:
            conn.send_bytes(payload)
        except (BrokenPipeError, OSError):
            return


#: what a worker runs: the work units and the matrix cells (and what they import)
_PRELOAD = ("zonesim.units", "zonesim.matrix")


class _Worker:
    __slots__ = ("conn", "process")

    def __init__(self, conn: Connection, process: BaseProcess) -> None:
        self.conn = conn
        self.process = process


class PoolBackend:
    """``workers`` processes on this machine, each with a pipe of its own to the
    coordinator. Each keeps its booted engines between jobs.

    Not ``multiprocessing.Pool``: its workers share one queue guarded by a semaphore, and
    a worker killed while holding it (or a job lost with a dead worker) leaves the pool
    waiting forever -- the hang CI saw. Here the coordinator hands each job to an idle
    worker itself, notices a dead worker (EOF on its pipe) and raises :class:`WorkerDied`,
    and runs no helper thread (so forking stays safe). A worker whose coordinator is gone
    (SIGKILL) reads EOF and exits instead of lingering as an orphan.

    Started with fork where there is one and the caller has no other thread: a worker
    starts at once with zonesim already imported, and the caller's ``__main__`` is not
    re-run (spawn and forkserver re-import it, which a user's script without an
    ``if __name__ == "__main__"`` guard does not survive). A caller with threads (a Dask
    client, say) gets forkserver: forking a threaded process can copy a lock another
    thread holds."""

    local = False

    def __init__(self, workers: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods and threading.active_count() == 1:
            method = "fork"
        else:
            method = "forkserver" if "forkserver" in methods else "spawn"
        ctx: Any = multiprocessing.get_context(method)  # typeshed: BaseContext
        if method == "forkserver":
            # The fork server imports zonesim once and every worker is forked from it
            # with zonesim imported: otherwise each worker of each pool imports it again
            # (0.6 s of CPU apiece, most of a short exploration). The server outlives the
            # pool, so later pools of this process start at fork speed. Only the first
            # start reads the preload list.
            ctx.set_forkserver_preload(list(_PRELOAD))
        self.slots = workers
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._busy: dict[Connection, tuple[int, _Worker]] = {}
        self._pending: deque[tuple[int, Job, Any]] = deque()
        self._tickets = itertools.count()
        try:
            for _ in range(workers):
                mine, theirs = ctx.Pipe(duplex=True)
                forked = method == "fork"
                p = ctx.Process(target=_worker_main,
                                args=(theirs, mine if forked else None,
                                      os.getpid() if forked else None),
                                daemon=True)
                p.start()
                theirs.close()
                w = _Worker(mine, p)
                self._workers.append(w)
                self._idle.append(w)
        except BaseException:
            self.close()
            raise

    def submit(self, fn: Job, arg: Any) -> int:
        t = next(self._tickets)
        self._pending.append((t, fn, arg))
        self._dispatch()
        return t

    def _dispatch(self) -> None:
        while self._pending and self._idle:
            w = self._idle.popleft()
            t, fn, arg = self._pending.popleft()
            try:
                w.conn.send((fn, arg))
            except (BrokenPipeError, OSError):
                raise self._died(w) from None
            self._busy[w.conn] = (t, w)

    def _died(self, w: _Worker) -> WorkerDied:
        w.process.join(1.0)
        code = w.process.exitcode
        how = (f"killed by signal {-code}" if code is not None and code < 0
               else f"exit code {code}")
        return WorkerDied(f"worker process {w.process.pid} died ({how}) while running a "
                          "work unit; the run stops (out of memory?)")

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        if not self._busy:
            return []
        done: list[tuple[int, Any]] = []
        for conn in mp_connection.wait(list(self._busy), timeout):
            assert isinstance(conn, Connection)
            t, w = self._busy.pop(conn)
            try:
                ok, value = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                raise self._died(w) from None
            self._idle.append(w)
            if not ok:
                raise value
            done.append((t, value))
        self._dispatch()
        return done

    def close(self) -> None:
        self._pending.clear()
        for w in self._workers:
            if w.process.is_alive():
                if w in self._idle:
                    with contextlib.suppress(BrokenPipeError, OSError):
                        w.conn.send(None)
                else:
                    w.process.terminate()
        for w in self._workers:
            w.process.join(2.0)
            if w.process.is_alive():  # stuck: SIGKILL is the last word
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers.clear()
        self._idle.clear()
        self._busy.clear()


class DaskBackend:
    """Jobs as futures of an existing Dask distributed scheduler. The workers need zonesim
    installed (``pip install 'zonesim[dask]'``); run them with one thread each
    (``dask worker ADDRESS --nthreads 1``): an execution is pure Python and holds the GIL."""

    local = False

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        try:
            from distributed import Client as _Client
        except ImportError:
            raise ClusterError(
                f"--cluster {address}: Dask distributed is not installed; "
                "expected `pip install 'zonesim[dask]'`"
            ) from None
        client: Any = _Client  # distributed has no type hints
        try:
            self._client: Any = client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"--cluster {address}: expected a Dask scheduler there, none answered within "
                f"{timeout:g} s ({type(exc).__name__})"
            ) from None
        self.slots = max(1, sum(self._client.nthreads().values()))
        self._futures: dict[int, Any] = {}
        self._tickets = itertools.count()

    def submit(self, fn: Job, arg: Any) -> int:
        t = next(self._tickets)
        self._futures[t] = self._client.submit(fn, arg, pure=False)
        return t

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        # Futures are polled: distributed.wait() needs a default client, and this one is
        # not made the default (a user's own client stays theirs).
        end = time.monotonic() + timeout
        while self._futures:
            done = [t for t, f in self._futures.items() if f.done()]
            if done:
                return [(t, self._futures.pop(t).result()) for t in done]
            if time.monotonic() >= end:
                break
            time.sleep(0.005)
        return []

    def close(self) -> None:
        if self._futures:
            self._client.cancel(list(self._futures.values()))
            self._futures.clear()
        self._client.close()


def open_backend(workers: int, cluster: str | None = None) -> Backend:
    """A Dask backend for ``cluster``, else a pool of ``workers`` processes, else (one
    worker) this process."""
    if cluster:
        return DaskBackend(cluster)
    if workers > 1:
        return PoolBackend(workers)
    return InlineBackend()
