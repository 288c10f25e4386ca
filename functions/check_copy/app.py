"""Wake/sleep step: one poll of the copies, judged by the core (reached, wait, reassert, failed, ...)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control import steps
from sleepwake.events import CheckCopyInput
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = CheckCopyInput.model_validate(event)
    return steps.check_copies(
        runtime.plane(),
        op_id=step.op_id,
        target=step.target,
        started_at=step.started_at,
        poll_seconds=step.poll_seconds,
    )
