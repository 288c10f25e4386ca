"""The control plane's use cases: core decisions applied through the adapters, each logged with its reason.

Handlers stay thin: they parse their event, call one method here and shape the answer. The operator CLI and
the local stack use the same methods, so there is one way of doing each thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sleepwake import clock
from sleepwake.adapters import aws
from sleepwake.adapters.autoscaling import CopyScaling
from sleepwake.adapters.awslambda import Functions
from sleepwake.adapters.cloudwatch import Alarms, ComponentMetrics
from sleepwake.adapters.sagemaker import InferenceComponents, InvocationError, NoCapacityError, Runtime
from sleepwake.adapters.scheduler import PlannedWakes
from sleepwake.adapters.sns import Notifications
from sleepwake.adapters.state_table import Conflict, StateTable
from sleepwake.adapters.stepfunctions import Executions, execution_arn
from sleepwake.core import (
    EndedExecution,
    ObservedCopies,
    State,
    StateRecord,
    WakeAction,
    check_scale,
    compact,
    decide_execution_end,
    decide_sleep,
    decide_wake,
    effective_state,
    eta_seconds,
    extend_lease,
    failure_text,
    is_serving,
    is_warm,
    iso,
    next_poll_seconds,
    plan_first_poll,
    settled_state,
    should_confirm_execution,
)
from sleepwake.core.applied_plan import (
    PlannedDay,
    StoredPlan,
    cron_skip_reason,
    is_planned_awake,
    learned_day,
    next_planned,
    unplanned_hours,
    wake_schedule_name,
    wakes_to_schedule,
)
from sleepwake.core.decisions import SleepTrigger
from sleepwake.core.endpoint import instance_scaling_warnings
from sleepwake.core.planner import plan_day
from sleepwake.observability import MetricUnit, logger, metrics
from sleepwake.settings import Settings

MAX_CLAIM_ATTEMPTS = 8


class NotOwner(Exception):
    """The state record belongs to another operation (a wake superseded this sleep, or a newer wake)."""


class NotServing(Exception):
    """The component has no serving copy, so it cannot be warmed."""


class WakeStartFailed(Exception):
    """The wake execution could not be started; the record was put back as it was."""


class NoFallback(Exception):
    """No fallback endpoint is configured (FALLBACK_ENDPOINT_NAME is empty)."""


@dataclass(frozen=True)
class FallbackStatus:
    """The serverless fallback as GET /status reports it: which endpoint, and whether it answered lately."""

    endpoint: str
    window_minutes: int
    invocations: float | None  # None when CloudWatch could not be read
    error: str | None = None

    @property
    def used_recently(self) -> bool | None:
        return None if self.invocations is None else self.invocations > 0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            f"invocations_last_{self.window_minutes}_minutes": self.invocations,
            "used_recently": self.used_recently,
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class WakeOutcome:
    state: State
    eta_seconds: int
    execution: str | None
    started: bool
    reason: str

    @property
    def http_status(self) -> int:
        return 200 if self.state == State.READY else 202


@dataclass(frozen=True)
class Status:
    state: State
    desired_copies: int
    current_copies: int
    since: datetime | None
    eta_seconds: int
    last_error: str | None
    lease_until: datetime | None
    execution: str | None
    warnings: list[str] = field(default_factory=list)
    # From the stored learned plan (None in crons mode, with too little history, or before the first plan).
    next_planned_wake: datetime | None = None
    next_planned_sleep: datetime | None = None
    schedule: str = "crons"

    fallback: FallbackStatus | None = None

    def as_json(self) -> dict[str, Any]:
        """The document GET /status answers (and `sleepwake status --json` prints): times ISO 8601 `Z`."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, datetime):
                value = iso(value)
            elif isinstance(value, Enum):
                value = value.value
            elif isinstance(value, FallbackStatus):
                value = value.as_json()
            elif isinstance(value, list):
                value = list(value)
            out[name] = value
        return out


@dataclass
class PlanOutcome:
    mode: str
    days: list[PlannedDay]
    created: list[str]
    deleted: list[str]
    history_points: int


@dataclass
class WarmupResult:
    latencies_ms: list[float] = field(default_factory=list)
    warm: bool = False
    reason: str = ""


