"""zonesim: a deterministic race explorer for the Linux page allocator.

The public API, curated here (implementation lives in the layer modules):

    from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
    engine = Engine(load_scenario("s.toml"), parse_policy("v5.15"))
    report = explore(engine, StrategyConfig("pct", seed=7), executions=200)
"""

from zonesim.check.registry import InvariantViolation, Violation, check_zone
from zonesim.engine import MODEL_VERSION, Engine, Outcome
from zonesim.explore import ExploreReport, StrategyConfig, explore
from zonesim.model.boot import PfnRange, ZoneLayout, build_zone
from zonesim.model.geometry import Geometry
from zonesim.model.types import MigrateType
from zonesim.policy import Policy, PolicyError, make_policy, parse_policy
from zonesim.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = [
    "MODEL_VERSION",
    "Engine",
    "ExploreReport",
    "Geometry",
    "InvariantViolation",
    "MigrateType",
    "Outcome",
    "PfnRange",
    "Policy",
    "PolicyError",
    "Scenario",
    "ScenarioError",
    "StrategyConfig",
    "Violation",
    "ZoneLayout",
    "__version__",
    "build_zone",
    "check_zone",
    "explore",
    "load_scenario",
    "make_policy",
    "parse_policy",
]
