"""pytest plugin of benchmarks/mutation.py: runs the tests most likely to kill a mutant first.

Loaded with ``-p mutation_order`` in the mutant's temp copy; ``ZONESIM_MUTATION_FIRST``
names test folders (comma-separated, relative to the repository), in order. Collected
items under the first folder run first, then the second's, ..., then every other item
in pytest's own order. Nothing is deselected: a mutant that survives has passed the
whole fast suite, as without the plugin; with ``-x`` a mutant the tests of its own
package kill costs only those tests. The sort is stable, so each module's items stay
together and module-scoped fixtures are set up once, as in the usual order.

``ZONESIM_MUTATION_TEST_LIMIT`` (seconds) bounds each test: a test that runs past it
(a mutant that loops forever, e.g. ``pfn += 1`` -> ``pfn -= 1`` in a walk) ends the whole
run with faulthandler's traceback and exit status 1 -- a kill -- instead of holding the
suite until the harness's whole-suite timeout (3x, then 6x the suite's time: 25 minutes
and more per looping mutant). The limit is set far above the slowest fast test.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    first = [f for f in os.environ.get("ZONESIM_MUTATION_FIRST", "").split(",") if f]
    if not first:
        return
    root = Path(config.rootpath)
    folders = [(root / f).resolve() for f in first]

    def rank(item: pytest.Item) -> int:
        path = Path(item.path).resolve()
        for k, folder in enumerate(folders):
            if path.is_relative_to(folder):
                return k
        return len(folders)

    items.sort(key=rank)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    limit = float(os.environ.get("ZONESIM_MUTATION_TEST_LIMIT", "0") or 0)
    if limit > 0:
        faulthandler.dump_traceback_later(limit, exit=True)
    try:
        yield
    finally:
        if limit > 0:
            faulthandler.cancel_dump_traceback_later()
