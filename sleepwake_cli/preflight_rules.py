"""What `sleepwake preflight` concludes, as functions of what it read: each rule turns AWS's answers (or their
absence) and the deploy's parameters into ok / warn / fail lines, each with the fix. No AWS calls here
(sleepwake_cli/preflight_aws.py reads, sleepwake_cli/preflight.py prints).

Sources of the limits, named where each is used:
- SageMaker API reference: resource names `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$` (EndpointName, ModelName,
  EndpointConfigName, InferenceComponentName: at most 63 characters). The ServerlessConfig bounds and the
  serverless exclusions are the emulator's (localaws/sagemaker_rules.py, from botocore's model and the guide).
- SageMaker developer guide, "Deploy models with Amazon SageMaker Serverless Inference", feature exclusions: no
  GPUs, no network isolation, no VPC configuration, no KMS key, no multi-variant endpoints, no private
  registries (the image must be in Amazon ECR); its troubleshooting page: the container may not be able to write
  files, and the framework toolkit pip-installs `code/requirements.txt` at start.
- sagemaker-pytorch-inference toolkit: the archive extracts to /opt/ml/model, the handler is
  `code/<SAGEMAKER_PROGRAM>` (docs/aws-behaviour.md §6).
- What the deploy does to scaling set up outside the stack is `sleepwake.core.adoption`'s (the stack's
  AdoptedScaling custom resource runs the same `plan_adoption`): a ScalableTarget's primary identifier is
  ServiceNamespace + ResourceId + ScalableDimension, so CloudFormation cannot create one that exists.
- The account-wide rules (serverless quota, permissions, region): preflight_rules_account.py.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from sleepwake.core.adoption import ExistingScaling, plan_adoption, removal_steps, resource_id
from sleepwake.core.endpoint import VariantScaling, instance_scaling_warnings
from sleepwake.core.keep_warm import pings_keep_warm

NAME_LIMIT = 63  # every SageMaker resource name (API reference: EndpointName etc., pattern {0,62} after one char)
FALLBACK_SUFFIX = "-fallback"
SERVERLESS_QUOTA_CODE = "L-96300102"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status.value}


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


def exit_status(checks: list[Check]) -> int:
    """0 when every check is ok, 1 with a warning, 2 with a failure."""
    if any(c.status is Status.FAIL for c in checks):
        return 2
    return 1 if any(c.status is Status.WARN for c in checks) else 0


@dataclass(frozen=True)
class Plan:
    """The deploy's parameters, resolved (template defaults + samconfig.toml + flags), and what follows."""

    params: dict[str, str]

    @property
    def create(self) -> bool:
        return self.params.get("DeploymentMode") == "create"

    @property
    def endpoint(self) -> str:
        return self.params.get("EndpointName", "")

    @property
    def component(self) -> str:
        return self.params.get("InferenceComponentName", "")

    @property
    def archive(self) -> str:
        return self.params.get("ModelDataUrl", "")

    @property
    def adopted_fallback(self) -> str:
        return self.params.get("FallbackEndpointName", "")

    @property
    def creates_fallback(self) -> bool:
        """template.yaml's CreateFallbackEndpoint condition."""
        return (
            self.params.get("CreateFallback") == "true"
            and not self.adopted_fallback
            and (self.create or bool(self.archive))
        )

    @property
    def fallback_name(self) -> str:
        if self.adopted_fallback:
            return self.adopted_fallback
        return f"{self.endpoint}{FALLBACK_SUFFIX}" if self.creates_fallback else ""


