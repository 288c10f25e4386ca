"""Fixes to moto's Step Functions interpreter so the project's state machines run as on AWS, in emulated time.

- aws-sdk service names `sagemakerruntime`, `applicationautoscaling`, `eventbridge` map to boto3 names;
- aws-sdk error names as Step Functions reports them (see "aws-sdk error names" below): a modelled error as
  `<Service>.<Shape>Exception` (`SageMaker.ResourceLimitExceededException`), any error the service's API model
  does not declare as the service's base exception (`SageMaker.SageMakerException`, throttling included);
- executions emit EventBridge "Step Functions Execution Status Change" events (RUNNING, SUCCEEDED, FAILED,
  TIMED_OUT, ABORTED) to the default bus, shaped as in the Step Functions developer guide
  (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html): source `aws.states`, resources
  [executionArn], detail {executionArn, stateMachineArn, name, status, startDate, stopDate (epoch ms), input,
  inputDetails, output, outputDetails, error, cause, redriveCount...}. AWS delivers them "best effort"
  (EventBridge reference, events-ref-states); here every one is delivered, at once;
- no Retry or Catch matches States.Runtime or States.DataLimitExceeded (moto's States.ALL did);
- datetimes in aws-sdk results become ISO-8601 strings (moto otherwise breaks DescribeExecution);
- StartExecution without a name gets a UUID (moto names them all "None");
- every AWS call of an execution (Lambda and aws-sdk tasks) carries assumed-role credentials of the state
  machine's own role (`StepFunctionsSwitches.credentials`, set by the emulator), as Step Functions calls services with
  the execution role ("How Step Functions works with IAM"); moto signs them all with a fixed "ak"/"sk";
- Wait (Seconds/SecondsPath/Timestamp/TimestampPath) and Retry backoff sleep on the emulated clock, the
  rest of an execution takes no emulated time (with the emulator's instant_calls), and
  execution start/stop dates, history timestamps and `$$.State.EnteredTime` read it. An execution is one
  pause (`clock_pause.SharedPause`) whichever of moto's threads runs its states; a Wait or a backoff suspends it
  and sleeps until its deadline, so a clock that jumps when idle jumps to it.

The aws-sdk service names, error names and result datetimes, with their sources, are
`localaws.stepfunctions_aws_sdk`'s; this module installs them into moto.

Differs from AWS: timestamps in aws-sdk results are ISO strings with a `Z` (AWS shows them the same way
in the console, but the exact sub-second format is not checked); Retry jitter is whatever moto does.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from moto.stepfunctions.parser import models as sfn_models
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl, states_error_name
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
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
from localaws import cloudwatch, service_state, sessions
from localaws import events as events_mod
from localaws import stepfunctions_aws_sdk as aws_sdk
from localaws.clock_pause import SharedPause

LOG = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- aws-sdk integrations
def _normalise_exception_name(norm_service_name: str, ex: Exception) -> str:
    # botocore raises a class named after the error shape for every error the service model declares, and a
    # plain ClientError otherwise (the same split the Java SDK makes).
    shape = None if type(ex).__name__ == "ClientError" else type(ex).__name__
    prefix = norm_service_name
    return f"{prefix}.{aws_sdk.exception_name(shape) if shape else prefix + 'Exception'}"


def _normalise_service_error_name(service_name: str) -> str:
    return aws_sdk.service_error_prefix(service_name, StepFunctionsSwitches.service_prefix)


_ORIGINAL_EVAL_SERVICE_TASK = state_task_service_aws_sdk.StateTaskServiceAwsSdk._eval_service_task


def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_EVAL_SERVICE_TASK(self, env, *args, **kwargs)
    env.stack.append(aws_sdk.stringify_datetimes(env.stack.pop()))


# ----------------------------------------------------------------------------------- terminal errors
# AWS (developer guide, "Handling errors in Step Functions"): a States.Runtime error "isn't retriable, and will
# always cause the execution to fail. A retry or catch on States.ALL won't catch States.Runtime errors"; nor does
# States.ALL catch States.DataLimitExceeded. moto's engine lets States.ALL match them (so a broken ResultSelector
# would reach the project's "Record The Failure" here and never on AWS).
_TERMINAL = (StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded)
_ORIGINAL_ERROR_EQUALS = error_equals_decl.ErrorEqualsDecl._eval_body


def _error_equals(self: Any, env: Any) -> None:
    error = env.stack[-1]
    if isinstance(error, states_error_name.StatesErrorName) and error.typ in _TERMINAL:
        env.stack.pop()
        env.stack.append(False)
        return
    _ORIGINAL_ERROR_EQUALS(self, env)


# ------------------------------------------------------------------------------- status change events
STATUS_CHANGE = "Step Functions Execution Status Change"


def _epoch_ms(value: _dt.datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return int(value.timestamp() * 1000)


def status_change_event(execution: Any, *, started: bool = False) -> dict[str, Any]:
    """The EventBridge event for `execution`'s current status (developer guide, "Step Functions event examples").
    `started`: the event of its start, which says RUNNING with no stopDate, error or output whatever the execution
    has come to since (the guide's "Execution Started" example): an execution that fails at once still sends
    RUNNING then FAILED, so a rule on FAILED acts once."""
    status = "RUNNING" if started else execution.exec_status.value
    succeeded = status == "SUCCEEDED"
    ended = status != "RUNNING"
    machine = getattr(execution.state_machine, "source_arn", None) or execution.state_machine.arn
    stop_date = execution.stop_date if ended else None
    when = stop_date or execution.start_date
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": machine,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(stop_date),
        "input": json.dumps(execution.input_data, separators=(",", ":")),
        "output": json.dumps(execution.output, separators=(",", ":")) if succeeded else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": execution.error if ended else None,
        "cause": execution.cause if ended else None,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE" if status in ("RUNNING", "SUCCEEDED") else "REDRIVABLE",
        "redriveStatusReason": None,
    }
    event = events_mod.new_event("aws.states", STATUS_CHANGE, detail, execution.account_id, execution.region_name)
    event["resources"] = [execution.exec_arn]
    event["time"] = _epoch_iso(when)
    return event


def _epoch_iso(value: _dt.datetime | None) -> str:
    value = value or clock_mod.now()
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _emit_status_change(execution: Any, *, started: bool = False) -> None:
    if not StepFunctionsSwitches.emit_status_events or execution.exec_status is None:
        return
    if str(getattr(execution.sm_type, "value", execution.sm_type)) != "STANDARD":
        return  # Express workflows send no events (developer guide, cw-events)
    try:
        event = status_change_event(execution, started=started)
        EMITTED.append(event)
        matched = events_mod.put_event(execution.account_id, execution.region_name, event)
        LOG.info("%s %s -> %d rule(s)", execution.name, event["detail"]["status"], matched)
    except Exception:  # an event must never break the execution it describes
        LOG.exception("could not emit the status change of %s", execution.exec_arn)


EMITTED: list[dict[str, Any]] = []  # every status change event, for tests


def snapshot() -> service_state.Restore:
    """The status change events emitted so far (localaws.service_state); executions are moto's."""
    return service_state.log_snapshot(EMITTED)


_ORIGINAL_TERMINATED = execution_mod.BaseExecutionWorkerCommunication.terminated
_ORIGINAL_EXECUTION_START = execution_mod.Execution.start


def _terminated(self: Any) -> None:
    _ORIGINAL_TERMINATED(self)
    _emit_status_change(self.execution)


def _execution_start(self: Any) -> None:
    _ORIGINAL_EXECUTION_START(self)
    _emit_status_change(self, started=True)


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
    # The program-state event pulses (set/clear) when the execution stops: is_running() is checked every
    # 50 ms so a stopped execution leaves its Wait. Sleeping on the clock, the Wait is a deadline a clock that
    # jumps when idle jumps to.
    with _execution_idle(clock):  # the execution's pause (see _execution_logic) must not stop its Wait
        clock.wait_until(deadline, stop=lambda: not env.is_running())


@contextlib.contextmanager
def _execution_idle(clock: Any) -> Iterator[None]:
    """While a thread of the execution waits on the clock: its own pauses and the execution's shared one
    dropped (moto runs a Wait in an evaluation thread of its own, not the one that holds the execution's
    pause, so `clock.running()` alone left that pause held and no idle jump could happen during a Wait)."""
    shared: SharedPause | None = getattr(_EXECUTION, "pause", None)
    with shared.suspended() if shared else contextlib.nullcontext(), clock.running():
        yield


class StepFunctionsSwitches:
    instant = True  # the emulator's instant_calls: interpreting states takes no emulated time
    service_prefix = "java"  # or "service_id": the silent point in aws-sdk error names (stepfunctions_aws_sdk)
    emit_status_events = False  # the emulator turns this on while it runs (and off before it stops executions)
    # (role ARN, state machine name) -> credentials; None leaves moto's fixed keys (IAM not enforced)
    credentials: Any = None


_EXECUTION = threading.local()  # the running execution's (role ARN, state machine name), per worker thread


class _InheritingThread(threading.Thread):
    """moto evaluates the program and each state with a timeout in threads of their own: they carry the
    execution's role and pause on (a call such a thread makes that sleeps on the clock idles the execution)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._localaws_role = getattr(_EXECUTION, "role", None)
        self._localaws_pause = getattr(_EXECUTION, "pause", None)

    def run(self) -> None:
        _EXECUTION.role = self._localaws_role
        _EXECUTION.pause = self._localaws_pause
        with self._localaws_pause.joined() if self._localaws_pause else contextlib.nullcontext():
            super().run()


def _threading_module() -> types.ModuleType:
    shim = types.ModuleType("threading")
    shim.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith("__")})
    shim.Thread = _InheritingThread  # type: ignore[attr-defined]
    return shim


_ORIGINAL_BOTO_CLIENT_FOR = boto_client.boto_client_for


_CLIENTS: dict[tuple[Any, ...], Any] = {}  # _boto_client_for's, kept: a client costs ~12 ms of CPU, a task needed two
_CLIENTS_LOCK = threading.Lock()


def _kept(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    with _CLIENTS_LOCK:
        found = _CLIENTS.get(key)
    if found is None:
        found = make()
        with _CLIENTS_LOCK:
            found = _CLIENTS.setdefault(key, found)
    return found


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client factory, signing with the execution role's session instead of "ak"/"sk". Clients are kept
    per endpoint, service and keys (boto3's clients are thread-safe).

    `state_credentials` plays no part: moto 5.2.5's boto_client_for (moto/stepfunctions/parser/asl/utils/
    boto_client.py) does not read it, and every Task passes one (state_task.py _eval_state_credentials: the
    execution's role when the state has no Credentials field), so keying on it had made two clients (~25 ms of
    CPU) per Lambda or SDK task. The template's states have no Credentials field; with one, the calls are still
    signed as the execution's role (as before this cache)."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    where = (region, service, moto_server_port(), botocore_stubber.enabled)
    client = _kept(where, lambda: _ORIGINAL_BOTO_CLIENT_FOR(region, service, state_credentials))
    who = getattr(_EXECUTION, "role", None)
    if StepFunctionsSwitches.credentials is None or who is None:
        return client
    keys = StepFunctionsSwitches.credentials(*who)

    def make() -> Any:
        return sessions.client(
            service,
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            config=client.meta.config,
            **keys.boto(),
        )

    return _kept((*where, keys.access_key_id, keys.session_token), make)


_TREES: dict[str, Any] = {}  # definition -> its ANTLR parse tree (or the syntax errors it raised)


def _parse(definition: str) -> tuple[Any, Any]:
    """moto's AmazonStateLanguageParser.parse with the parse tree kept per definition: ANTLR's Python runtime
    took ~0.5 s of CPU to parse the wake machine again for every execution. The tree is only read; each call
    still builds fresh evaluation components from it (moto's Preprocessor), as moto does."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException, SyntaxErrorListener
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    tree = _TREES.get(definition)
    if tree is None:
        from antlr4 import CommonTokenStream, InputStream
        from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
        from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

        listener = SyntaxErrorListener()
        parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
        parser.removeErrorListeners()
        parser.addErrorListener(listener)
        tree = parser.state_machine()
        tree = ASLParserException(errors=listener.errors) if listener.errors else tree
        if len(_TREES) > 256:
            _TREES.clear()
        _TREES[definition] = tree
    if isinstance(tree, ASLParserException):
        raise ASLParserException(errors=tree.errors)
    return Preprocessor().visit(tree), tree


_ORIGINAL_EXECUTION_LOGIC = execution_worker.ExecutionWorker._execution_logic
_ORIGINAL_WORKER_START = execution_worker.ExecutionWorker.start


def _start(self: Any) -> None:
    """StartExecution's thread: counted as running work (no idle jump, localaws/clock.py) from here until
    `_execution_logic` holds its pause."""
    clock = clock_mod.current()
    if clock is not None:
        clock.starting()
        self._localaws_starting = clock
    try:
        _ORIGINAL_WORKER_START(self)
    except BaseException:
        _started(self)
        raise


_ORIGINAL_WORKER_STOP = execution_worker.ExecutionWorker.stop


def _stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
    """StopExecution of an execution whose thread has not begun: moto's worker has no environment until its
    thread runs (`env` is None), so its stop raised AttributeError (a 500) and the execution ran on. AWS stops
    any RUNNING execution (Step Functions API reference, StopExecution): wait for the thread to begin."""
    deadline = time.monotonic() + 60.0
    while self.env is None and time.monotonic() < deadline:
        time.sleep(0.01)
    _ORIGINAL_WORKER_STOP(self, stop_date, error, cause)


def _started(self: Any) -> None:
    clock = self.__dict__.pop("_localaws_starting", None)
    if clock is not None:
        clock.started()


def _execution_logic(self: Any) -> None:
    """Run the program with emulated time standing still except in Wait states and Retry backoff."""
    details = self._evaluation_details
    _EXECUTION.role = (details.execution_details.role_arn, details.state_machine_details.name)
    try:
        clock = clock_mod.current()
        if clock is None or not StepFunctionsSwitches.instant:
            _started(self)
            _ORIGINAL_EXECUTION_LOGIC(self)
            return
        # One pause for the whole execution, whichever of moto's threads runs a state (a Wait or a Retry
        # backoff in an evaluation thread suspends it: _execution_idle; so does a call of a task that sleeps on the
        # clock, a Lambda waiting on a cold fallback: EmulatedClock.serving).
        _EXECUTION.pause = SharedPause(clock).start()
        cloudwatch.kick()  # its AWS/States metrics are recorded at the next alarm round (cloudwatch_alarms)
        try:
            _started(self)
            with _EXECUTION.pause.joined():
                _ORIGINAL_EXECUTION_LOGIC(self)
        finally:
            _EXECUTION.pause.stop()
            cloudwatch.kick()
    finally:
        _started(self)  # if the pause itself failed
        _EXECUTION.role = None
        _EXECUTION.pause = None


def _retry_sleep(seconds: float) -> None:
    clock = clock_mod.current()
    if clock is None:
        clock_mod.sleep(seconds)
        return
    with _execution_idle(clock):
        clock.sleep(seconds)


_retry_time = types.SimpleNamespace(sleep=_retry_sleep)

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
    overrides.update(aws_sdk.BOTO_NAMES)
    cls = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    cls._normalise_exception_name = staticmethod(_normalise_exception_name)  # type: ignore[method-assign]
    cls._normalise_service_error_name = staticmethod(_normalise_service_error_name)  # type: ignore[method-assign]
    cls._eval_service_task = _eval_service_task  # type: ignore[method-assign]
    sfn_models.StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
    execution_mod.BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
    execution_mod.Execution.start = _execution_start  # type: ignore[method-assign]
    error_equals_decl.ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
    wait_function.WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    execution_worker.ExecutionWorker._execution_logic = _execution_logic  # type: ignore[method-assign]
    execution_worker.ExecutionWorker.start = _start  # type: ignore[method-assign]
    execution_worker.ExecutionWorker.stop = _stop  # type: ignore[method-assign]
    retrier_decl.time = _retry_time  # type: ignore[assignment]
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    AmazonStateLanguageParser.parse = staticmethod(_parse)  # type: ignore[method-assign]
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
