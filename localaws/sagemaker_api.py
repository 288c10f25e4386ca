"""The SageMaker API as moto serves it, with this project's additions: the inference-component actions
(`localaws.sagemaker`), InvokeEndpoint on a component or on a serverless endpoint
(`localaws.sagemaker_serverless`), DescribeEndpoint's instance counts and variant settings, and the refusals
of `localaws.sagemaker_rules`. `install()` patches moto's response classes (idempotent); moto dispatches each
JSON action to the snake_case method of its response class.
"""

from __future__ import annotations

import warnings
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from localaws import clock as clock_mod
from localaws import sagemaker_rules, sagemaker_serverless
from localaws.sagemaker import REGISTRY

IC_HEADER = "X-Amzn-SageMaker-Inference-Component"


# ------------------------------------------------------------------------------------ moto response hooks
def _create_inference_component(self: SageMakerResponse) -> ActionResult:
    ic = REGISTRY.create(self.current_account, self.region, dict(self.params))
    return ActionResult({"InferenceComponentArn": ic.arn})


def _describe_inference_component(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    REGISTRY.check_throttle("DescribeInferenceComponent", name)
    return ActionResult(REGISTRY.get(self.current_account, self.region, name).describe())


def _update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    copies = int(self._get_param("DesiredRuntimeConfig")["CopyCount"])
    ic = REGISTRY.update_runtime_config(self.current_account, self.region, name, copies)
    return ActionResult({"InferenceComponentArn": ic.arn})


def _update_inference_component(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    REGISTRY.check_throttle("UpdateInferenceComponent", name)
    ic = REGISTRY.get(self.current_account, self.region, name)
    spec = self._get_param("Specification")
    if spec:
        ic.specification = {**ic.specification, **spec}
    runtime = self._get_param("RuntimeConfig")
    if runtime and "CopyCount" in runtime:
        REGISTRY.update_runtime_config(self.current_account, self.region, name, int(runtime["CopyCount"]))
    return ActionResult({"InferenceComponentArn": ic.arn})


_ORIGINAL_DESCRIBE_ENDPOINT = SageMakerResponse.describe_endpoint


def _describe_endpoint(self: SageMakerResponse) -> ActionResult:
    """moto's answer with the instances this module models in CurrentInstanceCount."""
    result = _ORIGINAL_DESCRIBE_ENDPOINT(self)
    name = self._get_param("EndpointName")
    instances = REGISTRY.instances(self.current_account, self.region, name)
    present = instances.present(clock_mod.now())
    original = result.result
    if not isinstance(original, dict):
        return result
    body = dict(original)
    variants = [dict(v) for v in body.get("ProductionVariants") or []]
    for variant in [v for v in variants if "CurrentServerlessConfig" not in v][:1]:  # one set per endpoint;
        # a serverless variant has no instances to count (it reports its ServerlessConfig instead)
        variant["CurrentInstanceCount"] = present
        variant["DesiredInstanceCount"] = len(instances.ready_at)
    body["ProductionVariants"] = variants
    return ActionResult(body)


def _list_inference_components(self: SageMakerResponse) -> ActionResult:
    REGISTRY.check_throttle("ListInferenceComponents", None)
    endpoint = self._get_param("EndpointNameEquals")
    status = self._get_param("StatusEquals")
    contains = self._get_param("NameContains")
    items = [
        ic.summary()
        for (acct, region, _), ic in sorted(REGISTRY.components.items())
        if acct == self.current_account
        and region == self.region
        and (not endpoint or ic.endpoint_name == endpoint)
        and (not status or ic.status == status)
        and (not contains or contains in ic.name)
    ]
    return ActionResult({"InferenceComponents": items})


def _delete_inference_component(self: SageMakerResponse) -> EmptyResult:
    REGISTRY.delete(self.current_account, self.region, self._get_param("InferenceComponentName"))
    return EmptyResult()


_ORIGINAL_RUNTIME_INVOKE = SageMakerRuntimeResponse.invoke_endpoint


def _runtime_invoke_endpoint(self: SageMakerRuntimeResponse) -> Any:
    ic_name = self.headers.get(IC_HEADER)
    body = self.raw_body if isinstance(self.raw_body, bytes) else (self.raw_body or "").encode("utf-8")
    endpoint_name = self.path.split("/")[2]
    content_type = self.headers.get("Content-Type") or "application/octet-stream"
    accept = self.headers.get("Accept") or "application/json"
    if not ic_name:
        served = sagemaker_serverless.invoke(
            self.current_account, self.region, endpoint_name, body, content_type, accept
        )
        if served is not None:
            return (
                200,
                {"Content-Type": served.content_type, "x-Amzn-Invoked-Production-Variant": "AllTraffic"},
                served.body,
            )
        self.body = body.decode("utf-8", "replace")  # moto's canned path json-dumps the body
        return _ORIGINAL_RUNTIME_INVOKE(self)
    result = REGISTRY.invoke(self.current_account, self.region, endpoint_name, ic_name, body, content_type, accept)
    headers = {"Content-Type": result.content_type, "x-Amzn-Invoked-Production-Variant": "AllTraffic"}
    return 200, headers, result.body


def _endpoint_variants(self: Any, production_variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DescribeEndpoint's variant summaries carry the config's ManagedInstanceScaling and RoutingConfig
    (botocore's ProductionVariantSummary has both); moto leaves them out."""
    summaries = _ORIGINAL_ENDPOINT_VARIANTS(self, production_variants)
    for summary, variant in zip(summaries, production_variants, strict=True):
        for key in ("ManagedInstanceScaling", "RoutingConfig"):
            if key in variant:
                summary[key] = variant[key]
    return summaries


_ORIGINAL_ENDPOINT_VARIANTS = sm_models.FakeEndpoint._process_production_variants


def _validate_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
    """Endpoint configs for inference components have variants without a ModelName."""
    _ORIGINAL_VALIDATE(self, [v for v in production_variants if v.get("ModelName")])


_ORIGINAL_VALIDATE = sm_models.SageMakerModelBackend.validate_production_variants


def install() -> None:
    """Add the IC actions to moto's sagemaker and the IC path to sagemaker-runtime (idempotent)."""
    warnings.filterwarnings("ignore", message=r"Exception\(SageMakerThrottling\)")
    SageMakerResponse.create_inference_component = _create_inference_component  # type: ignore[attr-defined]
    SageMakerResponse.describe_inference_component = _describe_inference_component  # type: ignore[attr-defined]
    SageMakerResponse.update_inference_component_runtime_config = (  # type: ignore[attr-defined]
        _update_inference_component_runtime_config
    )
    SageMakerResponse.update_inference_component = _update_inference_component  # type: ignore[attr-defined]
    SageMakerResponse.list_inference_components = _list_inference_components  # type: ignore[attr-defined]
    SageMakerResponse.describe_endpoint = _describe_endpoint  # type: ignore[method-assign]
    SageMakerResponse.delete_inference_component = _delete_inference_component  # type: ignore[attr-defined]
    SageMakerRuntimeResponse.invoke_endpoint = _runtime_invoke_endpoint  # type: ignore[method-assign]
    SageMakerRuntimeResponse.use_raw_body = True
    sm_models.SageMakerModelBackend.validate_production_variants = _validate_production_variants  # type: ignore[method-assign]
    sm_models.FakeEndpoint._process_production_variants = _endpoint_variants  # type: ignore[method-assign]
    _allow_all_instance_types()
    sagemaker_rules.install()


def _allow_all_instance_types() -> None:
    """moto checks InstanceType against a fixed list that lacks newer types such as ml.inf1.xlarge."""
    original = sm_models.FakeEndpointConfig.validate_instance_type
    if getattr(original, "_localaws", False):
        return

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if not str(instance_type).startswith("ml."):
            original(self, instance_type)

    validate_instance_type._localaws = True  # type: ignore[attr-defined]
    sm_models.FakeEndpointConfig.validate_instance_type = validate_instance_type  # type: ignore[method-assign]
