"""Adopt mode on the emulated AWS: the deploy checks the adopted endpoint's MinInstanceCount through the real
template, custom resource and wake API (DescribeEndpoint -> DescribeEndpointConfig -> ManagedInstanceScaling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaws import Emulator
from localaws.cfn_stack import Stack
from tests.localaws.conftest import describe, make_endpoint

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def adopted_endpoint(emu: Emulator, min_instances: int) -> None:
    """An endpoint and a serving component made outside sleepwake, with the given instance minimum."""
    make_endpoint(emu, "sleepwake-endpoint", "sleepwake-ic", copies=1, min_instances=min_instances, max_instances=2)
    assert emu.wait_for(lambda: describe(emu, "sleepwake-ic")["RuntimeConfig"]["CurrentCopyCount"] == 1)


def test_the_emulator_describes_the_endpoints_instance_scaling_as_created(emu):
    adopted_endpoint(emu, min_instances=1)
    sm = emu.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="sleepwake-endpoint")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    scaling = {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2}
    assert config["ProductionVariants"][0]["ManagedInstanceScaling"] == scaling
    assert endpoint["ProductionVariants"][0]["ManagedInstanceScaling"] == scaling


@pytest.mark.parametrize(("min_instances", "warned"), [(1, True), (0, False)])
def test_adopting_an_endpoint_checks_that_it_lets_its_instance_go(emu, min_instances, warned):
    adopted_endpoint(emu, min_instances)
    stack = Stack(emu, TEMPLATE).deploy()  # adopt mode is the template's default
    assert stack.custom_resource_responses["PostDeployWarmup"]["Status"] == "SUCCESS"  # never fails the deploy
    status = stack.call_api("GET", "/status")["body"]
    if warned:
        expected = "the endpoint keeps its instance at 0 copies: MinInstanceCount is 1"
        assert stack.outputs["DeployWarnings"].startswith(expected)
        assert [w[: len(expected)] for w in status["warnings"]] == [expected]
    else:
        assert stack.outputs["DeployWarnings"] == "none"
        assert status["warnings"] == []
    assert status["state"] == "ready"
