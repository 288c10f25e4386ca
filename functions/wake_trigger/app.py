"""Starts (or joins) a wake from the morning schedule or from the no-capacity alarm's state change."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import service
from sleepwake.events import AlarmStateChange, ScheduledWake
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        alarm = AlarmStateChange.model_validate(event)
        if not alarm.entered_alarm:
            logger.info("alarm left ALARM; nothing to do", extra={"alarm": alarm.alarm_name})
            return {"started": False, "reason": "alarm not in ALARM state"}
        source, reason = "alarm", f"no-capacity alarm {alarm.alarm_name}"
    else:
        scheduled = ScheduledWake.model_validate(event)
        source, reason = scheduled.source, scheduled.reason
    outcome = service.from_environment().request_wake(reason=reason, source=source)
    return {
        "state": outcome.state.value,
        "execution": outcome.execution,
        "started": outcome.started,
        "reason": outcome.reason,
    }
