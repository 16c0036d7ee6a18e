"""The planted lost update of tests/quality, shared by the matrix tests."""

from __future__ import annotations

import pytest

import zonesim.ops.free as free_mod
from zonesim.model.buddy import __free_one_page as free_one_page_locked
from zonesim.ops.kernel import Kernel


async def racy_free_one_page(
    k: Kernel, cpu: int, pfn: int, order: int, mt: int, fpi: int
) -> None:
    """The planted lost update of tests/quality: NR_FREE_PAGES read outside zone->lock."""
    zone = k.zone
    stale = zone.NR_FREE_PAGES
    async with k.zone_lock:
        await free_one_page_locked(zone, pfn, order, mt, fpi)
        zone.NR_FREE_PAGES = stale + (1 << order)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(free_mod, "free_one_page", racy_free_one_page)
