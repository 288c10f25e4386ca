"""What the deploy would send CloudFormation, read offline: the parameters (template defaults, samconfig.toml's
parameter_overrides, flags), the SAM-translated template with its conditions resolved for them, the actions
CloudFormation calls to create each resource, and whether the region offers each resource type.

The template is translated the one way this repository translates it (`localaws.cfn_template.translate`, the SAM
translator in-process, as `make lint`'s IAM lint and the local stack do), and its conditions and intrinsics are
resolved by the same `Resolver`. Importing it costs a few seconds (it sits beside the emulator).

The actions per resource type are the `handlers.create.permissions` of each type's CloudFormation registry
schema ("A list of permissions required by the handler", CloudFormation CLI resource schema; CloudFormation
calls the handler with the deployer's credentials unless a service role is given); cfn-lint ships the schemas,
and the region's list of registered types (`cfnlint/data/schemas/providers/<region>.json`), offline.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sleepwake_cli.deployment import TEMPLATE, load_template

SAMCONFIG = TEMPLATE.parent / "samconfig.toml"
DEFAULT_ENV = "default"  # the SAM CLI's (samcli/lib/config/samconfig.py DEFAULT_ENV)
# The SAM CLI's own calls on the deployer's credentials (`sam deploy`: the change set, the transform, and the
# artifacts bucket it resolves with resolve_s3) before CloudFormation creates anything.
DEPLOY_ACTIONS = (
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:GetTemplateSummary",
    "s3:PutObject",
)
# Registry type namespace -> IAM action prefix, where they differ.
_PREFIX = {
    "ApplicationAutoScaling": "application-autoscaling",
    "StepFunctions": "states",
    "ApiGateway": "apigateway",
}
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
# Services the stack calls at run time (boto3 names), beside the resource types it creates.
RUNTIME_SERVICES = ("sagemaker", "sagemaker-runtime", "application-autoscaling", "stepfunctions", "scheduler")


class ConfigError(Exception):
    """samconfig.toml or a flag could not be read; the message says which and why."""


def parse_overrides(text: str | list[str]) -> dict[str, str]:
    """SAM's parameter_overrides: `Key=Value Key2="a b"` (a string, or a list of such strings), or the
    CloudFormation form `ParameterKey=K,ParameterValue=V`."""
    items = [text] if isinstance(text, str) else [str(t) for t in text]
    out: dict[str, str] = {}
    for item in items:
        for token in shlex.split(item):
            if token.startswith("ParameterKey="):
                fields = dict(part.split("=", 1) for part in token.split(",") if "=" in part)
                out[fields["ParameterKey"]] = fields.get("ParameterValue", "")
                continue
            key, sep, value = token.partition("=")
            if not sep or not key:
                raise ConfigError(f"parameter override {token!r} is not Key=Value")
            out[key] = value
    return out


@dataclass
class DeployConfig:
    """What `sam deploy` would use: stack name, region, profile and parameter overrides."""

    stack_name: str = "sleepwake"
    region: str | None = None
    profile: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    source: str = "template defaults"


def read_samconfig(path: Path, env: str = DEFAULT_ENV) -> DeployConfig:
    """The deploy's settings in samconfig.toml's `env` (its `global` and `deploy` parameters, as the SAM CLI
    reads them). No file: the template's defaults. An environment other than `default` that the file lacks is
    refused: the SAM CLI ignores it (samcli/cli/cli_config_file.py logs the KeyError at debug level and goes on
    with no settings), so `sam deploy --config-env <typo>` would deploy other parameters than the ones meant."""
    if not path.exists():
        return DeployConfig()
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    if env not in data and env != DEFAULT_ENV:
        known = ", ".join(k for k, v in data.items() if isinstance(v, dict)) or "none"
        raise ConfigError(
            f"{path} has no environment [{env}] (it has: {known}); sam deploy --config-env {env} would use none "
            "of its settings"
        )
    section = data.get(env, {})
    merged = dict(section.get("global", {}).get("parameters", {})) | dict(
        section.get("deploy", {}).get("parameters", {})
    )
    overrides = parse_overrides(merged.get("parameter_overrides", []))
    return DeployConfig(
        stack_name=str(merged.get("stack_name", "sleepwake")),
        region=merged.get("region"),
        profile=merged.get("profile"),
        overrides=overrides,
        source=f"{path.name} [{env}]" if overrides else "template defaults",
    )


def resolve_parameters(
    overrides: dict[str, str], template: dict[str, Any] | None = None
) -> tuple[dict[str, str], list[str]]:
    """(every parameter's value, the override names the template does not declare)."""
    specs = (template or load_template())["Parameters"]
    params = {name: str(spec.get("Default", "")) for name, spec in specs.items()}
    unknown = sorted(set(overrides) - set(specs))
    params.update({k: v for k, v in overrides.items() if k in specs})
    return params, unknown


# ---------------------------------------------------------------------------------------- the translated stack
@dataclass
class Translated:
    resources: dict[str, dict[str, Any]]  # created logical id -> resource (conditions applied)
    resolver: Any  # localaws.cfn_template.Resolver over the parameters

    def types(self) -> set[str]:
        return {r["Type"] for r in self.resources.values()}

    def properties(self, logical: str, *keys: str) -> dict[str, Any]:
        """Those properties of a created resource, resolved; a value that needs another resource's attribute
        (known only once it exists) reads UNRESOLVED."""
        props = self.resources.get(logical, {}).get("Properties", {})
        return {key: self._tolerant(props[key]) for key in keys if key in props}

    def _tolerant(self, value: Any) -> Any:
        try:
            return self.resolver.resolve(value)
        except Exception:  # localaws.cfn_template.StackError: GetAtt/Ref of a resource not created yet
            if isinstance(value, list):
                return [self._tolerant(v) for v in value]
            if isinstance(value, dict) and not any(k == "Ref" or k.startswith("Fn::") for k in value):
                return {k: self._tolerant(v) for k, v in value.items()}
            return UNRESOLVED


UNRESOLVED = "<known once created>"


@cache
def _sam_translated(template: Path, modified: float, region: str, account: str, stack_name: str) -> str:
    """The translation as JSON (a copy per use): the same template, region and stack translate once."""
    from localaws.cfn_template import translate as sam_translate

    return json.dumps(sam_translate(template, region=region, account=account, stack_name=stack_name))


def translated(template: Path, region: str, account: str, stack_name: str) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would send (Parameters, Conditions, Resources). A file that is
    not a SAM template with parameters (not YAML, not a mapping, refused by the SAM translator): ConfigError."""
    import yaml
    from samtranslator.model.exceptions import ExceptionWithMessage

    try:
        text = _sam_translated(template.resolve(), template.stat().st_mtime, region, account, stack_name)
    except OSError as error:
        raise ConfigError(f"template {template}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"template {template} is not YAML: {getattr(error, 'problem', error)}{where}") from None
    except ExceptionWithMessage as error:
        causes = "; ".join(c.message for c in getattr(error, "causes", [])) or error.message
        raise ConfigError(f"template {template}: the SAM transform refuses it: {causes}") from None
    except AttributeError:  # samtranslator's parser on a document that is not a mapping (a list, an empty file)
        raise ConfigError(f"template {template} is not a CloudFormation template (not a mapping)") from None
    cfn = dict(json.loads(text))
    if not isinstance(cfn.get("Parameters"), dict):
        raise ConfigError(f"template {template} declares no Parameters: not sleepwake's template")
    return cfn


def translate(cfn: dict[str, Any], params: dict[str, str], region: str, account: str, stack_name: str) -> Translated:
    """The resources the deploy creates with these parameters (conditions applied), and a resolver for them."""
    from localaws.cfn_template import Resolver

    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Resolver(dict(params), pseudo, cfn.get("Conditions", {}))
    created = {
        logical: resource
        for logical, resource in cfn["Resources"].items()
        if not resource.get("Condition") or resolver.condition(resource["Condition"])
    }
    return Translated(created, resolver)


@cache
def _schemas() -> tuple[dict[str, dict[str, Any]], Path]:
    """typeName -> registry schema, from cfn-lint's bundled copies."""
    base = Path(str(resources.files("cfnlint") / "data" / "schemas"))
    out = {}
    for path in (base / "resources").glob("*.json"):
        schema = json.loads(path.read_text())
        if "typeName" in schema:
            out[schema["typeName"]] = schema
    return out, base


def required_actions(types: set[str]) -> tuple[list[str], set[str]]:
    """(every action CloudFormation and `sam deploy` call to create these types, the optional ones among them).

    Optional: an action of another service than the type's own (e.g. a function's ec2:DescribeSubnets, kms:*,
    elasticfilesystem:*: needed only for VPC, KMS or EFS settings this template does not use), iam:PassRole
    and iam:CreateServiceLinkedRole excepted."""
    schemas, _ = _schemas()
    actions, optional = set(DEPLOY_ACTIONS), set()
    for kind in sorted(types):
        if kind.startswith("Custom::"):
            actions.add("lambda:InvokeFunction")  # CloudFormation invokes the ServiceToken function
            continue
        schema = schemas.get(kind)
        if schema is None:
            continue
        namespace = kind.split("::")[1]
        prefix = _PREFIX.get(namespace, namespace.lower())
        for action in schema.get("handlers", {}).get("create", {}).get("permissions", []):
            if not _ACTION.fullmatch(action):  # e.g. a schema's "s3:REST.PUT.OBJECT": no IAM action by that name
                continue
            actions.add(action)
            if action.split(":")[0] != prefix and action not in ("iam:PassRole", "iam:CreateServiceLinkedRole"):
                optional.add(action)
    # An action some type needs as its own is not optional for another.
    own = {
        a
        for kind in types
        if (s := schemas.get(kind))
        for a in s.get("handlers", {}).get("create", {}).get("permissions", [])
        if a.split(":")[0] == _PREFIX.get(kind.split("::")[1], kind.split("::")[1].lower())
    }
    return sorted(actions), optional - own


def missing_in_region(types: set[str], region: str) -> list[str]:
    """Resource types the region's CloudFormation registry does not list (cfn-lint's provider lists)."""
    _, base = _schemas()
    listing = base / "providers" / f"{region}.json"
    if not listing.exists():
        return [f"CloudFormation in {region} (unknown region)"]
    offered = set(json.loads(listing.read_text()))
    return sorted(t for t in types if t.startswith("AWS::") and t not in offered)


@cache
def _iam_definition() -> dict[str, dict[str, Any]]:
    """IAM prefix -> parliament's copy of the Service Authorization Reference (actions, resource types, ARN
    formats), read as data: importing parliament needs pkg_resources, which this venv does not ship."""
    spec = importlib.util.find_spec("parliament")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "iam_definition.json"
    return {service["prefix"]: service for service in json.loads(path.read_text())}


def scoped_arn(action: str, region: str, account: str, stack_name: str) -> str | None:
    """The ARN of the stack's own resources an action needs, as a policy scoped to the stack would name them:
    the action's required resource type's ARN format (Service Authorization Reference) with the region and
    account, and `<stack>-*` for the name (CloudFormation names what it creates `<stack>-<LogicalId>-<suffix>`).
    None when the action has no required resource type."""
    prefix, _, name = action.partition(":")
    service = _iam_definition().get(prefix)
    if service is None:
        return None
    privilege = next((p for p in service["privileges"] if p["privilege"].lower() == name.lower()), None)
    types = [t["resource_type"] for t in (privilege or {}).get("resource_types", [])]
    required = [t.rstrip("*") for t in types if t.endswith("*")]  # the reference marks required types with *
    formats = {r["resource"]: r["arn"] for r in service["resources"]}
    if not required or required[0] not in formats:
        return None
    filled = formats[required[0]].replace("${Partition}", "aws").replace("${Region}", region)
    filled = filled.replace("${Account}", account).replace("${StackName}", stack_name)
    filled = re.sub(r"\$\{\w*Id\}", "*", filled)  # ids CloudFormation or the service generate
    return re.sub(r"\$\{[^}]+\}", f"{stack_name}-*", filled)
