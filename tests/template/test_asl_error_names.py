"""Every Retry and Catch in the state machines names only errors its Task can raise, by the names Step Functions
reports (localaws/stepfunctions_aws_sdk.py, "aws-sdk errors"): a Retry on a name that never arrives is a retry that
never happens, and a Catch on one routes nothing (the refused-update path once hung on
`SageMaker.ValidationException`, a name AWS does not send)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import botocore.session
import pytest

from localaws import stepfunctions_aws_sdk
from sleepwake.adapters import sagemaker as sagemaker_adapter
from sleepwake.adapters import state_table
from sleepwake.control.steps import NotOwner
from sleepwake.control.warmup import NotServing
from sleepwake_cli.deployment import load_template
from tests.conftest import ROOT

# Step Functions developer guide, "Handle Lambda service exceptions" (bp-lambda-serviceexception): the
# integration's own errors besides the ones Lambda's Invoke declares; Lambda.Unknown is an unhandled error with
# no type (out of memory, timeout).
LAMBDA_INTEGRATION = {
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
}
# errorType values the Lambda runtime itself reports (Lambda developer guide, invocation errors).
LAMBDA_RUNTIME = {"Sandbox.Timedout", "Runtime.ImportModuleError", "Runtime.ExitError", "Runtime.OutOfMemory"}
# A handler's errorType is the class name of what it raises: botocore's class per declared error shape of each
# call it makes, ClientError for the rest, botocore's connection errors, pydantic's ValidationError for a bad
# payload, and the project's own exceptions.
NETWORK = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
CALLS = {  # what each function's control-plane function calls (sleepwake/control/)
    "check_copy": [
        ("sagemaker", "DescribeInferenceComponent"),
        ("dynamodb", "GetItem"),
        ("application-autoscaling", "DescribeScalableTargets"),
    ],
    "record_state": [("dynamodb", "GetItem"), ("dynamodb", "PutItem")],
    "decide_sleep": [
        ("sagemaker", "DescribeInferenceComponent"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "PutItem"),
        ("cloudwatch", "GetMetricStatistics"),
    ],
    "warmup": [],  # the runtime adapter turns every ClientError into its own exceptions
}
OWN: dict[str, set[type[Exception]]] = {
    "check_copy": set(),
    "record_state": {NotOwner, state_table.Conflict},
    "decide_sleep": {state_table.Conflict},
    "warmup": {NotServing, sagemaker_adapter.InvocationError},
}
STATES_ALWAYS = {"States.ALL", "States.TaskFailed", "States.Permissions"}


@cache
def _model(service_name: str) -> Any:
    return botocore.session.get_session().get_service_model(service_name)


def _declared(service_name: str, operation: str) -> list[str]:
    return [shape.name for shape in _model(service_name).operation_model(operation).error_shapes]


def _boto_name(sfn_service: str) -> str:
    return {"applicationautoscaling": "application-autoscaling", "sagemakerruntime": "sagemaker-runtime"}.get(
        sfn_service, sfn_service
    )


def _service_errors(service_name: str) -> list[str]:
    return [shape.name for shape in _model(service_name).error_shapes]


def aws_sdk_errors(sfn_service: str, action: str, rule: str) -> set[str]:
    """Every error shape of the service, not only the operation's: the SDK maps an error code to its modelled
    exception whichever operation answered it (botocore's errorfactory and the Java SDK's unmarshaller are
    per service), so a ConflictException from an operation that does not declare it keeps its name."""
    shapes = _service_errors(_boto_name(sfn_service))
    return {stepfunctions_aws_sdk.aws_sdk_error_name(sfn_service, shape, rule) for shape in [*shapes, None]}


def handler_errors(function: str) -> set[str]:
    names = {"ValidationError"} | NETWORK | {cls.__name__ for cls in OWN[function]}
    for service_name, operation in CALLS[function]:
        names |= {"ClientError", *_declared(service_name, operation)}
    return names


def lambda_errors(function: str) -> set[str]:
    declared = {f"Lambda.{shape}" for shape in _declared("lambda", "Invoke")}
    return declared | LAMBDA_INTEGRATION | LAMBDA_RUNTIME | handler_errors(function)


@pytest.fixture(scope="module")
def functions_by_placeholder() -> dict[str, str]:
    """${CheckCopyFunctionArn} -> check_copy, from the template's DefinitionSubstitutions and CodeUri."""
    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    out = {}
    for key, value in resources["WakeStateMachine"]["Properties"]["DefinitionSubstitutions"].items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical = str(value["Fn::GetAtt"]).split(".")[0]
            code = resources[logical]["Properties"].get("CodeUri", "")
            if code.startswith("functions/"):
                out["${" + key + "}"] = code.strip("/").split("/")[-1]
    return out


