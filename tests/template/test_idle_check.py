"""The idle check, Lambda first: its schedule invokes the idle-check function (a dead-letter queue for events it
could not deliver), and that function only reads and starts the sleep state machine; the claim stays the state
machine's."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.cfn_template import translate
from tests.conftest import ROOT
from tests.template.test_function_permissions import actions_called_by, statements_by_sid


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml")


def test_the_idle_check_reads_and_starts_a_sleep_and_claims_nothing():
    assert actions_called_by("functions/idle_check/") == {
        "cloudwatch:GetMetricStatistics",
        "dynamodb:GetItem",
        "sagemaker:DescribeInferenceComponent",
        "states:StartExecution",
    }
    statements = statements_by_sid("IdleCheckFunction")
    actions = {a for s in statements.values() for a in s["Action"]}
    assert "dynamodb:PutItem" not in actions
    assert statements["StartTheSleep"]["Action"] == ["states:StartExecution"]
    assert statements["StartTheSleep"]["Resource"] == {"Ref": "SleepStateMachine"}
    assert [s["Sid"] for s in statements.values() if s["Resource"] == "*"] == ["ReadInvocationCounts"]


def test_the_idle_schedule_invokes_the_function_with_the_check_input_and_keeps_its_dead_letters(cfn):
    schedule = cfn["Resources"]["IdleCheckFunctionIdleCheck"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["IdleCheckFunction", "Arn"]}
    assert target["Input"] == '{"trigger": "idle", "force": false}'
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["IdleCheckFunctionIdleCheckQueue", "Arn"]}}
    role = cfn["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": ["IdleCheckFunction", "Arn"]}]
    assert not any("states:StartExecution" in s["Action"] for s in statements)


def test_no_schedule_starts_the_sleep_state_machine_for_an_idle_check(cfn):
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::Scheduler::Schedule":
            target = resource["Properties"]["Target"]
            assert not ('"idle"' in str(target.get("Input")) and "SleepStateMachine" in str(target["Arn"])), logical
