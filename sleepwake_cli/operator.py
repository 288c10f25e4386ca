"""Operator commands: status, wake, sleep, warmup, fire-schedule. The same code drives AWS and the local stack
(the deployment comes from --stack-name or --deployment-file, and says how to reach it and what time it is).

Output contract: stdout carries the answer alone, a sentence or (with --json) exactly one JSON document;
logs and --wait's progress go to stderr. Times are ISO 8601 UTC with a `Z`, as the API writes them, on
the stack's clock (the emulated clock against the local stack). The exit status says what happened
(EXIT_CODES, sleepwake_cli/command.py).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

from sleepwake.adapters.sagemaker import InvocationError
from sleepwake.control.sleep import SleepResult, sleep_result, start_sleep
from sleepwake.control.status import Status, is_ready
from sleepwake.control.status import status as read_status
from sleepwake.control.wake import WakeOutcome, request_wake
from sleepwake.control.warmup import NotServing, warm_up
from sleepwake.core import State, defaults, iso
from sleepwake_cli.command import (
    EXIT_CODES,
    FAILED,
    OK,
    SKIPPED,
    TIMED_OUT,
    Interrupted,
    Operator,
    Refused,
    bounded,
    guard,
    subcommand,
    text_of_length,
    waiting,
)

TERMINAL = {State.READY, State.ASLEEP, State.FAILED}
HAS_ETA = {State.WAKING, State.WARMING}
POLL_SECONDS = 1.0  # wall seconds between polls while waiting
HEARTBEAT_SECONDS = 30.0  # a plain progress line at least this often (wall) even when nothing changes


# ---- how things read ------------------------------------------------------------------------------------
def status_json(status: Status) -> dict[str, Any]:
    """The same document GET /status answers (one model, one serialisation)."""
    return status.model_dump(mode="json")


def status_text(status: Status) -> str:
    line = f"{status.state.value}: {status.current_copies}/{status.desired_copies} copies"
    if status.since:
        line += f", since {iso(status.since, 'seconds')}"
    if status.state in HAS_ETA:
        line += f", ready in ~{status.eta_seconds}s"
    if status.lease_until:
        line += f", kept awake until {iso(status.lease_until, 'seconds')}"
    if status.last_error:
        line += f"\n  last error: {status.last_error}"
    for warning in status.warnings:
        line += f"\n  warning: {warning}"
    if status.next_planned_wake or status.next_planned_sleep:
        wake, sleep = status.next_planned_wake, status.next_planned_sleep
        line += f"\n  planned: next wake {wake:%a %H:%M %Z}" if wake else "\n  planned: no further wake planned"
        line += f", next sleep {sleep:%a %H:%M %Z}" if sleep else ""
    if status.fallback:
        fb = status.fallback
        count = "?" if fb.invocations is None else f"{fb.invocations:g}"
        line += f"\n  fallback: {fb.endpoint}, {count} request(s) in the last {fb.window_minutes} min"
        if fb.warm is not None:
            since = f" since {iso(fb.since, 'seconds')}" if fb.since else ""
            line += f", {'warm' if fb.warm else 'cold'}{since}"
        if fb.users_may_come is not None:
            expected = "may" if fb.users_may_come else "are not expected to"
            line += f"; keep-warm {fb.keep_warm}: users {expected} come now"
    return line


class Progress:
    """What --wait shows while it waits, on stderr (stdout carries the answer alone): a tqdm bar on a
    terminal, otherwise a plain line per change of state or copies, and one every HEARTBEAT_SECONDS."""

    def __init__(self, what: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.what = what
        self.bar: tqdm[Any] | None = None
        if self.stream.isatty():
            self.bar = tqdm(total=1, file=self.stream, bar_format="{desc} |{bar}|", leave=False)
        self._last: tuple[Any, ...] | None = None
        self._last_line = float("-inf")

    def show(self, status: Status, elapsed: float, at: Any) -> None:
        eta = status.eta_seconds if status.state in HAS_ETA else None
        copies = f"{status.current_copies}/{status.desired_copies} copies"
        detail = f"{copies}, " + (f"ETA ~{eta}s, " if eta is not None else "") + f"{elapsed:.0f}s elapsed"
        if self.bar is not None:
            self.bar.total = max(elapsed + (eta or 0), 1.0)
            self.bar.n = elapsed if eta is not None or status.state in TERMINAL else 0
            self.bar.set_description_str(f"{self.what}: {status.state.value}, {detail}", refresh=False)
            self.bar.refresh()
            return
        key = (status.state, status.current_copies, status.desired_copies)
        if key != self._last or time.monotonic() - self._last_line >= HEARTBEAT_SECONDS:
            print(f"{iso(at, 'seconds')}  {self.what}: {status.state.value}, {detail}", file=self.stream, flush=True)
            self._last, self._last_line = key, time.monotonic()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class Waited:
    outcome: str  # what `check` said, or "timed_out"
    status: Status
    elapsed: float  # seconds on the stack's clock


def _wait(op: Operator, what: str, timeout: float, check: Callable[[Status], str | None]) -> Waited:
    """Poll until `check(status)` names an outcome or `timeout` seconds pass on the stack's clock; Ctrl-C
    raises Interrupted (the operation goes on)."""
    started = op.clock.now()
    progress = Progress(what)
    try:
        while True:
            status = read_status(op.plane)
            at = op.clock.now()
            elapsed = (at - started).total_seconds()
            progress.show(status, elapsed, at)
            if outcome := check(status):
                return Waited(outcome, status, elapsed)
            if elapsed >= timeout:
                return Waited("timed_out", status, elapsed)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        raise Interrupted(what) from None
    finally:
        progress.close()


# ---- wake -----------------------------------------------------------------------------------------------
def _wake_started(outcome: WakeOutcome) -> dict[str, Any]:
    kind = "started" if outcome.started else "ready" if outcome.state == State.READY else "joined"
    return {
        "outcome": kind,
        "state": outcome.state.value,
        "eta_seconds": outcome.eta_seconds,
        "execution": outcome.execution,
        "reason": outcome.reason,
    }


def _wake_sentence(data: dict[str, Any]) -> str:
    if data["outcome"] == "ready":
        return f"already serving: {data['reason']}"
    head = "wake started" if data["outcome"] == "started" else f"joined the wake under way ({data['state']})"
    return (
        f"{head}: {data['reason']}; ready in ~{data['eta_seconds']}s\n"
        f"  execution: {data['execution']}\n"
        "  follow it: `sleepwake status`, or `sleepwake wake --wait` (joins this wake and waits)"
    )


def _wake_check(status: Status) -> str | None:
    if status.state == State.READY:
        return "ready"
    if status.state in (State.FAILED, State.ASLEEP, State.SLEEPING):
        return "failed"
    return None


def _await_wake(op: Operator, head: dict[str, Any]) -> int:
    """Wait for the wake `head` describes; answer once with how it ended."""
    if head.get("state") == State.READY.value:
        op.answer(head, _wake_sentence(head))
        return OK
    waited = _wait(op, "wake", op.args.timeout, _wake_check)
    data = {
        "outcome": waited.outcome,
        **({"schedule": head["schedule"]} if "schedule" in head else {}),
        "wake": head,  # what the request said when it was made
        "status": status_json(waited.status),
        "elapsed_seconds": round(waited.elapsed, 1),
    }
    status = waited.status
    if waited.outcome == "ready":
        op.answer(data, f"ready after {waited.elapsed:.0f}s: {status_text(status)}")
        return OK
    if waited.outcome == "timed_out":
        op.answer(
            data,
            f"timed out after {waited.elapsed:.0f}s waiting for ready; the wake goes on in the background: follow "
            f"it with `sleepwake status`\n  {status_text(status)}",
        )
        return TIMED_OUT
    why = status.last_error or f"the component went {status.state.value} before it was ready"
    op.answer(data, f"wake failed: {why}\n  {status_text(status)}")
    return FAILED


def cmd_wake(op: Operator) -> int:
    outcome = request_wake(op.plane, reason=op.args.reason, source="cli", keep_awake_minutes=op.args.keep_awake)
    head = _wake_started(outcome)
    if not op.args.wait:
        op.answer(head, _wake_sentence(head))
        return OK
    return _await_wake(op, head)


# ---- sleep ----------------------------------------------------------------------------------------------
def _sleep_started(op: Operator, head: dict[str, Any]) -> int:
    arn = head["execution"]
    follow = ["sleepwake status", op.follow_execution(arn)]
    op.answer(
        head | {"outcome": "started", "follow": follow},
        f"sleep started: {arn}\n  it may still skip (requests served lately, an awake lease, quiet hours, a wake "
        f"in flight); follow it: `{follow[0]}`, or `{follow[1]}`",
    )
    return OK


def _await_sleep(op: Operator, head: dict[str, Any]) -> int:
    """Wait for the sleep execution in `head`; answer once with how it ended."""
    found: list[SleepResult] = []

    def check(_: Status) -> str | None:
        result = sleep_result(op.plane, head["execution"])
        found[:] = [result] if result else []
        return result.outcome if result else None

    waited = _wait(op, "sleep", op.args.timeout, check)
    data = head | {"status": status_json(waited.status), "elapsed_seconds": round(waited.elapsed, 1)}
    if waited.outcome == "timed_out":
        follow = op.follow_execution(head["execution"])
        op.answer(
            data | {"outcome": "timed_out"},
            f"timed out after {waited.elapsed:.0f}s waiting for the sleep; it goes on in the background: follow "
            f"it with `sleepwake status` or `{follow}`\n  {status_text(waited.status)}",
        )
        return TIMED_OUT
    outcome, reason = found[0].outcome, found[0].reason
    status = read_status(op.plane) if outcome == "asleep" else waited.status  # the execution ends after the record
    data |= {"outcome": outcome, "reason": reason, "status": status_json(status)}
    if outcome == "asleep":
        op.answer(data, f"asleep: {reason}\n  {status_text(status)}")
        return OK
    if outcome in ("skipped", "superseded"):
        op.answer(data, f"{outcome}: {reason}\n  {status_text(status)}")
        return SKIPPED
    op.answer(data, f"sleep failed: {reason}\n  {status_text(status)}")
    return FAILED


def cmd_sleep(op: Operator) -> int:
    arn = start_sleep(op.plane, payload={"trigger": "manual", "force": op.args.force}, prefix="manual-sleep")
    head = {"execution": arn}
    return _await_sleep(op, head) if op.args.wait else _sleep_started(op, head)


# ---- warm-up --------------------------------------------------------------------------------------------
def cmd_warmup(op: Operator) -> int:
    """Sends nothing to a component with no serving copy: that request would fail with no capacity, trip the
    no-capacity alarm and so start a wake, which is `sleepwake wake`'s job, done on purpose."""
    if not is_ready(op.plane):
        status = read_status(op.plane)
        reason = (
            f"{op.plane.ic} has no serving copy ({status.state.value}, {status.current_copies}/"
            f"{status.desired_copies} copies); a request now would fail with no capacity and trip the "
            "no-capacity alarm, which wakes it. Wake it on purpose: `sleepwake wake --wait` (it warms up too)"
        )
        op.answer({"outcome": "skipped", "reason": reason, "status": status_json(status)}, f"not sent: {reason}")
        return SKIPPED
    try:
        # Counted as the control plane's own with PutMetricData (warm_up's docstring), so the report leaves them out.
        result = warm_up(op.plane, invocations=op.args.invocations, embedded=False)
    except NotServing as error:  # the copy went away between the check and the request
        reason = f"{error}; that failed request trips the no-capacity alarm, which starts a wake"
        op.answer({"outcome": "failed", "reason": reason}, f"warm-up failed: {reason}")
        return FAILED
    except InvocationError as error:  # the model (or SageMaker) answered an error: one line, no traceback
        reason = "; ".join([f"the component answered an error: {error}", *getattr(error, "__notes__", [])])
        op.answer({"outcome": "failed", "reason": reason}, f"warm-up failed: {reason}")
        return FAILED
    text = f"{'warm' if result.warm else 'not warm yet'}: {result.reason}; latencies ms {result.latencies_ms}"
    if result.uncounted:
        text += (
            f"\n  {result.uncounted} of them not counted as warm-ups (cloudwatch:PutMetricData on the namespace "
            f"{defaults.METRICS_NAMESPACE} failed, see stderr): `sleepwake report` counts them as users' requests"
        )
    op.answer({"outcome": "warm" if result.warm else "not_warm"} | result.__dict__, text)
    return OK


