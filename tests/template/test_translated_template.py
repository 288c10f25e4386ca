"""What CloudFormation receives after the SAM transform (run in-process, as the local stack does): the checks
that only hold on the translated template, where SAM's defaults show."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.cfn_template import translate
from tests.conftest import ROOT

CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"  # SAM's CALLER_CREDENTIALS (samtranslator/swagger/swagger.py)


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml")


def _integrations(cfn: dict[str, Any]):
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::ApiGateway::RestApi":
            continue
        for path, methods in resource["Properties"]["Body"]["paths"].items():
            for method, spec in methods.items():
                yield logical, path, method, spec["x-amazon-apigateway-integration"]


def test_the_wake_api_invokes_its_function_without_the_callers_credentials(cfn):
    integrations = list(_integrations(cfn))
    assert {path for _, path, _, _ in integrations} >= {"/wake", "/status"}
    with_credentials = [
        (path, method, integration["credentials"])
        for _, path, method, integration in integrations
        if "credentials" in integration
    ]
    # No credentials at all: a product role granted only execute-api:Invoke works, from any account.
    assert with_credentials == []
    assert not any(CALLER_CREDENTIALS in str(i) for *_, i in integrations)


def test_api_gateway_may_invoke_the_wake_function_only_from_this_api(cfn):
    """With no invoke role, API Gateway calls the function under its resource policy: SAM adds one Lambda
    permission per route, each scoped to this API's ARN."""
    permissions = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == {"Ref": "WakeApiFunction"}
    ]
    assert len(permissions) == 3  # /wake, /status and the catch-all
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"
        text, variables = permission["SourceArn"]["Fn::Sub"]
        assert text.startswith("arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/")
        assert variables["__ApiId__"] == {"Ref": "WakeApi"}


def _schedule_names(stack_name: str) -> dict[str, str]:
    """Schedule logical id -> the name it gets in `stack_name`: its Name (with ${AWS::StackName} resolved)
    or, with no Name, one CloudFormation generates from the stack's name (the schema's primary identifier
    is Name and it is optional, so CloudFormation names it)."""
    names = {}
    for logical, resource in translate(ROOT / "template.yaml", stack_name=stack_name)["Resources"].items():
        if resource["Type"] != "AWS::Scheduler::Schedule":
            continue
        name = resource["Properties"].get("Name")
        if isinstance(name, dict) and "Fn::Sub" in name:
            name = str(name["Fn::Sub"]).replace("${AWS::StackName}", stack_name)
        elif not isinstance(name, str):
            assert name is None, f"{logical}: cannot resolve Name {name!r}"
            name = f"{stack_name}-{logical}-GENERATED"
        names[logical] = name
    return names


def test_two_stacks_in_one_account_and_region_get_different_schedule_names():
    first, second = _schedule_names("sleepwake-a"), _schedule_names("sleepwake-b")
    assert set(first) == {
        "WakeTriggerFunctionMorningWake",
        "SleepStateMachineNightlySleep",
        "IdleCheckFunctionIdleCheck",
        "PlanDayFunctionDailyPlan",
        "WarmupFunctionKeepFallbackWarm",
    }
    assert set(first.values()).isdisjoint(second.values())


def test_the_schedule_name_outputs_name_the_schedules(cfn):
    outputs = {k: v["Value"] for k, v in cfn["Outputs"].items()}
    # Ref of AWS::Scheduler::Schedule is its (possibly generated) name, which the operator CLI looks up.
    assert outputs["SleepScheduleName"] == {"Ref": "SleepStateMachineNightlySleep"}
    assert outputs["IdleCheckScheduleName"] == {"Ref": "IdleCheckFunctionIdleCheck"}
    assert outputs["WakeScheduleName"] == {"Ref": "WakeTriggerFunctionMorningWake"}
    for logical in ("SleepStateMachineNightlySleep", "IdleCheckFunctionIdleCheck", "WakeTriggerFunctionMorningWake"):
        assert cfn["Resources"][logical]["Type"] == "AWS::Scheduler::Schedule"
