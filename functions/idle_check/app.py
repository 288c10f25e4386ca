"""The idle schedule's target: decide whether to sleep now and start the sleep state machine only to sleep."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.sleep import idle_check
from sleepwake.events import DecideSleepInput
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check = DecideSleepInput.model_validate(event)
    return idle_check(runtime.plane(), trigger=check.trigger, force=check.force)
