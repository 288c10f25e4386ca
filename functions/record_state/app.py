"""Wake/sleep step: record a state transition for the operation that owns the component.

Raises NotOwner (a Step Functions error name the state machines catch) when another operation took over.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.steps import transition
from sleepwake.events import RecordStateInput
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = RecordStateInput.model_validate(event)
    record = transition(runtime.plane(), op_id=step.op_id, to=step.to, error=step.error, latencies_ms=step.latencies_ms)
    return {"state": record.state.value, "version": record.version}
