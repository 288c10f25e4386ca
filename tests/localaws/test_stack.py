"""The real template.yaml deploys into the emulator: every resource, names and settings from the template only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localaws import EmulatedClock, Emulator
from localaws.cfn_stack import Stack
from localaws.cfn_template import StackError
from tests.localaws.conftest import make_endpoint
from tests.stacks import StandInModel

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CREATE = {
    "DeploymentMode": "create",
    "ModelDataUrl": "s3://models/sleepwake/model.tar.gz",
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuron:1.13.1",
}

pytestmark = pytest.mark.skipif(not TEMPLATE.is_file(), reason="template.yaml not written yet")


@pytest.fixture
def emu_at_night():
    """The emulator, started 10 minutes before the nightly sleep (00:00 America/Los_Angeles = 07:00 UTC on
    10 March 2025, the day after DST began); the model is a stand-in (no test here reads its answers). The
    night itself runs end to end in tests/e2e/test_night.py."""
    emulator = Emulator(
        EmulatedClock(start=datetime(2025, 3, 10, 6, 50, tzinfo=UTC), speed=120),
        port=0,
        provisioning_seconds=200,
        model_server_factory=StandInModel,
        fallback_server_factory=StandInModel,
    )
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_create_mode_deploys_every_template_resource(emu_at_night):
    emu = emu_at_night
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


def test_adopt_mode_controls_an_existing_component_and_creates_no_sagemaker_resources(emu_at_night):
    emu = emu_at_night
    make_endpoint(emu, name="sleepwake-endpoint", ic="sleepwake-ic", copies=1)
    stack = Stack(emu, TEMPLATE).deploy()
    for logical in ("Model", "EndpointConfig", "Endpoint", "InferenceComponent", "ModelExecutionRole"):
        assert stack.skipped[logical] == "condition CreateMode is false"
    assert stack.outputs["InferenceComponentName"] == "sleepwake-ic"


def test_parameters_are_checked_against_the_template(emu_at_night):
    with pytest.raises(StackError, match="DeploymentMode"):
        Stack(emu_at_night, TEMPLATE, parameters={"DeploymentMode": "borrow"}).deploy()
    with pytest.raises(StackError, match="unknown parameters"):
        Stack(emu_at_night, TEMPLATE, parameters={"NoSuchParameter": "1"}).deploy()
