"""The local CloudFormation fails and rolls back a deploy as CloudFormation does, and deletes a stack it deployed."""

from __future__ import annotations

import re

import pytest

from localaws import Emulator
from localaws.cfn_existing import primary_identifier
from localaws.cfn_stack import Stack
from localaws.cfn_template import StackError
from tests.conftest import any_occurrence_alarm
from tests.localaws.conftest import FIXTURES, make_endpoint

TEMPLATE = FIXTURES / "scalable_target_stack.yaml"
IC_TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "inference-component/ic",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}
TAKEN = (
    r'Resource handler returned message: "Resource of type \'AWS::ApplicationAutoScaling::ScalableTarget\' with '
    r"identifier 'inference-component/ic\|sagemaker:inference-component:DesiredCopyCount\|sagemaker' already "
    r'exists\." \(RequestToken: [0-9a-f-]{36}, HandlerErrorCode: AlreadyExists\)'
)


def what_the_stack_made(emu: Emulator) -> dict[str, list[str]]:
    """Every resource of the fixture's types that carries the stack's name (physical names are <stack>-<id>)."""
    topics = [t["TopicArn"] for t in emu.client("sns").list_topics()["Topics"]]
    queues = emu.client("sqs").list_queues().get("QueueUrls", [])
    functions = [f["FunctionName"] for f in emu.client("lambda").list_functions()["Functions"]]
    roles = [r["RoleName"] for r in emu.client("iam").list_roles()["Roles"]]
    alarms = [a["AlarmName"] for a in emu.client("cloudwatch").describe_alarms()["MetricAlarms"]]
    made = {"topics": topics, "queues": queues, "functions": functions, "roles": roles}
    found = {kind: [n for n in names if "small-" in n] for kind, names in made.items()}
    return found | {"alarms": alarms}


def scalable_targets(emu: Emulator) -> list[tuple[int, int]]:
    aas = emu.client("application-autoscaling")
    found = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[IC_TARGET["ResourceId"]])
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in found["ScalableTargets"]]


def test_the_scalable_targets_identifier_is_its_registry_schemas_primary_identifier():
    assert primary_identifier("AWS::ApplicationAutoScaling::ScalableTarget") == (
        "ResourceId",
        "ScalableDimension",
        "ServiceNamespace",
    )


def test_a_scalable_target_that_exists_fails_the_deploy_and_rolls_back_what_it_created(emu):
    make_endpoint(emu, copies=1)
    emu.client("application-autoscaling").register_scalable_target(**IC_TARGET, MinCapacity=0, MaxCapacity=3)
    stack = Stack(emu, TEMPLATE, stack_name="small")

    with pytest.raises(StackError, match="already exists") as raised:
        stack.deploy()

    assert str(raised.value).startswith("Target: Resource handler returned message")
    assert stack.status == "ROLLBACK_COMPLETE"
    [failed] = stack.failures()
    assert (failed["LogicalResourceId"], failed["ResourceStatus"]) == ("Target", "CREATE_FAILED")
    assert re.fullmatch(TAKEN, failed["ResourceStatusReason"]), failed["ResourceStatusReason"]
    stack_events = [
        (e["ResourceStatus"], e["ResourceStatusReason"]) for e in stack.events if e["LogicalResourceId"] == "small"
    ]
    assert stack_events == [
        ("CREATE_IN_PROGRESS", "User Initiated"),
        ("ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Target]. Rollback requested by user."),
        ("ROLLBACK_COMPLETE", ""),
    ]
    # What it created is gone (the custom resource was sent its Delete), the alarm after it was never made,
    # and the target that was there is as it was.
    deleted = [e["LogicalResourceId"] for e in stack.events if e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert set(deleted) == {"Notes", "Queue", "ProbeFunction", "ProbeFunctionRole", "Probe"}
    assert deleted.index("Probe") < deleted.index("ProbeFunction")  # dependents first
    assert stack.created == []
    assert what_the_stack_made(emu) == {"topics": [], "queues": [], "functions": [], "roles": [], "alarms": []}
    assert scalable_targets(emu) == [(0, 3)]


def test_the_same_stack_deploys_where_no_target_exists_and_deletes_cleanly(emu):
    make_endpoint(emu, copies=1)
    stack = Stack(emu, TEMPLATE, stack_name="small").deploy()
    assert stack.status == "CREATE_COMPLETE"
    assert stack.custom_resource_responses["Probe"]["Data"] == {"RequestType": "Create"}
    assert scalable_targets(emu) == [(1, 2)]
    assert what_the_stack_made(emu)["alarms"] == ["after-the-target"]

    stack.delete()

    assert stack.status == "DELETE_COMPLETE"
    assert stack.created == []
    assert what_the_stack_made(emu) == {"topics": [], "queues": [], "functions": [], "roles": [], "alarms": []}
    assert scalable_targets(emu) == []


def test_an_alarm_named_by_the_template_that_exists_is_refused_too(emu):
    make_endpoint(emu, copies=1)
    any_occurrence_alarm(emu.client("cloudwatch"), "after-the-target", "AWS/SageMaker", "Invocations")
    stack = Stack(emu, TEMPLATE, stack_name="small")
    with pytest.raises(StackError, match="AWS::CloudWatch::Alarm' with identifier 'after-the-target' already exists"):
        stack.deploy()
    assert stack.status == "ROLLBACK_COMPLETE"
    assert scalable_targets(emu) == []  # the stack's own target went with the rollback
    [alarm] = emu.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["MetricName"] == "Invocations"  # the one that was there, untouched
