"""Every decision of the core, with the reason it gives (the reason is what operators read in the logs)."""

from datetime import UTC, datetime, timedelta

import pytest

from sleepwake.core import (
    FirstPoll,
    ICStatus,
    ObservedCopies,
    ScaleVerdict,
    State,
    StateRecord,
    WakeAction,
    check_scale,
    decide_sleep,
    decide_wake,
    defaults,
    effective_state,
    eta_seconds,
    expected_provisioning,
    extend_lease,
    is_serving,
    is_warm,
    settled_state,
    wake_hold_minutes,
)

NIGHT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 02:00 PST / 05:00 EST: quiet hours
DAY = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # 10:00 PST / 13:00 EST


ASLEEP = ObservedCopies(status=ICStatus.IN_SERVICE, desired=0, current=0)
SERVING = ObservedCopies(status=ICStatus.IN_SERVICE, desired=1, current=1)
UPDATING = ObservedCopies(status=ICStatus.UPDATING, desired=1, current=0)


def record(state: State, *, age_s: float = 10, now: datetime = NIGHT, **kw) -> StateRecord:
    return StateRecord(state=state, op_id="op-1", since=now - timedelta(seconds=age_s), **kw)


# ---- is the copy serving? ----------------------------------------------------------------------------
def test_zero_copies_in_service_is_not_serving():
    assert not is_serving(ASLEEP)


def test_copies_during_an_update_are_not_serving_until_in_service():
    assert not is_serving(ObservedCopies(status=ICStatus.UPDATING, desired=1, current=1))
    assert is_serving(SERVING)


# ---- wake: start, join or already ready ----------------------------------------------------------------
def test_a_wake_while_asleep_starts_one(policy):
    decision = decide_wake(record(State.ASLEEP), ASLEEP, policy, NIGHT)
    assert decision.action == WakeAction.START
    assert "0 copies" in decision.reason


@pytest.mark.parametrize("state", [State.WAKING, State.WARMING])
def test_a_wake_while_one_is_running_joins_it(policy, state):
    decision = decide_wake(record(state), UPDATING, policy, NIGHT)
    assert decision.action == WakeAction.JOIN
    assert "op-1" in decision.reason


def test_a_wake_that_went_stale_is_replaced(policy):
    stale = record(State.WAKING, age_s=policy.stale_after_seconds + 1)
    decision = decide_wake(stale, UPDATING, policy, NIGHT)
    assert decision.action == WakeAction.START
    assert "stale" in decision.reason


def test_a_wake_while_serving_says_ready(policy):
    decision = decide_wake(record(State.READY), SERVING, policy, DAY)
    assert decision.action == WakeAction.ALREADY_READY


def test_a_wake_while_autoscaling_adds_a_copy_says_ready_and_leaves_the_scale_out_alone(policy):
    scaling_out = ObservedCopies(status=ICStatus.UPDATING, desired=2, current=1)
    decision = decide_wake(record(State.READY), scaling_out, policy, DAY, min_capacity=1)
    assert decision.action == WakeAction.ALREADY_READY


def test_serving_copies_with_min_capacity_below_the_day_minimum_need_a_wake(policy):
    """A sleep that failed after lowering MinCapacity: target tracking would scale to 0 after an idle spell."""
    decision = decide_wake(record(State.FAILED), SERVING, policy, DAY, min_capacity=0)
    assert decision.action == WakeAction.START
    assert "MinCapacity is 0" in decision.reason


def test_a_wake_during_a_sleep_supersedes_the_sleep_even_if_copies_still_serve(policy):
    decision = decide_wake(record(State.SLEEPING), SERVING, policy, NIGHT)
    assert decision.action == WakeAction.START
    assert "supersedes" in decision.reason


def test_a_wake_after_a_failure_starts_again(policy):
    assert decide_wake(record(State.FAILED), ASLEEP, policy, NIGHT).action == WakeAction.START


