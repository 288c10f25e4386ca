"""`sleepwake preflight`: read-only checks before `sam deploy`, for the parameters that deploy would use
(samconfig.toml's parameter_overrides, then --parameter-overrides, over the template's defaults).

It reads the account (sleepwake_cli/preflight_aws.py: Describe/List/Get/Head/Simulate calls only), reads the
SAM-translated template offline (preflight_template.py) and prints one line per check, ok / warn / fail, each
with its fix (preflight_rules.py). `--json` prints one document. Exit status: 0 all ok, 1 a warning, 2 a
failure (or a bad option, or a check that could not finish: never Python's 1 for a crash); the same for the
local stack (`--deployment-file build/local/deployment.json`, or AWS_ENDPOINT_URL) and AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError, ProfileNotFound

from sleepwake_cli.awscli import aws_command
from sleepwake_cli.deployment import (
    TEMPLATE,
    Deployment,
    DeploymentError,
    RegionChain,
    aws_session,
    environment_region,
    profile_variable,
    unreachable_local,
)
from sleepwake_cli.preflight_aws import Reader, ReadError
from sleepwake_cli.preflight_rules import (
    Check,
    Plan,
    Status,
    archive_checks,
    component_check,
    endpoint_check,
    exit_status,
    fail,
    fallback_config_checks,
    fallback_name_check,
    instance_scaling_check,
    keep_warm_check,
    parameter_checks,
    scaling_checks,
    warn,
)
from sleepwake_cli.preflight_rules_account import (
    Target,
    deploy_target_checks,
    permission_checks,
    quota_check,
    region_check,
)
from sleepwake_cli.preflight_template import (
    DEFAULT_ENV,
    RUNTIME_SERVICES,
    SAMCONFIG,
    ConfigError,
    DeployConfig,
    Translated,
    missing_in_region,
    parse_overrides,
    read_samconfig,
    required_actions,
    resolve_parameters,
    scoped_arn,
    translate,
)
from sleepwake_cli.preflight_template import translated as translated_template

EXIT_CODES = """exit status:
  0    every check is ok
  1    at least one warning (the deploy may work; read the fix)
  2    at least one failure (the deploy would fail or misbehave), a bad option, or preflight could not finish"""
WIDTH = 120  # the table's lines (commands in a fix may wrap; copy them whole)
DEFAULT_PROFILE = "the default profile"  # where boto3 takes the profile from without a flag or variable
PLACEHOLDER_ACCOUNT = "123456789012"  # ARNs in the translated template when the caller's account is unknown


def run(
    reader: Reader,
    config: DeployConfig,
    *,
    template: Path = TEMPLATE,
    principal: str | None = None,
    max_archive_bytes: int = 512 * 1024 * 1024,
    targets: tuple[Target, Target] | None = None,
) -> list[Check]:
    """Every check, in the order an operator fixes things. `targets`: where `sam deploy` goes (the reader's region
    and profile, with their sources) and where the operator commands look (None on the local stack, which
    `sam deploy` does not deploy to)."""
    checks: list[Check] = []
    try:
        caller, account = reader.caller()
    except ReadError as error:
        # GetCallerIdentity needs no permission, and an explicit deny does not stop it (STS API reference,
        # GetCallerIdentity): when it fails, the credentials or the way to AWS do, and every other read would too.
        raise Unfinished(
            f"could not read the caller's identity ({error}): sts:GetCallerIdentity needs no permission, so the "
            "credentials or the connection to AWS do not work; check them with `aws sts get-caller-identity`"
        ) from None
    cfn = translated_template(template, reader.region, account or PLACEHOLDER_ACCOUNT, config.stack_name)
    params, unknown = resolve_parameters(config.overrides, cfn)
    plan = Plan(params)
    checks[:0] = parameter_checks(params, cfn["Parameters"], unknown)

    def guarded(name: str, step: Callable[[], list[Check]]) -> None:
        try:
            checks.extend(step())
        except ReadError as error:
            checks.append(_unread(name, error))

    translated = translate(cfn, params, reader.region, account or PLACEHOLDER_ACCOUNT, config.stack_name)
    types = translated.types()
    missing_services = [s for s in RUNTIME_SERVICES if reader.region not in reader.session.get_available_regions(s)]
    checks.append(region_check(reader.region, missing_in_region(types, reader.region), missing_services))
    if targets is not None:
        checks.extend(deploy_target_checks(*targets))

    def endpoint_and_component() -> list[Check]:
        endpoint = reader.endpoint(plan.endpoint)
        out = [endpoint_check(plan, endpoint), component_check(plan, reader.component(plan.component))]
        variants = reader.instance_scaling(endpoint) if endpoint and not plan.create else None
        return [*out, instance_scaling_check(plan, variants)]

    guarded("endpoint", endpoint_and_component)
    guarded("scaling", lambda: scaling_checks(plan, reader.scaling(plan.component)))

    def fallback() -> list[Check]:
        existing = reader.serverless_endpoint(plan.fallback_name) if plan.fallback_name else None
        image, invalid, excluded = _fallback_requests(translated)
        return [fallback_name_check(plan, existing), *fallback_config_checks(plan, image, invalid, excluded)]

    guarded("fallback", fallback)
    checks.extend(keep_warm_check(plan))
    archive = reader.archive(plan.archive, max_archive_bytes) if plan.archive.startswith("s3://") else None
    checks.extend(archive_checks(plan, archive))

    def quota() -> list[Check]:
        if not plan.creates_fallback:
            return [quota_check(plan, None, "", {})]
        try:
            value, source = reader.serverless_quota()
        except ReadError as error:
            if not error.denied:
                raise
            return [quota_check(plan, None, "", {}, str(error))]
        return [quota_check(plan, value, source, reader.serverless_concurrency())]

    guarded("serverless quota", quota)
    actions, optional = required_actions(types)
    try:
        who = principal or reader.principal(caller)
        denied = reader.denied(who, actions)
        # A grant scoped to the stack's own resources reads implicitDeny on `*`: ask again on those ARNs.
        scoped: dict[str, list[str]] = {}
        for action in denied:
            arn = scoped_arn(action, reader.region, account or PLACEHOLDER_ACCOUNT, config.stack_name)
            if arn:
                scoped.setdefault(arn, []).append(action)
        allowed_on = {
            action: arn
            for arn, names in scoped.items()
            for action in names
            if action not in reader.denied(who, names, arn)
        }
        checks.extend(permission_checks(who, denied, optional, len(actions), scoped=allowed_on))
    except ReadError as error:
        if error.denied:
            checks.extend(permission_checks(principal or caller, {}, optional, len(actions), str(error)))
        else:
            checks.append(_unread("permissions", error))
    return checks


class Unfinished(Exception):
    """Preflight cannot check anything: said in one line, exit 2."""


def _unread(name: str, error: ReadError) -> Check:
    """A check whose read failed: a warning when the reader may not make it (the deploy's own rights may differ);
    a failure otherwise (throttled past the retries, AWS's own error, the connection lost): the check could not
    finish, so the run exits 2 (docs/deploy.md step 4) and `make preflight` does not pass having checked nothing."""
    if error.denied:
        return warn(name, f"could not read: {error}", f"grant {error.action} to whoever runs preflight")
    return fail(name, f"could not read: {error}", "run preflight again when AWS answers")


def _fallback_requests(translated: Translated) -> tuple[str, list[str], list[str]]:
    """(the fallback's image, what SageMaker's request constraints refuse in its endpoint config, what
    Serverless Inference excludes in it and its model), judged by the emulator's rules on the requests the
    deploy would send. Names CloudFormation generates stand in as `fallback-model` / `fallback-config`."""
    from types import SimpleNamespace

    from localaws.sagemaker_common import SageMakerValidation
    from localaws.sagemaker_rules import check_request, serverless_exclusions

    model = translated.properties("FallbackModel", "EnableNetworkIsolation", "VpcConfig", "PrimaryContainer")
    config = translated.properties("FallbackEndpointConfig", "ProductionVariants", "KmsKeyId", "DataCaptureConfig")
    if not model and not config:
        return "", [], []
    container = dict(model.get("PrimaryContainer") or {})
    variants = [dict(v) | {"ModelName": "fallback-model"} for v in config.get("ProductionVariants") or []]
    for variant in variants:
        if "ServerlessConfig" in variant:  # parameters resolve to strings; the request carries integers
            variant["ServerlessConfig"] = {k: _integer(v) for k, v in variant["ServerlessConfig"].items()}
    request = {"EndpointConfigName": "fallback-config", **config, "ProductionVariants": variants}
    try:
        check_request("CreateEndpointConfig", request)
        invalid: list[str] = []
    except SageMakerValidation as refused:
        invalid = [str(getattr(refused, "message", refused))]
    stand_in = SimpleNamespace(
        model_name="fallback-model",
        enable_network_isolation=bool(model.get("EnableNetworkIsolation")),
        vpc_config=model.get("VpcConfig"),
        primary_container=container,
        containers=[],
    )
    return str(container.get("Image", "")), invalid, serverless_exclusions(request, {"fallback-model": stand_in})


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


# ---------------------------------------------------------------------------------------- output
_COMMAND = re.compile(r"(^|: |; )aws ([a-z0-9-]+ [a-z0-9-]+[^;]*)")
NO_CLI = " (the AWS CLI: `make setup` installs it in .tools/aws)"


def runnable(command: str, endpoint_url: str | None = None) -> str:
    """An `aws ...` command of a fix as it runs from here: the AWS CLI `make setup` pins in .tools/aws (or one on
    PATH; plain `aws` when there is none), with the local stack's --endpoint-url."""
    suffix = f" --endpoint-url {endpoint_url}" if endpoint_url else ""
    return f"{aws_command() or 'aws'} {command.removeprefix('aws ').rstrip()}{suffix}"


def runnable_fix(fix: str, endpoint_url: str | None = None) -> str:
    found = _COMMAND.search(fix) is not None
    fixed = _COMMAND.sub(lambda m: m.group(1) + runnable("aws " + m.group(2), endpoint_url), fix)
    return fixed + (NO_CLI if found and aws_command() is None else "")


def as_json(config: DeployConfig, region: str, checks: list[Check], endpoint_url: str | None = None) -> dict[str, Any]:
    counts = {s.value: sum(c.status is s for c in checks) for s in Status}
    return {
        "stack_name": config.stack_name,
        "region": region,
        "parameters_from": config.source,
        "overrides": config.overrides,
        "checks": [c.as_json() | {"fix": runnable_fix(c.fix, endpoint_url)} for c in checks],
        "summary": counts,
        "exit_status": exit_status(checks),
    }


def as_table(config: DeployConfig, region: str, checks: list[Check], endpoint_url: str | None = None) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"preflight for stack {config.stack_name} in {region} (parameters: {config.source})"]
    hang = " " * (width + 10)
    for c in checks:
        mark = {Status.OK: "ok  ", Status.WARN: "WARN", Status.FAIL: "FAIL"}[c.status]
        lines.append(textwrap.fill(f"  {mark}  {c.name:<{width}}  {c.detail}", WIDTH, subsequent_indent=hang))
        if c.fix:
            # Prose wraps; each `aws ...` command gets a line of its own, whole, so it pastes as it is.
            first, *rest = re.split(r"(?<=: )(?=aws )|; (?=aws |or )", f"fix: {c.fix}")
            lines.append(textwrap.fill(first, WIDTH, initial_indent=hang, subsequent_indent=hang + "     "))
            for part in rest:
                if part.startswith("aws "):
                    lines.append(f"{hang}     {runnable(part, endpoint_url)}")
                else:
                    lines.append(
                        textwrap.fill(part, WIDTH, initial_indent=hang + "     ", subsequent_indent=hang + "     ")
                    )
    counts = {s: sum(c.status is s for c in checks) for s in Status}
    verdict = {0: "ready to deploy", 1: "deployable, read the warnings", 2: "not ready: fix the failures"}
    total = f"{counts[Status.OK]} ok, {counts[Status.WARN]} warn, {counts[Status.FAIL]} fail"
    lines.append(f"{total}: {verdict[exit_status(checks)]}")
    if aws_command() is None and any(_COMMAND.search(c.fix) for c in checks):
        lines.append(f"`aws`:{NO_CLI.removeprefix(' (').removesuffix(')').removeprefix('the AWS CLI:')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- command
def _config(args: argparse.Namespace) -> DeployConfig:
    # A --config-file that is not there is refused, as the SAM CLI refuses it (samcli/cli/cli_config_file.py:
    # "Config file ... does not exist or could not be read!"); the repository's own may be absent.
    if args.config_file and not Path(args.config_file).is_file():
        raise ConfigError(f"config file {args.config_file} does not exist or could not be read")
    config = read_samconfig(Path(args.config_file) if args.config_file else SAMCONFIG, args.config_env)
    if args.stack_name:
        config.stack_name = args.stack_name
    if args.parameter_overrides:
        flags = parse_overrides(args.parameter_overrides)
        config.overrides = config.overrides | flags
        config.source = "flags" if config.source == "template defaults" else f"{config.source} + flags"
    return config


def _reader(args: argparse.Namespace, config: DeployConfig) -> Reader:
    if args.deployment_file:
        # The local stack: read as its deployer, whose keys `make local` writes to the file (exported operator
        # keys would see less than a deploy needs); a file without them: the CLI's usual credentials.
        deployment = Deployment.from_file(Path(args.deployment_file))
        problem = unreachable_local(deployment.endpoint_url)
        if problem:
            raise DeploymentError(problem)
        assert deployment.local is not None
        keys = deployment.deployer
        if keys.get("AWS_ACCESS_KEY_ID") and keys.get("AWS_SECRET_ACCESS_KEY"):
            session = boto3.Session(
                region_name=deployment.local["region"],
                aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            )
        else:
            session = aws_session(deployment.local, deployment.credentials)
        return Reader(session, deployment.endpoint_url)
    # The region and profile as `sam deploy` resolves them, AWS_REGION aside: the SAM CLI (1.170,
    # samcli/cli/context.py `_refresh_session`) hands --region and --profile (samconfig.toml's `region` and `profile`
    # fill them) to boto3.setup_default_session; without them boto3's chain: AWS_DEFAULT_REGION, then the profile's
    # `region`, never AWS_REGION (botocore configprovider.py; samcli has no AWS_REGION lookup of its own for a
    # deploy). The operator commands read AWS_REGION and never samconfig.toml: run() warns when they differ.
    session = _deploy_chain(args, config).session(args.profile or config.profile)
    if not session.region_name:
        raise NoRegionError()
    return Reader(session)


def _deploy_chain(args: argparse.Namespace, config: DeployConfig) -> RegionChain:
    """The region settings `sam deploy` reads before boto3's chain (see `_reader`)."""
    return RegionChain((("--region", args.region), ("samconfig.toml's region", config.region)))


def _deploy_target(args: argparse.Namespace, config: DeployConfig, reader: Reader) -> Target:
    """`_reader`'s region and profile, with where `sam deploy` found each."""
    profile_from = "--profile" if args.profile else "samconfig.toml's profile" if config.profile else ""
    return Target(
        reader.region,
        _deploy_chain(args, config).source(reader.session),
        reader.session.profile_name,
        profile_from or profile_variable() or DEFAULT_PROFILE,
    )


def _operator_target() -> Target:
    """Where the operator commands look: deployment.aws_session(None)'s region and profile (RegionChain.operator:
    AWS_REGION, else botocore's chain; never samconfig.toml)."""
    profile_from = profile_variable() or DEFAULT_PROFILE
    chain = RegionChain.operator()
    try:
        session = chain.session()
    except ProfileNotFound as error:
        return Target(None, str(error), os.environ.get(profile_from, ""), profile_from)
    return Target(session.region_name, chain.source(session), session.profile_name, profile_from)


def _region_hint() -> str:
    ignored = environment_region()
    also = f"; sam deploy ignores AWS_REGION ({ignored})" if ignored else ""
    return f"set the region as sam deploy reads it (--region, samconfig.toml's region or AWS_DEFAULT_REGION{also})"


def _template(path: str) -> Path:
    template = Path(path)
    try:
        with template.open("rb"):
            pass
    except OSError as error:
        raise ConfigError(f"template {path}: {error.strerror or error}") from None
    return template


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _keep_traceback() -> str:
    """The current exception's traceback in a file of its own; its path (the table stays one line per thing)."""
    with tempfile.NamedTemporaryFile("w", prefix="sleepwake-preflight-", suffix=".log", delete=False) as kept:
        kept.write(traceback.format_exc())
    return kept.name


def cmd_preflight(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        template = _template(args.template)
        reader = _reader(args, config)
        checks = run(
            reader,
            config,
            template=template,
            principal=args.principal_arn,
            max_archive_bytes=int(args.max_archive_mb * 1024 * 1024),
            targets=None if args.deployment_file else (_deploy_target(args, config, reader), _operator_target()),
        )
    except (ConfigError, DeploymentError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    except Unfinished as error:
        print(f"preflight: could not finish: {error}", file=sys.stderr)
        return 2
    except (NoRegionError, NoCredentialsError) as error:
        print(
            f"preflight: {str(error).rstrip('.')}; {_region_hint()} and credentials (AWS_PROFILE)",
            file=sys.stderr,
        )
        return 2
    except BotoCoreError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug in a rule, or an AWS error no rule turned into a check
        # Exit 2, not Python's 1 for an uncaught exception: 1 means warnings only, which `make preflight` passes.
        print(f"preflight: could not finish: {_one_line(error)} (traceback in {_keep_traceback()})", file=sys.stderr)
        return 2
    region, url = reader.region, reader.endpoint_url
    print(json.dumps(as_json(config, region, checks, url)) if args.json else as_table(config, region, checks, url))
    return exit_status(checks)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "preflight",
        help="read-only checks before `sam deploy`: endpoint, scaling, fallback, archive, quota, permissions",
        description=textwrap.fill(
            "Check, without changing anything, what `sam deploy` would meet with the parameters it would use "
            "(samconfig.toml's parameter_overrides, then --parameter-overrides, over template.yaml's defaults): "
            "the endpoint and component, their instance scaling, the scaling policies and alarms already on the "
            "component, the fallback's name, image, memory and serverless exclusions, the model archive, the "
            "account's serverless concurrency quota, the deployer's permissions and the region. One line per "
            "check with its fix; --json prints one document.",
            100,
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--parameter-overrides", nargs="+", metavar="KEY=VALUE", help="as `sam deploy` takes them")
    p.add_argument("--config-file", help="samconfig.toml to read (default: the repository's)")
    p.add_argument(
        "--config-env", default=DEFAULT_ENV, help=f"its environment, which it must have (default: {DEFAULT_ENV})"
    )
    p.add_argument("--template", default=str(TEMPLATE), help="the SAM template (default: the repository's)")
    p.add_argument("--stack-name", help="stack name (default: samconfig.toml's, else sleepwake)")
    p.add_argument(
        "--region",
        help="AWS region (default: as sam deploy reads it: samconfig.toml's, else AWS_DEFAULT_REGION or the "
        "profile's; not AWS_REGION, which sam deploy ignores)",
    )
    p.add_argument("--profile", help="AWS profile (default: samconfig.toml's, else AWS_PROFILE)")
    p.add_argument(
        "--deployment-file",
        help="check against the local stack this file describes (build/local/deployment.json from `make local`)",
    )
    p.add_argument("--principal-arn", help="simulate this IAM user or role instead of the caller (e.g. the CI role)")
    p.add_argument(
        "--max-archive-mb", type=float, default=512, help="list the archive's contents up to this size (default 512)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_preflight)
