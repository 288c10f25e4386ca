"""The serverless fallback that answers while the component sleeps: its pre-warm when a wake starts, and its
warm-up (the warm-up function's `{"target": "fallback"}` and the post-deploy warm-up)."""

from __future__ import annotations

from sleepwake.adapters.sagemaker import InvocationError
from sleepwake.control.plane import ControlPlane
from sleepwake.control.warmup import WarmupResult, warmup_payload
from sleepwake.observability import MetricUnit, logger, metrics


class NoFallback(Exception):
    """No fallback endpoint is configured (FALLBACK_ENDPOINT_NAME is empty)."""


def prewarm_fallback(plane: ControlPlane) -> bool:
    """Hand one warm-up request for the fallback to the warm-up function, asynchronously, so the fallback's cold
    start overlaps the wake instead of the next user's request. Never raises and never waits: the wake has
    started whatever happens here. True when the event was accepted."""
    endpoint, function = plane.settings.fallback_endpoint_name, plane.settings.warmup_function_name
    if not endpoint or not function or plane.aws.functions is None:
        return False
    try:
        plane.aws.functions.invoke_async(function, {"target": "fallback"})
    except Exception:
        logger.warning("could not hand the fallback's pre-warm over", exc_info=True, extra={"endpoint": endpoint})
        return False
    logger.info("fallback pre-warm sent", extra={"endpoint": endpoint, "function": function})
    return True


def warm_fallback(plane: ControlPlane) -> WarmupResult:
    """One real request to the fallback endpoint (its cold start, if it was cold, is inside the latency).
    Raises NoFallback without one, and InvocationError when the fallback answers with an error."""
    endpoint = plane.settings.fallback_endpoint_name
    if not endpoint:
        raise NoFallback("no fallback endpoint is configured (FALLBACK_ENDPOINT_NAME is empty)")
    try:
        call = plane.aws.runtime.invoke_endpoint(endpoint, warmup_payload(), plane.settings.warmup_content_type)
    except InvocationError:
        logger.exception("fallback warm-up failed", extra={"endpoint": endpoint})
        raise
    latency = round(call.latency_ms, 2)
    metrics.add_metric(name="FallbackWarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
    logger.info("fallback warmed", extra={"endpoint": endpoint, "latency_ms": latency})
    return WarmupResult(latencies_ms=[latency], warm=True, reason=f"{endpoint} answered in {latency:.0f} ms")
