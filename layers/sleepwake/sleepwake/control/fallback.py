"""The serverless fallback that answers while the component sleeps: its pre-warm when a wake starts or the
component goes to sleep where users may come, its warm-up (the warm-up function's `{"target": "fallback"}`
and the post-deploy warm-up), and the keep-warm tick (`{"target": "keep-warm"}`, every FallbackPingMinutes)."""

from __future__ import annotations

from dataclasses import dataclass

from sleepwake.adapters.sagemaker import InvocationError
from sleepwake.control.plane import ControlPlane
from sleepwake.control.warmup import WarmupResult, count_warmup_request, warmup_payload
from sleepwake.core import is_serving
from sleepwake.core.applied_plan import StoredMayCome
from sleepwake.core.keep_warm import KeepWarmMode, prewarm_on, should_ping
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
    # Timed on the control plane's clock, as the product client times users' answers (the emulated one locally).
    asked = plane.now()
    try:
        call = plane.aws.runtime.invoke_endpoint(endpoint, warmup_payload(), plane.settings.warmup_content_type)
    except InvocationError:
        logger.exception("fallback warm-up failed", extra={"endpoint": endpoint})
        waited = (plane.now() - asked).total_seconds()
        count_warmup_request(plane, "fallback", endpoint, failed=True, waited=waited)
        raise
    count_warmup_request(plane, "fallback", endpoint, failed=False, waited=(plane.now() - asked).total_seconds())
    latency = round(call.latency_ms, 2)
    metrics.add_metric(name="FallbackWarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
    logger.info("fallback warmed", extra={"endpoint": endpoint, "latency_ms": latency})
    return WarmupResult(latencies_ms=[latency], warm=True, reason=f"{endpoint} answered in {latency:.0f} ms")


@dataclass
class KeepWarmOutcome:
    pinged: bool
    reason: str
    latency_ms: float | None = None


def keep_fallback_warm(plane: ControlPlane) -> KeepWarmOutcome:
    """The keep-warm tick: one request to the fallback when the mode pings, the component does not serve and the
    stored plan says users may come now (sleepwake.core.keep_warm.should_ping); nothing otherwise, so outside
    those windows the fallback goes cold and costs nothing. A failed ping raises InvocationError."""
    settings = plane.settings.keep_warm_settings()
    if settings.mode == KeepWarmMode.NONE:
        reason = "keep-warm is off" if plane.settings.has_fallback else "no fallback endpoint"
        return _skipped(reason)
    now = plane.now()
    may_come = StoredMayCome(plane.stored_plan())
    serving = is_serving(plane.aws.components.observe(plane.ic))
    if not should_ping(now, may_come, serving, settings):
        if serving:
            return _skipped("the component serves: the fallback answers nobody")
        return _skipped("the plan says nobody comes now: the fallback may go cold")
    result = warm_fallback(plane)
    return KeepWarmOutcome(True, f"users may come and the component sleeps: {result.reason}", result.latencies_ms[0])


def prewarm_at_sleep(plane: ControlPlane) -> bool:
    """At a sleep where users may come, hand the fallback a pre-warm: it idled while the component served, and
    the next keep-warm tick may be minutes away. True when one was handed over."""
    may_come = StoredMayCome(plane.stored_plan())
    if not prewarm_on("sleep", plane.now(), may_come, plane.settings.keep_warm_settings()):
        return False
    return prewarm_fallback(plane)


def _skipped(reason: str) -> KeepWarmOutcome:
    logger.info("fallback keep-warm: no ping", extra={"reason": reason})
    return KeepWarmOutcome(False, reason)