# ---- sleep: now, or skip and why ---------------------------------------------------------------------
def test_scheduled_sleep_of_an_idle_component_sleeps(policy):
    decision = decide_sleep(record(State.READY), SERVING, policy, NIGHT, trigger="schedule", recent_invocations=0)
    assert decision.sleep
    assert "idle for 30 minutes" in decision.reason


def test_sleep_is_skipped_when_requests_were_served_recently(policy):
    decision = decide_sleep(record(State.READY), SERVING, policy, NIGHT, trigger="schedule", recent_invocations=4)
    assert not decision.sleep
    assert decision.reason == "served 4 request(s) in the last 30 minutes"


def test_sleep_is_skipped_while_an_awake_lease_is_active(policy):
    leased = record(State.READY, lease_until=NIGHT + timedelta(minutes=5))
    decision = decide_sleep(leased, SERVING, policy, NIGHT, trigger="schedule", recent_invocations=0)
    assert not decision.sleep
    assert "lease" in decision.reason


def test_an_expired_lease_no_longer_blocks_sleep(policy):
    expired = record(State.READY, lease_until=NIGHT - timedelta(seconds=1))
    assert decide_sleep(expired, SERVING, policy, NIGHT, trigger="schedule", recent_invocations=0).sleep


def test_idle_sleep_only_acts_in_quiet_hours(policy):
    decision = decide_sleep(record(State.READY, now=DAY), SERVING, policy, DAY, trigger="idle", recent_invocations=0)
    assert not decision.sleep
    assert "outside quiet hours" in decision.reason
    assert decide_sleep(record(State.READY), SERVING, policy, NIGHT, trigger="idle", recent_invocations=0).sleep


@pytest.mark.parametrize("state", [State.WAKING, State.WARMING])
def test_sleep_never_interrupts_a_wake(policy, state):
    decision = decide_sleep(
        record(state), UPDATING, policy, NIGHT, trigger="schedule", recent_invocations=0, force=True
    )
    assert not decision.sleep
    assert "would undo it" in decision.reason


def test_a_second_sleep_while_one_runs_is_skipped(policy):
    decision = decide_sleep(record(State.SLEEPING), SERVING, policy, NIGHT, trigger="idle", recent_invocations=0)
    assert not decision.sleep
    assert "already running" in decision.reason


def test_an_already_asleep_component_is_left_alone(policy):
    decision = decide_sleep(record(State.ASLEEP), ASLEEP, policy, NIGHT, trigger="idle", recent_invocations=0)
    assert not decision.sleep
    assert "already asleep" in decision.reason


def test_the_operator_can_force_a_sleep_through_a_lease_and_traffic(policy):
    leased = record(State.READY, lease_until=NIGHT + timedelta(hours=1))
    decision = decide_sleep(leased, SERVING, policy, DAY, trigger="manual", recent_invocations=9, force=True)
    assert decision.sleep
    assert decision.reason == "forced by the operator"


# ---- polling a scale action --------------------------------------------------------------------------
def test_a_wake_poll_waits_while_the_component_updates(policy):
    assert check_scale(UPDATING, 1, 60, policy).verdict == ScaleVerdict.WAIT


def test_a_wake_poll_is_reached_only_when_in_service_with_the_copies(policy):
    assert check_scale(SERVING, 1, 200, policy, min_capacity=1).verdict == ScaleVerdict.REACHED


def test_a_wake_poll_reasserts_when_something_set_the_copies_back_to_zero(policy):
    check = check_scale(ASLEEP, 1, 30, policy)
    assert check.verdict == ScaleVerdict.REASSERT
    assert "desired copies is 0" in check.reason


def test_a_wake_is_not_done_while_autoscaling_could_scale_it_back_in(policy):
    check = check_scale(SERVING, 1, 200, policy, min_capacity=0)
    assert check.verdict == ScaleVerdict.REASSERT
    assert "MinCapacity is 0" in check.reason


def test_a_failed_component_fails_the_poll_with_its_reason(policy):
    failed = ObservedCopies(status=ICStatus.FAILED, desired=1, current=0, failure_reason="out of capacity")
    check = check_scale(failed, 1, 30, policy)
    assert check.verdict == ScaleVerdict.FAILED
    assert "out of capacity" in check.reason


