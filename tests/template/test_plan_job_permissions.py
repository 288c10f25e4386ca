"""The plan job's role: exactly what it calls, on this stack's schedule group and wake role only."""

from __future__ import annotations

from tests.template.test_function_permissions import TEMPLATE, actions_called_by, statements_by_sid


def test_the_plan_job_reads_the_history_stores_the_plan_and_manages_its_wakes():
    assert actions_called_by("functions/plan_day/") == {
        "cloudwatch:GetMetricData",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
    }


def test_its_schedules_are_confined_to_the_stacks_group_and_it_passes_only_the_wake_role():
    statements = statements_by_sid("PlanDayFunction")
    schedules = statements["ScheduleThePlannedWakes"]
    assert schedules["Resource"]["Fn::Sub"].endswith(":schedule/${PlannedWakeGroup}/*")
    passing = statements["HandTheWakeRoleToScheduler"]
    assert passing["Action"] == ["iam:PassRole"] and passing["Resource"] == {"Fn::GetAtt": "PlannedWakeRole.Arn"}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    # The only `*`: GetMetricData has no resource-level permissions.
    assert [s["Sid"] for s in statements.values() if s["Resource"] == "*"] == ["ReadTheRequestHistory"]


def test_the_wake_role_may_only_invoke_the_wake_trigger():
    role = TEMPLATE["Resources"]["PlannedWakeRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"] == {"Fn::GetAtt": "WakeTriggerFunction.Arn"}
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
