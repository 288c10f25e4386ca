"""The resource side of the CloudFormation emulation: one creator and one deleter per resource type.

Each creator makes its resource through boto3 against the emulator and returns (Ref value, GetAtt values), as the
CloudFormation User Guide's resource type reference defines them; each deleter undoes it (stack deletes and
rollbacks). Custom resources run their Lambda with a CloudFormation Create or Delete request and a loopback
ResponseURL ("Custom resources" in the User Guide: request and response objects); their Data become GetAtt values.

Differs from AWS: physical names are `<stack>-<LogicalId>` (shortened to fit) instead of random suffixes; queue
policies, API deployments and stages are recorded, not created; DeadLetterConfig and RetryPolicy of rules and
schedules are ignored; managed policy ARNs of roles are recorded, not attached.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import uuid
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localaws.cfn_template import LOCAL_BUCKET, StackError, cfn_string, coerce

if TYPE_CHECKING:
    from localaws.emulator import Emulator

LOG = logging.getLogger(__name__)

Creator = Callable[..., tuple[Any, dict[str, Any]]]


class ResponseReceiver:
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


class ResourceCreators:
    """Creators and deleters of the resource types the template uses; mixed into `localaws.cfn_stack.Stack`."""

    emu: Emulator
    stack_name: str
    stack_id: str
    root: Path
    cfn: dict[str, Any]
    local_paths: dict[str, str]
    layer_dirs: dict[str, Path]
    api_routes: dict[tuple[str, str], str]
    api_credentials: dict[tuple[str, str], str]
    api_id: str
    custom_resource_responses: dict[str, dict[str, Any]]

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
            "AWS::CloudWatch::Dashboard": self._dashboard,
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
        if "TimeToLiveSpecification" in p:  # the same two fields as UpdateTimeToLive's (CloudFormation user guide,
            # AWS::DynamoDB::Table TimeToLiveSpecification). moto records it and never deletes an expired item;
            # DynamoDB deletes one "typically within a few days" (Developer Guide, "Working with expired items").
            ttl = {k: p["TimeToLiveSpecification"][k] for k in ("AttributeName", "Enabled")}
            self.call(
                "dynamodb", "UpdateTimeToLive", "update_time_to_live", TableName=name, TimeToLiveSpecification=ttl
            )
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
            Content={"ZipFile": placeholder_zip()},
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
            "Code": {"ZipFile": placeholder_zip()},
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

    def _dashboard(self, logical: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        # CloudFormation resource schema AWS::CloudWatch::Dashboard: DashboardName optional (generated when
        # absent), DashboardBody required, Ref is the name, no GetAtt attributes. PutDashboard (botocore's
        # cloudwatch model) refuses a body that is not JSON ("DashboardBody ... is a string in JSON format"),
        # which moto checks too; the widgets' own validation messages are not emulated (moto returns none).
        name = p.get("DashboardName") or self.name(logical, 255)
        self.call("cloudwatch", "PutDashboard", "put_dashboard", DashboardName=name, DashboardBody=p["DashboardBody"])
        return name, {}

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
        self, logical: str, p: dict[str, Any], receiver: ResponseReceiver
    ) -> tuple[Any, dict[str, Any]]:
        answer = self._custom_request("Create", logical, p, None, receiver)
        return answer.get("PhysicalResourceId", logical), dict(answer.get("Data") or {})

    def _delete_custom_resource(
        self, logical: str, p: dict[str, Any], physical: str, receiver: ResponseReceiver
    ) -> None:
        self._custom_request("Delete", logical, p, physical, receiver)

    def _custom_request(
        self, kind: str, logical: str, p: dict[str, Any], physical: str | None, receiver: ResponseReceiver
    ) -> dict[str, Any]:
        """Send one request to a custom resource's Lambda and wait for the response it PUTs. A FAILED response
        fails the resource with CloudFormation's reason ("Received response status [FAILED] from custom
        resource. Message returned: <Reason>", as CloudFormation prints it in the stack's events)."""
        request_id = str(uuid.uuid4())
        event = {
            "RequestType": kind,
            "ServiceToken": p["ServiceToken"],
            "ResponseURL": receiver.url(request_id),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical,
            "ResourceType": self.cfn["Resources"][logical]["Type"],
            "ResourceProperties": {k: cfn_string(v) for k, v in p.items()},
        }
        if physical is not None:
            event["PhysicalResourceId"] = physical
        resp = self.client("lambda").invoke(FunctionName=p["ServiceToken"], Payload=json.dumps(event).encode())
        payload = resp["Payload"].read()
        if resp.get("FunctionError"):
            raise StackError(f"{logical}: custom resource Lambda failed: {payload[:500]!r}")
        with receiver.arrived:
            receiver.arrived.wait_for(lambda: request_id in receiver.responses, timeout=60)
        answer = receiver.responses.get(request_id)
        if answer is None:
            raise StackError(f"{logical}: no response was PUT to the ResponseURL")
        if kind == "Create":
            self.custom_resource_responses[logical] = answer
        if answer.get("Status") != "SUCCESS":
            raise StackError(
                f"{logical}: Received response status [FAILED] from custom resource. "
                f"Message returned: {answer.get('Reason')} (RequestId: {request_id})"
            )
        return answer

    # -- deleters (the Delete handler of each type: the API call that removes what the creator made) ---------
    def _deleter(self, kind: str) -> Callable[[str, Any, dict[str, Any]], None]:
        deleters: dict[str, Callable[[str, Any, dict[str, Any]], None]] = {
            "AWS::IAM::Role": self._delete_role,
            "AWS::DynamoDB::Table": lambda _, ref, p: self.client("dynamodb").delete_table(TableName=ref),
            "AWS::SNS::Topic": lambda _, ref, p: self.client("sns").delete_topic(TopicArn=ref),
            "AWS::SNS::Subscription": self._delete_subscription,
            "AWS::SQS::Queue": lambda _, ref, p: self.client("sqs").delete_queue(QueueUrl=ref),
            "AWS::Logs::LogGroup": lambda _, ref, p: self.client("logs").delete_log_group(logGroupName=ref),
            "AWS::Lambda::LayerVersion": self._delete_layer,
            "AWS::Lambda::Function": lambda _, ref, p: self.client("lambda").delete_function(FunctionName=ref),
            "AWS::StepFunctions::StateMachine": lambda _, ref, p: self.client("stepfunctions").delete_state_machine(
                stateMachineArn=ref
            ),
            "AWS::Scheduler::Schedule": lambda _, ref, p: self.client("scheduler").delete_schedule(
                Name=ref, **({"GroupName": p["GroupName"]} if "GroupName" in p else {})
            ),
            "AWS::Scheduler::ScheduleGroup": lambda _, ref, p: self.client("scheduler").delete_schedule_group(Name=ref),
            "AWS::Events::Rule": self._delete_rule,
            "AWS::CloudWatch::Alarm": lambda _, ref, p: self.client("cloudwatch").delete_alarms(AlarmNames=[ref]),
            "AWS::CloudWatch::Dashboard": lambda _, ref, p: self.client("cloudwatch").delete_dashboards(
                DashboardNames=[ref]
            ),
            "AWS::ApplicationAutoScaling::ScalableTarget": self._delete_scalable_target,
            "AWS::ApplicationAutoScaling::ScalingPolicy": self._delete_scaling_policy,
            "AWS::SageMaker::Model": lambda _, ref, p: self.client("sagemaker").delete_model(
                ModelName=p.get("ModelName") or self.name(_, 63)
            ),
            "AWS::SageMaker::EndpointConfig": lambda _, ref, p: self.client("sagemaker").delete_endpoint_config(
                EndpointConfigName=p.get("EndpointConfigName") or self.name(_, 63)
            ),
            "AWS::SageMaker::Endpoint": lambda _, ref, p: self.client("sagemaker").delete_endpoint(
                EndpointName=p.get("EndpointName") or self.name(_, 63)
            ),
            "AWS::SageMaker::InferenceComponent": lambda _, ref, p: self.client("sagemaker").delete_inference_component(
                InferenceComponentName=p.get("InferenceComponentName") or self.name(_, 63)
            ),
            "AWS::ApiGateway::RestApi": self._delete_rest_api,
            "AWS::Lambda::Permission": lambda _, ref, p: self.client("lambda").remove_permission(
                FunctionName=p["FunctionName"], StatementId=_
            ),
        }
        return deleters[kind]

    def _delete_role(self, logical: str, name: str, p: dict[str, Any]) -> None:
        iam = self.client("iam")
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)

    def _delete_subscription(self, logical: str, arn: str, p: dict[str, Any]) -> None:
        if arn.startswith("arn:"):  # an e-mail subscription pending confirmation has no ARN to remove
            self.client("sns").unsubscribe(SubscriptionArn=arn)

    def _delete_layer(self, logical: str, arn: str, p: dict[str, Any]) -> None:
        name, version = arn.rsplit(":", 1)
        self.client("lambda").delete_layer_version(LayerName=name, VersionNumber=int(version))
        self.layer_dirs.pop(arn, None)

    def _delete_rule(self, logical: str, name: str, p: dict[str, Any]) -> None:
        events = self.client("events")
        bus = {"EventBusName": p["EventBusName"]} if "EventBusName" in p else {}
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name, **bus)["Targets"]]
        if ids:
            events.remove_targets(Rule=name, Ids=ids, **bus)
        events.delete_rule(Name=name, **bus)

    def _delete_scalable_target(self, logical: str, ref: str, p: dict[str, Any]) -> None:
        self.client("application-autoscaling").deregister_scalable_target(
            ServiceNamespace=p["ServiceNamespace"], ResourceId=p["ResourceId"], ScalableDimension=p["ScalableDimension"]
        )

    def _delete_scaling_policy(self, logical: str, arn: str, p: dict[str, Any]) -> None:
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        aas = self.client("application-autoscaling")
        # The policy refers to its target, so it is deleted before the target is deregistered.
        aas.delete_scaling_policy(
            PolicyName=p["PolicyName"], ServiceNamespace=namespace, ResourceId=resource_id, ScalableDimension=dimension
        )

    def _delete_rest_api(self, logical: str, api_id: str, p: dict[str, Any]) -> None:
        self.client("apigateway").delete_rest_api(restApiId=api_id)
        self.api_routes.clear()
        self.api_credentials.clear()
        self.api_id = ""


def placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README", "localaws runs this code from the template's local path\n")
    return buf.getvalue()
