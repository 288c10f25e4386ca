"""IAM in the local stack: who calls (SigV4 keys of IAM users and assumed roles) and whether that identity's
policies allow the call (action, resource ARN, condition keys), as AWS decides it.

moto checks signatures and identity policies at action level only (moto/iam/access_control.py: its
`IAMPolicyStatement` matches Resource against "*" for every service but S3 and ignores conditions it has no
values for). `install()` replaces that check, for every request that reaches moto's `call_action`, with
`authorize()`: the request's resource ARNs and condition keys come from its parameters (`request_context`),
and the identity's inline and attached policies are evaluated by `evaluate()`:

- an explicit Deny in any statement wins; otherwise some Allow must match action, resource and condition;
  no match is an implicit deny (IAM policy evaluation logic, "Determining whether a request is allowed or
  denied within an account", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
- Action matching is case-insensitive, Resource case-sensitive, `*` and `?` wildcards in both
  (IAM JSON policy elements: Action, Resource);
- condition operators String*, Arn*, Bool, Null, the `...IfExists` suffix and ForAnyValue/ForAllValues
  (IAM JSON policy elements: Condition operators); a missing key fails every operator but the negated ones,
  `...IfExists` and Null (as the same page says);
- when a request names several resources (InvokeEndpoint with an inference component), every one of them
  must be allowed (`INVOKE_ENDPOINT_CHECKS_COMPONENT`, see `request_context`).

The resource ARN of each action this project calls follows the Service Authorization Reference page of its
service (https://docs.aws.amazon.com/service-authorization/latest/reference/ : "Actions, resources, and
condition keys for Amazon SageMaker AI", "... Amazon DynamoDB", "... AWS Step Functions", "... Application
Auto Scaling", "... Amazon CloudWatch", "... Amazon SNS", "... AWS Lambda", "... Amazon EventBridge
Scheduler", "... Amazon API Gateway" (execute-api)). Actions with no resource-level permissions there are
evaluated against "*". An action not listed in `_RESOURCES` is evaluated against "*" too (logged), so only
a `Resource: "*"` statement can allow it: stricter than AWS, never looser.

A denial's message is AWS's: "User: <arn> is not authorized to perform: <action> on resource: <arn> because
no identity-based policy allows the <action> action" (or "... with an explicit deny in an identity-based
policy"), the shape of AWS's access-denied errors ("Access denied error messages",
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html). How each protocol carries
it, and the moto hook itself, are in `localaws.iam_wire`.

No PyPI library evaluates a request against policies with a request context: policyuniverse and
iam-policy-validator parse and lint, policy_sentry and iam-floyd write policies, iam-ape computes a
principal's effective permissions from GetAccountAuthorizationDetails (no per-request resource or condition
context); AWS's own evaluator is the IAM policy simulator, an online API. Hence this small evaluator.

Differs from AWS: no SCPs, permission boundaries, session policies, resource-based policies of services
other than Lambda (see `lambda_resource_policy_allows`), global condition keys (aws:*) other than
aws:PrincipalArn, or credential expiry; one account.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import unquote

LOG = logging.getLogger(__name__)

PARTITION = "aws"
ADMIN_USER = "localaws-admin"
# sagemaker:InvokeEndpoint lists both `endpoint` and `inference-component` as resource types (Service
# Authorization Reference, SageMaker). Whether a call with InferenceComponentName is authorised against both
# ARNs or the endpoint only is not stated there; both is the stricter reading and the default. Tests run both.
INVOKE_ENDPOINT_CHECKS_COMPONENT = True


class IamSwitches:
    enforce = False  # the emulator turns it on; moto's own action-level check stays off either way


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    arn: str = ""

    def env(self) -> dict[str, str]:
        """The AWS_* variables boto3 and the AWS CLI read."""
        out = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            out["AWS_SESSION_TOKEN"] = self.session_token
        return out

    def boto(self) -> dict[str, str | None]:
        """Keyword arguments for boto3.client()."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


