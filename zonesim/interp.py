"""Scenario ops -> kernel paths: what one simulated CPU does with its op list.

Part of the engine layer. Names bound with ``as`` map to data tokens (not allocation ids),
so a name still finds its pages after migration moved them. ``choose`` draws through the
scheduler's choice stream, so replay is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zonesim.check.registry import InvariantViolation, Violation
from zonesim.model.zone import Allocation
from zonesim.ops import (
    Kernel,
    alloc_pages,
    drain_all_pages,
    drain_local_pages,
    free_pages,
    zone_pcp_update,
)
from zonesim.scenario import (
    Alloc,
    Choose,
    DrainAllPages,
    DrainLocalPages,
    Free,
    Op,
    PcpUpdate,
    Repeat,
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
        for n in range(op.count):
            a = await alloc_pages(
                self.k,
                self.cpu,
                op.order,
                op.migratetype,
                compound=op.compound,
                movable=op.movable,
                cma=op.cma,
            )
            if a is None:
                result = "null"
            if op.as_name is not None:
                # count > 1 binds name[0] .. name[count-1] (the file format's rule)
                name = op.as_name if op.count == 1 else f"{op.as_name}[{n}]"
                self.env.names[name] = [] if a is None else [a.token]
        return result

    def _take(self, ref: str) -> list[Allocation]:
        """The live allocations a name stands for; the name is consumed."""
        zone = self.k.zone
        out = []
        for t in self.env.names.pop(ref, []):
            aid = zone.by_token.get(t)
            if aid is not None:
                out.append(zone.allocations[aid])
        return out


def _matches(expect: str, result: str) -> bool:
    if expect == "fail":
        return result != "ok"
    return expect == result
