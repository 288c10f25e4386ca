"""Where a deployed sleepwake lives: stack parameters and physical resource ids, from CloudFormation or a file,
and how to reach it: AWS clients (the one place credentials are looked up) and the stack's clock.

The Lambda environment (and so the control plane's settings) is derived from template.yaml's Globals with
those values, so the CLI is configured exactly as the functions are and nothing is configured twice. The
local stack writes the same shape to build/local/deployment.json, plus where it listens and where its
emulated clock answers: the CLI stamps wakes, leases, ETAs and execution names with the stack's time.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import yaml
from botocore.exceptions import ClientError

from sleepwake.adapters.aws import RETRY_CONFIG
from sleepwake_cli.awscli import shown

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCAL_DEPLOYMENT = ROOT / "build" / "local" / "deployment.json"


class DeploymentError(Exception):
    """The deployment could not be found or is incomplete."""


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PROBE_SECONDS = 1.0  # a loopback port answers a connect at once, or refuses it at once


def unreachable_local(url: str | None) -> str | None:
    """Why the local stack at `url` cannot be reached, asked in one connect (botocore would retry a refused
    connection with back-off for half a minute before saying so); None when it answers or `url` is not on
    this machine (AWS's endpoints are left to botocore)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=PROBE_SECONDS):
            return None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return (
            f"the local stack at {url} cannot be reached ({reason.lower()}); is `make local` running? Start it in "
            "another terminal with `make local` (it prints the lines to paste), then try again"
        )


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"Ref": ...} style mappings."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    key = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {key: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    return {key: loader.construct_mapping(node, deep=True)}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_TemplateLoader)


class StackClock:
    """The time of the stack the CLI talks to: the wall clock for AWS; for the local stack, its emulated clock,
    read from the emulator's clock route at every call (it can pause and change speed, so no local guess
    stays right)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    def now(self) -> datetime:
        if self.url is None:
            return datetime.now(UTC)
        return datetime.fromisoformat(self._read()["now"])

    def speed(self) -> float:
        """Stack seconds per wall second (1 for AWS)."""
        return 1.0 if self.url is None else float(self._read()["speed"])

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of the stack's time."""
        if self.url is None:
            time.sleep(max(seconds, 0))
            return
        deadline = self.now() + timedelta(seconds=seconds)
        while (left := (deadline - self.now()).total_seconds()) > 0:
            time.sleep(min(left / self.speed(), 0.5))

    def _read(self) -> dict[str, Any]:
        assert self.url
        try:
            with urllib.request.urlopen(self.url, timeout=10) as answer:
                return dict(json.loads(answer.read()))
        except (OSError, ValueError) as error:
            raise DeploymentError(
                f"the local stack's clock at {self.url} did not answer ({error}); is `make local` still running?"
            ) from None