# ------------------------------------------------------------------------------------- identities
def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def create_user(account: str, name: str, statements: list[dict[str, Any]], keep: Keys | None = None) -> Keys:
    """An IAM user with one inline policy of `statements` and an access key (straight into moto's backend).
    `keep`: the user's keys from an earlier run of the emulator, kept when they have the shape of an IAM user's
    keys (AKIA + 16, a 40-character secret), so lines and exports holding them keep working."""
    iam = _iam(account)
    if name not in iam.users:
        iam.create_user("us-east-1", name)
    iam.put_user_policy(name, f"{name}-policy", json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(name)
    if keep and re.fullmatch(r"AKIA[A-Z0-9]{16}", keep.access_key_id) and len(keep.secret_access_key) == 40:
        del iam.access_keys[key.physical_resource_id]  # moto finds a key by its id (moto/iam/access_control.py)
        key.access_key_id, key.secret_access_key = keep.access_key_id, keep.secret_access_key
        iam.access_keys[key.physical_resource_id] = key
    return Keys(key.access_key_id, key.secret_access_key, None, f"arn:{PARTITION}:iam::{account}:user/{name}")


def create_role(account: str, name: str, statements: list[dict[str, Any]], trust: dict[str, Any]) -> str:
    """A role with one inline policy; returns its ARN."""
    iam = _iam(account)
    role = iam.create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="",
        tags=[],
        max_session_duration="3600",
    )
    iam.put_role_policy(name, f"{name}-policy", json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return str(role.arn)


class RoleSessions:
    """Assumed-role credentials per (role, session name), made once per emulator run through moto's STS
    backend (AssumeRole without a trust-policy check: the Lambda and Step Functions services assume these
    roles, not a caller of ours)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Keys] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._cache.clear()

    def keys(self, account: str, role_arn: str, session: str) -> Keys:
        from moto.sts.models import sts_backends

        session = re.sub(r"[^\w+=,.@-]", "-", session)[:64]
        with self._lock:
            found = self._cache.get((role_arn, session))
            if found is None:
                role = sts_backends[account][PARTITION].assume_role(
                    region_name="us-east-1",
                    role_session_name=session,
                    role_arn=role_arn,
                    policy="",
                    duration=43200,
                    external_id="",
                )
                arn = f"arn:{PARTITION}:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}"
                found = Keys(role.access_key_id, role.secret_access_key, role.session_token, arn)
                self._cache[(role_arn, session)] = found
            return found


SESSIONS = RoleSessions()


# ------------------------------------------------------------------------------------- evaluation
class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def _wild(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters (across `/` and `:`), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(element: Any, value: str, *, ignore_case: bool) -> bool:
    return any(_wild(str(p), value, ignore_case=ignore_case) for p in _listed(element))


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _compare(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        return expected == actual if operator.startswith("String") else _wild(expected, actual)
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return expected.lower() == actual.lower()
    if operator in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        return _wild(expected, actual)
    if operator == "Bool":
        return expected.lower() == actual.lower()
    raise ValueError(f"condition operator {operator} is not evaluated by localaws")


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, list[str]]) -> bool:
    quantifier = ""
    if ":" in operator:
        quantifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    actual = context.get(key.lower())
    if operator == "Null":
        return (actual is None) == (str(expected).lower() == "true")
    if actual is None:
        return if_exists or operator in _NEGATED or quantifier == "ForAllValues"
    wanted = [str(e) for e in _listed(expected)]
    negated = operator in _NEGATED
    base = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase"}.get(
        operator, operator.replace("Not", "")
    )

    def one(value: str) -> bool:
        hit = any(_compare(base, e, value) for e in wanted)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


def _statement_applies(st: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    if "Action" in st and not _matches(st["Action"], action, ignore_case=True):
        return False
    if "NotAction" in st and _matches(st["NotAction"], action, ignore_case=True):
        return False
    if "Resource" in st and not _matches(st["Resource"], resource, ignore_case=False):
        return False
    if "NotResource" in st and _matches(st["NotResource"], resource, ignore_case=False):
        return False
    for operator, keys in (st.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


def evaluate(
    policies: Iterable[dict[str, Any]], action: str, resources: list[str], context: dict[str, list[str]]
) -> tuple[Decision, str]:
    """The decision for `action` on every one of `resources`, and the resource that decided a denial."""
    statements = [st for doc in policies for st in _listed(doc.get("Statement", []))]
    keys = {k.lower(): v for k, v in context.items()}
    for resource in resources:
        applying = [st for st in statements if _statement_applies(st, action, resource, keys)]
        if any(st.get("Effect") == "Deny" for st in applying):
            return Decision.EXPLICIT_DENY, resource
        if not any(st.get("Effect") == "Allow" for st in applying):
            return Decision.IMPLICIT_DENY, resource
    return Decision.ALLOW, ""


def denial_message(principal: str, action: str, resource: str, decision: Decision) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"


# ------------------------------------------------------------------------------------- requests
# Signing name or moto's operation name -> IAM action prefix / name, where they differ.
_PREFIX = {"monitoring": "cloudwatch", "runtime.sagemaker": "sagemaker", "events": "events"}
_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction", "lambda:Invoke_async": "lambda:InvokeAsync"}


def iam_action(signing_name: str, operation: str) -> str:
    action = f"{_PREFIX.get(signing_name, signing_name)}:{operation}"
    return _ACTION_NAMES.get(action, action)


@dataclass
class RequestContext:
    action: str
    resources: list[str]
    conditions: dict[str, list[str]]


def _arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{rest}"


def _name_or_arn(value: str, service: str, region: str, account: str, kind: str) -> str:
    return value if value.startswith("arn:") else _arn(service, region, account, f"{kind}{value}")


def request_context(action: str, param: Any, region: str, account: str, path: str, headers: Any) -> RequestContext:
    """The resources and condition keys of one call, from its parameters (`param(name)`)."""
    resources = _RESOURCES.get(action)
    out = RequestContext(action, ["*"], {})
    if resources is None:
        if action not in _NO_RESOURCE_LEVEL:
            LOG.info("iam: %s has no resource mapping in localaws; evaluated against '*'", action)
        return out
    out.resources = resources(param, region, account, path, headers)
    if action == "application-autoscaling:RegisterScalableTarget":
        # Condition keys of RegisterScalableTarget (Service Authorization Reference, Application Auto Scaling).
        for key, name in (("service-namespace", "ServiceNamespace"), ("scalable-dimension", "ScalableDimension")):
            if param(name):
                out.conditions[f"application-autoscaling:{key}"] = [str(param(name))]
    if action == "cloudwatch:PutMetricData" and param("Namespace"):
        out.conditions["cloudwatch:namespace"] = [str(param("Namespace"))]
    return out


def _scalable_target_arn(param: Any, region: str, account: str) -> str:
    """Scalable-target ARNs carry an id AWS generates at registration; moto keeps none, so a stable one is
    derived from (namespace, resource id, dimension). Policies name these with `scalable-target/*`."""
    import hashlib

    key = f"{param('ServiceNamespace')}|{param('ResourceId')}|{param('ScalableDimension')}"
    return _arn(
        "application-autoscaling", region, account, f"scalable-target/{hashlib.sha1(key.encode()).hexdigest()[:28]}"
    )


def _lambda_function(path: str, region: str, account: str) -> str:
    m = re.search(r"/functions/([^/]+)/", unquote(path) + "/")
    name = m.group(1) if m else "*"
    if name.startswith("arn:"):
        return re.sub(r":(\$LATEST|\d+)$", "", name)
    return _arn("lambda", region, account, f"function:{name.split(':')[0]}")


def _invoke_endpoint(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    m = re.search(r"/endpoints/([^/]+)/", path)
    name = unquote(m.group(1)) if m else str(param("EndpointName") or "*")
    out = [_arn("sagemaker", region, account, f"endpoint/{name.lower()}")]
    component = (headers or {}).get("X-Amzn-SageMaker-Inference-Component")
    if component and INVOKE_ENDPOINT_CHECKS_COMPONENT:
        out.append(_arn("sagemaker", region, account, f"inference-component/{component.lower()}"))
    return out


def _ic(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    # SageMaker lower-cases resource names in its ARNs.
    return [_arn("sagemaker", region, account, f"inference-component/{str(param('InferenceComponentName')).lower()}")]


def _table(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    return [_name_or_arn(str(param("TableName")), "dynamodb", region, account, "table/")]


def _machine(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    return [str(param("stateMachineArn"))]


def _execution(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    return [str(param("executionArn"))]


def _schedule(param: Any, region: str, account: str, path: str, headers: Any) -> list[str]:
    """arn:...:scheduler:<region>:<account>:schedule/<group>/<name> (Service Authorization Reference, EventBridge
    Scheduler: the schedule resource type). The name is the last path segment (`/schedules/{Name}`); the group
    is `GroupName` in the body (Create/Update) or `groupName` in the query (Get/Delete), `default` when absent."""
    name = unquote(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    group = param("GroupName") or param("groupName") or "default"
    return [_arn("scheduler", region, account, f"schedule/{group}/{name}")]


_RESOURCES: dict[str, Any] = {
    "sagemaker:DescribeInferenceComponent": _ic,
    "sagemaker:UpdateInferenceComponentRuntimeConfig": _ic,
    "sagemaker:UpdateInferenceComponent": _ic,
    "sagemaker:InvokeEndpoint": _invoke_endpoint,
    "sagemaker:DescribeEndpoint": lambda p, r, a, *_: [
        _arn("sagemaker", r, a, f"endpoint/{str(p('EndpointName')).lower()}")
    ],
    "sagemaker:DescribeEndpointConfig": lambda p, r, a, *_: [
        _arn("sagemaker", r, a, f"endpoint-config/{str(p('EndpointConfigName')).lower()}")
    ],
    "dynamodb:GetItem": _table,
    "dynamodb:PutItem": _table,
    "dynamodb:UpdateItem": _table,
    "dynamodb:DeleteItem": _table,
    "dynamodb:Query": _table,
    "states:StartExecution": _machine,
    "states:ListExecutions": _machine,
    "states:DescribeStateMachine": _machine,
    "states:DescribeExecution": _execution,
    "states:StopExecution": _execution,
    "states:GetExecutionHistory": _execution,
    "application-autoscaling:RegisterScalableTarget": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    # The other calls on one target are authorised on it too (Service Authorization Reference: resource type
    # scalable-target for DeregisterScalableTarget, Put/DeleteScalingPolicy and Put/DeleteScheduledAction).
    "application-autoscaling:DeregisterScalableTarget": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    "application-autoscaling:PutScalingPolicy": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    "application-autoscaling:DeleteScalingPolicy": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    "application-autoscaling:PutScheduledAction": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    "application-autoscaling:DeleteScheduledAction": lambda p, r, a, *_: [_scalable_target_arn(p, r, a)],
    "cloudwatch:SetAlarmState": lambda p, r, a, *_: [_arn("cloudwatch", r, a, f"alarm:{p('AlarmName')}")],
    "cloudwatch:PutMetricAlarm": lambda p, r, a, *_: [_arn("cloudwatch", r, a, f"alarm:{p('AlarmName')}")],
    # Resource type alarm (Service Authorization Reference, CloudWatch): the named alarms, else every alarm.
    "cloudwatch:DescribeAlarms": lambda p, r, a, *_: [
        _arn("cloudwatch", r, a, f"alarm:{name}") for name in (p("AlarmNames") or ["*"])
    ],
    "cloudwatch:PutMetricData": lambda *_: ["*"],
    "sns:Publish": lambda p, *_: [str(p("TopicArn") or p("TargetArn"))],
    "lambda:InvokeFunction": lambda p, r, a, path, h: [_lambda_function(path, r, a)],
    "lambda:InvokeAsync": lambda p, r, a, path, h: [_lambda_function(path, r, a)],
    "scheduler:GetSchedule": _schedule,
    "scheduler:CreateSchedule": _schedule,
    "scheduler:UpdateSchedule": _schedule,
    "scheduler:DeleteSchedule": _schedule,
}
# Actions with no resource-level permissions (Service Authorization Reference): evaluated against "*".
_NO_RESOURCE_LEVEL = {
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "sts:GetCallerIdentity",
}


class AccessDenied(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def policies_of(access_key: Any) -> list[dict[str, Any]]:
    """The identity-based policy documents of a moto access key (IAM user or assumed role)."""
    from moto.iam.access_control import IAMPolicy

    return [IAMPolicy(p)._policy_json for p in access_key.collect_policies()]


def authorize(access_key: Any, ctx: RequestContext) -> None:
    """Raise AccessDenied unless the key's identity may make the call."""
    if ctx.action == "sts:GetCallerIdentity":  # always allowed, even under an explicit deny (IAM docs)
        return
    principal = str(access_key.arn)
    context = dict(ctx.conditions)
    context.setdefault("aws:PrincipalArn", [principal])
    decision, resource = evaluate(policies_of(access_key), ctx.action, ctx.resources, context)
    if decision is not Decision.ALLOW:
        message = denial_message(principal, ctx.action, resource, decision)
        LOG.warning("iam: %s", message)
        raise AccessDenied(message)
    LOG.debug("iam: %s may %s on %s", principal, ctx.action, ctx.resources)


def lambda_resource_policy_allows(function_arn: str, principal_service: str, source_arn: str) -> bool:
    """Does the function's resource policy (AWS::Lambda::Permission statements, kept by moto's AddPermission)
    let `principal_service` invoke it from `source_arn`? (Lambda "Using resource-based policies": the
    Condition ArnLike AWS:SourceArn of API Gateway's permission.)"""
    from moto.awslambda_simple.models import lambda_simple_backends

    region, account = function_arn.split(":")[3], function_arn.split(":")[4]
    backend = lambda_simple_backends[account][region]
    try:
        policy = json.loads(json.loads(backend.get_policy(function_arn.rsplit(":", 1)[-1], None))["Policy"])
    except Exception:
        return False
    for st in _listed(policy.get("Statement", [])):
        principal = st.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if st.get("Effect") != "Allow" or principal_service not in _listed(service):
            continue
        if not _matches(st.get("Action", ""), "lambda:InvokeFunction", ignore_case=True):
            continue
        if not _matches(st.get("Resource", function_arn), function_arn, ignore_case=False):
            continue
        condition = st.get("Condition") or {}
        context = {"aws:sourcearn": [source_arn]}
        if all(_condition_holds(op, k, v, context) for op, kv in condition.items() for k, v in kv.items()):
            return True
    return False
