"""zonesim.coverage: allocator-state coverage of executions (issue 10, item 4).

``Tracker`` computes one execution's step signatures (switch point, CPU, locks, the abstract
state of the pageblocks the step touched); ``merge`` folds executions' coverage into a
``CoverageReport`` (signatures, saturation curve, windows never opened) in execution order;
``saturation_png`` draws the curve. The engine runs a tracker only when asked
(``Engine.coverage``): off, nothing of this runs.
"""

from zonesim.coverage.merge import CoverageReport, SwitchPoint, UnitSeen, merge
from zonesim.coverage.png import saturation_png
from zonesim.coverage.tracker import ExecCoverage, Observed, Tracker

__all__ = [
    "CoverageReport",
    "ExecCoverage",
    "Observed",
    "SwitchPoint",
    "Tracker",
    "UnitSeen",
    "merge",
    "saturation_png",
]
