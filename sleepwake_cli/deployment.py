"""Where a deployed sleepwake lives: stack parameters and physical resource ids, from CloudFormation or a file.

The Lambda environment (and so the control plane's settings) is derived from template.yaml's Globals with
those values, so the CLI is configured exactly as the functions are and nothing is configured twice. The
local stack writes the same shape to build/local/deployment.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCAL_DEPLOYMENT = ROOT / "build" / "local" / "deployment.json"


class DeploymentError(Exception):
    """The deployment could not be found or is incomplete."""


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


@dataclass
class Deployment:
    parameters: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    types: dict[str, str] = field(default_factory=dict)  # logical id -> resource type

    @classmethod
    def from_stack(cls, stack_name: str) -> Deployment:
        cfn = boto3.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        except Exception as error:
            raise DeploymentError(f"stack {stack_name!r} not found: {error}") from error
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
            return cls(data["parameters"], data["resources"], data.get("types", {}))
        except (ValueError, KeyError, TypeError) as error:
            raise DeploymentError(
                f"{path} is not a deployment written by the local stack ({type(error).__name__}: {error}); "
                "restart `make local` to write it again"
            ) from None

    def to_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"parameters": self.parameters, "resources": self.resources, "types": self.types}, indent=2)
        )

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
