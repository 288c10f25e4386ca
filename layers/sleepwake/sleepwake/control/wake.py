"""Waking: start a wake or join the running one (POST /wake, the schedules, the no-capacity alarm, the CLI).

Exactly one caller's conditional write claims the record and starts the execution; every other caller joins
that wake (docs/design.md, "One wake").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sleepwake.adapters.state_table import Change, Conflict
from sleepwake.control.fallback import prewarm_fallback
from sleepwake.control.plane import ControlPlane
from sleepwake.core import (
    FirstPoll,
    ObservedCopies,
    State,
    StateRecord,
    WakeAction,
    WakeDecision,
    compact,
    decide_wake,
    eta_seconds,
    expected_provisioning,
    extend_lease,
    iso,
    plan_first_poll,
    should_confirm_execution,
    wake_hold_minutes,
)
from sleepwake.core.applied_plan import cron_skip_reason
from sleepwake.observability import MetricUnit, logger, metrics


class WakeStartFailed(Exception):
    """The wake execution could not be started; the record was put back as it was."""


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
class _Decided:
    """One attempt's decision, with what it was made on (the claim's write is the attempt's Change)."""

    decision: WakeDecision
    before: StateRecord
    observed: ObservedCopies
    now: datetime
    first_poll: FirstPoll | None = None  # set when the decision starts a wake


def request_wake(
    plane: ControlPlane, *, reason: str, source: str, keep_awake_minutes: int | None = None
) -> WakeOutcome:
    """Start a wake or join the running one; exactly one caller's conditional write starts it."""

    def decide(record: StateRecord) -> Change[_Decided]:
        now = plane.now()
        observed = plane.aws.components.observe(plane.ic)
        decision = decide_wake(record, observed, plane.policy, now)
        if decision.action == WakeAction.ALREADY_READY:  # serving: is autoscaling's floor where a wake puts it?
            decision = decide_wake(record, observed, plane.policy, now, min_capacity=_min_capacity(plane))
        if decision.action == WakeAction.JOIN and should_confirm_execution(record, plane.policy, now):
            ended = _ended_status(plane, record)
            if ended:
                decision = decide_wake(record, observed, plane.policy, now, execution_ended=ended)
        lease = extend_lease(record.lease_until, now, keep_awake_minutes, plane.policy)
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
        decided = _Decided(decision, record, observed, now)
        if decision.action == WakeAction.ALREADY_READY:
            if record.state == State.READY and lease == record.lease_until:
                return Change(None, decided)
            update: dict[str, Any] = {"state": State.READY, "lease_until": lease, "last_error": None}
            if record.state != State.READY:
                update |= {"since": now, "op_id": None, "op_kind": None, "reason": decision.reason}
            return Change(record.model_copy(update=update), decided)
        if decision.action == WakeAction.JOIN:
            if lease == record.lease_until:
                return Change(None, decided)
            return Change(record.model_copy(update={"lease_until": lease}), decided)
        op_id = uuid.uuid4().hex[:16]
        first_poll = plan_first_poll(observed, record, now, plane.policy, instances=_instance_count(plane))
        claim = {
            "state": State.WAKING,
            "op_id": op_id,
            "op_kind": "wake",
            "execution_name": f"wake-{compact(now)}-{op_id}",
            "since": now,
            "op_started": now,
            "reason": f"{source}: {reason}",
            "lease_until": lease,
            "last_error": None,
            "warmup_latencies_ms": [],
            "provisioning_seconds": expected_provisioning(first_poll, plane.policy),
        }
        return Change(record.model_copy(update=claim), _Decided(decision, record, observed, now, first_poll))

    try:
        decided, stored = plane.aws.table.update(plane.ic, decide, what="decide a wake")
    except Conflict as error:
        raise WakeStartFailed(f"state table kept changing: {error}") from error
    why = decided.decision.reason
    if decided.decision.action == WakeAction.ALREADY_READY:
        return WakeOutcome(State.READY, 0, None, False, why)
    eta = eta_seconds(stored, decided.observed, plane.policy, decided.now)
    if decided.decision.action == WakeAction.JOIN:
        return WakeOutcome(stored.state, eta, plane.execution(stored), False, why)
    arn = _start_execution(plane, decided, stored, reason=reason, source=source)
    return WakeOutcome(State.WAKING, eta, arn, True, why)


def announce_user(plane: ControlPlane, *, reason: str, keep_awake_minutes: int | None = None) -> WakeOutcome:
    """The product's POST /wake: a user is coming. The component is held awake for them (what the caller asked,
    else the policy's WakeHoldMinutes), and a wake that starts warms the fallback meanwhile (asynchronous, never
    fails the call), so the user's first requests find one of the two warm."""
    minutes = wake_hold_minutes(keep_awake_minutes, plane.policy)
    outcome = request_wake(plane, reason=reason, source="api", keep_awake_minutes=minutes)
    if outcome.started:
        prewarm_fallback(plane)
    return outcome


