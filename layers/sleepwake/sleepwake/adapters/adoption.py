"""Scaling set up outside the stack: read it, take it over, put it back (the only code that changes it).

What to do is decided by `sleepwake.core.adoption`; this adapter reads what Application Auto Scaling and
CloudWatch hold for the component, carries out a plan's actions in order, and keeps the record of what it took
over in the state table (item `adopted#<component>`), written before anything is changed, so a take-over that
stops half-way can still be restored.

API references: Application Auto Scaling DescribeScalableTargets, DescribeScalingPolicies (a target-tracking
policy's `Alarms` are the ones Application Auto Scaling manages; DeleteScalingPolicy deletes them),
DescribeScheduledActions, RegisterScalableTarget, DeregisterScalableTarget ("Deregistering a scalable target
deletes the scaling policies and the scheduled actions that are associated with it"), PutScalingPolicy,
PutScheduledAction; CloudWatch DescribeAlarms and PutMetricAlarm (which replaces an alarm's whole definition, so
the recorded definition is written back with only its actions changed).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sleepwake.core.adoption import (
    DIMENSION,
    NAMESPACE,
    AdoptionPlan,
    ExistingAlarm,
    ExistingPolicy,
    ExistingScaling,
    ExistingScheduledAction,
    ExistingTarget,
    detached_actions,
    plan_restore,
    reattached_actions,
    resource_id,
)

# PutMetricAlarm's parameters, as DescribeAlarms returns them.
_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
_POLICY_CONFIGS = (
    "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
    "PredictiveScalingPolicyConfiguration",
)
# PutScheduledAction's parameters, as DescribeScheduledActions returns them (times are written as ISO text).
_SCHEDULED_FIELDS = ("Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction")


def record_key(component: str) -> str:
    return f"adopted#{component}"


def _plain(value: Any) -> Any:
    """JSON-safe copy of an API answer (datetimes as ISO text)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


