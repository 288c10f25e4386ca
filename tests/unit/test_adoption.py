"""What adopt mode does to scaling set up outside the stack (AWS's scale-to-zero recipe), decided by the core."""

from __future__ import annotations

import pytest

from sleepwake.core.adoption import (
    ExistingAlarm,
    ExistingPolicy,
    ExistingScaling,
    ExistingTarget,
    detached_actions,
    plan_adoption,
    plan_restore,
    reattached_actions,
)

POLICY = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:{}:resource/sagemaker/inference-component/ic"
POLICY += ":policyName/{}"
STEP_ARN = POLICY.format(1111, "ic-step")
TT_ARN = POLICY.format(2222, "ic-target")
TOPIC = "arn:aws:sns:us-east-1:123456789012:ops"


def recipe() -> ExistingScaling:
    """The scale-to-zero recipe: target (min 0), target tracking, a step policy, the NoCapacity alarm."""
    return ExistingScaling(
        component="ic",
        target=ExistingTarget(min_capacity=0, max_capacity=4),
        policies=[
            ExistingPolicy(
                name="ic-target",
                arn=TT_ARN,
                policy_type="TargetTrackingScaling",
                managed_alarms=["TargetTracking-ic-AlarmHigh", "TargetTracking-ic-AlarmLow"],
            ),
            ExistingPolicy(name="ic-step", arn=STEP_ARN, policy_type="StepScaling"),
        ],
        alarms=[ExistingAlarm(name="ic-no-capacity", alarm_actions=[STEP_ARN, TOPIC])],
    )


def test_a_component_with_no_scaling_of_its_own_needs_nothing_in_either_mode():
    for mode in ("refuse", "take-over"):
        plan = plan_adoption(ExistingScaling(component="ic"), mode)
        assert (plan.refusal, plan.actions) == (None, [])


def test_refuse_mode_says_what_is_there_and_exactly_what_to_remove_in_order():
    plan = plan_adoption(recipe(), "refuse")
    assert plan.refused and plan.actions == []
    flags = (
        "--service-namespace sagemaker --scalable-dimension sagemaker:inference-component:DesiredCopyCount "
        "--resource-id inference-component/ic"
    )
    assert plan.refusal == (
        "ExistingScaling=refuse: inference component ic already has Application Auto Scaling set up outside this "
        "stack (scalable target inference-component/ic (min 0, max 4), TargetTrackingScaling policy ic-target, "
        "StepScaling policy ic-step, alarm ic-no-capacity (runs a policy above)); it would act against sleepwake, "
        "and CloudFormation cannot create the stack's scalable target while that one exists. Nothing was changed. "
        "Either deploy with ExistingScaling=take-over (sleepwake records all of it, takes it over and puts it back "
        "when the stack is deleted) or remove it first: "
        "1. aws cloudwatch delete-alarms --alarm-names ic-no-capacity  (or remove policy ic-step from its actions); "
        f"2. aws application-autoscaling delete-scaling-policy {flags} --policy-name ic-target; "
        f"3. aws application-autoscaling delete-scaling-policy {flags} --policy-name ic-step; "
        f"4. aws application-autoscaling deregister-scalable-target {flags}"
    )


def test_a_bare_target_is_refused_too_because_cloudformation_would_refuse_it():
    plan = plan_adoption(
        ExistingScaling(component="ic", target=ExistingTarget(min_capacity=1, max_capacity=1)), "refuse"
    )
    assert plan.refusal is not None and plan.refusal.endswith(
        "1. aws application-autoscaling deregister-scalable-target "
        "--service-namespace sagemaker --scalable-dimension sagemaker:inference-component:DesiredCopyCount "
        "--resource-id inference-component/ic"
    )


def test_take_over_records_first_then_stops_every_policy_then_frees_the_target():
    plan = plan_adoption(recipe(), "take-over")
    assert not plan.refused
    assert [a.describe() for a in plan.actions] == [
        "record ic: what is there, for the restore",
        "detach-alarm ic-no-capacity: stops running ic-step",
        "delete-policy ic-target: and its alarms TargetTracking-ic-AlarmHigh, TargetTracking-ic-AlarmLow",
        "delete-policy ic-step",
        "deregister-target inference-component/ic: min 0, max 4; the stack registers its own bounds",
    ]


def test_an_alarm_keeps_its_other_actions_and_gets_the_recreated_policy_back():
    alarm = recipe().alarms[0]
    assert detached_actions(alarm, {STEP_ARN, TT_ARN})["AlarmActions"] == [TOPIC]
    new = POLICY.format(3333, "ic-step")
    assert reattached_actions(alarm, {STEP_ARN: new})["AlarmActions"] == [new, TOPIC]


def test_the_restore_puts_back_the_target_then_the_policies_then_the_alarms():
    assert [a.kind for a in plan_restore(recipe())] == [
        "register-target",
        "put-policy",
        "put-policy",
        "reattach-alarm",
        "forget",
    ]
    assert plan_restore(None) == []
    assert plan_restore(ExistingScaling(component="ic")) == []


def test_an_unknown_mode_is_a_one_line_error():
    with pytest.raises(ValueError, match="ExistingScaling must be one of refuse, take-over, not 'adopt'"):
        plan_adoption(recipe(), "adopt")