# ---- schedules ------------------------------------------------------------------------------------------
ALIASES = {"sleep": "nightlysleep", "wake": "morningwake", "idle": "idlecheck"}


def cmd_fire_schedule(op: Operator) -> int:
    """Run a schedule's target now with the schedule's own input (EventBridge Scheduler has no 'run now')."""
    schedules = {k.lower(): v for k, v in op.deployment.schedules().items()}
    key = ALIASES.get(op.args.schedule.lower(), op.args.schedule.lower())
    if key not in schedules:
        raise Refused(f"unknown schedule {op.args.schedule!r}; choose from {', '.join(sorted(ALIASES))}")
    schedule = op.deployment.client("scheduler").get_schedule(Name=schedules[key])
    target, payload = schedule["Target"]["Arn"], schedule["Target"].get("Input", "{}")
    head: dict[str, Any] = {"schedule": schedule["Name"]}
    if ":states:" in target:
        head["execution"] = start_sleep(
            op.plane, payload=json.loads(payload), prefix=f"fired-{key}", machine_arn=target
        )
        return _await_sleep(op, head) if op.args.wait else _sleep_started(op, head)
    answer = op.deployment.client("lambda").invoke(FunctionName=target, Payload=payload.encode())
    body = json.loads(answer["Payload"].read().decode() or "null")
    if answer.get("FunctionError"):
        reason = f"{body.get('errorType')}: {body.get('errorMessage')}" if isinstance(body, dict) else str(body)
        op.answer(head | {"outcome": "failed", "reason": reason}, f"{schedule['Name']} failed: {reason}")
        return FAILED
    if isinstance(body, dict) and "sleep" in body:  # the idle check: it decided, and started a sleep only to sleep
        if not body["sleep"]:
            reason = str(body.get("reason"))
            op.answer(head | {"outcome": "skipped", "reason": reason}, f"idle check skipped the sleep: {reason}")
            return SKIPPED
        head["execution"] = body["execution"]
        return _await_sleep(op, head) if op.args.wait else _sleep_started(op, head)
    if not isinstance(body, dict) or "state" not in body:  # not the wake trigger: say what it returned
        op.answer(head | {"outcome": "done", "result": body}, f"fired {schedule['Name']}: {json.dumps(body)}")
        return OK
    head |= {
        "outcome": "started" if body.get("started") else "ready" if body["state"] == State.READY.value else "joined",
        "state": body["state"],
        "eta_seconds": read_status(op.plane).eta_seconds,
        "execution": body.get("execution"),
        "reason": body.get("reason"),
    }
    if op.args.wait:
        return _await_wake(op, head)
    op.answer(head, f"fired {schedule['Name']}: {_wake_sentence(head)}")
    return OK


