"""The wake API and the warm-up function with a fallback endpoint: a started wake pre-warms the fallback
asynchronously, GET /status reports it, the warm-up function warms it on {"target": "fallback"}."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from sleepwake import runtime
from sleepwake.adapters.sagemaker import Invocation, InvocationError
from sleepwake.control.plane import ControlPlane
from sleepwake.core import ICStatus, iso
from sleepwake.settings import Settings
from tests.conftest import LambdaContext, load_handler
from tests.handlers.conftest import REGION, api_event

api = load_handler("wake_api")
warmup = load_handler("warmup")
FALLBACK = "sleepwake-endpoint-fallback"


@dataclass
class RecordingFunctions:
    """The Lambda adapter's boundary: what would be sent with InvocationType Event."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None:
        self.sent.append((function, payload))


@dataclass
class FallbackRuntime:
    """The runtime adapter's boundary for the fallback endpoint (the component side is the shared fake)."""

    fails: bool = False
    calls: list[str] = field(default_factory=list)
    on_call: Callable[[], None] = lambda: None  # e.g. a cold start that moves the clock on

    def invoke_endpoint(self, endpoint: str, body: bytes, content_type: str) -> Invocation:
        self.calls.append(endpoint)
        self.on_call()
        if self.fails:
            raise InvocationError("ModelError: Received server error (500) from primary")
        return Invocation(latency_ms=1234.0, body=b"{}")


