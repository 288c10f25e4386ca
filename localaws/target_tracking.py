"""Target tracking on inference components: the alarms Application Auto Scaling makes for a policy, the per-copy
metric they watch, and the scaling they trigger, on the emulated clock.

Sources:
- Application Auto Scaling user guide, "How target tracking scaling for Application Auto Scaling works":
  Application Auto Scaling "creates and manages the CloudWatch alarms that invoke the scaling policy and calculates
  the scaling adjustment based on the metric and the target value"; it scales out "as quickly as possible",
  adding capacity in proportion to the metric; it scales in only once the metric is below the target by a margin
  ("usually more than 10% lower") long enough. DeleteScalingPolicy deletes the policy's alarms (API reference;
  moto's `delete_alarms`). With `DisableScaleIn` the policy never scales in.
- Target tracking cannot scale an inference component out from 0 copies (docs/aws-behaviour.md §3, the SageMaker
  scale-to-zero guide: a step policy on NoCapacityInvocationFailures does that): with no copy there is no
  per-copy metric, so here the metric is published only while the component has a copy.
- Alarm names (`TargetTracking-<resource id>-AlarmHigh-<uuid>`, `...-AlarmLow-<uuid>`), actions
  (`<policy ARN>:createdBy/<uuid>`), the "DO NOT EDIT OR DELETE" description and the periods (high: 3 x 60 s
  above the target; low: 15 x 60 s below it) follow moto 5.2.5's ECS target-tracking alarms
  (moto/applicationautoscaling/models.py, `_generate_ecs_alarms`); the low threshold is 90 % of the target (the
  user guide's "10% lower"). No source gives these for SageMaker inference components: `TargetTrackingSwitches.enabled`
  switches the whole behaviour (tests run both ways); off, target-tracking policies are stored and never act.
- Metrics (SageMaker developer guide, "SageMaker AI metrics in Amazon CloudWatch", inference component metrics in
  AWS/SageMaker by InferenceComponentName): `SageMakerInferenceComponentInvocationsPerCopy` tracks
  InvocationsPerCopy (Sum per minute: the minute's Invocations / copies);
  `SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution` tracks ConcurrentRequestsPerCopy (here
  Average per minute: requests in flight per copy by Little's law, the minute's summed ModelLatency / 60 s /
  copies; SageMaker samples it every 10 s, which this does not).

Differs from AWS: cooldowns are ignored; an alarm acts once per state change (AWS re-evaluates the policy every
minute while the alarm stays in ALARM).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.applicationautoscaling import models as aas_models

from localaws import cloudwatch, sagemaker

LOG = logging.getLogger(__name__)

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
IC_PREFIX = "inference-component/"
PERIOD = 60
HIGH_PERIODS = 3
LOW_PERIODS = 15
SCALE_IN_RATIO = 0.9
# Predefined metric type -> (metric name, statistic the alarms use).
PREDEFINED = {
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": ("ConcurrentRequestsPerCopy", "Average"),
    "SageMakerInferenceComponentInvocationsPerCopy": ("InvocationsPerCopy", "Sum"),
}


class TargetTrackingSwitches:
    enabled = True  # see the module docstring: the timings are not sourced for inference components


def _tracks_a_component(policy: Any) -> str | None:
    """The metric a target-tracking policy on an inference component watches, or None."""
    if policy.policy_type != "TargetTrackingScaling" or policy.scalable_dimension != IC_DIMENSION:
        return None
    config = policy.target_tracking_scaling_policy_configuration or {}
    kind = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    return kind if kind in PREDEFINED else None


def create_alarms(policy: Any) -> list[Any]:
    """The alarms Application Auto Scaling makes for a target-tracking policy on an inference component."""
    kind = _tracks_a_component(policy)
    if kind is None or not TargetTrackingSwitches.enabled:
        return []
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[policy.account_id][policy.region_name]
    config = policy.target_tracking_scaling_policy_configuration or {}
    target = float(config["TargetValue"])
    metric, statistic = PREDEFINED[kind]
    action = f"{policy.policy_arn}:createdBy/{uuid.uuid4()}"
    shapes = [("AlarmHigh", "GreaterThanThreshold", target, HIGH_PERIODS)]
    if not config.get("DisableScaleIn"):
        shapes.append(("AlarmLow", "LessThanThreshold", target * SCALE_IN_RATIO, LOW_PERIODS))
    alarms = []
    for suffix, operator, threshold, periods in shapes:
        alarms.append(
            backend.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-{suffix}-{uuid.uuid4()}",
                namespace="AWS/SageMaker",
                metric_name=metric,
                metric_data_queries=[],
                comparison_operator=operator,
                evaluation_periods=periods,
                period=PERIOD,
                threshold=threshold,
                statistic=statistic,
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}",
                dimensions=[{"Name": "InferenceComponentName", "Value": policy.resource_id[len(IC_PREFIX) :]}],
                alarm_actions=[action],
            )
        )
    return alarms


def _serving(account: str, region: str) -> list[tuple[Any, str]]:
    """(component, predefined metric) for each component a target-tracking policy watches while it has a copy."""
    if not TargetTrackingSwitches.enabled:
        return []
    backend = aas_models.applicationautoscaling_backends[account][region]
    watched = {(p.resource_id, _tracks_a_component(p)) for p in list(backend.policies.values())}
    out = []
    for resource_id, kind in watched:
        ic = sagemaker.REGISTRY.components.get((account, region, resource_id[len(IC_PREFIX) :]))
        if kind is not None and ic is not None and ic.current >= 1:
            out.append((ic, kind))
    return out


def publishing(account: str, region: str) -> bool:
    """Whether `publish` has a metric to publish this minute (the alarm rounds go on every minute while so)."""
    return bool(_serving(account, region))


def publish(account: str, region: str, now: datetime) -> None:
    """Once a minute (before the alarms are evaluated): the per-copy metric of every component a target-tracking
    policy watches, for the minute that just ended, while the component has a copy."""
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % PERIOD, UTC)
    start = end - timedelta(seconds=PERIOD)
    for ic, kind in _serving(account, region):
        dims = [{"Name": "InferenceComponentName", "Value": ic.name}]
        invocations = cloudwatch.total(account, region, "AWS/SageMaker", "Invocations", dims, start, end)
        if kind == "SageMakerInferenceComponentInvocationsPerCopy":
            value = invocations / ic.current
        else:
            latency_us = cloudwatch.total(account, region, "AWS/SageMaker", "ModelLatency", dims, start, end)
            value = latency_us / 1e6 / PERIOD / ic.current
        metric, _ = PREDEFINED[kind]
        cloudwatch.record(account, region, "AWS/SageMaker", metric, value, dims, "None", at=end - timedelta(seconds=1))


def act(account: str, region: str, policy: Any, alarm: Any, value: float, scale: Callable[..., None]) -> bool:
    """Run a target-tracking policy for its alarm in ALARM: scale out in proportion to the metric (AlarmHigh) or in
    towards it (AlarmLow), within the target's bounds; never from 0 copies. Returns whether it handled the alarm.
    `scale` is `localaws.autoscaling.scale`, passed in so the two modules do not import each other."""
    if _tracks_a_component(policy) is None:
        return False
    if not TargetTrackingSwitches.enabled:
        return True
    ic = sagemaker.REGISTRY.components.get((account, region, policy.resource_id[len(IC_PREFIX) :]))
    backend = aas_models.applicationautoscaling_backends[account][region]
    target = backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
    if ic is None or target is None or ic.desired < 1:
        return True
    config = policy.target_tracking_scaling_policy_configuration or {}
    current = ic.desired
    wanted = math.ceil(current * value / float(config["TargetValue"]))
    scale_out = alarm.comparison_operator == "GreaterThanThreshold"
    want = max(wanted, current) if scale_out else min(wanted, current)
    want = max(want, target.min_capacity or 0)
    if target.max_capacity is not None:
        want = min(want, target.max_capacity)
    if want != current:
        LOG.info("target tracking %s sets %s to %s copies", policy.policy_name, ic.name, want)
        scale(account, region, ic, policy, alarm.name, want)
    return True
