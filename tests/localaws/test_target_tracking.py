"""Target-tracking policies on an inference component act through the alarms Application Auto Scaling makes for
them: out in proportion to the per-copy metric, in after a quiet quarter of an hour, never from 0 copies; the
behaviour is a switch (its timings are moto's for ECS, not published for inference components)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localaws import target_tracking
from tests.localaws.conftest import describe, make_endpoint

WHERE = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "inference-component/ic",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}


@pytest.fixture(params=[True, False], ids=["target-tracking-on", "target-tracking-off"])
def tracking(request: pytest.FixtureRequest) -> Iterator[bool]:
    saved = target_tracking.TargetTrackingSwitches.enabled
    target_tracking.TargetTrackingSwitches.enabled = request.param
    try:
        yield request.param
    finally:
        target_tracking.TargetTrackingSwitches.enabled = saved


def tracked_component(emu, copies: int, lo: int, hi: int, target: float = 2.0) -> str:
    make_endpoint(emu, copies=copies)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == copies, timeout=3600)
    aas = emu.client("application-autoscaling")
    aas.register_scalable_target(**WHERE, MinCapacity=lo, MaxCapacity=hi)
    return aas.put_scaling_policy(
        PolicyName="ic-invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
            "TargetValue": target,
        },
        **WHERE,
    )["PolicyARN"]


def desired(emu) -> int:
    return int(describe(emu)["RuntimeConfig"]["DesiredCopyCount"])


def activities(emu) -> list[dict]:
    return emu.client("application-autoscaling").describe_scaling_activities(**WHERE)["ScalingActivities"]


def test_the_policy_gets_a_high_and_a_low_alarm_that_go_with_it(emu, tracking):
    tracked_component(emu, copies=1, lo=0, hi=3)
    aas = emu.client("application-autoscaling")
    [policy] = aas.describe_scaling_policies(**WHERE)["ScalingPolicies"]
    alarms = emu.client("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"]
    if not tracking:
        assert (policy.get("Alarms", []), alarms) == ([], [])
        return
    assert sorted(a["AlarmName"] for a in policy["Alarms"]) == sorted(a["AlarmName"] for a in alarms)
    shapes = sorted(
        (a["AlarmName"].split("-")[3], a["ComparisonOperator"], a["Threshold"], a["EvaluationPeriods"], a["Period"])
        for a in alarms
    )
    assert shapes == [("AlarmHigh", "GreaterThanThreshold", 2.0, 3, 60), ("AlarmLow", "LessThanThreshold", 1.8, 15, 60)]
    assert all(a["AlarmName"].startswith("TargetTracking-inference-component/ic-Alarm") for a in alarms)
    assert all(a["AlarmActions"][0].startswith(policy["PolicyARN"] + ":createdBy/") for a in alarms)
    aas.delete_scaling_policy(PolicyName="ic-invocations", **WHERE)
    assert emu.client("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"] == []


def test_busy_copies_scale_out_in_proportion_up_to_max_capacity(emu, tracking):
    tracked_component(emu, copies=1, lo=0, hi=3)
    runtime = emu.client("sagemaker-runtime")
    emu.clock.set_speed(30)
    start = emu.now()
    # 10 requests a minute against a target of 2 per copy: the policy wants 5 copies, the target allows 3. Each
    # request takes no emulated time and they are paced on the emulated clock, so the rate does not depend on how
    # loaded this host is; between them the clock jumps (this thread drives), so the 6 minutes the switched-off
    # policy waits out cost no wall time (12 s at speed 30 before).
    with emu.clock.jumping():
        while emu.now() - start < target_tracking_minutes(6) and desired(emu) == 1:
            with emu.clock.paused():
                runtime.invoke_endpoint(
                    EndpointName="ep", InferenceComponentName="ic", Body=b"x", ContentType="audio/wav"
                )
            emu.clock.sleep(6)
    if not tracking:
        assert (desired(emu), activities(emu)) == (1, [])
        return
    assert desired(emu) == 3
    [activity] = activities(emu)
    assert activity["Description"] == "Setting desired copy count to 3."
    assert activity["Cause"].startswith("monitor alarm TargetTracking-inference-component/ic-AlarmHigh-")
    assert activity["Cause"].endswith("in state ALARM triggered policy ic-invocations")


def test_idle_copies_scale_in_to_min_capacity_after_a_quiet_quarter_hour(emu, tracking):
    tracked_component(emu, copies=2, lo=0, hi=3)
    with emu.clock.jumping():  # the quiet half hour waited out on a clock that jumps over it (this thread drives)
        assert emu.wait_for(lambda: desired(emu) == 0, timeout=30 * 60) is tracking
        if tracking:
            assert [a["Description"] for a in activities(emu)] == ["Setting desired copy count to 0."]
            quiet = emu.now()
            assert emu.wait_for(lambda: emu.now() - quiet > target_tracking_minutes(20), timeout=3600)
            assert desired(emu) == 0  # and never out again from 0: no copy, no per-copy metric
            assert len(activities(emu)) == 1


def target_tracking_minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)
