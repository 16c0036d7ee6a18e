"""The parsed scenario: frozen values the engine builds an execution from.

Nothing here validates; ``validate.py`` only ever constructs these from checked input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zonesim.model.types import MigrateType
from zonesim.scenario.ops import Op


@dataclass(frozen=True, slots=True, order=True)
class PfnRange:
    """The pfns ``[start, end)`` (absolute pfns, ``start < end``)."""

    start: int
    end: int

    @property
    def nr_pages(self) -> int:
        return self.end - self.start

    def overlaps(self, other: PfnRange) -> bool:
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


@dataclass(frozen=True, slots=True)
class PageblockInit:
    """Initial migratetype of the pageblocks in ``range`` (unlisted ones are MOVABLE)."""

    range: PfnRange
    migratetype: MigrateType


@dataclass(frozen=True, slots=True)
class Zone:
    """Geometry and initial layout of the one simulated zone.

    ``max_order`` follows the 5.15 convention (orders ``0..max_order-1``);
    ``pageblock_order < max_order`` (enforced since 5.18). ``pcp_high``/``pcp_batch`` are
    None for the kernel's sizing formulas. ``holes`` have no memmap; ``reserved`` pages are
    PageReserved (never free, unmovable for has_unmovable_pages).
    """

    pages: int
    max_order: int = 11
    pageblock_order: int = 9
    start_pfn: int = 0
    cpus: int = 2
    movable_zone: bool = False
    pcp_high: int | None = None
    pcp_batch: int | None = None
    thp: bool = True
    sparsemem_classic: bool = False
    pageblocks: tuple[PageblockInit, ...] = ()
    holes: tuple[PfnRange, ...] = ()
    reserved: tuple[PfnRange, ...] = ()

    @property
    def end_pfn(self) -> int:
        """First pfn after the zone (``zone_end_pfn``)."""
        return self.start_pfn + self.pages

    @property
    def pageblock_nr_pages(self) -> int:
        return 1 << self.pageblock_order


@dataclass(frozen=True, slots=True)
class CmaArea:
    """A CMA area (``struct cma``): its bitmap has one bit per ``2^order_per_bit`` pages."""

    name: str
    range: PfnRange
    order_per_bit: int = 0


@dataclass(frozen=True, slots=True)
class CpuProgram:
    """The ops of one CPU (``cpu0``, ``cpu1``, ... in file order)."""

    name: str
    ops: tuple[Op, ...]


@dataclass(frozen=True, slots=True, order=True)
class PolicySpec:
    """``"<preset> [+switch|-switch]..."``: a preset with switches added or removed.

    Switch tuples are kept sorted so that two spellings of one design compare equal.
    """

    preset: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.preset, *(f"+{s}" for s in self.add), *(f"-{s}" for s in self.remove)]
        return " ".join(parts)


EXPECTATION_KINDS: tuple[str, ...] = ("pass", "violation", "n/a")


@dataclass(frozen=True, slots=True)
class Expectation:
    """The verdict a design must get: ``pass``, ``violation`` (of ``invariant`` if set),
    or ``n/a`` (the scenario does not apply to that design)."""

    kind: str
    invariant: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.invariant}" if self.invariant else self.kind


@dataclass(frozen=True, slots=True)
class ExpectEntry:
    """One line of ``[expect]``."""

    policy: PolicySpec
    expectation: Expectation


@dataclass(frozen=True, slots=True)
class ExploreHints:
    """Default budget of ``zonesim explore`` for this scenario (None: the CLI's default)."""

    executions: int | None = None
    max_steps: int | None = None
    strategy: str | None = None
    preemption_bound: int | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario file, validated.

    ``file`` is where it was read from (for messages); it is not part of equality or of
    :func:`scenario_fingerprint`.
    """

    name: str
    summary: str
    zone: Zone
    source: str | None = None
    description: str | None = None
    cma: tuple[CmaArea, ...] = ()
    setup: tuple[Op, ...] = ()
    cpus: tuple[CpuProgram, ...] = ()
    expect: tuple[ExpectEntry, ...] = ()
    explore: ExploreHints = ExploreHints()
    file: str = field(default="", compare=False)

    def expectation_for(self, policy: PolicySpec) -> Expectation | None:
        """The expected verdict for ``policy``, or None when ``[expect]`` does not say."""
        for entry in self.expect:
            if entry.policy == policy:
                return entry.expectation
        return None
