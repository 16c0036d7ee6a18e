"""Vocabulary of the zone model: pfns, orders, migratetypes (include/linux/mmzone.h, v5.15)."""

from __future__ import annotations

import enum
from typing import NewType

Pfn = NewType("Pfn", int)
Order = NewType("Order", int)
CpuId = NewType("CpuId", int)
AllocId = NewType("AllocId", int)


class MigrateType(enum.IntEnum):
    """enum migratetype with CONFIG_CMA and CONFIG_MEMORY_ISOLATION (v5.15 values)."""

    UNMOVABLE = 0
    MOVABLE = 1
    RECLAIMABLE = 2
    HIGHATOMIC = 3  # == MIGRATE_PCPTYPES: first type without a pcp list
    CMA = 4
    ISOLATE = 5

    @property
    def kernel_name(self) -> str:
        """The string of migratetype_names[] (/proc/pagetypeinfo)."""
        return _NAMES[self]

    @property
    def letter(self) -> str:
        """The show_free_areas() letter (U M E H C I)."""
        return _LETTERS[self]

    @classmethod
    def from_scenario(cls, name: str) -> MigrateType:
        """Scenario spelling (``"movable"``) to the enum; raises KeyError on unknown names."""
        return _BY_SCENARIO_NAME[name]

    @property
    def scenario_name(self) -> str:
        return self.name.lower()


MIGRATE_PCPTYPES = 3
MIGRATE_TYPES = 6
_NAMES = {
    MigrateType.UNMOVABLE: "Unmovable",
    MigrateType.MOVABLE: "Movable",
    MigrateType.RECLAIMABLE: "Reclaimable",
    MigrateType.HIGHATOMIC: "HighAtomic",
    MigrateType.CMA: "CMA",
    MigrateType.ISOLATE: "Isolate",
}
_LETTERS = {
    MigrateType.UNMOVABLE: "U",
    MigrateType.MOVABLE: "M",
    MigrateType.RECLAIMABLE: "E",
    MigrateType.HIGHATOMIC: "H",
    MigrateType.CMA: "C",
    MigrateType.ISOLATE: "I",
}
_BY_SCENARIO_NAME = {mt.name.lower(): mt for mt in MigrateType}
SCENARIO_MIGRATETYPE_NAMES: tuple[str, ...] = tuple(mt.name.lower() for mt in MigrateType)
