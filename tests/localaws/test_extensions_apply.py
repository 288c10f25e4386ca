"""Canary: fails loudly when the moto extensions stop applying (e.g. after a moto upgrade).

Every check goes through boto3 against the running server, as the stack and the state machines do.
"""

from __future__ import annotations

import json
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError

from tests.localaws.conftest import ROLE, describe, make_endpoint, make_function


def test_moto_is_the_pinned_version():
    assert moto.__version__ == "5.2.5", "localaws patches moto internals; re-check every hook before upgrading"


def test_the_server_finds_every_service_moto_has_from_its_folder_listed_once(emu, monkeypatch):
    """moto's server looks a request's service up in the list of its package's folders: the emulator lists them
    once (localaws/emulator.py), so requests do not list the folder again, and the list is moto's own."""
    import os
    import sys

    from moto import backends

    folder = os.path.dirname(moto.__file__)
    on_disk = {name for name in os.listdir(folder) if os.path.isdir(os.path.join(folder, name))}
    listed = set(backends.list_of_moto_modules())
    assert listed == {name for name in on_disk if not name.startswith("__")}
    assert {"awslambda", "sagemaker", "stepfunctions", "dynamodb", "cloudwatch"} <= listed

    listings: list[str] = []  # the folder listings moto's server makes to find a request's service
    real_listdir = os.listdir

    def counting_listdir(path: Any = ".") -> list[str]:
        if sys._getframe(1).f_code.co_filename == backends.__file__:  # backends.list_of_moto_modules's own
            listings.append(os.fspath(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    assert emu.client("lambda").list_functions()["Functions"] is not None  # a request found its service
    assert emu.client("stepfunctions").list_state_machines()["stateMachines"] is not None  # and another
    assert listings == [], f"moto's folder was listed {len(listings)} times for two requests"


def test_every_extension_answers_through_boto3(emu):
    # SageMaker inference component actions
    make_endpoint(emu)
    assert describe(emu)["InferenceComponentStatus"] == "InService"
    # Application Auto Scaling with the IC dimension
    emu.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=1,
    )
    # ... with DescribeScalingActivities (moto has none) and target tracking's alarms for the IC dimension
    aas = emu.client("application-autoscaling")
    assert aas.describe_scaling_activities(ServiceNamespace="sagemaker")["ScalingActivities"] == []
    aas.put_scaling_policy(
        PolicyName="canary",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
            "TargetValue": 1.0,
        },
    )
    assert len(emu.client("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"]) == 2
    # sagemaker-runtime no-capacity error
    with pytest.raises(ClientError) as err:
        emu.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep", InferenceComponentName="ic", Body=b"x", ContentType="audio/wav"
        )
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "Inference Component has no capacity to process this request" in err.value.response["Error"]["Message"]
    # Lambda runner
    make_function(emu, "probe", "fn_probe", {"GREETING": "hi"})
    resp = emu.client("lambda").invoke(FunctionName="probe", Payload=b"{}")
    assert json.loads(resp["Payload"].read())["greeting"] == "hi"
    # Step Functions executes, with the aws-sdk service mapping and names
    sfn = emu.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="canary",
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "D",
                "States": {
                    "D": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::aws-sdk:applicationautoscaling:describeScalableTargets",
                        "Parameters": {"ServiceNamespace": "sagemaker"},
                        "End": True,
                    }
                },
            }
        ),
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="canary-1", input="{}")["executionArn"]
    out = emu.wait_for_execution(execution, timeout=3600)
    assert out["status"] == "SUCCEEDED", out
    assert out["name"] == "canary-1"
    assert json.loads(out["output"])["ScalableTargets"][0]["ResourceId"] == "inference-component/ic"


def test_dynamodb_conditional_writes_are_atomic_under_concurrency(emu):
    """The one-wake rule needs exactly one winner among concurrent conditional writes."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    from localaws import dynamodb

    assert dynamodb.installed()
    ddb = emu.client("dynamodb")
    ddb.create_table(
        TableName="race",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )

    def claim(i: int) -> bool:
        try:
            ddb.put_item(
                TableName="race",
                Item={"k": {"S": "x"}, "owner": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(k)",
            )
            return True
        except ClientError:
            return False

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert sum(pool.map(claim, range(200))) == 1
