"""The loopback AWS: a threaded moto server with the localaws extensions, one emulated clock, schedules,
alarm evaluation and the Lambda runner, started and stopped together.

With `instant_calls` (the default) API calls, Lambda handlers and Step Functions' own work take no
emulated time (soft clock pauses), so timelines show what AWS takes, not how fast this host is.

Differs from AWS: one account and region; credentials and IAM policies are not checked; everything runs
in this process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from localaws import (
    autoscaling,
    cloudwatch,
    dynamodb,
    events,
    lambdas,
    sagemaker,
    sagemaker_serverless,
    scheduler,
    stepfunctions,
)
from localaws import clock as clock_mod
from localaws.clock import EmulatedClock

LOG = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"


def install_extensions() -> None:
    """Apply every moto extension (idempotent). The server must run in this process to see them."""
    sagemaker.install()
    dynamodb.install()
    autoscaling.install()
    lambdas.install()
    stepfunctions.install()
    events.install()
    scheduler.install()


class _Server(ThreadedMotoServer):
    """moto's threaded server, with every request handled while emulated time stands still."""

    def __init__(self, *, clock: EmulatedClock | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock

    def _server_entry(self) -> None:
        app: Any = DomainDispatcherApplication(create_backend_app)
        clock = self._clock
        if clock is not None:
            inner = app

            def app(environ: dict[str, Any], start_response: Any) -> Any:
                with clock.paused(soft=True):
                    return list(inner(environ, start_response))

        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def _reset_sleepwake_clients() -> None:
    """The layer caches boto3 clients per process; they must follow the emulator's endpoint."""
    try:
        from sleepwake.adapters import aws
    except ImportError:
        return
    if hasattr(aws, "reset"):
        aws.reset()


def seconds(text: str) -> float:
    """An argparse type: emulated seconds, 0 or more (a one-line error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, got {text}")
    return value


def add_instance_options(parser: argparse.ArgumentParser) -> None:
    """The two-phase provisioning and serverless fallback settings as command-line options (`make local`,
    `python -m localaws`)."""
    parser.add_argument(
        "--copy-seconds",
        type=seconds,
        default=None,
        help="a copy on an instance the endpoint still has, emulated seconds (default: 57%% of --provisioning-seconds, "
        "the share AWS's scale-to-zero blog measured)",
    )
    parser.add_argument(
        "--release-seconds",
        type=seconds,
        default=600.0,
        help="instances go this long after every copy on the endpoint reached 0 (default 600, AWS's ~10 min)",
    )
    parser.add_argument(
        "--fallback-cold-start",
        type=seconds,
        default=15.0,
        help="a cold serverless (fallback) endpoint's start before its first answer, emulated seconds (default 15: "
        'AWS says "in the order of seconds"; the simulator uses 10-20)',
    )
    parser.add_argument(
        "--fallback-idle-evict",
        type=seconds,
        default=600.0,
        help="an idle serverless endpoint goes cold after this long (default 600; unpublished, an assumption)",
    )


class Emulator:
    """Start with `Emulator(clock=EmulatedClock(start, speed)).start()`, or use it as a context manager."""

    def __init__(
        self,
        clock: EmulatedClock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        region: str = "us-east-1",
        account: str = DEFAULT_ACCOUNT,
        provisioning_seconds: float = 210.0,
        scale_in_seconds: float = 30.0,
        copy_seconds: float | None = None,
        release_seconds: float = 600.0,
        copies_per_instance: int = 1,
        model_server_factory: sagemaker.ModelServerFactory | None = None,
        fallback_cold_start_seconds: float = 15.0,
        fallback_idle_evict_seconds: float = 600.0,
        fallback_server_factory: sagemaker_serverless.ServerFactory | None = None,
        set_process_env: bool = True,
        instant_calls: bool = True,
    ) -> None:
        self.clock = clock or EmulatedClock()
        self.host = host
        self.port = port
        self.region = region
        self.account = account
        self.set_process_env = set_process_env
        # API calls and Lambda handlers take no emulated time (their wall time times the speed factor would
        # otherwise add minutes to every wake); emulated delays come only from what AWS itself takes.
        self.instant_calls = instant_calls
        sagemaker.REGISTRY.settings = sagemaker.Settings(
            provisioning_seconds=provisioning_seconds,
            scale_in_seconds=scale_in_seconds,
            copy_seconds=copy_seconds,
            release_seconds=release_seconds,
            copies_per_instance=copies_per_instance,
            model_server_factory=model_server_factory or sagemaker.real_model_server_factory,
        )
        self.sagemaker = sagemaker.REGISTRY
        self.serverless = sagemaker_serverless.SERVERLESS
        self.serverless.settings = sagemaker_serverless.Settings(
            cold_start_seconds=fallback_cold_start_seconds,
            idle_evict_seconds=fallback_idle_evict_seconds,
            model_server_factory=fallback_server_factory or sagemaker_serverless.real_cpu_model_server,
        )
        self.lambdas = lambdas.RUNNER
        self.alarms = cloudwatch.AlarmEvaluator(self.clock, account, region)
        self.alarms.action_handlers.append(autoscaling.alarm_action_handler(account, region))
        self.alarms.action_handlers.append(self._sns_action)
        self.scheduler = scheduler.Scheduler(
            self.clock, account, region, self._start_state_machine, lambdas.invoke_async
        )
        self._server: ThreadedMotoServer | None = None
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, reset: bool = True) -> Emulator:
        install_extensions()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        if reset:
            self.reset()
        self._server = _Server(
            ip_address=self.host, port=self.port, verbose=False, clock=self.clock if self.instant_calls else None
        )
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        env = {
            "MOTO_PORT": str(self.port),  # moto's Step Functions engine calls back on this port
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        for key, value in env.items():
            if self.set_process_env or key == "MOTO_PORT":
                self._saved_env.setdefault(key, os.environ.get(key))
                os.environ[key] = value
        self.lambdas.base_env = dict(env)
        self.lambdas.clock = self.clock if self.instant_calls else None
        stepfunctions.Settings.instant = self.instant_calls
        clock_mod.install(self.clock)
        events.start_state_machine = self._start_state_machine
        events.invoke_lambda_async = lambdas.invoke_async
        self._install_sleepwake_clock()
        self.alarms.start()
        self.scheduler.start()
        LOG.info("localaws on %s, clock %s x%s", self.endpoint_url, self.clock.now().isoformat(), self.clock.speed)
        return self

    def _install_sleepwake_clock(self) -> None:
        try:
            from sleepwake import clock as sw_clock
        except ImportError:  # the layer is not on sys.path: handlers cannot run either
            return
        sw_clock.use(self.clock.now, self.clock.sleep)
        _reset_sleepwake_clients()

    def stop(self) -> None:
        self.scheduler.stop()
        self.alarms.stop()
        self._stop_executions()
        self.sagemaker.reset()  # stops transitions, closes model servers
        if self._server:
            self._server.stop()
            self._server = None
        try:
            from sleepwake import clock as sw_clock

            sw_clock.reset()
        except ImportError:
            pass
        clock_mod.install(None)
        _reset_sleepwake_clients()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _stop_executions(self) -> None:
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

    def reset(self) -> None:
        """Forget every resource in every moto backend and every inference component."""
        from moto.moto_api._internal.models import moto_api_backend

        self.sagemaker.reset()
        self.serverless.reset()
        moto_api_backend.reset()
        self.lambdas.reset()
        events.DELIVERED.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        factory: Any = boto3.client
        return factory(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

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

    def refuse_updates_while_updating(self, refuse: bool = True) -> None:
        """UpdateInferenceComponentRuntimeConfig on an IC that is Updating fails with ValidationException."""
        self.sagemaker.faults.refuse_updates_while_updating = refuse

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
        seconds pass. True when it held."""
        deadline = self.clock.now() + timedelta(seconds=timeout)
        wall_deadline = time.monotonic() + wall_timeout
        while True:
            if predicate():
                return True
            if self.clock.now() >= deadline or time.monotonic() >= wall_deadline:
                return False
            self.clock.sleep(poll)

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
