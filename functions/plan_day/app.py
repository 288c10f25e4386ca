"""The plan job: learn today's and tomorrow's windows from the request history, store them, schedule the wakes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.plan import make_plan
from sleepwake.events import PlanRequest
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = PlanRequest.model_validate(event or {})
    outcome = make_plan(runtime.plane(), days=request.days)
    return {
        "mode": outcome.mode,
        "history_points": outcome.history_points,
        "created": outcome.created,
        "deleted": outcome.deleted,
        "days": [day.model_dump(mode="json") for day in outcome.days],
    }
