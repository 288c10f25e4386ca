"""The pure core: every decision as a function of (observed state, config, now). No boto3, no clock."""

from sleepwake.core.decisions import (
    ScaleCheck,
    ScaleVerdict,
    SleepDecision,
    WakeAction,
    WakeDecision,
    check_scale,
    decide_sleep,
    decide_wake,
    effective_state,
    eta_seconds,
    extend_lease,
    has_serving_copies,
    is_serving,
    is_warm,
    settled_state,
)
from sleepwake.core.model import ICStatus, ObservedCopies, Policy, State, StateRecord
from sleepwake.core.schedule import DailyCron, QuietHours
from sleepwake.core.timestamps import compact, iso

__all__ = [
    "DailyCron",
    "ICStatus",
    "ObservedCopies",
    "Policy",
    "QuietHours",
    "ScaleCheck",
    "ScaleVerdict",
    "SleepDecision",
    "State",
    "StateRecord",
    "WakeAction",
    "WakeDecision",
    "check_scale",
    "compact",
    "decide_sleep",
    "decide_wake",
    "effective_state",
    "eta_seconds",
    "extend_lease",
    "has_serving_copies",
    "is_serving",
    "is_warm",
    "iso",
    "settled_state",
]
