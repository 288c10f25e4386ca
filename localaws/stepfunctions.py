"""Fixes to moto's Step Functions interpreter so the project's state machines run as on AWS, in emulated time.

- aws-sdk service names `sagemakerruntime`, `applicationautoscaling`, `eventbridge` map to boto3 names;
- aws-sdk error names follow AWS: `<ServiceName>.<ErrorCode>` in PascalCase with an `Exception` suffix
  (`SageMaker.ThrottlingException`, `DynamoDb.ConditionalCheckFailedException`);
- datetimes in aws-sdk results become ISO-8601 strings (moto otherwise breaks DescribeExecution);
- StartExecution without a name gets a UUID (moto names them all "None");
- every AWS call of an execution (Lambda and aws-sdk tasks) carries assumed-role credentials of the state
  machine's own role (`Settings.credentials`, set by the emulator), as Step Functions calls services with
  the execution role ("How Step Functions works with IAM"); moto signs them all with a fixed "ak"/"sk";
- Wait (Seconds/SecondsPath/Timestamp/TimestampPath) and Retry backoff sleep on the emulated clock, the
  rest of an execution takes no emulated time (with the emulator's instant_calls), and
  execution start/stop dates, history timestamps and `$$.State.EnteredTime` read it.

Differs from AWS: timestamps in aws-sdk results are ISO strings with a `Z` (AWS shows them the same way
in the console, but the exact sub-second format is not checked); Retry jitter is whatever moto does.
"""

from __future__ import annotations

import datetime as _dt
import threading
import types
import uuid
from typing import Any

from moto.stepfunctions.parser import models as sfn_models
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state import state as state_mod
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp as wait_timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend import execution as execution_mod
from moto.stepfunctions.parser.backend import execution_worker

from localaws import clock as clock_mod

BOTO_NAMES = {
    "sagemakerruntime": "sagemaker-runtime",
    "applicationautoscaling": "application-autoscaling",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
}

SERVICE_ERROR_NAMES = {
    "sagemaker": "SageMaker",
    "sagemakerruntime": "SageMakerRuntime",
    "applicationautoscaling": "ApplicationAutoScaling",
    "dynamodb": "DynamoDb",
    "sfn": "Sfn",
    "lambda": "Lambda",
    "cloudwatch": "CloudWatch",
    "sns": "Sns",
    "sqs": "Sqs",
    "scheduler": "Scheduler",
    "eventbridge": "EventBridge",
    "s3": "S3",
    "ssm": "Ssm",
}


def aws_sdk_error_name(service: str, code: str) -> str:
    """`SageMaker.ThrottlingException` from ("sagemaker", "ThrottlingException")."""
    svc = SERVICE_ERROR_NAMES.get(service.lower(), service[:1].upper() + service[1:])
    return f"{svc}.{code}" if code.endswith("Exception") else f"{svc}.{code}Exception"


# ------------------------------------------------------------------------------------ aws-sdk errors
def _normalise_exception_name(norm_service_name: str, ex: Exception) -> str:
    code = getattr(ex, "response", {}).get("Error", {}).get("Code") or type(ex).__name__
    return f"{norm_service_name}.{code}" if code.endswith("Exception") else f"{norm_service_name}.{code}Exception"


def _normalise_service_error_name(service_name: str) -> str:
    return SERVICE_ERROR_NAMES.get(service_name.lower(), service_name[:1].upper() + service_name[1:])


def _stringify_datetimes(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _stringify_datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_datetimes(v) for v in value]
    return value


_ORIGINAL_EVAL_SERVICE_TASK = state_task_service_aws_sdk.StateTaskServiceAwsSdk._eval_service_task


def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_EVAL_SERVICE_TASK(self, env, *args, **kwargs)
    env.stack.append(_stringify_datetimes(env.stack.pop()))


# ------------------------------------------------------------------------------------- names
_ORIGINAL_START = sfn_models.StepFunctionsParserBackend.start_execution