@pytest.fixture
def with_fallback(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FALLBACK_ENDPOINT_NAME", FALLBACK)
    monkeypatch.setenv("WARMUP_FUNCTION_NAME", "sleepwake-WarmupFunction")
    functions, fallback = RecordingFunctions(), FallbackRuntime()
    stack.runtime.invoke_endpoint = fallback.invoke_endpoint
    adapters = stack.plane.aws
    adapters.functions = functions
    plane = ControlPlane(Settings(), adapters)
    runtime.install(plane)
    stack.plane = plane
    return stack, functions, fallback


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_a_wake_that_starts_sends_one_asynchronous_fallback_prewarm(with_fallback):
    _, functions, _ = with_fallback
    status, _ = call(api_event("wake_api_post_wake_empty"))
    assert status == 202
    assert functions.sent == [("sleepwake-WarmupFunction", {"target": "fallback"})]


def test_a_wake_that_joins_sends_no_second_prewarm(with_fallback):
    _, functions, _ = with_fallback
    call(api_event("wake_api_post_wake_empty"))
    call(api_event("wake_api_post_wake_empty"))
    assert len(functions.sent) == 1


def test_a_wake_of_a_serving_component_sends_no_prewarm(with_fallback):
    stack, functions, _ = with_fallback
    stack.component.desired = stack.component.current = 1
    status, _ = call(api_event("wake_api_post_wake_empty"))
    assert status == 200
    assert functions.sent == []


def test_a_failed_prewarm_handover_still_answers_202(with_fallback):
    _, functions, _ = with_fallback

    def refuse(function: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("AccessDeniedException: lambda:InvokeFunction")

    functions.invoke_async = refuse  # type: ignore[method-assign]
    status, body = call(api_event("wake_api_post_wake_empty"))
    assert status == 202
    assert body["state"] == "waking"


def test_status_reports_the_fallback_and_its_recent_requests(with_fallback):
    stack, _, _ = with_fallback
    status, body = call(api_event("wake_api_get_status"))
    assert status == 200
    assert body["fallback"] == {
        "endpoint": FALLBACK,
        "invocations_last_60_minutes": 0.0,
        "used_recently": False,
        "warm": False,  # no request in the history read: cold since before it
        "since": None,
        "keep_warm": "ping",  # the default (core.defaults)
        "users_may_come": True,  # no plan stored: nothing says nobody comes
    }
    _served(3, stack.now[0] - timedelta(minutes=5))
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["invocations_last_60_minutes"] == 3.0
    assert body["fallback"]["used_recently"] is True
    # Served 5 minutes ago, under FallbackIdleEvictMinutes (10): warm since that minute.
    assert body["fallback"]["warm"] is True
    assert body["fallback"]["since"] == iso(stack.now[0] - timedelta(minutes=5))
    stack.now[0] += timedelta(minutes=30)
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["warm"] is False  # idle past the assumed eviction: cold since it ended
    assert body["fallback"]["since"] == iso(stack.now[0] - timedelta(minutes=30 + 5 - 1 - 10))


def test_status_leaves_the_control_planes_own_pings_out_of_the_fallbacks_recent_requests(with_fallback):
    """A keep-warm ping is one of the fallback's AWS/SageMaker Invocations, and the control plane counts it as its
    own (sleepwake.core.warmups): /status's recent requests and used_recently are users' alone."""
    stack, _, fallback = with_fallback
    warmup.handler({"target": "fallback"}, LambdaContext())  # the ping, counted as the control plane's
    _served(1, stack.now[0])  # ... and as SageMaker counts it
    assert fallback.calls == [FALLBACK]
    stack.now[0] += timedelta(minutes=5)
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["invocations_last_60_minutes"] == 0.0
    assert body["fallback"]["used_recently"] is False
    assert body["fallback"]["warm"] is True  # the ping did keep it warm
    _served(2, stack.now[0] - timedelta(minutes=20))  # two users' requests
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["invocations_last_60_minutes"] == 2.0
    assert body["fallback"]["used_recently"] is True


def test_status_reads_cloudwatch_once_per_call(with_fallback):
    """Users' recent requests and whether the fallback is warm come from one GetMetricData call (a day per
    minute), so the wake API's role needs cloudwatch:GetMetricData alone."""
    stack, _, _ = with_fallback
    _served(3, stack.now[0] - timedelta(minutes=5))
    calls: list[str] = []
    stack.plane.aws.metrics._cw.meta.events.register(
        "before-call.cloudwatch", lambda model, **_: calls.append(model.name)
    )

    _, body = call(api_event("wake_api_get_status"))

    assert body["fallback"]["invocations_last_60_minutes"] == 3.0 and body["fallback"]["warm"] is True
    assert calls == ["GetMetricData"]


def test_status_dates_the_fallbacks_warm_run_and_cold_spell_to_the_minute_across_the_day(with_fallback):
    """`since` is a minute up to a day back (why /status reads the day per minute, adapters/cloudwatch.py
    fallback_served): a warm run began at the first request after a gap of FallbackIdleEvictMinutes (10), and the
    gap and the run's first minute sit inside one clock hour and off the 5-minute marks, 10 h ago; cold since the
    last request 14 h ago plus the eviction."""
    stack, _, _ = with_fallback
    hour = (stack.now[0] - timedelta(hours=10)).replace(minute=0, second=0, microsecond=0)
    first = hour + timedelta(minutes=23)  # 15 idle minutes after a request at :07 (it ends at :08)
    pings = [first + timedelta(minutes=5 * i) for i in range(int((stack.now[0] - first).total_seconds() // 300))]
    _served(1, hour + timedelta(minutes=7), *pings)

    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["warm"] is True and body["fallback"]["since"] == iso(first)

    stack.now[0] = pings[-1] + timedelta(hours=14)
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"]["warm"] is False
    assert body["fallback"]["since"] == iso(pings[-1] + timedelta(minutes=1 + 10))
    assert body["fallback"]["invocations_last_60_minutes"] == 0.0


def _served(count: float, *times: datetime) -> None:
    """The fallback's AWS/SageMaker Invocations: `count` requests at each of `times`."""
    dimensions = [{"Name": "EndpointName", "Value": FALLBACK}, {"Name": "VariantName", "Value": "AllTraffic"}]
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": "Invocations", "Dimensions": dimensions, "Value": count, "Timestamp": at} for at in times
        ],
    )


def test_status_without_a_fallback_says_null(stack):
    _, body = call(api_event("wake_api_get_status"))
    assert body["fallback"] is None


def test_the_warmup_function_warms_the_fallback_on_a_fallback_target(with_fallback):
    stack, _, fallback = with_fallback
    stack.component.status = ICStatus.IN_SERVICE
    answer = warmup.handler({"target": "fallback"}, LambdaContext())
    assert fallback.calls == [FALLBACK]
    assert answer["warm"] is True
    assert answer["latencies_ms"] == [1234.0]
    assert stack.runtime.calls == []  # the component was not touched


def test_a_failing_fallback_fails_its_warmup_run_and_counts_the_request_as_the_control_planes(with_fallback):
    stack, _, fallback = with_fallback
    fallback.fails = True
    with pytest.raises(InvocationError):
        warmup.handler({"target": "fallback"}, LambdaContext())
    # The failed request is in the fallback's Invocations and 5XX errors: counted, it is no user's request or failure.
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    counted = {
        name: sum(
            point["Sum"]
            for point in cloudwatch.get_metric_statistics(
                Namespace="Sleepwake",
                MetricName=name,
                Dimensions=[{"Name": "EndpointName", "Value": FALLBACK}],
                StartTime=stack.now[0] - timedelta(hours=1),
                EndTime=stack.now[0] + timedelta(hours=1),
                Period=3600,
                Statistics=["Sum"],
            )["Datapoints"]
        )
        for name in ("FallbackWarmupRequests", "FallbackWarmupErrors")
    }
    assert counted == {"FallbackWarmupRequests": 1.0, "FallbackWarmupErrors": 1.0}


def test_a_warm_up_says_how_long_it_took_on_the_control_planes_clock_so_its_cold_start_is_no_users_wait(
    with_fallback,
):
    """The report leaves the control plane's own requests over the slow line out of what users waited (its
    estimate from SageMaker's cold starts): each warm-up records its seconds, a cold start included."""
    stack, _, fallback = with_fallback

    def cold_start() -> None:
        stack.now[0] += timedelta(seconds=14)

    fallback.on_call = cold_start
    warmup.handler({"target": "fallback"}, LambdaContext())

    points = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="Sleepwake",
        MetricName="FallbackWarmupSeconds",
        Dimensions=[{"Name": "EndpointName", "Value": FALLBACK}],
        StartTime=stack.now[0] - timedelta(hours=1),
        EndTime=stack.now[0] + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    assert [(p["SampleCount"], p["Maximum"], p["Unit"]) for p in points] == [(1.0, 14.0, "Seconds")]
