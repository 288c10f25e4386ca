"""InvokeEndpoint on an inference component: fails like AWS at 0 copies, runs the model server with a copy,
and leaves per-component CloudWatch metrics in emulated time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from localaws.sagemaker import NO_CAPACITY_MESSAGE
from tests.localaws.conftest import FakeModelServer, describe, make_endpoint, metric_total

DIMS = [{"Name": "InferenceComponentName", "Value": "ic"}]


def test_no_copies_fails_with_aws_no_capacity_validation_error(emu):
    make_endpoint(emu)
    rt = emu.client("sagemaker-runtime")
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName="ep", InferenceComponentName="ic", Body=b"RIFF", ContentType="audio/wav")
    error = err.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "Inference Component has no capacity to process this request" in error["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Message"] == NO_CAPACITY_MESSAGE
    assert metric_total(emu, "NoCapacityInvocationFailures", DIMS) == 1
    assert metric_total(emu, "Invocations", DIMS) == 0


def test_with_a_copy_the_model_server_answers_binary_bodies(emu):
    make_endpoint(emu, copies=1)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    rt = emu.client("sagemaker-runtime")
    wav = bytes(range(256)) * 4  # not valid UTF-8: the body must reach the handler untouched
    first = rt.invoke_endpoint(EndpointName="ep", InferenceComponentName="ic", Body=wav, ContentType="audio/wav")
    second = rt.invoke_endpoint(EndpointName="ep", InferenceComponentName="ic", Body=wav, ContentType="audio/wav")
    assert json.loads(first["Body"].read()) == {"bytes": 1024, "call": 1}
    assert json.loads(second["Body"].read()) == {"bytes": 1024, "call": 2}  # same warm server
    assert first["ContentType"] == "application/json"
    assert FakeModelServer.loads == 1
    assert metric_total(emu, "Invocations", DIMS) == 2
    assert metric_total(emu, "ModelLatency", DIMS) == pytest.approx(
        (100.0 + 10.0) * 1000
    )  # microseconds, as AWS reports


def test_metrics_carry_emulated_timestamps(emu):
    make_endpoint(emu)
    rt = emu.client("sagemaker-runtime")
    with pytest.raises(ClientError):
        rt.invoke_endpoint(EndpointName="ep", InferenceComponentName="ic", Body=b"x", ContentType="audio/wav")
    now = emu.now()
    points = emu.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=DIMS,
        StartTime=now - timedelta(minutes=30),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert len(points) == 1
    assert abs((points[0]["Timestamp"] - now).total_seconds()) < 30 * 60  # 2025, not the wall-clock year


def test_model_error_is_424_with_the_original_status(emu):
    make_endpoint(emu, copies=1)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    with pytest.raises(ClientError) as err:
        emu.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep", InferenceComponentName="ic", Body=b"boom", ContentType="audio/wav"
        )
    assert err.value.response["Error"]["Code"] == "ModelError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err.value.response["OriginalStatusCode"] == 500


def test_unknown_component_is_a_plain_validation_error(emu):
    make_endpoint(emu)
    with pytest.raises(ClientError) as err:
        emu.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep", InferenceComponentName="other", Body=b"x", ContentType="audio/wav"
        )
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "no capacity" not in err.value.response["Error"]["Message"]
