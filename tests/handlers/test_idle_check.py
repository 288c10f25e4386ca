"""The idle check, Lambda first: a check that will not sleep starts nothing (no state transition to pay), one
that will starts the sleep state machine with the schedule's input, and the state machine's first step still
decides and claims, exactly once however many checks started one."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from sleepwake.control.sleep import decide_and_claim_sleep
from sleepwake.core import State
from tests.conftest import LambdaContext, load_event, load_handler
from tests.handlers.conftest import IC

idle_check = load_handler("idle_check")


def sleep_executions(stack) -> list[dict]:
    arn = stack.plane.settings.sleep_state_machine_arn
    return stack.sfn.list_executions(stateMachineArn=arn)["executions"]


def served(stack, requests: int, minutes_ago: int) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": requests,
                "Timestamp": stack.now[0] - timedelta(minutes=minutes_ago),
                "Dimensions": [{"Name": "InferenceComponentName", "Value": IC}],
            }
        ],
    )


def test_a_check_on_a_busy_component_starts_no_sleep(stack):
    stack.component.desired = stack.component.current = 1
    served(stack, 3, minutes_ago=5)
    result = idle_check.handler(load_event("idle_check"), LambdaContext())
    assert result == {"sleep": False, "reason": "served 3 request(s) in the last 30 minutes", "execution": None}
    assert sleep_executions(stack) == []


def test_a_check_on_a_sleeping_component_starts_no_sleep(stack):
    stack.component.desired = stack.component.current = 0
    result = idle_check.handler(load_event("idle_check"), LambdaContext())
    assert result["sleep"] is False
    assert sleep_executions(stack) == []


def test_a_check_on_an_idle_component_starts_one_sleep_with_the_schedules_input(stack):
    stack.component.desired = stack.component.current = 1
    before = stack.plane.aws.table.get(IC)
    result = idle_check.handler(load_event("idle_check"), LambdaContext())
    assert result["sleep"] is True
    assert [e["executionArn"] for e in sleep_executions(stack)] == [result["execution"]]
    execution = stack.sfn.describe_execution(executionArn=result["execution"])
    assert json.loads(execution["input"]) == load_event("idle_check")
    # The check only reads: the state machine's first step claims.
    assert stack.plane.aws.table.get(IC) == before


def test_two_checks_that_both_start_a_sleep_claim_it_once(stack):
    stack.component.desired = stack.component.current = 1
    first = idle_check.handler(load_event("idle_check"), LambdaContext())
    second = idle_check.handler(load_event("idle_check"), LambdaContext())
    assert first["sleep"] and second["sleep"]
    claims = [decide_and_claim_sleep(stack.plane, trigger="idle", execution_name=n) for n in ("first", "second")]
    assert [c["sleep"] for c in claims] == [True, False]
    assert stack.plane.aws.table.get(IC).state == State.SLEEPING


def test_a_request_between_the_check_and_the_claim_makes_the_sleep_skip(stack):
    stack.component.desired = stack.component.current = 1
    assert idle_check.handler(load_event("idle_check"), LambdaContext())["sleep"] is True
    stack.now[0] += timedelta(minutes=2)
    served(stack, 1, minutes_ago=1)
    claim = decide_and_claim_sleep(stack.plane, trigger="idle", execution_name="late")
    assert claim["sleep"] is False
    assert stack.plane.aws.table.get(IC).state != State.SLEEPING
