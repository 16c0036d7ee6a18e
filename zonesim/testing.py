"""A pytest plugin: guard a kernel design with zonesim from your own test suite.

Installed with zonesim (entry point ``pytest11``), it gives every test a ``zonesim``
fixture::

    def test_my_design_passes_cma_b(zonesim):
        zonesim.check("scenarios/seed/cma-b-partial-isolation.toml", policy="proposal",
                      expect="pass")

    async def test_under_trio(zonesim):          # pytest-trio, trio_mode
        await zonesim.acheck(SCENARIO, policy="v5.19", expect="violation:I5a")

``check`` explores a scenario (a file, or TOML text with a ``[scenario]`` table) under a
design with a budget (the scenario's ``[explore]`` hints unless given) and asserts a
verdict: ``"pass"``, ``"violation"``, ``"violation:<invariant>"`` (``I5a`` or its full
name) or ``"n/a"``. When the verdict is wrong the assertion message is the failure report
a kernel developer reads: the invariant, the preemptions, the steps, the CPU-column
diagram and the command that replays the artifact (kept in the test's ``tmp_path``).

``check`` is a plain function too (``from zonesim.testing import check``), for scripts.
The plugin keeps no state between tests and draws nothing from global randomness, so
test order and plugins such as pytest-randomly do not change a verdict.
"""

from __future__ import annotations

import functools
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from zonesim import api
from zonesim.obs.report import failure_report

__all__ = ["ZonesimFixture", "acheck", "check", "zonesim"]


class ZonesimAssertion(AssertionError):
    """The asserted verdict is not what zonesim found (the message is the report)."""


def _scenario_file(scenario: str | os.PathLike[str], workdir: Path) -> Path:
    """A path as given, or inline TOML written to ``<its [scenario] name>.toml`` (the file
    stem must equal the name) in ``workdir``."""
    if isinstance(scenario, str) and "[scenario]" in scenario:
        try:
            name = tomllib.loads(scenario)["scenario"]["name"]
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise api.BadInput(f"inline scenario: expected TOML with [scenario] name: {exc}") \
                from None
        if not isinstance(name, str) or not name or "/" in name:
            raise api.BadInput(f"inline scenario: [scenario] name: expected a file stem, got "
                               f"{name!r}")
        path = workdir / f"{name}.toml"
        path.write_text(scenario, encoding="utf-8")
        return path
    return Path(scenario)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``check`` found (returned when the verdict is the expected one)."""

    verdict: str  # "pass" | "violation" | "n/a"
    invariant: str | None
    report: api.ExploreReport | None


def check(
    scenario: str | os.PathLike[str],
    *,
    policy: str = "v5.15",
    expect: str = "pass",
    executions: int | None = None,
    strategy: str | None = None,
    seed: int = 0,
    preemption_bound: int | None = None,
    seconds: float | None = None,
    artifacts: str | os.PathLike[str] | None = None,
) -> Outcome:
    """Explore ``scenario`` under ``policy`` and assert the verdict ``expect``."""
    __tracebackhide__ = True
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("zonesim.check() runs its own trio loops; inside an async test "
                           "use `await zonesim.acheck(...)`")
    folder = Path(artifacts) if artifacts is not None else Path(
        tempfile.mkdtemp(prefix="zonesim-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = _scenario_file(scenario, folder)
    try:
        report = api.explore(path, strategy, policy=policy, seed=seed, executions=executions,
                             seconds=seconds, preemption_bound=preemption_bound,
                             artifacts=folder)
    except api.NotApplicable as exc:
        if api.verdict_matches(expect, "n/a", None, where=str(path)):
            return Outcome("n/a", None, None)
        raise ZonesimAssertion(f"{path} under {policy}: expected {expect}, got n/a: {exc}") \
            from None
    found = report.violations[0] if report.violations else None
    verdict = "violation" if found else "pass"
    invariant = found.invariant if found else None
    if api.verdict_matches(expect, verdict, invariant, where=str(path)):
        return Outcome(verdict, invariant, report)
    raise ZonesimAssertion(_explain(path, policy, expect, report))


async def acheck(scenario: str | os.PathLike[str], **kwargs: Any) -> Outcome:
    """``check`` for async tests (pytest-trio): the exploration runs in a worker thread,
    since each execution is a ``trio.run`` of its own."""
    return await trio.to_thread.run_sync(functools.partial(check, scenario, **kwargs))


def _explain(path: Path, policy: str, expect: str, report: api.ExploreReport) -> str:
    head = (f"{path} under {policy}: expected {expect}, got "
            f"{'violation ' + report.violations[0].invariant if report.violations else 'pass'}"
            f" ({report.strategy}, seed {report.seed}, {report.executions} executions)")
    if not report.violations:
        return (head + "\nNo violation in the budget: raise executions=, or try "
                "strategy='dfs' with a preemption_bound, to look further.")
    f = report.violations[0]
    cpus = api.cpu_names(api.load(path))
    return head + "\n\n" + failure_report(
        invariant=f.invariant, message=f.message, scenario=str(path), policy=report.policy,
        strategy=report.strategy, seed=report.seed, schedule=f.schedule,
        replay=api.replay_command(f.artifact or "?"), records=f.events, cpus=cpus,
        preemptions=f.preemptions, switches=f.switches)


class ZonesimFixture:
    """``check`` / ``acheck`` with the artifacts kept in the test's ``tmp_path``."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts

    def check(self, scenario: str | os.PathLike[str], **kwargs: Any) -> Outcome:
        __tracebackhide__ = True
        kwargs.setdefault("artifacts", self.artifacts)
        return check(scenario, **kwargs)

    async def acheck(self, scenario: str | os.PathLike[str], **kwargs: Any) -> Outcome:
        __tracebackhide__ = True
        kwargs.setdefault("artifacts", self.artifacts)
        return await acheck(scenario, **kwargs)


@pytest.fixture
def zonesim(tmp_path: Path) -> ZonesimFixture:
    """Explore a scenario under a design and assert the verdict (see zonesim.testing)."""
    return ZonesimFixture(tmp_path / "zonesim-artifacts")
