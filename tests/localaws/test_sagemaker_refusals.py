"""The emulator refuses what SageMaker refuses (localaws/sagemaker_rules.py): Serverless Inference's feature
exclusions, the serverless memory and concurrency bounds, and the names' lengths and patterns of every
SageMaker resource the stack names. A refused request creates nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import sagemaker_rules
from tests.localaws.conftest import ROLE, no_retry_client

SERVERLESS = {
    "VariantName": "AllTraffic",
    "ModelName": "cpu",
    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
}


@pytest.fixture
def sm(emu):
    return no_retry_client(emu, "sagemaker")


def _model(sm: Any, name: str = "cpu", **extra: Any) -> None:
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"},
        **extra,
    )


def _refused(call: Any, *fragments: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for fragment in fragments:
        assert fragment in error["Message"]
    return error["Message"]


def _configs(sm: Any) -> list[str]:
    return [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]


EXCLUDED = [
    pytest.param({"model": {"EnableNetworkIsolation": True}}, "network isolation", id="network-isolation"),
    pytest.param(
        {"model": {"VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]}}},
        "VPC configuration",
        id="vpc",
    ),
    pytest.param({"config": {"KmsKeyId": "alias/sleepwake"}}, "KMS key", id="kms-key"),
    pytest.param({"variant": {"InstanceType": "ml.m5.large"}}, "instance settings", id="instance-type"),
    pytest.param(
        {"variant": {"ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1}}},
        "ManagedInstanceScaling",
        id="managed-instance-scaling",
    ),
    pytest.param({"second_variant": True}, "multiple production variants", id="two-variants"),
]


@pytest.mark.parametrize("at", sagemaker_rules.EXCLUSIONS_AT)
@pytest.mark.parametrize(("case", "says"), EXCLUDED)
def test_a_serverless_endpoint_with_an_excluded_feature_is_refused(sm, monkeypatch, at, case, says):
    """Where the sources are silent on which call refuses, the switch picks; either way no endpoint serves."""
    monkeypatch.setattr(sagemaker_rules.RULES, "exclusions_at", at)
    _model(sm, **case.get("model", {}))
    variants = [{**SERVERLESS, **case.get("variant", {})}]
    if case.get("second_variant"):
        variants.append({**SERVERLESS, "VariantName": "Canary"})

    def create_config() -> None:
        sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=variants, **case.get("config", {}))

    if at == "CreateEndpointConfig":
        _refused(create_config, "Serverless Inference does not support", says)
        assert "cfg" not in _configs(sm)
    else:
        create_config()
        _refused(
            lambda: sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg"),
            "Serverless Inference does not support",
            says,
        )
    assert sm.list_endpoints()["Endpoints"] == []


def test_the_same_settings_are_accepted_on_an_instance_based_endpoint(sm):
    _model(sm, EnableNetworkIsolation=True, VpcConfig={"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-1"]})
    sm.create_endpoint_config(
        EndpointConfigName="cfg",
        KmsKeyId="alias/sleepwake",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "cpu", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            {"VariantName": "Canary", "ModelName": "cpu", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        ],
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert sm.describe_model(ModelName="cpu")["EnableNetworkIsolation"] is True


def test_a_plain_serverless_endpoint_is_accepted(sm):
    _model(sm)
    sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[SERVERLESS])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert sm.describe_model(ModelName="cpu")["EnableNetworkIsolation"] is False


@pytest.mark.parametrize(
    ("serverless", "says"),
    [
        ({"MemorySizeInMB": 512, "MaxConcurrency": 5}, "greater than or equal to 1024"),
        ({"MemorySizeInMB": 7168, "MaxConcurrency": 5}, "less than or equal to 6144"),
        ({"MemorySizeInMB": 1536, "MaxConcurrency": 5}, "1 GB increments"),
        ({"MemorySizeInMB": 2048, "MaxConcurrency": 201}, "less than or equal to 200"),
        ({"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 6}, "exceeds its MaxConcurrency"),
    ],
    ids=["memory-below", "memory-above", "memory-step", "concurrency-above", "provisioned-above-max"],
)
def test_serverless_memory_and_concurrency_outside_their_bounds_are_refused(emu, sm, serverless, says):
    _model(sm)
    variant = {**SERVERLESS, "ServerlessConfig": serverless}
    # botocore checks minimums on the client; without that check the service refuses them too.
    unchecked = _unvalidated(emu)
    _refused(lambda: unchecked.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[variant]), says)
    assert "cfg" not in _configs(sm)


def _unvalidated(emu: Any) -> Any:
    """A client without botocore's own parameter validation, so the request reaches the service."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker",
        region_name=emu.region,
        endpoint_url=emu.endpoint_url,
        **emu.client_keys().boto(),
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )


LONG = "a" * 64  # one past SageMaker's 63


def test_every_resource_name_the_stack_gives_is_held_to_63_characters_and_its_pattern(sm):
    _refused(lambda: _model(sm, LONG), "at 'modelName'", "length less than or equal to 63")
    _refused(lambda: _model(sm, "bad_name"), "at 'modelName'", "regular expression pattern")
    _model(sm)
    _refused(
        lambda: sm.create_endpoint_config(EndpointConfigName=LONG, ProductionVariants=[SERVERLESS]),
        "at 'endpointConfigName'",
        "length less than or equal to 63",
    )
    _refused(
        lambda: sm.create_endpoint_config(
            EndpointConfigName="cfg", ProductionVariants=[{**SERVERLESS, "VariantName": "all traffic"}]
        ),
        "productionVariants.1.member.variantName",
    )
    sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[SERVERLESS])
    _refused(
        lambda: sm.create_endpoint(EndpointName=LONG, EndpointConfigName="cfg"),
        "at 'endpointName'",
        "length less than or equal to 63",
    )
    _refused(lambda: sm.create_endpoint(EndpointName="-ep", EndpointConfigName="cfg"), "regular expression pattern")
    name_63 = "e" * 63
    sm.create_endpoint(EndpointName=name_63, EndpointConfigName="cfg")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [name_63]


def test_an_inference_component_name_over_63_characters_is_refused(emu, sm):
    from tests.localaws.conftest import make_endpoint

    make_endpoint(emu, name="ep", ic="ic", copies=0)
    _refused(
        lambda: sm.create_inference_component(
            InferenceComponentName=LONG,
            EndpointName="ep",
            VariantName="AllTraffic",
            Specification={"ModelName": "ic-model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
            RuntimeConfig={"CopyCount": 0},
        ),
        "at 'inferenceComponentName'",
    )
    names = [c["InferenceComponentName"] for c in sm.list_inference_components()["InferenceComponents"]]
    assert names == ["ic"]


def test_the_refusals_can_be_switched_off(sm, monkeypatch):
    monkeypatch.setattr(sagemaker_rules.RULES, "enforce", False)
    _model(sm, EnableNetworkIsolation=True)
    sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[SERVERLESS])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
