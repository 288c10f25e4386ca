"""SageMaker inference components and InvokeEndpoint on them, added to moto's sagemaker backends.

Emulates Create/Describe/List/Delete/UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig
(Creating/Updating -> InService after a provisioning time in emulated seconds; CurrentCopyCount follows
DesiredCopyCount only then; 0 copies is InService), and sagemaker-runtime InvokeEndpoint with
InferenceComponentName running the real model handler (`sagemaker_model.model_server.ModelServer`), loaded when a
copy comes up and closed at 0 copies. Per-invocation CloudWatch metrics are written in emulated time.
InvokeEndpoint without InferenceComponentName on an endpoint whose config is serverless (the fallback) is
served by `localaws.sagemaker_serverless`; on any other endpoint it keeps moto's canned answer.

Provisioning has two phases, as on AWS: a copy placed on an instance the endpoint still has arrives after
`copy_seconds`; a copy that needs a new instance waits for the instance first (`instance_seconds`, then
the copy). The endpoint's instances (how they are counted, their bounds and their release, with sources) are
`localaws.sagemaker_instances`'s; they go down to MinInstanceCount `release_seconds` after every copy of every
IC on the endpoint reached 0. Default figures and where they come from:
- `provisioning_seconds` 210 from 0 = 90 s instance + `copy_seconds` 120 s copy: the team's own inf1
  observation is 3-4 min from 0 copies to a served request when the copy count is set directly
  (docs/aws-behaviour.md §1); AWS's scale-to-zero blog ("Unlock cost savings with the new scale down to zero
  feature in SageMaker Inference", Dec 2024; Llama3-8B on GPU) measured ~1.75 min for the instance and
  ~2.3 min for the model copy, so 210 s is split in that proportion (no public inf1 figure exists).
- `release_seconds` 600: the AWS scale-to-zero docs and blog: instances follow ~10 min after the copies of
  all ICs on the endpoint reached 0 (docs/aws-behaviour.md §2).
- `copies_per_instance` 1: an ml.inf1.xlarge has one Inferentia chip and the template asks one accelerator
  device per copy. Sources are silent on how SageMaker packs copies of different ICs; tests set it both ways.
All are switches (`Emulator(provisioning_seconds=, copy_seconds=, release_seconds=, copies_per_instance=)`,
`LocalStack(...)`, and `--provisioning-seconds`/`--copy-seconds`/`--release-seconds` of `python -m localaws`
and of `make local LOCAL_ARGS="..."`).

Differs from AWS (the instances' differences are in `localaws.sagemaker_instances`): all copies share one
ModelServer; an update while Updating is accepted and the latest target wins; the endpoint is InService at once;
exact error messages other than the no-capacity one are approximations.
DescribeEndpoint and DescribeEndpointConfig answer with each variant's ManagedInstanceScaling as given at
creation (moto keeps the config's variants as sent; DescribeEndpoint's summaries get it added here), so
adopt mode's MinInstanceCount check sees what the endpoint was made with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from moto.sagemaker import models as sm_models

from localaws import clock as clock_mod
from localaws import cloudwatch, service_state
from localaws.sagemaker_common import (
    InvocationResultLike,
    ModelServerLike,
    RuntimeModelError,
    RuntimeValidationError,
    SageMakerConflict,
    SageMakerResourceInUse,
    SageMakerThrottling,
    SageMakerValidation,
    close_quietly,
    model_dir,
    paused,
    wait_while,
)
from localaws.sagemaker_instances import EndpointInstances, from_endpoint_config
from sleepwake.core import defaults

LOG = logging.getLogger(__name__)

NO_CAPACITY_MESSAGE = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)

ModelServerFactory = Callable[["InferenceComponent"], ModelServerLike]
# The codes `Faults.refuse_updates_while_updating` may refuse with (see there).
REFUSALS: dict[str, type[Exception]] = {
    "ValidationException": SageMakerValidation,
    "ConflictException": SageMakerConflict,
    "ResourceInUse": SageMakerResourceInUse,
}


def real_model_server_factory(ic: InferenceComponent) -> ModelServerLike:
    """The project's real handler: `sagemaker_model.model_server.ModelServer(prepare_model_dir())`."""
    from sagemaker_model.model_server import ModelServer, prepare_model_dir

    return cast(ModelServerLike, ModelServer(model_dir(prepare_model_dir)))


