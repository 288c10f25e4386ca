"""Adopt mode over a component AWS's scale-to-zero recipe set up (scalable target, target tracking, step policy,
NoCapacityInvocationFailures alarm): ExistingScaling=refuse fails the deploy before changing anything, saying what
to remove; take-over leaves only the stack's own scaling, and deleting the stack puts the recipe's back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from localaws import Emulator
from localaws.cfn_stack import Stack
from localaws.cfn_template import StackError
from sleepwake.core.adoption import ExistingAlarm, ExistingPolicy, ExistingScaling, ExistingTarget, refusal_message
from tests.localaws.conftest import RECIPE_STEP, recipe_scaling, scaling_target
from tests.localaws.test_adopt_endpoint_check import adopted_endpoint

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
IC = "sleepwake-ic"
WHERE = scaling_target(IC)


def scaling_of(emu: Emulator, component: str = IC) -> dict[str, Any]:
    """The component's scaling as the APIs describe it, without ids and times (to compare before and after)."""
    aas = emu.client("application-autoscaling")
    where = scaling_target(component)
    targets = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[where["ResourceId"]], ScalableDimension=where["ScalableDimension"]
    )["ScalableTargets"]
    policies = aas.describe_scaling_policies(**where)["ScalingPolicies"]
    arns = {p["PolicyARN"]: p["PolicyName"] for p in policies}
    alarms = emu.client("cloudwatch").describe_alarms(AlarmNamePrefix=component)["MetricAlarms"]
    return {
        "target": [(t["MinCapacity"], t["MaxCapacity"]) for t in targets],
        "policies": sorted(
            (p["PolicyName"], p["PolicyType"], p.get("StepScalingPolicyConfiguration")) for p in policies
        ),
        # An alarm's actions by the policy names they run (ARNs of re-created policies differ).
        "alarms": {a["AlarmName"]: [arns.get(x, x) for x in a["AlarmActions"]] for a in alarms},
    }


RECIPE = {
    "target": [(0, 2)],
    "policies": [
        (f"{IC}-step-scaling", "StepScaling", RECIPE_STEP),
        (f"{IC}-target-tracking", "TargetTrackingScaling", None),
    ],
    "alarms": {f"{IC}-no-capacity": [f"{IC}-step-scaling"]},
}


def test_refuse_mode_fails_the_deploy_before_changing_anything_and_says_what_to_remove(emu):
    adopted_endpoint(emu, min_instances=0)
    recipe_scaling(emu, IC)
    assert scaling_of(emu) == RECIPE
    stack = Stack(emu, TEMPLATE)  # ExistingScaling defaults to refuse

    with pytest.raises(StackError, match="ExistingScaling=refuse"):
        stack.deploy()

    assert stack.status == "ROLLBACK_COMPLETE"
    [failed] = stack.failures()
    assert failed["LogicalResourceId"] == "AdoptedScaling"
    policies = emu.client("application-autoscaling").describe_scaling_policies(**WHERE)["ScalingPolicies"]
    arn = {p["PolicyName"]: p["PolicyARN"] for p in policies}
    expected = refusal_message(
        ExistingScaling(
            component=IC,
            target=ExistingTarget(min_capacity=0, max_capacity=2),
            policies=[
                ExistingPolicy(name=p["PolicyName"], arn=p["PolicyARN"], policy_type=p["PolicyType"]) for p in policies
            ],
            alarms=[ExistingAlarm(name=f"{IC}-no-capacity", alarm_actions=[arn[f"{IC}-step-scaling"]])],
        )
    )
    reason = failed["ResourceStatusReason"]
    assert re.fullmatch(
        re.escape(f"Received response status [FAILED] from custom resource. Message returned: {expected}")
        + r" \(RequestId: [0-9a-f-]{36}\)",
        reason,
    ), reason
    assert "ScalableTarget" not in [e["LogicalResourceId"] for e in stack.events]  # refused before it
    assert scaling_of(emu) == RECIPE  # nothing changed
    assert stack.created == []


def test_take_over_leaves_only_the_stacks_scaling_and_deleting_the_stack_puts_the_recipes_back(emu):
    adopted_endpoint(emu, min_instances=0)
    recipe_scaling(emu, IC)

    stack = Stack(emu, TEMPLATE, parameters={"ExistingScaling": "take-over"}).deploy()

    assert stack.status == "CREATE_COMPLETE"
    assert scaling_of(emu) == {
        "target": [(1, 2)],  # DayMinCopies, MaxCopies
        "policies": [(f"{IC}-concurrency", "TargetTrackingScaling", None)],
        "alarms": {f"{IC}-no-capacity": []},  # kept, but it runs no policy now
    }
    uuid = "[0-9a-f-]{36}"
    managed = f"TargetTracking-inference-component/{IC}-AlarmKIND-{uuid}"
    assert re.fullmatch(
        re.escape(
            f"record {IC}: what is there, for the restore | "
            f"detach-alarm {IC}-no-capacity: stops running {IC}-step-scaling | "
            f"delete-policy {IC}-target-tracking: and its alarms "
        )
        + managed.replace("KIND", "High")
        + ", "
        + managed.replace("KIND", "Low")
        + re.escape(
            f" | delete-policy {IC}-step-scaling | "
            f"deregister-target inference-component/{IC}: min 0, max 2; the stack registers its own bounds"
        ),
        stack.outputs["AdoptedScaling"],
    ), stack.outputs["AdoptedScaling"]
    # The recipe's target-tracking alarms went with its policy; the stack's own policy has its pair.
    alarms = emu.client("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"]
    [ours] = emu.client("application-autoscaling").describe_scaling_policies(**WHERE)["ScalingPolicies"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(a["AlarmName"] for a in ours["Alarms"])

    stack.delete()

    assert stack.status == "DELETE_COMPLETE"
    assert scaling_of(emu) == RECIPE
