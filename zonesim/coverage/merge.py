"""Coverage of an exploration: executions' coverage merged in execution order.

Workers run slices of an exploration (zonesim.units); a slice sends each execution's
signatures *new to that slice* (``UnitSeen``), which is enough to count the signatures new
to the whole exploration: a signature first reached at execution n is new to n's slice too,
and the coordinator drops what an earlier slice already had. Merging walks the counted
executions in their order, so the report is the same for any number of workers.

The report: signatures reached; new signatures per ``per`` executions (the saturation
curve) and after each execution (for the plot); whether coverage saturated (no new
signature in the last 20 % of the executions); and per switch point label the number of
executions that reached it, took a decision there, and ran another CPU in between --
the labels never opened are the windows the scenario claims to test but cannot reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from zonesim.coverage.tracker import ExecCoverage

#: executions per point of the saturation curve
CURVE_STEP = 100
#: saturated = no new signature in this last fraction of the executions
SATURATION_TAIL = 0.2


class UnitSeen:
    """The signatures a slice of executions already reached (filters later ones)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def new(self, cov: ExecCoverage | None) -> ExecCoverage | None:
        if cov is None:
            return None
        fresh = tuple(s for s in cov.signatures if s not in self._seen)
        self._seen.update(fresh)
        return replace(cov, signatures=fresh)


@dataclass(slots=True)
class SwitchPoint:
    label: str
    reached: int = 0  # executions that passed it
    decided: int = 0  # ... and took a decision there
    opened: int = 0  # ... and ran another CPU in between

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "reached": self.reached, "decided": self.decided,
                "opened": self.opened}


@dataclass(slots=True)
class CoverageReport:
    executions: int = 0
    signatures: int = 0
    per: int = CURVE_STEP
    new_per_execution: list[int] = field(default_factory=list)
    switch_points: list[SwitchPoint] = field(default_factory=list)
    all_signatures: list[str] = field(default_factory=list)  # sorted

    @property
    def curve(self) -> list[int]:
        """New signatures in executions 1..per, per+1..2*per, ... (the last may be short)."""
        n = self.new_per_execution
        return [sum(n[i:i + self.per]) for i in range(0, len(n), self.per)]

    @property
    def last_new(self) -> int:
        """The execution (1-based) that reached the last new signature; 0 if none."""
        for i in range(len(self.new_per_execution) - 1, -1, -1):
            if self.new_per_execution[i]:
                return i + 1
        return 0

    @property
    def saturated(self) -> bool:
        """No new signature in the last ``SATURATION_TAIL`` of the executions."""
        return self.executions > 0 and self.last_new <= self.executions * (1 - SATURATION_TAIL)

    @property
    def never_opened(self) -> list[SwitchPoint]:
        return [p for p in self.switch_points if p.opened == 0]

    def to_json(self) -> dict[str, Any]:
        return {
            "executions": self.executions,
            "signatures": self.signatures,
            "curve_per": self.per,
            "new_signatures_curve": self.curve,
            "last_new_signature_at": self.last_new,
            "saturated": self.saturated,
            "switch_points": [p.to_json() for p in self.switch_points],
            "windows_never_opened": [p.label for p in self.never_opened],
        }

    def lines(self) -> list[str]:
        """The text report."""
        sat = (f"saturated (last new signature at execution {self.last_new})"
               if self.saturated else
               f"NOT saturated: new signatures until execution {self.last_new} of "
               f"{self.executions} (the last {SATURATION_TAIL:.0%} must add none)")
        out = [f"coverage: {self.signatures} signatures in {self.executions} executions; {sat}",
               f"new signatures per {self.per} executions: "
               + " ".join(str(n) for n in self.curve)]
        never = self.never_opened
        if never:
            out.append("windows never opened (no other CPU ran there in any execution):")
            for p in never:
                why = ("a decision there, never a switch" if p.decided
                       else "never a decision there (the CPU was alone or atomic)")
                out.append(f"  {p.label}  reached in {p.reached} executions; {why}")
        else:
            out.append("windows never opened: none")
        return out


def merge(coverages: Iterable[ExecCoverage | None], *, per: int = CURVE_STEP) -> CoverageReport:
    """Merge executions' coverage in execution order (``UnitSeen``-filtered is fine)."""
    rep = CoverageReport(per=per)
    seen: set[str] = set()
    points: dict[str, SwitchPoint] = {}
    for cov in coverages:
        rep.executions += 1
        if cov is None:
            rep.new_per_execution.append(0)
            continue
        fresh = [s for s in cov.signatures if s not in seen]
        seen.update(fresh)
        rep.new_per_execution.append(len(fresh))
        for label in cov.reached:
            p = points.get(label)
            if p is None:
                p = points[label] = SwitchPoint(label)
            p.reached += 1
        for label in cov.decided:
            points[label].decided += 1
        for label in cov.opened:
            points[label].opened += 1
    rep.signatures = len(seen)
    rep.all_signatures = sorted(seen)
    rep.switch_points = [points[k] for k in sorted(points)]
    return rep
