"""The ``zonesim`` command (DESIGN.md §8): argument parsing and rendering only.

Each command group is one module (``run`` and ``explore``; ``replay``, ``shrink`` and
``report``; ``matrix``; ``log``; ``show`` and the listings). Everything they compute comes
from ``zonesim.api``; everything they print comes from ``zonesim.obs`` or ``output.py``.
Errors, exit codes and the files a command writes are handled in one place: ``app.py``
and ``output.py``.
"""

from zonesim.cli.app import main

__all__ = ["main"]
