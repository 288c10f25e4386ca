"""The operator CLI builds the control plane with the same fallback the functions have (so its idle and
status decisions match theirs)."""

from __future__ import annotations

from sleepwake.settings import Settings
from sleepwake_cli.deployment import Deployment

RESOURCES = {"WakeStateMachine": "arn:wake", "SleepStateMachine": "arn:sleep", "StateTable": "table"}
CREATED = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sleepwake-endpoint-fallback"


def test_a_created_fallback_is_named_from_the_stacks_endpoint_resource():
    deployment = Deployment({"DeploymentMode": "create"}, RESOURCES | {"FallbackEndpoint": CREATED})
    settings = Settings.model_validate(deployment.environment())
    assert settings.fallback_endpoint_name == "sleepwake-endpoint-fallback"
    assert settings.policy().naps is True


def test_an_adopted_fallback_is_named_by_its_parameter():
    deployment = Deployment({"FallbackEndpointName": "their-serverless"}, RESOURCES)
    assert deployment.environment()["FALLBACK_ENDPOINT_NAME"] == "their-serverless"


def test_a_stack_without_a_fallback_has_none_and_no_naps():
    deployment = Deployment({}, RESOURCES)
    settings = Settings.model_validate(deployment.environment())
    assert settings.fallback_endpoint_name == ""
    assert settings.policy().naps is False
