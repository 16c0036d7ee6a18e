"""A policy: a preset plus switches added (+) or removed (-), e.g. "v5.19 -86d28b070927"."""

from __future__ import annotations

from dataclasses import dataclass, field

from zonesim.model.flags import ModelFlags
from zonesim.policy.presets import PRESETS
from zonesim.policy.switches import BY_ID


class PolicyError(ValueError):
    """An unknown preset or switch; the message says which and lists the known ones."""


@dataclass(frozen=True, slots=True)
class Policy:
    preset: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    # The switch set, computed once: ``has`` runs in the kernel paths' hot loops (every
    # page of a free_contig_range asks a few), and rebuilding the set cost ~1 us a call.
    _switches: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = PRESETS[self.preset][1]
        object.__setattr__(
            self, "_switches", (base | frozenset(self.added)) - frozenset(self.removed)
        )

    @property
    def switches(self) -> frozenset[str]:
        return self._switches

    def has(self, switch: str) -> bool:
        """Is this kernel change in the modelled kernel? (Unknown ids are a bug.)"""
        if switch in self._switches:
            return True
        if switch not in BY_ID:
            raise KeyError(f"unknown switch {switch!r}")
        return False

    @property
    def name(self) -> str:
        """Canonical spelling: preset, then +added and -removed in sorted order."""
        parts = [self.preset]
        parts += [f"+{s}" for s in sorted(self.added)]
        parts += [f"-{s}" for s in sorted(self.removed)]
        return " ".join(parts)

    def model_flags(self) -> ModelFlags:
        return ModelFlags(
            isolate_merge_check=self.has("d9dddbf55667"),
            isolate_merge_cap=self.has("3c605096d315"),
            merge_iter_fixed=self.has("7ad69832f37e"),
            mergeable_merge_check=self.has("1dd214b8f21c"),
            validate_buddy_before_mt=self.has("787af64d05cd"),
            bulk_free_reread_mt=self.has("51bb1a4093cc"),
            free_one_page_reread_mt=self.has("ad53f92eb416"),
            isolate_bit=self.has("dh/a-isolate-bit") or self.has("591342fccd72"),
            pcp_free_scaled=self.has("3b12e7e97938"),
            bulk_free_clamp=self.has("88e8ac11d2ea"),
            pcp_free_lookup=self.has("17edeb5d3f76"),
            merge_fixup_type=self.has("e6cf9e1c4cde"),
            isolate_free_moves=self.has("b54ccd3c6bac"),
            move_block_zone_edge=self.has("2dd482ba627d"),
            steal_transaction=self.has("c0cd6f557b90"),
            account_on_lists=self.has("e0932b6c1f94"),
            split_large_buddy_end=self.has("faeec8e23c10"),
        )


def make_policy(preset: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> Policy:
    """Check names and build the policy; a switch both added and removed is an error."""
    if preset not in PRESETS:
        raise PolicyError(f"unknown policy {preset!r}; expected one of: {', '.join(PRESETS)}")
    for s in (*add, *remove):
        if s not in BY_ID:
            raise PolicyError(f"unknown switch {s!r}; `zonesim policies` lists them")
    both = sorted(set(add) & set(remove))
    if both:
        raise PolicyError(f"switch {both[0]} is both added and removed")
    base = PRESETS[preset][1]
    # Normalise: adding what the preset has or removing what it lacks changes nothing.
    added = tuple(sorted(s for s in set(add) if s not in base))
    removed = tuple(sorted(s for s in set(remove) if s in base))
    policy = Policy(preset, added, removed)
    check_builds_on(policy)
    return policy


def dependents(switch: str, among: frozenset[str]) -> list[str]:
    """The switches of ``among`` that build on ``switch``, directly or through others."""
    found: set[str] = set()
    frontier = [switch]
    while frontier:
        e = frontier.pop()
        for s in BY_ID.values():
            if s.id in among and e in s.builds_on and s.id not in found:
                found.add(s.id)
                frontier.append(s.id)
    return sorted(found)


def check_builds_on(policy: Policy) -> None:
    """A commit that changed another commit's code cannot be on while that one is off: the
    design would claim the earlier code is gone while the later code still runs on it."""
    on = policy.switches
    for sid in sorted(on):
        for e in BY_ID[sid].builds_on:
            if e in on:
                continue
            if e in policy.removed:
                way_out = "remove " + " ".join("-" + x for x in dependents(e, on)) + " as well"
            else:
                way_out = f"add +{e} as well, or do not add {sid}"
            raise PolicyError(
                f"policy {policy.name!r}: {sid} builds on {e} ({BY_ID[e].title}), which this "
                f"design lacks; {way_out} (`zonesim policies` shows what builds on what)"
            )


def parse_policy(spec: str) -> Policy:
    """Parse "v5.19 -86d28b070927 +1dd214b8f21c"."""
    tokens = spec.split()
    if not tokens:
        raise PolicyError("empty policy; expected a preset name such as v5.15")
    add = tuple(t[1:] for t in tokens[1:] if t.startswith("+"))
    remove = tuple(t[1:] for t in tokens[1:] if t.startswith("-"))
    bad = [t for t in tokens[1:] if t[:1] not in "+-" or len(t) < 2]
    if bad:
        raise PolicyError(f"bad policy token {bad[0]!r}; expected +SWITCH or -SWITCH")
    return make_policy(tokens[0], add, remove)
