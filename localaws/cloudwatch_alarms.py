"""CloudWatch alarm evaluation in emulated time: a thread that evaluates every metric alarm once per its period
(`cloudwatch.evaluate`) and delivers state changes: the "CloudWatch Alarm State Change" event to registered
listeners and matching EventBridge rules, and the alarm's actions (SNS topics, Application Auto Scaling policies).
It records the AWS/States execution metrics at the round that first sees an execution, and runs the per-minute
hooks (target tracking's per-copy metrics) before each round.

Differs from AWS: rounds that can change nothing are skipped on a jumping clock (`AlarmEvaluator._run`);
AWS evaluates every period, to the same outcome.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends

from localaws import cloudwatch, service_state
from localaws.cloudwatch import evaluate, record, state_change_event

LOG = logging.getLogger(__name__)

AlarmListener = Callable[[dict[str, Any]], None]
TICK = 10  # emulated seconds between evaluation rounds: the shortest alarm period CloudWatch allows
QUIET_HORIZON = 3600  # emulated seconds a quiet evaluator sleeps at most without a kick
_EXECUTION_METRICS = {
    "Started": "ExecutionsStarted",
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}


@dataclass(frozen=True)
class ComputedMetrics:
    """Metrics AWS computes itself each minute, published before the alarms on them are evaluated (the per-copy
    metrics target tracking watches: localaws.target_tracking). `publishing()`: whether `publish` has a metric to
    write this minute; rounds go on every minute while so, else the thread may sleep until kicked (`_quiet`)."""

    publish: Callable[[datetime], None]
    publishing: Callable[[], bool]


class AlarmEvaluator:
    """Background thread: evaluate every alarm once per its period, deliver state changes."""

    def __init__(self, clock: Any, account: str, region: str) -> None:
        self.clock = clock
        self.account = account
        self.region = region
        self.listeners: list[AlarmListener] = []
        self.action_handlers: list[Callable[[str, Any, dict[str, Any]], bool]] = []
        self.computed: ComputedMetrics | None = None  # published at the first round of every minute
        self.events: list[dict[str, Any]] = []
        self._seen_executions: set[tuple[str, str]] = set()
        self._last_minute = -1
        self._last_period: dict[str, int] = {}  # alarm name -> index of the period it was last evaluated in
        self._evaluated: dict[str, str] = {}  # alarm name -> the state its last evaluation here left it in
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by cloudwatch.kick() and stop()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> service_state.Restore:
        """The state changes delivered so far and where the rounds are (which executions' metrics were
        published, the last minute and period each alarm was evaluated in, the state each was left in;
        localaws.service_state)."""
        put_back_events = service_state.log_snapshot(self.events)
        rounds = service_state.deepcopy((self._seen_executions, self._last_minute, self._last_period, self._evaluated))

        def restore() -> None:
            put_back_events()
            self._seen_executions, self._last_minute, self._last_period, self._evaluated = service_state.deepcopy(
                rounds
            )

        return restore

    def add_listener(self, listener: AlarmListener) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        """Start (or, after `stop()`, start again) the thread that evaluates the alarms."""
        self._stop.clear()
        cloudwatch._KICKS.append(self._wake)
        self._thread = self.clock.spawn(self._run, name="localaws-alarms")  # running except while it waits

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._wake in cloudwatch._KICKS:
            cloudwatch._KICKS.remove(self._wake)
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        """Every minute, or every TICK+ seconds while an alarm has a shorter period: each alarm is evaluated once
        per its period, when a period has ended
        (alarms on high-resolution metrics may have 10 or 30 second periods, CloudWatch user guide "Using Amazon
        CloudWatch alarms": an alarm checks its metric at every period; the recipe's no-capacity alarm has 30).

        A round that can change nothing is skipped (`_quiet`): the thread then sleeps until kicked (new data, an
        alarm put or set, an execution starting or ending, a component's copies changing: cloudwatch.kick) or
        QUIET_HORIZON, whichever comes first. CloudWatch still evaluates then, but finds each alarm as it was; on
        a jumping clock every round is a jump (a replayed week had 10,000 of its 13,700 at minute rounds).

        A thread that is not quiet waits for its round whatever is kicked meanwhile: the round reads what came,
        and an alarm put meanwhile with a shorter period is taken up there. So it is not woken per datum during
        traffic, and a kick does not hold a jumping clock (a sleeper's set event does, localaws/clock.py) while
        the round it would lead to is already waited for."""
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a kick from now on ends a quiet wait
            now = self.clock.now()
            epoch = now.timestamp()
            step = self._step()
            nxt = datetime.fromtimestamp(epoch - epoch % step + step, UTC)
            if self.clock.jumps_when_idle and self._quiet(now):
                self.clock.wait_until(nxt + timedelta(seconds=QUIET_HORIZON), self._wake)
            else:
                self.clock.wait_until(nxt, self._stop)
            if self._stop.is_set():
                return
            if self.clock.now() < nxt:
                continue  # kicked before the round: look again (a kick once it is due still gets the round)
            try:
                self.evaluate_all(due_only=True)
            except Exception:
                LOG.exception("alarm evaluation failed")

    def _step(self) -> int:
        """Seconds to the next round: a minute, or the shortest period of an alarm that has one under a minute
        (so an idle emulator's clock can still jump a minute at a time when no such alarm exists)."""
        backend: CloudWatchBackend = cloudwatch_backends[self.account][self.region]
        periods = [int(a.period) for a in list(backend.alarms.values()) if a.period and int(a.period) < 60]
        return max(TICK, min([60, *periods]))

    def _quiet(self, now: datetime) -> bool:
        """No round can change anything before a kick: no computed metric has a minute to publish
        (`computed.publishing()`), every execution's metrics are recorded, and every alarm is in the state its last
        evaluation here left it in, on windows with no data (none from EvaluationPeriods + 1 periods back on, nor
        stamped ahead): a later round would evaluate the same empty windows to the same state."""
        if (self.computed and self.computed.publishing()) or next(self._unrecorded_executions(), None):
            return False
        backend: CloudWatchBackend = cloudwatch_backends[self.account][self.region]
        naive = now.astimezone(UTC).replace(tzinfo=None)
        for alarm in list(backend.alarms.values()):
            if self._evaluated.get(alarm.name) != alarm.state_value:
                return False
            back = timedelta(seconds=int(alarm.period or 60) * (int(alarm.evaluation_periods or 1) + 1))
            with cloudwatch._LOCK:
                if cloudwatch._window(backend, alarm.namespace, alarm.metric_name, naive - back, datetime.max):
                    return False
        return True

    def _unrecorded_executions(self) -> Iterator[tuple[tuple[str, str], str, str]]:
        """(execution ARN and kind, state machine ARN, metric) for each execution metric not recorded yet: its
        start, and its end once it has one."""
        from moto.stepfunctions.responses import get_backend

        for machine in list(get_backend(self.account, self.region).state_machines):
            for execution in list(machine.executions):
                for kind in ("Started", str(execution.status)):
                    key = (execution.execution_arn, kind)
                    metric = _EXECUTION_METRICS.get(kind)
                    if metric and key not in self._seen_executions:
                        yield key, machine.arn, metric

    def record_execution_metrics(self) -> None:
        """AWS/States Executions{Started,Succeeded,Failed,TimedOut,Aborted} per state machine, for the
        execution-failure alarms; recorded at the evaluation that first sees the execution."""
        for key, machine_arn, metric in list(self._unrecorded_executions()):
            self._seen_executions.add(key)
            dims = [{"Name": "StateMachineArn", "Value": machine_arn}]
            record(self.account, self.region, "AWS/States", metric, 1.0, dims, "Count")

    def evaluate_all(self, due_only: bool = False) -> list[dict[str, Any]]:
        """One evaluation round (also callable from tests: every alarm). With `due_only` (the background
        thread), the once-a-minute work runs only in the first round of a minute and an alarm is evaluated only
        in the first round after one of its periods ended. Returns the events emitted."""
        now = self.clock.now()
        epoch = int(now.timestamp())
        minute = epoch // 60
        if not due_only or minute != self._last_minute:
            self._last_minute = minute
            try:
                self.record_execution_metrics()
            except Exception:  # metrics are best effort; alarms on other metrics still evaluate
                LOG.exception("recording Step Functions metrics failed")
            try:
                if self.computed:
                    self.computed.publish(now)
            except Exception:  # a metric that cannot be computed leaves its alarms without data
                LOG.exception("publishing the computed metrics failed")
        backend: CloudWatchBackend = cloudwatch_backends[self.account][self.region]
        emitted = []
        for alarm in list(backend.alarms.values()):
            period_index = epoch // max(int(alarm.period or 60), 1)
            if due_only and self._last_period.get(alarm.name) == period_index:
                continue
            self._last_period[alarm.name] = period_index
            result = evaluate(backend, alarm, now)
            self._evaluated[alarm.name] = alarm.state_value if result is None else result[0]
            if result is None:
                continue
            state, reason, reason_data = result
            if state == alarm.state_value and not alarm.state_reason.startswith("Unchecked"):
                continue
            if state == alarm.state_value:
                # First real evaluation of a new alarm that stays in its initial state: no event.
                alarm.update_state(reason, json.dumps(reason_data), state)
                continue
            old = {
                "value": alarm.state_value,
                "reason": alarm.state_reason,
                "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            }
            alarm.update_state(reason, json.dumps(reason_data), state)
            event = state_change_event(alarm, self.account, self.region, old, now)
            emitted.append(event)
            self.events.append(event)
            self._deliver(alarm, event)
        return emitted

    def _deliver(self, alarm: Any, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                LOG.exception("alarm listener failed")
        from localaws import events

        events.put_event(self.account, self.region, event)
        if not alarm.actions_enabled:
            return
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[alarm.state_value]
        for arn in actions or []:
            handled = False
            for handler in self.action_handlers:
                try:
                    handled = handler(arn, alarm, event) or handled
                except Exception:
                    LOG.exception("alarm action %s failed", arn)
            if not handled:
                LOG.warning("alarm action %s not emulated", arn)
