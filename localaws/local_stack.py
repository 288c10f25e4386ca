"""The whole control plane on one machine: emulator + the real stack + the wake API on :3000.

`LocalStack` is what `make local`, `make demo`, the end-to-end tests and `make bench-wake` share: it starts
the emulator, deploys template.yaml (create mode by default, with the real model handler behind the
emulated endpoint), serves the wake API over HTTP and writes build/local/deployment.json so the operator
CLI finds the stack. The product side (`invoke`, `wake`, `status`) goes over the same wire a real client
uses: boto3 to the emulator for InvokeEndpoint, SigV4-signed HTTP to the wake API.

With IAM enforced (`localaws.iam`) the stack gets an operator: the IAM user `<stack>-operator`
(`sleepwake-operator` for the default stack), allowed execute-api:Invoke on WakeApiInvokeArn and what the
operator CLI does on this stack's resources. Its keys
are `operator_keys`, written to the deployment file (`credentials`) and used by `http()` unless another
identity is passed. It also gets a product: the IAM user `<stack>-product` with exactly what docs/fallback.md
says a product needs (`product_statements`); its keys, region, the emulator's URL and the stack outputs a
product reads are the deployment file's `product` section, and `product_client()` calls as it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack

from botocore.exceptions import ClientError

from localaws import iam
from localaws.apigateway import WakeApiServer
from localaws.cfn_stack import Stack
from localaws.cfn_template import REPO_ROOT
from localaws.clock import EmulatedClock
from localaws.emulator import Emulator, Timings
from localaws.preflight_local import put_served_archive
from localaws.sagemaker import ModelServerFactory
from localaws.sagemaker_serverless import ServerFactory
from localaws.stack_reset import AsDeployed
from sleepwake_cli.operator_policy import StackNames, operator_statements

CREATE_MODE = {
    "DeploymentMode": "create",
    "ModelDataUrl": "s3://sleepwake-local/model.tar.gz",  # the emulator serves sagemaker_model/ from disk
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuron:1.13.1",
}
SAMPLE = REPO_ROOT / "layers" / "sleepwake" / "sleepwake" / "assets" / "warmup.wav"


OPERATOR_USER = "{stack}-operator"  # one per stack: two stacks side by side each keep their operator's policy
PRODUCT_USER = "{stack}-product"
PRODUCT_OUTPUTS = ("EndpointName", "InferenceComponentName", "FallbackEndpointName", "WakeApiUrl")


def sign(
    keys: iam.Keys, method: str, url: str, data: bytes | None, headers: dict[str, str], region: str
) -> dict[str, str]:
    """The headers of a SigV4-signed execute-api request (what `curl --aws-sigv4` and the AWS SDKs send)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=data or b"", headers=dict(headers))
    SigV4Auth(
        Credentials(keys.access_key_id, keys.secret_access_key, keys.session_token), "execute-api", region
    ).add_auth(request)
    return dict(request.headers.items())


@dataclass
class Request:
    """One product request: did it get an answer, how long did it take (wall ms), and the error if not."""

    at: datetime
    ok: bool
    latency_ms: float
    error: str | None = None
    no_capacity: bool = False


