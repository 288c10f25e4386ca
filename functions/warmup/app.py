"""Wake step: send real warm-up requests until the copy is warm; each latency is a WarmupLatencyMs metric.

With `{"target": "fallback"}` (the wake API's asynchronous pre-warm) it sends one request to the serverless
fallback instead, so its cold start is over before a user's request needs it. With `{"target": "keep-warm"}`
(the keep-warm schedule) it sends one only where the plan says users may come and the component sleeps."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.fallback import keep_fallback_warm, warm_fallback
from sleepwake.control.warmup import warm_up
from sleepwake.events import WarmupInput
from sleepwake.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WarmupInput.model_validate(event)
    plane = runtime.plane()
    if step.target == "keep-warm":
        outcome = keep_fallback_warm(plane)
        return {"pinged": outcome.pinged, "reason": outcome.reason, "latency_ms": outcome.latency_ms}
    result = warm_fallback(plane) if step.target == "fallback" else warm_up(plane, invocations=step.invocations)
    return {"latencies_ms": result.latencies_ms, "warm": result.warm, "reason": result.reason}
