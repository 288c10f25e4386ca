"""Adopt mode over scaling set up outside the stack: what the deploy does to it, and how it is given back.

AWS's scale-to-zero recipe for inference components (aws-samples sagemaker-genai-hosting-examples, the AWS ML
blog "Unlock cost savings with the new scale down to zero feature in SageMaker Inference") registers the
component's scalable target (`sagemaker`, `inference-component/<name>`, DesiredCopyCount) with MinCapacity 0, a
target-tracking policy, a step policy and a `NoCapacityInvocationFailures` alarm whose action is the step policy.
The stack registers the same target (AWS::ApplicationAutoScaling::ScalableTarget, whose primary identifier is
ServiceNamespace + ResourceId + ScalableDimension): CloudFormation refuses it while the recipe's exists, and if it
did not, the recipe's policies would keep moving the copy count against the control plane's (target tracking
scales a night's 0 back up; the step policy wakes on every no-capacity request, outside the wake's record).

The `ExistingScaling` template parameter decides (see docs/design.md, "Adopting scaling set up outside the
stack"):
- `refuse`: the deploy fails before changing anything, saying exactly what to remove;
- `take-over`: the deploy records what is there, removes the policies' actions from the alarms that run them,
  deletes the policies and scheduled actions and deregisters the target, so the stack registers its own bounds;
  deleting the stack puts everything back as recorded (`plan_restore`).

Everything here is a pure function of what the adapter read (`ExistingScaling`) and the mode.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
MODES = ("refuse", "take-over")
Mode = Literal["refuse", "take-over"]


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


class ExistingTarget(BaseModel):
    """The component's scalable target as DescribeScalableTargets answers it."""

    model_config = ConfigDict(frozen=True)

    min_capacity: int
    max_capacity: int
    role_arn: str | None = None
    suspended: dict[str, bool] = Field(default_factory=dict)  # SuspendedState


class ExistingPolicy(BaseModel):
    """One scaling policy on the target (DescribeScalingPolicies). `configuration` is the policy's
    StepScalingPolicyConfiguration or TargetTrackingScalingPolicyConfiguration as described; `managed_alarms`
    are the alarms Application Auto Scaling made for it (target tracking), which go with the policy."""

    model_config = ConfigDict(frozen=True)

    name: str
    arn: str
    policy_type: str  # StepScaling | TargetTrackingScaling | PredictiveScaling
    configuration: dict[str, Any] = Field(default_factory=dict)
    managed_alarms: list[str] = Field(default_factory=list)


class ExistingAlarm(BaseModel):
    """An alarm made outside Application Auto Scaling whose actions run one of the policies (the recipe's
    NoCapacityInvocationFailures alarm). `definition` is what PutMetricAlarm needs to put it back as it was."""

    model_config = ConfigDict(frozen=True)

    name: str
    alarm_actions: list[str] = Field(default_factory=list)
    ok_actions: list[str] = Field(default_factory=list)
    insufficient_data_actions: list[str] = Field(default_factory=list)
    definition: dict[str, Any] = Field(default_factory=dict)

    def actions(self) -> list[str]:
        return [*self.alarm_actions, *self.ok_actions, *self.insufficient_data_actions]


class ExistingScheduledAction(BaseModel):
    """A scheduled action on the target (DescribeScheduledActions); `definition` is PutScheduledAction's."""

    model_config = ConfigDict(frozen=True)

    name: str
    definition: dict[str, Any] = Field(default_factory=dict)


class ExistingScaling(BaseModel):
    """What Application Auto Scaling and CloudWatch hold for one component before the stack touches it."""

    model_config = ConfigDict(frozen=True)

    component: str
    target: ExistingTarget | None = None
    policies: list[ExistingPolicy] = Field(default_factory=list)
    alarms: list[ExistingAlarm] = Field(default_factory=list)
    scheduled_actions: list[ExistingScheduledAction] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.target is None and not self.policies and not self.scheduled_actions

    def policy_arns(self) -> set[str]:
        return {p.arn for p in self.policies}


ActionKind = Literal[
    "record",
    "detach-alarm",
    "delete-policy",
    "delete-scheduled-action",
    "deregister-target",
    "register-target",
    "put-policy",
    "put-scheduled-action",
    "reattach-alarm",
    "forget",
]


class Action(BaseModel):
    """One step the adapter carries out, in order. `subject` names what it acts on."""

    model_config = ConfigDict(frozen=True)

    kind: ActionKind
    subject: str
    detail: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.subject}" + (f": {self.detail}" if self.detail else "")


class AdoptionPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: Mode
    actions: list[Action] = Field(default_factory=list)
    refusal: str | None = None  # set when the deploy must fail before changing anything

    @property
    def refused(self) -> bool:
        return self.refusal is not None


def _target_flags(component: str) -> str:
    return f"--service-namespace {NAMESPACE} --scalable-dimension {DIMENSION} --resource-id {resource_id(component)}"