@dataclass
class Deployment:
    parameters: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    types: dict[str, str] = field(default_factory=dict)  # logical id -> resource type
    # The local stack only: {"endpoint_url", "region", "clock_url"}. None means AWS itself.
    local: dict[str, str] | None = None
    # The local stack's operator identity (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): it enforces IAM.
    credentials: dict[str, str] = field(default_factory=dict)
    # The local stack's product identity: {"environment": AWS_* variables for an AWS SDK (its keys, region and
    # the emulator's URL), "outputs": EndpointName, InferenceComponentName, FallbackEndpointName, WakeApiUrl,
    # "policy": what it may do}. docs/fallback.md, "Against `make local`".
    product: dict[str, Any] = field(default_factory=dict)
    # The local stack's deployer (the administrator that deployed it): `sleepwake preflight` reads as it.
    deployer: dict[str, str] = field(default_factory=dict)
    _session: boto3.Session | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_stack(cls, stack_name: str) -> Deployment:
        cfn = aws_session(None).client("cloudformation", config=RETRY_CONFIG)
        try:
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError as error:
            raise DeploymentError(
                stack_unreadable(stack_name, cfn.meta.region_name, error, cfn.meta.endpoint_url)
            ) from None
        resources, types = {}, {}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for item in page["StackResourceSummaries"]:
                resources[item["LogicalResourceId"]] = item.get("PhysicalResourceId", "")
                types[item["LogicalResourceId"]] = item["ResourceType"]
        parameters = {
            p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", "")) for p in stack.get("Parameters", [])
        }
        return cls(parameters, resources, types)

    @classmethod
    def from_file(cls, path: Path) -> Deployment:
        if not path.exists():
            raise DeploymentError(f"{path} does not exist; start the local stack with `make local` first")
        try:
            data = json.loads(path.read_text())
            local = {key: str(data["local"][key]) for key in ("endpoint_url", "region", "clock_url")}
            credentials = {str(k): str(v) for k, v in dict(data.get("credentials") or {}).items()}
            product = dict(data.get("product") or {})
            deployer = {str(k): str(v) for k, v in dict(data.get("deployer") or {}).items()}
            return cls(
                data["parameters"], data["resources"], data.get("types", {}), local, credentials, product, deployer
            )
        except (ValueError, KeyError, TypeError) as error:
            raise DeploymentError(
                f"{path} is not a deployment written by the local stack ({type(error).__name__}: {error}); "
                "restart `make local` to write it again"
            ) from None

    def to_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "parameters": self.parameters,
            "resources": self.resources,
            "types": self.types,
            "local": self.local,
            "credentials": self.credentials,
            "product": self.product,
            "deployer": self.deployer,
        }
        path.write_text(json.dumps(data, indent=2))

    # -- reaching it ---------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str | None:
        """The emulator's URL for the local stack; None for AWS (boto3 then finds the endpoints itself)."""
        return self.local["endpoint_url"] if self.local else None

    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = aws_session(self.local, self.credentials)
        return self._session

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url, config=RETRY_CONFIG)  # type: ignore[call-overload]

    def resource(self, service: str) -> Any:
        return self.session().resource(service, endpoint_url=self.endpoint_url, config=RETRY_CONFIG)  # type: ignore[call-overload]

    def clock(self) -> StackClock:
        return StackClock(self.local["clock_url"] if self.local else None)

    def physical(self, logical_id: str) -> str:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise DeploymentError(f"the deployment has no resource {logical_id}") from None

    def environment(self, template: dict[str, Any] | None = None) -> dict[str, str]:
        """The control plane's environment: the template's Globals plus the state machine ARNs."""
        template = template or load_template()
        defaults = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
        params = defaults | self.parameters
        env: dict[str, str] = {}
        for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
            if isinstance(value, dict) and "Ref" in value:
                ref = value["Ref"]
                env[name] = params[ref] if ref in params else self.physical(ref)
            elif name == "FALLBACK_ENDPOINT_NAME":  # an Fn::If in the template: adopted, created or none
                env[name] = self.fallback_endpoint(params)
            else:
                env[name] = str(value)
        env["WAKE_STATE_MACHINE_ARN"] = self.physical("WakeStateMachine")
        env["SLEEP_STATE_MACHINE_ARN"] = self.physical("SleepStateMachine")
        return env

    def fallback_endpoint(self, params: dict[str, str]) -> str:
        """The fallback endpoint's name: the adopted one, the one the stack created, or "" (none)."""
        if params.get("FallbackEndpointName"):
            return params["FallbackEndpointName"]
        created = self.resources.get("FallbackEndpoint", "")
        return created.rsplit("endpoint/", 1)[-1] if created else ""  # its physical id is the endpoint's ARN

    def schedules(self, template: dict[str, Any] | None = None) -> dict[str, str]:
        """Schedule event name (as in the template, e.g. NightlySleep) -> schedule name in Scheduler."""
        template = template or load_template()
        found = {}
        for logical, resource in template["Resources"].items():
            for event, spec in resource.get("Properties", {}).get("Events", {}).items():
                if spec["Type"] == "ScheduleV2":
                    found[event] = self.physical(f"{logical}{event}")
        return found


