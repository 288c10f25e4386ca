"""The plan job: learn today's and the next days' windows from the request history, store them and (in learned
mode) schedule one one-time wake per planned window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sleepwake.control.plane import ControlPlane
from sleepwake.core.applied_plan import PlannedDay, StoredPlan, wake_schedule_name, wakes_to_schedule
from sleepwake.core.keep_warm import may_come_plan
from sleepwake.core.planner import plan_day
from sleepwake.observability import logger


@dataclass
class PlanOutcome:
    mode: str
    days: list[PlannedDay]
    created: list[str]
    deleted: list[str]
    history_points: int


def request_history(plane: ControlPlane, *, days: int, now: datetime) -> list[tuple[datetime, float]]:
    """Requests per 5-minute slot over the last `days` days, what the planner learns from: the component's and,
    with a fallback, the fallback's (a request the fallback answered is demand all the same)."""
    return plane.aws.metrics.invocation_history(
        plane.ic, now - timedelta(days=days), now, fallback_endpoint=plane.settings.fallback_endpoint_name or None
    )


def make_plan(plane: ControlPlane, *, days: int = 2) -> PlanOutcome:
    """Plan today and the next `days - 1` local days from the request history, store the plan and (in learned
    mode) schedule one one-time wake per planned window, deleting the previous plan's leftovers."""
    settings, aws = plane.settings, plane.aws
    if aws.schedules is None:
        raise RuntimeError("the plan job needs the scheduler adapter")
    now = plane.now()
    tz = settings.wake_timezone
    planner = settings.planner_settings()
    history = request_history(plane, days=planner.max_history_days + 1, now=now)
    today = now.astimezone(ZoneInfo(tz)).date()
    plans = [plan_day(history, today + timedelta(days=i), tz, planner) for i in range(days)]
    # The windows in which users may come: the fallback is kept warm in them (stored in either mode; without a
    # fallback, or with keep-warm off, nothing reads them).
    keep_warm = settings.keep_warm_settings()
    may_come = [may_come_plan(history, plan.day, tz, planner, keep_warm) for plan in plans]
    for plan in plans:
        logger.info(
            "planned a day", extra={"day": plan.day.isoformat(), "learned": plan.learned, "reason": plan.reason}
        )
    mode = settings.applied_schedule_mode
    previous = plane.stored_plan()
    wanted = {wake_schedule_name(w): w for w in wakes_to_schedule(plans, now)} if mode == "learned" else {}
    created: list[str] = []
    deleted: list[str] = []
    group = settings.plan_schedule_group
    for name in sorted(set(previous.schedules if previous else []) - set(wanted)):
        if aws.schedules.delete(name=name, group=group):
            deleted.append(name)
    for name, wake in sorted(wanted.items()):
        reason = f"planned wake {wake.astimezone(ZoneInfo(tz)):%a %H:%M} ahead of a window the history says is busy"
        if aws.schedules.create(
            name=name,
            group=group,
            at=wake,
            tz=tz,
            target_arn=settings.planned_wake_target_arn,
            role_arn=settings.planned_wake_role_arn,
            reason=reason,
        ):
            created.append(name)
    stored = StoredPlan(
        made_at=now,
        mode=mode,
        tz=tz,
        days=[PlannedDay.of(p, m) for p, m in zip(plans, may_come, strict=True)],
        schedules=sorted(wanted),
    )
    aws.table.put_plan(plane.ic, stored)
    logger.info(
        "plan stored",
        extra={"mode": mode, "wakes_created": created, "wakes_deleted": deleted, "history_points": len(history)},
    )
    return PlanOutcome(mode, stored.days, created, deleted, len(history))
