"""A Lambda runner: moto's Lambda `Invoke` runs the project's real handler in-process.

A function is created in moto as usual (Handler, Environment, Timeout from its configuration) and its
code directory (CodeUri) and layer directories are registered here. Each invocation runs in an execution
environment of its function, as on AWS (Lambda developer guide, "Understanding the Lambda execution environment
lifecycle" and "Understanding Lambda function scaling": an environment runs one invocation at a time and is reused
for the next; a request arriving while all of a function's environments are busy gets a new one, with its own
Init; different functions never share one): an idle environment of the function if there is one (warm), else a
new one, which imports the handler module afresh (its own module globals). The handler is called with the event
and a LambdaContext-like object, with the function's environment visible to the invoking thread only. So
functions, and concurrent invocations of one function, run at once: none waits for another. The environment
carries credentials of the function's execution role (`LambdaRunner.credentials`, set by the emulator: an
assumed-role session named after the function, as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in
Lambda's runtime environment, "Defined runtime environment variables" in the Lambda developer guide). The layer's
per-container state (sleepwake.runtime: its boto3 session, clients and control plane) is kept per execution
environment by the emulator (`LambdaRunner.environment()`, Emulator._host_sleepwake). An unhandled exception comes
back as a function error (`X-Amz-Function-Error: Unhandled`, payload `errorType` = exception class name), which is
what Step Functions Retry/Catch match on.

Differs from AWS: one process for all functions: modules other than the handler's own (its siblings in the code
directory, the layer's, libraries') are imported once and shared by every environment, so sibling modules of two
functions with the same name collide in sys.modules, and boto3's default session (`boto3.client()`) is one for the
process, where each environment has its own: the project's handlers take their clients from sleepwake.runtime
instead (tests/localaws/test_lambda_runner.py checks no handler or layer module uses the default session);
Powertools' one metric set per process is shared too, its changes and flushes made atomic here
(`_atomic_powertools_metrics`), and its Logger's keys (function name, request id, correlation id) are one set
for the process, so a log line may carry those of another invocation running at once; an
environment is never shut down while its function exists (no idle reclaim); Timeout, memory and concurrency
limits are not enforced; `get_remaining_time_in_millis` counts wall time; the layer is put on sys.path as a
directory, not unpacked from a zip; X-Ray is disabled; handlers run under a soft clock pause (no emulated time
passes unless they sleep on the clock or run long).

What a handler writes to stdout goes where the process's stdout goes (the demo's lambda.log) and is also read
as CloudWatch Logs would read the function's log group for the embedded metric format
(localaws.cloudwatch_emf): Powertools' metrics become CloudWatch metric data, as on AWS.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from localaws import clock as clock_mod
from localaws import cloudwatch_emf, service_state

LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------- per-thread stdout
_CAPTURE = threading.local()
_TEE_LOCK = threading.Lock()


class _Tee:
    """sys.stdout that also keeps what a thread writes while it runs a handler (`_captured_stdout`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        kept = getattr(_CAPTURE, "lines", None)
        if kept is not None:
            kept.append(text)
        return int(self.inner.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextlib.contextmanager
def _captured_stdout() -> Iterator[list[str]]:
    """What this thread writes to sys.stdout inside the block (still written through); a redirect_stdout around
    the emulator keeps working, as the tee wraps whatever stdout is at the time."""
    with _TEE_LOCK:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)
    outer = getattr(_CAPTURE, "lines", None)
    kept: list[str] = []
    _CAPTURE.lines = kept
    try:
        yield kept
    finally:
        _CAPTURE.lines = outer


# --------------------------------------------------------------------------- per-thread environment
class ThreadEnviron(MutableMapping[str, str]):
    """os.environ with a per-thread overlay, so concurrent handlers each see their own variables."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base
        self._local = threading.local()

    def _overlay(self) -> dict[str, str] | None:
        return getattr(self._local, "overlay", None)

    def push_overlay(self, overlay: dict[str, str]) -> None:
        self._local.overlay = overlay

    def pop_overlay(self) -> None:
        self._local.overlay = None

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            return overlay[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is not None:
            overlay[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            del overlay[key]
        else:
            del self.base[key]

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay() or {}
        yield from overlay
        yield from (k for k in self.base if k not in overlay)

    def __len__(self) -> int:
        return len(set(self.base) | set(self._overlay() or {}))

    # The rest of what os._Environ offers beyond MutableMapping (CPython 3.11 Lib/os.py, class _Environ:
    # __repr__, copy, setdefault, __ior__, __or__, __ror__), with the same semantics over this thread's view:
    # code that ran a local stack earlier in the process (a test worker) still gets a whole os.environ.
    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"

    def copy(self) -> dict[str, str]:
        return dict(self)

    def setdefault(self, key: str, value: str) -> str:
        if key not in self:
            self[key] = value
        return self[key]

    def __ior__(self, other: Any) -> ThreadEnviron:
        self.update(other)
        return self

    def __or__(self, other: Any) -> dict[str, str]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**self, **other}

    def __ror__(self, other: Any) -> dict[str, str]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self}

    # os._Environ's attributes (encodekey, ...) that some libraries touch
    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def _install_thread_environ() -> ThreadEnviron:
    if not isinstance(os.environ, ThreadEnviron):
        # Replacing (not clearing) is the point: the base mapping keeps the process environment.
        os.environ = ThreadEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003
    return os.environ  # type: ignore[return-value]


# --------------------------------------------------------------------------------------- the runner
@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: int
    _start: float = field(default_factory=time.monotonic)
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._start)) * 1000))


@dataclass
class ExecutionEnvironment:
    """One execution environment of a function: its handler module, imported at its Init, and the invocations it
    ran (one at a time)."""

    key: str  # "<function>#<n>": the n-th environment the function started
    module: ModuleType | None = None
    handler_name: str | None = None
    invocations: int = 0


@dataclass
class Registration:
    code_dir: Path
    layer_dirs: tuple[Path, ...] = ()
    idle: list[ExecutionEnvironment] = field(default_factory=list)  # warm, waiting for an invocation
    started: int = 0  # environments the function has had


@dataclass
class InvocationRecord:
    function_name: str
    request_id: str
    event: Any
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    wall_seconds: float = 0.0
    handler_seconds: float = 0.0  # inside the handler only (wall_seconds includes a new environment's Init)
    at: datetime = field(default_factory=clock_mod.now)  # when it was invoked, in the emulator's time
    done: bool = False  # it returned or raised (result or error_type is final)


class LambdaRunner:
    """Registry of function name -> code directory, and the in-process invoke."""

    def __init__(self) -> None:
        self.functions: dict[str, Registration] = {}
        self.base_env: dict[str, str] = {}
        self.invocations: list[InvocationRecord] = []
        self._import_lock = threading.RLock()
        self._environments_lock = threading.Lock()  # each Registration's idle list and count
        self._current = threading.local()  # .environment: the ExecutionEnvironment this thread's invocation runs in
        self._events: list[threading.Thread] = []  # Event invocations under way (run_event)
        self._events_lock = threading.Lock()
        self.clock: Any = None  # set by the emulator: handlers run while emulated time stands still
        # fn -> AWS_* credential variables of its execution role (set by the emulator when IAM is enforced)
        self.credentials: Callable[[Any], dict[str, str]] | None = None

    def reset(self) -> None:
        """Forget every function and its environments."""
        self.functions.clear()
        self.invocations.clear()

    def environment(self) -> str | None:
        """The key of the execution environment the calling thread's invocation runs in ("<function>#<n>"), None
        outside any invocation: whoever hosts per-environment state keys it on this (Emulator._host_sleepwake)."""
        current = getattr(self._current, "environment", None)
        return current.key if current is not None else None

    def run_event(self, fn: Any, payload: bytes | str | None, region: str) -> None:
        """An Event invocation (InvocationType Event, an EventBridge rule's or a schedule's target): `run` in a
        thread of its own, counted as running work on the clock from now until it ends (clock.spawn)."""
        with self._events_lock:
            self._events = [thread for thread in self._events if thread.is_alive()]
            self._events.append(clock_mod.spawn(self.run, fn, payload, region, name=f"lambda-{fn.function_name}"))

    def finish_events(self, timeout: float) -> list[str]:
        """Wait up to `timeout` wall seconds for the Event invocations under way to end; the names of those still
        running then. What the emulator does before its server stops (not an AWS behaviour: the emulator's own
        shutdown): a handler still running afterwards calls a closed port, and its SDK retries with backoff for
        half a minute (sleepwake.adapters.aws RETRY_CONFIG), and while it does the next emulator's set-up runs
        beside it (it once held a test's set-up 35 s)."""
        deadline = time.monotonic() + timeout
        with self._events_lock:
            running = [thread for thread in self._events if thread is not threading.current_thread()]
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in running if thread.is_alive()]

    def snapshot(self) -> service_state.Restore:
        """The invocations so far (localaws.service_state); functions and their warm containers stay."""
        return service_state.log_snapshot(self.invocations)

    def register(self, function_name: str, code_dir: str | Path, layer_dirs: tuple[str | Path, ...] = ()) -> None:
        self.functions[function_name] = Registration(
            Path(code_dir).resolve(), tuple(Path(d).resolve() for d in layer_dirs)
        )

    @contextlib.contextmanager
    def _environment(self, name: str, reg: Registration) -> Iterator[ExecutionEnvironment]:
        """An idle environment of the function (the one used last: warm), else a new one; idle again after."""
        with self._environments_lock:
            if reg.idle:
                environment = reg.idle.pop()
            else:
                reg.started += 1
                environment = ExecutionEnvironment(f"{name}#{reg.started}")
        self._current.environment = environment
        try:
            yield environment
        finally:
            self._current.environment = None
            environment.invocations += 1
            with self._environments_lock:
                reg.idle.append(environment)

    def _load(self, environment: ExecutionEnvironment, reg: Registration, handler: str) -> Any:
        """The handler of `environment`, its module imported on the environment's first invocation (its Init)."""
        module_path, _, func_name = handler.rpartition(".")
        with self._import_lock:
            if environment.module is None or environment.handler_name != handler:
                for layer in reg.layer_dirs:
                    for candidate in (layer / "python", layer):
                        if candidate.is_dir() and str(candidate) not in sys.path:
                            sys.path.append(str(candidate))
                            break
                file = reg.code_dir / (module_path.replace(".", "/") + ".py")
                if not file.is_file():
                    raise ImportError(f"Unable to import module '{module_path}': no {file}")
                unique = (
                    f"localaws_fn_{environment.key.replace('-', '_').replace('#', '_')}_{module_path.replace('.', '_')}"
                )
                spec = importlib.util.spec_from_file_location(unique, file)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.path.insert(0, str(reg.code_dir))
                try:
                    sys.modules[unique] = module
                    spec.loader.exec_module(module)
                finally:
                    sys.path.remove(str(reg.code_dir))
                environment.module, environment.handler_name = module, handler
            return getattr(environment.module, func_name)

    def run(self, fn: Any, payload: bytes | str | None, region: str) -> tuple[bytes, str | None]:
        """Invoke moto function object `fn` with a raw payload; returns (response payload, function error)."""
        name = fn.function_name
        request_id = str(uuid.uuid4())
        event = json.loads(payload) if payload else {}
        record = InvocationRecord(name, request_id, event)
        self.invocations.append(record)
        reg = self.functions.get(name)
        env = {
            **self.base_env,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(self.credentials(fn) if self.credentials else {}),
            **{k: str(v) for k, v in (fn.environment_vars or {}).items()},
        }
        environ = _install_thread_environ()
        start = time.monotonic()
        environ.push_overlay(env)
        try:
            if reg is None:
                raise _NotRegistered(f"localaws: no code registered for function {name} (LambdaRunner.register)")
            context = LambdaContext(
                function_name=name,
                function_version="$LATEST",
                invoked_function_arn=fn.function_arn,
                memory_limit_in_mb=int(fn.memory_size),
                aws_request_id=request_id,
                log_group_name=f"/aws/lambda/{name}",
                log_stream_name=f"localaws/{request_id}",
                timeout_seconds=int(fn.timeout),
            )
            pause = self.clock.paused(soft=True) if self.clock is not None else contextlib.nullcontext()
            with self._environment(name, reg) as environment:
                handler = self._load(environment, reg, fn.handler)
                with pause, _captured_stdout() as output:
                    began = time.monotonic()
                    try:
                        result = handler(event, context)
                    finally:
                        record.handler_seconds = time.monotonic() - began
                        cloudwatch_emf.ingest(output, fn.function_arn.split(":")[4], region)
            record.result = result
            return json.dumps(result, default=str).encode("utf-8"), None
        except Exception as exc:
            error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else type(exc).__name__
            record.error_type, record.error_message = error_type, str(exc)
            LOG.warning("lambda %s raised %s: %s", name, error_type, exc)
            body = {
                "errorMessage": str(exc),
                "errorType": error_type,
                "requestId": request_id,
                "stackTrace": traceback.format_exception(exc)[1:],
            }
            return json.dumps(body).encode("utf-8"), "Unhandled"
        finally:
            environ.pop_overlay()
            record.wall_seconds = time.monotonic() - start
            record.done = True


class _NotRegistered(Exception):
    pass


RUNNER = LambdaRunner()


def _invoke(
    self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    fn = self.get_function(function_name, qualifier)
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "Event":
        RUNNER.run_event(fn, body, self.region_name)
        return b""
    if invocation_type == "DryRun":
        return b""
    payload, error = RUNNER.run(fn, body, self.region_name)
    if error:
        response_headers["x-amz-function-error"] = error
    response_headers["Content-Length"] = str(len(payload))
    return payload


def invoke_async(account: str, region: str, function_arn: str, payload: str) -> None:
    """For EventBridge rules and Scheduler: an Event invocation."""
    from moto.awslambda_simple.models import lambda_simple_backends

    backend = lambda_simple_backends[account][region]
    RUNNER.run_event(backend.get_function(function_arn), payload, region)


def install() -> None:
    """Route moto's no-Docker Lambda Invoke to the runner (needs config lambda.use_docker = False)."""
    from moto.core.config import default_user_config

    default_user_config.setdefault("lambda", {})["use_docker"] = False
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    _atomic_powertools_metrics()


_METRICS_LOCK = threading.RLock()


def _atomic_powertools_metrics() -> None:
    """Powertools' Metrics keeps one metric set per process (class attributes every instance shares:
    aws_lambda_powertools/metrics/metrics.py, "We use class attrs to share metrics data across instances"), which
    in Lambda one environment (a process) uses one invocation at a time. Here environments run at once in one
    process, so each change and flush of that set is made atomic: no metric is lost between a flush's
    serialisation and its clear, and no flush fails on a set changed while it is serialised. A metric one
    invocation adds may be flushed by another's `log_metrics`, with the same namespace and default dimensions (the
    layer's one `metrics`), so CloudWatch gets the same data points."""
    try:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
    except ImportError:  # no function here uses Powertools
        return
    for name in ("add_metric", "add_dimension", "add_metadata", "set_default_dimensions", "flush_metrics"):
        method = getattr(AmazonCloudWatchEMFProvider, name)
        if getattr(method, "localaws_atomic", False):
            continue

        @functools.wraps(method)
        def atomic(*args: Any, __method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with _METRICS_LOCK:
                return __method(*args, **kwargs)

        atomic.localaws_atomic = True  # type: ignore[attr-defined]
        setattr(AmazonCloudWatchEMFProvider, name, atomic)
