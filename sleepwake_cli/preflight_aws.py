"""`sleepwake preflight`'s reads: every AWS call it makes is a Describe, List, Get, Head or Simulate (the test
in tests/cli/test_preflight.py hooks botocore's `before-call` event and fails on any other).

Each method answers what AWS said, or None for "does not exist"; an access denial or another error is raised
as ReadError with the action that was refused, and the caller turns it into a warn line naming the grant.
"""

from __future__ import annotations

import tarfile
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from sleepwake.adapters.adoption import ScalingAdoption
from sleepwake.core.adoption import ExistingScaling
from sleepwake.core.endpoint import VariantScaling
from sleepwake_cli.preflight_rules import SERVERLESS_QUOTA_CODE, Archive

# Preflight reads: fail fast (a dead endpoint says so in seconds), retry throttling a little.
READ_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=60)
_MISSING = ("Could not find", "does not exist", "not found")


class ReadError(Exception):
    def __init__(self, action: str, error: Exception) -> None:
        code = error.response["Error"].get("Code", "") if isinstance(error, ClientError) else type(error).__name__
        message = error.response["Error"].get("Message", "") if isinstance(error, ClientError) else str(error)
        super().__init__(f"{action}: {code}: {message}".rstrip(": "))
        self.action = action
        self.denied = "AccessDenied" in code or "Unauthorized" in code or code == "AuthorizationError"


def _missing(error: ClientError) -> bool:
    code = error.response["Error"].get("Code", "")
    message = error.response["Error"].get("Message", "")
    gone = ("ResourceNotFound", "NoSuchEntity", "404", "NoSuchKey", "NoSuchBucket", "NoSuchResourceException")
    return code in gone or (code in ("ValidationException", "ValidationError") and any(m in message for m in _MISSING))


