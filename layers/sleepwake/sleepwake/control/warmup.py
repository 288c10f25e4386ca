"""Warm-up: real requests to the serving copy until the core says it is warm (the wake's last step, the
post-deploy warm-up and `sleepwake warmup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from sleepwake.adapters.sagemaker import InvocationError, NoCapacityError
from sleepwake.control.plane import ControlPlane
from sleepwake.core import is_warm
from sleepwake.core.report_waits import COMPONENT_WARMUP_ERRORS_METRIC, COMPONENT_WARMUP_METRIC
from sleepwake.observability import MetricUnit, component_metrics, logger, metrics


class NotServing(Exception):
    """The component has no serving copy, so it cannot be warmed."""


@dataclass
class WarmupResult:
    latencies_ms: list[float] = field(default_factory=list)
    warm: bool = False
    reason: str = ""


def warmup_payload() -> bytes:
    """A real 1.5 s speech clip shipped in the layer, so warm-up runs the model's real decode path."""
    return resources.files("sleepwake").joinpath("assets/warmup.wav").read_bytes()


def warm_up(plane: ControlPlane, *, invocations: int | None = None, count: bool = True) -> WarmupResult:
    """Send real requests until the core says the copy is warm (at least N, at most the policy's cap).

    With `count` (in a function: the wake's warm-up step, the post-deploy warm-up) each request the component
    took is written as it returns, answered or failed, as an embedded metric with the component as a dimension:
    Sleepwake/ComponentWarmupRequests 1, and Sleepwake/ComponentWarmupErrors 1 too when it failed (a ModelError
    is one of the component's Invocations and Invocation5XXErrors all the same). So `sleepwake report` leaves
    them out of the users' requests and failures, also when the warm-up stops half way: a Lambda timeout loses
    at most the request in flight, not the ones before it. A request no copy took (no capacity) is none of
    the component's Invocations and is not counted. The operator CLI passes False: its process has no log group
    to turn the line into a metric, and the line would land in its answer on stdout."""
    minimum = invocations or plane.policy.warmup_invocations
    policy = plane.policy.model_copy(
        update={
            "warmup_invocations": minimum,
            "max_warmup_invocations": max(minimum, plane.policy.max_warmup_invocations),
        }
    )
    body = warmup_payload()
    result = WarmupResult()
    while not result.warm:
        try:
            call = plane.aws.runtime.invoke(
                plane.settings.endpoint_name, plane.ic, body, plane.settings.warmup_content_type
            )
        except NoCapacityError as error:  # no copy answered it: not one of the component's Invocations
            raise NotServing(f"{plane.ic} has no serving copy to warm: {error}") from error
        except InvocationError:
            if count:
                component_metrics(
                    plane.ic, {COMPONENT_WARMUP_METRIC: 1, COMPONENT_WARMUP_ERRORS_METRIC: 1}, MetricUnit.Count
                )
            raise
        if count:
            component_metrics(plane.ic, {COMPONENT_WARMUP_METRIC: 1}, MetricUnit.Count)
        result.latencies_ms.append(round(call.latency_ms, 2))
        metrics.add_metric(name="WarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
        result.warm, result.reason = is_warm(result.latencies_ms, policy)
    logger.info("warm-up done", extra={"latencies_ms": result.latencies_ms, "reason": result.reason})
    return result
