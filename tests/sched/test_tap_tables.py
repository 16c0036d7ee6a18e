"""The allocation and token tables report their writes to the footprint taps
(zonesim.model.tap): a step that adds or drops an allocation writes ("alloc", id) and
("tok", token) -- what makes two steps freeing or allocating the same object conflict for
DPOR and sleep sets -- and with no tap attached the tables behave as plain dicts."""

from __future__ import annotations

from pathlib import Path

from zonesim import Engine, load_scenario, parse_policy
from zonesim.model import tap
from zonesim.model.tap import instrument

ROOT = Path(__file__).resolve().parents[2]


def test_table_writes_are_reported_and_untapped_tables_are_plain() -> None:
    e = Engine(load_scenario(ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml"),
               parse_policy("v5.15"))
    zone, _ = e.base_state()
    instrument(zone)
    aid = next(iter(dict.keys(zone.allocations)))
    a = dict.__getitem__(zone.allocations, aid)
    token = a.token
    # untapped: a write goes through without a report (and without failing)
    del zone.by_token[token]
    zone.by_token[token] = aid
    got: list[tuple[str, object]] = []
    tap.attach(lambda o: got.append(("r", o)), lambda o: got.append(("w", o)),
               lambda o: got.append(("a", o)))
    try:
        del zone.allocations[aid]
        zone.allocations[aid] = a
        zone.by_token.pop(token)
        zone.by_token[token] = aid
    finally:
        tap.detach()
    writes = [o for kind, o in got if kind == "w"]
    assert writes == [("alloc", aid), ("alloc", aid), ("tok", token), ("tok", token)]
    assert zone.allocations[aid] is a and zone.by_token[token] == aid
