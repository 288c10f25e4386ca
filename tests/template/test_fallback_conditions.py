"""When the template creates, adopts or leaves out the fallback endpoint, and what the functions are told."""

from __future__ import annotations

from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from localaws.cfn_template import Resolver
from tests.conftest import ROOT

# Parsed as the SAM translator (and so the local stack) parses it: `!Condition X` is {"Condition": "X"}.
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
CREATE = {"DeploymentMode": "create", "ModelDataUrl": "s3://b/model.tar.gz", "ImageUri": "1.dkr.ecr.r.x/y:z"}


def _resolver(**overrides: str) -> Resolver:
    params = {name: str(spec.get("Default", "")) for name, spec in TEMPLATE["Parameters"].items()} | overrides
    return Resolver(params, PSEUDO, TEMPLATE["Conditions"])


def _fallback_env(resolver: Resolver) -> Any:
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    return resolver.resolve(env["FALLBACK_ENDPOINT_NAME"])


@pytest.mark.parametrize(
    ("overrides", "creates", "name"),
    [
        (CREATE, True, "sleepwake-endpoint-fallback"),  # on by default in create mode
        (CREATE | {"CreateFallback": "false"}, False, ""),
        ({}, False, ""),  # adopt mode without an archive: nothing to serve, no fallback, no naps
        ({"ModelDataUrl": "s3://b/model.tar.gz"}, True, "sleepwake-endpoint-fallback"),  # adopt + archive
        ({"FallbackEndpointName": "my-serverless"}, False, "my-serverless"),  # adopt an existing one
        (CREATE | {"FallbackEndpointName": "my-serverless"}, False, "my-serverless"),
    ],
)
def test_the_fallback_is_created_adopted_or_absent_as_the_parameters_say(overrides, creates, name):
    resolver = _resolver(**overrides)
    assert resolver.condition("CreateFallbackEndpoint") is creates
    assert resolver.condition("HasFallback") is bool(name)
    assert _fallback_env(resolver) == name  # every function's FALLBACK_ENDPOINT_NAME ("" = no naps)


def test_the_created_fallback_serves_the_same_archive_on_cpu_from_a_serverless_config():
    resources = TEMPLATE["Resources"]
    model = resources["FallbackModel"]["Properties"]
    assert model["PrimaryContainer"]["ModelDataUrl"] == {"Ref": "ModelDataUrl"}
    assert model["PrimaryContainer"]["Environment"]["SLEEPWAKE_TARGET"] == "cpu"
    variant = resources["FallbackEndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": {"Ref": "FallbackMemoryMb"},
        "MaxConcurrency": {"Ref": "FallbackMaxConcurrency"},
    }
    assert "InstanceType" not in variant


def test_the_default_cpu_image_is_the_regions_pytorch_inference_dlc():
    image = _resolver(**CREATE).resolve(
        TEMPLATE["Resources"]["FallbackModel"]["Properties"]["PrimaryContainer"]["Image"]
    )
    assert (
        image == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310-ubuntu20.04-sagemaker"
    )


def test_the_outputs_let_the_product_client_find_everything():
    outputs = TEMPLATE["Outputs"]
    assert {"EndpointName", "InferenceComponentName", "FallbackEndpointName", "WakeApiUrl"} <= outputs.keys()
