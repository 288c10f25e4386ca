"""SageMaker Serverless Inference endpoints: InvokeEndpoint on an endpoint whose config has a ServerlessConfig.

The sleepwake fallback is such an endpoint. A request (no inference component header) to an endpoint whose
endpoint config's variant has `ServerlessConfig` runs the project's real model handler on CPU
(`sagemaker_model.model_server.ModelServer`, with the model's container Environment, so SLEEPWAKE_TARGET=cpu picks
model.cpu.pt). Endpoints without ServerlessConfig keep moto's canned answer.

What is emulated, and where each figure comes from:
- Cold start: the first request, and the first after `idle_evict_seconds` without one, waits
  `cold_start_seconds` of emulated time before the model loads (the load itself runs in wall time with the
  emulated clock paused, like the inference components' model work). AWS's Serverless Inference docs
  (docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html, "Minimizing cold starts") say cold starts
  are "in the order of seconds", longer for large containers; no figure is published for a PyTorch CPU DLC.
  Default 15 s, the middle of the 10-20 s the simulator uses (sleepwake_cli/simulate/engine.py FallbackModel).
- Idle eviction: how long an idle serverless endpoint keeps its container is not published anywhere (the docs
  say only that it scales to 0 when idle). Default 600 s, the simulator's assumption; a setting, and the
  tests run with a cold and a warm fallback.
- Metrics: AWS/SageMaker Invocations, ModelLatency (microseconds) and, for a cold start, ModelSetupTime
  (microseconds: from the start of the cold start to the model loaded), with dimensions EndpointName and
  VariantName, in emulated time. Sources: the SageMaker developer guide's "Alarms and logs for tracking metrics
  from serverless endpoints" (docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html)
  lists ModelSetupTime among the metrics a serverless endpoint publishes besides the endpoint invocation
  metrics; botocore's SageMaker model (RecommendationMetrics.ModelSetupTime) defines it as "the time it takes to
  launch new compute resources for a serverless endpoint". One datum per cold start. Whether a request that
  waited in the queue behind a cold start gets a datum of its own is not published (those sources are silent,
  and so is the CloudWatch metrics page for SageMaker): a switch, `ServerlessSwitches.setup_time_for_queued`,
  off by default (one datum per new compute resource, as the definition reads); on, such a request adds a datum
  of the setup time of the cold start it waited behind. Tests run the report's cold-fallback count both ways
  (tests/localaws/test_serverless_endpoint.py). A failed request adds Invocation5XXErrors.
- The container writes only under /tmp (`localaws.serverless_container`): the toolkit's start-up
  `pip install -r code/requirements.txt`, or a handler that writes elsewhere while it starts, fails the start,
  and the request gets the /ping failure ("The primary container for production variant … did not pass the
  ping health check"), as the Serverless Inference troubleshooting page describes; a write elsewhere while
  serving a request fails that request. The reason is logged and kept in `start_failures`.
- Provisioned concurrency: a variant whose ServerlessConfig has `ProvisionedConcurrency` (botocore's
  ProductionVariantServerlessConfig, 1-200, "less than or equal to MaxConcurrency") is kept warm: no cold start,
  whatever the idle time ("Announcing provisioned concurrency for Amazon SageMaker Serverless Inference", AWS ML
  blog: provisioned endpoints answer "within milliseconds"; developer guide "Serverless Inference", provisioned
  concurrency "keeps endpoints warm"). Its container is loaded on the first request (model load in wall time,
  the emulated clock paused), not waited for in emulated time; the concurrency is read from the endpoint config
  when the endpoint is first used (an UpdateEndpoint to another config is not followed).
- A fault switch (`Faults.failing`, `Emulator.fail_fallback`) makes an endpoint answer every request with
  ModelError (the botocore sagemaker-runtime model's error for a container that answered with an error,
  OriginalStatusCode 500), for the product's "the fallback itself fails" path.

Differs from AWS: one container per endpoint (provisioned concurrency above 1 too), serving requests one at a
time (AWS runs up to MaxConcurrency containers and throttles beyond; neither concurrency nor ThrottlingException
is modelled); MemorySizeInMB is not enforced; the cold start is the same every time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from moto.sagemaker import models as sm_models

from localaws import clock as clock_mod
from localaws import cloudwatch, serverless_container, service_state
from localaws.clock_calls import ClockLock
from localaws.sagemaker_common import (
    InvocationResultLike,
    ModelServerLike,
    RuntimeModelError,
    close_quietly,
    model_dir,
    paused,
)
from sleepwake.core import defaults

LOG = logging.getLogger(__name__)

ServerFactory = Callable[[dict[str, str]], ModelServerLike]


@contextlib.contextmanager
def _container_environment(environment: dict[str, str]) -> Iterator[None]:
    """The model's container Environment, visible to this thread while the handler loads (model_fn reads
    SLEEPWAKE_TARGET); os.environ is the Lambda runner's per-thread mapping when the emulator runs."""
    push = getattr(os.environ, "push_overlay", None)
    if push is None:
        yield
        return
    push(dict(environment))
    try:
        yield
    finally:
        os.environ.pop_overlay()  # type: ignore[attr-defined]


