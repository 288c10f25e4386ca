"""Sleep step: decide whether to sleep now (idle, lease, quiet hours, wake in flight) and claim the component."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.sleep import decide_and_claim_sleep
from sleepwake.events import DecideSleepInput
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = DecideSleepInput.model_validate(event)
    return decide_and_claim_sleep(
        runtime.plane(), trigger=step.trigger, force=step.force, execution_name=step.execution_name
    )
