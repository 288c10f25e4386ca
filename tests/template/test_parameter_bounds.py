"""The template's parameters are bounded by what the code and SageMaker accept, so a deploy with an
out-of-range value is refused by CloudFormation before anything is created, not by a wake at 7 am."""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session

from sleepwake.events import MAX_WARMUP_INVOCATIONS
from sleepwake_cli.deployment import load_template
from tests.conftest import ROOT

FALLBACK_SUFFIX = "-fallback"  # template.yaml: FallbackEndpoint's EndpointName is !Sub "${EndpointName}-fallback"


@cache
def _parameters() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")["Parameters"]


def _shape(name: str) -> dict[str, Any]:
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name).metadata


def test_the_created_fallback_name_fits_sagemakers_endpoint_name_limit():
    template = load_template(ROOT / "template.yaml")
    fallback_name = template["Resources"]["FallbackEndpoint"]["Properties"]["EndpointName"]
    assert fallback_name == {"Fn::Sub": "${EndpointName}" + FALLBACK_SUFFIX}
    assert int(_parameters()["EndpointName"]["MaxLength"]) + len(FALLBACK_SUFFIX) == _shape("EndpointName")["max"]


def test_component_and_adopted_fallback_names_are_held_to_sagemakers_limit():
    for name, shape in [("InferenceComponentName", "InferenceComponentName"), ("FallbackEndpointName", "EndpointName")]:
        spec = _parameters()[name]
        limit = int(spec.get("MaxLength", _shape(shape)["max"]))
        assert limit <= _shape(shape)["max"]
        assert spec["AllowedPattern"].endswith(f"{{0,{_shape(shape)['max'] - 1}}}$")


def test_warmup_invocations_stop_at_the_warmup_steps_limit():
    assert int(_parameters()["WarmupInvocations"]["MaxValue"]) == MAX_WARMUP_INVOCATIONS


def test_the_fallbacks_serverless_settings_are_the_ones_sagemaker_accepts():
    memory = _shape("ServerlessMemorySizeInMB")
    assert [int(v) for v in _parameters()["FallbackMemoryMb"]["AllowedValues"]] == list(
        range(memory["min"], memory["max"] + 1, 1024)
    )
    concurrency = _shape("ServerlessMaxConcurrency")
    spec = _parameters()["FallbackMaxConcurrency"]
    assert (int(spec["MinValue"]), int(spec["MaxValue"])) == (concurrency["min"], concurrency["max"])
