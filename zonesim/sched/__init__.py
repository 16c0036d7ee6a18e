"""zonesim.sched: the deterministic scheduler on trio (knows no pages).

Simulated CPUs are trio tasks running async kernel paths; ``switch_point`` is where the
scheduler's strategy decides who runs.  Modelled locks, atomic sections and per-CPU work;
strategies (random, PCT, DFS, replay, Hypothesis); schedule strings; shrinking.
"""

from zonesim.sched.choice import Choice, ChoiceValue, Recorder, preemptions
from zonesim.sched.cpu import current_cpu
from zonesim.sched.dfs import DFSStrategy
from zonesim.sched.errors import (
    Deadlock,
    ForeignAwait,
    LivelockSuspected,
    ReplayMismatch,
    SchedError,
    ScheduleFormatError,
    SleepInAtomic,
    WaitFor,
)
from zonesim.sched.execution import Exploration, Failure, Setup, execute, explore
from zonesim.sched.footprint import Access, Obj, reads, writes
from zonesim.sched.hypothesis_strategy import HypothesisStrategy, hypothesis_search
from zonesim.sched.locks import Mutex, SpinLock, in_atomic, irq_off, irqs_disabled, preempt_disable
from zonesim.sched.pct import PCTStrategy
from zonesim.sched.random_strategy import RandomStrategy
from zonesim.sched.replay import ReplayStrategy
from zonesim.sched.schedule import decode, encode
from zonesim.sched.scheduler import (
    ExecutionResult,
    Scheduler,
    choose,
    suspended_in_section,
    switch_point,
    window,
    window_candidates,
    yield_cpu,
)
from zonesim.sched.shrink import shrink, sort_key
from zonesim.sched.strategy import Strategy
from zonesim.sched.work import Work

__all__ = [
    "Access",
    "Choice",
    "ChoiceValue",
    "DFSStrategy",
    "Deadlock",
    "ExecutionResult",
    "Exploration",
    "Failure",
    "ForeignAwait",
    "HypothesisStrategy",
    "LivelockSuspected",
    "Mutex",
    "Obj",
    "PCTStrategy",
    "RandomStrategy",
    "Recorder",
    "ReplayMismatch",
    "ReplayStrategy",
    "SchedError",
    "ScheduleFormatError",
    "Scheduler",
    "Setup",
    "SleepInAtomic",
    "SpinLock",
    "Strategy",
    "WaitFor",
    "Work",
    "choose",
    "current_cpu",
    "decode",
    "encode",
    "execute",
    "explore",
    "hypothesis_search",
    "in_atomic",
    "irq_off",
    "irqs_disabled",
    "preempt_disable",
    "preemptions",
    "reads",
    "shrink",
    "sort_key",
    "suspended_in_section",
    "switch_point",
    "window",
    "window_candidates",
    "writes",
    "yield_cpu",
]
