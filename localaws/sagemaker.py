"""SageMaker inference components and InvokeEndpoint on them, added to moto's sagemaker backends.

Emulates Create/Describe/List/Delete/UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig
(Creating/Updating -> InService after a provisioning time in emulated seconds; CurrentCopyCount follows
DesiredCopyCount only then; 0 copies is InService), and sagemaker-runtime InvokeEndpoint with
InferenceComponentName running the real model handler (`sagemaker_model.local.ModelServer`), loaded when a
copy comes up and closed at 0 copies. Per-invocation CloudWatch metrics are written in emulated time.

Differs from AWS: no instances are modelled (provisioning is one configurable delay, scale-in one shorter
delay); all copies share one ModelServer; an update while Updating is accepted and the latest target wins;
the endpoint is InService at once; exact error messages other than the no-capacity one are approximations.
DescribeEndpoint and DescribeEndpointConfig answer with each variant's ManagedInstanceScaling as given at
creation (moto keeps the config's variants as sent; DescribeEndpoint's summaries get it added here), so
adopt mode's MinInstanceCount check sees what the endpoint was made with.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from localaws import clock as clock_mod
from localaws import cloudwatch

LOG = logging.getLogger(__name__)

NO_CAPACITY_MESSAGE = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
IC_HEADER = "X-Amzn-SageMaker-Inference-Component"


# ------------------------------------------------------------------------------------------------- errors
class SageMakerValidation(ServiceException):
    code = "ValidationException"


class SageMakerThrottling(ServiceException):
    code = "ThrottlingException"  # not modelled for SageMaker in botocore; AWS sends it with HTTP 400


class SageMakerResourceLimit(ServiceException):
    code = "ResourceLimitExceeded"


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class RuntimeModelError(ServiceException):
    code = "ModelError"

    def __init__(self, message: str, original_status: int, original_message: str) -> None:
        super().__init__(message)
        self.OriginalStatusCode = original_status
        self.OriginalMessage = original_message


# ------------------------------------------------------------------------------------------ model server
class InvocationResultLike(Protocol):
    status: int
    body: bytes
    content_type: str
    model_latency_ms: float


class ModelServerLike(Protocol):
    def invoke(self, body: bytes, content_type: str, accept: str) -> InvocationResultLike: ...
    def close(self) -> None: ...


ModelServerFactory = Callable[["InferenceComponent"], ModelServerLike]


def real_model_server_factory(ic: InferenceComponent) -> ModelServerLike:
    """The project's real handler: `sagemaker_model.local.ModelServer(prepare_model_dir())`."""
    from sagemaker_model.local import ModelServer, prepare_model_dir

    return cast(ModelServerLike, ModelServer(_model_dir(prepare_model_dir)))


_MODEL_DIR_LOCK = threading.Lock()
_MODEL_DIR: Any = None


def _model_dir(prepare: Callable[[], Any]) -> Any:
    """Prepare the model directory once per process (it is the same artefact for every copy)."""
    global _MODEL_DIR
    with _MODEL_DIR_LOCK:
        if _MODEL_DIR is None:
            _MODEL_DIR = prepare()
        return _MODEL_DIR


# --------------------------------------------------------------------------------------------- the model
@dataclass
class Settings:
    """Timings in emulated seconds; change them on `localaws.sagemaker.SETTINGS` or via the Emulator."""

    provisioning_seconds: float = 210.0  # 0 -> n copies (instance + model load); FACTS §1: 3-4 min
    scale_in_seconds: float = 30.0  # n -> fewer copies
    delete_seconds: float = 10.0
    model_server_factory: ModelServerFactory = real_model_server_factory
    # Real model work (load, inference) takes wall time that the speed factor would multiply into minutes of
    # emulated time; emulated time stands still during it instead (its cost is inside provisioning_seconds).
    pause_clock_during_model_work: bool = True


@dataclass
class Faults:
    """Injected failures, consumed in order."""

    fail_provisioning: dict[str, str] = field(default_factory=dict)  # IC name -> FailureReason
    throttles: list[tuple[str | None, str | None]] = field(default_factory=list)  # (action, IC name)
    # Whether SageMaker refuses UpdateInferenceComponentRuntimeConfig while an update runs is not documented;
    # tests switch this on to check the control plane copes if it does.
    refuse_updates_while_updating: bool = False

    def take_throttle(self, action: str, name: str | None) -> bool:
        for i, (want_action, want_name) in enumerate(self.throttles):
            if want_action in (None, action) and want_name in (None, name):
                del self.throttles[i]
                return True
        return False


