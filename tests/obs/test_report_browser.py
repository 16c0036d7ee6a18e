"""`zonesim report`: one self-contained HTML file that a real browser (headless Chromium,
Debian's package) draws, and whose slider changes the drawn zone — with no request to the
network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zonesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
CMA_B = ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"
# report.js colours, as RGB
CMA, MOVABLE, ISOLATE = (0x4E, 0x79, 0xA7), (0x59, 0xA1, 0x4F), (0x3B, 0x3B, 0x3B)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cma-b under v5.19: the in-flight free lands on the CMA list across an isolated
    pageblock (two preemptions; found by PCT seed 0)."""
    tmp = tmp_path_factory.mktemp("report")
    assert main(["explore", str(CMA_B), "--policy", "v5.19", "--artifacts", str(tmp),
                 "--json", "-q"]) == 1
    artifact = next(tmp.glob("*.json"))
    out = tmp / "failure.html"
    assert main(["report", str(artifact), "-o", str(out)]) == 0
    return out


def test_the_page_is_self_contained(report_file: Path) -> None:
    page = report_file.read_text()
    assert not re.search(r"(src|href)\s*=", page), "an external resource"
    assert "http://" not in page and "https://" not in page
    assert "default-src 'none'" in page  # and the CSP forbids fetching anything
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>',
                                page, re.S).group(1))  # type: ignore[union-attr]
    assert data["meta"]["invariant"] == "I5a_isolated_not_allocatable"
    assert data["meta"]["replay"].startswith("zonesim replay ")
    assert data["cpus"] == ["cpu0", "cpu1"] and len(data["switches"]) == 2
    assert data["rows"][0]["text"].startswith("initial zone")
    assert data["rows"][-1]["text"] == "VIOLATION I5a_isolated_not_allocatable"
    first, last = (data["states"][data["rows"][i]["state"]] for i in (0, -1))
    assert 5 not in first["pageblocks"] and 5 in last["pageblocks"]  # ISOLATE at the end


def _count(img: object, rgb: tuple[int, int, int]) -> int:
    colours = img.getcolors(maxcolors=1 << 20)  # type: ignore[attr-defined]
    return sum(n for n, c in colours if c == rgb)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                    reason="needs Debian's chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_chromium_draws_the_map_and_the_slider_moves_it(report_file: Path,
                                                         tmp_path: Path) -> None:
    from cdp import Browser  # tests/obs/cdp.py (pytest puts this directory on sys.path)

    b = Browser(tmp_path / "profile")
    try:
        b.send("Network.enable")
        b.send("Page.enable")
        b.send("Page.navigate", url=report_file.as_uri())
        b.wait_event("Page.loadEventFired")
        rows = b.evaluate("JSON.parse(document.getElementById('data').textContent).rows.length")
        assert b.evaluate("document.body.dataset.row") == str(rows - 1)  # opens at the end
        box = b.evaluate("(() => { const r = document.getElementById('map')"
                         ".getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width,"
                         " height: r.height}; })()")
        assert box["width"] > 300 and box["height"] > 100
        end = b.screenshot(box)
        assert _count(end, CMA) > 1000 and _count(end, MOVABLE) > 1000  # the map is drawn
        assert _count(end, ISOLATE) > 100  # the isolated pageblock's label strip

        # drag the slider to its left end with the mouse, as a person would
        s = b.evaluate("(() => { const r = document.getElementById('slider')"
                       ".getBoundingClientRect(); return {x: r.x, y: r.y + r.height / 2}; })()")
        for kind in ("mousePressed", "mouseReleased"):
            b.send("Input.dispatchMouseEvent", type=kind, x=s["x"] + 1, y=s["y"],
                   button="left", clickCount=1)
        assert b.evaluate("document.body.dataset.row") == "0"
        start = b.screenshot(box)
        assert start.tobytes() != end.tobytes()  # the drawn state changed
        assert _count(start, ISOLATE) == 0 and _count(start, CMA) > 1000

        requests = [e["params"]["request"]["url"] for e in b.events
                    if e.get("method") == "Network.requestWillBeSent"]
        assert requests and all(u.startswith("file:") for u in requests), requests
    finally:
        b.close()
