"""Sleeping: the sleep state machine's first step decides whether to sleep now (idle, lease, quiet hours or the
learned plan, a wake in flight) and, if so, claims the record for the sleep."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sleepwake.adapters.state_table import Change
from sleepwake.control.fallback import prewarm_at_sleep
from sleepwake.control.plane import ControlPlane
from sleepwake.core import State, StateRecord, compact, decide_sleep
from sleepwake.core.applied_plan import cron_skip_reason, is_planned_awake, learned_day, unplanned_hours
from sleepwake.core.decisions import SleepTrigger
from sleepwake.observability import MetricUnit, logger, metrics


def _decide(plane: ControlPlane, record: StateRecord, *, trigger: SleepTrigger, force: bool) -> tuple[bool, str]:
    """Whether to sleep now and why, from the record, the component's copies, the plan and the recent requests:
    the one decision both the idle check and the sleep state machine's first step make."""
    now = plane.now()
    observed = plane.aws.components.observe(plane.ic)
    plan = plane.applied_plan() if trigger != "manual" else None
    skip = cron_skip_reason(plan, now, "sleep") if trigger == "schedule" and not force else None
    if skip:
        logger.info("sleep decision", extra={"sleep": False, "reason": skip, "trigger": trigger})
        return False, skip
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
    return decision.sleep, decision.reason


def decide_and_claim_sleep(
    plane: ControlPlane, *, trigger: SleepTrigger, force: bool = False, execution_name: str | None = None
) -> dict[str, Any]:
    """The sleep state machine's first step: decide, and claim the record for the sleep in the same conditional
    write, so that of any number of sleeps (and wakes) deciding at once exactly one claims."""

    def decide(record: StateRecord) -> Change[dict[str, Any]]:
        now = plane.now()
        sleep, reason = _decide(plane, record, trigger=trigger, force=force)
        if not sleep:
            return Change(None, {"sleep": False, "reason": reason, "op_id": None})
        op_id = uuid.uuid4().hex[:16]
        claim = {
            "state": State.SLEEPING,
            "op_id": op_id,
            "op_kind": "sleep",
            "since": now,
            "op_started": now,
            "reason": f"{trigger}: {reason}",
            "execution_name": execution_name,
            "lease_until": None if force else record.lease_until,
        }
        return Change(record.model_copy(update=claim), {"sleep": True, "reason": reason, "op_id": op_id})

    answer, _ = plane.aws.table.update(plane.ic, decide, what="decide a sleep")
    if answer["sleep"]:
        # Before the copies go: where users may come, the fallback must be warm when the next one does.
        prewarm_at_sleep(plane)
    return answer


def idle_check(plane: ControlPlane, *, trigger: SleepTrigger = "idle", force: bool = False) -> dict[str, Any]:
    """The idle schedule's check, Lambda first: make the sleep decision from a read of the record (no claim) and
    start the sleep state machine only when it says sleep, with the input the schedule gave. Most checks skip
    (the component is asleep or in use), and a skip here costs no state transition. The execution's first step
    decides again and claims (`decide_and_claim_sleep`), so the claim stays the one authority: a request or a
    wake between this read and that step makes the execution skip, and two checks that both start one claim
    once (docs/design.md, "The idle check")."""
    sleep, reason = _decide(plane, plane.aws.table.get(plane.ic), trigger=trigger, force=force)
    if not sleep:
        return {"sleep": False, "reason": reason, "execution": None}
    execution = start_sleep(plane, payload={"trigger": trigger, "force": force}, prefix=f"{trigger}-sleep")
    logger.info("idle check started a sleep", extra={"execution": execution, "reason": reason})
    return {"sleep": True, "reason": reason, "execution": execution}


@dataclass(frozen=True)
class SleepResult:
    """How a sleep execution ended: the Asleep, Skipped or Superseded end state of statemachines/sleep.asl.json,
    or a failure, with the reason the control plane gave."""

    outcome: Literal["asleep", "skipped", "superseded", "failed"]
    reason: str


def start_sleep(plane: ControlPlane, *, payload: dict[str, Any], prefix: str, machine_arn: str | None = None) -> str:
    """Start the sleep state machine (or the schedule's target `machine_arn`) now; its first step decides. Named
    with the stack's time, as wakes are, so a name sorts where its execution ran."""
    name = f"{prefix}-{compact(plane.now())}-{uuid.uuid4().hex[:6]}"
    return plane.aws.executions.start(machine_arn or plane.settings.sleep_state_machine_arn, name, payload)


def sleep_result(plane: ControlPlane, execution_arn: str) -> SleepResult | None:
    """How the sleep execution ended; None while it runs."""
    description = plane.aws.executions.describe(execution_arn)
    if description["status"] == "RUNNING":
        return None
    if description["status"] != "SUCCEEDED":
        cause = description.get("cause") or description.get("error") or description["status"].lower()
        return SleepResult("failed", str(cause))
    output = json.loads(description.get("output") or "{}")
    decision = output.get("decision") or {}
    if decision.get("sleep") is False:
        return SleepResult("skipped", str(decision.get("reason")))
    if (output.get("check") or {}).get("verdict") == "superseded" or "error" in output:
        return SleepResult("superseded", "a wake took over while it was going to sleep; the wake owns the copies now")
    return SleepResult("asleep", str(decision.get("reason", "")))
