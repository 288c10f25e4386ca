"""Fixtures for the localaws tests: a running emulator on a free loopback port with a fake model server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from localaws import EmulatedClock, Emulator
from tests.stacks import StandInModel

FIXTURES = Path(__file__).parent / "fixtures"
ROLE = "arn:aws:iam::123456789012:role/sleepwake"
START = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


@dataclass
class Result:
    status: int
    body: bytes
    content_type: str
    model_latency_ms: float


class FakeModelServer:
    """Stands in for sagemaker_model.model_server.ModelServer: counts loads, calls and closes."""

    loads = 0
    closes = 0
    lock = threading.Lock()

    def __init__(self, ic: Any) -> None:
        with FakeModelServer.lock:
            FakeModelServer.loads += 1
        self.calls = 0

    def invoke(self, body: bytes, content_type: str, accept: str) -> Result:
        self.calls += 1
        if body == b"boom":
            return Result(500, b"model exploded", "text/plain", 1.0)
        latency = 100.0 if self.calls == 1 else 10.0  # first call cold
        return Result(200, json.dumps({"bytes": len(body), "call": self.calls}).encode(), "application/json", latency)

    def close(self) -> None:
        with FakeModelServer.lock:
            FakeModelServer.closes += 1


@pytest.fixture
def emu() -> Iterator[Emulator]:
    FakeModelServer.loads = FakeModelServer.closes = 0
    emulator = Emulator(
        EmulatedClock(start=START, speed=600),
        port=0,
        provisioning_seconds=120,
        scale_in_seconds=30,
        model_server_factory=FakeModelServer,
        fallback_server_factory=StandInModel,  # a deployed template's fallback; its loads are not counted
    )
    emulator.start()
    ensure_role(emulator)
    try:
        yield emulator
    finally:
        emulator.stop()


def no_retry_client(emu: Emulator, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=emu.region,
        endpoint_url=emu.endpoint_url,
        **emu.client_keys().boto(),
        config=Config(retries={"total_max_attempts": 1}),
    )


def make_endpoint(
    emu: Emulator,
    name: str = "ep",
    ic: str = "ic",
    copies: int = 0,
    wait: bool = True,
    *,
    min_instances: int = 0,
    max_instances: int = 1,
) -> None:
    """An endpoint on one ml.inf1.xlarge (ManagedInstanceScaling between `min_instances` and `max_instances`) with
    the component `ic` at `copies`, InService unless not `wait`."""
    sm = emu.client("sagemaker")
    sm.create_model(ModelName=f"{ic}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(
        EndpointConfigName=f"{ic}-config",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.inf1.xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": min_instances,
                    "MaxInstanceCount": max_instances,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{ic}-config")
    sm.create_inference_component(
        InferenceComponentName=ic,
        EndpointName=name,
        VariantName="AllTraffic",
        Specification={
            "ModelName": f"{ic}-model",
            "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": copies},
    )
    if wait:
        assert emu.wait_for(lambda: describe(emu, ic)["InferenceComponentStatus"] == "InService", timeout=3600)


def make_serverless_endpoint(
    emu: Emulator,
    name: str,
    concurrency: int = 1,
    *,
    container: dict[str, Any] | None = None,
    provisioned: int | None = None,
) -> None:
    """A serverless endpoint (2 GB, MaxConcurrency `concurrency`, ProvisionedConcurrency `provisioned` if given)
    whose model's container is `container` over a stand-in image."""
    sm = emu.client("sagemaker")
    sm.create_model(
        ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"} | (container or {})
    )
    config: dict[str, int] = {"MemorySizeInMB": 2048, "MaxConcurrency": concurrency}
    if provisioned is not None:
        config["ProvisionedConcurrency"] = provisioned
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": f"{name}-model", "ServerlessConfig": config}],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def metric_total(
    emu: Emulator, metric: str, dimensions: list[dict[str, str]], hours: int = 3, namespace: str = "AWS/SageMaker"
) -> float:
    """A metric's sum (GetMetricStatistics) over the last `hours` of emulated time (one period spans them)."""
    now = emu.now()
    points = emu.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=now - timedelta(hours=hours),
        EndTime=now + timedelta(minutes=1),
        Period=3600 * (hours + 1),
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(p["Sum"] for p in points))


def describe(emu: Emulator, ic: str = "ic") -> dict[str, Any]:
    return emu.client("sagemaker").describe_inference_component(InferenceComponentName=ic)


