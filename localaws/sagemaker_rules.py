"""What SageMaker refuses when the stack creates a model, an endpoint config, an endpoint or an inference
component: the request constraints of SageMaker's API model, and Serverless Inference's feature exclusions.
On by default (`RULES.enforce`); a refusal is a ValidationException (HTTP 400) and creates nothing.

Sources, and where they are silent:
- Request constraints: botocore's sagemaker service model (`botocore/data/sagemaker/2017-07-24/service-2.json`,
  read at run time), for the input of CreateModel, CreateEndpointConfig, CreateEndpoint and
  CreateInferenceComponent: every string's length bounds and pattern, every number's bounds, every list's
  length and every enum. The names the stack gives: `EndpointName`, `EndpointConfigName`, `VariantName` match
  `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`; `ModelName` and `InferenceComponentName` match
  `[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?`; all at most 63 characters. `ServerlessConfig`: MemorySizeInMB
  1024-6144, MaxConcurrency 1-200, ProvisionedConcurrency 1-200. botocore checks only the minimums on the
  client (`botocore/validate.py`, `range_check` and the length check read `min`), so maxima, patterns and
  enums reach the service, which answers "1 validation error detected: Value '…' at '…' failed to satisfy
  constraint: Member must …" (the AWS JSON services' message; moto writes the same form, e.g.
  `moto/sagemaker/validators.py`). The member paths in these messages are approximations.
- The same model's member documentation: `ProductionVariantServerlessConfig.MemorySizeInMB` "Valid values are
  in 1 GB increments"; `ProvisionedConcurrency` "Should be less than or equal to MaxConcurrency";
  `ContainerDefinition.ModelDataSource` "you cannot use ModelDataSource in conjunction with … SageMaker
  serverless endpoints"; `ProductionVariant.ServerlessConfig` "Specifies a serverless endpoint configuration
  instead of an instance-based endpoint configuration" (so a serverless variant carries no instance settings).
- SageMaker developer guide, "Deploy models with Amazon SageMaker Serverless Inference", feature exclusions:
  no GPUs, Marketplace packages, private Docker registries, multi-model endpoints, VPC configuration, network
  isolation, KMS keys, data capture, multiple production variants, Model Monitor or inference pipelines
  (docs/aws-behaviour.md; `KmsKeyId` encrypts an instance's ML storage volume, which a serverless
  endpoint has none of).
- Silent: whether those exclusions are refused by CreateEndpointConfig or only by CreateEndpoint (the
  endpoint config's request is valid on its own; the guide lists what an endpoint does not support).
  `RULES.exclusions_at` picks: "CreateEndpointConfig" (the default) or "CreateEndpoint"; tests run both.
  The constraint and documentation checks above belong to the request, so they refuse CreateEndpointConfig.
- The refusal messages other than the constraint form are this module's own wording (AWS's are not
  published); they name the exclusion and the member to remove.

moto stores no `EnableNetworkIsolation`; CreateModel records it here on moto's model (its DescribeModel answer
then carries it, as botocore's DescribeModelOutput does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

from localaws.sagemaker_common import SageMakerValidation

EXCLUSIONS_AT = ("CreateEndpointConfig", "CreateEndpoint")
CHECKED = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent")
# ProductionVariant members that size or place instances (botocore's ProductionVariant shape); a serverless
# variant is "instead of an instance-based" one.
INSTANCE_SETTINGS = (
    "InstanceType",
    "InitialInstanceCount",
    "InstancePools",
    "AcceleratorType",
    "VolumeSizeInGB",
    "ManagedInstanceScaling",
    "CapacityReservationConfig",
)
MEMORY_STEP_MB = 1024


@dataclass
class Rules:
    enforce: bool = True
    exclusions_at: str = "CreateEndpointConfig"  # or "CreateEndpoint": the sources are silent (docstring)


RULES = Rules()


# ------------------------------------------------------------------------------------ request constraints
@cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # Java-only syntax (\p{...}); botocore's patterns are Java regexes. Not checked then.
        return None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    return str(value) if not isinstance(value, dict | list) else repr(value)


def constraint_errors(shape: Any, value: Any, path: str) -> list[str]:
    """Every constraint of the botocore `shape` that `value` breaks, in AWS's "Value … at …" form."""
    errors: list[str] = []
    meta = shape.metadata
    kind = shape.type_name

    def fail(rule: str) -> None:
        errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: Member must {rule}")

    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if value.get(name) is not None:
                errors += constraint_errors(member, value[name], f"{path}.{_lower_first(name)}".lstrip("."))
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            fail(f"have length less than or equal to {meta['max']}")
        for i, item in enumerate(value, start=1):
            errors += constraint_errors(shape.member, item, f"{path}.{i}.member")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += constraint_errors(shape.key, key, f"{path}.{key}.key")
            errors += constraint_errors(shape.value, item, f"{path}.{key}.value")
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            fail(f"have length less than or equal to {meta['max']}")
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.fullmatch(value):
            fail(f"satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            fail(f"satisfy enum value set: [{', '.join(shape.enum)}]")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            fail(f"have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            fail(f"have value greater than or equal to {meta['min']}")
    return errors


def check_request(operation: str, params: dict[str, Any]) -> None:
    """Refuse a request that breaks its input shape's constraints, or a serverless config's documented
    rules."""
    shape = _model().operation_model(operation).input_shape
    errors = constraint_errors(shape, params, "")
    if errors:
        count = len(errors)
        raise SageMakerValidation(f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(errors)}")
    if operation == "CreateEndpointConfig":
        problems = list(_serverless_config_rules(params.get("ProductionVariants") or []))
        if problems:
            raise SageMakerValidation("; ".join(problems))


def _serverless_config_rules(variants: list[dict[str, Any]]) -> Iterable[str]:
    for variant in variants:
        serverless = variant.get("ServerlessConfig")
        if not serverless:
            continue
        memory = int(serverless.get("MemorySizeInMB", 0))
        if memory % MEMORY_STEP_MB:
            yield (
                f"ServerlessConfig.MemorySizeInMB {memory} of variant {variant.get('VariantName')} is not a "
                "valid value: use 1024, 2048, 3072, 4096, 5120 or 6144 (1 GB increments)"
            )
        provisioned = serverless.get("ProvisionedConcurrency")
        if provisioned is not None and int(provisioned) > int(serverless.get("MaxConcurrency", 0)):
            yield (
                f"ServerlessConfig.ProvisionedConcurrency {provisioned} of variant {variant.get('VariantName')} "
                f"exceeds its MaxConcurrency {serverless.get('MaxConcurrency')}"
            )


# ------------------------------------------------------------------------------- serverless exclusions
def serverless_exclusions(config: dict[str, Any], models: dict[str, Any]) -> list[str]:
    """What Serverless Inference does not support, found in an endpoint config (`ProductionVariants`,
    `KmsKeyId`, `DataCaptureConfig`) with a serverless variant and in the models it names (moto's models by
    name). Empty for an instance-based config."""
    variants = config.get("ProductionVariants") or []
    serverless = [v for v in variants if v.get("ServerlessConfig")]
    if not serverless:
        return []
    found: list[str] = []
    if len(variants) > 1:
        found.append(f"multiple production variants ({len(variants)}; a serverless endpoint has exactly one)")
    if config.get("KmsKeyId"):
        found.append("a KMS key (KmsKeyId on the endpoint config)")
    capture = config.get("DataCaptureConfig") or {}
    if capture and capture.get("EnableCapture", True):
        found.append("data capture (DataCaptureConfig on the endpoint config)")
    for variant in serverless:
        name = variant.get("VariantName")
        settings = [key for key in INSTANCE_SETTINGS if variant.get(key) is not None]
        if settings:
            found.append(f"instance settings on serverless variant {name} ({', '.join(settings)})")
        model = models.get(str(variant.get("ModelName")))
        if model is None:
            continue
        label = f"model {model.model_name}"
        if getattr(model, "enable_network_isolation", False):
            found.append(f"network isolation ({label} has EnableNetworkIsolation true)")
        if getattr(model, "vpc_config", None):
            found.append(f"VPC configuration ({label} has VpcConfig)")
        containers = [model.primary_container or {}, *(model.containers or [])]
        if any(c.get("ModelDataSource") for c in containers):
            found.append(f"ModelDataSource ({label}; give ModelDataUrl instead)")
        if any(c.get("Mode") == "MultiModel" for c in containers):
            found.append(f"multi-model endpoints ({label} has Mode MultiModel)")
    return found


def _refuse_exclusions(subject: str, config: dict[str, Any], backend: Any) -> None:
    found = serverless_exclusions(config, backend._models)
    if found:
        raise SageMakerValidation(
            f"{subject}: Serverless Inference does not support {'; '.join(found)}. Remove them, or use an "
            "instance-based variant."
        )


def _stored_config(backend: Any, name: str) -> dict[str, Any] | None:
    config = backend.endpoint_configs.get(name)
    if config is None:
        return None
    return {
        "ProductionVariants": config.production_variants,
        "KmsKeyId": config.kms_key_id,
        "DataCaptureConfig": config.data_capture_config,
    }


# ------------------------------------------------------------------------------------------ moto hooks
def _checked(operation: str, original: Callable[[SageMakerResponse], Any]) -> Callable[[SageMakerResponse], Any]:
    def handler(self: SageMakerResponse) -> Any:
        if not RULES.enforce:
            return original(self)
        params = dict(self.params)
        check_request(operation, params)
        backend = sm_models.sagemaker_backends[self.current_account][self.region]
        if operation == "CreateEndpointConfig" and RULES.exclusions_at == "CreateEndpointConfig":
            _refuse_exclusions(f"Endpoint config {params.get('EndpointConfigName')}", params, backend)
        if operation == "CreateEndpoint" and RULES.exclusions_at == "CreateEndpoint":
            stored = _stored_config(backend, str(params.get("EndpointConfigName")))
            if stored is not None:
                _refuse_exclusions(f"Endpoint {params.get('EndpointName')}", stored, backend)
        result = original(self)
        if operation == "CreateModel":
            model = backend._models.get(str(params.get("ModelName")))
            if model is not None:
                model.enable_network_isolation = bool(params.get("EnableNetworkIsolation", False))
        return result

    handler._localaws_rules = True  # type: ignore[attr-defined]
    return handler


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def install() -> None:
    """Check the create actions before moto (or the inference-component hook) runs them (idempotent: an
    action already checked is left as it is)."""
    for operation in CHECKED:
        method = _snake(operation)
        current = getattr(SageMakerResponse, method)
        if not getattr(current, "_localaws_rules", False):
            setattr(SageMakerResponse, method, _checked(operation, current))
