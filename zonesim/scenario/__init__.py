"""Scenario files: TOML -> a frozen, validated :class:`Scenario` (DESIGN.md §6).

Every problem in a file is a one-line :class:`ScenarioError` naming the file, the key path
and what was expected. The format is declared once (``tables.py``); the validator and
:func:`json_schema` are both derived from that declaration.
"""

from zonesim.scenario.document import (
    CmaArea,
    CpuProgram,
    Expectation,
    ExpectEntry,
    ExploreHints,
    PageblockInit,
    PfnRange,
    PolicySpec,
    Scenario,
    Zone,
)
from zonesim.scenario.errors import ScenarioError
from zonesim.scenario.fingerprint import scenario_fingerprint
from zonesim.scenario.ops import (
    Alloc,
    AllocContigRange,
    Choose,
    ChooseOption,
    CmaAlloc,
    CmaRelease,
    DrainAllPages,
    DrainLocalPages,
    Free,
    FreeContigRange,
    Isolate,
    Migrate,
    OfflinePages,
    OnlinePages,
    Op,
    OpBase,
    PcpUpdate,
    Repeat,
    SoftOfflinePage,
    Unisolate,
    VirtioMemPlug,
    VirtioMemUnplug,
)
from zonesim.scenario.render import format_op
from zonesim.scenario.schema import json_schema
from zonesim.scenario.validate import PolicyCheck, load_scenario, parse_scenario

__all__ = [
    "Alloc",
    "AllocContigRange",
    "Choose",
    "ChooseOption",
    "CmaAlloc",
    "CmaArea",
    "CmaRelease",
    "CpuProgram",
    "DrainAllPages",
    "DrainLocalPages",
    "ExpectEntry",
    "Expectation",
    "ExploreHints",
    "Free",
    "FreeContigRange",
    "Isolate",
    "Migrate",
    "OfflinePages",
    "OnlinePages",
    "Op",
    "OpBase",
    "PageblockInit",
    "PcpUpdate",
    "PfnRange",
    "PolicyCheck",
    "PolicySpec",
    "Repeat",
    "Scenario",
    "ScenarioError",
    "SoftOfflinePage",
    "Unisolate",
    "VirtioMemPlug",
    "VirtioMemUnplug",
    "Zone",
    "format_op",
    "json_schema",
    "load_scenario",
    "parse_scenario",
    "scenario_fingerprint",
]
