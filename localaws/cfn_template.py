"""The template side of the CloudFormation emulation: the SAM transform and the intrinsic functions.

`sam_transform` runs aws-sam-translator in-process (local CodeUri/ContentUri/DefinitionUri swapped for
placeholders first); `Resolver` resolves parameters, Conditions and the intrinsics (Ref, GetAtt, Sub, If, Join,
Select, Split, Equals/And/Or/Not, AWS::NoValue, pseudo parameters) as the CloudFormation User Guide's
"Intrinsic function reference" describes them; `coerce` turns CloudFormation's string parameters into the types of
the API call (botocore's service models); `cfn_string` is how CloudFormation sends custom resource properties
(all strings, "Custom resources" in the User Guide).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from localaws import sessions

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_BUCKET = "localaws-code"
NO_VALUE = object()


class StackError(Exception):
    pass


# ------------------------------------------------------------------------------------------ SAM transform
def sam_transform(
    template: dict[str, Any], region: str, account: str, stack_name: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the SAM transform; local CodeUri/ContentUri/DefinitionUri are swapped for placeholders first.

    Returns the CloudFormation template and {S3Key placeholder: local path}.
    """
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    local_paths: dict[str, str] = {}
    for resource in template.get("Resources", {}).values():
        props = resource.setdefault("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                local_paths[uri] = uri
                props[key] = f"s3://{LOCAL_BUCKET}/{uri}"
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            # Inline the definition: the transform keeps DefinitionSubstitutions for us to apply.
            props["Definition"] = json.loads(Path(props.pop("DefinitionUri")).read_text())

    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    params = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws", "AWS::StackName": stack_name}
    cfn = translator.translate(template, parameter_values=params, get_managed_policy_map=lambda: {})
    return cfn, local_paths


def translate(
    template_path: Path = REPO_ROOT / "template.yaml",
    region: str = "us-east-1",
    account: str = "123456789012",
    stack_name: str = "sleepwake",
) -> dict[str, Any]:
    """template.yaml as CloudFormation receives it after the SAM transform (for checks on what AWS deploys)."""
    from samtranslator.yaml_helper import yaml_parse

    path = Path(template_path)
    template = chdir_paths(yaml_parse(path.read_text()), path.resolve().parent)
    return sam_transform(template, region, account, stack_name)[0]


# ------------------------------------------------------------------------------------------ intrinsics
class Resolver:
    """CloudFormation intrinsic functions over parameters, conditions and created resources."""

    def __init__(self, params: dict[str, str], pseudo: dict[str, str], conditions: dict[str, Any]) -> None:
        self.params = params
        self.pseudo = pseudo
        self.condition_defs = conditions
        self.conditions: dict[str, bool] = {}
        self.refs: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.condition_defs[name]))
        return self.conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.refs:
            return self.refs[name]
        raise StackError(f"Ref {name}: unknown or not created yet")

    def getatt(self, logical: str, attr: str) -> Any:
        try:
            return self.attrs[logical][attr]
        except KeyError:
            raise StackError(f"GetAtt {logical}.{attr}: not available") from None

    def sub(self, text: str, local: dict[str, Any]) -> str:
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.getatt(logical, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(logical, attr)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                text, local = arg
                return self.sub(text, {k: self.resolve(v) for k, v in local.items()})
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                return str(sep).join(str(x) for x in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::GetAZs":
                region = self.resolve(arg) or self.pseudo["AWS::Region"]
                return [f"{region}a", f"{region}b"]
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def check_bounds(name: str, value: str, spec: dict[str, Any]) -> None:
    """CloudFormation's parameter constraints besides AllowedValues/AllowedPattern (CloudFormation user guide,
    "Parameters"): MinLength/MaxLength for String, MinValue/MaxValue for Number."""
    if spec.get("Type") == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise StackError(f"parameter {name}={value} is below its MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise StackError(f"parameter {name}={value} is above its MaxValue {spec['MaxValue']}")
    elif "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise StackError(f"parameter {name} is {len(value)} characters, above its MaxLength {spec['MaxLength']}")
    elif "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise StackError(f"parameter {name} is {len(value)} characters, below its MinLength {spec['MinLength']}")


def references(value: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, ${...} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add((arg if isinstance(arg, list) else arg.split(".", 1))[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    found.add(name.split(".", 1)[0])
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


# ------------------------------------------------------------------------------ typing for boto3 calls
@cache
def _service_model(service: str) -> Any:
    return sessions.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:1").meta.service_model


def coerce(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation passes Number parameters as strings; convert to the API's types by its shapes."""
    shape = _service_model(service).operation_model(operation).input_shape
    return _coerce(shape, params)


def _coerce(shape: Any, value: Any) -> Any:
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _coerce(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("float", "double") and isinstance(value, str):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def cfn_string(value: Any) -> Any:
    """CloudFormation sends custom resource properties as strings (numbers and booleans included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [cfn_string(v) for v in value]
    if isinstance(value, dict):
        return {k: cfn_string(v) for k, v in value.items()}
    return value


def chdir_paths(template: dict[str, Any], root: Path) -> dict[str, Any]:
    """Make DefinitionUri paths absolute so the transform can read them from any working directory."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            props["DefinitionUri"] = str((root / uri).resolve())
    return template
