"""Starts (or joins) a wake from the morning schedule, a planned wake or the no-capacity alarm's state change."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.wake import request_wake, scheduled_wake
from sleepwake.events import AlarmStateChange, ScheduledWake
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plane = runtime.plane()
    if "detail-type" in event:
        alarm = AlarmStateChange.model_validate(event)
        if not alarm.entered_alarm:
            logger.info("alarm left ALARM; nothing to do", extra={"alarm": alarm.alarm_name})
            return {"started": False, "reason": "alarm not in ALARM state"}
        outcome = request_wake(plane, reason=f"no-capacity alarm {alarm.alarm_name}", source="alarm")
    else:
        scheduled = ScheduledWake.model_validate(event)
        # The morning cron steps aside on a day the learned plan governs (None); a planned wake always acts.
        found = scheduled_wake(plane, source=scheduled.source, reason=scheduled.reason)
        if found is None:
            return {"started": False, "reason": "the learned schedule applies today; the planned wakes replace this"}
        outcome = found
    return {
        "state": outcome.state.value,
        "execution": outcome.execution,
        "started": outcome.started,
        "reason": outcome.reason,
    }
