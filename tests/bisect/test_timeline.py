"""The release timeline and the designs between two of its states (zonesim.timeline)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from zonesim.policy import BY_ID, PRESETS, SWITCHES, PolicyError, make_policy, parse_policy
from zonesim.timeline import (
    Move,
    design,
    keep_closed,
    moves_between,
    policy_for,
    previous_version,
    release_presets,
    timeline,
    version_key,
)


def test_versions_compare_as_numbers_not_text() -> None:
    order = ["3.18", "4.0", "5.9", "5.11", "5.19", "6.0", "6.10", "6.17"]
    assert sorted(reversed(order), key=version_key) == order
    assert "5.9" > "5.19"  # what a text comparison would get wrong
    assert version_key("proposal") > version_key("6.17")  # designs after every release


def test_the_state_before_the_oldest_switch() -> None:
    assert previous_version("3.18") == "<= 3.17"
    assert previous_version("5.9") == "<= 5.8"
    assert previous_version("4.0") == "< 4.0"  # 3.x's last minor is not derivable


def test_release_presets_are_releases_in_version_order() -> None:
    names = release_presets()
    assert "rfc-v1" not in names and "proposal" not in names
    assert names[0] == "v5.15"
    assert names == sorted(names, key=lambda n: version_key(n[1:]))
    assert {n for n in PRESETS if n.startswith("v")} == set(names)


def test_pre_release_states_drop_every_newer_switch() -> None:
    states = timeline()
    first = PRESETS["v5.15"][1]
    older = [s for s in states if not s.preset]
    versions = sorted({BY_ID[s].version for s in first if version_key(BY_ID[s].version)
                       < version_key("5.15")}, key=version_key)
    assert [s.name for s in older] == [previous_version(versions[0]), *versions]
    assert older[0].switches == frozenset()
    for st in older[1:]:
        limit = version_key(st.name)
        assert st.switches <= first
        # everything v5.15 has up to this release is on, unless builds_on forbids it
        assert st.switches == keep_closed(s for s in first
                                          if version_key(BY_ID[s].version) <= limit)
        assert all(version_key(BY_ID[s].version) <= limit for s in st.switches)
    # then the release presets, as they are
    presets = [s for s in states if s.preset]
    assert [s.name for s in presets] == release_presets()
    assert all(s.switches == PRESETS[s.name][1] for s in presets)
    # each state has at least what the one before it has, among v5.15's own switches
    for a, b in pairwise(older):
        assert a.switches <= b.switches


def test_keep_closed_drops_what_builds_on_a_missing_switch() -> None:
    # 80e2b584f3ab builds on 88ee134320b8, which builds on b2c9e2fbba32
    assert keep_closed({"80e2b584f3ab", "88ee134320b8"}) == frozenset()
    assert keep_closed({"b2c9e2fbba32", "88ee134320b8", "80e2b584f3ab"}) == frozenset(
        {"b2c9e2fbba32", "88ee134320b8", "80e2b584f3ab"})


def test_moves_follow_version_then_catalogue_order() -> None:
    a, b = PRESETS["v5.15"][1], PRESETS["v5.19"][1]
    moves = moves_between(a, b)
    assert {m.switch for m in moves} == a ^ b and all(m.on for m in moves)
    keys = [(version_key(m.version), [s.id for s in SWITCHES].index(m.switch)) for m in moves]
    assert keys == sorted(keys)
    assert [m.switch for m in moves][:3] == ["1dd214b8f21c", "787af64d05cd", "60a60e32cf91"]
    assert moves[-1].switch == "80e2b584f3ab"  # 6.0, after every 5.19 commit
    back = moves_between(b, a)
    assert [m.switch for m in back] == [m.switch for m in moves] and not any(m.on for m in back)


def test_design_closes_under_builds_on() -> None:
    v515, v519 = PRESETS["v5.15"][1], PRESETS["v5.19"][1]
    # turning on a fix brings the commit it fixes
    assert design(v515, [Move("88ee134320b8", True)]) == v515 | {"88ee134320b8",
                                                                  "b2c9e2fbba32"}
    # turning off a commit takes every commit that builds on it
    off = design(v519, [Move("b2c9e2fbba32", False)])
    assert "b2c9e2fbba32" not in off
    assert not off & {"6e263fff1de4", "88ee134320b8", "9b209e557d69", "86d28b070927",
                      "547be963c99f", "80e2b584f3ab"}
    make_policy("v5.19", remove=tuple(v519 - off))  # accepted
    with pytest.raises(PolicyError):  # what the closure avoids
        make_policy("v5.19", remove=("b2c9e2fbba32",))


def test_every_design_between_neighbouring_states_is_a_valid_policy() -> None:
    """Every prefix of every neighbouring pair, and every single move on its own: the
    bisect never builds a design that make_policy refuses."""
    built = 0
    for a, b in pairwise(timeline()):
        moves = moves_between(a.switches, b.switches)
        for k in range(len(moves) + 1):
            s = design(a.switches, moves[:k])
            assert parse_policy(policy_for(s).name).switches == s
            built += 1
        for m in moves:
            policy_for(design(a.switches, [m]))
        assert design(a.switches, moves) == b.switches
    assert built > len(timeline())


def test_a_design_is_spelled_from_the_nearest_release() -> None:
    v519 = PRESETS["v5.19"][1]
    assert policy_for(v519).name == "v5.19"
    assert policy_for(v519 - {"80e2b584f3ab"}).name == "v5.19 -80e2b584f3ab"
    assert policy_for(PRESETS["v5.15"][1] | {"11ac3e87ce09"}).name == "v5.15 +11ac3e87ce09"