# ---------------------------------------------------------------------------------------- parameters
def parameter_checks(params: dict[str, str], specs: dict[str, dict[str, Any]], unknown: list[str]) -> list[Check]:
    """The template's own constraints (AllowedValues, AllowedPattern, Min/MaxLength, Min/MaxValue), as CloudFormation
    checks them before it creates anything."""
    problems = [f"unknown parameter {name}" for name in unknown]
    for name, spec in specs.items():
        value = params.get(name, "")
        allowed = [str(a) for a in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            problems.append(f"{name}={value!r} is not one of {allowed}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            problems.append(f"{name}={value!r} is shorter than its MinLength {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"{name} has {len(value)} characters, more than its MaxLength {spec['MaxLength']}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(f"{name}={value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}={value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{name}={value} is below its MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{name}={value} is above its MaxValue {spec['MaxValue']}")
    if problems:
        return [fail("parameters", "; ".join(problems), "fix parameter_overrides in samconfig.toml or the flags")]
    return [ok("parameters", f"{len(specs)} parameters within the template's constraints")]


# ---------------------------------------------------------------------------------------- the endpoint
def endpoint_check(plan: Plan, described: dict[str, Any] | None) -> Check:
    name = plan.endpoint
    if plan.create:
        if described is not None:
            return fail(
                "endpoint",
                f"create mode, but endpoint {name} exists ({described.get('EndpointStatus')}): CloudFormation's "
                "create fails with AlreadyExists",
                f"choose another EndpointName, or deploy with DeploymentMode=adopt to control {name}",
            )
        return ok("endpoint", f"create mode: {name} does not exist yet; the deploy creates it")
    if described is None:
        return fail(
            "endpoint",
            f"adopt mode, but endpoint {name} does not exist in this account and region",
            "set EndpointName to the endpoint's exact name, or deploy with DeploymentMode=create",
        )
    status = described.get("EndpointStatus", "?")
    if status != "InService":
        return (warn if status in ("Creating", "Updating", "SystemUpdating") else fail)(
            "endpoint",
            f"endpoint {name} is {status}"
            + (f": {described['FailureReason']}" if described.get("FailureReason") else ""),
            "wait until it is InService (aws sagemaker wait endpoint-in-service --endpoint-name "
            f"{name}), then run preflight again",
        )
    return ok("endpoint", f"{name} is InService")


def component_check(plan: Plan, described: dict[str, Any] | None) -> Check:
    name = plan.component
    if plan.create:
        if described is not None:
            return fail(
                "component",
                f"create mode, but inference component {name} exists: CloudFormation's create fails",
                "choose another InferenceComponentName, or deploy with DeploymentMode=adopt",
            )
        return ok("component", f"create mode: {name} does not exist yet; the deploy creates it")
    if described is None:
        return fail(
            "component",
            f"adopt mode, but inference component {name} does not exist",
            "set InferenceComponentName to the component's exact name (aws sagemaker list-inference-components)",
        )
    if described.get("EndpointName") != plan.endpoint:
        return fail(
            "component",
            f"{name} runs on endpoint {described.get('EndpointName')}, not {plan.endpoint}",
            f"set EndpointName={described.get('EndpointName')}",
        )
    status = described.get("InferenceComponentStatus", "?")
    copies = (described.get("RuntimeConfig") or {}).get("CurrentCopyCount")
    if status != "InService":
        return (warn if status in ("Creating", "Updating") else fail)(
            "component",
            f"{name} is {status}" + (f": {described['FailureReason']}" if described.get("FailureReason") else ""),
            "wait until it is InService, then run preflight again",
        )
    return ok("component", f"{name} is InService on {plan.endpoint} with {copies} copies")


def instance_scaling_check(plan: Plan, variants: list[VariantScaling] | None) -> Check:
    """Adopt mode's precondition (sleepwake.core.endpoint): the endpoint may go to 0 instances."""
    if plan.create:
        return ok("instance scaling", "create mode: the template's endpoint config sets MinInstanceCount 0")
    if variants is None:
        return fail("instance scaling", f"could not read {plan.endpoint}'s endpoint config", "see the endpoint line")
    problems = instance_scaling_warnings(plan.endpoint, variants)
    if problems:
        sentence, _, fix = problems[0].partition("; ")
        more = f" (and {len(problems) - 1} more variant(s))" if len(problems) > 1 else ""
        return fail(
            "instance scaling",
            sentence + more + ": it is billed all night while sleepwake says asleep",
            fix + " (a new endpoint config, then aws sagemaker update-endpoint)",
        )
    return ok("instance scaling", f"{plan.endpoint}: ManagedInstanceScaling ENABLED, MinInstanceCount 0")


# ---------------------------------------------------------------------------------------- existing scaling
_TAKE_OVER = (
    "or deploy with ExistingScaling=take-over (the stack records it, takes it over and puts it back when deleted)"
)


def scaling_checks(plan: Plan, existing: ExistingScaling) -> list[Check]:
    """What the deploy would do to the scaling already on the component: what the stack's AdoptedScaling
    custom resource decides (`sleepwake.core.adoption.plan_adoption`, the same function) for the deploy's
    ExistingScaling. With `refuse` each kind of thing in the way is a fail whose fix is its removal commands
    (`removal_steps`); with `take-over` one line says what the deploy will do to it."""
    component, mode = plan.component, plan.params.get("ExistingScaling", "refuse")
    ours = f"{component}-concurrency"
    if existing.empty:
        return [
            ok(
                "existing scaling",
                f"nothing registered on {resource_id(component)}; the deploy registers its target and {ours}",
            )
        ]
    decided = plan_adoption(existing, mode)
    if not decided.refused:
        done = "; ".join(a.describe() for a in decided.actions)
        return [ok("existing scaling", f"ExistingScaling=take-over: the deploy will {done}; deleting it restores them")]
    steps = removal_steps(existing)

    def in_the_way(check: str, detail: str, verb: str, fix: str = "remove them") -> Check:
        return fail(check, detail, f"{fix}: {_steps(steps, verb)}; {_TAKE_OVER}")

    out = []
    if existing.target is not None:
        t = existing.target
        out.append(
            in_the_way(
                "scalable target",
                f"{resource_id(component)} is already registered (MinCapacity {t.min_capacity}, MaxCapacity "
                f"{t.max_capacity}): CloudFormation cannot create the stack's target (AlreadyExists), and "
                "ExistingScaling=refuse stops the deploy before it changes anything",
                "deregister-scalable-target",
                "deregister it, last (after the lines below)",
            )
        )
    if existing.policies:
        why = []
        if any(p.policy_type == "StepScaling" for p in existing.policies):
            why.append("a step policy would scale the component out from 0 against the nightly sleep")
        if any(p.name == ours for p in existing.policies):
            why.append(f"{ours} is the name of the deploy's own policy")
        elif any(p.policy_type == "TargetTrackingScaling" for p in existing.policies):
            why.append("a second target tracking would fight the deploy's own")
        names = ", ".join(f"{p.name} ({p.policy_type})" for p in existing.policies)
        detail = f"{names} on the component: {'; '.join(why) or 'it would act against the control plane'}"
        out.append(in_the_way("scaling policies", detail, "delete-scaling-policy"))
    if existing.scheduled_actions:
        names = ", ".join(a.name for a in existing.scheduled_actions)
        detail = f"{names} would change the component's capacity against the sleep and wake schedules"
        out.append(in_the_way("scheduled actions", detail, "delete-scheduled-action"))
    if existing.alarms:
        names = ", ".join(a.name for a in existing.alarms)
        detail = (
            f"{names} run(s) a scaling policy on the component (AWS's scale-to-zero recipe); the deploy wakes "
            "the component on its own no-capacity alarm, through the control plane"
        )
        out.append(in_the_way("alarms", detail, "delete-alarms", "delete them"))
    return out


def _steps(steps: list[str], verb: str) -> str:
    """The removal commands of one kind; a step's note ("  (or ...)") becomes its own clause, so each command
    pastes as it is."""
    out = []
    for step in steps:
        if f" {verb} " in step:
            command, _, note = step.partition("  (")
            out.append(command + (f"; {note.rstrip(')')}" if note else ""))
    return "; ".join(out)


# ---------------------------------------------------------------------------------------- the fallback
def fallback_name_check(plan: Plan, existing: dict[str, Any] | None) -> Check:
    """The created fallback is `<EndpointName>-fallback`: a SageMaker name, so at most 63 characters."""
    if plan.adopted_fallback:
        name = plan.adopted_fallback
        if existing is None:
            return fail(
                "fallback name",
                f"FallbackEndpointName={name}, but no such endpoint exists",
                "create the serverless endpoint first, or leave FallbackEndpointName empty (the stack creates one)",
            )
        if not existing.get("serverless"):
            return fail(
                "fallback name",
                f"{name} is not a serverless endpoint (its variant has no ServerlessConfig): it would bill instances",
                "name a SageMaker Serverless Inference endpoint",
            )
        return ok("fallback name", f"adopts {name} ({existing.get('EndpointStatus')}, serverless)")
    if not plan.creates_fallback:
        if plan.params.get("CreateFallback") != "true":
            return ok("fallback name", "no fallback (CreateFallback is false): a sleeping component fails requests")
        return _no_fallback_asked_for(plan)
    name = plan.fallback_name
    if len(name) > NAME_LIMIT:
        room = NAME_LIMIT - len(FALLBACK_SUFFIX)
        return fail(
            "fallback name",
            f"{name} has {len(name)} characters; SageMaker endpoint names have at most {NAME_LIMIT}, so the "
            "FallbackEndpoint (and its model and config) fail to create and the deploy rolls back",
            f"shorten EndpointName to at most {room} characters (it is {len(plan.endpoint)}), or set "
            "FallbackEndpointName to an existing serverless endpoint",
        )
    if existing is not None:
        return fail(
            "fallback name",
            f"{name} already exists ({existing.get('EndpointStatus')}): creating it fails with AlreadyExists",
            f"delete it (aws sagemaker delete-endpoint --endpoint-name {name}) "
            f"or adopt it (FallbackEndpointName={name})",
        )
    return ok("fallback name", f"creates {name} ({len(name)} of {NAME_LIMIT} characters)")


def _no_fallback_asked_for(plan: Plan) -> Check:
    """CreateFallback true (the default) in adopt mode without ModelDataUrl: template.yaml's
    CreateFallbackEndpoint condition makes no fallback, and what assumes one degrades (sleepwake/settings.py:
    the learned schedule keeps the crons, the idle check takes no naps, keep-warm has nothing to ping)."""
    lost = ["a sleeping component fails requests until it wakes", "the idle check takes no naps"]
    if plan.params.get("ScheduleMode") == "learned":
        lost.append("ScheduleMode learned keeps the crons")
    if plan.params.get("FallbackKeepWarm") == "ping":
        lost.append("FallbackKeepWarm ping does nothing")
    return warn(
        "fallback name",
        "CreateFallback is true, but adopt mode creates the fallback only from ModelDataUrl, which is empty: no "
        "fallback, so " + ", ".join(lost),
        "make model MODEL_S3_URI=s3://bucket/prefix, then pass ModelDataUrl=<the URI it prints> (the fallback "
        "serves the same archive on CPU), or FallbackEndpointName=<an existing serverless endpoint>, or "
        "CreateFallback=false to deploy without one",
    )


def fallback_config_checks(plan: Plan, image: str, invalid: list[str], excluded: list[str]) -> list[Check]:
    """The created fallback's image, its ServerlessConfig and the serverless feature exclusions. `invalid` and
    `excluded` are what SageMaker's request constraints and Serverless Inference's exclusions find in the
    template's FallbackModel and FallbackEndpointConfig as the deploy would send them (the emulator's own rules,
    localaws/sagemaker_rules.py, applied by sleepwake_cli/preflight.py)."""
    if not plan.creates_fallback:
        return []
    out = []
    problems = []
    if "dkr.ecr." not in image:
        problems.append(f"{image} is not in Amazon ECR (serverless takes no private registries)")
    lowered = image.lower()
    if "neuron" in lowered or re.search(r"(^|[-:])(gpu|cu\d+)", lowered.split(":", 1)[-1]):
        problems.append(f"{image} is not a CPU image (Serverless Inference runs on CPU only)")
    if problems:
        out.append(
            fail(
                "fallback image",
                "; ".join(problems),
                "set FallbackImageUri to a CPU framework image in ECR, or leave it empty for the region's "
                "pytorch-inference CPU DLC",
            )
        )
    else:
        out.append(ok("fallback image", image))
    memory, concurrency = plan.params.get("FallbackMemoryMb", ""), plan.params.get("FallbackMaxConcurrency", "")
    if invalid:
        out.append(
            fail(
                "fallback memory",
                "CreateEndpointConfig would be refused: " + "; ".join(invalid),
                "FallbackMemoryMb 1024-6144 in 1 GB steps, FallbackMaxConcurrency 1-200 (ServerlessConfig)",
            )
        )
    else:
        out.append(ok("fallback memory", f"{memory} MB, MaxConcurrency {concurrency}"))
    if excluded:
        out.append(
            fail(
                "fallback exclusions",
                "the template's fallback has " + "; ".join(excluded) + ", which Serverless Inference does not "
                "support: its creation fails and the deploy rolls back",
                "remove them from FallbackModel/FallbackEndpointConfig in template.yaml (Serverless Inference "
                "feature exclusions)",
            )
        )
    else:
        out.append(ok("fallback exclusions", "no network isolation, VPC, KMS key, instance settings or extra variant"))
    return out


def keep_warm_check(plan: Plan) -> list[Check]:
    """With a fallback and FallbackKeepWarm ping, whether the pings come before the eviction the template assumes
    (the parameters' own description: FallbackPingMinutes must stay below FallbackIdleEvictMinutes). CloudFormation
    cannot refuse it: a template's Rules compare only for equality and membership (CloudFormation template
    reference, "Rule functions": Fn::Equals, Fn::Contains, Fn::EachMemberIn..., no numeric comparison)."""
    if not plan.fallback_name or plan.params.get("FallbackKeepWarm") != "ping":
        return []
    try:
        ping, evict = int(plan.params["FallbackPingMinutes"]), int(plan.params["FallbackIdleEvictMinutes"])
    except (KeyError, ValueError):  # not a number: parameter_checks fails it
        return []
    if pings_keep_warm(ping, evict):
        return [ok("keep-warm", f"a ping every {ping} min, before the assumed eviction at {evict} min idle")]
    return [
        warn(
            "keep-warm",
            f"FallbackPingMinutes {ping} is not below FallbackIdleEvictMinutes {evict}: each ping comes after the "
            "fallback is assumed cold, so the stack pays for pings (and their cold starts) that never keep it warm",
            f"set FallbackPingMinutes below {evict}, or FallbackKeepWarm=none",
        )
    ]


# ---------------------------------------------------------------------------------------- the archive
@dataclass(frozen=True)
class Archive:
    url: str
    head: dict[str, Any] | None  # HeadObject's answer; None when the object does not exist
    error: str = ""  # why HeadObject or the listing could not be read
    names: list[str] | None = None  # member names of the tar; None when not listed


def archive_checks(plan: Plan, archive: Archive | None) -> list[Check]:
    uses = plan.create or plan.creates_fallback
    if not plan.archive:
        if uses:
            return [fail("archive", "ModelDataUrl is empty", "make model MODEL_S3_URI=s3://bucket/prefix prints it")]
        return [ok("archive", "adopt mode without ModelDataUrl: the deploy uses no archive")]
    assert archive is not None
    fix_missing = (
        f"build and upload it: make model MODEL_S3_URI={plan.archive.rsplit('/', 1)[0]}, then set ModelDataUrl to "
        "the URI it prints"
    )
    if not re.fullmatch(r"s3://[^/]+/.+", plan.archive):
        return [fail("archive", f"ModelDataUrl={plan.archive} is not s3://bucket/key", fix_missing)]
    if archive.head is None:
        if archive.error:
            return [warn("archive", f"could not read {plan.archive}: {archive.error}", "grant s3:GetObject on it")]
        return [fail("archive", f"{plan.archive} does not exist (HeadObject: 404)", fix_missing)]
    size = int(archive.head.get("ContentLength", 0))
    out = [ok("archive", f"{plan.archive} exists ({size / 1e6:.1f} MB)")]
    if archive.names is None:
        out.append(
            warn(
                "archive layout",
                f"not listed ({archive.error or 'not readable'})",
                "check it yourself: aws s3 cp " + plan.archive + " - | tar tz",
            )
        )
        return out
    names = {n.removeprefix("./") for n in archive.names}
    problems = []
    if "code/inference.py" not in names:
        hint = [n for n in names if n.endswith("inference.py")]
        problems.append("no code/inference.py" + (f" (found {hint[0]}: tar it from inside the folder)" if hint else ""))
    if "code/requirements.txt" in names:
        problems.append(
            "code/requirements.txt is pip-installed by the container at start (a serverless container may not "
            "be able to write, and /ping then fails)"
        )
    if not any(n.endswith((".pt", ".pth", ".jit")) and "/" not in n for n in names):
        problems.append("no model file (*.pt) at the archive's root")
    if problems:
        out.append(fail("archive layout", "; ".join(problems), "rebuild it with `make model` and upload it again"))
    else:
        out.append(
            ok("archive layout", f"{len(names)} entries: code/inference.py, model at the root, nothing to install")
        )
    return out
