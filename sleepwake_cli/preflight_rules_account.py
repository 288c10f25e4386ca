"""`sleepwake preflight`'s account-wide rules: the serverless concurrency quota, the deployer's permissions and
the region (the resource checks are in preflight_rules.py). Pure: what was read -> ok / warn / fail with the fix.

Sources: Service Quotas, SageMaker quota L-96300102 "Maximum total concurrency that can be allocated across all
serverless endpoints" (per account and region; every serverless endpoint's MaxConcurrency counts against it;
localaws/servicequotas.py names where the code comes from); IAM SimulatePrincipalPolicy's EvalDecision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sleepwake_cli.preflight_rules import SERVERLESS_QUOTA_CODE, Check, Plan, fail, ok, warn


# ---------------------------------------------------------------------------------------- quota
def quota_check(plan: Plan, quota: float | None, source: str, others: dict[str, int], error: str = "") -> Check:
    """FallbackMaxConcurrency plus every other serverless endpoint's MaxConcurrency against the account's
    quota L-96300102 (the fallback's own current share, when it exists, is replaced, not added)."""
    if not plan.creates_fallback:
        return ok("serverless quota", "the deploy creates no serverless endpoint")
    if quota is None:
        return warn(
            "serverless quota",
            f"could not read quota {SERVERLESS_QUOTA_CODE}: {error}",
            "grant servicequotas:GetServiceQuota, or check it in the Service Quotas console (SageMaker, "
            "'Maximum total concurrency that can be allocated across all serverless endpoints')",
        )
    wanted = int(plan.params.get("FallbackMaxConcurrency", "0") or 0)
    used = sum(c for name, c in others.items() if name != plan.fallback_name)
    detail = (
        f"FallbackMaxConcurrency {wanted} + {used} on {len(others)} other serverless endpoint(s), quota "
        f"{quota:g} ({source})"
    )
    if wanted + used > quota:
        room = int(quota) - used
        lower = f"lower FallbackMaxConcurrency to {room}, or " if room >= 1 else ""
        return fail(
            "serverless quota",
            detail + ": creating the fallback fails (ResourceLimitExceeded)",
            f"{lower}request an increase: aws service-quotas request-service-quota-increase --service-code "
            f"sagemaker --quota-code {SERVERLESS_QUOTA_CODE} --desired-value {wanted + used}",
        )
    return ok("serverless quota", detail)


# ---------------------------------------------------------------------------------------- permissions, region
def permission_checks(
    principal: str,
    denied: dict[str, str],
    optional: set[str],
    total: int,
    error: str = "",
    scoped: dict[str, str] | None = None,
) -> list[Check]:
    """`denied` maps each action SimulatePrincipalPolicy did not allow on `*` to its decision; `optional` are
    actions CloudFormation's handlers list for features this template does not use (VPC, KMS, EFS...);
    `scoped` those of the denied allowed on the stack's own resources (action -> the ARN asked about)."""
    scoped = scoped or {}
    denied = {a: d for a, d in denied.items() if a not in scoped}
    if error:
        return [
            warn(
                "permissions",
                f"could not simulate {principal or 'the caller'}'s policies: {error}",
                "grant iam:SimulatePrincipalPolicy (and iam:GetRole for a role) to run this check",
            )
        ]
    needed = {a: d for a, d in denied.items() if a not in optional}
    extra = sorted(a for a in denied if a in optional)
    out = []
    if needed:
        listed = ", ".join(f"{a} ({d})" for a, d in sorted(needed.items()))
        out.append(
            fail(
                "permissions",
                f"{principal} may not {listed}: the deploy stops there and rolls back",
                "grant these actions to the deployer's role (CloudFormation calls them with its credentials)",
            )
        )
    elif not scoped:
        out.append(ok("permissions", f"{principal} may call all {total - len(extra)} actions the deploy needs"))
    if scoped:
        listed = ", ".join(f"{a} on {arn}" for a, arn in sorted(scoped.items()))
        out.append(
            warn(
                "permissions (scoped)",
                f"{principal} may call these only on resources named after the stack: {listed}",
                "nothing if CloudFormation names them so (<stack>-<LogicalId>-<suffix>, or the names the "
                "parameters give); otherwise widen those grants",
            )
        )
    if extra:
        out.append(
            warn(
                "permissions (optional)",
                f"{principal} may not {', '.join(extra)}: CloudFormation's handlers list them for features this "
                "template does not use (VPC, KMS, provisioned concurrency...)",
                "nothing, unless the deploy fails on one of them",
            )
        )
    return out


def region_check(region: str, missing_types: list[str], missing_services: list[str]) -> Check:
    if missing_types or missing_services:
        what = ", ".join(missing_types + missing_services)
        return fail(
            "region",
            f"{region} lacks {what}",
            "deploy in a region that offers them (SageMaker inference components and Serverless Inference are not "
            "in every region)",
        )
    return ok("region", f"{region} offers every resource type and service the stack uses")


@dataclass(frozen=True)
class Target:
    """The region and profile a tool resolves, and where each came from (e.g. "samconfig.toml's region")."""

    region: str | None
    region_from: str
    profile: str
    profile_from: str


OPERATOR_COMMANDS = "the operator commands (sleepwake status, wake, sleep, report)"


def deploy_target_checks(deploy: Target, operator: Target) -> list[Check]:
    """Where `sam deploy` goes (and preflight checked) against where the operator commands look: they read AWS_REGION
    first and never samconfig.toml (sleepwake_cli/deployment.py aws_session), `sam deploy` the reverse (preflight
    _reader), so a stack deployed by one is silently not found by the other. A warning naming both sources for a
    region or profile that differs; exporting AWS_REGION / AWS_PROFILE points the operator commands at the deploy's
    (sam deploy ignores AWS_REGION; AWS_PROFILE only fills in when samconfig.toml and --profile name none)."""
    out = []
    if operator.region != deploy.region:
        if operator.region_from == "AWS_REGION":
            detail = f"sam deploy ignores AWS_REGION ({operator.region}); it deploys to {deploy.region} "
            detail += f"({deploy.region_from}), the region checked here"
        else:
            looks = f"look in {operator.region}" if operator.region else "find no region"
            detail = f"sam deploy deploys to {deploy.region} ({deploy.region_from}), the region checked here, "
            detail += f"while {OPERATOR_COMMANDS} {looks} ({operator.region_from}){_unread(deploy.region_from)}"
        there = {
            "--region": f"pass --region {operator.region} to sam deploy and preflight",
            "samconfig.toml's region": f'set region = "{operator.region}" in samconfig.toml',
        }.get(deploy.region_from, f"export AWS_DEFAULT_REGION={operator.region}")
        fix = f"for the operator commands to look in {deploy.region}: export AWS_REGION={deploy.region}"
        if operator.region:
            fix += f"; to deploy to {operator.region} instead: {there} and run preflight again"
        out.append(warn("deploy region", detail, fix))
    if operator.profile != deploy.profile:
        out.append(
            warn(
                "deploy profile",
                f"sam deploy uses profile {deploy.profile} ({deploy.profile_from}), the one checked here, while "
                f"{OPERATOR_COMMANDS} use {operator.profile} ({operator.profile_from}){_unread(deploy.profile_from)}",
                f"export AWS_PROFILE={deploy.profile} before the operator commands",
            )
        )
    return out


def _unread(source: str) -> str:
    """Why the operator commands did not take the deploy's setting from `source`."""
    if source.startswith("samconfig.toml"):
        return ": they never read samconfig.toml"
    return ": they take no --region or --profile" if source.startswith("--") else ""
