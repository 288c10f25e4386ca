"""The state machines' steps: one poll of the copies (CheckCopyFunction) and a state transition on behalf of
the operation that owns the record (RecordStateFunction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sleepwake.adapters.state_table import Change
from sleepwake.control.plane import ControlPlane
from sleepwake.core import State, StateRecord, check_scale, next_poll_seconds
from sleepwake.core.report_waits import wake_wait
from sleepwake.observability import MetricUnit, component_metrics, logger, metrics


class NotOwner(Exception):
    """The state record belongs to another operation (a wake superseded this sleep, or a newer wake)."""


def check_copies(
    plane: ControlPlane, *, op_id: str, target: int, started_at: datetime, poll_seconds: int | None = None
) -> dict[str, Any]:
    record, observed = plane.observe()
    elapsed = (plane.now() - started_at).total_seconds()
    bounds = plane.aws.scaling.bounds(plane.ic)
    check = check_scale(
        observed,
        target,
        elapsed,
        plane.policy,
        owner=record.op_id == op_id,
        min_capacity=bounds[0] if bounds else None,
    )
    logger.info(
        "copy check",
        extra={
            "op_id": op_id,
            "verdict": check.verdict.value,
            "reason": check.reason,
            "status": observed.status.value,
            "current": observed.current,
            "desired": observed.desired,
            "elapsed_s": round(elapsed, 1),
        },
    )
    return {
        "wait_seconds": next_poll_seconds(elapsed, plane.policy, poll_seconds=poll_seconds),
        "verdict": check.verdict.value,
        "reason": check.reason,
        "status": observed.status.value,
        "current": observed.current,
        "desired": observed.desired,
        "elapsed_seconds": round(elapsed, 3),
    }


def transition(
    plane: ControlPlane, *, op_id: str, to: State, error: str | None = None, latencies_ms: list[float] | None = None
) -> StateRecord:
    """Move the record on behalf of op_id; raises NotOwner if another operation owns it now."""

    def move(record: StateRecord) -> Change[tuple[StateRecord, datetime]]:
        if record.op_id != op_id:
            raise NotOwner(f"{op_id} no longer owns {plane.ic} (owner: {record.op_id}, state {record.state})")
        now = plane.now()
        update: dict[str, Any] = {"state": to}
        if to == State.FAILED:
            update["last_error"] = error or "unknown error"
        if latencies_ms is not None:
            update["warmup_latencies_ms"] = latencies_ms
        if to in (State.WARMING, State.READY, State.ASLEEP, State.FAILED):
            update["since"] = now
        return Change(record.model_copy(update=update), (record, now))

    (before, now), new = plane.aws.table.update(plane.ic, move, what=f"record {to} for {op_id}")
    record_metrics(before, new, now)
    if new.state == State.READY and before.op_kind == "wake" and before.op_started:
        warming = before.since if before.state == State.WARMING else None
        component_metrics(plane.ic, wake_wait(before.op_started, now, before.provisioning_seconds, warming))
    logger.info("state transition", extra={"op_id": op_id, "from": before.state.value, "to": to.value, "error": error})
    return new


def record_metrics(before: StateRecord, after: StateRecord, now: datetime) -> None:
    """The metrics a transition emits: time to ready, a completed sleep, a failed wake."""
    if after.state == State.READY and before.op_started:
        metrics.add_metric(
            name="TimeToReadySeconds", unit=MetricUnit.Seconds, value=(now - before.op_started).total_seconds()
        )
    elif after.state == State.ASLEEP:
        metrics.add_metric(name="SleepCompleted", unit=MetricUnit.Count, value=1)
    elif after.state == State.FAILED and before.op_kind == "wake":
        metrics.add_metric(name="WakeFailed", unit=MetricUnit.Count, value=1)