# --------------------------------------------------------------------------------------------- the model
# AWS's scale-to-zero blog: ~1.75 min instance + ~2.3 min model copy (Llama3-8B, GPU); see the docstring.
BLOG_COPY_SHARE = 2.3 / (1.75 + 2.3)


@dataclass
class SageMakerSwitches:
    """Timings in emulated seconds; change them on `localaws.sagemaker.REGISTRY.switches` or via the Emulator.

    `provisioning_seconds` is the whole way from nothing: a new instance, then the copy. `copy_seconds`
    (a copy on an instance that is already there) defaults to the blog's share of it; the instance takes
    the rest."""

    provisioning_seconds: float = 210.0  # new instance + copy; the team's inf1 observation: 3-4 min
    scale_in_seconds: float = 30.0  # n -> fewer copies
    copy_seconds: float | None = None  # None: BLOG_COPY_SHARE x provisioning_seconds
    release_seconds: float = defaults.INSTANCE_RELEASE_MINUTES * 60.0  # after all the endpoint's copies reach 0
    copies_per_instance: int = 1
    delete_seconds: float = 10.0
    model_server_factory: ModelServerFactory = real_model_server_factory

    @property
    def copy_on_instance_seconds(self) -> float:
        """A copy placed on an instance the endpoint already has (the warm phase's floor)."""
        if self.copy_seconds is not None:
            return min(self.copy_seconds, self.provisioning_seconds)
        return round(self.provisioning_seconds * BLOG_COPY_SHARE, 3)

    @property
    def instance_seconds(self) -> float:
        """A new instance, before the copy can load on it."""
        return self.provisioning_seconds - self.copy_on_instance_seconds


@dataclass
class Faults:
    """Injected failures, consumed in order."""

    fail_provisioning: dict[str, str] = field(default_factory=dict)  # IC name -> FailureReason
    throttles: list[tuple[str | None, str | None]] = field(default_factory=list)  # (action, IC name)
    # Whether SageMaker refuses UpdateInferenceComponentRuntimeConfig while an update runs, and with which code,
    # is not documented; tests switch this on (with a code) to check the control plane copes if it does.
    # "ValidationException" is the code SageMaker uses for an update of a resource in the wrong state
    # (UpdateEndpoint on an endpoint that is updating); the API model does not declare it, so Step Functions
    # reports SageMaker.SageMakerException. The botocore model also declares "ConflictException" and
    # "ResourceInUse" for SageMaker, which Step Functions reports by name (SageMaker.ConflictException,
    # SageMaker.ResourceInUseException). None: updates while Updating are accepted.
    refuse_updates_while_updating: str | None = None

    def take_throttle(self, action: str, name: str | None) -> bool:
        for i, (want_action, want_name) in enumerate(self.throttles):
            if want_action in (None, action) and want_name in (None, name):
                del self.throttles[i]
                return True
        return False


