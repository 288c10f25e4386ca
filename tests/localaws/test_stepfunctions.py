"""moto's Step Functions engine runs the project's ASL against the emulated services, in emulated time,
with AWS error names for Retry/Catch."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.localaws.conftest import (
    calling,
    describe,
    make_endpoint,
    make_function,
    make_state_machine,
    run_execution,
)


def _task(resource: str, parameters: dict, **extra) -> dict:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **extra}


def test_lambda_task_retries_on_the_exception_class_name_with_backoff_in_emulated_time(emu):
    fn = make_function(emu, "flaky", "fn_flaky")
    definition = calling(
        fn,
        {"succeed_on": 3},
        OutputPath="$.Payload",
        Retry=[{"ErrorEquals": ["TransientError"], "IntervalSeconds": 60, "BackoffRate": 2, "MaxAttempts": 3}],
        End=True,
    )
    arn = make_state_machine(emu, "retry", definition)
    out = run_execution(emu, arn)
    assert out["status"] == "SUCCEEDED", out
    assert json.loads(out["output"]) == {"attempts": 3}
    assert out["stopDate"] - out["startDate"] >= timedelta(seconds=180)  # 60 s + 120 s of emulated backoff


def test_lambda_error_is_caught_by_its_class_name(emu):
    fn = make_function(emu, "flaky", "fn_flaky")
    definition = calling(
        fn,
        {},
        then={"Caught": {"Type": "Pass", "End": True}},
        Catch=[{"ErrorEquals": ["TransientError"], "ResultPath": "$.error", "Next": "Caught"}],
        End=True,
    )
    arn = make_state_machine(emu, "catch", definition)
    out = run_execution(emu, arn)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"])["error"]["Error"] == "TransientError"


def test_aws_sdk_describe_inference_component_result_survives_describe_execution(emu):
    make_endpoint(emu)
    arn = make_state_machine(
        emu,
        "describe",
        {
            "StartAt": "D",
            "States": {
                "D": _task(
                    "arn:aws:states:::aws-sdk:sagemaker:describeInferenceComponent",
                    {"InferenceComponentName": "ic"},
                    End=True,
                )
            },
        },
    )
    out = run_execution(emu, arn)
    assert out["status"] == "SUCCEEDED", out
    result = json.loads(out["output"])
    assert result["InferenceComponentStatus"] == "InService"
    assert result["RuntimeConfig"]["CurrentCopyCount"] == 0
    assert result["CreationTime"].startswith("2025-03-10T")  # an ISO string in emulated time


def test_aws_sdk_errors_carry_aws_names(emu):
    """SageMaker's API model does not declare ThrottlingException: Step Functions reports it as the service's base
    exception (localaws/stepfunctions_aws_sdk.py, "aws-sdk errors")."""
    make_endpoint(emu)
    emu.throttle("UpdateInferenceComponentRuntimeConfig", "ic")
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}]
    arn = make_state_machine(
        emu,
        "errors",
        {
            "StartAt": "Update",
            "States": {
                "Update": _task(
                    "arn:aws:states:::aws-sdk:sagemaker:updateInferenceComponentRuntimeConfig",
                    {"InferenceComponentName": "ic", "DesiredRuntimeConfig": {"CopyCount": 1}},
                    Catch=catch,
                    ResultPath="$.update",
                    Next="Done",
                ),
                "Done": {"Type": "Pass", "End": True},
            },
        },
    )
    out = run_execution(emu, arn)
    assert json.loads(out["output"])["error"]["Error"] == "SageMaker.SageMakerException"
    assert describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 0


def test_aws_sdk_sagemakerruntime_and_applicationautoscaling_are_known_services(emu):
    make_endpoint(emu)
    arn = make_state_machine(
        emu,
        "services",
        {
            "StartAt": "Register",
            "States": {
                "Register": _task(
                    "arn:aws:states:::aws-sdk:applicationautoscaling:registerScalableTarget",
                    {
                        "ServiceNamespace": "sagemaker",
                        "ResourceId": "inference-component/ic",
                        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
                        "MinCapacity": 0,
                        "MaxCapacity": 1,
                    },
                    ResultPath=None,
                    Next="Invoke",
                ),
                "Invoke": _task(
                    "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
                    {"EndpointName": "ep", "InferenceComponentName": "ic", "Body": "x", "ContentType": "audio/wav"},
                    Catch=[
                        {
                            "ErrorEquals": ["SageMakerRuntime.ValidationErrorException"],
                            "ResultPath": "$.error",
                            "Next": "NoCapacity",
                        }
                    ],
                    End=True,
                ),
                "NoCapacity": {"Type": "Pass", "End": True},
            },
        },
    )
    out = run_execution(emu, arn)
    assert out["status"] == "SUCCEEDED", out
    error = json.loads(out["output"])["error"]
    assert "Inference Component has no capacity" in error["Cause"]
    assert emu.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]


def test_dynamodb_conditional_check_names(emu):
    ddb = emu.client("dynamodb")
    ddb.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="state", Item={"pk": {"S": "ic"}})
    put = {
        "TableName": "state",
        "Item": {"pk": {"S": "ic"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}]
    for resource, expected in [
        ("arn:aws:states:::dynamodb:putItem", "DynamoDB.ConditionalCheckFailedException"),
        ("arn:aws:states:::aws-sdk:dynamodb:putItem", "DynamoDb.ConditionalCheckFailedException"),
    ]:
        arn = make_state_machine(
            emu,
            expected.split(".")[0],
            {
                "StartAt": "Put",
                "States": {
                    "Put": _task(resource, put, Catch=catch, Next="Done"),
                    "Done": {"Type": "Pass", "End": True},
                },
            },
        )
        out = run_execution(emu, arn)
        assert json.loads(out["output"])["error"]["Error"] == expected


def test_wait_state_runs_in_emulated_time(emu):
    arn = make_state_machine(
        emu,
        "wait",
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": 900, "Next": "T"},
                "T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": True},
            },
        },
    )
    out = run_execution(emu, arn)
    assert out["status"] == "SUCCEEDED"
    assert out["stopDate"] - out["startDate"] >= timedelta(seconds=900)
    assert json.loads(out["output"])["entered"].startswith("2025-03-10")


def test_execution_names_are_kept_and_unnamed_ones_are_unique(emu):
    arn = make_state_machine(emu, "names", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    sfn = emu.client("stepfunctions")
    named = sfn.start_execution(stateMachineArn=arn, name="wake-123", input="{}")["executionArn"]
    assert named.endswith(":wake-123")
    assert sfn.describe_execution(executionArn=named)["name"] == "wake-123"
    first = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert first != second
    assert not first.endswith(":None")


def test_timestamp_wait_counts_from_the_emulated_clock(emu):
    arn = make_state_machine(
        emu,
        "until",
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.until", "End": True}}},
    )
    until = (emu.now() + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = run_execution(emu, arn, {"until": until})
    assert out["status"] == "SUCCEEDED"
    # moto counts whole seconds to the timestamp, so it may end up to a second early
    assert out["stopDate"] >= datetime.fromisoformat(until.replace("Z", "+00:00")) - timedelta(seconds=1)
    assert out["stopDate"] - out["startDate"] < timedelta(hours=1)


def test_on_a_jumping_clock_a_wait_state_ends_on_time(emu):
    """A Wait is a deadline the idle clock jumps to: it ends after its seconds, not at the next alarm round."""
    arn = make_state_machine(
        emu,
        "jumpwait",
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": 150, "Next": "T"},
                "T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": True},
            },
        },
    )
    clock = emu.clock
    clock.set_speed(1)  # only jumps move the clock: a missed deadline would show as a whole minute
    clock.jump_when_idle(True)
    try:
        with clock.held():
            clock.advance_to(clock.now().replace(second=10, microsecond=0) + timedelta(minutes=1))
            out = run_execution(emu, arn, timeout=600)
    finally:
        clock.jump_when_idle(False)
    assert out["status"] == "SUCCEEDED", out
    entered = datetime.fromisoformat(json.loads(out["output"])["entered"].replace("Z", "+00:00"))
    assert timedelta(seconds=150) <= entered - out["startDate"] < timedelta(seconds=152)


def test_on_a_jumping_clock_a_lambda_task_waiting_on_emulated_time_lets_it_jump(emu):
    """A task's Lambda that waits on the clock (the nap's fallback pre-warm waiting on its cold start) is a wait
    of the execution: the idle clock jumps to its end (at speed 1, crawling through it would take an hour)."""
    fn = make_function(emu, "probe", "fn_probe")
    arn = make_state_machine(emu, "sleeper", calling(fn, {"clock_sleep": 3600}, OutputPath="$.Payload", End=True))
    clock = emu.clock
    clock.set_speed(1)
    clock.jump_when_idle(True)
    try:
        with clock.held():
            execution = emu.client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")
            out = emu.wait_for_execution(execution["executionArn"], timeout=7200, wall_timeout=60)
    finally:
        clock.jump_when_idle(False)
    assert out["status"] == "SUCCEEDED", out
    assert out["stopDate"] - out["startDate"] >= timedelta(hours=1)