class ScalingAdoption:
    def __init__(self, autoscaling: Any, cloudwatch: Any, table: Any) -> None:
        self._aas = autoscaling
        self._cw = cloudwatch
        self._table = table  # a boto3 dynamodb Table resource (the state table)

    # -- reading ------------------------------------------------------------------------------------------
    def _target_args(self, component: str) -> dict[str, str]:
        return {"ServiceNamespace": NAMESPACE, "ResourceId": resource_id(component), "ScalableDimension": DIMENSION}

    def read(self, component: str) -> ExistingScaling:
        """What is set up for the component now (read-only)."""
        where = self._target_args(component)
        targets = self._aas.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[where["ResourceId"]], ScalableDimension=DIMENSION
        )["ScalableTargets"]
        target = None
        if targets:
            t = targets[0]
            target = ExistingTarget(
                min_capacity=t["MinCapacity"],
                max_capacity=t["MaxCapacity"],
                role_arn=t.get("RoleARN"),
                suspended=dict(t.get("SuspendedState") or {}),
            )
        policies = []
        for page in self._aas.get_paginator("describe_scaling_policies").paginate(**where):
            for p in page["ScalingPolicies"]:
                config_key = next((k for k in _POLICY_CONFIGS if k in p), None)
                policies.append(
                    ExistingPolicy(
                        name=p["PolicyName"],
                        arn=p["PolicyARN"],
                        policy_type=p["PolicyType"],
                        configuration=_plain(p[config_key]) if config_key else {},
                        managed_alarms=[a["AlarmName"] for a in p.get("Alarms") or []],
                    )
                )
        scheduled = []
        for page in self._aas.get_paginator("describe_scheduled_actions").paginate(**where):
            for a in page["ScheduledActions"]:
                definition = {k: a[k] for k in _SCHEDULED_FIELDS if k in a}
                scheduled.append(ExistingScheduledAction(name=a["ScheduledActionName"], definition=_plain(definition)))
        return ExistingScaling(
            component=component,
            target=target,
            policies=policies,
            alarms=self._alarms_running(policies),
            scheduled_actions=scheduled,
        )

    def _alarms_running(self, policies: list[ExistingPolicy]) -> list[ExistingAlarm]:
        """Alarms made outside Application Auto Scaling whose actions name one of the policies."""
        arns = {p.arn for p in policies}
        managed = {name for p in policies for name in p.managed_alarms}
        found: list[ExistingAlarm] = []
        if not arns:
            return found
        for page in self._cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
            for a in page["MetricAlarms"]:
                actions = [*a.get("AlarmActions", []), *a.get("OKActions", []), *a.get("InsufficientDataActions", [])]
                if a["AlarmName"] in managed or not arns.intersection(actions):
                    continue
                found.append(
                    ExistingAlarm(
                        name=a["AlarmName"],
                        alarm_actions=list(a.get("AlarmActions", [])),
                        ok_actions=list(a.get("OKActions", [])),
                        insufficient_data_actions=list(a.get("InsufficientDataActions", [])),
                        definition=_plain({k: a[k] for k in _ALARM_FIELDS if k in a}),
                    )
                )
        return found

    # -- the record ---------------------------------------------------------------------------------------
    def recorded(self, component: str) -> ExistingScaling | None:
        item = self._table.get_item(Key={"ic": record_key(component)}, ConsistentRead=True).get("Item")
        return ExistingScaling.model_validate_json(item["scaling"]) if item else None

    def _record(self, existing: ExistingScaling) -> None:
        """Keep the first record: a second take-over of the same component (a stack re-created after a failed
        restore) must not overwrite what was there before sleepwake with sleepwake's own leftovers."""
        try:
            self._table.put_item(
                Item={"ic": record_key(existing.component), "scaling": existing.model_dump_json()},
                ConditionExpression="attribute_not_exists(ic)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # -- acting -------------------------------------------------------------------------------------------
    def take_over(self, plan: AdoptionPlan, existing: ExistingScaling) -> list[str]:
        """Carry out a take-over plan's actions in order; returns what was done, one line each."""
        where = self._target_args(existing.component)
        arns = existing.policy_arns()
        alarms = {a.name: a for a in existing.alarms}
        done = []
        for action in plan.actions:
            if action.kind == "record":
                self._record(existing)
            elif action.kind == "detach-alarm":
                alarm = alarms[action.subject]
                self._cw.put_metric_alarm(**{**alarm.definition, **detached_actions(alarm, arns)})
            elif action.kind == "delete-policy":
                self._aas.delete_scaling_policy(PolicyName=action.subject, **where)
            elif action.kind == "delete-scheduled-action":
                self._aas.delete_scheduled_action(ScheduledActionName=action.subject, **where)
            elif action.kind == "deregister-target":
                self._aas.deregister_scalable_target(**where)
            else:
                raise ValueError(f"not a take-over action: {action.kind}")
            done.append(action.describe())
        return done

    def restore(self, component: str) -> list[str]:
        """Put back what a take-over recorded (after the stack's own target is gone); [] when nothing was."""
        record = self.recorded(component)
        where = self._target_args(component)
        policies = {p.name: p for p in record.policies} if record else {}
        scheduled = {a.name: a for a in record.scheduled_actions} if record else {}
        alarms = {a.name: a for a in record.alarms} if record else {}
        new_arns: dict[str, str] = {}
        done = []
        for action in plan_restore(record):
            if action.kind == "register-target":
                assert record and record.target
                t = record.target
                extra: dict[str, Any] = {"SuspendedState": t.suspended} if t.suspended else {}
                self._aas.register_scalable_target(
                    MinCapacity=t.min_capacity, MaxCapacity=t.max_capacity, **extra, **where
                )
            elif action.kind == "put-policy":
                p = policies[action.subject]
                config_key = {
                    "StepScaling": "StepScalingPolicyConfiguration",
                    "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
                    "PredictiveScaling": "PredictiveScalingPolicyConfiguration",
                }[p.policy_type]
                answer = self._aas.put_scaling_policy(
                    PolicyName=p.name, PolicyType=p.policy_type, **{config_key: p.configuration}, **where
                )
                new_arns[p.arn] = answer["PolicyARN"]
            elif action.kind == "put-scheduled-action":
                self._aas.put_scheduled_action(
                    ScheduledActionName=action.subject, **scheduled[action.subject].definition, **where
                )
            elif action.kind == "reattach-alarm":
                alarm = alarms[action.subject]
                self._cw.put_metric_alarm(**{**alarm.definition, **reattached_actions(alarm, new_arns)})
            elif action.kind == "forget":
                self._table.delete_item(Key={"ic": record_key(component)})
            done.append(action.describe())
        return done
