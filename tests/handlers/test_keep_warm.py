"""Keeping the fallback warm on the live control plane: the keep-warm tick pings the fallback only where the
stored plan says users may come while the component sleeps, a sleep there pre-warms it, our own warm-up
requests stay out of the planner's history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from sleepwake import runtime
from sleepwake.adapters.cloudwatch import ComponentMetrics
from sleepwake.control.plane import ControlPlane
from sleepwake.control.sleep import decide_and_claim_sleep
from sleepwake.core.applied_plan import PlannedDay, PlannedSpan, StoredPlan
from sleepwake.settings import Settings
from tests.conftest import LambdaContext, load_handler
from tests.handlers.conftest import IC, REGION
from tests.handlers.test_fallback import FALLBACK, FallbackRuntime, RecordingFunctions

warmup = load_handler("warmup")
UTC_TZ = "UTC"


@pytest.fixture
def pinging(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FALLBACK_ENDPOINT_NAME", FALLBACK)
    monkeypatch.setenv("WARMUP_FUNCTION_NAME", "sleepwake-WarmupFunction")
    monkeypatch.setenv("FALLBACK_KEEP_WARM", "ping")
    functions, fallback = RecordingFunctions(), FallbackRuntime()
    stack.runtime.invoke_endpoint = fallback.invoke_endpoint
    adapters = stack.plane.aws
    adapters.functions = functions
    plane = ControlPlane(Settings(), adapters)  # type: ignore[call-arg]
    runtime.install(plane)
    stack.plane = plane
    return stack, functions, fallback


def store_may_come(stack: Any, *spans: tuple[int, int]) -> None:
    """A stored plan for the stack's day whose keep-warm windows are `spans` (hours from the day's midnight)."""
    now = stack.now[0]
    midnight = now.replace(hour=0, minute=0)
    day = PlannedDay(
        day=now.date(),
        learned=True,
        reason="test",
        may_come=[
            PlannedSpan(wake=midnight + timedelta(hours=a), sleep=midnight + timedelta(hours=b)) for a, b in spans
        ],
    )
    stack.plane.aws.table.put_plan(IC, StoredPlan(made_at=now, mode="crons", tz=UTC_TZ, days=[day]))


def tick() -> dict[str, Any]:
    return warmup.handler({"target": "keep-warm"}, LambdaContext())


def test_a_tick_where_users_may_come_while_the_component_sleeps_pings_the_fallback(pinging):
    stack, _, fallback = pinging
    store_may_come(stack, (9, 12))  # the stack's clock says 10:00 UTC
    answer = tick()
    assert answer["pinged"] is True
    assert fallback.calls == [FALLBACK]


def test_a_tick_where_the_plan_says_nobody_comes_sends_nothing(pinging):
    stack, _, fallback = pinging
    store_may_come(stack, (13, 17))
    answer = tick()
    assert answer["pinged"] is False
    assert "nobody comes" in answer["reason"]
    assert fallback.calls == []


def test_a_tick_while_the_component_serves_sends_nothing(pinging):
    stack, _, fallback = pinging
    store_may_come(stack, (9, 12))
    stack.component.desired = stack.component.current = 1
    assert tick()["pinged"] is False
    assert fallback.calls == []


def test_without_a_stored_plan_users_may_come_so_the_tick_pings(pinging):
    _, _, fallback = pinging
    assert tick()["pinged"] is True
    assert fallback.calls == [FALLBACK]


def test_with_keep_warm_none_the_tick_sends_nothing(pinging, monkeypatch):
    stack, _, fallback = pinging
    monkeypatch.setenv("FALLBACK_KEEP_WARM", "none")
    runtime.install(ControlPlane(Settings(), stack.plane.aws))  # type: ignore[call-arg]
    answer = tick()
    assert answer == {"pinged": False, "reason": "keep-warm is off", "latency_ms": None}
    assert fallback.calls == []


@pytest.mark.parametrize(("window", "prewarmed"), [((9, 12), True), ((13, 17), False)])
def test_a_sleep_where_users_may_come_prewarms_the_fallback(pinging, window, prewarmed):
    stack, functions, _ = pinging
    store_may_come(stack, window)
    stack.component.desired = stack.component.current = 1
    answer = decide_and_claim_sleep(stack.plane, trigger="manual", force=True)
    assert answer["sleep"] is True
    assert functions.sent == ([("sleepwake-WarmupFunction", {"target": "fallback"})] if prewarmed else [])


def test_the_planner_history_leaves_our_warmup_requests_out(pinging):
    stack, _, _ = pinging
    cw = boto3.client("cloudwatch", region_name=REGION)
    at = stack.now[0] - timedelta(minutes=30)
    dims = [{"Name": "EndpointName", "Value": FALLBACK}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "Invocations", "Dimensions": dims, "Value": 3, "Timestamp": at}],
    )
    stack.now[0] = at
    warmup.handler({"target": "fallback"}, LambdaContext())  # one of the three was our own warm-up
    stack.now[0] = at + timedelta(minutes=30)
    history = ComponentMetrics(cw).invocation_history(
        IC, stack.now[0] - timedelta(hours=2), stack.now[0], fallback_endpoint=FALLBACK
    )
    assert sum(count for _, count in history) == 2.0
