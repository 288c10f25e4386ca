"""The template's CloudWatch dashboard is created by a local deploy, graphs this stack's resources, and goes with
the stack."""

from __future__ import annotations

import json
from pathlib import Path

from localaws.cfn_stack import Stack
from tests.localaws.conftest import make_endpoint

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def _metrics(body: dict) -> list[list]:
    return [m for w in body["widgets"] for m in w["properties"]["metrics"]]


def test_a_deploy_creates_the_dashboard_of_this_stacks_component_fallback_and_state_machines(emu):
    make_endpoint(emu, name="sleepwake-endpoint", ic="sleepwake-ic", copies=1)
    stack = Stack(emu, TEMPLATE, parameters={"ScheduleMode": "crons", "CreateFallback": "false"}).deploy()
    cloudwatch = emu.client("cloudwatch")
    name = stack.outputs["DashboardName"]
    assert name == stack.ref("Dashboard")
    assert "Dashboard" not in stack.skipped
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    metrics = _metrics(body)
    # Every ${...} was substituted: the component, the region and both state machines of this stack.
    assert "${" not in json.dumps(body)
    assert {w["properties"]["region"] for w in body["widgets"]} == {emu.region}
    component = {tuple(m[:4]) for m in metrics if "InferenceComponentName" in m}
    assert ("AWS/SageMaker", "Invocations", "InferenceComponentName", "sleepwake-ic") in component
    assert ("AWS/SageMaker", "NoCapacityInvocationFailures", "InferenceComponentName", "sleepwake-ic") in component
    machines = {m[3] for m in metrics if m[0] == "AWS/States"}
    assert machines == {stack.outputs["WakeStateMachineArn"], stack.outputs["SleepStateMachineArn"]}
    waits = {m[1] for m in metrics if m[0] == "Sleepwake" and m[4:6] == ["InferenceComponentName", "sleepwake-ic"]}
    assert waits >= {"TimeToReadySeconds", "ExpectedProvisioningSeconds", "OverExpectedSeconds", "WarmupSeconds"}
    assert "ComponentWarmupRequests" in waits  # the component's requests and, apart, the control plane's warm-ups
    # What users waited (the product client's metric) beside the model's latency, and the fallback's cold starts.
    assert {m[-1]["stat"] for m in metrics if m[1] == "AnswerWaitSeconds"} == {"p99", "Maximum", "PR(:3)"}
    assert {m[-1]["stat"] for m in metrics if m[1] == "ModelSetupTime"} == {"Maximum", "SampleCount"}
    latency = {m[-1]["stat"] for m in metrics if m[1] == "ModelLatency" and "InferenceComponentName" in m}
    assert latency == {"p50", "p99", "Maximum"}

    stack.delete()
    assert name not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
