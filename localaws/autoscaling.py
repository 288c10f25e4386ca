"""Application Auto Scaling for inference components, added to moto's backend.

Accepts `sagemaker:inference-component:DesiredCopyCount` with ResourceId `inference-component/<name>`,
clamps the component's copy count into [MinCapacity, MaxCapacity] when the target is registered or
re-registered (docs/aws-behaviour.md §3), runs StepScaling policies named in a CloudWatch alarm's actions (the AWS
scale-out-from-zero recipe) and target-tracking policies through the alarms made for them
(`localaws.target_tracking`), clamped the same way, and records what they did as scaling activities
(DescribeScalingActivities). Fixes to moto 5.2.5 are named where they are made.

Differs from AWS: cooldowns, scheduled actions and SuspendedState are ignored; a policy acts once per alarm state
change (AWS re-runs it every minute while the alarm stays in ALARM).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling import responses as aas_responses

from localaws import clock as clock_mod
from localaws import sagemaker, service_state, target_tracking

LOG = logging.getLogger(__name__)

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
IC_PREFIX = "inference-component/"


def _extended_dimensions() -> type[Enum]:
    members = {m.name: m.value for m in aas_models.ScalableDimensionValueSet}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = IC_DIMENSION
    return Enum("ScalableDimensionValueSet", members)  # type: ignore[return-value]


def _ic_for(account: str, region: str, resource_id: str) -> sagemaker.InferenceComponent | None:
    if not resource_id.startswith(IC_PREFIX):
        return None
    return sagemaker.REGISTRY.components.get((account, region, resource_id[len(IC_PREFIX) :]))


def clamp(account: str, region: str, resource_id: str, lo: int | None, hi: int | None) -> None:
    """Move the component's desired copies into [lo, hi] (what AAS does on (re-)registration)."""
    ic = _ic_for(account, region, resource_id)
    if ic is None:
        return
    want = ic.desired
    if lo is not None and want < lo:
        want = lo
    if hi is not None and want > hi:
        want = hi
    if want != ic.desired:
        LOG.info("AAS clamps %s from %s to %s copies", ic.name, ic.desired, want)
        sagemaker.REGISTRY.set_desired(ic, want)


_ORIGINAL_REGISTER = aas_models.ApplicationAutoscalingBackend.register_scalable_target


def _register_scalable_target(self: Any, namespace: str, r_id: str, dimension: str, *args: Any, **kwargs: Any) -> Any:
    if dimension == IC_DIMENSION and _ic_for(self.account_id, self.region_name, r_id) is None:
        raise aas_models.AWSValidationException(
            f"Unable to register scalable target: inference component {r_id[len(IC_PREFIX) :]} does not exist"
        )
    target = _ORIGINAL_REGISTER(self, namespace, r_id, dimension, *args, **kwargs)
    if dimension == IC_DIMENSION:
        clamp(self.account_id, self.region_name, r_id, target.min_capacity, target.max_capacity)
    return target


_ORIGINAL_DESCRIBE_POLICIES = aas_models.ApplicationAutoscalingBackend.describe_scaling_policies


def _describe_scaling_policies(
    self: Any, service_namespace: str, resource_id: str, scalable_dimension: str, *args: Any, **kwargs: Any
) -> Any:
    """DescribeScalingPolicies filters on the exact ResourceId (API reference: "The identifier of the resource
    associated with the scaling policy"); moto 5.2.5 matches it as a substring, so `inference-component/ic`
    also returned the policies of `inference-component/ic-b`."""
    next_token, policies = _ORIGINAL_DESCRIBE_POLICIES(
        self, service_namespace, resource_id, scalable_dimension, *args, **kwargs
    )
    exact = [p for p in policies if not resource_id or p.resource_id == resource_id]
    exact = [p for p in exact if not scalable_dimension or p.scalable_dimension == scalable_dimension]
    return next_token, exact


_ORIGINAL_DEREGISTER = aas_models.ApplicationAutoscalingBackend.deregister_scalable_target


