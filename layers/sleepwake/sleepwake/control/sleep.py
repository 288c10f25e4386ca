"""Sleeping: the sleep state machine's first step decides whether to sleep now (idle, lease, quiet hours or the
learned plan, a wake in flight) and, if so, claims the record for the sleep."""

from __future__ import annotations

import uuid
from typing import Any

from sleepwake.adapters.state_table import Change
from sleepwake.control.plane import ControlPlane
from sleepwake.core import State, StateRecord, decide_sleep
from sleepwake.core.applied_plan import cron_skip_reason, is_planned_awake, learned_day, unplanned_hours
from sleepwake.core.decisions import SleepTrigger
from sleepwake.observability import MetricUnit, logger, metrics


def decide_and_claim_sleep(
    plane: ControlPlane, *, trigger: SleepTrigger, force: bool = False, execution_name: str | None = None
) -> dict[str, Any]:
    def decide(record: StateRecord) -> Change[dict[str, Any]]:
        now = plane.now()
        observed = plane.aws.components.observe(plane.ic)
        plan = plane.applied_plan() if trigger != "manual" else None
        skip = cron_skip_reason(plan, now, "sleep") if trigger == "schedule" and not force else None
        if skip:
            logger.info("sleep decision", extra={"sleep": False, "reason": skip, "trigger": trigger})
            return Change(None, {"sleep": False, "reason": skip, "op_id": None})
        planned_awake = is_planned_awake(plan, now)
        # A learned day replaces the quiet hours: the idle check may sleep the component at any hour, after
        # Policy.planned_idle_minutes inside a planned window and UnplannedIdleMinutes outside (where the plan
        # expects nobody; a request meanwhile wakes it through the no-capacity alarm, and the fallback, where
        # there is one, answers it).
        policy = plane.policy
        if learned_day(plan, now) is not None:
            policy = policy.model_copy(update={"naps": True})
        if unplanned_hours(plan, now):
            policy = policy.model_copy(update={"idle_minutes": plane.settings.unplanned_idle_minutes})
        window = policy.idle_window_minutes(planned_awake=planned_awake)
        recent = plane.aws.metrics.invocations(plane.ic, window, now)
        decision = decide_sleep(
            record,
            observed,
            policy,
            now,
            trigger=trigger,
            recent_invocations=recent,
            force=force,
            planned_awake=planned_awake,
        )
        logger.info(
            "sleep decision",
            extra={
                "sleep": decision.sleep,
                "reason": decision.reason,
                "trigger": trigger,
                "state": record.state.value,
                "recent_invocations": recent,
                "planned_awake": planned_awake,
            },
        )
        if not decision.sleep:
            metrics.add_metric(name="SleepSkipped", unit=MetricUnit.Count, value=1)
            return Change(None, {"sleep": False, "reason": decision.reason, "op_id": None})
        op_id = uuid.uuid4().hex[:16]
        claim = {
            "state": State.SLEEPING,
            "op_id": op_id,
            "op_kind": "sleep",
            "since": now,
            "op_started": now,
            "reason": f"{trigger}: {decision.reason}",
            "execution_name": execution_name,
            "lease_until": None if force else record.lease_until,
        }
        return Change(record.model_copy(update=claim), {"sleep": True, "reason": decision.reason, "op_id": op_id})

    answer, _ = plane.aws.table.update(plane.ic, decide, what="decide a sleep")
    return answer
