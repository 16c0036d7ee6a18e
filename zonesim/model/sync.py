"""How a lock-held primitive lets the other CPUs in: ``zone->lock`` and lockless windows.

The kernel's lock-held primitives are short, but not atomic to the CPUs that do not take the
lock: while ``__free_one_page`` merges, another CPU's lockless ``PageBuddy()`` scan
(``isolate_single_pageblock``, ``alloc_contig_range``'s outer_start search) can read a buddy
that is already off its list and a merged head that is not yet marked. So the primitives
here are coroutines that await ``zone.sync.window(...)`` right after each write that code
outside the lock reads (and right before each read of state written outside the lock), and
take the nested ``zone->lock`` through ``zone.sync.zone_lock`` where the kernel takes it
inside another section (``free_pcppages_bulk`` and ``rmqueue_bulk`` under the pcp lock).

The model still imports nothing of the scheduler: the engine's kernel (zonesim.ops.Kernel)
provides the real ``ZoneSync``; booting and single-threaded tests use ``SEQUENTIAL`` and
drive a primitive to completion with ``run_sync``. The objects named in windows are the
rows of docs/lockless.md.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TypeVar

from zonesim.model.errors import SimulatorBug

T = TypeVar("T")
P = ParamSpec("P")

# Objects that code outside zone->lock or outside the owner's pcp section touches
# (the key is a pfn, a pageblock number or a CPU index).
PAGE = "page"  # PageBuddy + buddy_order (page_private) of a pfn
PB = "pb"  # the pageblock's migratetype bits
PCP_COUNT = "pcp_count"  # per_cpu_pages.count of a CPU
PCP_HIGH = "pcp_high"  # per_cpu_pages.high and .batch of a CPU


class ZoneSync(Protocol):
    """What a lock-held primitive needs from whoever runs it."""

    @property
    def zone_lock(self) -> AbstractAsyncContextManager[None]:
        """``spin_lock(&zone->lock)`` taken inside another section."""
        ...

    async def window(self, label: str, kind: str, key: int, write: bool) -> None:
        """The running CPU just wrote (``write``) or is about to read object (kind, key)
        that other CPUs access without this section's lock: they may run now."""
        ...


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class SequentialSync:
    """One CPU and nobody else: boot, ``[[setup]]`` carving, direct model tests."""

    zone_lock: AbstractAsyncContextManager[None] = _NoLock()

    async def window(self, label: str, kind: str, key: int, write: bool) -> None:
        return None


SEQUENTIAL = SequentialSync()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a model primitive to completion outside any simulated CPU. With ``SEQUENTIAL``
    nothing ever suspends, so one ``send`` finishes it."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise SimulatorBug("a model primitive suspended outside a simulated CPU (zone.sync is live)")


def sequential(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """A plain-call version of an async model primitive, for single-threaded use (tests,
    benchmarks): ``free_one_page = sequential(__free_one_page)``."""

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(fn(*args, **kwargs))

    call.__name__ = getattr(fn, "__name__", "primitive")
    call.__doc__ = fn.__doc__
    return call
