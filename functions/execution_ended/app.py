"""A wake or sleep execution ended FAILED, TIMED_OUT or ABORTED ("Step Functions Execution Status Change"):
record it when the record still names that execution, re-arm the no-capacity alarm, notify once.

StopExecution, an execution timeout, a States.Runtime error or a killed Lambda skip the state machine's own
"Record The Failure"; without this the record would say `waking` until the wake went stale.
"""

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.execution_end import on_execution_end
from sleepwake.core import EndedExecution
from sleepwake.events import ExecutionStatusChange
from sleepwake.observability import logger, metrics, tracer

ENDED = ("FAILED", "TIMED_OUT", "ABORTED")


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = ExecutionStatusChange.model_validate(event).detail
    plane = runtime.plane()
    kinds: dict[str, Literal["wake", "sleep"]] = {
        plane.settings.wake_state_machine_arn: "wake",
        plane.settings.sleep_state_machine_arn: "sleep",
    }
    kind = kinds.get(change.stateMachineArn)
    if kind is None or change.status not in ENDED:
        logger.info("not a failed wake or sleep; nothing to do", extra={"status": change.status})
        return {"recorded": False, "notified": False, "reason": f"{change.status} of {change.stateMachineArn}"}
    ended = EndedExecution(
        kind=kind,
        name=change.name,
        status=change.status,  # type: ignore[arg-type]  # narrowed by ENDED above
        error=change.error,
        cause=change.cause,
    )
    return on_execution_end(plane, ended)