def real_cpu_model_server(environment: dict[str, str]) -> ModelServerLike:
    """The project's real handler, loaded with the model's container environment (SLEEPWAKE_TARGET=cpu)."""
    from sagemaker_model.model_server import prepare_model_dir

    return container_model_server(Path(model_dir(prepare_model_dir)), environment)


def container_model_server(directory: Path, environment: dict[str, str]) -> ModelServerLike:
    """A serverless container's start on the extracted archive `directory`: the toolkit's requirements step,
    then the handler's import and model_fn, writing only under /tmp (localaws.serverless_container)."""
    from sagemaker_model.model_server import ModelServer

    with _container_environment(environment), serverless_container.writes_only_under():
        serverless_container.toolkit_start(directory)
        return cast(ModelServerLike, ModelServer(directory))


@dataclass
class ServerlessSwitches:
    cold_start_seconds: float = 15.0  # "in the order of seconds" (AWS docs); the simulator's 10-20 s midpoint
    idle_evict_seconds: float = defaults.FALLBACK_IDLE_EVICT_MINUTES * 60.0  # unpublished: the shared assumption
    model_server_factory: ServerFactory = real_cpu_model_server
    # A request queued behind a cold start writes its own ModelSetupTime too (unpublished: module docstring).
    setup_time_for_queued: bool = False


@dataclass
class Faults:
    failing: dict[str, str] = field(default_factory=dict)  # endpoint name -> the container's error message


@dataclass
class ServerlessEndpoint:
    name: str
    account: str
    region: str
    variant: str
    memory_mb: int
    max_concurrency: int
    environment: dict[str, str]
    provisioned_concurrency: int = 0  # ServerlessConfig.ProvisionedConcurrency (0: on demand)
    server: ModelServerLike | None = None
    last_used: datetime | None = None
    lock: ClockLock = field(default_factory=ClockLock)
    cold_starts: list[datetime] = field(default_factory=list)
    setup_us: float = 0.0  # the last cold start's ModelSetupTime
    start_failures: list[str] = field(default_factory=list)  # why each failed container start failed (its log)
    # (emulated time, served?, cold start?) per request, for tests and the demo's timeline
    requests: list[tuple[datetime, bool, bool]] = field(default_factory=list)

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [{"Name": "EndpointName", "Value": self.name}, {"Name": "VariantName", "Value": self.variant}]

    def is_warm(self, now: datetime, idle_evict_seconds: float) -> bool:
        if self.provisioned_concurrency > 0:
            return True  # provisioned concurrency keeps it warm (its container loads on first use)
        return (
            self.server is not None
            and self.last_used is not None
            and now - self.last_used < timedelta(seconds=idle_evict_seconds)
        )


