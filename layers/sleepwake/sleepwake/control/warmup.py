"""Warm-up: real requests to the serving copy until the core says it is warm (the wake's last step, the
post-deploy warm-up and `sleepwake warmup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from sleepwake.adapters.sagemaker import InvocationError, NoCapacityError
from sleepwake.control.plane import ControlPlane
from sleepwake.core import is_warm
from sleepwake.core.warmups import OWN, Path, own_dimensions
from sleepwake.observability import SERVICE, MetricUnit, component_metrics, logger, metrics


class NotServing(Exception):
    """The component has no serving copy, so it cannot be warmed."""


@dataclass
class WarmupResult:
    latencies_ms: list[float] = field(default_factory=list)
    warm: bool = False
    reason: str = ""
    uncounted: int = 0  # answered requests the control plane could not count as its own (PutMetricData failed)


def warmup_payload() -> bytes:
    """A real 1.5 s speech clip shipped in the layer, so warm-up runs the model's real decode path."""
    return resources.files("sleepwake").joinpath("assets/warmup.wav").read_bytes()


def warm_up(plane: ControlPlane, *, invocations: int | None = None, embedded: bool = True) -> WarmupResult:
    """Send real requests until the core says the copy is warm (at least N, at most the policy's cap).

    Each request the component took is counted as the control plane's own as it returns, answered or failed
    (sleepwake.core.warmups says what counts and why); a request no copy took (no capacity) is not. In a function
    (the wake's warm-up step, the post-deploy warm-up) as an `embedded` metric its log turns into one; the
    operator CLI (`sleepwake warmup`), whose stdout no log group reads, passes False and counts them with
    PutMetricData, the same metric and dimensions, with the operator's credentials."""
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
        except InvocationError as error:
            if not count_warmup_request(plane, "component", plane.ic, failed=True, embedded=embedded):
                error.add_note(UNCOUNTED)
            raise
        if not count_warmup_request(plane, "component", plane.ic, failed=False, embedded=embedded):
            result.uncounted += 1
        result.latencies_ms.append(round(call.latency_ms, 2))
        metrics.add_metric(name="WarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
        result.warm, result.reason = is_warm(result.latencies_ms, policy)
    logger.info("warm-up done", extra={"latencies_ms": result.latencies_ms, "reason": result.reason})
    return result


# Why a request the control plane sent would be read as a user's: said where it happens (`uncounted`, a note).
UNCOUNTED = "not counted as a warm-up (PutMetricData failed): `sleepwake report` counts it as a user's request"


def count_warmup_request(
    plane: ControlPlane, path: Path, name: str, *, failed: bool, embedded: bool = True, waited: float | None = None
) -> bool:
    """Count one warm-up request the control plane sent the component or the fallback endpoint `name`, answered
    or `failed`, as sleepwake.core.warmups says: the component's as an embedded metric when `embedded` (written
    at once, so a Lambda timeout loses at most the request in flight), everything else through CloudWatch
    PutMetricData, with the seconds it `waited` where the path keeps them. Whether it was counted: a failure to
    count is logged, never the warm-up's failure."""
    own = OWN[path]
    counted = own.counted(failed=failed)
    if path == "component" and embedded:
        component_metrics(name, counted, MetricUnit.Count)
        return True
    seconds = {own.seconds: waited} if own.seconds and waited is not None else None
    try:
        plane.aws.metrics.record_own_requests(counted, own_dimensions(path, name, SERVICE), plane.now(), seconds)
    except Exception as error:  # the error in one line: the operator CLI's stderr shows it, no traceback
        logger.warning(f"could not count the warm-up request: {error}", extra={"path": path, "target": name})
        return False
    return True
