"""The loopback AWS: a threaded moto server with the localaws extensions, one emulated clock, schedules,
alarm evaluation and the Lambda runner, started and stopped together.

With `instant_calls` (the default) API calls, Lambda handlers and Step Functions' own work take no
emulated time (soft clock pauses), so timelines show what AWS takes, not how fast this host is.

IAM is enforced (`iam=True`, the default; see `localaws.iam`): the emulator's own clients, the stack deployer
and the process environment use an administrator user (`admin_keys`), every Lambda function and state
machine calls AWS with assumed-role credentials of its own role.

`GET /_localaws/clock` answers the emulated time ({"now": ISO 8601 Z, "speed", "paused"}), so a process
outside the emulator (the operator CLI) can stamp what it writes with the stack's time; AWS has no such
route (its clock is the wall clock).

Differs from AWS: one account and region; everything runs in this process.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypedDict, Unpack

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from localaws import (
    autoscaling,
    calls,
    cloudwatch,
    cloudwatch_alarms,
    dynamodb,
    events,
    iam_simulate,
    iam_wire,
    lambdas,
    sagemaker,
    sagemaker_api,
    sagemaker_serverless,
    scheduler,
    service_state,
    servicequotas,
    sessions,
    stepfunctions,
    target_tracking,
)
from localaws import clock as clock_mod
from localaws import iam as iam_mod
from localaws.clock import EmulatedClock
from localaws.ports import listen
from sleepwake.core.timestamps import iso

LOG = logging.getLogger(__name__)


DEFAULT_ACCOUNT = "123456789012"


def _list_moto_modules_once() -> None:
    """moto's server finds the service of every request by listing moto's package folder again (moto 5.2.5
    moto_server/werkzeug_app.py get_backend_for_host -> backends.list_of_moto_modules: an os.listdir and an isdir
    per entry, ~2.7 ms of CPU per request, under the dispatcher's lock that every request takes); the folder does
    not change while the process runs, so it is listed once. The services found are moto's own, unchanged."""
    from moto import backends

    if not getattr(backends.list_of_moto_modules, "listed_once", False):
        listed = tuple(backends.list_of_moto_modules())

        def list_of_moto_modules() -> tuple[str, ...]:
            return listed

        list_of_moto_modules.listed_once = True  # type: ignore[attr-defined]
        backends.list_of_moto_modules = list_of_moto_modules


def install_extensions() -> None:
    """Apply every moto extension (idempotent). The server must run in this process to see them."""
    _list_moto_modules_once()
    sagemaker_api.install()
    dynamodb.install()
    autoscaling.install()
    lambdas.install()
    stepfunctions.install()
    events.install()
    scheduler.install()
    cloudwatch.install()
    iam_wire.install()
    iam_simulate.install()
    servicequotas.install()


CLOCK_PATH = "/_localaws/clock"
# How long stop() waits for the Lambda Event invocations under way to end before its server goes (they take
# milliseconds on a live server; LambdaRunner.finish_events says why a late one matters).
EVENT_INVOCATIONS_WALL_SECONDS = 30.0


def clock_answer(clock: EmulatedClock) -> dict[str, Any]:
    """What `GET /_localaws/clock` answers: the emulated time as the API writes times, and how it runs."""
    return {"now": iso(clock.now()), "speed": clock.speed, "paused": clock.is_paused}


class _Server(ThreadedMotoServer):
    """moto's threaded server, with every request handled while emulated time stands still (`pause`), and
    `GET /_localaws/clock` answering the emulated time, so a client in another process (the operator CLI)
    stamps what it writes with the stack's time. AWS has no such route (it needs none: its clock is the
    wall clock); LocalStack's `/_localstack/...` internal routes are the model for the prefix."""

    def __init__(self, *, clock: EmulatedClock, pause: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._pause = pause

    def start(self) -> None:
        """Bind in the caller's thread: moto binds in the server thread, so a busy port left start() waiting
        forever (and werkzeug answers a bind error with sys.exit in that thread)."""
        listener = listen(self._ip_address, self._port, backlog=128)  # werkzeug's own listen queue
        inner: Any = DomainDispatcherApplication(create_backend_app)
        clock, pause = self._clock, self._pause

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") == CLOCK_PATH and environ.get("REQUEST_METHOD") == "GET":
                # Answered outside any pause: reading the clock must not stop it.
                body = json.dumps(clock_answer(clock)).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            if not pause:
                return inner(environ, start_response)
            # A call from a thread of this process (calls.CALLER_HEADER): that thread waits while the call sleeps
            # on the clock (localaws/clock_calls.py, serving).
            with clock.paused(soft=True), clock.serving(calls.caller(environ)):
                return list(inner(environ, start_response))

        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler, fd=listener.fileno()
            )
        finally:
            listener.close()  # werkzeug serves a duplicate of it
        self._server_ready_event.set()
        self._thread = threading.Thread(target=self._server.serve_forever, name="localaws-moto", daemon=True)
        self._thread.start()


class Timings(TypedDict, total=False):
    """What the emulated AWS takes, as `Emulator` takes them (LocalStack and the command lines pass them on).
    Each defaults to its switch's value (`sagemaker.SageMakerSwitches`; the fallback_ ones
    `sagemaker_serverless.ServerlessSwitches`), where its source is named."""

    provisioning_seconds: float
    scale_in_seconds: float
    copy_seconds: float | None
    release_seconds: float
    copies_per_instance: int
    fallback_cold_start_seconds: float
    fallback_idle_evict_seconds: float


# Timings of the serverless fallback -> their names on ServerlessSwitches (the others are SageMakerSwitches').
_FALLBACK_TIMINGS = {
    "fallback_cold_start_seconds": "cold_start_seconds",
    "fallback_idle_evict_seconds": "idle_evict_seconds",
}


class Emulator:
    """Start with `Emulator(clock=EmulatedClock(start, speed)).start()`, or use it as a context manager.

    Much of what it emulates is process-wide: moto's backends (one account and region), the delivered-events,
    emitted-events and scaling-activity logs, the Step Functions switches, the installed clock. So `reset()`,
    `snapshot()` and a start (which resets) act on every emulator of the process; `running()` says which run."""

    _RUNNING: ClassVar[weakref.WeakSet[Emulator]] = weakref.WeakSet()

    @classmethod
    def running(cls) -> list[Emulator]:
        """The emulators started and not stopped in this process."""
        return list(cls._RUNNING)

    def __init__(
        self,
        clock: EmulatedClock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        region: str = "us-east-1",
        account: str = DEFAULT_ACCOUNT,
        model_server_factory: sagemaker.ModelServerFactory | None = None,
        fallback_server_factory: sagemaker_serverless.ServerFactory | None = None,
        set_process_env: bool = True,
        instant_calls: bool = True,
        iam: bool = True,
        **timings: Unpack[Timings],
    ) -> None:
        """`timings` not given keep the switches' defaults (`SageMakerSwitches`, `ServerlessSwitches`: each
        written once, with its source)."""
        self.clock = clock or EmulatedClock()
        self.host = host
        self.port = port
        self.region = region
        self.account = account
        self.set_process_env = set_process_env
        # API calls and Lambda handlers take no emulated time (their wall time times the speed factor would
        # otherwise add minutes to every wake); emulated delays come only from what AWS itself takes.
        self.instant_calls = instant_calls
        self.enforce_iam = iam
        self.admin_keys: iam_mod.Keys | None = None
        given: dict[str, Any] = dict(timings)
        fallback = {name: given.pop(key) for key, name in _FALLBACK_TIMINGS.items() if key in given}
        sagemaker.REGISTRY.switches = replace(
            sagemaker.SageMakerSwitches(
                model_server_factory=model_server_factory or sagemaker.real_model_server_factory
            ),
            **given,
        )
        self.sagemaker = sagemaker.REGISTRY
        self.serverless = sagemaker_serverless.SERVERLESS
        self.serverless.switches = replace(
            sagemaker_serverless.ServerlessSwitches(
                model_server_factory=fallback_server_factory or sagemaker_serverless.real_cpu_model_server
            ),
            **fallback,
        )
        self.lambdas = lambdas.RUNNER
        self.alarms = cloudwatch_alarms.AlarmEvaluator(self.clock, account, region)
        self.alarms.action_handlers.append(autoscaling.alarm_action_handler(account, region))
        self.alarms.computed = cloudwatch_alarms.ComputedMetrics(
            functools.partial(target_tracking.publish, account, region),
            functools.partial(target_tracking.publishing, account, region),
        )
        self.alarms.action_handlers.append(self._sns_action)
        self.scheduler = scheduler.Scheduler(
            self.clock, account, region, self._start_state_machine, lambdas.invoke_async
        )
        self._server: ThreadedMotoServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._clients: dict[tuple[str | None, ...], Any] = {}  # client_as(): (keys, service, endpoint) -> client
        self._clients_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def clock_url(self) -> str:
        """Where another process reads the emulated time (`GET` answers {"now", "speed", "paused"})."""
        return f"{self.endpoint_url}{CLOCK_PATH}"

    def start(self, reset: bool = True) -> Emulator:
        install_extensions()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        if reset:
            self.reset()
        self._server = _Server(
            ip_address=self.host, port=self.port, verbose=False, clock=self.clock, pause=self.instant_calls
        )
        try:
            self._server.start()
        except BaseException:
            self._server = None
            raise
        self.port = self._server.get_host_and_port()[1]
        Emulator._RUNNING.add(self)
        calls.serve(self.endpoint_url)
        keys = self._admin()
        env: dict[str, str | None] = {
            "MOTO_PORT": str(self.port),  # moto's Step Functions engine calls back on this port
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **keys.env(),
            "AWS_SESSION_TOKEN": None,  # an IAM user's key with a session token is refused (InvalidToken)
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        for key, value in env.items():
            if self.set_process_env or key == "MOTO_PORT":
                self._saved_env.setdefault(key, os.environ.get(key))
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.lambdas.base_env = {k: v for k, v in env.items() if v is not None}
        self.lambdas.credentials = self._function_credentials
        stepfunctions.StepFunctionsSwitches.credentials = self._state_machine_credentials
        self.lambdas.clock = self.clock if self.instant_calls else None
        stepfunctions.StepFunctionsSwitches.instant = self.instant_calls
        stepfunctions.StepFunctionsSwitches.emit_status_events = True
        clock_mod.install(self.clock)
        events.start_state_machine = self._start_state_machine
        events.invoke_lambda_async = lambdas.invoke_async
        self._host_sleepwake()
        self.alarms.start()
        self.scheduler.start()
        LOG.info("localaws on %s, clock %s x%s", self.endpoint_url, iso(self.clock.now()), self.clock.speed)
        return self

    def _admin(self) -> iam_mod.Keys:
        """The administrator identity (Action "*" on "*"): the deployer, the emulator's own clients, tests."""
        iam_mod.IamSwitches.enforce = self.enforce_iam
        if self.admin_keys is None:
            statement = {"Sid": "Administrator", "Effect": "Allow", "Action": "*", "Resource": "*"}
            self.admin_keys = iam_mod.create_user(self.account, iam_mod.ADMIN_USER, [statement])
        return self.admin_keys

    def _function_credentials(self, fn: Any) -> dict[str, str]:
        """A function's environment carries its execution role's session, named after the function as in
        AWS (the Lambda service assumes the role; AWS_SESSION_TOKEN is set)."""
        return iam_mod.SESSIONS.keys(self.account, fn.role, fn.function_name).env()

    def _state_machine_credentials(self, role_arn: str, machine: str) -> iam_mod.Keys:
        return iam_mod.SESSIONS.keys(self.account, role_arn, machine)

    def _host_sleepwake(self) -> None:
        """Host the layer's handlers (sleepwake.runtime.host): on the emulated clock, and each execution environment
        in a container of its own, as on AWS, so no function reuses another's clients (its role) or settings, and
        concurrent invocations of one function do not share a control plane."""
        try:
            from sleepwake import runtime
        except ImportError:  # the layer is not on sys.path: handlers cannot run either
            return
        containers: dict[str, runtime.Container] = {}
        lock = threading.Lock()

        def current() -> runtime.Container:
            # The execution environment the invoking thread's invocation runs in (LambdaRunner.environment); code
            # outside any function (a test, the operator CLI in-process) has a container of its own.
            key = self.lambdas.environment() or ""
            with lock:
                if key not in containers:
                    containers[key] = runtime.Container(session=sessions.session())  # the function's keys
                return containers[key]

        runtime.host(now=self.clock.now, sleep=self.clock.sleep, containers=current)

    def stop(self) -> None:
        Emulator._RUNNING.discard(self)
        self.scheduler.stop()
        self.alarms.stop()
        # Stopping executions now must not run their rules.
        stepfunctions.StepFunctionsSwitches.emit_status_events = False
        self.stop_executions()
        unfinished = self.lambdas.finish_events(timeout=EVENT_INVOCATIONS_WALL_SECONDS)  # before the server goes
        if unfinished:
            LOG.warning("stopping with Lambda invocations still running: %s", ", ".join(unfinished))
        self.sagemaker.reset()  # stops transitions, closes model servers
        if self._server:
            self._server.stop()
            self._server = None
        with self._clients_lock:
            self._clients.clear()
            calls.stop_serving(self.endpoint_url)
        try:
            from sleepwake import runtime

            runtime.unhost()
        except ImportError:
            pass
        clock_mod.install(None)
        iam_mod.IamSwitches.enforce = False
        self.lambdas.credentials = None
        stepfunctions.StepFunctionsSwitches.credentials = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def stop_executions(self) -> None:
        """Running executions would outlive the server (moto runs them in threads) and call a dead port."""
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(self.account, self.region)
        for machine in list(backend.state_machines):
            for execution in list(machine.executions):
                if execution.status == "RUNNING":
                    try:
                        backend.stop_execution(execution.execution_arn)
                    except Exception:
                        LOG.debug("could not stop %s", execution.execution_arn)

    def snapshot(self) -> service_state.Restore:
        """Every emulated service as now: moto's backends, then each service's own records (localaws.service_state);
        the result puts them all back. Process-wide, like moto's backends: what another emulator of the process
        made is kept and put back too. Take it and call it only while nothing runs (localaws.stack_reset)."""
        restores = [
            service_state.moto_snapshot(),
            self.sagemaker.snapshot(),
            self.serverless.snapshot(),
            self.lambdas.snapshot(),
            events.snapshot(),
            stepfunctions.snapshot(),
            autoscaling.snapshot(),
            self.scheduler.snapshot(),
            self.alarms.snapshot(),
        ]

        def restore() -> None:
            for put_back in restores:
                put_back()

        return restore

    def reset(self) -> None:
        """Forget every resource in every moto backend (process-wide: another emulator's too) and every inference
        component."""
        from moto.moto_api._internal.models import moto_api_backend

        self.sagemaker.reset()
        self.serverless.reset()
        moto_api_backend.reset()
        self.lambdas.reset()
        events.DELIVERED.clear()
        stepfunctions.EMITTED.clear()
        autoscaling.ACTIVITIES.clear()
        iam_mod.SESSIONS.reset()
        self.admin_keys = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.client_as(self._admin(), service)

    def client_keys(self) -> iam_mod.Keys:
        """The administrator's keys (what `client()` signs with)."""
        return self._admin()

    def client_as(self, keys: iam_mod.Keys, service: str) -> Any:
        """A boto3 client for the emulator calling with `keys` (an identity from `localaws.iam`): one per
        identity and service, made on first use (a deploy asks for ~80; boto3's low-level clients are thread
        safe, boto3 guide "Multithreading or multiprocessing with clients")."""
        key = (keys.access_key_id, keys.secret_access_key, keys.session_token, service, self.endpoint_url)
        with self._clients_lock:
            found = self._clients.get(key)
            if found is None:
                found = sessions.client(service, region_name=self.region, endpoint_url=self.endpoint_url, **keys.boto())
                self._clients[key] = found
        return found

    def _start_state_machine(self, account: str, region: str, arn: str, payload: str) -> None:
        from moto.stepfunctions.responses import get_backend

        get_backend(account, region).start_execution(arn, None, payload)  # type: ignore[arg-type]  # gets a UUID

    def _sns_action(self, arn: str, alarm: Any, event: dict[str, Any]) -> bool:
        if ":sns:" not in arn:
            return False
        from moto.sns.models import sns_backends

        message = {
            "AlarmName": alarm.name,
            "NewStateValue": alarm.state_value,
            "NewStateReason": alarm.state_reason,
            "StateChangeTime": event["time"],
            "Region": self.region,
            "AlarmArn": alarm.alarm_arn,
        }
        sns_backends[self.account][self.region].publish(
            message=json.dumps(message), arn=arn, subject=f'ALARM: "{alarm.name}"'
        )
        return True

    def on_alarm_state_change(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """`callback(event)` for every "CloudWatch Alarm State Change" event."""
        self.alarms.add_listener(callback)

    def fail_next_provisioning(self, component: str, reason: str = "Model container failed health checks") -> None:
        """The next transition that adds copies to `component` ends Failed with `reason`."""
        self.sagemaker.faults.fail_provisioning[component] = reason

    def fail_fallback(self, endpoint: str, message: str = "model container crashed", fail: bool = True) -> None:
        """Every request to the serverless `endpoint` fails with ModelError (until called with fail=False)."""
        if fail:
            self.serverless.faults.failing[endpoint] = message
        else:
            self.serverless.faults.failing.pop(endpoint, None)

    def serverless_endpoint(self, name: str) -> sagemaker_serverless.ServerlessEndpoint:
        """A serverless endpoint that has been invoked at least once."""
        found = sagemaker_serverless.find(name)
        if found is None:
            raise KeyError(name)
        return found

    def throttle(self, action: str | None = None, component: str | None = None, times: int = 1) -> None:
        """The next `times` matching SageMaker IC calls fail with ThrottlingException (HTTP 400)."""
        self.sagemaker.faults.throttles.extend([(action, component)] * times)

    def refuse_updates_while_updating(self, code: str | None = "ValidationException") -> None:
        """UpdateInferenceComponentRuntimeConfig on an IC that is Updating fails with `code`
        (ValidationException, ConflictException or ResourceInUse; None accepts it again)."""
        if code is not None and code not in sagemaker.REFUSALS:
            raise ValueError(f"no such refusal {code!r}: one of {sorted(sagemaker.REFUSALS)}")
        self.sagemaker.faults.refuse_updates_while_updating = code

    def fire_schedule(self, name: str, group: str = "default") -> scheduler.Firing:
        """Fire an EventBridge Scheduler schedule now, as if its time had come."""
        return self.scheduler.fire_now(name, group)

    def component(self, name: str) -> sagemaker.InferenceComponent:
        ic = self.sagemaker.find(name)
        if ic is None:
            raise KeyError(name)
        return ic

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 3600.0, poll: float = 5.0, wall_timeout: float = 120.0
    ) -> bool:
        """Poll `predicate` every `poll` emulated seconds until `timeout` emulated or `wall_timeout` wall
        seconds pass. True when it held. While the clock jumps over idle time, `poll` does not apply: the
        predicate is asked each time the clock is about to jump after something ran (EmulatedClock.look_after),
        which is when it can have changed, and only then."""
        clock = self.clock
        deadline = clock.now() + timedelta(seconds=timeout)
        wall_deadline = time.monotonic() + wall_timeout
        seen: int | None = None
        while True:
            if predicate():
                return True
            if clock.now() >= deadline or time.monotonic() >= wall_deadline:
                return False
            if clock.jumps_when_idle:
                seen = clock.look_after(deadline, seen, stop=lambda: time.monotonic() >= wall_deadline)
            else:
                clock.sleep(poll)

    def wait_for_execution(
        self, execution_arn: str, timeout: float = 3600.0, wall_timeout: float = 120.0
    ) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        out: dict[str, Any] = {}

        def done() -> bool:
            out.update(sfn.describe_execution(executionArn=execution_arn))
            return out["status"] != "RUNNING"

        self.wait_for(done, timeout=timeout, wall_timeout=wall_timeout)
        return out

    def now(self) -> datetime:
        return self.clock.now()
