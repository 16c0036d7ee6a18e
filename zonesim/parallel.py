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

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
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


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; only the coordinator handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PoolBackend:
    """``workers`` processes on this machine. Each keeps its booted engines between jobs.

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
        ctx = multiprocessing.get_context(method)
        self.slots = workers
        self._pool = ctx.Pool(workers, initializer=_ignore_sigint)
        self._done: queue.SimpleQueue[tuple[int, Any, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self._tickets = itertools.count()

    def submit(self, fn: Job, arg: Any) -> int:
        t = next(self._tickets)
        self._pool.apply_async(fn, (arg,), callback=partial(self._ok, t),
                               error_callback=partial(self._failed, t))
        return t

    def _ok(self, t: int, result: Any) -> None:
        self._done.put((t, result, None))

    def _failed(self, t: int, exc: BaseException) -> None:
        self._done.put((t, None, exc))

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        try:
            items = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._done.get_nowait())
            except queue.Empty:
                break
        for _, _, exc in items:
            if exc is not None:
                raise exc
        return [(t, r) for t, r, _ in items]

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


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
