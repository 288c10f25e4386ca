"""Fixtures for the localaws tests: a running emulator on a free loopback port with a fake model server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
    """Stands in for sagemaker_model.local.ModelServer: counts loads, calls and closes."""

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


def make_endpoint(emu: Emulator, name: str = "ep", ic: str = "ic", copies: int = 0, wait: bool = True) -> None:
    sm = emu.client("sagemaker")
    sm.create_model(ModelName=f"{ic}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.inf1.xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
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
