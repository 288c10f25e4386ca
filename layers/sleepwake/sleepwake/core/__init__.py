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
from sleepwake.core.planner import DayPlan, PlannerSettings, Window, plan_day, plan_week
from sleepwake.core.polling import FirstPoll, next_poll_seconds, plan_first_poll, poll_times
from sleepwake.core.schedule import DailyCron, QuietHours
from sleepwake.core.timestamps import compact, iso

__all__ = [
    "DailyCron",
    "DayPlan",
    "FirstPoll",
    "ICStatus",
    "ObservedCopies",
    "PlannerSettings",
    "Policy",
    "QuietHours",
    "ScaleCheck",
    "ScaleVerdict",
    "SleepDecision",
    "State",
    "StateRecord",
    "WakeAction",
    "WakeDecision",
    "Window",
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
    "next_poll_seconds",
    "plan_day",
    "plan_first_poll",
    "plan_week",
    "poll_times",
    "settled_state",
]
