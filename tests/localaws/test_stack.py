"""The real template.yaml deploys into the emulator: every resource, names and settings from the template only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localaws import EmulatedClock, Emulator
from localaws.stack import Stack, StackError
from tests.localaws.conftest import make_endpoint

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CREATE = {
    "DeploymentMode": "create",
    "ModelDataUrl": "s3://models/sleepwake/model.tar.gz",
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuron:1.13.1",
}

pytestmark = pytest.mark.skipif(not TEMPLATE.is_file(), reason="template.yaml not written yet")


@pytest.fixture
def real_emu():
    """The emulator with the project's real model handler, started 10 minutes before the nightly sleep
    (00:00 America/Los_Angeles = 07:00 UTC on 10 March 2025, the day after DST began)."""
    emulator = Emulator(
        EmulatedClock(start=datetime(2025, 3, 10, 6, 50, tzinfo=UTC), speed=120), port=0, provisioning_seconds=200
    )
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_create_mode_deploys_every_template_resource(real_emu):
    emu = real_emu
    stack = Stack(emu, TEMPLATE, parameters=CREATE).deploy()
    out = stack.outputs
    # SageMaker, created and stabilised as CloudFormation would, with the template's DayMinCopies.
    ic = emu.client("sagemaker").describe_inference_component(InferenceComponentName=out["InferenceComponentName"])
    assert ic["InferenceComponentStatus"] == "InService"
    assert ic["RuntimeConfig"]["CurrentCopyCount"] == int(stack.params["DayMinCopies"])
    assert ic["EndpointName"] == out["EndpointName"]
    # The post-deploy custom resource ran its Lambda with a Create event and PUT its answer back.
    assert stack.custom_resource_responses["PostDeployWarmup"]["Status"] == "SUCCESS"
    assert out["PostDeployWarmup"] == stack.getatt("PostDeployWarmup", "Summary")
    item = emu.client("dynamodb").scan(TableName=str(stack.ref("StateTable")))["Items"]
    assert [(i["state"]["S"], i["reason"]["S"]) for i in item] == [("ready", "post-deploy warm-up")]
    # Schedules carry the template's cron and time zone.
    scheduler = emu.client("scheduler")
    sleep = scheduler.get_schedule(Name=out["SleepScheduleName"])
    assert sleep["ScheduleExpression"] == stack.params["SleepSchedule"]
    assert sleep["ScheduleExpressionTimezone"] == stack.params["SleepTimezone"]
    assert sleep["Target"]["Arn"] == out["SleepStateMachineArn"]
    wake = scheduler.get_schedule(Name=out["WakeScheduleName"])
    assert wake["ScheduleExpressionTimezone"] == stack.params["WakeTimezone"]
    # State machines have every substitution applied.
    for arn in (out["WakeStateMachineArn"], out["SleepStateMachineArn"]):
        definition = emu.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
        assert "${" not in definition.replace("$${", "")
        json.loads(definition)
    # Alarm, its EventBridge rule, the table, the scalable target.
    alarms = emu.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert any(a["MetricName"] == "NoCapacityInvocationFailures" for a in alarms)
    rules = emu.client("events").list_rules()["Rules"]
    assert any("aws.cloudwatch" in (r.get("EventPattern") or "") for r in rules)
    assert emu.client("dynamodb").describe_table(TableName=out["StateTableName"])["Table"]["TableStatus"] == "ACTIVE"
    targets = emu.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert targets["ScalableTargets"][0]["ResourceId"] == f"inference-component/{out['InferenceComponentName']}"
    # Every function runs its real code.
    status = stack.call_api("GET", "/status")
    assert status["statusCode"] == 200, status


def test_adopt_mode_controls_an_existing_component_and_creates_no_sagemaker_resources(real_emu):
    emu = real_emu
    make_endpoint(emu, name="sleepwake-endpoint", ic="sleepwake-ic", copies=1)
    stack = Stack(emu, TEMPLATE).deploy()
    for logical in ("Model", "EndpointConfig", "Endpoint", "InferenceComponent", "ModelExecutionRole"):
        assert stack.skipped[logical] == "condition CreateMode is false"
    assert stack.outputs["InferenceComponentName"] == "sleepwake-ic"


def test_parameters_are_checked_against_the_template(real_emu):
    with pytest.raises(StackError, match="DeploymentMode"):
        Stack(real_emu, TEMPLATE, parameters={"DeploymentMode": "borrow"}).deploy()
    with pytest.raises(StackError, match="unknown parameters"):
        Stack(real_emu, TEMPLATE, parameters={"NoSuchParameter": "1"}).deploy()


@pytest.mark.e2e
def test_a_night_sleeps_on_schedule_and_a_request_at_night_wakes_and_warms_it(real_emu):
    emu = real_emu
    stack = Stack(emu, TEMPLATE, parameters=CREATE).deploy()
    sm = emu.client("sagemaker")
    ic = stack.outputs["InferenceComponentName"]

    def copies() -> dict:
        return sm.describe_inference_component(InferenceComponentName=ic)["RuntimeConfig"]

    # The schedule (or the idle check after it) puts the component to sleep.
    assert emu.wait_for(lambda: copies()["CurrentCopyCount"] == 0, timeout=3 * 3600, poll=30)
    assert emu.scheduler.firings[0].scheduled_for == datetime(2025, 3, 10, 7, 0, tzinfo=UTC)
    # The sleep execution records "asleep" on its next poll after the copies reach 0.
    assert emu.wait_for(lambda: stack.call_api("GET", "/status")["body"]["state"] == "asleep", timeout=3600, poll=15)
    # A request at night finds no capacity; the alarm wakes it; the wake warms it and marks it ready.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        emu.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=stack.outputs["EndpointName"], InferenceComponentName=ic, Body=b"x", ContentType="audio/wav"
        )
    assert emu.wait_for(lambda: stack.call_api("GET", "/status")["body"]["state"] == "ready", timeout=3600, poll=30)
    assert copies()["CurrentCopyCount"] == 1
