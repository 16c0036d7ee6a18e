"""zonesim.policy: designs as named switches (one per kernel change) and presets."""

from zonesim.policy.policy import Policy, PolicyError, make_policy, parse_policy
from zonesim.policy.presets import PRESETS
from zonesim.policy.switches import BY_ID, SWITCHES, Switch

__all__ = [
    "BY_ID",
    "PRESETS",
    "SWITCHES",
    "Policy",
    "PolicyError",
    "Switch",
    "make_policy",
    "parse_policy",
]
