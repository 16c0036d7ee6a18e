"""One bisect of foreign-undo shared by the tests of this directory (about 10 s of CPU at 24
executions per design; at the scenario's own budget, 300, it takes about 30 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

import zonesim

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
FOREIGN_EXECUTIONS = 24  # still finds v6.17's I5b (at execution 10, in the DFS half)


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> zonesim.api.Bisection:
    return zonesim.bisect(FOREIGN, executions=FOREIGN_EXECUTIONS,
                          artifacts=tmp_path_factory.mktemp("foreign"))
