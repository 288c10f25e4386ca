"""`sleepwake preflight`'s account-wide rules: the serverless concurrency quota, the deployer's permissions and
the region (the resource checks are in preflight_rules.py). Pure: what was read -> ok / warn / fail with the fix.

Sources: Service Quotas, SageMaker quota L-96300102 "Maximum total concurrency that can be allocated across all
serverless endpoints" (per account and region; every serverless endpoint's MaxConcurrency counts against it;
localaws/servicequotas.py names where the code comes from); IAM SimulatePrincipalPolicy's EvalDecision.
"""

from __future__ import annotations

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


def deploy_region_check(region: str, region_from: str, aws_region: str | None) -> list[Check]:
    """AWS_REGION naming another region than the one `sam deploy` will use (and preflight checked): the SAM CLI
    never reads it (preflight._reader names the source), while the AWS CLI v2 and the operator commands do."""
    if not aws_region or aws_region == region:
        return []
    return [
        warn(
            "deploy region",
            f"sam deploy ignores AWS_REGION ({aws_region}); it deploys to {region} ({region_from}), the region "
            "checked here",
            f'to deploy to {aws_region}: export AWS_DEFAULT_REGION={aws_region}, or set region = "{aws_region}" in '
            f"samconfig.toml, or pass --region {aws_region} to both, and run preflight again; else unset AWS_REGION",
        )
    ]