@dataclass
class InferenceComponent:
    name: str
    arn: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    specification: dict[str, Any]
    account_id: str
    region: str
    desired: int
    current: int = 0
    status: str = "Creating"
    failure_reason: str | None = None
    creation_time: datetime = field(default_factory=clock_mod.now)
    last_modified_time: datetime = field(default_factory=clock_mod.now)
    tags: list[dict[str, str]] = field(default_factory=list)
    generation: int = 0
    server: ModelServerLike | None = None
    invoke_lock: threading.Lock = field(default_factory=threading.Lock)
    history: list[tuple[datetime, str, int, int]] = field(default_factory=list)  # (time, status, desired, current)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "Specification": _spec_summary(self.specification),
            "RuntimeConfig": {"DesiredCopyCount": self.desired, "CurrentCopyCount": self.current},
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "InferenceComponentStatus": self.status,
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out

    def summary(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.describe().items()
            if k
            in (
                "CreationTime",
                "InferenceComponentArn",
                "InferenceComponentName",
                "EndpointArn",
                "EndpointName",
                "VariantName",
                "InferenceComponentStatus",
                "LastModifiedTime",
            )
        }


def _spec_summary(spec: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in spec.items() if k in ("ModelName", "StartupParameters", "ComputeResourceRequirements")}
    if "Container" in spec:
        out["Container"] = {"DeployedImage": {"SpecifiedImage": spec["Container"].get("Image")}}
    return out


