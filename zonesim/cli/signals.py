"""Ctrl-C and SIGTERM during ``explore`` and ``matrix``: stop cleanly, keep what finished.

The first SIGINT or SIGTERM only asks to stop (``requested``); the exploration notices it
between two executions (``check``, called from the progress callback, outside trio), so
no execution is cut in half, the report covers every execution that finished, and every
artifact already written stays (they are written atomically). The command then prints
its summary (text or ``--json``, with ``interrupted``) and exits 130.

A KeyboardInterrupt raised inside ``trio.run`` would reach us wrapped in an exception
group, around the scheduler's baton passing; that is why the handler does not raise. A
second signal means "now": the previous handlers come back and a KeyboardInterrupt is
raised where the program is (``main`` still exits 130, without the summary).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_INTERRUPTED = 130  # for SIGTERM too: "stopped on request, summary printed"


class StopRequests:
    """A context manager: while inside, SIGINT/SIGTERM ask the work to stop."""

    def __init__(self) -> None:
        self.requested: int | None = None  # the signal that asked
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        self._saved.clear()

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:
            self._restore()
            raise KeyboardInterrupt
        self.requested = signum

    def check(self) -> None:
        """Between two executions: stop now if a signal asked for it."""
        if self.requested is not None:
            raise KeyboardInterrupt

    @property
    def name(self) -> str:
        return signal.Signals(self.requested).name if self.requested is not None else ""
