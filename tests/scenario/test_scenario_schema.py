"""json_schema(): valid JSON, and it agrees with the validator where a schema can judge.

No jsonschema dependency: a small checker below implements exactly the keywords the
generated schema uses, and a test fails if the schema starts using any other keyword.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from scenario_docs import EXAMPLE, FULL, doc
from toml_mutations import SEEDS, mutated_docs, to_toml

from zonesim.scenario import ScenarioError, json_schema, parse_scenario

ASSERTIONS = {
    "$ref",
    "oneOf",
    "const",
    "enum",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
    "uniqueItems",
}
ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


class Checker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema

    def ok(self, value: object, schema: dict[str, Any] | bool | None = None) -> bool:
        s = self.root if schema is None else schema
        if isinstance(s, bool):
            return s
        if "$ref" in s:
            name = s["$ref"].removeprefix("#/$defs/")
            if not self.ok(value, self.root["$defs"][name]):
                return False
        if "oneOf" in s and sum(self.ok(value, sub) for sub in s["oneOf"]) != 1:
            return False
        if "const" in s and value != s["const"]:
            return False
        if "enum" in s and not (isinstance(value, str) and value in s["enum"]):
            return False
        if "type" in s:
            if s["type"] == "integer":
                if not isinstance(value, int) or isinstance(value, bool):
                    return False
            elif not isinstance(value, TYPES[s["type"]]):
                return False
        if isinstance(value, dict):
            if any(k not in value for k in s.get("required", [])):
                return False
            props = s.get("properties", {})
            for k, v in value.items():
                if "propertyNames" in s and not re.search(s["propertyNames"]["pattern"], k):
                    return False
                sub = props.get(k, s.get("additionalProperties", True))
                if not self.ok(v, sub):
                    return False
        if isinstance(value, list):
            if len(value) < s.get("minItems", 0) or len(value) > s.get("maxItems", 1 << 60):
                return False
            prefix = s.get("prefixItems", [])
            for i, item in enumerate(value):
                sub = prefix[i] if i < len(prefix) else s.get("items", True)
                if not self.ok(item, sub):
                    return False
            if s.get("uniqueItems") and len({json.dumps(v) for v in value}) != len(value):
                return False
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if is_int and not s.get("minimum", value) <= value <= s.get("maximum", value):
            return False
        if isinstance(value, str):
            if len(value) < s.get("minLength", 0):
                return False
            if "pattern" in s and not re.search(s["pattern"], value):
                return False
        return True


def _keywords(node: object, out: set[str], in_properties: bool = False) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if not in_properties:
                out.add(k)
            _keywords(v, out, in_properties=(k in ("properties", "$defs")) and not in_properties)
    elif isinstance(node, list):
        for v in node:
            _keywords(v, out)


def validator_accepts(data: dict[str, Any]) -> bool:
    try:
        parse_scenario(to_toml(data), "scenarios/x.toml")
    except ScenarioError:
        return False
    return True


SCHEMA = json_schema()
CHECKER = Checker(SCHEMA)


def test_schema_is_json_and_2020_12() -> None:
    text = json.dumps(SCHEMA, sort_keys=True)
    assert json.loads(text) == SCHEMA
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json_schema() == SCHEMA  # deterministic
    used: set[str] = set()
    _keywords(SCHEMA, used)
    assert used <= ASSERTIONS | ANNOTATIONS, used - ASSERTIONS - ANNOTATIONS


def test_schema_mirrors_declarations() -> None:
    defs = SCHEMA["$defs"]
    assert set(SCHEMA["required"]) == {"scenario", "zone"}
    assert defs["op_alloc"]["required"] == ["op", "order"]
    assert "pfn" not in defs["op_alloc"]["properties"]
    assert "pfn" in defs["setup_op_alloc"]["properties"]
    assert "setup_op_choose" not in defs
    assert defs["zone"]["properties"]["max_order"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 16,
        "default": 11,
        "description": "MAX_ORDER (orders 0..max_order-1 exist)",
    }
    pb = defs["zone"]["properties"]["pageblocks"]["items"]
    assert pb["properties"]["type"]["enum"] == [
        "unmovable",
        "movable",
        "reclaimable",
        "highatomic",
        "cma",
        "isolate",
    ]


@pytest.mark.parametrize("text", [FULL, EXAMPLE.read_text()], ids=["full", "example"])
def test_valid_documents_pass_the_schema(text: str) -> None:
    assert CHECKER.ok(tomllib.loads(text))


# Invalid in a way a schema can see: both must reject.
SCHEMA_VISIBLE = {
    "missing-zone-pages": doc(zone="cpus = 2"),
    "unknown-key": doc('[[cpu]]\nops = [{op = "alloc", ordr = 3}]'),
    "unknown-op": doc('[[cpu]]\nops = [{op = "alloc_page"}]'),
    "bad-enum": doc('[[cpu]]\nops = [{op = "alloc", order = 1, type = "moveable"}]'),
    "wrong-type": doc('[[cpu]]\nops = [{op = "alloc", order = "nine"}]'),
    "static-range": doc(zone="pages = 2048\nmax_order = 17"),
    "pfn-in-cpu": doc('[[cpu]]\nops = [{op = "alloc", order = 1, pfn = 0}]'),
    "choose-in-setup": doc('[[setup]]\nop = "choose"\noptions = [{ops = []}]'),
    "bad-expect-value": doc('[expect]\n"v5.15" = "fails"'),
    "bad-expect-key": doc('[expect]\n"v5.15 x" = "pass"'),
    "unknown-section": doc("[[cpus]]\nops = []"),
    "range-shape": doc("[[zone.holes]]\nrange = [1, 2, 3]"),
    "bad-flag": doc('[[cpu]]\nops = [{op = "isolate", start = 0, end = 512, flags = ["X"]}]'),
    "empty-summary": doc().replace('summary = "test"', 'summary = ""'),
}


@pytest.mark.parametrize("text", list(SCHEMA_VISIBLE.values()), ids=list(SCHEMA_VISIBLE))
def test_schema_and_validator_both_reject(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text, "scenarios/x.toml")
    assert not CHECKER.ok(tomllib.loads(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_docs())
def test_validator_accepts_implies_schema_accepts(data: dict[str, Any]) -> None:
    # The schema is the looser of the two (it cannot see the zone, refs or overlaps), so
    # anything the validator accepts must satisfy it.
    if validator_accepts(data):
        assert CHECKER.ok(data), to_toml(data)


def test_seeds_are_accepted() -> None:
    assert all(validator_accepts(seed) for seed in SEEDS)
