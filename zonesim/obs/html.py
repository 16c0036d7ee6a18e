"""``zonesim report``: one self-contained HTML page per failure (no network, no CDN).

The page embeds its data as JSON and its script and style inline (``assets/``): the CPU
columns side by side, a step slider, and at each step the zone map — pageblocks coloured
by migratetype, isolated pageblocks hatched, free blocks by order and list type, pages
held on pcp lists, allocations, the pageblock the invariant is about outlined — with the
invariant, the design, the preemptions and the replay command.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from zonesim.obs.events import OBSERVER_EVENTS
from zonesim.obs.report import format_event
from zonesim.obs.zonestate import ZoneShape, ZoneState

# Records drawn as rows: the model's events and the ops the CPUs start (locks and the
# pages moving between buddy and pcp stay in `zonesim log`, where they can be filtered).
HIDDEN_EVENTS = frozenset(set(OBSERVER_EVENTS) - {"op_start"})


def _asset(name: str) -> str:
    folder = resources.files("zonesim.obs").joinpath("assets")
    return folder.joinpath(name).read_text(encoding="utf-8")


def report_data(
    *,
    meta: Mapping[str, Any],
    cpus: Sequence[str],
    shape: ZoneShape,
    records: Sequence[Mapping[str, Any]],
    states: Sequence[ZoneState],
    state_of: Sequence[int],
    initial: int,
    final: int,
    highlight_pfn: int | None,
    switches: Sequence[str],
) -> dict[str, Any]:
    """The JSON the page's script draws from (rows: start, each shown record, end)."""
    col = {c: i for i, c in enumerate(cpus)}
    rows: list[dict[str, Any]] = [
        {"cpu": None, "step": 0, "text": "initial zone (after [[setup]])", "state": initial}
    ]
    for rec, st in zip(records, state_of, strict=True):
        event = str(rec.get("event", "?"))
        if event in HIDDEN_EVENTS:
            continue
        text = f"-- {rec.get('op')} --" if event == "op_start" else format_event(rec)
        rows.append({"cpu": col.get(str(rec.get("cpu")), 0), "step": rec.get("step", 0),
                     "text": text, "state": st, "op": event == "op_start"})
    verdict = f"VIOLATION {meta.get('invariant')}" if meta.get("invariant") else "end"
    rows.append({"cpu": None, "step": rows[-1]["step"], "text": verdict, "state": final})
    return {
        "meta": dict(meta),
        "cpus": list(cpus),
        "shape": shape.to_json(),
        "states": [s.to_json() for s in states],
        "rows": rows,
        "highlight_pfn": highlight_pfn,
        "switches": list(switches),
    }


def render_report(*, title: str, **data_args: Any) -> str:
    data = report_data(**data_args)
    # "</" would end the <script> element early; JSON allows the escaped form.
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(title),
        style=_asset("report.css"),
        script=_asset("report.js"),
        data=blob,
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>zonesim report: {title}</title>
<style>
{style}
</style>
</head>
<body>
<header id="head"></header>
<section id="controls">
  <button id="prev" title="previous step (left arrow)">&#9664;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <button id="next" title="next step (right arrow)">&#9654;</button>
  <span id="where"></span>
</section>
<main>
  <section id="columns"><table id="trace"></table></section>
  <section id="zone">
    <canvas id="map" width="900" height="200"></canvas>
    <div id="legend"></div>
    <table id="counters"></table>
  </section>
</main>
<script id="data" type="application/json">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""
