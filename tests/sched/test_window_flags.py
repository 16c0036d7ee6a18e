"""Every window of a lock-held section names the object the step just wrote (``write``)
or is about to read (issue 12, item 6: a window's write flag and key decide which parked
CPUs it offers the baton to -- ``Kernel.window`` asks ``writes_of`` or ``reads_of`` --
and which footprint the step records; a wrong flag or key silently drops the interleaving
where a lockless reader sees the section's intermediate state, and the fast suite did not
notice planted ones).

Checked against the state itself: while random schedules run the bundled and switch
scenarios, each window is compared with what the running step has written so far, as the
taps (pages, pageblocks) and the engine's probe (each CPU's pcp count, high and batch)
observed it. A write window's object must have been written by the step; a read window's
must not. And every window site of zonesim/model and zonesim/ops must be reached."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from zonesim import Engine, load_scenario, parse_policy
from zonesim.engine import NotApplicable
from zonesim.ops import Kernel
from zonesim.sched import RandomStrategy, StepRecorder

ROOT = Path(__file__).resolve().parents[2]
SWITCHES = ROOT / "tests" / "switches" / "data"
#: (scenario, presets): together they pass every window site (asserted below)
RUNS = [
    (ROOT / "scenarios" / "seed" / "cma-b-partial-isolation.toml", ("v5.15", "v6.10")),
    # before 3b12e7e97938 (5.14) a free past pcp->high spills pcp->batch pages
    (ROOT / "scenarios" / "stress" / "pcp-pressure-mixed-orders.toml",
     ("v5.15", "v6.0", "v5.15 -3b12e7e97938")),
    (ROOT / "scenarios" / "stress" / "cma-movable-vs-unmovable.toml", ("v5.15", "v6.10")),
    (SWITCHES / "e6cf9e1c4cde-merge-fixup.toml", ("v6.10",)),
    (SWITCHES / "55612e80e722-free-vs-steal.toml", ("v6.10",)),
    (SWITCHES / "fd919a85cd55-straddling-thp.toml", ("v6.10",)),
    (SWITCHES / "c0cd6f557b90-unclaimed-steal.toml", ("v6.10",)),
]
#: small scenarios for the windows the bundled ones do not pass: (name, preset, [[cpu]])
INLINE = [
    # 3c605096d315's take-off-and-free-again of a free block whose buddy is free
    ("unisolate-merge", "v5.19",
     'ops = [ { op = "isolate", start = 1024, end = 1536 },\n'
     '        { op = "unisolate", start = 1024, end = 1536, type = "movable" } ]\n'),
    # a high-order atomic allocation reserves its pageblock; reclaim gives it back
    # (after two movable pageblocks are taken: the reserved one is not pageblock 0)
    ("highatomic", "v5.15",
     'ops = [ { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 1, type = "highatomic" },\n'
     '        { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 9, type = "movable", reclaim = true },\n'
     '        { op = "alloc", order = 9, type = "movable", reclaim = true } ]\n'),
    # 6.10: an unmovable request, with no free block of pageblock_order left, claims the
    # movable pageblock [1024, 1536) half free (__move_freepages_block, not pageblock 0)
    ("steal", "v6.10",
     'ops = [ { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 8, type = "movable" },\n'
     '        { op = "alloc", order = 9, type = "movable" },\n'
     '        { op = "alloc", order = 0, type = "unmovable" } ]\n'),
]
#: window sites none of these runs passes (their flags are not checked here):
#: __isolate_free_page's pageblock retype needs a free block of >= pageblock_order - 1
#: taken from a pageblock that is not ISOLATE, CMA or HIGHATOMIC, and both callers
#: (isolate_freepages_range, unset_migratetype_isolate) take blocks of isolated
#: pageblocks; e6cf9e1c4cde's fixup needs two free buddies of different mergeable types.
UNREACHED = {"__isolate_free_page:pageblock", "__free_one_page:fixup"}


class Recorded(RandomStrategy):
    """A random schedule whose step recorder keeps the observed writes apart."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, switch_probability=0.3)
        self.rec: StepRecorder | None = None

    def attach_steps(self, steps: StepRecorder) -> None:
        steps.merge = False
        self.rec = steps