def stack_unreadable(stack_name: str, region: str, error: ClientError, endpoint_url: str | None = None) -> str:
    """Why describe-stacks gave no stack. "Not found" only for CloudFormation's answer to a missing stack: a
    ValidationError whose message is "Stack with id NAME does not exist" (the CloudFormation API reference,
    DescribeStacks; botocore's cloudformation service model has no error shape for it, so the message is the
    only sign); access denied, throttling or an expired token are said as AWS said them. Asked of a local stack
    (`endpoint_url` on this machine: AWS_ENDPOINT_URL), a denial is its operator identity's, which may not read
    CloudFormation (sleepwake_cli/operator_policy.py: AWS only): the local stack is read from its deployment file."""
    said = error.response.get("Error", {})
    if "AccessDenied" in str(said.get("Code", "")) and urlsplit(endpoint_url or "").hostname in LOOPBACK:
        return (
            f"--stack-name {stack_name} reads the stack from CloudFormation, which the local stack at {endpoint_url} "
            "does not let its operator read; the local stack is read from its deployment file: leave --stack-name "
            f"out (with AWS_ENDPOINT_URL set, {shown(LOCAL_DEPLOYMENT)} is read) or pass --deployment-file"
        )
    if said.get("Code") == "ValidationError" and "does not exist" in str(said.get("Message", "")):
        return (
            f"stack {stack_name!r} not found in {region} ({said.get('Message')}); pass --stack-name if it is called "
            "otherwise, or set the region it is in"
        )
    return f"cannot read stack {stack_name!r}: {error}"


def environment_region() -> str | None:
    """The region AWS_REGION names, as the AWS CLI v2 and the AWS SDKs read it; None leaves botocore's own chain
    (AWS_DEFAULT_REGION, then the profile's `region`). The AWS CLI v2 user guide, "Environment variables to
    configure the AWS CLI": AWS_REGION "overrides the values in the environment variable AWS_DEFAULT_REGION and
    the profile setting region"; the SDKs and Tools Reference Guide, "AWS Region": AWS_REGION is the setting's
    variable. botocore (1.43, configprovider.py's `region`) reads only AWS_DEFAULT_REGION, so an operator whose
    `aws` works from AWS_REGION alone was told to set the region they had set. The operator commands' sessions
    (aws_session) pass this; preflight does not, as `sam deploy` does not (preflight._reader), and warns instead."""
    return os.environ.get("AWS_REGION") or None


@dataclass(frozen=True)
class RegionChain:
    """The one way the CLI resolves a region and says where it came from: the settings a tool reads before
    botocore's own chain, first first, as (name, value), e.g. ("AWS_REGION", "eu-west-1"); the first with a value
    is the session's region_name; without one, botocore's chain (1.43, configprovider.py `region`):
    AWS_DEFAULT_REGION, then the profile's `region`. The operator commands' chain is `operator()`; `sam deploy`'s
    (--region, samconfig.toml's region) is preflight._deploy_chain."""

    given: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def operator(cls) -> RegionChain:
        """The operator commands' chain: AWS_REGION first (environment_region), never samconfig.toml."""
        return cls((("AWS_REGION", environment_region()),))

    def region(self) -> str | None:
        """The first given setting's value, None to leave the region to botocore."""
        return next((value for _, value in self.given if value), None)

    def session(self, profile: str | None = None) -> boto3.Session:
        """A session in this chain's region (botocore's when none is given); `profile` None: botocore's profile
        (profile_variable). Raises ProfileNotFound for a profile the AWS config lacks."""
        return boto3.Session(profile_name=profile, region_name=self.region())

    def source(self, session: boto3.Session) -> str:
        """Where `session` (made by `session()`) found its region: the given setting's name, AWS_DEFAULT_REGION, or
        "profile NAME's region"."""
        named = next((name for name, value in self.given if value), None)
        if named:
            return named
        if os.environ.get("AWS_DEFAULT_REGION"):
            return "AWS_DEFAULT_REGION"
        return f"profile {session.profile_name}'s region"


def profile_variable() -> str | None:
    """The variable botocore takes the profile from when none is passed (1.43, configprovider.py `profile`:
    AWS_DEFAULT_PROFILE, then AWS_PROFILE); None: neither is set, the profile named default."""
    return next((name for name in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if os.environ.get(name)), None)


def aws_session(local: dict[str, str] | None, credentials: dict[str, str] | None = None) -> boto3.Session:
    """The one place the CLI looks up credentials. AWS: the standard chain (environment, AWS_PROFILE, ~/.aws,
    instance roles), in the region environment_region() names, else botocore's. The local stack enforces IAM like
    AWS (localaws/iam.py): keys exported in the environment win; otherwise the stack's operator identity from the
    deployment file signs (not the standard chain, whose instance-metadata lookups cost seconds on a machine off
    AWS)."""
    if local is None:
        return RegionChain.operator().session()
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return boto3.Session(region_name=local["region"])
    keys = credentials or {}
    return boto3.Session(
        region_name=local["region"],
        aws_access_key_id=keys.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=keys.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )
