"""Every decision the control plane makes, each returning what to do and why (the why is logged)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sleepwake.core.model import IN_FLIGHT_WAKE, EndedExecution, ICStatus, ObservedCopies, Policy, State, StateRecord
from sleepwake.core.timestamps import iso


def is_serving(observed: ObservedCopies, target: int = 1) -> bool:
    """A copy serves only when the component is InService AND has the copies: at 0 copies it still says
    InService (docs/aws-behaviour.md §2), and during an update CurrentCopyCount may already be non-zero."""
    return observed.status == ICStatus.IN_SERVICE and observed.current >= max(target, 1)


def _age_seconds(since: datetime | None, now: datetime) -> float:
    return (now - since).total_seconds() if since else float("inf")


def _wake_in_flight(record: StateRecord, policy: Policy, now: datetime) -> bool:
    return record.state in IN_FLIGHT_WAKE and _age_seconds(record.since, now) < policy.stale_after_seconds


class WakeAction(StrEnum):
    ALREADY_READY = "already_ready"
    JOIN = "join"
    START = "start"


@dataclass(frozen=True)
class WakeDecision:
    action: WakeAction
    reason: str


def has_serving_copies(observed: ObservedCopies, target: int = 1) -> bool:
    """At least `target` copies serve requests: InService, or Updating while autoscaling adds or removes
    copies beside them (CurrentCopyCount counts the copies that serve now)."""
    return observed.status in (ICStatus.IN_SERVICE, ICStatus.UPDATING) and observed.current >= max(target, 1)


def decide_wake(
    record: StateRecord,
    observed: ObservedCopies,
    policy: Policy,
    now: datetime,
    *,
    min_capacity: int | None = None,
    execution_ended: str | None = None,
) -> WakeDecision:
    """Start a wake, join the one running, or say it is already serving.

    Joining is what makes concurrent callers cheap: only the caller whose conditional write moves the
    record out of a non-waking state starts a wake; everyone else joins that one. Copies serving while
    autoscaling scales out count as ready (a wake then would only get in its way). `min_capacity` is the
    scalable target's MinCapacity when known: serving copies with MinCapacity below the day minimum (a sleep
    that failed half way) need a wake, or target tracking would scale them to 0 after the next idle spell.
    `execution_ended` is the status Step Functions gave the recorded wake's execution when it is no longer
    running: a wake is never joined once its execution has ended (stopped, timed out, failed outside its Catch).
    """
    if _wake_in_flight(record, policy, now) and execution_ended:
        return WakeDecision(
            WakeAction.START, f"wake {record.op_id}'s execution ended {execution_ended} without recording it"
        )
    if _wake_in_flight(record, policy, now):
        return WakeDecision(WakeAction.JOIN, f"wake {record.op_id} is already {record.state.value}")
    if record.state == State.SLEEPING:
        return WakeDecision(WakeAction.START, f"sleep {record.op_id} is running; a wake supersedes it")
    if has_serving_copies(observed, policy.day_min_copies if record.state == State.READY else 1):
        if min_capacity is not None and min_capacity < policy.day_min_copies:
            return WakeDecision(
                WakeAction.START,
                f"{observed.current} copy(ies) serving but autoscaling MinCapacity is {min_capacity}, below the day "
                f"minimum {policy.day_min_copies}: a wake restores it",
            )
        return WakeDecision(WakeAction.ALREADY_READY, f"{observed.current} copy(ies) serving")
    if record.state in IN_FLIGHT_WAKE:
        return WakeDecision(WakeAction.START, f"wake {record.op_id} went stale after {policy.stale_after_seconds}s")
    return WakeDecision(WakeAction.START, f"{observed.current} copies serving, recorded state {record.state.value}")


def should_confirm_execution(record: StateRecord, policy: Policy, now: datetime) -> bool:
    """Before joining: ask Step Functions whether the recorded wake still runs. Its end normally reaches the
    record within seconds (the status-change rule), but AWS delivers those events best effort, so a wake that
    has run longer than `confirm_execution_after_seconds` is confirmed; younger ones are joined at no cost
    (a burst of callers arrives together, at the start of a wake)."""
    return (
        _wake_in_flight(record, policy, now)
        and record.op_kind == "wake"
        and record.execution_name is not None
        and _age_seconds(record.op_started or record.since, now) >= policy.confirm_execution_after_seconds
    )


@dataclass(frozen=True)
class EndDecision:
    record_failure: bool
    notify: bool
    reason: str


def decide_execution_end(record: StateRecord, ended: EndedExecution) -> EndDecision:
    """What to do when a wake or sleep execution ended FAILED, TIMED_OUT or ABORTED.

    The failure is recorded only while the record still names that execution and says it is under way: a
    failure the state machine caught has recorded itself, and a newer operation's record is not ours to touch.
    Every end is notified exactly once (this is the only notifier), so a repeated event is recognised by the
    execution name kept in `last_notified`."""
    if record.last_notified == ended.name:
        return EndDecision(False, False, f"{ended.kind} {ended.name} was already notified (a repeated event)")
    names_it = record.execution_name == ended.name and record.op_kind == ended.kind
    under_way = record.state in (*IN_FLIGHT_WAKE, State.SLEEPING)
    if names_it and under_way:
        return EndDecision(
            True, True, f"{ended.kind} {ended.name} ended {ended.status} while the record said {record.state.value}"
        )
    if names_it:
        return EndDecision(
            False, True, f"{ended.kind} {ended.name} ended {ended.status}; the record says {record.state.value}"
        )
    return EndDecision(
        False,
        True,
        f"{ended.kind} {ended.name} ended {ended.status}; the record names {record.execution_name or 'no execution'}",
    )


def failure_text(ended: EndedExecution) -> str:
    """`last_error` for an execution that ended outside its own failure path."""
    detail = ": ".join(part for part in (ended.error, ended.cause) if part)
    return f"{ended.kind} execution {ended.name} {ended.status}" + (f": {detail}" if detail else "")


@dataclass(frozen=True)
class SleepDecision:
    sleep: bool
    reason: str


SleepTrigger = Literal["schedule", "idle", "manual"]


def decide_sleep(
    record: StateRecord,
    observed: ObservedCopies,
    policy: Policy,
    now: datetime,
    *,
    trigger: SleepTrigger,
    recent_invocations: float,
    force: bool = False,
    planned_awake: bool = False,
) -> SleepDecision:
    """Sleep now, or skip and say why. `recent_invocations` is the Invocations sum over
    `policy.idle_window_minutes(planned_awake=...)`; `planned_awake` is True inside a learned plan's window."""
    if _wake_in_flight(record, policy, now):
        return SleepDecision(False, f"wake {record.op_id} is {record.state.value}; sleeping now would undo it")
    if record.state == State.SLEEPING and _age_seconds(record.since, now) < policy.stale_after_seconds:
        return SleepDecision(False, f"sleep {record.op_id} is already running")
    if force:
        return SleepDecision(True, "forced by the operator")
    if record.lease_until and record.lease_until > now:
        return SleepDecision(False, f"awake lease active until {iso(record.lease_until, 'seconds')}")
    if trigger == "idle" and not policy.naps and not policy.quiet_hours.is_quiet(now):
        return SleepDecision(False, "outside quiet hours; idle sleep only runs at night (no fallback for naps)")
    window = policy.idle_window_minutes(planned_awake=planned_awake)
    if recent_invocations > 0:
        return SleepDecision(
            False,
            f"served {recent_invocations:g} request(s) in the last {window} minutes"
            + (" (a planned window)" if planned_awake else ""),
        )
    if observed.desired == 0 and observed.current == 0 and record.state == State.ASLEEP:
        return SleepDecision(False, "already asleep at 0 copies")
    return SleepDecision(
        True, f"idle for {window} minutes ({trigger}{', in a planned window' if planned_awake else ''})"
    )


class ScaleVerdict(StrEnum):
    REACHED = "reached"
    WAIT = "wait"
    REASSERT = "reassert"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class ScaleCheck:
    verdict: ScaleVerdict
    reason: str


def check_scale(
    observed: ObservedCopies,
    target: int,
    elapsed_seconds: float,
    policy: Policy,
    *,
    owner: bool = True,
    min_capacity: int | None = None,
) -> ScaleCheck:
    """One poll of a scale action towards `target` copies (0 for sleep).

    `owner` is False when the state record names another operation: a wake that took over from a sleep.
    The sleep must then stop touching the copies, or the two would fight. `min_capacity` is the scalable
    target's MinCapacity: a wake is not done while autoscaling may still scale the copies back in.
    """
    if not owner:
        return ScaleCheck(ScaleVerdict.SUPERSEDED, "another operation owns the component now")
    if observed.status == ICStatus.FAILED:
        return ScaleCheck(ScaleVerdict.FAILED, f"component Failed: {observed.failure_reason or 'no reason given'}")
    min_too_low = target > 0 and min_capacity is not None and min_capacity < target
    if target == 0:
        if observed.current == 0 and observed.status == ICStatus.IN_SERVICE:
            return ScaleCheck(ScaleVerdict.REACHED, "0 copies")
    elif is_serving(observed, target) and not min_too_low:
        return ScaleCheck(ScaleVerdict.REACHED, f"InService with {observed.current}/{target} copies")
    # The timeout comes before any reassert: something that keeps undoing the scale must not loop forever.
    if elapsed_seconds > policy.wake_timeout_seconds:
        return ScaleCheck(
            ScaleVerdict.TIMED_OUT,
            f"not at {target} copies after {elapsed_seconds:.0f}s (status {observed.status.value}, "
            f"current {observed.current}, desired {observed.desired}, MinCapacity {min_capacity})",
        )
    if min_too_low:
        return ScaleCheck(ScaleVerdict.REASSERT, f"autoscaling MinCapacity is {min_capacity}, want {target}")
    if (target == 0 and observed.desired > 0) or (target > 0 and observed.desired < target):
        return ScaleCheck(ScaleVerdict.REASSERT, f"desired copies is {observed.desired}, want {target}")
    return ScaleCheck(
        ScaleVerdict.WAIT, f"{observed.status.value}: {observed.current}/{observed.desired} copies, want {target}"
    )


def is_warm(latencies_ms: list[float], policy: Policy) -> tuple[bool, str]:
    """Warm once the minimum number of warm-up requests is done and latency has stopped falling: the last
    two requests agree within `warm_latency_tolerance` (the first requests after a load are the slow ones)."""
    n = len(latencies_ms)
    if n < policy.warmup_invocations:
        return False, f"{n}/{policy.warmup_invocations} warm-up requests done"
    if n == 1:
        return True, f"one warm-up request: {latencies_ms[0]:.0f} ms"
    before, last = latencies_ms[-2], latencies_ms[-1]
    if max(before, last) <= policy.warm_latency_tolerance * min(before, last):
        return (
            True,
            f"last two requests {before:.0f} ms and {last:.0f} ms agree within {policy.warm_latency_tolerance}x",
        )
    if n >= policy.max_warmup_invocations:
        return True, f"gave up warming after {n} requests (last two {before:.0f} ms, {last:.0f} ms)"
    return False, f"latency still changing: {before:.0f} ms then {last:.0f} ms"


def effective_state(record: StateRecord, observed: ObservedCopies) -> State:
    """What /status reports: the record, corrected where the copies say otherwise (e.g. a manual scale)."""
    # The same "copies serve now" as decide_wake, so /status and /wake agree (ready during a scale-out).
    if record.state == State.READY and not has_serving_copies(observed):
        return State.ASLEEP if observed.desired == 0 else State.WAKING
    if record.state in (State.ASLEEP, State.FAILED) and has_serving_copies(observed):
        return State.READY
    return record.state


def settled_state(record: StateRecord, observed: ObservedCopies) -> State | None:
    """The state to write after something outside a wake or sleep moved the copies (a deploy, a manual
    scale): what the copies say, when the record says otherwise or has never been written. None while a wake
    or sleep owns the record (it writes its own states) or when the record is already right."""
    if record.state in (*IN_FLIGHT_WAKE, State.SLEEPING):
        return None
    state = effective_state(record, observed)
    if state not in (State.READY, State.ASLEEP):
        return None
    return state if state != record.state or record.since is None else None


def eta_seconds(record: StateRecord, observed: ObservedCopies, policy: Policy, now: datetime) -> int:
    """Seconds until a copy serves warm: the running wake's expected provisioning for its phase (the
    provisioning estimate when it did not say, or no wake runs) plus the warm-up; 0 when ready."""
    state = effective_state(record, observed)
    provisioning = policy.provisioning_estimate_seconds
    if state == State.WAKING and record.provisioning_seconds is not None:
        provisioning = record.provisioning_seconds
    full = provisioning + policy.warmup_estimate_seconds
    if state == State.READY:
        return 0
    if state == State.WARMING:
        return policy.warmup_estimate_seconds
    if state == State.WAKING:
        return max(int(full - _age_seconds(record.since, now)), policy.warmup_estimate_seconds)
    return full


def extend_lease(current: datetime | None, now: datetime, minutes: int | None, policy: Policy) -> datetime | None:
    """The awake lease after a wake asking to stay up `minutes` (capped); a lease is never shortened.

    It ends on a whole minute (rounded up), so a burst of wakes asking for the same stay within one minute
    all want the same lease: the first writes it and the rest find it already there, instead of each
    bumping the state item's version and making every other caller decide again."""
    if not minutes:
        return current
    wanted = _ceil_minute(now + timedelta(minutes=min(minutes, policy.max_keep_awake_minutes)))
    return max(wanted, current) if current else wanted


def wake_hold_minutes(asked: int | None, policy: Policy) -> int:
    """How long a product's /wake keeps the component awake: what the caller asked (`keep_awake_minutes`), else
    the policy's hold. A /wake announces a user minutes before their first request (the wake intent); without a
    hold, a wake finished before they arrive is idle and the next idle check may nap it, so they meet the fallback
    (in the built-in week a third of the fallback's requests came from users who had announced themselves)."""
    return policy.wake_hold_minutes if asked is None else asked


def _ceil_minute(when: datetime) -> datetime:
    floor = when.replace(second=0, microsecond=0)
    return floor if floor == when else floor + timedelta(minutes=1)
