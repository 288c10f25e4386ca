"""`iam:SimulatePrincipalPolicy` in the local stack, decided by the emulator's own policy evaluation
(`localaws.iam.evaluate`, the one that authorises every emulated call), added to moto's IAM responses (moto
5.2.5 has no simulation).

What it answers follows the IAM API reference (SimulatePrincipalPolicy, EvaluationResult) and the IAM user
guide ("Testing IAM policies with the IAM policy simulator"):
- the principal is an IAM user (its inline, attached and groups' policies) or role (its inline and attached
  policies), named by `PolicySourceArn`; any other ARN, or one that does not exist, is `NoSuchEntity`;
- each action in `ActionNames` is evaluated against each of `ResourceArns`, or against `*` when none are given
  (the reference: "If you do not specify a resource, the simulator uses the wildcard value *"); a statement
  that names specific resources does not match `*`, so such an action reads implicitDeny, as in AWS;
- `EvalDecision` is `allowed`, `explicitDeny` or `implicitDeny`; with several resources, each is in
  `ResourceSpecificResults` and the action's decision is the first denial (allowed only if every resource is);
- `ContextEntries` (ContextKeyName, ContextKeyValues) feed condition keys, and `aws:PrincipalArn` is the source.
`PolicyInputList` (extra policies to add to the principal's) is accepted and evaluated with them.

Differs from AWS: no MatchedStatements, MissingContextValues or permissions-boundary/organizations details;
at most 1000 results in one page (no Marker); resource-based policies are not consulted.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import ActionResult
from moto.iam import responses as iam_responses

from localaws import iam

_DECISION = {
    iam.Decision.ALLOW: "allowed",
    iam.Decision.EXPLICIT_DENY: "explicitDeny",
    iam.Decision.IMPLICIT_DENY: "implicitDeny",
}


class NoSuchEntity(Exception):
    pass


def principal_policies(account: str, arn: str) -> list[dict[str, Any]]:
    """The identity-based policy documents of the IAM user or role `arn` (moto's own collection: the same
    policies an access key of that principal is authorised by)."""
    from moto.iam.access_control import AssumedRoleAccessKey, IAMPolicy, IAMUserAccessKey

    backend = iam._iam(account)
    name = arn.rsplit("/", 1)[-1]
    holder: Any
    if ":user/" in arn and any(u.name == name for u in backend.users.values()):
        holder = IAMUserAccessKey.__new__(IAMUserAccessKey)
        holder._owner_user_name = name
    elif ":role/" in arn and any(r.name == name for r in backend.roles.values()):
        holder = AssumedRoleAccessKey.__new__(AssumedRoleAccessKey)
        holder._owner_role_name = name
    else:
        raise NoSuchEntity(f"The user or role with ARN {arn} cannot be found.")
    holder.account_id, holder.partition = account, iam.PARTITION
    return [IAMPolicy(p)._policy_json for p in holder.collect_policies()]


def simulate(
    account: str,
    source_arn: str,
    actions: list[str],
    resources: list[str],
    context: dict[str, list[str]],
    extra_policies: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    policies = principal_policies(account, source_arn) + list(extra_policies or [])
    context = {"aws:PrincipalArn": [source_arn], **context}
    results = []
    for action in actions:
        per_resource = []
        for resource in resources or ["*"]:
            decision, _ = iam.evaluate(policies, action, [resource], context)
            per_resource.append((resource, _DECISION[decision]))
        denied = [d for _, d in per_resource if d != "allowed"]
        result: dict[str, Any] = {
            "EvalActionName": action,
            "EvalResourceName": per_resource[0][0] if len(per_resource) == 1 else "*",
            "EvalDecision": denied[0] if denied else "allowed",
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        if len(per_resource) > 1:
            result["ResourceSpecificResults"] = [
                {"EvalResourceName": r, "EvalResourceDecision": d, "MatchedStatements": []} for r, d in per_resource
            ]
        results.append(result)
    return results


def _simulate_principal_policy(self: Any) -> ActionResult:
    from moto.iam.exceptions import NotFoundException

    params = self._get_params()
    context = {
        str(entry.get("ContextKeyName")): [str(v) for v in entry.get("ContextKeyValues", [])]
        for entry in params.get("ContextEntries", []) or []
    }
    extra = [json.loads(doc) for doc in params.get("PolicyInputList", []) or []]
    try:
        results = simulate(
            self.current_account,
            str(self._get_param("PolicySourceArn")),
            [str(a) for a in params.get("ActionNames", []) or []],
            [str(r) for r in params.get("ResourceArns", []) or []],
            context,
            extra,
        )
    except NoSuchEntity as missing:
        raise NotFoundException(str(missing)) from None
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    response: Any = iam_responses.IamResponse
    response.simulate_principal_policy = _simulate_principal_policy
