"""What happens on the local stack, one line each, stamped in emulated time (ISO 8601, `Z`): `make local`'s output.

    2026-11-25T08:40:00Z  state     asleep -> waking: api: trying it
    2026-11-25T08:40:00Z  wake      started wake-20261125T084000-3f2a (api: trying it)
    2026-11-25T08:40:00Z  copies    desired 1, serving 0 (Updating)

Lines come from what the services record, read in-process (no API calls, so watching takes no emulated
time): the state item in DynamoDB (state changes, leases, last_error), Step Functions executions (a wake or
sleep started, ended, skipped or failed, with the error and cause), the inference component's copy history,
Scheduler firings and alarm state changes (listeners), and Lambda functions that raised. Everything else
(the functions' JSON logs, moto's own) goes to the log file.

An idle check (the idle schedule's function, `"trigger": "idle"`) says one line: why it skipped the sleep (the
function's answer), or how the sleep execution it started ended; a check that skips for the same reason as the
one before says nothing (so a sleeping component's checks, "already asleep at 0 copies" every few minutes, print
nothing after the first).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.local_stack import LocalStack
    from localaws.scheduler import Firing

LOG = logging.getLogger(__name__)
FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def stamp(at: datetime) -> str:
    """The API's timestamp format: ISO 8601 in UTC with `Z`, to the second."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: Any, limit: int = 300) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