def _deregister_scalable_target(self: Any, namespace: str, r_id: str, dimension: str) -> None:
    """DeregisterScalableTarget: "Deregistering a scalable target deletes the scaling policies and the scheduled
    actions that are associated with it" (API reference); moto 5.2.5 leaves them."""
    _ORIGINAL_DEREGISTER(self, namespace, r_id, dimension)
    for key, policy in list(self.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, r_id, dimension):
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]
    self.scheduled_actions = [
        a
        for a in self.scheduled_actions
        if (a.service_namespace, a.resource_id, a.scalable_dimension) != (namespace, r_id, dimension)
    ]


def _policy_for(account: str, region: str, policy_arn: str) -> Any:
    """The policy an alarm action names (`<policy ARN>` or, for target tracking, `<policy ARN>:createdBy/<id>`)."""
    backend = aas_models.applicationautoscaling_backends[account][region]
    return next((p for p in backend.policies.values() if policy_arn.startswith(p.policy_arn)), None)


# Scaling activities (DescribeScalingActivities), newest last, per (account, region): what the policies did.
ACTIVITIES: dict[tuple[str, str], list[dict[str, Any]]] = {}


def snapshot() -> service_state.Restore:
    """The scaling activities so far (localaws.service_state); targets and policies are moto's."""
    return service_state.mapping_snapshot(ACTIVITIES)


def scale(account: str, region: str, ic: sagemaker.InferenceComponent, policy: Any, alarm: str, want: int) -> None:
    """A policy sets the component's copy count; recorded as a scaling activity, in the shape of the API's
    ScalingActivity (botocore's application-autoscaling service model). The wording of Description and Cause
    follows what Application Auto Scaling writes for other resources ("Setting desired count to N.", "monitor
    alarm X in state ALARM triggered policy Y"); none is published for inference components."""
    now = clock_mod.now()
    ACTIVITIES.setdefault((account, region), []).append(
        {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": policy.service_namespace,
            "ResourceId": policy.resource_id,
            "ScalableDimension": policy.scalable_dimension,
            "Description": f"Setting desired copy count to {want}.",
            "Cause": f"monitor alarm {alarm} in state ALARM triggered policy {policy.policy_name}",
            "StartTime": now.timestamp(),
            "EndTime": now.timestamp(),
            "StatusCode": "Successful",
            "StatusMessage": f"Successfully set desired copy count to {want}.",
            "Details": json.dumps({"from": ic.desired, "to": want, "policy": policy.policy_name}),
        }
    )
    sagemaker.REGISTRY.set_desired(ic, want)


def _describe_scaling_activities(self: Any) -> str:
    """DescribeScalingActivities (moto 5.2.5 has none): the activities `scale` recorded, newest first, filtered
    as the API reference describes (ServiceNamespace, ResourceId, ScalableDimension)."""
    backend = self.applicationautoscaling_backend
    found = list(reversed(ACTIVITIES.get((backend.account_id, backend.region_name), [])))
    for key in ("ServiceNamespace", "ResourceId", "ScalableDimension"):
        value = self._get_param(key)
        if value:
            found = [a for a in found if a[key] == value]
    return json.dumps({"ScalingActivities": found})


def run_step_policy(
    account: str, region: str, policy_arn: str, metric_value: float, threshold: float, alarm: str = ""
) -> bool:
    """Execute the StepScaling policy `policy_arn` for a breach of `metric_value` against `threshold`."""
    backend = aas_models.applicationautoscaling_backends[account][region]
    policy = _policy_for(account, region, policy_arn)
    if policy is None or policy.policy_type != "StepScaling":
        return False
    ic = _ic_for(account, region, policy.resource_id)
    target = backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
    if ic is None:
        return False
    config = policy.step_scaling_policy_configuration or {}
    diff = metric_value - threshold
    step = None
    for adj in config.get("StepAdjustments", []):
        lo = adj.get("MetricIntervalLowerBound")
        hi = adj.get("MetricIntervalUpperBound")
        if (lo is None or diff >= float(lo)) and (hi is None or diff < float(hi)):
            step = int(adj["ScalingAdjustment"])
            break
    if step is None:
        return True
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    current = ic.desired
    if kind == "ExactCapacity":
        want = step
    elif kind == "PercentChangeInCapacity":
        want = current + int(current * step / 100)
    else:
        want = current + step
    if target is not None:
        want = max(want, target.min_capacity or 0)
        if target.max_capacity is not None:
            want = min(want, target.max_capacity)
    if want != ic.desired:
        LOG.info("step policy %s sets %s to %s copies", policy.policy_name, ic.name, want)
        scale(account, region, ic, policy, alarm, want)
    return True


