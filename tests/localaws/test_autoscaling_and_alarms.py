"""Application Auto Scaling accepts the IC dimension and clamps copies; the no-capacity alarm fires from
real metric data and its state change reaches listeners, EventBridge rules and step policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import any_occurrence_alarm
from tests.localaws.conftest import ROLE, describe, make_endpoint, recipe_alarm, recipe_step_policy

DIM = "sagemaker:inference-component:DesiredCopyCount"
TARGET = {"ServiceNamespace": "sagemaker", "ScalableDimension": DIM}


def _register(emu, lo: int, hi: int) -> None:
    emu.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
        ScalableDimension=DIM,
        MinCapacity=lo,
        MaxCapacity=hi,
    )


def test_registering_the_ic_dimension_clamps_copies_up_to_min(emu):
    make_endpoint(emu, copies=0)
    _register(emu, 1, 2)
    assert describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 1
    targets = emu.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert targets["ScalableTargets"][0]["ScalableDimension"] == DIM
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)


def test_re_registering_with_max_zero_undoes_a_manual_scale_up(emu):
    make_endpoint(emu, copies=0)
    _register(emu, 0, 1)
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    _register(emu, 0, 0)
    assert describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 0


def test_registering_a_missing_component_is_rejected(emu):
    with pytest.raises(ClientError) as err:
        _register(emu, 0, 1)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def _no_capacity_alarm(emu, actions: list[str] | None = None) -> None:
    any_occurrence_alarm(
        emu.client("cloudwatch"),
        "ic-no-capacity",
        "AWS/SageMaker",
        "NoCapacityInvocationFailures",
        {"InferenceComponentName": "ic"},
        actions=actions,
    )


def _fail_once(emu) -> None:
    with pytest.raises(ClientError):
        emu.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep", InferenceComponentName="ic", Body=b"x", ContentType="audio/wav"
        )


def test_no_capacity_alarm_goes_to_alarm_and_emits_the_state_change_event(emu):
    make_endpoint(emu)
    _no_capacity_alarm(emu)
    seen: list[dict] = []
    emu.on_alarm_state_change(seen.append)
    _fail_once(emu)
    assert emu.wait_for(lambda: bool(seen), timeout=3600)
    event = seen[0]
    assert event["source"] == "aws.cloudwatch"
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["detail"]["alarmName"] == "ic-no-capacity"
    assert event["detail"]["state"]["value"] == "ALARM"
    alarm = emu.client("cloudwatch").describe_alarms(AlarmNames=["ic-no-capacity"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    # With no further failures the next complete minute has no data: notBreaching -> OK again.
    assert emu.wait_for(lambda: len(seen) == 2, timeout=3600)
    assert seen[1]["detail"]["state"]["value"] == "OK"


def test_alarm_event_starts_a_state_machine_through_an_eventbridge_rule(emu):
    make_endpoint(emu)
    _no_capacity_alarm(emu)
    sfn = emu.client("stepfunctions")
    sm_arn = sfn.create_state_machine(
        name="wake",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    events = emu.client("events")
    events.put_rule(
        Name="on-no-capacity",
        EventPattern=json.dumps(
            {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": ["ic-no-capacity"], "state": {"value": ["ALARM"]}},
            }
        ),
    )
    events.put_targets(Rule="on-no-capacity", Targets=[{"Id": "wake", "Arn": sm_arn, "RoleArn": ROLE}])
    _fail_once(emu)
    assert emu.wait_for(lambda: bool(sfn.list_executions(stateMachineArn=sm_arn)["executions"]), timeout=3600)
    execution = sfn.list_executions(stateMachineArn=sm_arn)["executions"][0]
    payload = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert payload["detail"]["state"]["value"] == "ALARM"


def test_step_policy_on_the_alarm_scales_out_from_zero(emu):
    make_endpoint(emu)
    _register(emu, 0, 1)
    policy_arn = emu.client("application-autoscaling").put_scaling_policy(
        PolicyName="scale-out-from-zero",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
        ScalableDimension=DIM,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            "Cooldown": 60,
        },
    )["PolicyARN"]
    _no_capacity_alarm(emu, actions=[policy_arn])
    _fail_once(emu)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 1, timeout=3600)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)


def test_a_failed_execution_trips_an_executions_failed_alarm_that_notifies_sns(emu):
    sfn = emu.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="doomed",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}),
    )["stateMachineArn"]
    topic = emu.client("sns").create_topic(Name="failures")["TopicArn"]
    any_occurrence_alarm(
        emu.client("cloudwatch"),
        "executions-failed",
        "AWS/States",
        "ExecutionsFailed",
        {"StateMachineArn": arn},
        period=300,
        actions=[topic],
    )
    seen: list[dict] = []
    emu.on_alarm_state_change(seen.append)
    sfn.start_execution(stateMachineArn=arn, input="{}")
    assert emu.wait_for(lambda: any(e["detail"]["state"]["value"] == "ALARM" for e in seen), timeout=3600)
    from moto.sns.models import sns_backends

    sent = sns_backends[emu.account][emu.region].topics[topic].sent_notifications
    assert sent and "executions-failed" in sent[0][1]


def test_describing_one_components_policies_does_not_list_a_similarly_named_components(emu):
    make_endpoint(emu, "ep", "ic")
    make_endpoint(emu, "ep-b", "ic-b")
    aas = emu.client("application-autoscaling")
    for ic in ("ic", "ic-b"):
        where = {**TARGET, "ResourceId": f"inference-component/{ic}"}
        aas.register_scalable_target(**where, MinCapacity=0, MaxCapacity=1)
        aas.put_scaling_policy(
            PolicyName=f"{ic}-step",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": []},
            **where,
        )
    policies = aas.describe_scaling_policies(**{**TARGET, "ResourceId": "inference-component/ic-b"})["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["ic-b-step"]
    policies = aas.describe_scaling_policies(**{**TARGET, "ResourceId": "inference-component/ic"})["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["ic-step"]


def test_deregistering_a_target_deletes_its_policies(emu):
    make_endpoint(emu)
    aas = emu.client("application-autoscaling")
    where = {**TARGET, "ResourceId": "inference-component/ic"}
    aas.register_scalable_target(**where, MinCapacity=0, MaxCapacity=1)
    aas.put_scaling_policy(
        PolicyName="step",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": []},
        **where,
    )
    aas.deregister_scalable_target(**where)
    assert aas.describe_scaling_policies(**where)["ScalingPolicies"] == []


def test_the_recipes_thirty_second_alarm_runs_its_step_policy_for_a_failure_early_in_a_minute(emu):
    """The scale-to-zero recipe's alarm has a 30 s period: a failure in the first half of a minute is in a period
    of its own, which must be evaluated too (not only the one ending on the minute)."""
    make_endpoint(emu)
    _register(emu, 0, 1)
    step = recipe_step_policy(emu, "ic", name="recipe-step")
    recipe_alarm(emu, "ic", [step], name="recipe-no-capacity")
    emu.clock.set_speed(20)  # to place the failure inside the first half of a minute
    created = emu.now()  # (the evaluator takes up the alarm's period at its next round, within a minute)
    assert emu.wait_for(
        lambda: (emu.now() - created).total_seconds() > 60 and 3 <= emu.now().second <= 15, timeout=180, poll=0.5
    )
    _fail_once(emu)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 1, timeout=600)
    [activity] = emu.client("application-autoscaling").describe_scaling_activities(ServiceNamespace="sagemaker")[
        "ScalingActivities"
    ]
    assert activity["Cause"] == "monitor alarm recipe-no-capacity in state ALARM triggered policy recipe-step"
