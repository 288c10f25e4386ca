"""Deploy the REAL template.yaml into the emulator, as CloudFormation would after the SAM transform.

`Stack(emu, parameters={...}).deploy()` runs the SAM transform (aws-sam-translator, in-process; see
`localaws.cfn_template`), resolves parameters (defaults + overrides, AllowedValues/AllowedPattern checked),
Conditions and intrinsics, then creates every resource in dependency order through boto3 against the emulator
(`localaws.cfn_resources`): IAM roles, DynamoDB, SNS, SQS, log groups, the layer and functions (registered with
the Lambda runner), state machines, Scheduler schedule groups and schedules, alarms, EventBridge rules, Application
Auto Scaling, in create mode Model/EndpointConfig/Endpoint/InferenceComponent (waiting for InService as
CloudFormation does), and custom resources. The wake API is served by `localaws.stack_api`.

A resource that cannot be created fails the stack as CloudFormation does (User Guide, "Stack failure options"
and "Troubleshooting CloudFormation": a stack creation failure rolls back by default): the resource is
CREATE_FAILED with its reason, the stack goes ROLLBACK_IN_PROGRESS and every resource it created is deleted in
reverse order, custom resources with a Delete request; the stack ends ROLLBACK_COMPLETE (ROLLBACK_FAILED when a
delete fails) and `deploy()` raises StackError with the resource's reason. A resource whose primary identifier
already exists outside the stack is refused before it is touched (`localaws.cfn_existing`). `delete()` deletes a
deployed stack the same way (DELETE_COMPLETE).

Differs from AWS: no updates (deploy once per Stack); resources are created one at a time (CloudFormation
creates independent resources in parallel, so which ones exist when one fails may differ, never the outcome);
IAM policies are created and enforced (`localaws.iam`).
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from localaws import cfn_existing
from localaws.cfn_resources import ResourceCreators, ResponseReceiver
from localaws.cfn_template import (
    REPO_ROOT,
    Resolver,
    StackError,
    chdir_paths,
    check_bounds,
    references,
    sam_transform,
)
from localaws.emulator import Emulator
from localaws.stack_api import ApiRoutes

LOG = logging.getLogger(__name__)


class Stack(ResourceCreators, ApiRoutes):
    """One deployed stack in the emulator. Names and settings come only from the template."""

    def __init__(
        self,
        emu: Emulator,
        template: str | Path = REPO_ROOT / "template.yaml",
        parameters: dict[str, str] | None = None,
        stack_name: str = "sleepwake",
        root: Path | None = None,
    ) -> None:
        self.emu = emu
        self.template_path = Path(template)
        self.root = root or self.template_path.resolve().parent
        self.overrides = {k: str(v) for k, v in (parameters or {}).items()}
        self.stack_name = stack_name
        self.stack_id = f"arn:aws:cloudformation:{emu.region}:{emu.account}:stack/{stack_name}/{uuid.uuid4()}"
        self.cfn: dict[str, Any] = {}
        self.local_paths: dict[str, str] = {}
        self.resolver: Resolver | None = None
        self.created: list[str] = []
        self.skipped: dict[str, str] = {}  # logical id -> why it was not created
        self.properties: dict[str, dict[str, Any]] = {}  # logical id -> resolved properties it was created with
        self.status = "REVIEW_IN_PROGRESS"  # CloudFormation's StackStatus
        self.status_reason = ""
        self.events: list[dict[str, Any]] = []  # DescribeStackEvents, oldest first
        self.layer_dirs: dict[str, Path] = {}  # layer version ARN -> directory
        self.api_routes: dict[tuple[str, str], str] = {}  # (METHOD, /path) -> function name
        self.api_credentials: dict[tuple[str, str], str] = {}  # (METHOD, /path) -> integration `credentials`
        self.api_id = ""
        self.outputs: dict[str, Any] = {}
        self.custom_resource_responses: dict[str, dict[str, Any]] = {}
        self._api_client: Any = None
        self._api_client_lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, str]:
        assert self.resolver
        return self.resolver.params

    def ref(self, logical: str) -> Any:
        assert self.resolver
        return self.resolver.ref(logical)

    def getatt(self, logical: str, attr: str) -> Any:
        assert self.resolver
        return self.resolver.getatt(logical, attr)

    def _event(self, logical: str, kind: str, status: str, reason: str = "", physical: str = "") -> None:
        """One stack event (the fields of DescribeStackEvents' StackEvent); the stack's own events name the stack."""
        if logical == self.stack_name:
            self.status, self.status_reason = status, reason
        self.events.append(
            {
                "StackId": self.stack_id,
                "StackName": self.stack_name,
                "EventId": str(uuid.uuid4()),
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical,
                "ResourceType": kind,
                "ResourceStatus": status,
                "ResourceStatusReason": reason,
                "Timestamp": self.emu.now(),
            }
        )

    def failures(self) -> list[dict[str, Any]]:
        """The events that say why the stack failed (what `sam deploy` prints), oldest first."""
        return [e for e in self.events if e["ResourceStatus"].endswith("_FAILED")]

    # -- deploy ---------------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        from samtranslator.yaml_helper import yaml_parse

        template = yaml_parse(self.template_path.read_text())
        cwd_paths = chdir_paths(template, self.root)
        self.cfn, self.local_paths = sam_transform(cwd_paths, self.emu.region, self.emu.account, self.stack_name)
        return self.cfn

    def _parameters(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, spec in self.cfn.get("Parameters", {}).items():
            if name in self.overrides:
                value = self.overrides[name]
            elif "Default" in spec:
                value = str(spec["Default"])
            else:
                raise StackError(f"parameter {name} has no default and no value was given")
            allowed = spec.get("AllowedValues")
            if allowed and value not in [str(a) for a in allowed]:
                raise StackError(f"parameter {name}={value!r} not in {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern and value and not re.fullmatch(pattern, value):
                raise StackError(f"parameter {name}={value!r} does not match {pattern}")
            check_bounds(name, value, spec)
            values[name] = value
        unknown = set(self.overrides) - set(values)
        if unknown:
            raise StackError(f"unknown parameters: {sorted(unknown)}")
        return values

    def deploy(self) -> Stack:
        """Create every resource. Emulated time stands still while this process works (the transform and
        hundreds of API calls cost wall seconds that the speed factor would turn into an hour, and schedules
        created "late" would miss their first firing); it runs only where CloudFormation itself waits: for
        the inference component to stabilise, and for custom resources."""
        with self.emu.clock.paused():
            return self._deploy()

    def _deploy(self) -> Stack:
        if not self.cfn:
            self.load()
        pseudo = {
            "AWS::Region": self.emu.region,
            "AWS::AccountId": self.emu.account,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
        }
        # Bad parameters are CreateStack's ValidationError: no stack, nothing created.
        self.resolver = Resolver(self._parameters(), pseudo, self.cfn.get("Conditions", {}))
        self._event(self.stack_name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated")
        receiver = ResponseReceiver()
        try:
            for logical in self._order():
                failure = self._create(logical, receiver)
                if failure is not None:
                    self._roll_back(logical, failure, receiver)
                    raise StackError(f"{logical}: {failure}")
        finally:
            receiver.close()
        for name, spec in self.cfn.get("Outputs", {}).items():
            cond = spec.get("Condition")
            if cond and not self.resolver.condition(cond):
                continue
            try:
                self.outputs[name] = self.resolver.resolve(spec["Value"])
            except StackError as error:
                self.outputs[name] = f"<unresolved: {error}>"
        self._event(self.stack_name, "AWS::CloudFormation::Stack", "CREATE_COMPLETE")
        return self

    def _create(self, logical: str, receiver: ResponseReceiver) -> str | None:
        """Create one resource; None when it was created (or skipped), else CloudFormation's reason it failed."""
        assert self.resolver
        resource = self.cfn["Resources"][logical]
        kind = resource["Type"]
        cond = resource.get("Condition")
        if cond and not self.resolver.condition(cond):
            self.skipped[logical] = f"condition {cond} is false"
            return None
        creator = self._creator(kind)
        if creator is None:
            self.skipped[logical] = f"{kind} is not emulated"
            self.resolver.refs[logical] = self.name(logical)
            return None
        LOG.info("creating %s (%s)", logical, kind)
        self._event(logical, kind, "CREATE_IN_PROGRESS")
        try:
            props = self.resolver.resolve(resource.get("Properties", {}))
            exists = cfn_existing.already_exists(self.emu, kind, props)
            if exists:
                self._event(logical, kind, "CREATE_FAILED", exists)
                return exists
            if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
                with self.emu.clock.running():  # its Lambda may sleep in emulated time
                    ref, attrs = creator(logical, props, receiver)
            else:
                ref, attrs = creator(logical, props)
        except Exception as error:  # any failure fails the resource, as CloudFormation reports it
            reason = str(error).removeprefix(f"{logical}: ")
            LOG.info("%s failed: %s", logical, reason)
            self._event(logical, kind, "CREATE_FAILED", reason)
            return reason
        self.resolver.refs[logical] = ref
        self.resolver.attrs[logical] = attrs
        self.properties[logical] = props
        self.created.append(logical)
        self._event(logical, kind, "CREATE_COMPLETE", physical=str(ref))
        return None

    def _roll_back(self, failed: str, reason: str, receiver: ResponseReceiver) -> None:
        reason_text = f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
        self._event(self.stack_name, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", reason_text)
        if self._delete_created(receiver):
            self._event(self.stack_name, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE")
        else:
            self._event(self.stack_name, "AWS::CloudFormation::Stack", "ROLLBACK_FAILED", self._delete_failures())

    def delete(self) -> Stack:
        """DeleteStack: every created resource in reverse order, custom resources with a Delete request."""
        self._event(self.stack_name, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated")
        receiver = ResponseReceiver()
        try:
            with self.emu.clock.paused():
                deleted = self._delete_created(receiver)
        finally:
            receiver.close()
        if deleted:
            self._event(self.stack_name, "AWS::CloudFormation::Stack", "DELETE_COMPLETE")
            return self
        self._event(self.stack_name, "AWS::CloudFormation::Stack", "DELETE_FAILED", self._delete_failures())
        raise StackError(self.status_reason)

    def _delete_created(self, receiver: ResponseReceiver) -> bool:
        """Delete what this stack created, dependents first; False when a delete failed (that one is kept)."""
        assert self.resolver
        ok = True
        for logical in reversed(list(self.created)):
            kind = self.cfn["Resources"][logical]["Type"]
            ref = self.resolver.refs[logical]
            self._event(logical, kind, "DELETE_IN_PROGRESS", physical=str(ref))
            try:
                if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
                    with self.emu.clock.running():
                        self._delete_custom_resource(logical, self.properties[logical], str(ref), receiver)
                else:
                    self._deleter(kind)(logical, ref, self.properties[logical])
            except Exception as error:  # CloudFormation reports it and keeps the resource
                LOG.warning("deleting %s failed: %s", logical, error)
                self._event(logical, kind, "DELETE_FAILED", str(error), physical=str(ref))
                ok = False
                continue
            self.created.remove(logical)
            self._event(logical, kind, "DELETE_COMPLETE", physical=str(ref))
        return ok

    def _delete_failures(self) -> str:
        names = [e["LogicalResourceId"] for e in self.events if e["ResourceStatus"] == "DELETE_FAILED"]
        return f"The following resource(s) failed to delete: [{', '.join(dict.fromkeys(names))}]. "

    def _order(self) -> list[str]:
        resources = self.cfn["Resources"]
        deps: dict[str, set[str]] = {}
        for logical, resource in resources.items():
            found = references(resource.get("Properties", {})) | references(resource.get("Condition", []))
            depends = resource.get("DependsOn", [])
            found |= set([depends] if isinstance(depends, str) else depends)
            deps[logical] = {d for d in found if d in resources}
        order: list[str] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(node: str) -> None:
            if node in done:
                return
            if node in visiting:
                raise StackError(f"circular dependency at {node}")
            visiting.add(node)
            for dep in sorted(deps[node]):
                visit(dep)
            visiting.discard(node)
            done.add(node)
            order.append(node)

        for logical in sorted(resources):
            visit(logical)
        return order