def _start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
    return _ORIGINAL_START(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


# -------------------------------------------------------------------------------------- time
class _EmulatedDateTime(_dt.datetime):
    """`datetime.datetime` whose now()/utcnow() read the emulated clock (naive now() is UTC)."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        t = clock_mod.now()
        return t.astimezone(tz) if tz else t.astimezone(_dt.UTC).replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
        return clock_mod.now().astimezone(_dt.UTC).replace(tzinfo=None)


def _datetime_module() -> types.ModuleType:
    shim = types.ModuleType("datetime")
    shim.__dict__.update({k: v for k, v in vars(_dt).items() if not k.startswith("__")})
    shim.datetime = _EmulatedDateTime  # type: ignore[attr-defined]
    return shim


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    clock = clock_mod.current()
    event: threading.Event = env.program_state_event
    if clock is None:
        if wait_seconds > 0:
            event.wait(wait_seconds)
        return
    deadline = clock.now() + _dt.timedelta(seconds=wait_seconds)
    # The program-state event pulses (set/clear) when the execution stops: check is_running() between
    # short waits so a stopped execution leaves its Wait, and a clock jump is noticed within 50 ms.
    with clock.running():  # the execution's own pause (see _execution_logic) must not stop its Wait
        while env.is_running():
            remaining = (deadline - clock.now()).total_seconds()
            if remaining <= 0:
                return
            event.wait(min(clock.wall_seconds(remaining), 0.05))


class Settings:
    instant = True  # the emulator's instant_calls: interpreting states takes no emulated time
    # (role ARN, state machine name) -> credentials; None leaves moto's fixed keys (IAM not enforced)
    credentials: Any = None


_EXECUTION = threading.local()  # the running execution's (role ARN, state machine name), per worker thread


class _InheritingThread(threading.Thread):
    """moto evaluates the program and each state with a timeout in threads of their own: they carry the
    execution's role on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._localaws_role = getattr(_EXECUTION, "role", None)

    def run(self) -> None:
        _EXECUTION.role = self._localaws_role
        super().run()


def _threading_module() -> types.ModuleType:
    shim = types.ModuleType("threading")
    shim.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith("__")})
    shim.Thread = _InheritingThread  # type: ignore[attr-defined]
    return shim


_ORIGINAL_BOTO_CLIENT_FOR = boto_client.boto_client_for


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client factory, signing with the execution role's session instead of "ak"/"sk"."""
    client = _ORIGINAL_BOTO_CLIENT_FOR(region, service, state_credentials)
    who = getattr(_EXECUTION, "role", None)
    if Settings.credentials is None or who is None:
        return client
    keys = Settings.credentials(*who)
    import boto3

    factory: Any = boto3.client
    return factory(
        service,
        region_name=region,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config,
        **keys.boto(),
    )


_ORIGINAL_EXECUTION_LOGIC = execution_worker.ExecutionWorker._execution_logic


def _execution_logic(self: Any) -> None:
    """Run the program with emulated time standing still except in Wait states and Retry backoff."""
    details = self._evaluation_details
    _EXECUTION.role = (details.execution_details.role_arn, details.state_machine_details.name)
    try:
        clock = clock_mod.current()
        if clock is None or not Settings.instant:
            _ORIGINAL_EXECUTION_LOGIC(self)
            return
        with clock.paused(soft=True):
            _ORIGINAL_EXECUTION_LOGIC(self)
    finally:
        _EXECUTION.role = None


_retry_time = types.SimpleNamespace(sleep=lambda seconds: clock_mod.sleep(seconds))

_INSTALLED = False


def install() -> None:
    """Apply the fixes (idempotent) and make moto run state machines for real."""
    global _INSTALLED
    from moto.core.config import default_user_config

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    if _INSTALLED:
        return
    _INSTALLED = True
    overrides = state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES
    overrides.update(BOTO_NAMES)
    cls = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    cls._normalise_exception_name = staticmethod(_normalise_exception_name)  # type: ignore[method-assign]
    cls._normalise_service_error_name = staticmethod(_normalise_service_error_name)  # type: ignore[method-assign]
    cls._eval_service_task = _eval_service_task  # type: ignore[method-assign]
    sfn_models.StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
    wait_function.WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    execution_worker.ExecutionWorker._execution_logic = _execution_logic  # type: ignore[method-assign]
    retrier_decl.time = _retry_time  # type: ignore[assignment]
    import importlib
    import sys

    from moto.stepfunctions.parser.asl.component.program import program as program_mod
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state

    program_mod.threading = _threading_module()
    execute_state.Thread = _InheritingThread  # type: ignore[misc]
    base = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
    for name in ("lambda_eval_utils", *(f"service.state_task_service_{s}" for s in ("aws_sdk", "sns", "sfn"))):
        importlib.import_module(f"{base}.{name}")
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is (
            _ORIGINAL_BOTO_CLIENT_FOR
        ):
            module.boto_client_for = _boto_client_for  # type: ignore[attr-defined]
    shim = _datetime_module()
    for module in (sfn_models, execution_mod, event_manager, state_mod, wait_timestamp):
        module.datetime = shim  # type: ignore[attr-defined]