class Reader:
    def __init__(self, session: boto3.Session, endpoint_url: str | None = None) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                config=READ_CONFIG,
            )
        return self._clients[service]

    def _call(self, service: str, action: str, **params: Any) -> dict[str, Any] | None:
        """The answer, or None when the thing does not exist; ReadError otherwise."""
        client = self.client(service)
        try:
            return dict(getattr(client, action)(**params))
        except ClientError as error:
            if _missing(error):
                return None
            raise ReadError(f"{client.meta.service_model.signing_name}:{_pascal(action)}", error) from None
        except NoCredentialsError:
            raise  # nothing can be read: the command says so in one line
        except (BotoCoreError, ResponseParserError) as error:
            raise ReadError(f"{service}:{_pascal(action)}", error) from None

    # -- SageMaker -------------------------------------------------------------------------------------------
    def endpoint(self, name: str) -> dict[str, Any] | None:
        return self._call("sagemaker", "describe_endpoint", EndpointName=name)

    def component(self, name: str) -> dict[str, Any] | None:
        return self._call("sagemaker", "describe_inference_component", InferenceComponentName=name)

    def instance_scaling(self, endpoint: dict[str, Any]) -> list[VariantScaling] | None:
        config = self._call("sagemaker", "describe_endpoint_config", EndpointConfigName=endpoint["EndpointConfigName"])
        if config is None:
            return None
        return [
            VariantScaling(
                variant=v["VariantName"],
                status=(v.get("ManagedInstanceScaling") or {}).get("Status"),
                min_instance_count=(v.get("ManagedInstanceScaling") or {}).get("MinInstanceCount"),
            )
            for v in config.get("ProductionVariants", [])
        ]

    def serverless_endpoint(self, name: str) -> dict[str, Any] | None:
        """DescribeEndpoint plus `serverless` (its variants run on a ServerlessConfig) and `max_concurrency`."""
        found = self.endpoint(name)
        if found is None:
            return None
        configs = [
            v.get("CurrentServerlessConfig") or v.get("DesiredServerlessConfig")
            for v in found.get("ProductionVariants", [])
        ]
        if not any(configs):  # DescribeEndpoint may omit it while Creating: the config says
            config = self._call("sagemaker", "describe_endpoint_config", EndpointConfigName=found["EndpointConfigName"])
            configs = [v.get("ServerlessConfig") for v in (config or {}).get("ProductionVariants", [])]
        found["serverless"] = any(configs)
        found["max_concurrency"] = sum(int(c.get("MaxConcurrency", 0)) for c in configs if c)
        return found

    def serverless_concurrency(self) -> dict[str, int]:
        """Every serverless endpoint of the account and region -> its MaxConcurrency (what counts against
        quota L-96300102)."""
        names = []
        for page in self.client("sagemaker").get_paginator("list_endpoints").paginate():
            names += [e["EndpointName"] for e in page.get("Endpoints", [])]
        out = {}
        for name in names:
            found = self.serverless_endpoint(name)
            if found and found["serverless"]:
                out[name] = int(found["max_concurrency"])
        return out

    # -- scaling -------------------------------------------------------------------------------------------
    def scaling(self, component: str) -> ExistingScaling:
        """What Application Auto Scaling and CloudWatch hold for the component, read as the stack's
        AdoptedScaling custom resource reads it (`ScalingAdoption.read`: Describe calls only)."""
        adoption = ScalingAdoption(self.client("application-autoscaling"), self.client("cloudwatch"), table=None)
        try:
            return adoption.read(component)
        except ClientError as error:
            service = "cloudwatch" if error.operation_name == "DescribeAlarms" else "application-autoscaling"
            raise ReadError(f"{service}:{error.operation_name}", error) from None
        except (BotoCoreError, ResponseParserError) as error:
            raise ReadError("application-autoscaling:DescribeScalableTargets", error) from None

    # -- S3 -------------------------------------------------------------------------------------------------
    def archive(self, url: str, max_bytes: int) -> Archive:
        """HeadObject, then the tar's member names from a streamed GetObject when it is at most `max_bytes`."""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            head = self._call("s3", "head_object", Bucket=bucket, Key=key)
        except ReadError as error:
            return Archive(url, None, str(error))
        if head is None:
            return Archive(url, None)
        size = int(head.get("ContentLength", 0))
        if size > max_bytes:
            return Archive(url, head, f"{size / 1e6:.0f} MB is more than --max-archive-mb {max_bytes / 1e6:.0f}")
        try:
            body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            with tarfile.open(fileobj=body, mode="r|*") as tar:
                names = [member.name for member in tar]
        except ClientError as error:
            return Archive(url, head, str(ReadError("s3:GetObject", error)))
        except (tarfile.TarError, OSError, EOFError) as error:
            return Archive(url, head, error=f"not a readable tar archive: {error}", names=[])
        return Archive(url, head, names=names)

    # -- Service Quotas ---------------------------------------------------------------------------------------
    def serverless_quota(self) -> tuple[float, str]:
        """The applied value of SageMaker's quota L-96300102, or AWS's default when none is applied."""
        applied = self._call(
            "service-quotas", "get_service_quota", ServiceCode="sagemaker", QuotaCode=SERVERLESS_QUOTA_CODE
        )
        if applied is not None:
            return float(applied["Quota"]["Value"]), "applied"
        default = self._call(
            "service-quotas", "get_aws_default_service_quota", ServiceCode="sagemaker", QuotaCode=SERVERLESS_QUOTA_CODE
        )
        if default is None:
            raise ReadError("servicequotas:GetAWSDefaultServiceQuota", Exception(f"no quota {SERVERLESS_QUOTA_CODE}"))
        return float(default["Quota"]["Value"]), "AWS default"

    # -- IAM ------------------------------------------------------------------------------------------------
    def caller(self) -> tuple[str, str]:
        """(the caller's ARN, its account)."""
        found = self._call("sts", "get_caller_identity") or {}
        return str(found.get("Arn", "")), str(found.get("Account", ""))

    def principal(self, caller: str) -> str:
        """The IAM principal to simulate: a role for an assumed-role session (GetRole gives its path), the user
        itself otherwise."""
        if ":assumed-role/" not in caller:
            return caller
        role = caller.split(":assumed-role/", 1)[1].split("/", 1)[0]
        found = self._call("iam", "get_role", RoleName=role)
        if found is None:
            raise ReadError("iam:GetRole", Exception(f"role {role} not found"))
        return str(found["Role"]["Arn"])

    def denied(self, principal: str, actions: list[str], resource: str | None = None) -> dict[str, str]:
        """Each action SimulatePrincipalPolicy does not allow -> its decision: on any resource (`*`, the
        simulator's default), or on `resource`."""
        out: dict[str, str] = {}
        client = self.client("iam")
        on = {"ResourceArns": [resource]} if resource else {}
        for start in range(0, len(actions), 100):  # a page of action names per request
            try:
                paginator = client.get_paginator("simulate_principal_policy")
                pages = paginator.paginate(PolicySourceArn=principal, ActionNames=actions[start : start + 100], **on)
                for page in pages:
                    for result in page.get("EvaluationResults", []):
                        if result["EvalDecision"] != "allowed":
                            out[result["EvalActionName"]] = result["EvalDecision"]
            except ClientError as error:
                raise ReadError("iam:SimulatePrincipalPolicy", error) from None
            except (BotoCoreError, ResponseParserError) as error:
                raise ReadError("iam:SimulatePrincipalPolicy", error) from None
        return out


def _pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))