class Activity:
    """Watches a started LocalStack and calls `write(line)` for every change; `start()`, `stop()`."""

    def __init__(self, local: LocalStack, write: Callable[[str], None], poll: float = 0.1) -> None:
        self.local = local
        self._write = write
        self.poll = poll
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localaws-activity", daemon=True)
        self._record: dict[str, Any] = {}
        self._executions: dict[str, str] = {}  # execution ARN -> last status seen
        self._idle_skip: str | None = None  # why the last idle check skipped the sleep (said once in a row)
        self._ended: set[str] = set()  # executions whose end was reported
        self._history_seen = 0
        self._invocations_seen = 0
        self._running: list[Any] = []  # invocations listed but not yet done
        stack = local.stack
        assert stack is not None
        self.table = str(stack.ref("StateTable"))
        self.component = str(local.outputs["InferenceComponentName"])
        self.machines = {
            str(local.outputs["WakeStateMachineArn"]): "wake",
            str(local.outputs["SleepStateMachineArn"]): "sleep",
        }

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> Activity:
        emu = self.local.emu
        # What happened before now (the deploy) is not news: start from the current state.
        self._record = self._read_record()
        self._history_seen = len(self._history())
        self._invocations_seen = len(emu.lambdas.invocations)
        for arn, status in self._all_executions():
            self._executions[arn] = status
            if status in FINISHED:
                self._ended.add(arn)
        state = self._record.get("state", "unknown")
        ic = self._ic()
        copies = f" ({ic.current}/{ic.desired} copies)" if ic else ""
        self.say(self.local.now(), "state", f"{state}{copies}")
        emu.scheduler.listeners.append(self._on_firing)
        emu.on_alarm_state_change(self._on_alarm)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(ValueError):
            self.local.emu.scheduler.listeners.remove(self._on_firing)
        with contextlib.suppress(ValueError):
            self.local.emu.alarms.listeners.remove(self._on_alarm)

    def say(self, at: datetime, kind: str, text: str) -> None:
        with self._lock:
            self._write(f"{stamp(at)}  {kind:<9} {text}")

    # -- pushed by the services ---------------------------------------------------------------------------
    def _on_firing(self, firing: Firing) -> None:
        if is_idle_check(firing.input):
            return  # the check's answer, or the end of the sleep it started, says what it did
        target = firing.target_arn.rsplit(":", 1)[-1]
        self.say(firing.fired_at, "schedule", f"{firing.name} fired (due {stamp(firing.scheduled_for)}) -> {target}")

    def _on_alarm(self, event: dict[str, Any]) -> None:
        detail = event.get("detail", {})
        state, previous = detail.get("state", {}), detail.get("previousState", {})
        at = _parse_time(event.get("time")) or self.local.now()
        self.say(
            at,
            "alarm",
            f"{detail.get('alarmName')}: {previous.get('value')} -> {state.get('value')}: "
            f"{_short(state.get('reason', ''), 200)}",
        )

    # -- polled -------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            for check in (self._check_record, self._check_executions, self._check_copies, self._check_functions):
                try:
                    check()
                except Exception:  # a watcher must never take the stack down; the log says what went wrong
                    LOG.exception("activity: %s failed", check.__name__)

    def _check_record(self) -> None:
        record = self._read_record()
        before, self._record = self._record, record
        if not record or record.get("version") == before.get("version"):
            return
        at = _parse_time(record.get("since")) or self.local.now()
        if record.get("state") != before.get("state"):
            text = f"{before.get('state', 'none')} -> {record.get('state')}"
            if record.get("reason"):
                text += f": {_short(record['reason'], 200)}"
            self.say(at, "state", text)
            if record.get("state") == "failed" and record.get("last_error"):
                self.say(at, "failure", _short(record["last_error"]))
        if record.get("lease_until") and record.get("lease_until") != before.get("lease_until"):
            lease = _parse_time(record["lease_until"])
            self.say(self.local.now(), "lease", f"kept awake until {stamp(lease) if lease else record['lease_until']}")

    def _check_executions(self) -> None:
        for arn, status in self._all_executions():
            previous = self._executions.get(arn)
            if previous == status:
                continue
            self._executions[arn] = status
            execution = self._execution(arn)
            if execution is None:
                continue
            kind = self.machines.get(str(execution.state_machine_arn), "execution")
            name = execution.name
            idle = is_idle_check(getattr(execution, "execution_input", None))
            if previous is None and not idle:
                self.say(_as_utc(execution.start_date) or self.local.now(), kind, f"started {name}{_why(execution)}")
            if status in FINISHED and arn not in self._ended:
                self._ended.add(arn)
                at = _as_utc(getattr(execution, "stop_date", None)) or self.local.now()
                self._finished(at, kind, name, status, execution, idle)

    def _finished(self, at: datetime, kind: str, name: str, status: str, execution: Any, idle: bool = False) -> None:
        took = ""
        start = _as_utc(execution.start_date)
        if start:
            took = f" after {(at - start).total_seconds():.0f} s"
        if status == "SUCCEEDED":
            output = _json(getattr(execution, "output", None))
            decision = output.get("decision") if isinstance(output, dict) else None
            if isinstance(decision, dict) and decision.get("sleep") is False:
                reason = _short(decision.get("reason", ""), 200)
                if idle and reason == self._idle_skip:
                    return
                self._idle_skip = reason if idle else self._idle_skip
                self.say(at, kind, f"{name} {'(idle check) ' if idle else ''}skipped the sleep: {reason}")
            else:
                self._idle_skip = None if idle else self._idle_skip
                self.say(at, kind, f"{name} {'(idle check) ' if idle else ''}succeeded{took}")
            return
        self._idle_skip = None if idle else self._idle_skip
        error, cause = getattr(execution, "error", None), getattr(execution, "cause", None)
        detail = ": ".join(_short(x, 200) for x in (error, cause) if x) or "no error recorded"
        self.say(at, "failure", f"{kind} {name} {status}{took}: {detail}")

    def _check_copies(self) -> None:
        history = self._history()
        new, self._history_seen = history[self._history_seen :], len(history)
        for at, status, desired, current in new:
            self.say(at, "copies", f"desired {desired}, serving {current} ({status})")

    def _check_functions(self) -> None:
        invocations = self.local.emu.lambdas.invocations
        new, self._invocations_seen = invocations[self._invocations_seen :], len(invocations)
        # A record is listed when its invocation starts: what it returned or raised is known once it is done.
        self._running.extend(new)
        done: list[Any] = []
        running: list[Any] = []
        for record in self._running:
            (done if record.done else running).append(record)
        self._running = running
        for record in done:
            if not record.error_type and is_idle_check(record.event) and isinstance(record.result, dict):
                self._idle_check_said(record.function_name, record.result)
            if record.error_type:
                self.say(
                    self.local.now(),
                    "failure",
                    f"function {record.function_name} raised {record.error_type}: {_short(record.error_message)}",
                )

    def _idle_check_said(self, function: str, result: dict[str, Any]) -> None:
        """The idle-check function's answer when it skipped (one that sleeps starts the execution, which says
        how it ended): why, unless the last check skipped for the same reason."""
        if result.get("sleep") is not False:
            return
        reason = _short(result.get("reason", ""), 200)
        if reason != self._idle_skip:
            self._idle_skip = reason
            self.say(self.local.now(), "sleep", f"{function} (idle check) skipped the sleep: {reason}")

    # -- reading the services -----------------------------------------------------------------------------
    def _read_record(self) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        emu = self.local.emu
        table = dynamodb_backends[emu.account][emu.region].get_table(self.table)
        item = table.get_item(DynamoType({"S": self.component}))
        if item is None:
            return {}
        deserialise = TypeDeserializer().deserialize
        return {k: deserialise(v) for k, v in item.to_json()["Attributes"].items()}

    def _all_executions(self) -> list[tuple[str, str]]:
        from moto.stepfunctions.responses import get_backend

        emu = self.local.emu
        out = []
        for machine in list(get_backend(emu.account, emu.region).state_machines):
            for execution in list(machine.executions):
                out.append((str(execution.execution_arn), str(execution.status)))
        return out

    def _execution(self, arn: str) -> Any:
        from moto.stepfunctions.responses import get_backend

        emu = self.local.emu
        for machine in list(get_backend(emu.account, emu.region).state_machines):
            for execution in list(machine.executions):
                if execution.execution_arn == arn:
                    return execution
        return None

    def _ic(self) -> Any:
        return self.local.emu.sagemaker.find(self.component)

    def _history(self) -> list[tuple[datetime, str, int, int]]:
        ic = self._ic()
        return list(ic.history) if ic else []


def is_idle_check(payload: Any) -> bool:
    """The idle schedule's input (template.yaml: `{"trigger": "idle", ...}`)."""
    data = _json(payload)
    return isinstance(data, dict) and data.get("trigger") == "idle"


def _why(execution: Any) -> str:
    payload = _json(getattr(execution, "execution_input", None))
    if not isinstance(payload, dict):
        return ""
    if "source" in payload or "reason" in payload:
        return f" ({_short(payload.get('source', '?'), 40)}: {_short(payload.get('reason', ''), 160)})"
    if "trigger" in payload:
        return f" (trigger {payload['trigger']}{', forced' if payload.get('force') else ''})"
    return ""


def _json(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value) if value else None
    except (TypeError, ValueError):
        return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _as_utc(value)
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
