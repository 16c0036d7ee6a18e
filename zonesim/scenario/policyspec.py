"""``[expect]`` keys and values: ``"v5.19 -86d28b070927" = "violation:I5b"``.

A key is a preset name followed by switch tokens, ``+name`` (add) or ``-name`` (remove),
separated by blanks. A value is ``pass``, ``violation``, ``violation:<invariant>`` or ``n/a``.
Which presets and switches exist is the policy registry's business, not the file format's:
``parse_scenario`` takes an optional callback for that check.
"""

from __future__ import annotations

import re

from zonesim.scenario.document import EXPECTATION_KINDS, Expectation, PolicySpec

_TOKEN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
PRESET_RE = re.compile(_TOKEN)
# switch ids are commits or "<proposal>/<part>" (rfc1/1-align, dh/a-isolate-bit)
_SWITCH_TOKEN = _TOKEN + "(?:/" + _TOKEN + ")?"
SWITCH_RE = re.compile(r"[+\-]" + _SWITCH_TOKEN)
INVARIANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")

# The same rules as regular expressions over the whole string, for the JSON Schema.
POLICY_KEY_PATTERN = rf"^\s*{_TOKEN}(\s+[+\-]{_SWITCH_TOKEN})*\s*$"
EXPECTATION_PATTERN = rf"^(pass|violation|violation:{INVARIANT_RE.pattern}|n/a)$"

KEY_SHAPE = '"<preset>" optionally followed by " +<switch>" / " -<switch>" tokens'
VALUE_SHAPE = '"pass", "violation", "violation:<invariant>" or "n/a"'


def parse_policy_spec(key: str) -> PolicySpec | str:
    """Parse an ``[expect]`` key; returns the spec, or a message saying what is wrong."""
    tokens = key.split()
    if not tokens:
        return f"expected {KEY_SHAPE}, got an empty key"
    preset, *switches = tokens
    if not PRESET_RE.fullmatch(preset):
        return f"expected {KEY_SHAPE}; the preset {preset!r} is not a name"
    add: list[str] = []
    remove: list[str] = []
    for token in switches:
        if not SWITCH_RE.fullmatch(token):
            return f"expected {KEY_SHAPE}; {token!r} is not '+<switch>' or '-<switch>'"
        name = token[1:]
        if name in add or name in remove:
            return f"switch {name!r} appears twice"
        (add if token[0] == "+" else remove).append(name)
    return PolicySpec(preset, tuple(sorted(add)), tuple(sorted(remove)))


def parse_expectation(value: str) -> Expectation | None:
    """Parse an ``[expect]`` value; None when it is not one of the legal forms."""
    if value in EXPECTATION_KINDS:
        return Expectation(value)
    kind, sep, invariant = value.partition(":")
    if kind == "violation" and sep and INVARIANT_RE.fullmatch(invariant):
        return Expectation("violation", invariant)
    return None