def alarm_action_handler(account: str, region: str) -> Callable[[str, Any, dict[str, Any]], bool]:
    """For AlarmEvaluator.action_handlers: AAS policy ARNs in an alarm's actions (step policies, and the
    target-tracking alarms' `:createdBy/` actions, `localaws.target_tracking`)."""

    def handle(arn: str, alarm: Any, event: dict[str, Any]) -> bool:
        if ":autoscaling:" not in arn or "scalingPolicy" not in arn:
            return False
        points = json_points(alarm)
        value = points[-1] if points else float(alarm.threshold)
        policy = _policy_for(account, region, arn)
        if policy is not None and policy.policy_type == "TargetTrackingScaling":
            return target_tracking.act(account, region, policy, alarm, value, scale)
        return run_step_policy(account, region, arn, value, float(alarm.threshold), alarm.name)

    return handle


def json_points(alarm: Any) -> list[float]:
    try:
        return [float(p) for p in json.loads(alarm.state_reason_data).get("recentDatapoints", [])]
    except (ValueError, TypeError, AttributeError):
        return []


_ORIGINAL_PUT_POLICY = aas_models.ApplicationAutoscalingBackend.put_scaling_policy
_ORIGINAL_CREATE_ALARMS = aas_models.FakeApplicationAutoscalingPolicy.create_alarms


def _put_scaling_policy(
    self: Any,
    policy_name: str,
    service_namespace: str,
    resource_id: str,
    scalable_dimension: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """PutScalingPolicy on an existing policy replaces it; its target-tracking alarms go with the old one (moto
    5.2.5 made new alarms and left the old ones acting)."""
    key = aas_models.FakeApplicationAutoscalingPolicy.formulate_key(
        service_namespace, resource_id, scalable_dimension, policy_name
    )
    old = self.policies.get(key)
    if old is not None:
        old.delete_alarms(self.account_id, self.region_name)
    return _ORIGINAL_PUT_POLICY(self, policy_name, service_namespace, resource_id, scalable_dimension, *args, **kwargs)


def _create_alarms(self: Any) -> None:
    _ORIGINAL_CREATE_ALARMS(self)
    self.alarms.extend(target_tracking.create_alarms(self))


def install() -> None:
    if IC_DIMENSION not in [d.value for d in aas_models.ScalableDimensionValueSet]:
        extended = _extended_dimensions()
        aas_models.ScalableDimensionValueSet = extended  # type: ignore[assignment,misc]
        aas_responses.ScalableDimensionValueSet = extended  # type: ignore[assignment,misc]
    backend = aas_models.ApplicationAutoscalingBackend
    backend.register_scalable_target = _register_scalable_target  # type: ignore[method-assign]
    backend.describe_scaling_policies = _describe_scaling_policies  # type: ignore[method-assign]
    backend.deregister_scalable_target = _deregister_scalable_target  # type: ignore[method-assign]
    backend.put_scaling_policy = _put_scaling_policy  # type: ignore[method-assign]
    policy_cls = aas_models.FakeApplicationAutoscalingPolicy
    if policy_cls.create_alarms is not _create_alarms:
        policy_cls.create_alarms = _create_alarms  # type: ignore[method-assign]
    aas_responses.ApplicationAutoScalingResponse.describe_scaling_activities = _describe_scaling_activities  # type: ignore[attr-defined]
