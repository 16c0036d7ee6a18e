"""The taps' switchboard (zonesim.model.tap): where tapped containers and declared
counter reads report, importable by zone.py itself (tap.py imports Zone)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Obj = tuple[str, int | str | None]
Report = Callable[[Obj], None]


class Tap:
    """Where the containers report: ``read``/``write``/``add`` of an object, or None."""

    __slots__ = ("add", "read", "write")

    def __init__(self) -> None:
        self.read: Report | None = None
        self.write: Report | None = None
        self.add: Report | None = None


TAP = Tap()

NR_FREE_PAGES_OBJ: Obj = ("ctr", "NR_FREE_PAGES")
NR_FREE_CMA_PAGES_OBJ: Obj = ("ctr", "NR_FREE_CMA_PAGES")
NR_ISOLATE_PAGEBLOCK_OBJ: Obj = ("ctr", "nr_isolate_pageblock")


def tap_read(obj: Obj) -> None:
    """A declared read of a counter that only changes by adds (module doc)."""
    fn = TAP.read
    if fn is not None:
        fn(obj)


@contextmanager
def paused() -> Iterator[None]:
    """Reads and writes made inside are not the running step's (a check, the probe)."""
    saved = TAP.read, TAP.write, TAP.add
    TAP.read = TAP.write = TAP.add = None
    try:
        yield
    finally:
        TAP.read, TAP.write, TAP.add = saved
