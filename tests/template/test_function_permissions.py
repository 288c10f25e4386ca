"""Every AWS call a function's code can make is allowed by that function's role in template.yaml.

The calls are read from the code, not listed by hand: the control-plane functions each handler calls
(sleepwake/control/), what those run through the adapters (the `Adapters` fields), and the boto3 operations
each adapter calls on its client. On AWS a missing action is an AccessDenied that the code may swallow (a read
that only refines a decision), so only a check like this one sees it before a deploy.
"""

from __future__ import annotations

import ast
import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest

from sleepwake_cli.deployment import load_template
from tests.conftest import ROOT

LAYER = ROOT / "layers" / "sleepwake" / "sleepwake"
CONTROL = LAYER / "control"
# boto3 service name -> IAM service prefix (Service Authorization Reference); the names differ for three.
IAM_PREFIX = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "application-autoscaling": "application-autoscaling",
    "dynamodb": "dynamodb",
    "stepfunctions": "states",
    "cloudwatch": "cloudwatch",
    "sns": "sns",
    "scheduler": "scheduler",
    "lambda": "lambda",
}
# API operation -> IAM action where the two names differ (Service Authorization Reference).
IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _class(module: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == name)


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def _attribute_chain(node: ast.AST) -> list[str]:
    """self.aws.table.put -> ["self", "aws", "table", "put"]."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def _calls(function: ast.AST) -> list[list[str]]:
    return [_attribute_chain(n.func) for n in ast.walk(function) if isinstance(n, ast.Call)]


def _closure(methods: dict[str, ast.FunctionDef], start: str) -> set[str]:
    """`start` and every method of the same class it calls through self."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        todo += [c[1] for c in _calls(methods[name]) if len(c) == 2 and c[0] == "self"]
    return seen


@cache
def _adapters() -> dict[str, tuple[str, str]]:
    """Adapters field -> (adapter class, boto3 service), read from Adapters.from_clients (the one place the
    adapters are built: `client("<service>")`, and the DynamoDB resource's `.Table(...)`)."""
    factory = _methods(_class(_tree(CONTROL / "ports.py"), "Adapters"))["from_clients"]
    fields: dict[str, tuple[str, str]] = {}
    for call in ast.walk(factory):
        if not isinstance(call, ast.Call):
            continue
        for keyword in call.keywords:
            value = keyword.value
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
                continue
            names = [
                n.args[0].value
                for n in ast.walk(value)
                if isinstance(n, ast.Call)
                and _attribute_chain(n.func)[-1] in ("client", "resource")
                and n.args
                and isinstance(n.args[0], ast.Constant)
            ] or [
                "dynamodb"
                for n in ast.walk(value)
                if isinstance(n, ast.Call) and _attribute_chain(n.func)[-2:] == ["dynamodb", "Table"]
            ]
            assert len(names) == 1, f"cannot tell which AWS service {keyword.arg} talks to"
            fields[str(keyword.arg)] = (value.func.id, names[0])
    return fields


def _client_operations(method: ast.FunctionDef) -> set[str]:
    """boto3 methods a method calls on its clients: self._<client>.<operation>(...), and the operation a
    paginator pages through (self._<client>.get_paginator("<operation>"))."""
    found = set()
    for node in ast.walk(method):
        if not isinstance(node, ast.Call):
            continue
        chain = _attribute_chain(node.func)
        if len(chain) == 3 and chain[0] == "self" and chain[1].startswith("_"):
            if chain[2] != "get_paginator":
                found.add(chain[2])
            elif node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
    return found


@cache
def _adapter_operations(cls_name: str) -> dict[str, set[str]]:
    """Adapter method -> boto3 method names it calls on its client (self._<client>.<operation>(...))."""
    for path in (LAYER / "adapters").glob("*.py"):
        module = _tree(path)
        if any(isinstance(n, ast.ClassDef) and n.name == cls_name for n in module.body):
            methods = _methods(_class(module, cls_name))
            return {
                name: {operation for m in _closure(methods, name) for operation in _client_operations(methods[m])}
                for name in methods
            }
    raise AssertionError(f"no adapter class {cls_name}")


@cache
def _api_names(service: str) -> dict[str, str]:
    client: Any = boto3.session.Session().client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return dict(client.meta.method_to_api_mapping)


@cache
def _control_functions() -> dict[str, ast.FunctionDef]:
    """Every use-case function of sleepwake/control/ and ControlPlane's methods, by name (names are unique)."""
    found: dict[str, ast.FunctionDef] = {}
    for path in sorted(CONTROL.glob("*.py")):
        module = _tree(path)
        defs = [n for n in module.body if isinstance(n, ast.FunctionDef)]
        if path.name == "plane.py":
            defs += _methods(_class(module, "ControlPlane")).values()
        for node in defs:
            assert node.name not in found, f"two control functions named {node.name}: the reader needs one"
            found[node.name] = node
    return found


def _aws_call(chain: list[str]) -> tuple[str, str] | None:
    """plane.aws.table.put / aws.table.put -> ("table", "put")."""
    if "aws" in chain[:-2] and chain.index("aws") == len(chain) - 3:
        return chain[-2], chain[-1]
    return None


def _actions_of_control_functions(names: set[str]) -> set[str]:
    functions = _control_functions()
    adapters = _adapters()
    seen: set[str] = set()
    todo = [n for n in names if n in functions]
    actions: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for call in _calls(functions[name]):
            if not call:
                continue
            aws_call = _aws_call(call)
            if aws_call is None:
                todo += [call[-1]] if call[-1] in functions else []
                continue
            cls_name, service = adapters[aws_call[0]]
            for operation in _adapter_operations(cls_name)[aws_call[1]]:
                action = f"{IAM_PREFIX[service]}:{_api_names(service)[operation]}"
                actions.add(IAM_ACTION.get(action, action))
    return actions


