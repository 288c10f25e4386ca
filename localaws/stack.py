"""Deploy the REAL template.yaml into the emulator, as CloudFormation would after the SAM transform.

`Stack(emu, parameters={...}).deploy()` runs the SAM transform (aws-sam-translator, in-process), resolves
parameters (defaults + overrides, AllowedValues/AllowedPattern checked), Conditions and intrinsics (Ref,
GetAtt, Sub, If, Join, Select, Split, Equals/And/Or/Not, AWS::NoValue, pseudo parameters), then creates
every resource in dependency order through boto3 against the emulator: IAM roles, DynamoDB, SNS, SQS, log
groups, the layer and functions (registered with the Lambda runner: CodeUri + Handler + Environment + the
layer's ContentUri on sys.path), state machines with DefinitionSubstitutions applied, Scheduler schedule
groups and schedules, alarms, EventBridge rules, Application Auto Scaling, and in create mode Model/
EndpointConfig/Endpoint/InferenceComponent (waiting for InService as CloudFormation does). Custom resources
run their Lambda with a CloudFormation Create event and a loopback ResponseURL; their Data become GetAtt
values. The API Gateway REST API is not served over HTTP: `call_api(method, path, body)` sends an API
Gateway proxy event to the function the template routes that path to.

Differs from AWS: no updates or deletes (deploy once per emulator); physical names are
`<stack>-<LogicalId>` (shortened to fit) instead of random suffixes; IAM policies are created and
enforced (`localaws.iam`); Lambda permissions become the function's resource policy (AddPermission), which
`call_api` checks before it invokes the function for API Gateway; queue policies, API deployments and
stages are recorded, not created;
DeadLetterConfig and RetryPolicy of rules and schedules are ignored.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import re
import threading
import uuid
import zipfile
from collections.abc import Callable
from functools import cache, lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localaws.emulator import Emulator

LOG = logging.getLogger(__name__)
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
    template = _chdir_paths(yaml_parse(path.read_text()), path.resolve().parent)
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


def _check_bounds(name: str, value: str, spec: dict[str, Any]) -> None:
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
    session: Any = boto3.session.Session()
    return session.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:1").meta.service_model


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


# --------------------------------------------------------------------------- custom resource responses
class _ResponseReceiver:
    """Loopback stand-in for the pre-signed S3 URL a custom resource PUTs its response to."""

    def __init__(self) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver.arrived:
                    receiver.responses[self.path.rsplit("/", 1)[-1]] = body
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="localaws-cfn-responses", daemon=True).start()

    def url(self, request_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/responses/{request_id}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------ stack
class Stack:
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
        self.layer_dirs: dict[str, Path] = {}  # layer version ARN -> directory
        self.api_routes: dict[tuple[str, str], str] = {}  # (METHOD, /path) -> function name
        self.api_credentials: dict[tuple[str, str], str] = {}  # (METHOD, /path) -> integration `credentials`
        self.api_id = ""
        self.outputs: dict[str, Any] = {}
        self.custom_resource_responses: dict[str, dict[str, Any]] = {}
        self._api_client: Any = None
        self._api_client_lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.emu.client(service)

    def call(self, service: str, operation: str, method: str, **params: Any) -> Any:
        return getattr(self.client(service), method)(**coerce(service, operation, params))

    def name(self, logical: str, limit: int = 64) -> str:
        full = f"{self.stack_name}-{logical}"
        if len(full) <= limit:
            return full
        digest = hashlib.sha1(full.encode()).hexdigest()[:8]
        return f"{full[: limit - 9]}-{digest}"

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

    # -- deploy ---------------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        from samtranslator.yaml_helper import yaml_parse

        template = yaml_parse(self.template_path.read_text())
        cwd_paths = _chdir_paths(template, self.root)
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
            _check_bounds(name, value, spec)
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
        self.resolver = Resolver(self._parameters(), pseudo, self.cfn.get("Conditions", {}))
        self._configure_runner()
        receiver = _ResponseReceiver()
        try:
            for logical in self._order():
                resource = self.cfn["Resources"][logical]
                cond = resource.get("Condition")
                if cond and not self.resolver.condition(cond):
                    self.skipped[logical] = f"condition {cond} is false"
                    continue
                props = self.resolver.resolve(resource.get("Properties", {}))
                creator = self._creator(resource["Type"])
                if creator is None:
                    self.skipped[logical] = f"{resource['Type']} is not emulated"
                    self.resolver.refs[logical] = self.name(logical)
                    continue
                LOG.info("creating %s (%s)", logical, resource["Type"])
                if resource["Type"].startswith("Custom::"):
                    with self.emu.clock.running():  # its Lambda may sleep in emulated time
                        ref, attrs = creator(logical, props, receiver)
                else:
                    ref, attrs = creator(logical, props)
                self.resolver.refs[logical] = ref
                self.resolver.attrs[logical] = attrs
                self.created.append(logical)
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
        return self

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

    def _configure_runner(self) -> None:
        """Per-function Lambda container state for the shared layer (see `localaws.lambdas` on isolation)."""
        runner = self.emu.lambdas
        try:
            from sleepwake import runtime, settings
        except ImportError:
            return
        if hasattr(runtime, "_instance"):
            runner.isolate("sleepwake.runtime", "_instance", lambda: None)
        try:
            from sleepwake.adapters import aws
        except ImportError:
            aws = None  # type: ignore[assignment]
        if aws is not None and hasattr(aws.client, "__wrapped__"):
            # boto3 clients hold the credentials they were made with: each function its own (its role).
            client_factory = aws.client.__wrapped__
            runner.isolate("sleepwake.adapters.aws", "client", lambda: cache(client_factory))
        # boto3's default session resolves credentials once and keeps them: each function (its own process
        # on AWS) needs its own, or every function would call AWS as whichever ran first.
        runner.isolate("boto3", "DEFAULT_SESSION", lambda: None)
        if hasattr(settings.load, "cache_clear"):
            original = getattr(settings.load, "__wrapped__", None)
            if original is not None:
                runner.isolate("sleepwake.settings", "load", lambda: lru_cache(maxsize=1)(original))

    def _creator(self, kind: str) -> Callable[..., tuple[Any, dict[str, Any]]] | None:
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            return self._custom_resource
        return {
            "AWS::IAM::Role": self._iam_role,
            "AWS::DynamoDB::Table": self._dynamodb_table,
            "AWS::SNS::Topic": self._sns_topic,
            "AWS::SNS::Subscription": self._sns_subscription,
            "AWS::SQS::Queue": self._sqs_queue,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Scheduler::Schedule": self._schedule,
            "AWS::Scheduler::ScheduleGroup": self._schedule_group,
            "AWS::Events::Rule": self._rule,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::ApplicationAutoScaling::ScalableTarget": self._scalable_target,
            "AWS::ApplicationAutoScaling::ScalingPolicy": self._scaling_policy,
            "AWS::SageMaker::Model": self._sm_model,
            "AWS::SageMaker::EndpointConfig": self._sm_endpoint_config,
            "AWS::SageMaker::Endpoint": self._sm_endpoint,
            "AWS::SageMaker::InferenceComponent": self._sm_inference_component,
            "AWS::ApiGateway::RestApi": self._rest_api,
            "AWS::Lambda::Permission": self._lambda_permission,
        }.get(kind)

    # -- resource types -------------------------------------------------------------------------------
    def _iam_role(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("RoleName") or self.name(logical)
        iam = self.client("iam")
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(p.get("AssumeRolePolicyDocument", {})),
            Path=p.get("Path", "/"),
        )["Role"]
        for policy in p.get("Policies", []):
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}  # moto insists; CFN defaults it
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
        for arn in p.get("ManagedPolicyArns", []):
            LOG.debug("role %s: managed policy %s recorded, not attached", name, arn)
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def _dynamodb_table(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("TableName") or self.name(logical, 255)
        kwargs: dict[str, Any] = {
            k: p[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput") if k in p
        }
        kwargs.update({k: p[k] for k in ("GlobalSecondaryIndexes", "StreamSpecification") if k in p})
        if "SSESpecification" in p:  # CloudFormation's SSEEnabled is the API's Enabled
            sse = dict(p["SSESpecification"])
            sse["Enabled"] = sse.pop("SSEEnabled", sse.get("Enabled", False))
            kwargs["SSESpecification"] = sse
        table = self.call("dynamodb", "CreateTable", "create_table", TableName=name, **kwargs)["TableDescription"]
        return name, {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}

    def _sns_topic(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("TopicName") or self.name(logical, 256)
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        return arn, {"TopicName": name, "TopicArn": arn}

    def _sns_subscription(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        arn = self.client("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"])
        return arn.get("SubscriptionArn", "pending confirmation"), {}

    def _sqs_queue(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("QueueName") or self.name(logical, 80)
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def _log_group(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("LogGroupName") or f"/aws/localaws/{self.name(logical, 400)}"
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name)
        arn = f"arn:aws:logs:{self.emu.region}:{self.emu.account}:log-group:{name}:*"
        return name, {"Arn": arn}

    def _local_dir(self, content: dict[str, Any]) -> Path:
        key = content.get("S3Key", "")
        if content.get("S3Bucket") != LOCAL_BUCKET or key not in self.local_paths:
            raise StackError(f"code location {content} is not a local path from the template")
        return (self.root / self.local_paths[key]).resolve()

    def _layer(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        directory = self._local_dir(p["Content"])
        name = p.get("LayerName") or self.name(logical)
        out = self.client("lambda").publish_layer_version(
            LayerName=name,
            Description=p.get("Description", ""),
            Content={"ZipFile": _placeholder_zip()},
            CompatibleRuntimes=p.get("CompatibleRuntimes", []),
        )
        arn = out["LayerVersionArn"]
        self.layer_dirs[arn] = directory
        return arn, {"LayerVersionArn": arn}

    def _function(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        code_dir = self._local_dir(p["Code"])
        name = p.get("FunctionName") or self.name(logical)
        env = {k: str(v) for k, v in (p.get("Environment", {}).get("Variables") or {}).items()}
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": p.get("Runtime", "python3.11"),
            "Role": p["Role"],
            "Handler": p["Handler"],
            "Code": {"ZipFile": _placeholder_zip()},
            "Environment": {"Variables": env},
            "Timeout": p.get("Timeout", 3),
            "MemorySize": p.get("MemorySize", 128),
            "Layers": p.get("Layers", []),
        }
        if "Description" in p:
            kwargs["Description"] = p["Description"]
        fn = self.call("lambda", "CreateFunction", "create_function", **kwargs)
        layers = tuple(self.layer_dirs[arn] for arn in p.get("Layers", []) if arn in self.layer_dirs)
        self.emu.lambdas.register(name, code_dir, layer_dirs=layers)
        return name, {"Arn": fn["FunctionArn"]}

    def _state_machine(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        definition = p.get("DefinitionString")
        if definition is None:
            definition = json.dumps(p["Definition"])
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        leftover = re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition)
        if leftover:
            raise StackError(f"{logical}: DefinitionSubstitutions missing for {sorted(set(leftover))}")
        name = p.get("StateMachineName") or self.name(logical, 80)
        out = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=p["RoleArn"], type=p.get("StateMachineType", "STANDARD")
        )
        arn = out["stateMachineArn"]
        return arn, {"Arn": arn, "Name": name}

    def _schedule(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("Name") or self.name(logical)
        target = {
            k: v for k, v in p["Target"].items() if k in ("Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig")
        }
        kwargs: dict[str, Any] = {
            "Name": name,
            "ScheduleExpression": p["ScheduleExpression"],
            "FlexibleTimeWindow": p.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            "Target": target,
            "State": p.get("State", "ENABLED"),
        }
        for key in ("ScheduleExpressionTimezone", "Description", "GroupName"):
            if key in p:
                kwargs[key] = p[key]
        out = self.call("scheduler", "CreateSchedule", "create_schedule", **kwargs)
        return name, {"Arn": out["ScheduleArn"]}

    def _schedule_group(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        # Ref is the group's name and GetAtt Arn its ARN (CloudFormation, AWS::Scheduler::ScheduleGroup); the
        # name is generated per stack when the template gives none.
        name = p.get("Name") or self.name(logical)
        out = self.call("scheduler", "CreateScheduleGroup", "create_schedule_group", Name=name)
        return name, {"Arn": out["ScheduleGroupArn"]}

    def _rule(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("Name") or self.name(logical)
        events = self.client("events")
        kwargs: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED")}
        if "EventPattern" in p:
            kwargs["EventPattern"] = json.dumps(p["EventPattern"])
        if "ScheduleExpression" in p:
            kwargs["ScheduleExpression"] = p["ScheduleExpression"]
        if "EventBusName" in p:
            kwargs["EventBusName"] = p["EventBusName"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        targets = [
            {k: v for k, v in t.items() if k in ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer")}
            for t in p.get("Targets", [])
        ]
        if targets:
            events.put_targets(
                Rule=name, Targets=targets, **({"EventBusName": p["EventBusName"]} if "EventBusName" in p else {})
            )
        return name, {"Arn": arn}

    def _alarm(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("AlarmName") or self.name(logical, 255)
        kwargs = {k: v for k, v in p.items() if k != "AlarmName"}
        self.call("cloudwatch", "PutMetricAlarm", "put_metric_alarm", AlarmName=name, **kwargs)
        arn = f"arn:aws:cloudwatch:{self.emu.region}:{self.emu.account}:alarm:{name}"
        return name, {"Arn": arn}

    def _scalable_target(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {
            k: p[k]
            for k in ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")
            if k in p
        }
        if "RoleARN" in p:
            kwargs["RoleARN"] = p["RoleARN"]
        self.call("application-autoscaling", "RegisterScalableTarget", "register_scalable_target", **kwargs)
        ref = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"  # CloudFormation's Ref format
        return ref, {}

    def _scaling_policy(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"PolicyName": p["PolicyName"], "PolicyType": p["PolicyType"]}
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        kwargs.update(ResourceId=resource_id, ScalableDimension=dimension, ServiceNamespace=namespace)
        for key in ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration"):
            if key in p:
                kwargs[key] = p[key]
        arn = self.call("application-autoscaling", "PutScalingPolicy", "put_scaling_policy", **kwargs)["PolicyARN"]
        return arn, {"Arn": arn}

    def _sm_model(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("ModelName") or self.name(logical, 63)
        kwargs = {
            k: v
            for k, v in p.items()
            if k in ("ExecutionRoleArn", "PrimaryContainer", "Containers", "VpcConfig", "EnableNetworkIsolation")
        }
        arn = self.call("sagemaker", "CreateModel", "create_model", ModelName=name, **kwargs)["ModelArn"]
        return arn, {"ModelName": name}

    def _sm_endpoint_config(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("EndpointConfigName") or self.name(logical, 63)
        kwargs = {
            k: v
            for k, v in p.items()
            if k in ("ExecutionRoleArn", "ProductionVariants", "DataCaptureConfig", "KmsKeyId")
        }
        arn = self.call(
            "sagemaker", "CreateEndpointConfig", "create_endpoint_config", EndpointConfigName=name, **kwargs
        )["EndpointConfigArn"]
        return arn, {"EndpointConfigName": name}

    def _sm_endpoint(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("EndpointName") or self.name(logical, 63)
        arn = self.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=p["EndpointConfigName"])[
            "EndpointArn"
        ]
        return arn, {"EndpointName": name}

    def _sm_inference_component(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = p.get("InferenceComponentName") or self.name(logical, 63)
        kwargs = {k: v for k, v in p.items() if k in ("EndpointName", "VariantName", "Specification", "RuntimeConfig")}
        arn = self.call(
            "sagemaker", "CreateInferenceComponent", "create_inference_component", InferenceComponentName=name, **kwargs
        )["InferenceComponentArn"]
        sm = self.client("sagemaker")

        def settled() -> bool:  # CloudFormation waits for the component to stabilise
            d = sm.describe_inference_component(InferenceComponentName=name)
            if d["InferenceComponentStatus"] == "Failed":
                raise StackError(f"{logical}: {d.get('FailureReason')}")
            return (
                d["InferenceComponentStatus"] == "InService"
                and d["RuntimeConfig"]["CurrentCopyCount"] == d["RuntimeConfig"]["DesiredCopyCount"]
            )

        with self.emu.clock.running():
            if not self.emu.wait_for(settled, timeout=3600, poll=5, wall_timeout=600):
                raise StackError(f"{logical}: did not reach InService")
        return arn, {"InferenceComponentArn": arn, "InferenceComponentName": name}

    def _rest_api(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api_id = self.client("apigateway").create_rest_api(name=self.name(logical))["id"]
        for path, methods in (p.get("Body", {}).get("paths") or {}).items():
            for method, spec in methods.items():
                uri = spec.get("x-amazon-apigateway-integration", {}).get("uri", "")
                m = re.search(r"functions/arn:aws:lambda:[^:]+:\d+:function:([^/]+)/invocations", str(uri))
                if m:
                    verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                    self.api_routes[(verb, path)] = m.group(1)
                    credentials = spec.get("x-amazon-apigateway-integration", {}).get("credentials")
                    if credentials:
                        self.api_credentials[(verb, path)] = str(credentials)
        self.api_id = api_id
        return api_id, {"RootResourceId": api_id}

    def _lambda_permission(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kwargs = {"FunctionName": p["FunctionName"], "StatementId": logical, "Action": p["Action"]}
        kwargs["Principal"] = p["Principal"]
        for key in ("SourceArn", "SourceAccount"):
            if key in p:
                kwargs[key] = p[key]
        self.call("lambda", "AddPermission", "add_permission", **kwargs)
        return logical, {}

    def _custom_resource(
        self, logical: str, p: dict[str, Any], receiver: _ResponseReceiver
    ) -> tuple[Any, dict[str, Any]]:
        request_id = str(uuid.uuid4())
        event = {
            "RequestType": "Create",
            "ServiceToken": p["ServiceToken"],
            "ResponseURL": receiver.url(request_id),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical,
            "ResourceType": self.cfn["Resources"][logical]["Type"],
            "ResourceProperties": {k: _cfn_string(v) for k, v in p.items()},
        }
        resp = self.client("lambda").invoke(FunctionName=p["ServiceToken"], Payload=json.dumps(event).encode())
        payload = resp["Payload"].read()
        if resp.get("FunctionError"):
            raise StackError(f"{logical}: custom resource Lambda failed: {payload[:500]!r}")
        with receiver.arrived:
            receiver.arrived.wait_for(lambda: request_id in receiver.responses, timeout=60)
        answer = receiver.responses.get(request_id)
        if answer is None:
            raise StackError(f"{logical}: no response was PUT to the ResponseURL")
        self.custom_resource_responses[logical] = answer
        if answer.get("Status") != "SUCCESS":
            raise StackError(f"{logical}: {answer.get('Reason')}")
        return answer.get("PhysicalResourceId", logical), dict(answer.get("Data") or {})

    # -- the API ----------------------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        """(function, resource template, path parameters), preferring exact paths and exact methods.

        API Gateway REST APIs ignore a trailing slash when matching (see localaws/apigateway.py for sources):
        `/status/` reaches the `/status` resource; `/` matches only a method on the root resource."""
        candidates = []
        matched = path.rstrip("/") or "/"
        for (verb, resource), function in self.api_routes.items():
            if verb not in (method, "ANY"):
                continue
            m = _template_regex(resource).fullmatch(matched)
            if m:
                greedy = "+}" in resource
                candidates.append((greedy, resource.count("{"), verb == "ANY", function, resource, m.groupdict()))
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[:3])
        _, _, _, function, resource, params = candidates[0]
        return function, resource, params

    def _api_lambda(self) -> Any:
        """One Lambda client for every API request: creating a boto3 client per request from many threads is
        slow and not thread-safe (the default session). It signs as the emulator's administrator: whether API
        Gateway may invoke the function is decided before (`_may_invoke`: the function's resource policy).
        Like API Gateway, it does not retry an Invoke, and it waits as long as a function may run (a burst
        queues behind one container here, see lambdas.py)."""
        with self._api_client_lock:
            if self._api_client is None:
                factory: Any = boto3.session.Session().client
                self._api_client = factory(
                    "lambda",
                    region_name=self.emu.region,
                    endpoint_url=self.emu.endpoint_url,
                    config=Config(max_pool_connections=256, read_timeout=900, retries={"total_max_attempts": 1}),
                    **self.emu.client_keys().boto(),
                )
            return self._api_client

    def method_arn(self, method: str, path: str, stage: str = "v1") -> str:
        """execute-api ARN of one call: arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>."""
        where = f"{self.emu.region}:{self.emu.account}:{self.api_id}"
        return f"arn:aws:execute-api:{where}/{stage}/{method.upper()}/{path.lstrip('/')}"

    def _may_invoke(self, function: str, verb: str, resource: str, method: str, path: str, caller: Any) -> bool:
        """Whether API Gateway may call the function for this route. Integration `credentials` of
        `arn:aws:iam::*:user/*` (SAM's InvokeRole CALLER_CREDENTIALS) mean the caller's own identity needs
        lambda:InvokeFunction; a role ARN means that role does; none means the function's resource policy
        (AWS::Lambda::Permission) must let apigateway.amazonaws.com invoke it from this method ARN
        (API Gateway developer guide, "Control access to a REST API with IAM permissions" and Lambda
        integration permissions)."""
        from localaws import iam

        if not iam.Settings.enforce:
            return True
        function_arn = f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:{function}"
        credentials = self.api_credentials.get((verb, resource))
        if credentials is None:
            return iam.lambda_resource_policy_allows(
                function_arn, "apigateway.amazonaws.com", self.method_arn(method, path)
            )
        identity = caller if credentials == "arn:aws:iam::*:user/*" else _RoleIdentity(credentials)
        if identity is None:
            return False
        ctx = iam.RequestContext("lambda:InvokeFunction", [function_arn], {})
        try:
            iam.authorize(identity, ctx)
        except iam.AccessDenied:
            return False
        return True

    def call_api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, caller: Any = None
    ) -> dict[str, Any]:
        """Send an API Gateway (REST, proxy) event for `method path` to the routed Lambda; returns its response
        with `body` parsed when it is JSON. `caller` is the authenticated identity (see
        `localaws.iam_wire.authenticate_api_call`); authentication itself happens before this."""
        route = self._route(method.upper(), path)
        if route is None:  # API Gateway's answer for a method or resource that does not exist
            return {
                "statusCode": 403,
                "headers": {"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
                "body": {"message": "Missing Authentication Token"},
            }
        function, resource, path_params = route
        verb = method.upper() if (method.upper(), resource) in self.api_routes else "ANY"
        if not self._may_invoke(function, verb, resource, method, path, caller):
            # API Gateway's answer when it may not invoke the Lambda integration; its execution log says
            # "Execution failed due to configuration error: Invalid permissions on Lambda function".
            LOG.warning("wake api: API Gateway may not invoke %s for %s %s", function, method, path)
            return {"statusCode": 500, "body": {"message": "Internal server error"}}
        raw = body if isinstance(body, str) or body is None else json.dumps(body)
        now = self.emu.now()
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method.upper(),
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method.upper(),
                "path": f"/v1{path}",
                "stage": "v1",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "accountId": self.emu.account,
                "identity": {
                    "sourceIp": "127.0.0.1",
                    "userArn": str(getattr(caller, "arn", f"arn:aws:iam::{self.emu.account}:user/local")),
                },
            },
            "body": raw,
            "isBase64Encoded": False,
        }
        resp = self._api_lambda().invoke(FunctionName=function, Payload=json.dumps(event).encode())
        out = json.loads(resp["Payload"].read())
        if resp.get("FunctionError"):
            return {"statusCode": 502, "body": {"message": "Internal server error"}, "error": out}
        with contextlib.suppress(TypeError, ValueError):
            out["body"] = json.loads(out.get("body") or "null")
        return out


class _RoleIdentity:
    """A role API Gateway assumes for an integration (`credentials: <role arn>`), as `localaws.iam` evaluates it."""

    def __init__(self, role_arn: str) -> None:
        self.role_arn = role_arn
        self.arn = role_arn

    def collect_policies(self) -> list[Any]:
        """Inline documents and attached managed policies, as moto's access keys return them."""
        from moto.iam.models import iam_backends

        account = self.role_arn.split(":")[4]
        backend = iam_backends[account]["aws"]
        role = backend.get_role_by_arn(self.role_arn)
        docs: list[Any] = [backend.get_role_policy(role.name, n)[1] for n in backend.list_role_policies(role.name)]
        return docs + list(backend.list_attached_role_policies(role.name)[0])


def _template_regex(resource: str) -> re.Pattern[str]:
    """API Gateway path template -> regex: {name} is one segment, {name+} the rest of the path."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", resource):
        if part.startswith("{") and part.endswith("+}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(out)


def _cfn_string(value: Any) -> Any:
    """CloudFormation sends custom resource properties as strings (numbers and booleans included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_cfn_string(v) for v in value]
    if isinstance(value, dict):
        return {k: _cfn_string(v) for k, v in value.items()}
    return value


def _placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README", "localaws runs this code from the template's local path\n")
    return buf.getvalue()


def _chdir_paths(template: dict[str, Any], root: Path) -> dict[str, Any]:
    """Make DefinitionUri paths absolute so the transform can read them from any working directory."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            props["DefinitionUri"] = str((root / uri).resolve())
    return template