def test_a_poll_past_the_timeout_times_out(policy):
    check = check_scale(UPDATING, 1, policy.wake_timeout_seconds + 1, policy)
    assert check.verdict == ScaleVerdict.TIMED_OUT


def test_a_wake_whose_min_capacity_keeps_being_undone_times_out_instead_of_looping(policy):
    check = check_scale(SERVING, 1, policy.wake_timeout_seconds + 1, policy, min_capacity=0)
    assert check.verdict == ScaleVerdict.TIMED_OUT
    assert "MinCapacity 0" in check.reason


def test_a_sleep_poll_is_reached_at_zero_copies(policy):
    assert check_scale(ASLEEP, 0, 30, policy).verdict == ScaleVerdict.REACHED
    draining = ObservedCopies(status=ICStatus.UPDATING, desired=0, current=1)
    assert check_scale(draining, 0, 30, policy).verdict == ScaleVerdict.WAIT


def test_a_sleep_superseded_by_a_wake_stops(policy):
    assert check_scale(SERVING, 0, 30, policy, owner=False).verdict == ScaleVerdict.SUPERSEDED


# ---- is it warm? -------------------------------------------------------------------------------------
def test_warm_needs_the_minimum_number_of_requests(policy):
    assert is_warm([900, 40], policy) == (False, "2/3 warm-up requests done")


def test_warm_once_latency_settles(policy):
    warm, reason = is_warm([900, 40, 38], policy)
    assert warm
    assert "agree within 1.5x" in reason


def test_not_warm_while_latency_is_still_falling(policy):
    warm, _ = is_warm([900, 600, 300], policy)
    assert not warm


def test_warm_up_gives_up_at_the_cap(policy):
    latencies = [900.0 / (2**i) for i in range(policy.max_warmup_invocations)]
    warm, reason = is_warm(latencies, policy)
    assert warm
    assert "gave up" in reason


# ---- what /status reports ----------------------------------------------------------------------------
def test_status_corrects_a_ready_record_when_copies_are_gone(policy):
    assert effective_state(record(State.READY), ASLEEP) == State.ASLEEP


def test_status_says_ready_while_autoscaling_adds_a_copy_as_wake_does(policy):
    scaling_out = ObservedCopies(status=ICStatus.UPDATING, desired=2, current=1)
    assert effective_state(record(State.READY), scaling_out) == State.READY
    assert decide_wake(record(State.READY), scaling_out, policy, DAY).action == WakeAction.ALREADY_READY


def test_status_eta_counts_down_during_a_wake(policy):
    waking = record(State.WAKING, age_s=100)
    assert eta_seconds(waking, UPDATING, policy, NIGHT) == 145
    assert eta_seconds(record(State.READY), SERVING, policy, NIGHT) == 0
    assert eta_seconds(record(State.ASLEEP), ASLEEP, policy, NIGHT) == 245


def test_status_eta_follows_the_wakes_phase(policy):
    """A copy on an instance that is still there only loads the model: ready in about the first poll on an
    instance plus the warm-up, not the new instance's provisioning estimate."""
    on_instance = FirstPoll(policy.first_poll_on_instance_seconds, True, "instance up")
    new_instance = FirstPoll(policy.first_poll_seconds, False, "no instance")
    assert expected_provisioning(on_instance, policy) == 100
    assert expected_provisioning(new_instance, policy) == policy.provisioning_estimate_seconds == 240
    waking = record(State.WAKING, age_s=0).model_copy(update={"provisioning_seconds": 100})
    assert eta_seconds(waking, UPDATING, policy, NIGHT) == 105
    later = record(State.WAKING, age_s=60).model_copy(update={"provisioning_seconds": 100})
    assert eta_seconds(later, UPDATING, policy, NIGHT) == 45
    # Once serving, the phase no longer matters; asleep, the next wake's phase is not known yet.
    assert eta_seconds(record(State.ASLEEP), ASLEEP, policy, NIGHT) == 245


