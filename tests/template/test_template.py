"""The template is the single source of truth: least privilege, and every ASL placeholder bound (`make lint` runs
cfn-lint and `sam validate --lint` on it)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sleepwake_cli.deployment import load_template
from tests.conftest import ROOT

READ_ONLY = re.compile(r":(Describe|Get|List|BatchGet|Query|Scan)[A-Za-z]*$")
NO_RESOURCE_LEVEL = {  # actions AWS documents without resource-level permissions (Service Authorization Ref.)
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def _statements(template: dict[str, Any]):
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    # A statement present only under a condition (Fn::If [cond, statement, AWS::NoValue]).
                    yield name, statement["Fn::If"][1] if "Fn::If" in statement else statement
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, statement


def test_every_inline_statement_has_a_sid(template):
    missing = [name for name, statement in _statements(template) if "Sid" not in statement]
    assert missing == []


def test_no_mutating_action_has_a_wildcard_resource(template):
    offenders = []
    for name, statement in _statements(template):
        if statement.get("Resource") != "*":
            continue
        for action in statement["Action"]:
            if not READ_ONLY.search(action) and action not in NO_RESOURCE_LEVEL:
                offenders.append((name, action))
    assert offenders == []


@pytest.mark.parametrize("machine", ["wake", "sleep"])
def test_every_asl_placeholder_is_bound_by_the_template(template, machine):
    resource = template["Resources"][f"{machine.capitalize()}StateMachine"]["Properties"]
    definition = (ROOT / resource["DefinitionUri"]).read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
    assert placeholders
    assert placeholders <= set(resource["DefinitionSubstitutions"])


@pytest.mark.parametrize("machine", ["wake", "sleep"])
def test_the_asl_names_no_arn_of_its_own_and_every_task_retries(machine):
    definition = json.loads((ROOT / "statemachines" / f"{machine}.asl.json").read_text())
    text = json.dumps(definition)
    assert not re.search(r"arn:aws:(lambda|sns|sagemaker|dynamodb):", text)
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{name} has no Retry"
            assert state.get("Catch"), f"{name} has no Catch"


def test_every_function_has_a_sample_event(template):
    functions = [
        r["Properties"]["CodeUri"].strip("/").split("/")[-1]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    events = {p.stem for p in (ROOT / "events").glob("*.json")}
    assert [f for f in functions if not any(e.startswith(f) for e in events)] == []


def test_schedules_are_time_zone_aware_with_retries_and_a_dead_letter_queue(template):
    schedules = [
        event["Properties"]
        for r in template["Resources"].values()
        for event in r.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "ScheduleV2"
    ]
    assert len(schedules) == 5  # sleep, idle check, morning wake, daily plan, fallback keep-warm
    for schedule in schedules:
        assert "ScheduleExpressionTimezone" in schedule
        if schedule["Input"] == '{"target": "keep-warm"}':
            # The keep-warm tick: a missed one is superseded by the next, so neither retried nor dead-lettered.
            assert schedule["RetryPolicy"]["MaximumRetryAttempts"] == 0 and "DeadLetterConfig" not in schedule
            continue
        assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert schedule["DeadLetterConfig"]["Type"] == "SQS"
    params = template["Parameters"]
    assert (params["SleepSchedule"]["Default"], params["SleepTimezone"]["Default"]) == (
        "cron(0 0 * * ? *)",
        "America/Los_Angeles",
    )
    assert (params["WakeSchedule"]["Default"], params["WakeTimezone"]["Default"]) == (
        "cron(0 7 * * ? *)",
        "America/New_York",
    )
