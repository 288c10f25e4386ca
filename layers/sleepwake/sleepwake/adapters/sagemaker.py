"""SageMaker: observe the inference component's copies and its endpoint's instance scaling, and invoke it for warm-up
(the state machines set the count)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sleepwake.core import ICStatus, ObservedCopies
from sleepwake.core.endpoint import VariantScaling

NO_CAPACITY_MESSAGE = "Inference Component has no capacity to process this request"


class NoCapacityError(Exception):
    """The component has no copy to serve the request (AWS says so with a plain ValidationError)."""


class InvocationError(Exception):
    """The model container answered with an error."""


def is_no_capacity(error: ClientError) -> bool:
    # The one place we match message text: AWS gives this failure no error code of its own (docs/aws-behaviour.md §2).
    err = error.response.get("Error", {})
    return err.get("Code") in ("ValidationError", "ValidationException") and NO_CAPACITY_MESSAGE in err.get(
        "Message", ""
    )


class InferenceComponents:
    def __init__(self, client: Any) -> None:
        self._sm = client

    def observe(self, name: str) -> ObservedCopies:
        ic = self._sm.describe_inference_component(InferenceComponentName=name)
        runtime = ic.get("RuntimeConfig", {})
        return ObservedCopies(
            status=ICStatus(ic["InferenceComponentStatus"]),
            desired=runtime.get("DesiredCopyCount", 0),
            current=runtime.get("CurrentCopyCount", 0),
            failure_reason=ic.get("FailureReason"),
        )

    def instance_count(self, endpoint: str) -> int | None:
        """The endpoint's CurrentInstanceCount (summed over its variants); None when it does not say."""
        variants = self._sm.describe_endpoint(EndpointName=endpoint).get("ProductionVariants") or []
        counts = [v["CurrentInstanceCount"] for v in variants if "CurrentInstanceCount" in v]
        return sum(counts) if counts else None

    def endpoint_instance_scaling(self, endpoint: str) -> list[VariantScaling]:
        """Each production variant's ManagedInstanceScaling, from the config the endpoint runs now."""
        config = self._sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        variants = self._sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        return [
            VariantScaling(
                variant=v["VariantName"],
                status=v.get("ManagedInstanceScaling", {}).get("Status"),
                min_instance_count=v.get("ManagedInstanceScaling", {}).get("MinInstanceCount"),
            )
            for v in variants
        ]


@dataclass(frozen=True)
class Invocation:
    latency_ms: float
    body: bytes


class Runtime:
    def __init__(self, client: Any) -> None:
        self._rt = client

    def invoke(self, endpoint: str, component: str, body: bytes, content_type: str) -> Invocation:
        started = time.perf_counter()
        try:
            response = self._rt.invoke_endpoint(
                EndpointName=endpoint,
                InferenceComponentName=component,
                Body=body,
                ContentType=content_type,
                Accept="application/json",
            )
        except ClientError as error:
            if is_no_capacity(error):
                raise NoCapacityError(str(error)) from error
            raise InvocationError(str(error)) from error
        payload = response["Body"].read()
        return Invocation(latency_ms=(time.perf_counter() - started) * 1000, body=payload)

    def invoke_endpoint(self, endpoint: str, body: bytes, content_type: str) -> Invocation:
        """InvokeEndpoint on an endpoint without inference components (the serverless fallback)."""
        started = time.perf_counter()
        try:
            response = self._rt.invoke_endpoint(
                EndpointName=endpoint, Body=body, ContentType=content_type, Accept="application/json"
            )
        except ClientError as error:
            raise InvocationError(str(error)) from error
        payload = response["Body"].read()
        return Invocation(latency_ms=(time.perf_counter() - started) * 1000, body=payload)