# ---- the awake lease ---------------------------------------------------------------------------------
def test_keep_awake_sets_a_lease_from_now(policy):
    assert extend_lease(None, NIGHT, 30, policy) == NIGHT + timedelta(minutes=30)


def test_a_lease_ends_on_the_next_whole_minute(policy):
    assert extend_lease(None, NIGHT + timedelta(seconds=1.5), 30, policy) == NIGHT + timedelta(minutes=31)


def test_wakes_asking_for_the_same_stay_within_a_minute_want_the_same_lease(policy):
    """So a burst of /wake calls with keep_awake_minutes writes the lease once, not once per caller."""
    first = extend_lease(None, NIGHT + timedelta(seconds=0.2), 30, policy)
    assert extend_lease(first, NIGHT + timedelta(seconds=40), 30, policy) == first


def test_a_lease_is_never_shortened_by_a_later_shorter_request(policy):
    long = NIGHT + timedelta(hours=2)
    assert extend_lease(long, NIGHT, 10, policy) == long


def test_a_lease_is_capped_at_the_policy_maximum(policy):
    assert extend_lease(None, NIGHT, 100_000, policy) == NIGHT + timedelta(minutes=policy.max_keep_awake_minutes)


def test_no_keep_awake_leaves_the_lease_as_it_was(policy):
    assert extend_lease(None, NIGHT, None, policy) is None


# ---- settling after a deploy or a manual scale ------------------------------------------------------------
def test_a_never_written_record_settles_to_what_the_copies_say():
    assert settled_state(StateRecord(), SERVING) == State.READY
    assert settled_state(StateRecord(), ASLEEP) == State.ASLEEP


def test_a_record_that_matches_the_copies_is_left_as_it_is():
    assert settled_state(record(State.READY), SERVING) is None
    assert settled_state(record(State.ASLEEP), ASLEEP) is None


def test_a_record_owned_by_a_wake_or_sleep_is_never_settled():
    for state in (State.WAKING, State.WARMING, State.SLEEPING):
        assert settled_state(record(state), SERVING) is None


def test_a_failed_record_whose_component_serves_again_settles_to_ready():
    assert settled_state(record(State.FAILED), SERVING) == State.READY


def test_with_a_fallback_the_idle_check_naps_at_any_hour(policy):
    naps = policy.model_copy(update={"naps": True})

    decision = decide_sleep(record(State.READY, now=DAY), SERVING, naps, DAY, trigger="idle", recent_invocations=0)

    assert decision.sleep, decision.reason


def test_a_nap_still_waits_for_idle_minutes_and_leases(policy):
    naps = policy.model_copy(update={"naps": True})
    busy = decide_sleep(record(State.READY, now=DAY), SERVING, naps, DAY, trigger="idle", recent_invocations=2)
    leased = record(State.READY, now=DAY, lease_until=DAY + timedelta(minutes=5))
    held = decide_sleep(leased, SERVING, naps, DAY, trigger="idle", recent_invocations=0)

    assert not busy.sleep and "served 2 request(s)" in busy.reason
    assert not held.sleep and "lease" in held.reason


def test_a_product_wake_holds_the_component_for_its_user_unless_the_caller_says_how_long(policy) -> None:
    assert wake_hold_minutes(None, policy) == defaults.WAKE_HOLD_MINUTES == 10
    assert wake_hold_minutes(30, policy) == 30
    assert wake_hold_minutes(None, policy.model_copy(update={"wake_hold_minutes": 0})) == 0
    # The hold is an ordinary lease: the idle check leaves the component up until it ends.
    lease = extend_lease(None, NIGHT, wake_hold_minutes(None, policy), policy)
    held = StateRecord(state=State.READY, since=NIGHT, lease_until=lease)
    naps = policy.model_copy(update={"naps": True})
    kept = decide_sleep(held, SERVING, naps, NIGHT + timedelta(minutes=9), trigger="idle", recent_invocations=0)
    assert kept.sleep is False and "lease" in kept.reason
    after = decide_sleep(held, SERVING, naps, NIGHT + timedelta(minutes=10), trigger="idle", recent_invocations=0)
    assert after.sleep is True
