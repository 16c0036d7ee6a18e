"""Hypothesis strategies: malformed scenario documents made by mutating valid ones."""

from __future__ import annotations

import copy
import json
import tomllib
from typing import Any

from hypothesis import strategies as st
from scenario_docs import EXAMPLE, FULL

SEEDS: list[dict[str, Any]] = [tomllib.loads(FULL), tomllib.loads(EXAMPLE.read_text())]
SEEDS[1]["scenario"]["name"] = "x"  # the fuzz tests parse everything as scenarios/x.toml
# Keys the format knows, so that mutations often hit real keys with wrong values.
KEYS = [
    "op",
    "order",
    "type",
    "ref",
    "as",
    "count",
    "start",
    "end",
    "range",
    "name",
    "pages",
    "max_order",
    "pageblock_order",
    "ops",
    "options",
    "weight",
    "times",
    "ordr",
    "cma",
    "pfn",
    "expect",
    "flags",
    "v5.15",
    "cpus",
]

scalars = st.one_of(
    st.integers(-3, 3000),
    st.sampled_from(
        [
            "movable",
            "cma",
            "nine",
            "",
            "a",
            "cma0",
            "filler[1]",
            "v5.15",
            "pass",
            "alloc",
            "repeat",
            "choose",
            "violation:x",
            "MEMORY_OFFLINE",
        ]
    ),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=6,
)


def to_toml(doc: dict[str, Any]) -> str:
    """Render a document as TOML using only ``key = value`` lines with inline values."""
    return "\n".join(f"{_key(k)} = {_value(v)}" for k, v in doc.items()) + "\n"


def _key(k: str) -> str:
    return json.dumps(k)


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"


def _containers(node: object, out: list[object]) -> None:
    if isinstance(node, dict | list):
        out.append(node)
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            _containers(child, out)


@st.composite
def mutated_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A seed document with 1..3 random mutations (delete, retype, insert, duplicate)."""
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        nodes: list[object] = []
        _containers(doc, nodes)
        node = draw(st.sampled_from(nodes))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        if isinstance(node, dict):
            if node and action in ("delete", "replace"):
                key = draw(st.sampled_from(sorted(node)))
                if action == "delete":
                    del node[key]
                else:
                    node[key] = draw(values)
            else:
                node[draw(st.sampled_from(KEYS))] = draw(values)
        elif isinstance(node, list):
            if node and action == "delete":
                node.pop(draw(st.integers(0, len(node) - 1)))
            elif node and action == "replace":
                node[draw(st.integers(0, len(node) - 1))] = draw(values)
            else:
                node.append(draw(values))
    return doc