class LocalStack:
    def __init__(
        self,
        *,
        start: datetime | None = None,
        speed: float = 20.0,
        port: int = 5000,
        api_port: int = 3000,
        parameters: dict[str, str] | None = None,
        deployment_file: Path | None = REPO_ROOT / "build" / "local" / "deployment.json",
        before_deploy: Callable[[LocalStack], None] | None = None,
        model_server_factory: ModelServerFactory | None = None,
        fallback_server_factory: ServerFactory | None = None,
        emulator: Emulator | None = None,
        **timings: Unpack[Timings],
    ) -> None:
        """The model servers default to the real handler (copies and fallback); tests that do not read the
        model's answers pass a stand-in factory (tests/stacks.py). `timings` are the Emulator's (its defaults
        apply to those not given). With `emulator` the stack is deployed into that running one, which it
        neither starts nor stops."""
        self._owns_emulator = emulator is None
        self.emu = emulator or Emulator(
            EmulatedClock(start=start, speed=speed),
            port=port,
            model_server_factory=model_server_factory,
            fallback_server_factory=fallback_server_factory,
            **timings,
        )
        self.parameters = CREATE_MODE | (parameters or {})
        self.api_port = api_port
        self.deployment_file = deployment_file
        self.stack_name = "sleepwake"
        self.stack: Stack | None = None
        self.api: WakeApiServer | None = None
        self.operator_keys: iam.Keys | None = None
        self.product_keys: iam.Keys | None = None
        self._sample = SAMPLE.read_bytes()
        self._deployed: AsDeployed | None = None
        self.before_deploy = before_deploy  # e.g. `make demo`'s preflight: the emulator runs, nothing is deployed

    @classmethod
    def beside(cls, first: LocalStack, stack_name: str, parameters: dict[str, str]) -> LocalStack:
        """A second stack deployed into `first`'s running emulator (e.g. in adopt mode, for another inference
        component on the same endpoint), with its own wake API; stopping it leaves the emulator running."""
        other = cls(emulator=first.emu, api_port=0, deployment_file=None)
        other.parameters = dict(parameters)  # as given: not merged over create mode
        other.stack_name = stack_name
        return other

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        """Bind both ports first (a busy one raises OSError at once), then deploy, then serve the API."""
        if self._owns_emulator:
            self.emu.start()
        try:
            if self.parameters.get("ModelDataUrl", "").startswith("s3://"):
                # The archive the template names holds what the emulated endpoint serves (localaws.preflight_local).
                put_served_archive(self.emu, self.parameters["ModelDataUrl"])
            if self.before_deploy:
                self.before_deploy(self)
            self.api = WakeApiServer(None, port=self.api_port)
            self.stack = Stack(
                self.emu, REPO_ROOT / "template.yaml", parameters=self.parameters, stack_name=self.stack_name
            ).deploy()
            self.api.stack = self.stack
            self.api.start()
            operator = OPERATOR_USER.format(stack=self.stack_name)
            earlier = self._earlier_keys()
            self.operator_keys = iam.create_user(
                self.emu.account, operator, self.operator_statements(), earlier.get("operator")
            )
            product = PRODUCT_USER.format(stack=self.stack_name)
            self.product_keys = iam.create_user(
                self.emu.account, product, self.product_statements(), earlier.get("product")
            )
            if self.deployment_file:
                self._write_deployment(self.deployment_file)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.api:
            self.api.stop()
            self.api = None
        if self._owns_emulator:
            self.emu.stop()

    def keep_as_deployed(self) -> None:
        """Keep the emulator as it is now, right after `start()`, for `reset()` (localaws.stack_reset)."""
        self._deployed = AsDeployed.take(self.emu)

    def reset(self) -> None:
        """Put the whole emulator back as `keep_as_deployed()` found it, its clock too: what lets tests share
        one deploy (tests/stacks.py)."""
        if self._deployed is None:
            raise RuntimeError("reset() needs keep_as_deployed() first")
        self._deployed.restore()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _earlier_keys(self) -> dict[str, iam.Keys]:
        """The operator's and the product's keys from the deployment file an earlier run wrote: a restart keeps
        them, so exported variables and pasted lines keep working. A missing or unreadable file: none."""
        try:
            data = json.loads(self.deployment_file.read_text()) if self.deployment_file else {}
            found = {"operator": data.get("credentials") or {}, "product": data.get("product", {}).get("environment")}
            return {
                who: iam.Keys(str(env["AWS_ACCESS_KEY_ID"]), str(env["AWS_SECRET_ACCESS_KEY"]))
                for who, env in found.items()
                if env and "AWS_ACCESS_KEY_ID" in env and "AWS_SECRET_ACCESS_KEY" in env
            }
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def _write_deployment(self, path: Path) -> None:
        from sleepwake_cli.deployment import Deployment

        assert self.stack
        resources = {logical: str(self.stack.ref(logical)) for logical in self.stack.created}
        types = {logical: self.stack.cfn["Resources"][logical]["Type"] for logical in self.stack.created}
        local = {"endpoint_url": self.emu.endpoint_url, "region": self.emu.region, "clock_url": self.emu.clock_url}
        credentials = self.operator_keys.env() if self.operator_keys else {}
        product = {
            "environment": self.product_environment(),
            "outputs": self.product_outputs(),
            "policy": {"Version": "2012-10-17", "Statement": self.product_statements()},
        }
        deployer = self.emu.client_keys().env()
        Deployment(dict(self.stack.params), resources, types, local, credentials, product, deployer).to_file(path)

    def product_outputs(self) -> dict[str, str]:
        """The stack outputs a product reads (docs/fallback.md), with this stack's wake API URL."""
        return {name: str(self.outputs.get(name, "")) for name in PRODUCT_OUTPUTS} | {"WakeApiUrl": self.api_url}

    def product_environment(self) -> dict[str, str]:
        """The AWS SDK's environment variables for calling as the product: its keys, region and the emulator."""
        assert self.product_keys is not None, "start() creates the product"
        return {"AWS_ENDPOINT_URL": self.emu.endpoint_url, "AWS_DEFAULT_REGION": self.emu.region} | (
            self.product_keys.env()
        )

    def product_statements(self) -> list[dict[str, Any]]:
        """What docs/fallback.md says a product needs, and nothing else: execute-api:Invoke on the wake API
        (WakeApiInvokeArn) and sagemaker:InvokeEndpoint on the endpoint, the component and the fallback."""
        assert self.stack
        region, account, out = self.emu.region, self.emu.account, self.stack.outputs
        arn = f"arn:aws:sagemaker:{region}:{account}"
        # SageMaker lower-cases names in its ARNs (Service Authorization Reference; localaws.iam).
        models = [
            f"{arn}:endpoint/{out['EndpointName'].lower()}",
            f"{arn}:inference-component/{out['InferenceComponentName'].lower()}",
        ]
        if out.get("FallbackEndpointName"):
            models.append(f"{arn}:endpoint/{out['FallbackEndpointName'].lower()}")
        return [
            {
                "Sid": "SignalWakes",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": out["WakeApiInvokeArn"],
            },
            {"Sid": "InvokeTheModel", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": models},
        ]

    def operator_statements(self) -> list[dict[str, Any]]:
        """What the operator may do: call the wake API, and what the CLI's commands call on this stack (the same
        statements docs/deploy.md gives for AWS, less the CloudFormation reads: here the CLI reads the
        deployment file)."""
        assert self.stack
        out = self.stack.outputs
        functions = [
            f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:{self.stack.ref(logical)}"
            for logical, resource in self.stack.cfn["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function" and logical in self.stack.created
        ]
        names = StackNames(
            region=self.emu.region,
            account=self.emu.account,
            endpoint=out["EndpointName"],
            component=out["InferenceComponentName"],
            wake_machine=out["WakeStateMachineArn"],
            sleep_machine=out["SleepStateMachineArn"],
            table=out["StateTableName"],
            wake_api=out["WakeApiInvokeArn"],
            functions=functions,
        )
        return operator_statements(names)

    # -- what the stack is -------------------------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, Any]:
        assert self.stack
        return self.stack.outputs

    @property
    def clock(self) -> EmulatedClock:
        return self.emu.clock

    def now(self) -> datetime:
        return self.emu.now()

    @property
    def api_url(self) -> str:
        assert self.api
        return self.api.url

    # -- the product's side --------------------------------------------------------------------------------
    def http(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, keys: iam.Keys | bool | None = True
    ) -> tuple[int, Any]:
        """Call the wake API over HTTP, SigV4-signed (service execute-api) with `keys` (default: the operator;
        False: unsigned); returns (status, parsed JSON body)."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        url = f"{self.api_url}{path}"
        headers = {"Content-Type": "application/json"}
        signer = self.operator_keys if keys is True else keys or None
        if signer is not None:
            headers = sign(signer, method, url, data, headers, self.emu.region)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wake(self, **body: Any) -> tuple[int, Any]:
        return self.http("POST", "/wake", body or None)

    def forced_sleep(self, timeout: float = 1800.0) -> dict[str, Any]:
        """The operator's forced sleep (`sleepwake sleep --force`): the sleep state machine with the CLI's input,
        waited for; returns DescribeExecution's answer."""
        sfn = self.emu.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=self.outputs["SleepStateMachineArn"],
            name=f"forced-{time.time_ns()}",
            input=json.dumps({"trigger": "manual", "force": True}),
        )["executionArn"]
        return self.emu.wait_for_execution(arn, timeout=timeout)

    def status(self) -> dict[str, Any]:
        code, body = self.http("GET", "/status")
        if code != 200:
            raise RuntimeError(f"/status answered {code}: {body}")
        return dict(body)

    def invoke(self, body: bytes | None = None) -> Request:
        """One InvokeEndpoint with InferenceComponentName, as the product makes it."""
        runtime = self.emu.client("sagemaker-runtime")
        at = self.now()
        started = time.perf_counter()
        try:
            runtime.invoke_endpoint(
                EndpointName=self.outputs["EndpointName"],
                InferenceComponentName=self.outputs["InferenceComponentName"],
                Body=body or self._sample,
                ContentType="audio/wav",
                Accept="application/json",
            )["Body"].read()
        except ClientError as error:
            message = error.response["Error"].get("Message", "")
            return Request(
                at,
                False,
                (time.perf_counter() - started) * 1000,
                f"{error.response['Error']['Code']}: {message}",
                "no capacity" in message,
            )
        return Request(at, True, (time.perf_counter() - started) * 1000)

    def product_client(self, keys: iam.Keys | None = None, **kwargs: Any) -> Any:
        """The product's `sleepwake_client.SleepwakeClient` for this stack, calling as the product identity (or
        `keys`): InvokeEndpoint through the emulator, the fallback from the FallbackEndpointName output, wake
        signals to this wake API (sent before the fallback call returns unless `send_in_background=True` is
        passed, so callers see their effect). Like a product in a Lambda function it writes each answer's wait
        as an embedded metric, timed on the emulated clock (`monotonic`, which also spaces its wake signals)."""
        import boto3

        from localaws.cloudwatch_emf import LogStream
        from sleepwake_client import SleepwakeClient

        keys = keys or self.product_keys
        assert keys is not None, "start() creates the product"
        session = boto3.session.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            region_name=self.emu.region,
        )
        options: dict[str, Any] = {
            "session": session,
            "runtime_client": self.emu.client_as(keys, "sagemaker-runtime"),
            "send_in_background": False,
            "monotonic": self.emu.clock.time,
            "answer_metrics": LogStream(self.emu.account, self.emu.region),
        }
        return SleepwakeClient.from_outputs(self.product_outputs(), **(options | kwargs))

    # -- waiting -------------------------------------------------------------------------------------------
    def wait_for_state(
        self,
        want: str | set[str],
        timeout: float,
        poll: float = 2.0,
        on_sample: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll /status every `poll` emulated seconds until the state is in `want` (or failed); raise on timeout."""
        wanted = {want} if isinstance(want, str) else set(want)
        last: dict[str, Any] = {}

        def check() -> bool:
            nonlocal last
            last = self.status()
            if on_sample:
                on_sample(last)
            return last["state"] in wanted or (last["state"] == "failed" and "failed" not in wanted)

        if not self.emu.wait_for(check, timeout=timeout, poll=poll, wall_timeout=max(120.0, timeout / 2)):
            raise TimeoutError(f"state did not reach {sorted(wanted)} within {timeout:.0f} emulated s: {last}")
        if last["state"] not in wanted:
            raise RuntimeError(f"wanted {sorted(wanted)}, got failed: {last.get('last_error')}")
        return last

    def entered(self, execution_arn: str) -> dict[str, datetime]:
        """When each state of an execution was first entered (emulated time, from the execution history)."""
        events = self.emu.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)[
            "events"
        ]
        out: dict[str, datetime] = {}
        for event in events:
            details = event.get("stateEnteredEventDetails")
            if details and details["name"] not in out:
                out[details["name"]] = event["timestamp"].astimezone(UTC)
        return out

    def executions(self, machine: str) -> list[dict[str, Any]]:
        arn = self.outputs[f"{machine}StateMachineArn"]
        return list(self.emu.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])