class Registry:
    """Every IC, keyed by (account, region, name). One per process, like moto's backends."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.components: dict[tuple[str, str, str], InferenceComponent] = {}
        self.settings = Settings()
        self.faults = Faults()
        self.listeners: list[Callable[[InferenceComponent], None]] = []
        self.threads: list[threading.Thread] = []

    def reset(self) -> None:
        with self.lock:
            for ic in self.components.values():
                ic.generation += 1
        for thread in self.threads:  # a model load in progress finishes (it cannot be interrupted), then stops
            thread.join(timeout=120)
        self.threads.clear()
        with self.lock:
            for ic in self.components.values():
                _release(ic)
            self.components.clear()
            self.faults = Faults()

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        self.threads = [t for t in self.threads if t.is_alive()]
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    # -- lookups -----------------------------------------------------------------------------------------
    def get(self, account: str, region: str, name: str) -> InferenceComponent:
        ic = self.components.get((account, region, name))
        if ic is None:
            arn = _ic_arn(account, region, name)
            raise SageMakerValidation(f"Could not find inference component '{arn}'.")
        return ic

    def find(self, name: str) -> InferenceComponent | None:
        """By name in any account/region (the Python API's convenience)."""
        with self.lock:
            for (_, _, n), ic in self.components.items():
                if n == name:
                    return ic
        return None

    def _check_throttle(self, action: str, name: str | None) -> None:
        if self.faults.take_throttle(action, name):
            raise SageMakerThrottling("Rate exceeded")

    # -- actions -----------------------------------------------------------------------------------------
    def create(self, account: str, region: str, params: dict[str, Any]) -> InferenceComponent:
        name = params["InferenceComponentName"]
        self._check_throttle("CreateInferenceComponent", name)
        backend = sm_models.sagemaker_backends[account][region]
        endpoint_name = params["EndpointName"]
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise SageMakerValidation(
                f"Could not find endpoint '{sm_models.FakeEndpoint.arn_formatter(endpoint_name, account, region)}'."
            )
        spec = params.get("Specification") or {}
        model_name = spec.get("ModelName")
        if model_name and model_name not in backend._models:
            raise SageMakerValidation(f'Could not find model "{model_name}".')
        copies = int((params.get("RuntimeConfig") or {}).get("CopyCount", 1))
        with self.lock:
            if (account, region, name) in self.components:
                raise SageMakerValidation(
                    f'Cannot create already existing inference component "{_ic_arn(account, region, name)}".'
                )
            ic = InferenceComponent(
                name=name,
                arn=_ic_arn(account, region, name),
                endpoint_name=endpoint_name,
                endpoint_arn=endpoint.arn,
                variant_name=params.get("VariantName") or "AllTraffic",
                specification=spec,
                account_id=account,
                region=region,
                desired=copies,
                tags=params.get("Tags") or [],
            )
            self.components[(account, region, name)] = ic
            self._record(ic)
            self._start_transition(ic, copies)
        return ic

    def update_runtime_config(self, account: str, region: str, name: str, copies: int) -> InferenceComponent:
        self._check_throttle("UpdateInferenceComponentRuntimeConfig", name)
        if copies < 0:
            raise SageMakerValidation("CopyCount must be >= 0")
        with self.lock:
            ic = self.get(account, region, name)
            if ic.status in ("Creating", "Deleting") or (
                ic.status == "Updating" and self.faults.refuse_updates_while_updating
            ):
                raise SageMakerValidation(
                    f"Cannot update inference component {ic.arn} while it is in {ic.status} status."
                )
            self.set_desired(ic, copies)
        return ic

    def set_desired(self, ic: InferenceComponent, copies: int) -> None:
        """Move DesiredCopyCount now; CurrentCopyCount follows when provisioning completes."""
        with self.lock:
            if copies == ic.desired and ic.status == "Updating":
                return  # already on its way there; asking again does not restart provisioning
            ic.desired = copies
            ic.failure_reason = None
            ic.last_modified_time = clock_mod.now()
            if copies == ic.current:
                ic.generation += 1  # cancels an in-flight transition
                ic.status = "InService"
                self._record(ic)
                return
            ic.status = "Updating"
            self._record(ic)
            self._start_transition(ic, copies)

    def delete(self, account: str, region: str, name: str) -> None:
        self._check_throttle("DeleteInferenceComponent", name)
        with self.lock:
            ic = self.get(account, region, name)
            ic.status = "Deleting"
            ic.generation += 1
            gen = ic.generation
            self._record(ic)

        def finish() -> None:
            clock_mod.sleep(self.settings.delete_seconds)
            with self.lock:
                if ic.generation == gen:
                    self.components.pop((account, region, name), None)
                    _release(ic)

        self._spawn(finish, name=f"ic-delete-{name}")

    # -- transitions -------------------------------------------------------------------------------------
    def _start_transition(self, ic: InferenceComponent, target: int) -> None:
        ic.generation += 1
        gen = ic.generation
        scale_up = target > ic.current
        delay = self.settings.provisioning_seconds if scale_up else self.settings.scale_in_seconds
        self._spawn(self._transition, ic, gen, target, delay, name=f"ic-{ic.name}-{gen}")

    def _transition(self, ic: InferenceComponent, gen: int, target: int, delay: float) -> None:
        clock = clock_mod.current()
        deadline = clock_mod.now() + timedelta(seconds=delay)
        while clock_mod.now() < deadline:
            if ic.generation != gen:
                return
            if clock:
                clock.wait_until(min(deadline, clock.now() + timedelta(seconds=5)))
            else:  # no emulator clock: wall time
                clock_mod.sleep(min(1.0, (deadline - clock_mod.now()).total_seconds()))
        with self.lock:
            if ic.generation != gen:
                return
            reason = self.faults.fail_provisioning.pop(ic.name, None) if target > ic.current else None
        if reason is None and target > 0 and ic.server is None:
            try:
                with _paused():
                    server = self.settings.model_server_factory(ic)  # real cold load, in wall time
            except Exception as exc:
                LOG.exception("model server for %s failed to start", ic.name)
                reason = f"The model container failed to start: {type(exc).__name__}: {exc}"
            else:
                with self.lock:
                    if ic.generation != gen:
                        server.close()
                        return
                    ic.server = server
        with self.lock:
            if ic.generation != gen:
                return
            ic.last_modified_time = clock_mod.now()
            if reason is not None:
                ic.status = "Failed"
                ic.failure_reason = reason
            else:
                ic.current = target
                ic.status = "InService"
                if target == 0:
                    _release(ic)
            self._record(ic)

    def _record(self, ic: InferenceComponent) -> None:
        ic.history.append((clock_mod.now(), ic.status, ic.desired, ic.current))
        for listener in list(self.listeners):
            try:
                listener(ic)
            except Exception:
                LOG.exception("IC listener failed")

    # -- runtime -----------------------------------------------------------------------------------------
    def invoke(
        self, account: str, region: str, endpoint_name: str, name: str, body: bytes, content_type: str, accept: str
    ) -> InvocationResultLike:
        backend = sm_models.sagemaker_backends[account][region]
        if endpoint_name not in backend.endpoints:
            raise RuntimeValidationError(f"Endpoint {endpoint_name} of account {account} not found.")
        ic = self.components.get((account, region, name))
        if ic is None or ic.endpoint_name != endpoint_name:
            raise RuntimeValidationError(f"Inference Component {name} not found for endpoint {endpoint_name}.")
        dims = [{"Name": "InferenceComponentName", "Value": name}]
        server = ic.server
        if ic.current < 1 or server is None:
            cloudwatch.record(account, region, "AWS/SageMaker", "NoCapacityInvocationFailures", 1.0, dims, "Count")
            raise RuntimeValidationError(NO_CAPACITY_MESSAGE)
        with ic.invoke_lock, _paused():  # one worker per copy, as SAGEMAKER_MODEL_SERVER_WORKERS=1
            result = server.invoke(body, content_type, accept)
        cloudwatch.record(account, region, "AWS/SageMaker", "Invocations", 1.0, dims, "Count")
        cloudwatch.record(
            account, region, "AWS/SageMaker", "ModelLatency", result.model_latency_ms * 1000.0, dims, "Microseconds"
        )
        if result.status >= 400:
            metric = "Invocation4XXErrors" if result.status < 500 else "Invocation5XXErrors"
            cloudwatch.record(account, region, "AWS/SageMaker", metric, 1.0, dims, "Count")
            text = result.body.decode("utf-8", "replace")
            raise RuntimeModelError(
                f'Received server error ({result.status}) from primary with message "{text}".', result.status, text
            )
        return result


def _paused() -> Any:
    clock = clock_mod.current()
    if clock is None or not REGISTRY.settings.pause_clock_during_model_work:
        return contextlib.nullcontext()
    return clock.paused()


def _release(ic: InferenceComponent) -> None:
    server, ic.server = ic.server, None
    if server is not None:
        try:
            server.close()
        except Exception:
            LOG.exception("closing model server for %s", ic.name)


def _ic_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:inference-component/{name}"


REGISTRY = Registry()


# ------------------------------------------------------------------------------------ moto response hooks
def _create_inference_component(self: SageMakerResponse) -> ActionResult:
    ic = REGISTRY.create(self.current_account, self.region, dict(self.params))
    return ActionResult({"InferenceComponentArn": ic.arn})


def _describe_inference_component(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    REGISTRY._check_throttle("DescribeInferenceComponent", name)
    return ActionResult(REGISTRY.get(self.current_account, self.region, name).describe())


def _update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    copies = int(self._get_param("DesiredRuntimeConfig")["CopyCount"])
    ic = REGISTRY.update_runtime_config(self.current_account, self.region, name, copies)
    return ActionResult({"InferenceComponentArn": ic.arn})


def _update_inference_component(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    REGISTRY._check_throttle("UpdateInferenceComponent", name)
    ic = REGISTRY.get(self.current_account, self.region, name)
    spec = self._get_param("Specification")
    if spec:
        ic.specification = {**ic.specification, **spec}
    runtime = self._get_param("RuntimeConfig")
    if runtime and "CopyCount" in runtime:
        REGISTRY.update_runtime_config(self.current_account, self.region, name, int(runtime["CopyCount"]))
    return ActionResult({"InferenceComponentArn": ic.arn})


def _list_inference_components(self: SageMakerResponse) -> ActionResult:
    REGISTRY._check_throttle("ListInferenceComponents", None)
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
    if not ic_name:
        self.body = body.decode("utf-8", "replace")  # moto's canned path json-dumps the body
        return _ORIGINAL_RUNTIME_INVOKE(self)
    endpoint_name = self.path.split("/")[2]
    content_type = self.headers.get("Content-Type") or "application/octet-stream"
    accept = self.headers.get("Accept") or "application/json"
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
    SageMakerResponse.delete_inference_component = _delete_inference_component  # type: ignore[attr-defined]
    SageMakerRuntimeResponse.invoke_endpoint = _runtime_invoke_endpoint  # type: ignore[method-assign]
    SageMakerRuntimeResponse.use_raw_body = True
    sm_models.SageMakerModelBackend.validate_production_variants = _validate_production_variants  # type: ignore[method-assign]
    sm_models.FakeEndpoint._process_production_variants = _endpoint_variants  # type: ignore[method-assign]
    _allow_all_instance_types()


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
