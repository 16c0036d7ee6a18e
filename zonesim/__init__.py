"""zonesim: a deterministic race explorer for the Linux page allocator.

The public API, curated here (implementation lives in the layer modules; ``zonesim.api``
documents each function):

    import zonesim
    report = zonesim.explore("scenarios/seed/cma-b-partial-isolation.toml",
                             policy="v5.19", strategy="dfs", executions=200)
    for found in report.violations:
        print(found.invariant, zonesim.replay(found.artifact).reproduced)
        open("failure.html", "w").write(zonesim.report(found.artifact))

Below the commands: ``Engine`` runs one execution of a ``Scenario`` under a ``Policy``;
``explore`` also takes an ``Engine`` and a ``StrategyConfig``.
"""

from zonesim.api import (
    BadInput,
    NotApplicable,
    ReplayResult,
    RunResult,
    ShrinkResult,
    __version__,
    bisect,
    explore,
    matrix,
    observe,
    replay,
    report,
    run,
    show,
    shrink,
)
from zonesim.check.registry import InvariantViolation, Violation, check_zone
from zonesim.engine import MODEL_VERSION, Engine, Outcome
from zonesim.explore import ExploreReport, StrategyConfig
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.geometry import Geometry
from zonesim.model.types import MigrateType
from zonesim.policy import Policy, PolicyError, make_policy, parse_policy
from zonesim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "MODEL_VERSION",
    "BadInput",
    "Engine",
    "ExploreReport",
    "Geometry",
    "InvariantViolation",
    "MigrateType",
    "NotApplicable",
    "Outcome",
    "PfnRange",
    "Policy",
    "PolicyError",
    "ReplayResult",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ShrinkResult",
    "StrategyConfig",
    "Violation",
    "ZoneLayout",
    "__version__",
    "bisect",
    "build_zone",
    "check_zone",
    "explore",
    "load_scenario",
    "make_policy",
    "matrix",
    "observe",
    "parse_policy",
    "replay",
    "report",
    "run",
    "show",
    "shrink",
]