def removal_steps(existing: ExistingScaling) -> list[str]:
    """What an operator removes, in order, so that the stack can register its own target (AWS CLI commands)."""
    target = _target_flags(existing.component)
    steps = []
    for alarm in existing.alarms:
        runs = sorted({p.name for p in existing.policies if p.arn in alarm.actions()})
        steps.append(
            f"aws cloudwatch delete-alarms --alarm-names {alarm.name}"
            f"  (or remove policy {', '.join(runs)} from its actions)"
        )
    for policy in existing.policies:
        steps.append(f"aws application-autoscaling delete-scaling-policy {target} --policy-name {policy.name}")
    for action in existing.scheduled_actions:
        steps.append(
            f"aws application-autoscaling delete-scheduled-action {target} --scheduled-action-name {action.name}"
        )
    if existing.target is not None:
        steps.append(f"aws application-autoscaling deregister-scalable-target {target}")
    return steps


def refusal_message(existing: ExistingScaling) -> str:
    """The deploy's one message in refuse mode: what is there, and exactly what to remove (or the other mode)."""
    found = []
    if existing.target is not None:
        t = existing.target
        found.append(f"scalable target {resource_id(existing.component)} (min {t.min_capacity}, max {t.max_capacity})")
    found += [f"{p.policy_type} policy {p.name}" for p in existing.policies]
    found += [f"scheduled action {a.name}" for a in existing.scheduled_actions]
    found += [f"alarm {a.name} (runs a policy above)" for a in existing.alarms]
    steps = "; ".join(f"{i}. {step}" for i, step in enumerate(removal_steps(existing), 1))
    return (
        f"ExistingScaling=refuse: inference component {existing.component} already has Application Auto Scaling "
        f"set up outside this stack ({', '.join(found)}); it would act against sleepwake, and CloudFormation "
        f"cannot create the stack's scalable target while that one exists. Nothing was changed. Either deploy "
        f"with ExistingScaling=take-over (sleepwake records all of it, takes it over and puts it back when the "
        f"stack is deleted) or remove it first: {steps}"
    )


def plan_adoption(existing: ExistingScaling, mode: str) -> AdoptionPlan:
    """What the deploy does to scaling set up outside the stack, or why it refuses to (before changing anything)."""
    if mode not in MODES:
        raise ValueError(f"ExistingScaling must be one of {', '.join(MODES)}, not {mode!r}")
    checked: Mode = "refuse" if mode == "refuse" else "take-over"
    if existing.empty:
        return AdoptionPlan(mode=checked)
    if checked == "refuse":
        return AdoptionPlan(mode=checked, refusal=refusal_message(existing))
    actions = [Action(kind="record", subject=existing.component, detail="what is there, for the restore")]
    for alarm in existing.alarms:
        names = sorted(p.name for p in existing.policies if p.arn in alarm.actions())
        actions.append(Action(kind="detach-alarm", subject=alarm.name, detail=f"stops running {', '.join(names)}"))
    for policy in existing.policies:
        detail = "and its alarms " + ", ".join(policy.managed_alarms) if policy.managed_alarms else ""
        actions.append(Action(kind="delete-policy", subject=policy.name, detail=detail))
    actions += [Action(kind="delete-scheduled-action", subject=a.name) for a in existing.scheduled_actions]
    if existing.target is not None:
        t = existing.target
        detail = f"min {t.min_capacity}, max {t.max_capacity}; the stack registers its own bounds"
        actions.append(Action(kind="deregister-target", subject=resource_id(existing.component), detail=detail))
    return AdoptionPlan(mode=checked, actions=actions)


def detached_actions(alarm: ExistingAlarm, policy_arns: set[str]) -> dict[str, list[str]]:
    """The alarm's actions without the adopted policies' (its other actions, e.g. an SNS topic, stay)."""
    return {
        "AlarmActions": [a for a in alarm.alarm_actions if a not in policy_arns],
        "OKActions": [a for a in alarm.ok_actions if a not in policy_arns],
        "InsufficientDataActions": [a for a in alarm.insufficient_data_actions if a not in policy_arns],
    }


def reattached_actions(alarm: ExistingAlarm, new_arns: dict[str, str]) -> dict[str, list[str]]:
    """The alarm's recorded actions with each re-created policy's new ARN (old ARN -> new ARN)."""
    return {
        "AlarmActions": [new_arns.get(a, a) for a in alarm.alarm_actions],
        "OKActions": [new_arns.get(a, a) for a in alarm.ok_actions],
        "InsufficientDataActions": [new_arns.get(a, a) for a in alarm.insufficient_data_actions],
    }


def plan_restore(record: ExistingScaling | None) -> list[Action]:
    """Putting back what `take-over` recorded, once the stack's own target is gone (stack deleted)."""
    if record is None or record.empty:
        return []
    actions = []
    if record.target is not None:
        t = record.target
        actions.append(
            Action(
                kind="register-target",
                subject=resource_id(record.component),
                detail=f"min {t.min_capacity}, max {t.max_capacity}",
            )
        )
    actions += [Action(kind="put-policy", subject=p.name, detail=p.policy_type) for p in record.policies]
    actions += [Action(kind="put-scheduled-action", subject=a.name) for a in record.scheduled_actions]
    actions += [Action(kind="reattach-alarm", subject=a.name) for a in record.alarms]
    actions.append(Action(kind="forget", subject=record.component, detail="the record of what was adopted"))
    return actions