def _actions_of_adapters_used_directly(handler: ast.Module) -> set[str]:
    """A handler that uses an adapter class itself (not through the control plane): the adapter methods it
    calls, each boto3 operation resolved to the one service, among those the handler makes clients for, that
    has it."""
    services = {
        str(n.args[0].value)
        for n in ast.walk(handler)
        if isinstance(n, ast.Call)
        and _attribute_chain(n.func)[-1:] in (["client"], ["resource"])
        and n.args
        and isinstance(n.args[0], ast.Constant)
    }
    imported = {
        alias.name
        for n in ast.walk(handler)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sleepwake.adapters")
        for alias in n.names
    }
    called = {c[-1] for c in _calls(handler) if c}
    actions: set[str] = set()
    for cls_name in imported:
        try:
            operations = _adapter_operations(cls_name)
        except AssertionError:  # a module (e.g. adapters.aws), not an adapter class
            continue
        for method in called & set(operations):
            for operation in operations[method]:
                owners = [s for s in services if operation in _api_names(s)]
                assert len(owners) == 1, f"{cls_name}.{method}: which client calls {operation}? {owners}"
                action = f"{IAM_PREFIX[owners[0]]}:{_api_names(owners[0])[operation]}"
                actions.add(IAM_ACTION.get(action, action))
    return actions


def actions_called_by(code_uri: str) -> set[str]:
    """IAM actions the function at `code_uri` can call: every control-plane function its handler names
    (through an import alias too), and every adapter method it calls itself."""
    handler = _tree(ROOT / code_uri / "app.py")
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(handler)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname
    }
    called = {aliases.get(c[-1], c[-1]) for c in _calls(handler) if c}
    return _actions_of_control_functions(called) | _actions_of_adapters_used_directly(handler)


def _allowed(statements: list[dict[str, Any]], action: str) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatch(action, a) for a in actions):
            return True
    return False


TEMPLATE = load_template(ROOT / "template.yaml")
FUNCTIONS = {
    logical: resource["Properties"]
    for logical, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The function's statements; a statement under Fn::If (present only with a fallback) counts as present,
    since the function's code may make that call whenever the condition holds."""
    out = []
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []):
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            out.append(statement)
    return out


def statements_by_sid(logical: str) -> dict[str, dict[str, Any]]:
    """The statements of function `logical` (its logical id in the template) by their Sid."""
    return {statement["Sid"]: statement for statement in _statements(FUNCTIONS[logical])}


def test_the_derivation_sees_the_calls_it_must():
    """Guards the reader above: a handler that wakes reads the copies, the state and the scaling bounds."""
    assert actions_called_by("functions/wake_api/") >= {
        "sagemaker:DescribeInferenceComponent",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "states:StartExecution",
        "application-autoscaling:DescribeScalableTargets",
    }
    assert "sagemaker:InvokeEndpoint" in actions_called_by("functions/warmup/")
    assert "cloudwatch:GetMetricStatistics" in actions_called_by("functions/decide_sleep/")
    assert actions_called_by("functions/adopt_scaling/") >= {
        "application-autoscaling:DescribeScalingPolicies",  # through a paginator
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_every_aws_call_a_function_makes_is_allowed_by_its_role(logical):
    props = FUNCTIONS[logical]
    statements = _statements(props)
    needed = actions_called_by(props["CodeUri"])
    assert needed, f"{logical} makes no AWS call? the reader missed its handler"
    assert sorted(a for a in needed if not _allowed(statements, a)) == []


@pytest.mark.parametrize("logical", ["WarmupFunction", "DeployWarmupFunction"])
def test_warm_ups_may_invoke_the_component_by_endpoint_and_by_inference_component(logical):
    """InvokeEndpoint with InferenceComponentName lists both resource types in the Service Authorization
    Reference, so a warm-up allowed only the endpoint may be refused."""
    resources: list[Any] = []
    for statement in _statements(FUNCTIONS[logical]):
        if statement["Effect"] == "Allow" and "sagemaker:InvokeEndpoint" in statement["Action"]:
            found = statement["Resource"]
            resources += found if isinstance(found, list) else [found]
    subs = [r["Fn::Sub"] for r in resources if isinstance(r, dict) and isinstance(r.get("Fn::Sub"), str)]
    assert any(s.endswith(":endpoint/${EndpointName}") for s in subs), subs
    assert any(s.endswith(":inference-component/${InferenceComponentName}") for s in subs), subs


# Grants no boto3 call of the function's own asks for, each needed by a call it does make (the reason is the
# template's comment beside the statement).
IMPLIED = {
    # Application Auto Scaling's PutScalingPolicy/DeleteScalingPolicy create and delete a target-tracking
    # policy's alarms, and RegisterScalableTarget reads what it scales, with the caller's permissions.
    "AdoptScalingFunction": {"cloudwatch:DeleteAlarms", "sagemaker:DescribeInferenceComponent"},
    "PlanDayFunction": {"iam:PassRole"},  # CreateSchedule hands the planned wake's role to EventBridge Scheduler
}


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_no_function_is_granted_a_call_its_code_does_not_make(logical):
    """The other half of least privilege: a grant left behind when the code stopped making the call (GET /status
    once read CloudWatch with GetMetricStatistics too) is refused here."""
    props = FUNCTIONS[logical]
    granted: set[str] = set()
    for statement in _statements(props):
        if statement["Effect"] == "Allow":
            granted.update(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    assert sorted(granted - actions_called_by(props["CodeUri"]) - IMPLIED.get(logical, set())) == []