def _tasks() -> list[tuple[str, str, dict[str, Any]]]:
    tasks = []
    for path in sorted((ROOT / "statemachines").glob("*.asl.json")):
        for name, state in json.loads(path.read_text())["States"].items():
            if state["Type"] == "Task":
                tasks.append((path.name, name, state))
    return tasks


def raisable(state: dict[str, Any], functions: dict[str, str], rule: str) -> set[str]:
    names = set(STATES_ALWAYS)
    if {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"} & set(state):
        names.add("States.Timeout")
    resource = state["Resource"]
    if resource == "arn:aws:states:::lambda:invoke":
        return names | lambda_errors(functions[state["Parameters"]["FunctionName"]])
    match = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)", resource)
    assert match, f"no error model for {resource}"
    return names | aws_sdk_errors(match[1], match[2], rule)


@pytest.mark.parametrize("rule", ["java", "service_id"])  # the silent point in the service part of the names
@pytest.mark.parametrize(("machine", "state_name", "state"), _tasks(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_retry_and_catch_names_only_errors_its_task_can_raise(
    machine, state_name, state, rule, functions_by_placeholder
):
    allowed = raisable(state, functions_by_placeholder, rule)
    for kind in ("Retry", "Catch"):
        for rule_entry in state.get(kind, []):
            unknown = set(rule_entry["ErrorEquals"]) - allowed
            assert not unknown, f"{machine} / {state_name} {kind} names errors it can never see: {sorted(unknown)}"


REFUSED_UPDATE = {"SageMaker.SageMakerException", "SageMaker.ConflictException", "SageMaker.ResourceInUseException"}


def test_the_copy_count_refusal_is_caught_under_every_name_sagemaker_may_send():
    """Which code SageMaker sends for an update it refuses is not published: a ValidationException (not in
    the model) arrives as SageMaker.SageMakerException; the model's ConflictException and ResourceInUse arrive
    by name. Both state machines retry, then follow the running update, on all three."""
    assert aws_sdk_errors("sagemaker", "updateInferenceComponentRuntimeConfig", "java") > REFUSED_UPDATE
    assert {"ConflictException", "ResourceInUse"} <= set(_service_errors("sagemaker"))
    for machine, state_name in [("wake.asl.json", "Set Copy Count"), ("sleep.asl.json", "Set Zero Copies")]:
        state = json.loads((ROOT / "statemachines" / machine).read_text())["States"][state_name]
        assert set(state["Retry"][0]["ErrorEquals"]) == REFUSED_UPDATE
        first = state["Catch"][0]
        assert set(first["ErrorEquals"]) == REFUSED_UPDATE
        assert first["Next"] == "Is An Update Running?"


def test_the_checker_rejects_the_names_the_old_state_machines_used(functions_by_placeholder):
    set_copy_count = {
        "Resource": "arn:aws:states:::aws-sdk:sagemaker:updateInferenceComponentRuntimeConfig",
        "Parameters": {},
    }
    register = {"Resource": "arn:aws:states:::aws-sdk:applicationautoscaling:registerScalableTarget"}
    warm_up = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "${WarmupFunctionArn}"}}
    assert "SageMaker.ValidationException" not in raisable(set_copy_count, functions_by_placeholder, "java")
    assert "SageMaker.ThrottlingException" not in raisable(set_copy_count, functions_by_placeholder, "java")
    assert "States.Timeout" not in raisable(set_copy_count, functions_by_placeholder, "java")
    assert "SageMaker.SageMakerException" not in raisable(register, functions_by_placeholder, "java")
    assert "ProvisionedThroughputExceededException" not in raisable(warm_up, functions_by_placeholder, "java")


@pytest.mark.parametrize(
    ("service_name", "shape", "expected"),
    [
        # the AWS developer guide's own examples ("AWS SDK service integrations")
        ("acmpca", "ResourceNotFoundException", "AcmPca.ResourceNotFoundException"),
        ("s3", "BucketAlreadyExists", "S3.BucketAlreadyExistsException"),
        # LocalStack's snapshots recorded against AWS (test_aws_sdk.snapshot.json)
        ("dynamodb", None, "DynamoDb.DynamoDbException"),
        ("secretsmanager", None, "SecretsManager.SecretsManagerException"),
        ("sfn", "InvalidToken", "Sfn.InvalidTokenException"),
        # what this project's state machines meet
        ("sagemaker", None, "SageMaker.SageMakerException"),
        ("sagemaker", "ResourceLimitExceeded", "SageMaker.ResourceLimitExceededException"),
        ("applicationautoscaling", None, "ApplicationAutoScaling.ApplicationAutoScalingException"),
    ],
)
def test_aws_sdk_error_names_match_the_published_examples(service_name, shape, expected):
    assert stepfunctions_aws_sdk.aws_sdk_error_name(service_name, shape, "java") == expected
