"""Re-measure the figures of zonesim/scenario/limits.py and compare them with the constants.

Each figure is the peak RSS growth (VmHWM, which exec resets; ru_maxrss does not) of a
fresh interpreter doing one thing, divided by its size:

- bytes per page: boot a zone, run two executions (the second clone is made while the
  engine still holds the first: three copies at the peak), at 64K, 1M and 4M pages;
- bytes per step: one CPU looping alloc/free (no decisions), and two CPUs under a random
  strategy (a decision at nearly every step);
- the runtime: the interpreter with zonesim imported.

Prints measured / constant ratios: every ratio must stay <= 1 for the estimate to be an
upper bound (PASS), and a ratio far below 1 means the limit refuses more than it must.
Run: ``.venv/bin/python benchmarks/limits.py`` (about 30 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from zonesim.scenario import limits

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import re, sys
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
from zonesim.scenario import parse_scenario
from zonesim.engine import Engine
from zonesim.policy import parse_policy
from zonesim.sched import RandomStrategy, ReplayStrategy
start = hwm()
if sys.argv[1] == "runtime":
    print(start, 0)
    raise SystemExit
s = parse_scenario(sys.argv[2], "x.toml")
e = Engine(s, parse_policy("v5.15"), max_steps=50_000_000)
before = hwm()
strategy = RandomStrategy(1) if s.zone.cpus > 1 else ReplayStrategy(())
strategy.begin_execution()
o = e.run(strategy)
assert o.violation is None, o.violation
if sys.argv[1] == "pages":  # a second execution: its clone is made while the last one lives
    o = e.run(ReplayStrategy(()))
print(hwm() - before, o.steps, len(o.choices))
"""

HEAD = '[scenario]\nname = "x"\nsummary = "s"\n'


def child(kind: str, doc: str = "") -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, doc],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return [int(x) for x in out.split()]


def loop(cpus: int, times: int) -> str:
    body = (
        f'[[cpu]]\nops = [{{ op = "repeat", times = {times}, ops = ['
        '{ op = "alloc", order = 0, as = "a" }, { op = "free", ref = "a" }] }]\n'
    )
    return HEAD + f"[zone]\npages = 4096\ncpus = {cpus}\n" + body * cpus


def verdict(measured: float, constant: float) -> str:
    ratio = measured / constant
    return f"{measured:10.1f}  constant {constant:8.0f}  ratio {ratio:.2f}  " + (
        "[PASS]" if ratio <= 1 else "[FAIL]"
    )


def main() -> int:
    runtime = child("runtime")[0]
    print(f"runtime bytes (zonesim imported): {verdict(runtime, limits.RUNTIME_BYTES)}")
    for pages in (1 << 16, 1 << 20, 1 << 22):
        doc = HEAD + f'[zone]\npages = {pages}\n[[cpu]]\nops = [{{ op = "alloc", order = 3 }}]\n'
        grown = child("pages", doc)[0]
        figure = verdict(grown / pages, limits.BYTES_PER_PAGE)
        print(f"bytes per page at {pages:>8} pages:   {figure}")
    grown, steps, _ = child("steps", loop(1, 100_000))
    print(f"bytes per step, 1 cpu ({steps} steps): {verdict(grown / steps, limits.BYTES_PER_STEP)}")
    grown, steps, decisions = child("steps", loop(2, 40_000))
    per = limits.BYTES_PER_STEP + limits.BYTES_PER_DECISION
    figure = verdict(grown / steps, per)
    print(f"bytes per step, 2 cpus ({steps} steps, {decisions} decisions): {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
