"""cma_alloc()'s bitmap windows (mm/cma.c): a window is reserved under cma->lock, a busy
bit is never inside a window handed out, and cma_release() clears what it reserved."""

from __future__ import annotations

from zonesim.engine import Engine
from zonesim.policy import parse_policy
from zonesim.scenario import parse_scenario
from zonesim.sched import ReplayStrategy

SCENARIO = """
[scenario]
name = "cma-windows"
summary = "cma_alloc, cma_release, cma_alloc again in one area"

[zone]
pages = 4096
cpus = 1

[[cma]]
name = "cma0"
range = [1024, 2048]

[[cpu]]
ops = [ { op = "cma_alloc", cma = "cma0", count = 4, align = 2, as = "a", expect = "ok" },
        { op = "cma_alloc", cma = "cma0", count = 4, align = 2, as = "b", expect = "ok" },
        { op = "cma_release", ref = "a" },
        { op = "cma_alloc", cma = "cma0", count = 8, align = 3, as = "c", expect = "ok" },
        { op = "cma_alloc", cma = "cma0", count = 4, align = 2, as = "d", expect = "ok" } ]
"""


def test_windows_skip_busy_bits_and_reuse_released_ones() -> None:
    """a [1024, 1028) and b [1028, 1032); a released. An 8-page order-3-aligned request
    cannot use [1024, 1032) (b's bits are set): its one window is [1032, 1040). The next
    4-page request gets a's released bits back: [1024, 1028)."""
    engine = Engine(parse_scenario(SCENARIO, "cma-windows.toml"), parse_policy("v5.15"))
    out = engine.run(ReplayStrategy(()), tracing=True)
    assert out.violation is None and out.error is None
    windows = [e["pfn"] for e in out.events if e["event"] == "cma_window"]
    assert windows == [1024, 1028, 1032, 1024]
    zone = engine.last_zone
    assert zone is not None
    bits = zone.cma_areas["cma0"].bitmap
    assert bits[:16] == bytes([1] * 16) and not any(bits[16:])
