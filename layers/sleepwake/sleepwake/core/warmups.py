"""The control plane's own requests (its warm-ups): what counts as one, how each is recorded, and how the report
and the planner leave them out of users' requests. The one place for all three; pure.

What counts: each request the control plane sends a path that the path took, answered or failed (it is one of
that path's AWS/SageMaker Invocations, and a failed one is in its Invocation4XX/5XXErrors too):
- the component: the wake's warm-up step, the post-deploy warm-up and `sleepwake warmup` run by an operator
  (sleepwake.control.warmup.warm_up); not a request no copy took (a no-capacity answer is none of the
  component's Invocations).
- the fallback: its pre-warm (at a wake, and at a sleep where users may come), the keep-warm ping and the
  post-deploy warm-up (sleepwake.control.fallback.warm_fallback).

How each is recorded (`sleepwake.control.warmup.count_warmup_request`), one count per request as it returns,
and a failed one also as an error (`OWN[path].counted`), in the Sleepwake namespace with `own_dimensions`:
- the component's: an embedded metric per request (dimensions service and InferenceComponentName), so a warm-up
  stopped half way, even by a Lambda timeout, has counted all but the request in flight; the operator CLI's
  through PutMetricData, the same metric and dimensions (its stdout is no log group, and is its answer);
- the fallback's: PutMetricData (dimension EndpointName), stamped with the control plane's clock, with the
  seconds each took on that clock (`OwnRequests.seconds`: a ping that met the cold start took its length).

How they are left out: `sleepwake report` takes each path's counts from its requests and failures over the window
(sleepwake.core.report.PathMetrics) and per period (`less_own`), and the planner's request history takes them
per 5-minute slot (`less_own`, sleepwake.adapters.cloudwatch), so it never learns that users come whenever the
control plane woke or pinged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Path = Literal["component", "fallback"]  # the inference component, or the fallback endpoint


@dataclass(frozen=True)
class OwnRequests:
    """The metrics a path's warm-up requests are counted in: every one, those that failed, and (the fallback's)
    how long each took from the call to its answer, a cold start included (`seconds`, Unit Seconds)."""

    requests: str
    errors: str
    seconds: str | None = None

    def counted(self, *, failed: bool) -> dict[str, float]:
        """What one request adds to the counts, by metric name."""
        return {self.requests: 1.0, self.errors: 1.0} if failed else {self.requests: 1.0}


OWN: dict[Path, OwnRequests] = {
    "component": OwnRequests("ComponentWarmupRequests", "ComponentWarmupErrors"),
    # The seconds let the report leave the control plane's own slow requests (a ping or pre-warm that met the cold
    # start) out of its estimate of what users waited (sleepwake.core.report_waits.slow_answers).
    "fallback": OwnRequests("FallbackWarmupRequests", "FallbackWarmupErrors", "FallbackWarmupSeconds"),
}


def own_dimensions(path: Path, name: str, service: str) -> list[dict[str, str]]:
    """The dimensions of the counts of the warm-ups of the component or fallback endpoint `name`: the component's
    are embedded metrics, which carry the service (Powertools' default dimension) besides the component."""
    if path == "fallback":
        return [{"Name": "EndpointName", "Value": name}]
    return [{"Name": "service", "Value": service}, {"Name": "InferenceComponentName", "Value": name}]


def less_own(
    requests: list[float], own: list[float], times: list[datetime], period: int
) -> tuple[list[float], list[float]]:
    """Per period (oldest first, starting at `times`), the requests less the control plane's own among them,
    and what of its own matched no request. It counts its requests when its warm-up ends, stamped then, up to a
    period after the requests themselves: what exceeds a period's requests is taken from the period `period`
    seconds before it, and no further. GetMetricData leaves empty periods out, so the row's previous entry may
    be hours earlier. What is left over (a warm-up counted before SageMaker's Invocations arrived, one whose
    requests fell before the window's start, one whose requests SageMaker did not count) is returned per period
    rather than taken from users' requests elsewhere."""
    left = list(requests)
    at = {when: i for i, when in enumerate(times)}
    unmatched = [0.0] * len(own)
    for i, count in enumerate(own):
        for j in (i, at.get(times[i] - timedelta(seconds=period))):
            if j is not None and count > 0:
                taken = min(count, left[j])
                left[j] -= taken
                count -= taken
        unmatched[i] = count
    return left, unmatched


@dataclass(frozen=True)
class Served:
    """A path's requests per period as CloudWatch sums them (its AWS/SageMaker Invocations) and the control
    plane's own among them (`OWN[path].requests`), by the period's start; GetMetricData leaves empty periods out."""

    period: int
    requests: Mapping[datetime, float]
    own: Mapping[datetime, float]

    def users(self) -> list[tuple[datetime, float]]:
        """Users' requests per period, oldest first: the requests less the control plane's own (`less_own`)."""
        times = sorted(self.requests.keys() | self.own.keys())
        left, _ = less_own(
            [self.requests.get(at, 0.0) for at in times], [self.own.get(at, 0.0) for at in times], times, self.period
        )
        return list(zip(times, left, strict=True))

    def users_since(self, start: datetime) -> float:
        """Users' requests in the periods that end after `start` (a period's requests may have come at any second
        of it, so the one `start` falls in counts)."""
        length = timedelta(seconds=self.period)
        return float(sum(count for at, count in self.users() if at + length > start))

    def served_periods(self) -> list[datetime]:
        """The periods in which the path served requests, the control plane's own included, oldest first."""
        return sorted(at for at, count in self.requests.items() if count > 0)