# ---- wiring ---------------------------------------------------------------------------------------------
def cmd_status(op: Operator) -> int:
    status = read_status(op.plane)
    op.answer(status_json(status), status_text(status))
    return OK


def register(subparsers: Any) -> None:
    p = subcommand(
        subparsers,
        "status",
        "state, copies, ETA and last error of the inference component",
        "Print what GET /status answers, at the same instant on the stack's clock (--json: the same document).",
    )
    p.set_defaults(func=guard(cmd_status))

    p = subcommand(
        subparsers,
        "wake",
        "start (or join) a wake: scale up, wait for the copy, warm it up",
        "Start a wake, or join the one under way, exactly as POST /wake does. Without --wait it says what was "
        "started and how to follow it.",
    )
    p.add_argument(
        "--reason",
        type=text_of_length(1, defaults.REASON_MAX_LENGTH),
        default="operator wake",
        help=f"recorded with the wake (1-{defaults.REASON_MAX_LENGTH} characters, as the wake API)",
    )
    p.add_argument(
        "--keep-awake",
        type=bounded(int, 1, defaults.MAX_KEEP_AWAKE_MINUTES),
        metavar="MINUTES",
        help=f"block idle/scheduled sleep for this long (1-{defaults.MAX_KEEP_AWAKE_MINUTES}, as the wake API)",
    )
    waiting(p, "ready (or failed)", "wake")
    p.set_defaults(func=guard(cmd_wake))

    p = subcommand(
        subparsers,
        "sleep",
        "run the sleep state machine now (it skips if busy, leased or a wake is in flight)",
        "Start the sleep state machine. It decides first and may skip: requests, warm-ups included, in the last "
        "NapIdleMinutes (IdleMinutes without a fallback), an awake lease, a wake in flight. --wait says which, "
        f"with its reason (exit {SKIPPED}).",
    )
    p.add_argument("--force", action="store_true", help="sleep even if it served requests or holds a lease")
    waiting(p, "the sleep is done (asleep, skipped or failed)", "sleep")
    p.set_defaults(func=guard(cmd_sleep))

    p = subcommand(
        subparsers,
        "warmup",
        "send warm-up requests to the serving copy and print latencies",
        "Send the warm-up clip until the copy is warm. With no serving copy it sends nothing and says so "
        f"(exit {SKIPPED}): that request would fail with no capacity and trip the no-capacity alarm, which "
        "wakes the component; wake it on purpose with `sleepwake wake --wait`.",
    )
    p.add_argument(
        "-n",
        "--invocations",
        type=bounded(int, 1, 50),
        default=None,
        help="minimum requests, 1-50 (default: template's)",
    )
    p.set_defaults(func=guard(cmd_warmup))

    p = subcommand(
        subparsers,
        "fire-schedule",
        "run a schedule's target now with its input (sleep|wake|idle)",
        "Run a schedule's target now with the schedule's own input (EventBridge Scheduler has no 'run now'): "
        "sleep starts the sleep state machine, idle invokes the idle check (which starts it only to sleep), wake "
        "invokes the wake trigger.",
    )
    p.add_argument("schedule", help="sleep, wake or idle (or the template's event name, e.g. NightlySleep)")
    waiting(p, "what it started is done (ready, asleep, skipped or failed)", "wake or sleep")
    p.set_defaults(func=guard(cmd_fire_schedule))

    from sleepwake_cli import plan  # the learned week: an operator command on the same deployment and clock

    plan.register(subparsers)


EPILOG = EXIT_CODES  # the root `sleepwake --help` shows it too