class Registry:
    """Serverless endpoints, found from moto's endpoint configs on first use. One per process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.endpoints: dict[tuple[str, str, str], ServerlessEndpoint] = {}
        self.switches = ServerlessSwitches()
        self.faults = Faults()

    def reset(self) -> None:
        with self.lock:
            for endpoint in self.endpoints.values():
                _release_server(endpoint)
            self.endpoints.clear()
            self.faults = Faults()

    def snapshot(self) -> service_state.Restore:
        """The endpoints used so far (warmth, requests, cold starts) and the switches as now (localaws.service_state);
        putting them back clears injected faults and loads a container again where one was loaded then."""
        with self.lock:
            endpoints, switches = service_state.keep_records(self.endpoints), replace(self.switches)

        def restore() -> None:
            with self.lock:
                self.faults, self.switches = Faults(), replace(switches)
                live = service_state.put_back_records(self.endpoints, endpoints, ServerlessEndpoint, _release_server)
                for endpoint, kept in live:
                    if kept.loaded and endpoint.server is None:
                        endpoint.server = self.switches.model_server_factory(endpoint.environment)

        return restore

    def lookup(self, account: str, region: str, name: str) -> ServerlessEndpoint | None:
        """The endpoint if its config's variant is serverless; None for any other endpoint."""
        key = (account, region, name)
        with self.lock:
            if key in self.endpoints:
                return self.endpoints[key]
            backend = sm_models.sagemaker_backends[account][region]
            endpoint = backend.endpoints.get(name)
            config = backend.endpoint_configs.get(endpoint.endpoint_config_name) if endpoint else None
            variant = next(
                (v for v in (config.production_variants if config else []) if v.get("ServerlessConfig")), None
            )
            if variant is None:
                return None
            model = backend._models.get(str(variant.get("ModelName")))
            container: dict[str, Any] = (getattr(model, "primary_container", None) or {}) if model else {}
            serverless = variant["ServerlessConfig"]
            found = ServerlessEndpoint(
                name=name,
                account=account,
                region=region,
                variant=variant.get("VariantName") or "AllTraffic",
                memory_mb=int(serverless.get("MemorySizeInMB", 0)),
                max_concurrency=int(serverless.get("MaxConcurrency", 1)),
                provisioned_concurrency=int(serverless.get("ProvisionedConcurrency") or 0),
                environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
            )
            self.endpoints[key] = found
            return found

    def invoke(self, endpoint: ServerlessEndpoint, body: bytes, content_type: str, accept: str) -> InvocationResultLike:
        setups_before = len(endpoint.cold_starts)  # a cold start under way when this request came ends after it
        with _queued(endpoint.lock):
            now = clock_mod.now()
            cold = not endpoint.is_warm(now, self.switches.idle_evict_seconds)
            if not cold and len(endpoint.cold_starts) > setups_before and self.switches.setup_time_for_queued:
                self._setup_time(endpoint)  # it waited behind that cold start
            if cold:
                self._cold_start(endpoint)
            elif endpoint.server is None:  # provisioned: warm from creation, loaded here on first use
                self._load(endpoint)
            failure = self.faults.failing.get(endpoint.name)
            assert endpoint.server is not None
            if failure is None:
                with paused(), serverless_container.writes_only_under():
                    result = endpoint.server.invoke(body, content_type, accept)
            endpoint.last_used = clock_mod.now()

        def metric(name: str, value: float, unit: str) -> None:
            cloudwatch.record(
                endpoint.account, endpoint.region, "AWS/SageMaker", name, value, endpoint.dimensions, unit
            )

        metric("Invocations", 1.0, "Count")
        if failure is not None or result.status >= 400:
            status = 500 if failure is not None else result.status
            metric("Invocation4XXErrors" if status < 500 else "Invocation5XXErrors", 1.0, "Count")
            endpoint.requests.append((endpoint.last_used, False, cold))
            text = failure if failure is not None else result.body.decode("utf-8", "replace")
            raise RuntimeModelError(
                f'Received server error ({status}) from primary with message "{text}".', status, text
            )
        metric("ModelLatency", result.model_latency_ms * 1000.0, "Microseconds")
        endpoint.requests.append((endpoint.last_used, True, cold))
        return result

    def _cold_start(self, endpoint: ServerlessEndpoint) -> None:
        """A new container: the emulated cold start, then the real model load (emulated clock paused)."""
        _release_server(endpoint)
        started = clock_mod.now()
        LOG.info("serverless %s: cold start (%.0f s)", endpoint.name, self.switches.cold_start_seconds)
        clock_mod.sleep(self.switches.cold_start_seconds)
        self._load(endpoint)
        endpoint.setup_us = (clock_mod.now() - started).total_seconds() * 1e6
        endpoint.cold_starts.append(started)
        self._setup_time(endpoint)

    def _setup_time(self, endpoint: ServerlessEndpoint) -> None:
        """A ModelSetupTime datum of the endpoint's last cold start."""
        cloudwatch.record(
            endpoint.account,
            endpoint.region,
            "AWS/SageMaker",
            "ModelSetupTime",
            endpoint.setup_us,
            endpoint.dimensions,
            "Microseconds",
        )

    def _load(self, endpoint: ServerlessEndpoint) -> None:
        """The container's start and the real model load, with the emulated clock paused."""
        try:
            with paused():
                endpoint.server = self.switches.model_server_factory(endpoint.environment)
        except Exception as exc:  # the container never became healthy: /ping fails, the caller gets an error
            reason = str(exc) if isinstance(exc, serverless_container.ContainerStartFailed) else repr(exc)
            LOG.error("serverless %s: the container did not start: %s", endpoint.name, reason)
            endpoint.start_failures.append(reason)
            text = serverless_container.PING_FAILURE.format(variant=endpoint.variant)
            raise RuntimeModelError(
                f'Received server error (500) from primary with message "{text}".', 500, text
            ) from exc


SERVERLESS = Registry()


def invoke(
    account: str, region: str, endpoint_name: str, body: bytes, content_type: str, accept: str
) -> InvocationResultLike | None:
    """Serve the request if `endpoint_name` is serverless; None otherwise (the caller falls back to moto)."""
    endpoint = SERVERLESS.lookup(account, region, endpoint_name)
    if endpoint is None:
        return None
    return SERVERLESS.invoke(endpoint, body, content_type, accept)


def find(name: str) -> ServerlessEndpoint | None:
    """A serverless endpoint already used, by name in any account/region."""
    with SERVERLESS.lock:
        return next((e for (_, _, n), e in SERVERLESS.endpoints.items() if n == name), None)


def _queued(lock: ClockLock) -> contextlib.AbstractContextManager[Any]:
    """Hold `lock`; while waiting for it, this request and its caller do not hold emulated time still (the
    request ahead of it may be in a cold start, which waits on emulated time: EmulatedClock.holding)."""
    clock = clock_mod.current()
    return clock.holding(lock) if clock else lock.lock


def _release_server(endpoint: ServerlessEndpoint) -> None:
    server, endpoint.server = endpoint.server, None
    close_quietly(server, endpoint.name)
