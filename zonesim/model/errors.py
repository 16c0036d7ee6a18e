"""Faults the model raises where the kernel would oops or BUG().

These are not Python bugs of the simulator: they are outcomes of the modelled design
(a pfn read outside the memmap, a VM_BUG_ON that fires), and the engine reports them as
violations. ``SimulatorBug`` is the "cannot happen" class for the model's own mistakes.
"""

from __future__ import annotations


class ModelFault(Exception):
    """A state the kernel would crash on; ``invariant`` names the check for reports."""

    invariant = "kernel_bug"

    def __init__(self, message: str, *, pfn: int | None = None) -> None:
        super().__init__(message)
        self.pfn = pfn


class MemmapAccess(ModelFault):
    """A pfn or pageblock outside the zone's memmap was touched (the kernel would oops)."""

    invariant = "memmap_access"


class KernelBug(ModelFault):
    """A VM_BUG_ON / BUG_ON of the modelled kernel fired."""

    invariant = "kernel_bug"


class KernelWarn(ModelFault):
    """A WARN_ON / VM_WARN_ON_ONCE of the modelled kernel fired: the kernel goes on, but its
    authors said this state must not happen, so the model reports it where it is seen."""

    invariant = "kernel_warn"


class FreelistHygiene(ModelFault):
    """A VM_WARN_ONCE of the 6.10 free-list helpers fired: a page was added to, moved off or
    deleted from a list that is not its pageblock's ("page type is %lu, passed migratetype
    is %d (nr=%d)"). Only designs with e0932b6c1f94 promise (and check) this."""

    invariant = "freelist_hygiene"


class CpuStuck(ModelFault):
    """A CPU spins forever with IRQs off (the kernel's soft lockup / hard lockup watchdog):
    a livelock of the modelled design, named with the CPU and where it spins."""

    invariant = "cpu_stuck"


class SimulatorBug(Exception):
    """The model itself is inconsistent: a bug of zonesim, not of the modelled design."""
