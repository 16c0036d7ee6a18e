"""ModelFlags' defaults are v5.15 (zonesim/model/flags.py's contract): the model tests that
build a zone with ModelFlags() run the v5.15 primitives, as their docstrings assume."""

from __future__ import annotations

import dataclasses

from zonesim.model.flags import ModelFlags
from zonesim.policy import parse_policy


def test_the_default_model_flags_are_the_v515_presets() -> None:
    v515 = parse_policy("v5.15").model_flags()
    assert {f.name: getattr(ModelFlags(), f.name) for f in dataclasses.fields(ModelFlags)} == {
        f.name: getattr(v515, f.name) for f in dataclasses.fields(ModelFlags)}


def test_the_page_flag_bits_are_distinct() -> None:
    """page->flags bits (include/linux/page-flags.h): one bit each, none shared, so a
    test of one flag never sees another (a hole's PG_nomap is not PageHWPoison)."""
    from zonesim.model import memmap

    bits = {n: v for n, v in vars(memmap).items() if n.startswith("PG_") and isinstance(v, int)}
    assert len(bits) >= 10
    assert all(v > 0 and v & (v - 1) == 0 for v in bits.values()), bits
    assert len(set(bits.values())) == len(bits), bits


def test_bytes_per_page_is_what_the_per_page_arrays_take() -> None:
    """Memmap.bytes_per_page() (what benchmarks/model.py prints as the claim beside the
    measured footprint) is the sum of the item sizes of the per-page arrays."""
    from zonesim.model.memmap import Memmap

    m = Memmap(64, 12)
    assert Memmap.bytes_per_page() == sum(getattr(m, a).itemsize for a in Memmap._ARRAYS)
