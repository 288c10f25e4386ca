"""A wake or sleep execution that ended FAILED, TIMED_OUT or ABORTED: record it (only while the record still
names it), re-arm the no-capacity alarm and notify, exactly once per execution."""

from __future__ import annotations

from typing import Any

from sleepwake.adapters.state_table import Change, Conflict
from sleepwake.control.plane import ControlPlane
from sleepwake.control.steps import record_metrics
from sleepwake.core import EndDecision, EndedExecution, State, StateRecord, decide_execution_end, failure_text
from sleepwake.observability import MetricUnit, logger, metrics


def on_execution_end(plane: ControlPlane, ended: EndedExecution) -> dict[str, Any]:
    """Record a wake or sleep that ended FAILED, TIMED_OUT or ABORTED (only while the record still names it),
    re-arm the no-capacity alarm and notify, exactly once per execution."""

    def claim(record: StateRecord) -> Change[tuple[EndDecision, StateRecord]]:
        decision = decide_execution_end(record, ended)
        logger.info(
            "execution ended",
            extra={
                "execution": ended.name,
                "kind": ended.kind,
                "status": ended.status,
                "record_failure": decision.record_failure,
                "notify": decision.notify,
                "reason": decision.reason,
                "state": record.state.value,
            },
        )
        if not decision.notify:
            return Change(None, (decision, record))
        update: dict[str, Any] = {"last_notified": ended.name}
        if decision.record_failure:
            update |= {"state": State.FAILED, "last_error": failure_text(ended), "since": plane.now()}
        # The write also claims the notification, so a repeated event does not notify again.
        return Change(record.model_copy(update=update), (decision, record))

    (decision, before), claimed = plane.aws.table.update(plane.ic, claim, what=f"record the end of {ended.name}")
    if not decision.notify:
        return {"recorded": False, "notified": False, "reason": decision.reason}
    if decision.record_failure:
        record_metrics(before, claimed, claimed.since or plane.now())
    _rearm_no_capacity_alarm(plane, ended)
    try:
        _notify(plane, ended, decision.reason)
    except Exception:
        _release_notification(plane, ended.name, before.last_notified)  # let the event's retry notify
        raise
    return {"recorded": decision.record_failure, "notified": True, "reason": decision.reason}


def _rearm_no_capacity_alarm(plane: ControlPlane, ended: EndedExecution) -> None:
    # Requests that found no capacity while this wake ran left the alarm in ALARM; it acts on entering ALARM
    # only, so without this nothing would wake the component again.
    alarm = plane.settings.no_capacity_alarm_name
    if not (plane.aws.alarms and alarm):
        return
    try:
        plane.aws.alarms.rearm(alarm, f"re-armed by sleepwake after {ended.kind} {ended.name} ended")
    except Exception:  # the notification matters more than the re-arm
        logger.exception("could not re-arm the no-capacity alarm")


def _notify(plane: ControlPlane, ended: EndedExecution, why: str) -> None:
    topic = plane.settings.failure_topic_arn
    if not (plane.aws.notifications and topic):
        logger.warning("no failure topic configured; not notifying", extra={"execution": ended.name})
        return
    message = f"{failure_text(ended)} (component {plane.ic}). {why}."
    message_id = plane.aws.notifications.publish(topic, f"sleepwake: {ended.kind} {ended.status.lower()}", message)
    metrics.add_metric(name="FailureNotified", unit=MetricUnit.Count, value=1)
    logger.info("failure notified", extra={"execution": ended.name, "message_id": message_id})


def _release_notification(plane: ControlPlane, name: str, previous: str | None) -> None:
    def release(current: StateRecord) -> Change[None]:
        if current.last_notified != name:
            return Change(None, None)
        return Change(current.model_copy(update={"last_notified": previous}), None)

    try:
        plane.aws.table.update(plane.ic, release, what=f"release the notification of {name}")
    except Conflict:  # the failure being raised matters more; the record still names this execution as notified
        logger.error("could not release the notification claim", extra={"execution": name})