@dataclass
class Adapters:
    components: InferenceComponents
    runtime: Runtime
    scaling: CopyScaling
    table: StateTable
    executions: Executions
    metrics: ComponentMetrics
    alarms: Alarms | None = None  # only the execution-end handler needs these two
    notifications: Notifications | None = None
    schedules: PlannedWakes | None = None  # only the plan job creates and deletes schedules
    functions: Functions | None = None  # only the wake API invokes another function (the fallback's pre-warm)

    @classmethod
    def from_environment(cls, settings: Settings) -> Adapters:
        import boto3

        return cls.from_clients(settings, aws.client, boto3.resource("dynamodb", config=aws.RETRY_CONFIG))

    @classmethod
    def from_clients(cls, settings: Settings, client: Callable[[str], Any], dynamodb: Any) -> Adapters:
        """From a boto3 client factory and DynamoDB resource (the operator CLI's, for the deployment it found)."""
        return cls(
            components=InferenceComponents(client("sagemaker")),
            runtime=Runtime(client("sagemaker-runtime")),
            scaling=CopyScaling(client("application-autoscaling")),
            table=StateTable(dynamodb.Table(settings.state_table_name)),
            executions=Executions(client("stepfunctions")),
            metrics=ComponentMetrics(client("cloudwatch")),
            alarms=Alarms(client("cloudwatch")),
            notifications=Notifications(client("sns")),
            schedules=PlannedWakes(client("scheduler")),
            functions=Functions(client("lambda")),
        )


def warmup_payload() -> bytes:
    """A real 1.5 s speech clip shipped in the layer, so warm-up runs the model's real decode path."""
    return resources.files("sleepwake").joinpath("assets/warmup.wav").read_bytes()


