"""Handlers against moto (DynamoDB, Step Functions, CloudWatch, SNS); the inference component, its runtime and
its autoscaling target are fakes at the adapter boundary here (the local-stack suite runs them emulated)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sleepwake import clock, runtime
from sleepwake.adapters.cloudwatch import ComponentMetrics
from sleepwake.adapters.sagemaker import Invocation, InvocationError, NoCapacityError
from sleepwake.adapters.state_table import StateTable
from sleepwake.adapters.stepfunctions import Executions
from sleepwake.control.plane import ControlPlane
from sleepwake.control.ports import Adapters
from sleepwake.core import ICStatus, ObservedCopies
from sleepwake.core.endpoint import VariantScaling
from sleepwake.settings import Settings
from tests.conftest import ROOT

REGION = "us-east-1"
IC = "sleepwake-ic"
NIGHT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class FakeComponent:
    """An inference component as DescribeInferenceComponent would report it."""

    status: ICStatus = ICStatus.IN_SERVICE
    desired: int = 0
    current: int = 0
    instances: int | None = 0  # the endpoint's CurrentInstanceCount (None: DescribeEndpoint fails)
    min_instance_count: int | None = 0  # the endpoint's ManagedInstanceScaling.MinInstanceCount

    def observe(self, name: str) -> ObservedCopies:
        return ObservedCopies(status=self.status, desired=self.desired, current=self.current)

    def instance_count(self, endpoint: str) -> int | None:
        if self.instances is None:
            raise RuntimeError("AccessDeniedException: not allowed to DescribeEndpoint")
        return self.instances

    def endpoint_instance_scaling(self, endpoint: str) -> list[VariantScaling]:
        return [VariantScaling(variant="AllTraffic", status="ENABLED", min_instance_count=self.min_instance_count)]


@dataclass
class FakeRuntime:
    component: FakeComponent
    latencies: list[float] = field(default_factory=lambda: [850.0, 60.0, 41.0, 40.0, 40.0])
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    fail_calls: set[int] = field(default_factory=set)  # these calls (1 first) answer a ModelError
    before_call: Callable[[], None] | None = None  # run as each call is sent

    def invoke(self, endpoint: str, component: str, body: bytes, content_type: str) -> Invocation:
        if self.component.current == 0:
            raise NoCapacityError("Inference Component has no capacity to process this request")
        if self.before_call:
            self.before_call()
        self.calls.append((endpoint, component, len(body)))
        if len(self.calls) in self.fail_calls:
            raise InvocationError("ModelError: Received server error (500) from model")
        return Invocation(latency_ms=self.latencies[min(len(self.calls) - 1, len(self.latencies) - 1)], body=b"{}")

    def invoke_endpoint(self, endpoint: str, body: bytes, content_type: str) -> Invocation:
        raise InvocationError(f"{endpoint}: no fallback endpoint in this fake (test_fallback.py wires one)")


@dataclass
class FakeScaling:
    min_capacity: int = 1
    max_capacity: int = 2

    def bounds(self, component: str) -> tuple[int, int]:
        return self.min_capacity, self.max_capacity


@dataclass
class HandlerRig:
    """The control plane over fakes (component, runtime, scaling) and moto (state table, Step Functions), the
    handlers' clock held at `now[0]`: what the `stack` fixture gives a handler test."""

    plane: ControlPlane
    component: FakeComponent
    runtime: FakeRuntime
    scaling: FakeScaling
    sfn: Any
    wake_arn: str
    table: Any
    now: list[datetime]

    def executions(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.wake_arn)["executions"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[HandlerRig]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Sleepwake")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sleepwake")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name=REGION)
        table = ddb.create_table(
            TableName="state",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "ic", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "ic", "KeyType": "HASH"}],
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        role = "arn:aws:iam::123456789012:role/sfn"
        definition = (ROOT / "statemachines" / "wake.asl.json").read_text()
        wake_arn = sfn.create_state_machine(name="wake", definition=definition, roleArn=role)["stateMachineArn"]
        sleep_arn = sfn.create_state_machine(name="sleep", definition=definition, roleArn=role)["stateMachineArn"]
        env = {
            "IC_NAME": IC,
            "ENDPOINT_NAME": "sleepwake-endpoint",
            "STATE_TABLE_NAME": "state",
            "WAKE_STATE_MACHINE_ARN": wake_arn,
            "SLEEP_STATE_MACHINE_ARN": sleep_arn,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        runtime.reset()
        settings = Settings()
        component = FakeComponent()
        fake_runtime = FakeRuntime(component)
        scaling = FakeScaling()
        adapters = Adapters(
            components=component,
            runtime=fake_runtime,
            scaling=scaling,
            table=StateTable(table),
            executions=Executions(sfn),
            metrics=ComponentMetrics(boto3.client("cloudwatch", region_name=REGION)),
        )
        plane = ControlPlane(settings, adapters)
        runtime.install(plane)
        now = [NIGHT]
        clock.use(lambda: now[0], lambda seconds: None)
        try:
            yield HandlerRig(plane, component, fake_runtime, scaling, sfn, wake_arn, table, now)
        finally:
            clock.reset()
            runtime.reset()


def api_event(base: str, **changes: Any) -> dict[str, Any]:
    from tests.conftest import load_event

    event = load_event(base)
    if "body" in changes and not isinstance(changes["body"], str | None):
        changes["body"] = json.dumps(changes["body"])
    event.update(changes)
    return event