class Written:
    """What the running step has written so far: the taps' and page observer's writes,
    and the probe's objects (the pcp fields) whose value changed between any two looks
    since the step began (a count raised and lowered again in one step was written)."""

    def __init__(self, rec: StepRecorder) -> None:
        self.rec = rec
        self.step = -1
        self.last: tuple[object, ...] = ()
        self.changed: set[object] = set()

    def __call__(self, obj: tuple[str, int]) -> bool:
        rec = self.rec
        assert rec.probe is not None and rec._mark is not None
        if self.step != len(rec.log):  # a new step: start from its first reading
            self.step, self.last, self.changed = len(rec.log), rec._mark, set()
        now = rec.probe()
        for a, b, objs in zip(now, self.last, rec.probe_objects, strict=True):
            if a != b:
                self.changed.update(objs)
        self.last = now
        return obj in rec.cur.observed or obj in self.changed


def audit(monkeypatch: pytest.MonkeyPatch, runs: list[tuple[Path, tuple[str, ...]]],
          seeds: range, slip: Callable[[str, bool], bool] | None = None,
          ) -> tuple[list[str], set[str]]:
    """(windows whose flag disagrees with the state, labels of every window passed).
    ``slip``: (kind, write) -> the flag a buggy call site would pass (the self-test)."""
    wrong: list[str] = []
    seen: set[str] = set()
    current: list[Recorded] = []
    written: list[Written] = []
    real = Kernel.window

    async def checked(self: Kernel, label: str, kind: str, key: int, write: bool) -> None:
        if slip is not None:
            write = slip(kind, write)
        rec = current[0].rec if current else None
        if rec is not None and self.steps is rec:  # not the setup's run (no recorder)
            if not written or written[0].rec is not rec:
                written[:] = [Written(rec)]
            seen.add(label)
            did = written[0]((kind, key))
            if did != write:
                wrong.append(f"{label} ({kind}, {key}): write={write}, written={did}")
        await real(self, label, kind, key, write)

    monkeypatch.setattr(Kernel, "window", checked)
    for path, presets in runs:
        for policy in presets:
            try:
                engine = Engine(load_scenario(path), parse_policy(policy))
            except NotApplicable:
                continue
            for seed in seeds:
                current[:] = [Recorded(seed)]
                assert current[0].begin_execution()
                engine.run(current[0])
                current[0].end_execution(False)
    return wrong, seen


def window_labels() -> set[str]:
    """The label of every ``*.window("label", ...)`` call in zonesim/model and ops."""
    out: set[str] = set()
    for path in [*ROOT.glob("zonesim/model/*.py"), *ROOT.glob("zonesim/ops/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "window" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                out.add(node.args[0].value)
    return out


def inline_runs(tmp: Path) -> list[tuple[Path, tuple[str, ...]]]:
    out = []
    for name, policy, cpu in INLINE:
        path = tmp / f"{name}.toml"
        pages = 4096 if name == "unisolate-merge" else 2048
        path.write_text(f'[scenario]\nname = "{name}"\nsummary = "window audit"\n\n'
                        f'[zone]\npages = {pages}\ncpus = 1\n\n[[cpu]]\n{cpu}')
        out.append((path, (policy,)))
    return out


def test_every_window_names_what_the_step_wrote_or_reads(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wrong, seen = audit(monkeypatch, RUNS + inline_runs(tmp_path), range(2))
    assert not wrong, "\n".join(sorted(set(wrong))[:10])
    assert window_labels() - seen == UNREACHED


def test_the_audit_sees_a_write_window_called_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit can fail: a write window passed as a read (the flag flipped for the
    pageblock windows) is reported."""
    wrong, _ = audit(monkeypatch, RUNS[:1], range(1),
                     slip=lambda kind, write: write and kind != "pb")
    assert any("(pb," in w and "write=False, written=True" in w for w in wrong), wrong[:3]
