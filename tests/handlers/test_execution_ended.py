"""The execution-ended handler, driven with events/execution_ended.json against moto's DynamoDB, SNS and
CloudWatch."""

from __future__ import annotations

import boto3
import pytest
from moto.sns.models import sns_backends

from sleepwake.adapters.cloudwatch import Alarms
from sleepwake.adapters.sns import Notifications
from sleepwake.control.wake import request_wake
from sleepwake.core import State
from sleepwake.settings import Settings
from tests.conftest import LambdaContext, any_occurrence_alarm, load_event, load_handler
from tests.handlers.conftest import IC, REGION

execution_ended = load_handler("execution_ended")


@pytest.fixture
def wired(stack):
    sns, cloudwatch = boto3.client("sns", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    topic = sns.create_topic(Name="failures")["TopicArn"]
    any_occurrence_alarm(cloudwatch, "nocap", "AWS/SageMaker", "NoCapacityInvocationFailures")
    cloudwatch.set_alarm_state(AlarmName="nocap", StateValue="ALARM", StateReason="requests found no copy")
    settings: Settings = stack.plane.settings
    stack.plane.settings = settings.model_copy(update={"failure_topic_arn": topic, "no_capacity_alarm_name": "nocap"})
    stack.plane.aws.alarms = Alarms(cloudwatch)
    stack.plane.aws.notifications = Notifications(sns)
    stack.topic = topic
    return stack


def _sent(stack) -> list:
    return sns_backends["123456789012"][REGION].topics[stack.topic].sent_notifications


def _event_for(stack, name: str, status: str = "ABORTED") -> dict:
    event = load_event("execution_ended")
    event["detail"].update(
        name=name,
        status=status,
        stateMachineArn=stack.wake_arn,
        executionArn=stack.wake_arn.replace(":stateMachine:", ":execution:") + f":{name}",
    )
    return event


def test_a_stopped_wake_is_recorded_failed_rearms_the_alarm_and_notifies_once(wired):
    outcome = request_wake(wired.plane, reason="test", source="api")
    name = outcome.execution.rsplit(":", 1)[1]
    event = _event_for(wired, name)
    assert execution_ended.handler(event, LambdaContext())["recorded"] is True
    record = wired.plane.aws.table.get(IC)
    assert record.state == State.FAILED
    assert record.last_error.startswith(f"wake execution {name} ABORTED")
    alarm = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=["nocap"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    # EventBridge may deliver an event twice: still one message.
    assert execution_ended.handler(event, LambdaContext())["notified"] is False
    assert len(_sent(wired)) == 1
    assert name in _sent(wired)[0][1]


def test_a_wake_that_is_no_longer_the_recorded_one_is_notified_but_not_recorded(wired):
    request_wake(wired.plane, reason="test", source="api")
    before = wired.plane.aws.table.get(IC)
    result = execution_ended.handler(_event_for(wired, "wake-of-long-ago", "FAILED"), LambdaContext())
    assert (result["recorded"], result["notified"]) == (False, True)
    after = wired.plane.aws.table.get(IC)
    assert (after.state, after.op_id) == (before.state, before.op_id)
    assert len(_sent(wired)) == 1


def test_a_succeeded_execution_or_another_state_machine_is_ignored(wired):
    assert execution_ended.handler(_event_for(wired, "w", "SUCCEEDED"), LambdaContext())["notified"] is False
    other = _event_for(wired, "w")
    other["detail"]["stateMachineArn"] = "arn:aws:states:us-east-1:123456789012:stateMachine:someone-else"
    assert execution_ended.handler(other, LambdaContext())["notified"] is False
    assert _sent(wired) == []


def test_a_sleep_claim_names_its_execution_so_its_end_can_be_matched(stack):
    """The sleep state machine sends {"request": <its input>, "execution_name": $$.Execution.Name}."""
    decide_sleep = load_handler("decide_sleep")
    stack.component.desired = stack.component.current = 1
    event = {"request": load_event("decide_sleep") | {"config": {"zero": 0}}, "execution_name": "night-sleep-1"}
    assert decide_sleep.handler(event, LambdaContext())["sleep"] is True
    record = stack.plane.aws.table.get(IC)
    assert (record.state, record.op_kind, record.execution_name) == (State.SLEEPING, "sleep", "night-sleep-1")
