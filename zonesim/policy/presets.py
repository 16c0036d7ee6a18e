"""Presets: named sets of switches (DESIGN.md §4). ``v5.15`` is itself a set of switches,
the fixes it already contains in this area, so a user can remove one and watch the old
bug come back."""

from __future__ import annotations

V5_15 = frozenset({"d9dddbf55667", "ad53f92eb416", "51bb1a4093cc"})

PRESETS: dict[str, tuple[str, frozenset[str]]] = {
    "v5.15": ("the kernel of the founding thread (Nov 2021)", V5_15),
}
