"""zonesim.sched: the deterministic scheduler on trio (knows no pages).

Simulated CPUs are trio tasks running async kernel paths; ``switch_point`` is where the
scheduler's strategy decides who runs.  Modelled locks, atomic sections and per-CPU work;
strategies (random, PCT, POS, DFS, replay, Hypothesis); schedule strings; shrinking.
"""

from zonesim.sched.choice import Choice, ChoiceLog, ChoiceValue, Recorder, preemptions
from zonesim.sched.cpu import current_cpu
from zonesim.sched.dfs import DFSStrategy
from zonesim.sched.dpor import DPORStrategy
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
from zonesim.sched.footprint import (
    ZONE,
    Access,
    Footprint,
    Obj,
    pcp_objects,
    reads,
    writes,
)
from zonesim.sched.hypothesis_strategy import HypothesisStrategy, hypothesis_search
from zonesim.sched.locks import Mutex, SpinLock, in_atomic, irq_off, irqs_disabled, preempt_disable
from zonesim.sched.pct import PCTStrategy
from zonesim.sched.pos import POSStrategy
from zonesim.sched.random_strategy import RandomStrategy
from zonesim.sched.replay import (
    Divergence,
    FingerprintMismatch,
    ReplayStrategy,
    check_fingerprint,
    first_divergence,
    replay_schedule,
)
from zonesim.sched.schedule import Schedule, decode, encode, parse_schedule
from zonesim.sched.scheduler import (
    ExecutionResult,
    Scheduler,
    choose,
    record_window_site,
    suspended_in_section,
    switch_enter,
    switch_point,
    switch_rest,
    window,
    window_candidates,
    windows_possible,
    yield_cpu,
)
from zonesim.sched.shrink import ShrinkStats, shrink, sort_key
from zonesim.sched.sleep import ReducedDFS, SleepSet
from zonesim.sched.steps import StepRecorder
from zonesim.sched.strategy import Horizon, Strategy
from zonesim.sched.work import Work

__all__ = [
    "ZONE",
    "Access",
    "Choice",
    "ChoiceLog",
    "ChoiceValue",
    "DFSStrategy",
    "DPORStrategy",
    "Deadlock",
    "Divergence",
    "ExecutionResult",
    "Exploration",
    "Failure",
    "FingerprintMismatch",
    "Footprint",
    "ForeignAwait",
    "Horizon",
    "HypothesisStrategy",
    "LivelockSuspected",
    "Mutex",
    "Obj",
    "PCTStrategy",
    "POSStrategy",
    "RandomStrategy",
    "Recorder",
    "ReducedDFS",
    "ReplayMismatch",
    "ReplayStrategy",
    "SchedError",
    "Schedule",
    "ScheduleFormatError",
    "Scheduler",
    "Setup",
    "ShrinkStats",
    "SleepInAtomic",
    "SleepSet",
    "SpinLock",
    "StepRecorder",
    "Strategy",
    "WaitFor",
    "Work",
    "check_fingerprint",
    "choose",
    "current_cpu",
    "decode",
    "encode",
    "execute",
    "explore",
    "first_divergence",
    "hypothesis_search",
    "in_atomic",
    "irq_off",
    "irqs_disabled",
    "parse_schedule",
    "pcp_objects",
    "preempt_disable",
    "preemptions",
    "reads",
    "record_window_site",
    "replay_schedule",
    "shrink",
    "sort_key",
    "suspended_in_section",
    "switch_enter",
    "switch_point",
    "switch_rest",
    "window",
    "window_candidates",
    "windows_possible",
    "writes",
    "yield_cpu",
]
