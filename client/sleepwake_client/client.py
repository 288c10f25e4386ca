"""Invoke the inference component; on its no-capacity error, answer from the fallback and signal a wake.

Why the client signals `/wake` itself instead of relying on the no-capacity alarm alone: the alarm needs a
metric period and an evaluation before it fires (about a minute, docs/aws-behaviour.md §8), so a signal from
the first request that met no capacity starts the wake that much sooner. The alarm stays as the backstop for
products that do not use this client. Signals are rate-limited (one per `wake_interval_seconds`, default 60)
and sent on a background thread: a user's request never waits for them, and a failed signal is logged, never
raised.

With `answer_metrics`, every call writes what its user waited (sleepwake_client.answer_metric), a failed one
too (`ServedBy` `failed`: a fallback that failed after no capacity, or any error raised to the caller), so the
worst waits are not left out of the report's answers over 3 s and the dashboard's share within 3 s.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from sleepwake_client.answer_metric import LineWriter, answer_line

LOG = logging.getLogger("sleepwake_client")

ServedBy = Literal["component", "fallback"]
# What a call's wait is written under: the path that answered, or `failed` when the call raised.
Outcome = Literal["component", "fallback", "failed"]

# SageMaker answers InvokeEndpoint on an inference component with 0 copies with this code and message
# (docs/aws-behaviour.md §2). ValidationError is also the code of ordinary bad requests, so both must match.
NO_CAPACITY_CODE = "ValidationError"
NO_CAPACITY_TEXT = "Inference Component has no capacity to process this request"


# API Gateway developer guide, "Invoke a REST API": https://{restapi_id}.execute-api.{region}.amazonaws.com/{stage}
# (.amazonaws.com.cn in China; {restapi_id}-{vpce_id}.execute-api.{region}.vpce.amazonaws.com for a private API
# through its VPC endpoint). The signature's credential scope must name that region, whatever the session's is.
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$")


def region_from_url(url: str) -> str | None:
    """The region an execute-api URL names, or None for a URL that names none (a custom domain, the local API)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = _EXECUTE_API_HOST.search(host)
    return match.group(1) if match else None


def is_no_capacity(error: ClientError) -> bool:
    """True for the inference component's no-capacity answer, False for every other error."""
    err = error.response.get("Error", {})
    return err.get("Code") == NO_CAPACITY_CODE and NO_CAPACITY_TEXT in (err.get("Message") or "")


# The sleepwake stack's outputs from_outputs cannot do without (template.yaml's Outputs); FallbackEndpointName
# ("" when the stack has none) and WakeApiUrl are read when present.
REQUIRED_OUTPUTS = ("EndpointName", "InferenceComponentName")
_WHERE = 'the sleepwake stack\'s Outputs (aws cloudformation describe-stacks --query "Stacks[0].Outputs")'


def outputs_by_name(outputs: object) -> dict[str, str]:
    """A mapping of output name to value, or DescribeStacks' list of {OutputKey, OutputValue} items, as a dict.
    Anything else is a ValueError saying what was given instead."""
    if isinstance(outputs, Mapping):
        return dict(outputs)
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Iterable):
        raise ValueError(
            f"stack outputs must be a mapping of output name to value or the list of {_WHERE}, "
            f"not {type(outputs).__name__} (parse JSON first)"
        )
    named = {}
    for index, item in enumerate(outputs):
        if not (isinstance(item, Mapping) and "OutputKey" in item and "OutputValue" in item):
            shown = f"{item!r:.60}"
            raise ValueError(f"stack outputs: item {index} is not an output with OutputKey and OutputValue: {shown}")
        named[item["OutputKey"]] = item["OutputValue"]
    return named


def missing_outputs(missing: list[str], named: Mapping[str, object]) -> str:
    """The error from_outputs raises: what is missing, where it comes from, and what was given instead."""
    given = ", ".join(sorted(named)) or "none"
    hint = " (that is a DescribeStacks stack: pass its Outputs)" if "Outputs" in named and "StackName" in named else ""
    return f"stack outputs lack {' and '.join(missing)}, which {_WHERE} give; got: {given}{hint}"


class FallbackFailed(RuntimeError):
    """The component had no capacity and the fallback failed too. The wake was still signalled."""

    def __init__(self, fallback_error: Exception) -> None:
        super().__init__(
            f"the inference component is asleep (a wake was signalled) and the fallback endpoint failed: "
            f"{fallback_error}"
        )
        self.fallback_error = fallback_error


@dataclass(frozen=True)
class InvokeResult:
    body: bytes
    content_type: str
    served_by: ServedBy
    wake_signalled: bool = False


