"""Scenario ops -> kernel paths: what one simulated CPU does with its op list.

Part of the engine layer. Names bound with ``as`` map to data tokens (not allocation ids),
so a name still finds its pages after migration moved them. ``choose`` draws through the
scheduler's choice stream, so replay is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zonesim.check.registry import InvariantViolation, Violation
from zonesim.model.types import MigrateType
from zonesim.model.zone import Allocation
from zonesim.ops import (
    Kernel,
    alloc_pages,
    drain_all_pages,
    drain_local_pages,
    free_pages,
    zone_pcp_update,
)
from zonesim.ops.cma import cma_alloc, cma_release
from zonesim.ops.contig import alloc_contig_range, free_contig_range
from zonesim.ops.errno import EINVAL, ENOENT, errname
from zonesim.ops.hotplug import offline_pages, online_pages
from zonesim.ops.isolate_range import start_isolate_page_range
from zonesim.ops.isolation import (
    MEMORY_OFFLINE,
    REPORT_FAILURE,
    undo_isolate_page_range,
)
from zonesim.ops.memory_failure import soft_offline_page
from zonesim.ops.migrate import migrate_page
from zonesim.ops.virtio_mem import virtio_mem_plug, virtio_mem_unplug
from zonesim.scenario import (
    Alloc,
    AllocContigRange,
    Choose,
    CmaAlloc,
    CmaRelease,
    DrainAllPages,
    DrainLocalPages,
    Free,
    FreeContigRange,
    Isolate,
    Migrate,
    OfflinePages,
    OnlinePages,
    Op,
    PcpUpdate,
    Repeat,
    SoftOfflinePage,
    Unisolate,
    VirtioMemPlug,
    VirtioMemUnplug,
    format_op,
)
from zonesim.sched import choose


class UnsupportedOp(Exception):
    """An op of the file format that this version of the engine does not model."""


@dataclass
class Env:
    """Names bound by ``as``: each to the data tokens of the allocations it made."""

    names: dict[str, list[int]] = field(default_factory=dict)

    def copy(self) -> Env:
        return Env({k: list(v) for k, v in self.names.items()})


class Interp:
    def __init__(self, k: Kernel, cpu: int, env: Env) -> None:
        self.k = k
        self.cpu = cpu
        self.env = env

    async def run_ops(self, ops: tuple[Op, ...]) -> None:
        for op in ops:
            await self.run_op(op)

    async def run_op(self, op: Op) -> None:
        if not isinstance(op, Repeat | Choose):
            # A CPU can be preempted between two kernel calls, not only inside them.
            await self.k.sp(f"op:{type(op).KIND}", self.cpu)
        result = await self._dispatch(op)
        if op.expect is not None and not _matches(op.expect, result):
            raise InvariantViolation(
                Violation(
                    "expectation",
                    f"cpu{self.cpu}: {format_op(op)} returned {result}, the scenario expects "
                    f"{op.expect} ({op.path})",
                    expected=op.expect,
                    actual=result,
                )
            )

    async def _dispatch(self, op: Op) -> str:
        k, cpu = self.k, self.cpu
        match op:
            case Alloc():
                return await self._alloc(op)
            case Free():
                for a in self._take(op.ref):
                    await free_pages(k, cpu, a)
                return "ok"
            case DrainLocalPages():
                await drain_local_pages(k, cpu)
                return "ok"
            case DrainAllPages():
                await drain_all_pages(k, cpu)
                return "ok"
            case PcpUpdate():
                high = op.high if op.high is not None else k.zone.pageset_high
                batch = op.batch if op.batch is not None else k.zone.pageset_batch
                await zone_pcp_update(k, cpu, high, batch)
                return "ok"
            case Repeat():
                for _ in range(op.times):
                    saved = self.env.copy()
                    await self.run_ops(op.ops)
                    self.env = saved  # names inside a repeat are local to one iteration
                return "ok"
            case Isolate():
                flags = (MEMORY_OFFLINE if "MEMORY_OFFLINE" in op.flags else 0) | (
                    REPORT_FAILURE if "REPORT_FAILURE" in op.flags else 0
                )
                pb = k.zone.geometry.pageblock_nr_pages
                if (op.start % pb or op.end % pb) and not k.policy.has("6e263fff1de4"):
                    return errname(EINVAL)  # before 6e263fff1de4: BUG_ON(unaligned range)
                ret = await start_isolate_page_range(
                    k, cpu, op.start, op.end, int(op.migratetype), flags
                )
                if not ret:
                    k.checkpoint("isolate")
                return errname(ret)
            case Unisolate():
                await undo_isolate_page_range(k, cpu, op.start, op.end, int(op.migratetype))
                k.checkpoint("unisolate")
                return "ok"
            case AllocContigRange():
                ret, got = await alloc_contig_range(k, cpu, op.start, op.end, int(op.migratetype))
                self._bind(op.as_name, got)
                return errname(ret)
            case FreeContigRange():
                return await self._free_contig(op)
            case CmaAlloc():
                ret, got = await cma_alloc(k, cpu, k.zone.cma_areas[op.cma], op.count, op.align)
                self._bind(op.as_name, got)
                return errname(ret)
            case CmaRelease():
                for a in self._take(op.ref):
                    owner = [c for c in k.zone.cma_areas.values() if c.contains(a.pfn)]
                    if not owner or not await cma_release(k, cpu, owner[0], a):
                        return "fail"
                return "ok"
            case Migrate():
                result = "ok"
                for a in self._take(op.ref, keep=True):
                    ret = await migrate_page(k, cpu, a)
                    result = errname(ret) if ret else result
                if op.as_name is not None and op.ref in self.env.names:
                    self.env.names[op.as_name] = list(self.env.names[op.ref])
                return result
            case VirtioMemUnplug():
                ret, got = await virtio_mem_unplug(k, cpu, op.start, op.count)
                self._bind(op.as_name, got)
                return errname(ret)
            case VirtioMemPlug():
                allocs = (
                    self._take(op.ref)
                    if op.ref is not None
                    else self._covering(op.start or 0, op.count or 0)
                )
                if not allocs:
                    return errname(ENOENT)
                for a in allocs:
                    await virtio_mem_plug(k, cpu, a)
                return "ok"
            case SoftOfflinePage():
                pfns = (
                    [
                        self.k.zone.allocations[self.k.zone.by_token[t]].pfn
                        for t in self.env.names.get(op.ref, [])
                        if t in self.k.zone.by_token
                    ]
                    if op.ref is not None
                    else [op.pfn or 0]
                )
                result = "ok"
                for pfn in pfns:
                    ret = await soft_offline_page(k, cpu, pfn)
                    result = errname(ret) if ret else result
                return result
            case OfflinePages():
                return errname(await offline_pages(k, cpu, op.start, op.count))
            case OnlinePages():
                return errname(await online_pages(k, cpu, op.start, op.count))
            case Choose():
                weights = [o.weight for o in op.options]
                pick = choose(sum(weights), f"choose:{op.path}")
                for opt, w in zip(op.options, weights, strict=True):
                    if pick < w:
                        await self.run_ops(opt.ops)
                        break
                    pick -= w
                return "ok"
        raise UnsupportedOp(f"{op.path}: op {type(op).KIND!r} is not modelled by this engine yet")

    async def _alloc(self, op: Alloc) -> str:
        result = "ok"
        # A request names a pcp type. "highatomic" is an unmovable high-order atomic
        # request (ALLOC_HARDER may use the reserve); "cma" a movable one with ALLOC_CMA.
        mt, harder, cma = op.migratetype, False, op.cma
        if mt == MigrateType.HIGHATOMIC:
            mt, harder = MigrateType.UNMOVABLE, True
        elif mt == MigrateType.CMA:
            mt, cma = MigrateType.MOVABLE, True
        for n in range(op.count):
            a = await alloc_pages(
                self.k,
                self.cpu,
                op.order,
                mt,
                compound=op.compound,
                movable=op.movable,
                cma=cma,
                harder=harder,
                hugetlb=op.hugetlb,
                reclaim=op.reclaim,
            )
            if a is None:
                result = "null"
            if op.as_name is not None:
                # count > 1 binds name[0] .. name[count-1] (the file format's rule)
                name = op.as_name if op.count == 1 else f"{op.as_name}[{n}]"
                self.env.names[name] = [] if a is None else [a.token]
        return result

    def _bind(self, name: str | None, a: Allocation | None) -> None:
        if name is not None:
            self.env.names[name] = [] if a is None else [a.token]

    def _covering(self, start: int, count: int) -> list[Allocation]:
        """Contiguous allocations lying within [start, start+count)."""
        zone = self.k.zone
        return [
            a
            for a in zone.allocations.values()
            if a.contig and start <= a.pfn and a.pfn + a.nr <= start + count
        ]

    async def _free_contig(self, op: FreeContigRange) -> str:
        if op.ref is not None:
            for a in self._take(op.ref):
                await free_contig_range(self.k, self.cpu, a, a.pfn, a.nr)
            return "ok"
        start, count = op.start or 0, op.count or 0
        for a in self._covering(start, count):
            await free_contig_range(self.k, self.cpu, a, a.pfn, a.nr)
        return "ok"

    def _take(self, ref: str, keep: bool = False) -> list[Allocation]:
        """The live allocations a name stands for; the name is consumed unless ``keep``."""
        zone = self.k.zone
        out = []
        tokens = self.env.names.get(ref, []) if keep else self.env.names.pop(ref, [])
        for t in tokens:
            aid = zone.by_token.get(t)
            if aid is not None:
                out.append(zone.allocations[aid])
        return out


def _matches(expect: str, result: str) -> bool:
    if expect == "fail":
        return result != "ok"
    return expect == result