class ControlPlane:
    def __init__(self, settings: Settings, adapters: Adapters) -> None:
        self.settings = settings
        self.policy = settings.policy()
        self.aws = adapters
        self.ic = settings.ic_name

    # ---- observing -------------------------------------------------------------------------------------
    def observe(self) -> tuple[StateRecord, ObservedCopies]:
        return self.aws.table.get(self.ic), self.aws.components.observe(self.ic)

    def _execution(self, record: StateRecord) -> str | None:
        if not record.execution_name:
            return None
        machine = (
            self.settings.wake_state_machine_arn if record.op_kind == "wake" else self.settings.sleep_state_machine_arn
        )
        return execution_arn(machine, record.execution_name) if machine else record.execution_name

    def status(self) -> Status:
        record, observed = self.observe()
        now = clock.now()
        plan = self.stored_plan() if self.settings.applied_schedule_mode == "learned" else None
        planned_wake, planned_sleep = next_planned(plan, now)
        return Status(
            state=effective_state(record, observed),
            desired_copies=observed.desired,
            current_copies=observed.current,
            since=record.since,
            eta_seconds=eta_seconds(record, observed, self.policy, now),
            last_error=record.last_error,
            lease_until=record.lease_until,
            execution=self._execution(record),
            warnings=list(record.warnings),
            next_planned_wake=planned_wake,
            next_planned_sleep=planned_sleep,
            schedule=self._schedule_summary(plan, now),
            fallback=self.fallback_status(now),
        )

    def _schedule_summary(self, plan: StoredPlan | None, now: datetime) -> str:
        if self.settings.schedule_mode != "learned":
            return "crons (ScheduleMode crons)"
        if self.settings.applied_schedule_mode != "learned":
            return "crons (ScheduleMode learned naps outside planned windows, which needs a fallback endpoint: none)"
        if plan is None:
            return "crons (no plan stored yet)"
        today = plan.day(now.astimezone(ZoneInfo(plan.tz)).date())
        if today is None:
            return f"crons (the stored plan, made {plan.made_at:%Y-%m-%d %H:%M %Z}, does not cover today)"
        return ("learned: " if today.learned else "crons: ") + today.reason

    # ---- the learned schedule ----------------------------------------------------------------------------
    def stored_plan(self) -> StoredPlan | None:
        """The plan the plan job stored; None when there is none or it cannot be read (the crons then apply:
        a failed read must never stop a sleep or a wake)."""
        try:
            return self.aws.table.get_plan(self.ic)
        except Exception:
            logger.warning("could not read the stored plan; the fixed schedules apply", exc_info=True)
            return None

    def make_plan(self, *, days: int = 2) -> PlanOutcome:
        """Plan today and the next `days - 1` local days from the request history, store the plan and (in
        learned mode) schedule one one-time wake per planned window, deleting the previous plan's leftovers."""
        now = clock.now()
        tz = self.settings.wake_timezone
        planner = self.settings.planner_settings()
        history = self.aws.metrics.invocation_history(
            self.ic,
            now - timedelta(days=planner.max_history_days + 1),
            now,
            fallback_endpoint=self.settings.fallback_endpoint_name or None,
        )
        today = now.astimezone(ZoneInfo(tz)).date()
        plans = [plan_day(history, today + timedelta(days=i), tz, planner) for i in range(days)]
        for plan in plans:
            logger.info(
                "planned a day",
                extra={"day": plan.day.isoformat(), "learned": plan.learned, "reason": plan.reason},
            )
        mode = self.settings.applied_schedule_mode
        previous = self.stored_plan()
        wanted = {wake_schedule_name(w): w for w in wakes_to_schedule(plans, now)} if mode == "learned" else {}
        created: list[str] = []
        deleted: list[str] = []
        if self.aws.schedules is None:
            raise RuntimeError("the plan job needs the scheduler adapter")
        group = self.settings.plan_schedule_group
        for name in sorted(set(previous.schedules if previous else []) - set(wanted)):
            if self.aws.schedules.delete(name=name, group=group):
                deleted.append(name)
        for name, wake in sorted(wanted.items()):
            reason = f"planned wake {wake.astimezone(ZoneInfo(tz)):%a %H:%M} ahead of a window the history says is busy"
            if self.aws.schedules.create(
                name=name,
                group=group,
                at=wake,
                tz=tz,
                target_arn=self.settings.planned_wake_target_arn,
                role_arn=self.settings.planned_wake_role_arn,
                reason=reason,
            ):
                created.append(name)
        stored = StoredPlan(
            made_at=now, mode=mode, tz=tz, days=[PlannedDay.of(p) for p in plans], schedules=sorted(wanted)
        )
        self.aws.table.put_plan(self.ic, stored)
        logger.info(
            "plan stored",
            extra={"mode": mode, "wakes_created": created, "wakes_deleted": deleted, "history_points": len(history)},
        )
        return PlanOutcome(mode, stored.days, created, deleted, len(history))

    def scheduled_wake(self, *, source: str, reason: str) -> WakeOutcome | None:
        """A wake from a schedule: the morning cron steps aside on a learned day (the planned wakes replace
        it); a planned wake always acts. None when it stepped aside (the reason is logged)."""
        if source == "schedule" and self.settings.applied_schedule_mode == "learned":
            skip = cron_skip_reason(self.stored_plan(), clock.now(), "wake")
            if skip:
                logger.info("morning wake skipped", extra={"reason": skip})
                return None
        return self.request_wake(reason=reason, source=source)

    def fallback_status(self, now: datetime) -> FallbackStatus | None:
        """The fallback's Invocations over the recent window; None without a fallback. A failed read is
        reported in the answer, never raised: /status must answer even when CloudWatch does not."""
        endpoint = self.settings.fallback_endpoint_name
        if not endpoint:
            return None
        minutes = self.settings.fallback_recent_minutes
        try:
            count = self.aws.metrics.endpoint_invocations(endpoint, minutes, now)
        except Exception as error:
            logger.warning("could not read the fallback's invocations", exc_info=True)
            return FallbackStatus(endpoint, minutes, None, f"could not read its Invocations: {error}")
        return FallbackStatus(endpoint, minutes, count)

    # ---- the fallback ----------------------------------------------------------------------------------
    def prewarm_fallback(self) -> bool:
        """Hand one warm-up request for the fallback to the warm-up function, asynchronously, so the fallback's
        cold start overlaps the wake instead of the next user's request. Never raises and never waits: the
        wake has started whatever happens here. True when the event was accepted."""
        endpoint, function = self.settings.fallback_endpoint_name, self.settings.warmup_function_name
        if not endpoint or not function or self.aws.functions is None:
            return False
        try:
            self.aws.functions.invoke_async(function, {"target": "fallback"})
        except Exception:
            logger.warning("could not hand the fallback's pre-warm over", exc_info=True, extra={"endpoint": endpoint})
            return False
        logger.info("fallback pre-warm sent", extra={"endpoint": endpoint, "function": function})
        return True

    def warm_fallback(self) -> WarmupResult:
        """One real request to the fallback endpoint (its cold start, if it was cold, is inside the latency).
        Raises NoFallback without one, and InvocationError when the fallback answers with an error."""
        endpoint = self.settings.fallback_endpoint_name
        if not endpoint:
            raise NoFallback("no fallback endpoint is configured (FALLBACK_ENDPOINT_NAME is empty)")
        try:
            call = self.aws.runtime.invoke_endpoint(endpoint, warmup_payload(), self.settings.warmup_content_type)
        except InvocationError:
            logger.exception("fallback warm-up failed", extra={"endpoint": endpoint})
            raise
        latency = round(call.latency_ms, 2)
        metrics.add_metric(name="FallbackWarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
        logger.info("fallback warmed", extra={"endpoint": endpoint, "latency_ms": latency})
        return WarmupResult(latencies_ms=[latency], warm=True, reason=f"{endpoint} answered in {latency:.0f} ms")

    # ---- waking ----------------------------------------------------------------------------------------
    def request_wake(self, *, reason: str, source: str, keep_awake_minutes: int | None = None) -> WakeOutcome:
        """Start a wake or join the running one; exactly one caller's conditional write starts it."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            now = clock.now()
            record, observed = self.observe()
            decision = decide_wake(record, observed, self.policy, now)
            if decision.action == WakeAction.ALREADY_READY:  # serving: is autoscaling's floor where a wake puts it?
                decision = decide_wake(record, observed, self.policy, now, min_capacity=self._min_capacity())
            if decision.action == WakeAction.JOIN and should_confirm_execution(record, self.policy, now):
                ended = self._ended_status(record)
                if ended:
                    decision = decide_wake(record, observed, self.policy, now, execution_ended=ended)
            lease = self._lease(record, now, keep_awake_minutes)
            logger.info(
                "wake decision",
                extra={
                    "action": decision.action.value,
                    "reason": decision.reason,
                    "source": source,
                    "state": record.state.value,
                    "current_copies": observed.current,
                },
            )
            try:
                if decision.action == WakeAction.ALREADY_READY:
                    if record.state != State.READY or lease != record.lease_until:
                        update: dict[str, Any] = {"state": State.READY, "lease_until": lease, "last_error": None}
                        if record.state != State.READY:
                            update |= {"since": now, "op_id": None, "op_kind": None, "reason": decision.reason}
                        self.aws.table.put(self.ic, record.model_copy(update=update), expected_version=record.version)
                    return WakeOutcome(State.READY, 0, None, False, decision.reason)
                if decision.action == WakeAction.JOIN:
                    if lease != record.lease_until:
                        record = self.aws.table.put(
                            self.ic, record.model_copy(update={"lease_until": lease}), expected_version=record.version
                        )
                    return WakeOutcome(
                        record.state,
                        eta_seconds(record, observed, self.policy, now),
                        self._execution(record),
                        False,
                        decision.reason,
                    )
                return self._start_wake(record, observed, now, reason, source, lease, decision.reason)
            except Conflict:
                logger.info("state changed under us; deciding again", extra={"source": source})
        raise WakeStartFailed(f"state table kept changing; gave up after {MAX_CLAIM_ATTEMPTS} attempts")

    def _ended_status(self, record: StateRecord) -> str | None:
        """The recorded wake execution's status when it is no longer running; None while it runs or when
        Step Functions could not say (joining is then the safe answer: the stale timeout still applies)."""
        arn = self._execution(record)
        if not arn or ":execution:" not in arn:
            return None
        try:
            status = self.aws.executions.status(arn)
        except Exception:
            logger.warning("could not describe the wake execution; joining it", exc_info=True)
            return None
        return None if status == "RUNNING" else status

    def _min_capacity(self) -> int | None:
        """The scalable target's MinCapacity; None when unknown (not registered, or the read failed: a wake
        decision must not fail because a read-only check did)."""
        try:
            bounds = self.aws.scaling.bounds(self.ic)
        except Exception:
            logger.warning("could not read the scaling bounds; deciding without them", exc_info=True)
            return None
        return bounds[0] if bounds else None

    def _instance_count(self) -> int | None:
        """The endpoint's instances now; None when unknown (the read failed: the first poll is then planned
        from the record, and a wake must never fail for a read that only tunes its polling)."""
        try:
            return self.aws.components.instance_count(self.settings.endpoint_name)
        except Exception:
            logger.warning("could not read the endpoint's instance count; planning polls without it", exc_info=True)
            return None

    def _lease(self, record: StateRecord, now: datetime, minutes: int | None) -> datetime | None:
        return extend_lease(record.lease_until, now, minutes, self.policy)

    def _start_wake(
        self,
        record: StateRecord,
        observed: ObservedCopies,
        now: datetime,
        reason: str,
        source: str,
        lease: datetime | None,
        why: str,
    ) -> WakeOutcome:
        op_id = uuid.uuid4().hex[:16]
        name = f"wake-{compact(now)}-{op_id}"
        claimed = self.aws.table.put(
            self.ic,
            record.model_copy(
                update={
                    "state": State.WAKING,
                    "op_id": op_id,
                    "op_kind": "wake",
                    "execution_name": name,
                    "since": now,
                    "op_started": now,
                    "reason": f"{source}: {reason}",
                    "lease_until": lease,
                    "last_error": None,
                    "warmup_latencies_ms": [],
                }
            ),
            expected_version=record.version,
        )
        first_poll = plan_first_poll(observed, record, now, self.policy, instances=self._instance_count())
        payload = {
            "op_id": op_id,
            # Never fewer than autoscaling has asked for: a wake must not cut a scale-out short.
            "copies": max(self.policy.day_min_copies, observed.desired),
            "requested_at": iso(now),
            "source": source,
            "reason": reason,
            "first_poll_seconds": first_poll.seconds,
        }
        try:
            arn = self.aws.executions.start(self.settings.wake_state_machine_arn, name, payload)
        except Exception as error:
            # Put the record back so the next caller can try again: never leave a claimed wake with no execution.
            logger.exception("could not start the wake execution; releasing the claim", extra={"op_id": op_id})
            self._release_claim(op_id, record, f"wake not started: {error}")
            raise WakeStartFailed(str(error)) from error
        metrics.add_metric(name="WakeRequested", unit=MetricUnit.Count, value=1)
        logger.info(
            "wake started",
            extra={
                "op_id": op_id,
                "execution": arn,
                "source": source,
                "reason": why,
                "first_poll_seconds": first_poll.seconds,
                "first_poll_reason": first_poll.reason,
            },
        )
        return WakeOutcome(State.WAKING, eta_seconds(claimed, observed, self.policy, now), arn, True, why)

    def _release_claim(self, op_id: str, before: StateRecord, error: str) -> None:
        """Give back a wake claim whose execution never started: the state before the claim, keeping any lease
        a joiner wrote since. Re-read on conflict, so a joiner's write cannot leave the record `waking` for an
        execution that does not exist; stop once another operation owns it."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            current = self.aws.table.get(self.ic)
            if current.op_id != op_id:
                return
            keep = {"lease_until": current.lease_until, "last_error": error}
            try:
                self.aws.table.put(self.ic, before.model_copy(update=keep), expected_version=current.version)
                return
            except Conflict:
                continue
        logger.error("could not release the wake claim", extra={"op_id": op_id})

    # ---- state-machine steps ---------------------------------------------------------------------------
    def check_copies(
        self, *, op_id: str, target: int, started_at: datetime, poll_seconds: int | None = None
    ) -> dict[str, Any]:
        record, observed = self.observe()
        elapsed = (clock.now() - started_at).total_seconds()
        bounds = self.aws.scaling.bounds(self.ic)
        check = check_scale(
            observed,
            target,
            elapsed,
            self.policy,
            owner=record.op_id == op_id,
            min_capacity=bounds[0] if bounds else None,
        )
        logger.info(
            "copy check",
            extra={
                "op_id": op_id,
                "verdict": check.verdict.value,
                "reason": check.reason,
                "status": observed.status.value,
                "current": observed.current,
                "desired": observed.desired,
                "elapsed_s": round(elapsed, 1),
            },
        )
        return {
            "wait_seconds": next_poll_seconds(elapsed, self.policy, poll_seconds=poll_seconds),
            "verdict": check.verdict.value,
            "reason": check.reason,
            "status": observed.status.value,
            "current": observed.current,
            "desired": observed.desired,
            "elapsed_seconds": round(elapsed, 3),
        }

    def transition(
        self, *, op_id: str, to: State, error: str | None = None, latencies_ms: list[float] | None = None
    ) -> StateRecord:
        """Move the record on behalf of op_id; raises NotOwner if another operation owns it now."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            record = self.aws.table.get(self.ic)
            if record.op_id != op_id:
                raise NotOwner(f"{op_id} no longer owns {self.ic} (owner: {record.op_id}, state {record.state})")
            now = clock.now()
            update: dict[str, Any] = {"state": to}
            if to == State.FAILED:
                update["last_error"] = error or "unknown error"
            if latencies_ms is not None:
                update["warmup_latencies_ms"] = latencies_ms
            if to in (State.WARMING, State.READY, State.ASLEEP, State.FAILED):
                update["since"] = now
            try:
                new = self.aws.table.put(self.ic, record.model_copy(update=update), expected_version=record.version)
            except Conflict:
                continue
            self._record_metrics(record, new, now)
            logger.info(
                "state transition", extra={"op_id": op_id, "from": record.state.value, "to": to.value, "error": error}
            )
            return new
        raise Conflict(f"could not record {to} for {op_id}")

    def settle(self, *, reason: str, latencies_ms: list[float] | None = None) -> StateRecord:
        """Record what the copies say after something outside a wake or sleep moved them (the post-deploy
        warm-up: a created component comes up serving), so /status has a `since`; a no-op while a wake or
        sleep owns the record."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            record, observed = self.observe()
            state = settled_state(record, observed)
            if state is None:
                return record
            update: dict[str, Any] = {"state": state, "since": clock.now(), "reason": reason, "op_id": None}
            update |= {"op_kind": None, "execution_name": None, "op_started": None}
            if state == State.READY:
                update["last_error"] = None
                if latencies_ms is not None:
                    update["warmup_latencies_ms"] = latencies_ms
            try:
                new = self.aws.table.put(self.ic, record.model_copy(update=update), expected_version=record.version)
            except Conflict:
                continue
            logger.info("state settled", extra={"from": record.state.value, "to": state.value, "reason": reason})
            return new
        raise Conflict(f"could not settle the state of {self.ic}")

    def check_endpoint(self) -> list[str]:
        """Check that the endpoint lets its instances go at 0 copies, and record what is wrong so /status says
        it until a deploy finds it fixed. Never raises: a failed read is itself a warning, and a check must not
        fail the deploy it runs in."""
        try:
            variants = self.aws.components.endpoint_instance_scaling(self.settings.endpoint_name)
            warnings = instance_scaling_warnings(self.settings.endpoint_name, variants)
        except Exception as error:
            logger.warning("could not read the endpoint's instance scaling", exc_info=True)
            warnings = [f"could not check that {self.settings.endpoint_name} scales its instances to 0: {error}"]
        for warning in warnings:
            logger.warning("endpoint check", extra={"warning": warning})
        if not warnings:
            logger.info("endpoint check: instances may scale to 0", extra={"endpoint": self.settings.endpoint_name})
        try:
            self._record_warnings(warnings)
        except Exception:
            logger.exception("could not record the endpoint check", extra={"warnings": warnings})
        return warnings

    def _record_warnings(self, warnings: list[str]) -> None:
        for _ in range(MAX_CLAIM_ATTEMPTS):
            record = self.aws.table.get(self.ic)
            if record.warnings == warnings:
                return
            try:  # only the warnings change, so a wake or sleep that owns the record is not disturbed
                update = {"warnings": warnings}
                self.aws.table.put(self.ic, record.model_copy(update=update), expected_version=record.version)
                return
            except Conflict:
                continue
        raise Conflict(f"could not record the endpoint check for {self.ic}")

    def _record_metrics(self, before: StateRecord, after: StateRecord, now: datetime) -> None:
        if after.state == State.READY and before.op_started:
            metrics.add_metric(
                name="TimeToReadySeconds", unit=MetricUnit.Seconds, value=(now - before.op_started).total_seconds()
            )
        elif after.state == State.ASLEEP:
            metrics.add_metric(name="SleepCompleted", unit=MetricUnit.Count, value=1)
        elif after.state == State.FAILED and before.op_kind == "wake":
            metrics.add_metric(name="WakeFailed", unit=MetricUnit.Count, value=1)

    def warm_up(self, *, invocations: int | None = None) -> WarmupResult:
        """Send real requests until the core says the copy is warm (at least N, at most the policy's cap)."""
        minimum = invocations or self.policy.warmup_invocations
        policy = self.policy.model_copy(
            update={
                "warmup_invocations": minimum,
                "max_warmup_invocations": max(minimum, self.policy.max_warmup_invocations),
            }
        )
        body = warmup_payload()
        result = WarmupResult()
        while not result.warm:
            try:
                call = self.aws.runtime.invoke(
                    self.settings.endpoint_name, self.ic, body, self.settings.warmup_content_type
                )
            except NoCapacityError as error:
                raise NotServing(f"{self.ic} has no serving copy to warm: {error}") from error
            result.latencies_ms.append(round(call.latency_ms, 2))
            metrics.add_metric(name="WarmupLatencyMs", unit=MetricUnit.Milliseconds, value=call.latency_ms)
            result.warm, result.reason = is_warm(result.latencies_ms, policy)
        logger.info("warm-up done", extra={"latencies_ms": result.latencies_ms, "reason": result.reason})
        return result

    # ---- sleeping --------------------------------------------------------------------------------------
    def decide_and_claim_sleep(
        self, *, trigger: SleepTrigger, force: bool = False, execution_name: str | None = None
    ) -> dict[str, Any]:
        for _ in range(MAX_CLAIM_ATTEMPTS):
            now = clock.now()
            record, observed = self.observe()
            plan = (
                self.stored_plan() if self.settings.applied_schedule_mode == "learned" and trigger != "manual" else None
            )
            skip = cron_skip_reason(plan, now, "sleep") if trigger == "schedule" and not force else None
            if skip:
                logger.info("sleep decision", extra={"sleep": False, "reason": skip, "trigger": trigger})
                return {"sleep": False, "reason": skip, "op_id": None}
            planned_awake = is_planned_awake(plan, now)
            # A learned day replaces the quiet hours: the idle check may sleep the component at any hour, after
            # Policy.planned_idle_minutes inside a planned window and UnplannedIdleMinutes outside (where the plan
            # expects nobody; a request meanwhile wakes it through the no-capacity alarm, and the fallback,
            # where there is one, answers it).
            policy = self.policy
            if learned_day(plan, now) is not None:
                policy = policy.model_copy(update={"naps": True})
            if unplanned_hours(plan, now):
                policy = policy.model_copy(update={"idle_minutes": self.settings.unplanned_idle_minutes})
            window = policy.idle_window_minutes(planned_awake=planned_awake)
            recent = self.aws.metrics.invocations(self.ic, window, now)
            decision = decide_sleep(
                record,
                observed,
                policy,
                now,
                trigger=trigger,
                recent_invocations=recent,
                force=force,
                planned_awake=planned_awake,
            )
            logger.info(
                "sleep decision",
                extra={
                    "sleep": decision.sleep,
                    "reason": decision.reason,
                    "trigger": trigger,
                    "state": record.state.value,
                    "recent_invocations": recent,
                    "planned_awake": planned_awake,
                },
            )
            if not decision.sleep:
                metrics.add_metric(name="SleepSkipped", unit=MetricUnit.Count, value=1)
                return {"sleep": False, "reason": decision.reason, "op_id": None}
            op_id = uuid.uuid4().hex[:16]
            try:
                self.aws.table.put(
                    self.ic,
                    record.model_copy(
                        update={
                            "state": State.SLEEPING,
                            "op_id": op_id,
                            "op_kind": "sleep",
                            "since": now,
                            "op_started": now,
                            "reason": f"{trigger}: {decision.reason}",
                            "execution_name": execution_name,
                            "lease_until": None if force else record.lease_until,
                        }
                    ),
                    expected_version=record.version,
                )
            except Conflict:
                continue
            return {"sleep": True, "reason": decision.reason, "op_id": op_id}
        raise Conflict("state table kept changing while deciding to sleep")

    # ---- executions that ended without succeeding ------------------------------------------------------
    def on_execution_end(self, ended: EndedExecution) -> dict[str, Any]:
        """Record a wake or sleep that ended FAILED, TIMED_OUT or ABORTED (only while the record still names
        it), re-arm the no-capacity alarm and notify, exactly once per execution."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            record = self.aws.table.get(self.ic)
            decision = decide_execution_end(record, ended)
            logger.info(
                "execution ended",
                extra={
                    "execution": ended.name,
                    "kind": ended.kind,
                    "status": ended.status,
                    "record_failure": decision.record_failure,
                    "notify": decision.notify,
                    "reason": decision.reason,
                    "state": record.state.value,
                },
            )
            if not decision.notify:
                return {"recorded": False, "notified": False, "reason": decision.reason}
            now = clock.now()
            update: dict[str, Any] = {"last_notified": ended.name}
            if decision.record_failure:
                update |= {"state": State.FAILED, "last_error": failure_text(ended), "since": now}
            try:  # the write also claims the notification, so a repeated event does not notify again
                claimed = self.aws.table.put(self.ic, record.model_copy(update=update), expected_version=record.version)
            except Conflict:
                continue
            if decision.record_failure:
                self._record_metrics(record, claimed, now)
            break
        else:
            raise Conflict(f"could not record the end of {ended.name}")
        self._rearm_no_capacity_alarm(ended)
        try:
            self._notify(ended, decision.reason)
        except Exception:
            self._release_notification(ended.name, record.last_notified)  # let the event's retry notify
            raise
        return {"recorded": decision.record_failure, "notified": True, "reason": decision.reason}

    def _rearm_no_capacity_alarm(self, ended: EndedExecution) -> None:
        # Requests that found no capacity while this wake ran left the alarm in ALARM; it acts on entering ALARM
        # only, so without this nothing would wake the component again.
        if not (self.aws.alarms and self.settings.no_capacity_alarm_name):
            return
        try:
            self.aws.alarms.rearm(
                self.settings.no_capacity_alarm_name, f"re-armed by sleepwake after {ended.kind} {ended.name} ended"
            )
        except Exception:  # the notification matters more than the re-arm
            logger.exception("could not re-arm the no-capacity alarm")

    def _notify(self, ended: EndedExecution, why: str) -> None:
        if not (self.aws.notifications and self.settings.failure_topic_arn):
            logger.warning("no failure topic configured; not notifying", extra={"execution": ended.name})
            return
        message = f"{failure_text(ended)} (component {self.ic}). {why}."
        message_id = self.aws.notifications.publish(
            self.settings.failure_topic_arn, f"sleepwake: {ended.kind} {ended.status.lower()}", message
        )
        metrics.add_metric(name="FailureNotified", unit=MetricUnit.Count, value=1)
        logger.info("failure notified", extra={"execution": ended.name, "message_id": message_id})

    def _release_notification(self, name: str, previous: str | None) -> None:
        for _ in range(MAX_CLAIM_ATTEMPTS):
            current = self.aws.table.get(self.ic)
            if current.last_notified != name:
                return
            try:
                self.aws.table.put(
                    self.ic, current.model_copy(update={"last_notified": previous}), expected_version=current.version
                )
                return
            except Conflict:
                continue

    def is_ready(self) -> bool:
        _, observed = self.observe()
        return is_serving(observed)


_instance: ControlPlane | None = None


def from_environment() -> ControlPlane:
    """The control plane for this Lambda's environment, built once per container."""
    global _instance
    if _instance is None:
        from sleepwake import settings as settings_module

        loaded = settings_module.load()
        _instance = ControlPlane(loaded, Adapters.from_environment(loaded))
    return _instance


def install(plane: ControlPlane) -> None:
    """Use `plane` for every handler in this process (the local stack and tests wire their own adapters)."""
    global _instance
    _instance = plane


def reset() -> None:
    """Forget the cached control plane, settings and clients (tests and the local stack re-point them)."""
    global _instance
    from sleepwake import settings as settings_module

    _instance = None
    settings_module.load.cache_clear()
    aws.reset()