class SleepwakeClient:
    """Thread-safe; build one per process and share it."""

    def __init__(
        self,
        *,
        endpoint_name: str,
        inference_component_name: str,
        fallback_endpoint_name: str | None,
        wake_url: str | None = None,
        session: boto3.session.Session | None = None,
        runtime_client: Any = None,
        wake_interval_seconds: float = 60.0,
        wake_body: Mapping[str, Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        send_in_background: bool = True,
        answer_metrics: LineWriter | None = None,
    ) -> None:
        """`answer_metrics`: where to write each call's wait as an embedded metric line
        (sleepwake_client.answer_metric; e.g. sys.stdout in a Lambda function), so `sleepwake report` counts
        the answers users waited over 3 s for, a cold fallback's included, and a call that failed (ServedBy
        `failed`). None (the default) writes nothing."""
        self.session = session or boto3.session.Session()
        self.runtime = runtime_client or self.session.client("sagemaker-runtime")
        self.endpoint_name = endpoint_name
        self.inference_component_name = inference_component_name
        self.fallback_endpoint_name = fallback_endpoint_name
        self.wake_url = wake_url.rstrip("/") if wake_url else None
        self.wake_interval_seconds = wake_interval_seconds
        self.wake_body = dict(wake_body or {"reason": "a request met no capacity"})
        self._monotonic = monotonic
        self._background = send_in_background
        self._lock = threading.Lock()
        self._last_signal: float | None = None
        self._answer_metrics = answer_metrics

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str] | Iterable[Mapping[str, str]], **kwargs: Any) -> SleepwakeClient:
        """Build from the stack's outputs EndpointName, InferenceComponentName, FallbackEndpointName and WakeApiUrl:
        a mapping of name to value, or the list CloudFormation's DescribeStacks gives (`Stacks[0].Outputs`, items
        with OutputKey and OutputValue), as it is::

            stack = boto3.client("cloudformation").describe_stacks(StackName="sleepwake")["Stacks"][0]
            client = SleepwakeClient.from_outputs(stack["Outputs"])

        (or the JSON of `aws cloudformation describe-stacks --stack-name sleepwake --query "Stacks[0].Outputs"`).
        Outputs without EndpointName or InferenceComponentName (another stack's, a hand-made dict) are a ValueError
        naming what is missing and what was given."""
        named = outputs_by_name(outputs)
        missing = [name for name in REQUIRED_OUTPUTS if not named.get(name)]
        if missing:
            raise ValueError(missing_outputs(missing, named))
        return cls(
            endpoint_name=named["EndpointName"],
            inference_component_name=named["InferenceComponentName"],
            fallback_endpoint_name=named.get("FallbackEndpointName") or None,
            wake_url=named.get("WakeApiUrl") or None,
            **kwargs,
        )

    def invoke(self, body: bytes, *, content_type: str = "audio/wav", accept: str = "application/json") -> InvokeResult:
        """Send to the component; on no capacity, to the fallback. Other errors are raised as boto3 raised them.
        With `answer_metrics`, the wait is written whether the call answers or raises (module docstring)."""
        began = self._monotonic()
        try:
            result = self._answer(body, content_type, accept)
        except Exception:
            self._record_wait("failed", self._monotonic() - began)
            raise
        self._record_wait(result.served_by, self._monotonic() - began)
        return result

    def _answer(self, body: bytes, content_type: str, accept: str) -> InvokeResult:
        try:
            answer = self.runtime.invoke_endpoint(
                EndpointName=self.endpoint_name,
                InferenceComponentName=self.inference_component_name,
                Body=body,
                ContentType=content_type,
                Accept=accept,
            )
        except ClientError as exc:
            if not is_no_capacity(exc):
                raise
            signalled = self.signal_wake()
            if not self.fallback_endpoint_name:
                raise
            LOG.info("no capacity on %s: answering from %s", self.inference_component_name, self.fallback_endpoint_name)
            try:
                answer = self.runtime.invoke_endpoint(
                    EndpointName=self.fallback_endpoint_name, Body=body, ContentType=content_type, Accept=accept
                )
            except ClientError as fallback_exc:
                raise FallbackFailed(fallback_exc) from exc
            return InvokeResult(answer["Body"].read(), answer.get("ContentType", accept), "fallback", signalled)
        return InvokeResult(answer["Body"].read(), answer.get("ContentType", accept), "component")

    def _record_wait(self, served_by: Outcome, seconds: float) -> None:
        """One line per call when asked for (sleepwake_client.answer_metric); a failed write is logged only."""
        if self._answer_metrics is None:
            return
        line = answer_line(self.inference_component_name, served_by, seconds, int(time.time() * 1000))
        try:
            self._answer_metrics.write(line + "\n")
        except (OSError, ValueError) as error:  # a closed or broken stream: the user's answer matters more
            LOG.warning("could not write the answer's wait metric: %s", error)

    def signal_wake(self) -> bool:
        """POST /wake (SigV4, execute-api), at most once per `wake_interval_seconds`. True when one was sent."""
        if not self.wake_url:
            return False
        now = self._monotonic()
        with self._lock:
            if self._last_signal is not None and now - self._last_signal < self.wake_interval_seconds:
                return False
            self._last_signal = now
        if self._background:
            threading.Thread(target=self._post_wake, name="sleepwake-wake", daemon=True).start()
            return True
        return self._post_wake()

    def _post_wake(self) -> bool:
        """True when the wake API took the signal (2xx); a failure is logged, never raised."""
        url = f"{self.wake_url}/wake"
        data = json.dumps(self.wake_body).encode()
        credentials = self.session.get_credentials()
        if credentials is None:
            LOG.warning("no AWS credentials to sign POST %s; relying on the no-capacity alarm", url)
            return False
        request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
        region = region_from_url(url) or self.session.region_name or "us-east-1"
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        prepared = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")
        try:
            with urllib.request.urlopen(prepared, timeout=10) as response:
                LOG.info("wake signalled: %s %s", response.status, response.read(300).decode(errors="replace"))
                return True
        except (urllib.error.URLError, OSError) as exc:
            LOG.warning("wake signal to %s failed (%s); the no-capacity alarm still wakes it", url, exc)
            return False
