"""The local stack refuses a deploy that AWS would refuse: a network-isolated serverless fallback (what the
template carried until Serverless Inference's exclusions were checked), and parameters outside the bounds the
template declares (CloudFormation checks MaxLength and MaxValue before it creates anything)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import EmulatedClock, Emulator, sagemaker_rules
from localaws.cfn_stack import Stack
from localaws.cfn_template import StackError
from tests.localaws.conftest import START, FakeModelServer

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CREATE = {
    "DeploymentMode": "create",
    "ModelDataUrl": "s3://models/sleepwake/model.tar.gz",
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuron:1.13.1",
}


class FakeCpuServer(FakeModelServer):
    """The fallback's model server, fake like the component's (these tests are about the deploy)."""

    def __init__(self, environment: dict[str, str]) -> None:
        super().__init__(None)


@pytest.fixture
def fast_emu():
    emulator = Emulator(
        EmulatedClock(start=START, speed=600),
        port=0,
        provisioning_seconds=60,
        model_server_factory=FakeModelServer,
        fallback_server_factory=FakeCpuServer,
        fallback_cold_start_seconds=1,
    )
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _endpoints(emu: Emulator) -> list[str]:
    return [e["EndpointName"] for e in emu.client("sagemaker").list_endpoints()["Endpoints"]]


@pytest.mark.parametrize("at", sagemaker_rules.EXCLUSIONS_AT)
def test_create_mode_with_a_network_isolated_fallback_is_refused(fast_emu, monkeypatch, at):
    """Today's template set EnableNetworkIsolation on FallbackModel; Serverless Inference excludes it."""
    monkeypatch.setattr(sagemaker_rules.RULES, "exclusions_at", at)
    stack = Stack(fast_emu, TEMPLATE, parameters=CREATE)
    stack.load()
    stack.cfn["Resources"]["FallbackModel"]["Properties"]["EnableNetworkIsolation"] = True
    with pytest.raises((ClientError, StackError), match="does not support network isolation"):
        stack.deploy()
    assert "sleepwake-endpoint-fallback" not in _endpoints(fast_emu)


def test_create_mode_deploys_its_serverless_fallback_with_the_refusals_on(fast_emu):
    assert sagemaker_rules.RULES.enforce
    stack = Stack(fast_emu, TEMPLATE, parameters=CREATE).deploy()
    fallback = stack.outputs["FallbackEndpointName"]
    assert fallback == "sleepwake-endpoint-fallback" and fallback in _endpoints(fast_emu)
    sm = fast_emu.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=fallback)["EndpointConfigName"]
    )
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["EnableNetworkIsolation"] is False
    assert stack.custom_resource_responses["PostDeployFallbackWarmup"]["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({"EndpointName": "e" * 55}, "EndpointName is 55 characters, above its MaxLength 54"),
        ({"WarmupInvocations": "60"}, "WarmupInvocations=60 is above its MaxValue 50"),
        ({"FallbackMaxConcurrency": "201"}, "FallbackMaxConcurrency=201 is above its MaxValue 200"),
    ],
    ids=["endpoint-name-too-long-for-its-fallback", "warmup-above-the-step-limit", "concurrency-above-200"],
)
def test_parameters_outside_the_template_bounds_are_refused_before_anything_is_created(fast_emu, parameters, says):
    stack = Stack(fast_emu, TEMPLATE, parameters={**CREATE, **parameters})
    with pytest.raises(StackError, match=says):
        stack.deploy()
    assert stack.created == [] and _endpoints(fast_emu) == []


def test_a_54_character_endpoint_name_gives_a_fallback_name_sagemaker_accepts(fast_emu):
    name: Any = "e" * 54
    stack = Stack(fast_emu, TEMPLATE, parameters={**CREATE, "EndpointName": name}).deploy()
    assert len(stack.outputs["FallbackEndpointName"]) == 63
    assert stack.outputs["FallbackEndpointName"] in _endpoints(fast_emu)