def make_function(emu: Emulator, name: str, fixture: str, env: dict[str, str] | None = None) -> str:
    """Create the function in moto and register its code directory with the runner; returns its ARN."""
    import io
    import zipfile

    ensure_role(emu)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "# code runs from the registered directory\n")
    arn = emu.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": env or {}},
        Timeout=30,
    )["FunctionArn"]
    emu.lambdas.register(name, FIXTURES / fixture, layer_dirs=(Path("layers/sleepwake"),))
    return arn


def ensure_role(emu: Emulator) -> None:
    """The role these tests' functions and state machines run as: IAM is enforced, and these tests are about
    the emulator's mechanics, not permissions, so it may do anything."""
    iam = emu.client("iam")
    try:
        iam.get_role(RoleName="sleepwake")
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName="sleepwake", AssumeRolePolicyDocument="{}")
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_role_policy(RoleName="sleepwake", PolicyName="anything", PolicyDocument=json.dumps(document))


# ---- state machines -------------------------------------------------------------------------------------
def make_state_machine(emu: Emulator, name: str, definition: dict[str, Any]) -> str:
    """A state machine running as the tests' role; returns its ARN."""
    created = emu.client("stepfunctions").create_state_machine(
        name=name, roleArn=ROLE, definition=json.dumps(definition)
    )
    return str(created["stateMachineArn"])


def calling(function: str, payload: dict[str, Any], then: dict[str, Any] | None = None, **task: Any) -> dict[str, Any]:
    """A definition whose first state, Call, invokes `function` with `payload` through the optimised Lambda
    integration (the Task's other fields in `task`); the states in `then` follow."""
    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload": payload},
        **task,
    }
    return {"StartAt": "Call", "States": {"Call": call, **(then or {})}}


def run_execution(
    emu: Emulator, arn: str, payload: dict[str, Any] | None = None, name: str | None = None, timeout: float = 7200
) -> dict[str, Any]:
    """Start an execution and wait (in emulated seconds) until it ends; its DescribeExecution."""
    kwargs = {"stateMachineArn": arn, "input": json.dumps(payload or {})}
    if name:
        kwargs["name"] = name
    execution_arn = emu.client("stepfunctions").start_execution(**kwargs)["executionArn"]
    return emu.wait_for_execution(execution_arn, timeout=timeout)


# ---- AWS's scale-to-zero recipe (aws-samples sagemaker-genai-hosting-examples) on a component -----------------
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
RECIPE_STEP = {
    "AdjustmentType": "ChangeInCapacity",
    "MetricAggregationType": "Maximum",
    "Cooldown": 60,
    "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
}


def scaling_target(component: str) -> dict[str, str]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"inference-component/{component}",
        "ScalableDimension": IC_DIMENSION,
    }


def recipe_step_policy(emu: Emulator, component: str, name: str | None = None) -> str:
    """The recipe's step policy: one copy more when its alarm fires (the way out of 0 copies); its ARN."""
    return str(
        emu.client("application-autoscaling").put_scaling_policy(
            PolicyName=name or f"{component}-step-scaling",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=RECIPE_STEP,
            **scaling_target(component),
        )["PolicyARN"]
    )


def recipe_alarm(emu: Emulator, component: str, actions: list[str], name: str | None = None) -> None:
    """The recipe's alarm: NoCapacityInvocationFailures (Maximum over 30 s) at 1 or more runs `actions`."""
    emu.client("cloudwatch").put_metric_alarm(
        AlarmName=name or f"{component}-no-capacity",
        AlarmActions=actions,
        MetricName="NoCapacityInvocationFailures",
        Namespace="AWS/SageMaker",
        Statistic="Maximum",
        Dimensions=[{"Name": "InferenceComponentName", "Value": component}],
        Period=30,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
    )


def recipe_scaling(emu: Emulator, component: str = "sleepwake-ic") -> None:
    """All the recipe sets up on a component: the target (0-2 copies), target tracking on concurrent requests,
    and the step policy its no-capacity alarm runs."""
    aas = emu.client("application-autoscaling")
    aas.register_scalable_target(**scaling_target(component), MinCapacity=0, MaxCapacity=2)
    aas.put_scaling_policy(
        PolicyName=f"{component}-target-tracking",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
            },
            "TargetValue": 5.0,
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 300,
        },
        **scaling_target(component),
    )
    recipe_alarm(emu, component, [recipe_step_policy(emu, component)])
