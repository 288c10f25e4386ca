"""When a wake polls: near the floor in both provisioning phases, with few check invocations."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from sleepwake.core import (
    ICStatus,
    ObservedCopies,
    State,
    StateRecord,
    next_poll_seconds,
    plan_first_poll,
    poll_times,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ASLEEP = ObservedCopies(status=ICStatus.IN_SERVICE, desired=0, current=0)
WARM_FLOOR, COLD_FLOOR = 119.3, 210.0  # the emulator's defaults: copy on an instance; new instance + copy


def asleep_since(minutes: float) -> StateRecord:
    return StateRecord(state=State.ASLEEP, since=NOW - timedelta(minutes=minutes))


def test_a_wake_while_the_endpoint_still_has_an_instance_polls_first_at_the_copy_time(policy):
    plan = plan_first_poll(ASLEEP, asleep_since(120), NOW, policy, instances=1)
    assert (plan.seconds, plan.instance_present) == (policy.first_poll_on_instance_seconds, True)
    assert "1 instance" in plan.reason


def test_a_wake_after_the_instances_went_waits_for_a_new_instance_before_polling(policy):
    plan = plan_first_poll(ASLEEP, asleep_since(2), NOW, policy, instances=0)
    assert (plan.seconds, plan.instance_present) == (policy.first_poll_seconds, False)


def test_a_component_with_copies_has_its_instance(policy):
    sleeping = ObservedCopies(status=ICStatus.UPDATING, desired=0, current=1)
    assert plan_first_poll(sleeping, StateRecord(state=State.SLEEPING), NOW, policy, instances=None).instance_present


@pytest.mark.parametrize(("minutes", "present"), [(3, True), (9.9, True), (10.1, False), (600, False)])
def test_without_the_instance_count_the_time_asleep_decides(policy, minutes, present):
    """AWS releases instances ~10 min after the copies reach 0 (another component may keep them longer)."""
    plan = plan_first_poll(ASLEEP, asleep_since(minutes), NOW, policy, instances=None)
    assert plan.instance_present is present


def test_an_unknown_record_and_instance_count_assume_a_new_instance(policy):
    assert not plan_first_poll(ASLEEP, StateRecord(state=State.FAILED), NOW, policy, instances=None).instance_present


def test_polls_come_at_the_interval_early_and_at_a_share_of_the_elapsed_time_later(policy):
    assert next_poll_seconds(20, policy) == policy.poll_interval_seconds
    assert next_poll_seconds(150, policy) == 6
    assert next_poll_seconds(500, policy) == 20
    assert next_poll_seconds(10, policy, poll_seconds=2) == 2


@pytest.mark.parametrize(
    ("phase", "floor", "max_polls"),
    [("instance there", WARM_FLOOR, 5), ("new instance", COLD_FLOOR, 11)],
)
def test_each_phase_is_seen_within_five_percent_of_its_floor_in_a_few_polls(policy, phase, floor, max_polls):
    first = policy.first_poll_on_instance_seconds if phase == "instance there" else policy.first_poll_seconds
    polls = poll_times(first, floor, policy)
    assert polls[-1] <= 1.05 * floor
    assert len(polls) <= max_polls


@pytest.mark.parametrize("arrival", [101, 133, 180, 260, 400, 700])
def test_a_wrong_guess_of_the_phase_still_sees_the_copy_within_five_percent(policy, arrival):
    """A present instance full of another component's copies: the first poll came early; the growing
    interval keeps the overshoot under 5 % and the polls far fewer than a fixed 5 s interval."""
    polls = poll_times(policy.first_poll_on_instance_seconds, arrival, policy)
    assert polls[-1] <= 1.05 * arrival
    fixed = math.ceil((arrival - policy.first_poll_on_instance_seconds) / policy.poll_interval_seconds) + 1
    assert len(polls) <= max(fixed, 5)