@dataclass(frozen=True)
class Provision:
    """One scale-up as the emulator planned it: when it was asked for, which phase, and its floor."""

    asked: datetime
    new_instance: bool
    seconds: float


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
    provisions: list[Provision] = field(default_factory=list)  # every scale-up: its phase and floor
    # Every request a copy answered: (emulated time, ModelLatency ms, CPU ms of the serving thread), for the demo
    # and bench-wake's first-request-after-a-wake figures.
    served: list[tuple[datetime, float, float]] = field(default_factory=list)

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
        self.endpoints: dict[tuple[str, str, str], EndpointInstances] = {}
        self.switches = SageMakerSwitches()
        self.faults = Faults()
        self.listeners: list[Callable[[InferenceComponent], None]] = []
        self.threads: list[threading.Thread] = []

    def cancel_transitions(self) -> None:
        """Every transition, delete and release in progress ends without effect (its generation moved on)."""
        with self.lock:
            for ic in self.components.values():
                ic.generation += 1
            for instances in self.endpoints.values():
                instances.generation += 1

    def reset(self) -> None:
        self.cancel_transitions()
        for thread in self.threads:  # a model load in progress finishes (it cannot be interrupted), then stops
            thread.join(timeout=120)
        self.threads.clear()
        with self.lock:
            for ic in self.components.values():
                _release(ic)
            self.components.clear()
            self.endpoints.clear()
            self.faults = Faults()

    def snapshot(self) -> service_state.Restore:
        """The components, the endpoints' instances and the switches as now (localaws.service_state); putting them
        back clears injected faults, cancels what a transition of before would do, and loads a model server
        again where one was loaded then and was released since (one still loaded is kept)."""
        with self.lock:
            components, endpoints = service_state.keep_records(self.components), service_state.deepcopy(self.endpoints)
            switches = replace(self.switches)

        def restore() -> None:
            self.threads.clear()  # each ended: nothing runs during a restore
            with self.lock:
                self.faults, self.switches = Faults(), replace(switches)
                live = service_state.put_back_records(self.components, components, InferenceComponent, _release)
                for ic, _ in live:
                    ic.generation += 1
                generations = {key: instances.generation for key, instances in self.endpoints.items()}
                self.endpoints.clear()
                for key, instances in service_state.deepcopy(endpoints).items():
                    instances.generation = max(instances.generation, generations.get(key, 0)) + 1
                    self.endpoints[key] = instances
            for ic, kept in live:
                if kept.loaded and ic.server is None:
                    ic.server = self.switches.model_server_factory(ic)

        return restore

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        self.threads = [t for t in self.threads if t.is_alive()]
        self.threads.append(clock_mod.spawn(target, *args, name=name))  # counted as running work

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

    def check_throttle(self, action: str, name: str | None) -> None:
        if self.faults.take_throttle(action, name):
            raise SageMakerThrottling("Rate exceeded")

    # -- actions -----------------------------------------------------------------------------------------
    def create(self, account: str, region: str, params: dict[str, Any]) -> InferenceComponent:
        name = params["InferenceComponentName"]
        self.check_throttle("CreateInferenceComponent", name)
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
        self.check_throttle("UpdateInferenceComponentRuntimeConfig", name)
        if copies < 0:
            raise SageMakerValidation("CopyCount must be >= 0")
        with self.lock:
            ic = self.get(account, region, name)
            message = f"Cannot update inference component {ic.arn} while it is in {ic.status} status."
            if ic.status in ("Creating", "Deleting"):
                raise SageMakerValidation(message)
            refusal = self.faults.refuse_updates_while_updating
            if ic.status == "Updating" and refusal:
                raise REFUSALS[refusal](message)
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
        self.check_throttle("DeleteInferenceComponent", name)
        with self.lock:
            ic = self.get(account, region, name)
            ic.status = "Deleting"
            ic.generation += 1
            gen = ic.generation
            self._record(ic)

        def finish() -> None:
            clock_mod.sleep(self.switches.delete_seconds)
            with self.lock:
                if ic.generation == gen:
                    self.components.pop((account, region, name), None)
                    _release(ic)

        self._spawn(finish, name=f"ic-delete-{name}")

    # -- instances ---------------------------------------------------------------------------------------
    def instances(self, account: str, region: str, endpoint_name: str) -> EndpointInstances:
        """The endpoint's instances, first read from its endpoint config."""
        key = (account, region, endpoint_name)
        with self.lock:
            found = self.endpoints.get(key)
            if found is not None:
                return found
            instances = from_endpoint_config(account, region, endpoint_name, clock_mod.now())
            self.endpoints[key] = instances
            return instances

    def _place(self, ic: InferenceComponent, target: int) -> float:
        """Seconds until `target` copies of `ic` serve: the copy time, after a new instance when the ones
        there (or already coming) have no room for every copy the endpoint's ICs now want."""
        switches = self.switches
        instances = self.instances(ic.account_id, ic.region, ic.endpoint_name)
        now = clock_mod.now()
        copies = sum(other.desired if other is not ic else target for other in self._on_endpoint_of(ic))
        added = instances.make_room(copies, switches.copies_per_instance, switches.instance_seconds, now)
        wait_for_instance = instances.seconds_until_room(copies, switches.copies_per_instance, now)
        seconds = wait_for_instance + switches.copy_on_instance_seconds
        LOG.info(
            "placing %d copy(ies) of %s on %s: %d instance(s) present, %d new; copy arrives in %.0f s",
            target,
            ic.name,
            ic.endpoint_name,
            instances.present(now),
            added,
            seconds,
        )
        ic.provisions.append(Provision(now, wait_for_instance > 0, seconds))
        return seconds

    def _on_endpoint_of(self, ic: InferenceComponent) -> Iterator[InferenceComponent]:
        """Every IC on `ic`'s endpoint, `ic` included."""
        where = (ic.account_id, ic.region, ic.endpoint_name)
        return (
            other
            for other in self.components.values()
            if (other.account_id, other.region, other.endpoint_name) == where
        )

    def _all_copies_gone(self, ic: InferenceComponent) -> bool:
        return all(other.desired == 0 and other.current == 0 for other in self._on_endpoint_of(ic))

    def _schedule_release(self, ic: InferenceComponent) -> None:
        """Every copy on the endpoint is at 0: release its instances after `release_seconds` unless a copy
        is asked for before then."""
        instances = self.instances(ic.account_id, ic.region, ic.endpoint_name)
        instances.generation += 1
        gen = instances.generation
        due = clock_mod.now() + timedelta(seconds=self.switches.release_seconds)
        LOG.info("all copies on %s at 0: instances go at %s", ic.endpoint_name, due.isoformat())

        def release() -> None:
            if not wait_while(lambda: instances.generation == gen, due):
                return
            with self.lock:
                if instances.generation != gen:
                    return
                instances.release(clock_mod.now())
                LOG.info("released the instances of %s (%d left)", ic.endpoint_name, len(instances.ready_at))

        self._spawn(release, name=f"release-{ic.endpoint_name}")

    # -- transitions -------------------------------------------------------------------------------------
    def _start_transition(self, ic: InferenceComponent, target: int) -> None:
        ic.generation += 1
        gen = ic.generation
        scale_up = target > ic.current
        delay = self._place(ic, target) if scale_up else self.switches.scale_in_seconds
        self._spawn(self._transition, ic, gen, target, delay, name=f"ic-{ic.name}-{gen}")

    def _transition(self, ic: InferenceComponent, gen: int, target: int, delay: float) -> None:
        if not wait_while(lambda: ic.generation == gen, clock_mod.now() + timedelta(seconds=delay)):
            return
        with self.lock:
            if ic.generation != gen:
                return
            reason = self.faults.fail_provisioning.pop(ic.name, None) if target > ic.current else None
        if reason is None and target > 0 and ic.server is None:
            try:
                with paused():
                    server = self.switches.model_server_factory(ic)  # real cold load, in wall time
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
                    if self._all_copies_gone(ic):
                        self._schedule_release(ic)
            self._record(ic)
        cloudwatch.kick()  # copies changed: target tracking's per-copy metrics start or stop (alarm rounds)

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
        with ic.invoke_lock, paused():  # one worker per copy, as SAGEMAKER_MODEL_SERVER_WORKERS=1
            result = server.invoke(body, content_type, accept)
        cloudwatch.record(account, region, "AWS/SageMaker", "Invocations", 1.0, dims, "Count")
        cloudwatch.record(
            account, region, "AWS/SageMaker", "ModelLatency", result.model_latency_ms * 1000.0, dims, "Microseconds"
        )
        if result.status < 400:
            ic.served.append((clock_mod.now(), result.model_latency_ms, float(getattr(result, "cpu_ms", 0.0))))
        if result.status >= 400:
            metric = "Invocation4XXErrors" if result.status < 500 else "Invocation5XXErrors"
            cloudwatch.record(account, region, "AWS/SageMaker", metric, 1.0, dims, "Count")
            text = result.body.decode("utf-8", "replace")
            raise RuntimeModelError(
                f'Received server error ({result.status}) from primary with message "{text}".', result.status, text
            )
        return result


def _release(ic: InferenceComponent) -> None:
    server, ic.server = ic.server, None
    close_quietly(server, ic.name)


def _ic_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:inference-component/{name}"


REGISTRY = Registry()
