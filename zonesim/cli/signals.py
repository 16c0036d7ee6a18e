"""SIGTERM during ``explore`` and ``matrix`` does what Ctrl-C does.

Ctrl-C is handled where the work is (zonesim.engine.run_batch routes SIGINT to a flag that
ends the batch after the execution in progress -- a KeyboardInterrupt raised inside
``trio.run`` would arrive wrapped in an exception group, in the middle of the baton
passing; zonesim.coordinator stops the workers; explore and the matrix return what
finished, ``interrupted``). The command then prints its summary (text or ``--json``),
keeps every artifact written so far (they are written atomically) and exits 130.

A SIGTERM (a CI job cancelled, ``timeout``, a container stopping) is passed to whatever
handles SIGINT at that moment, so it stops the run the same way, and remembered so that
the line on stderr names it.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class StopRequests:
    """A context manager: while inside, SIGTERM is delivered as SIGINT."""

    def __init__(self) -> None:
        self.requested: int | None = None  # SIGTERM once one arrived
        self._saved: Any = None
        self._installed = False
        self._pid = 0

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._pid = os.getpid()
            self._saved = signal.signal(signal.SIGTERM, self._on_term)
            self._installed = True
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._saved)
            self._installed = False

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:
            # a worker process forked while we were inside (the pool ends its workers
            # with SIGTERM): die the default way, quietly
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.requested = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)  # the batch's flag, or KeyboardInterrupt
        else:
            raise KeyboardInterrupt

    @property
    def name(self) -> str:
        """The signal that stopped the run (SIGINT unless a SIGTERM came)."""
        return "SIGTERM" if self.requested == signal.SIGTERM else "SIGINT"