def scheduled_wake(plane: ControlPlane, *, source: str, reason: str) -> WakeOutcome | None:
    """A wake from a schedule: the morning cron steps aside on a learned day (the planned wakes replace it); a
    planned wake always acts. None when it stepped aside (the reason is logged)."""
    if source == "schedule" and plane.settings.applied_schedule_mode == "learned":
        skip = cron_skip_reason(plane.stored_plan(), plane.now(), "wake")
        if skip:
            logger.info("morning wake skipped", extra={"reason": skip})
            return None
    return request_wake(plane, reason=reason, source=source)


def _start_execution(plane: ControlPlane, decided: _Decided, claimed: StateRecord, *, reason: str, source: str) -> str:
    """Start the wake execution the claim names; on failure give the claim back and raise WakeStartFailed."""
    op_id, now, observed, first_poll = str(claimed.op_id), decided.now, decided.observed, decided.first_poll
    assert first_poll is not None  # a started wake planned its first poll with its claim
    payload = {
        "op_id": op_id,
        # Never fewer than autoscaling has asked for: a wake must not cut a scale-out short.
        "copies": max(plane.policy.day_min_copies, observed.desired),
        "requested_at": iso(now),
        "source": source,
        "reason": reason,
        "first_poll_seconds": first_poll.seconds,
        # What the wake expects to wait for a serving copy, by its phase: `sleepwake report` reads it back.
        "expected_provisioning_seconds": claimed.provisioning_seconds,
    }
    try:
        arn = plane.aws.executions.start(plane.settings.wake_state_machine_arn, str(claimed.execution_name), payload)
    except Exception as error:
        # Put the record back so the next caller can try again: never leave a claimed wake with no execution.
        logger.exception("could not start the wake execution; releasing the claim", extra={"op_id": op_id})
        _release_claim(plane, op_id, decided.before, f"wake not started: {error}")
        raise WakeStartFailed(str(error)) from error
    metrics.add_metric(name="WakeRequested", unit=MetricUnit.Count, value=1)
    logger.info(
        "wake started",
        extra={
            "op_id": op_id,
            "execution": arn,
            "source": source,
            "reason": decided.decision.reason,
            "first_poll_seconds": first_poll.seconds,
            "first_poll_reason": first_poll.reason,
        },
    )
    return arn


def _release_claim(plane: ControlPlane, op_id: str, before: StateRecord, error: str) -> None:
    """Give back a wake claim whose execution never started: the state before the claim, keeping any lease a
    joiner wrote since. Re-read on conflict, so a joiner's write cannot leave the record `waking` for an
    execution that does not exist; stop once another operation owns it."""

    def give_back(current: StateRecord) -> Change[None]:
        if current.op_id != op_id:
            return Change(None, None)
        return Change(before.model_copy(update={"lease_until": current.lease_until, "last_error": error}), None)

    try:
        plane.aws.table.update(plane.ic, give_back, what="release the wake claim")
    except Conflict:
        logger.error("could not release the wake claim", extra={"op_id": op_id})


def _ended_status(plane: ControlPlane, record: StateRecord) -> str | None:
    """The recorded wake execution's status when it is no longer running; None while it runs or when Step
    Functions could not say (joining is then the safe answer: the stale timeout still applies)."""
    arn = plane.execution(record)
    if not arn or ":execution:" not in arn:
        return None
    try:
        status = plane.aws.executions.status(arn)
    except Exception:
        logger.warning("could not describe the wake execution; joining it", exc_info=True)
        return None
    return None if status == "RUNNING" else status


def _min_capacity(plane: ControlPlane) -> int | None:
    """The scalable target's MinCapacity; None when unknown (not registered, or the read failed: a wake decision
    must not fail because a read-only check did)."""
    try:
        bounds = plane.aws.scaling.bounds(plane.ic)
    except Exception:
        logger.warning("could not read the scaling bounds; deciding without them", exc_info=True)
        return None
    return bounds[0] if bounds else None


def _instance_count(plane: ControlPlane) -> int | None:
    """The endpoint's instances now; None when unknown (the read failed: the first poll is then planned from the
    record, and a wake must never fail for a read that only tunes its polling)."""
    try:
        return plane.aws.components.instance_count(plane.settings.endpoint_name)
    except Exception:
        logger.warning("could not read the endpoint's instance count; planning polls without it", exc_info=True)
        return None
