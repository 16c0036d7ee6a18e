"""``json_schema()``: a JSON Schema (draft 2020-12) for editors, generated from ``tables.py``.

The schema states what is checkable per key: types, enums, static ranges, required and
unknown keys, op shapes. Rules that need the zone (an order below ``zone.max_order``, a pfn
inside the zone, refs, overlaps) are in the descriptions only; the validator enforces them.
"""

from __future__ import annotations

from typing import Any

from zonesim.scenario.policyspec import (
    EXPECTATION_PATTERN,
    KEY_SHAPE,
    POLICY_KEY_PATTERN,
    VALUE_SHAPE,
)
from zonesim.scenario.reader import NAME_RE, REF_RE
from zonesim.scenario.spec import FieldSpec, Kind, TableSpec
from zonesim.scenario.tables import OP_SPECS, OPTION, SECTIONS

SCHEMA_ID = "https://zonesim.invalid/schema/scenario.schema.json"
JSON = dict[str, Any]


def json_schema() -> JSON:
    """The scenario file format as a JSON Schema document (a fresh dict on every call)."""
    defs: JSON = {}
    for setup in (False, True):
        variants = []
        for spec in OP_SPECS:
            if setup and spec.name == "choose":
                continue  # setup pins down one initial state
            name = f"{'setup_' if setup else ''}op_{spec.name}"
            defs[name] = _table(spec.table, setup=setup, op=spec.name)
            variants.append({"$ref": f"#/$defs/{name}"})
        defs["setup_op" if setup else "op"] = {
            "description": "one op table, selected by its 'op' key",
            "oneOf": variants,
        }
    defs["choose_option"] = _table(OPTION, setup=False)
    properties: JSON = {}
    for section in SECTIONS:
        if section.name == "expect":
            schema: JSON = {
                "type": "object",
                "description": f"{section.doc} Keys: {KEY_SHAPE}; values: {VALUE_SHAPE}.",
                "propertyNames": {"pattern": POLICY_KEY_PATTERN},
                "additionalProperties": {"type": "string", "pattern": EXPECTATION_PATTERN},
            }
        elif section.name == "setup":
            schema = {
                "type": "array",
                "description": section.doc,
                "items": {"$ref": "#/$defs/setup_op"},
            }
        else:
            assert section.table is not None
            defs[section.name] = _table(section.table, setup=False)
            ref = {"$ref": f"#/$defs/{section.name}"}
            schema = {"type": "array", "items": ref} if section.array else ref
        properties[section.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "zonesim scenario",
        "description": "One zonesim scenario (TOML). Generated from zonesim.scenario.tables.",
        "type": "object",
        "additionalProperties": False,
        "required": [s.name for s in SECTIONS if s.required],
        "properties": properties,
        "$defs": defs,
    }


def _table(spec: TableSpec, *, setup: bool, op: str | None = None) -> JSON:
    properties: JSON = {}
    if op is not None:
        properties["op"] = {"const": op, "description": spec.doc}
    for fs in spec.fields:
        if fs.setup_only and not setup:
            continue
        properties[fs.name] = _field(fs, setup=setup)
    required = ([] if op is None else ["op"]) + [
        fs.name for fs in spec.fields if fs.required and (setup or not fs.setup_only)
    ]
    return {
        "type": "object",
        "title": spec.title,
        "description": spec.doc,
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _field(fs: FieldSpec, *, setup: bool) -> JSON:
    doc = fs.doc
    out: JSON
    kind = fs.kind
    if kind is Kind.INT:
        out = {"type": "integer"}
        for word, bound in (("minimum", fs.lo), ("maximum", fs.hi)):
            if bound is not None:
                if bound.static is not None:
                    out[word] = bound.static
                if bound.expr:
                    doc += f"; {'at least' if word == 'minimum' else 'at most'} {bound.expr}"
    elif kind is Kind.BOOL:
        out = {"type": "boolean"}
    elif kind is Kind.STR:
        out = {"type": "string", "minLength": 1}
    elif kind is Kind.CHOICE:
        out = {"enum": list(fs.choices)}
    elif kind is Kind.NAME:
        out = {"type": "string", "pattern": f"^{NAME_RE.pattern}$"}
    elif kind is Kind.REF:
        out = {"type": "string", "pattern": f"^{REF_RE.pattern}$"}
    elif kind is Kind.RANGE:
        out = {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "integer"}],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        }
        doc += "; start < end"
    elif kind is Kind.FLAGS:
        out = {"type": "array", "items": {"enum": list(fs.choices)}, "uniqueItems": True}
    elif kind is Kind.OPS:
        out = {"type": "array", "items": {"$ref": "#/$defs/setup_op" if setup else "#/$defs/op"}}
    elif kind is Kind.OPTIONS:
        out = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/choose_option"}}
    else:  # Kind.TABLES
        assert fs.table is not None
        out = {"type": "array", "items": _table(fs.table, setup=setup)}
    if fs.derived is not None:
        doc += f" (default: {fs.default_doc})"
    elif not fs.required and fs.default is not None:
        out["default"] = list(fs.default) if isinstance(fs.default, tuple) else fs.default
    out["description"] = doc
    return out
