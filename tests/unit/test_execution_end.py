"""A wake or sleep that ended without succeeding: what the core records, whom it notifies, and when a joiner
must check that the wake it would join still runs."""

from datetime import UTC, datetime, timedelta

from sleepwake.core import (
    EndedExecution,
    ICStatus,
    ObservedCopies,
    State,
    StateRecord,
    WakeAction,
    decide_execution_end,
    decide_wake,
    failure_text,
    should_confirm_execution,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ASLEEP = ObservedCopies(status=ICStatus.IN_SERVICE, desired=0, current=0)
UPDATING = ObservedCopies(status=ICStatus.UPDATING, desired=1, current=0)


def waking(name: str = "wake-1", age: float = 10) -> StateRecord:
    started = NOW - timedelta(seconds=age)
    return StateRecord(
        state=State.WAKING, op_id="op", op_kind="wake", execution_name=name, since=started, op_started=started
    )


STOPPED = EndedExecution(kind="wake", name="wake-1", status="ABORTED", error="Operator", cause="stopped by hand")


def test_a_stopped_wake_that_the_record_still_names_is_recorded_and_notified():
    decision = decide_execution_end(waking(), STOPPED)
    assert (decision.record_failure, decision.notify) == (True, True)
    assert "ended ABORTED while the record said waking" in decision.reason
    assert failure_text(STOPPED) == "wake execution wake-1 ABORTED: Operator: stopped by hand"


def test_a_failure_the_state_machine_recorded_itself_is_only_notified():
    recorded = waking().model_copy(update={"state": State.FAILED})
    failed = STOPPED.model_copy(update={"status": "FAILED", "error": "WakeFailed"})
    decision = decide_execution_end(recorded, failed)
    assert (decision.record_failure, decision.notify) == (False, True)


def test_a_newer_operation_s_record_is_left_alone_but_the_failure_is_notified():
    decision = decide_execution_end(waking(name="wake-2"), STOPPED)
    assert (decision.record_failure, decision.notify) == (False, True)
    assert "the record names wake-2" in decision.reason


def test_a_sleep_end_does_not_touch_a_wake_of_the_same_name():
    sleep = EndedExecution(kind="sleep", name="wake-1", status="TIMED_OUT")
    assert not decide_execution_end(waking(), sleep).record_failure


def test_a_repeated_event_notifies_nothing():
    notified = waking().model_copy(update={"state": State.FAILED, "last_notified": "wake-1"})
    decision = decide_execution_end(notified, STOPPED)
    assert (decision.record_failure, decision.notify) == (False, False)


def test_a_young_wake_is_joined_without_asking_step_functions(policy):
    assert not should_confirm_execution(waking(age=30), policy, NOW)
    assert should_confirm_execution(waking(age=61), policy, NOW)
    assert not should_confirm_execution(StateRecord(state=State.ASLEEP), policy, NOW)


def test_a_wake_whose_execution_ended_is_never_joined(policy):
    record = waking(age=120)
    assert decide_wake(record, UPDATING, policy, NOW).action == WakeAction.JOIN
    decision = decide_wake(record, UPDATING, policy, NOW, execution_ended="ABORTED")
    assert decision.action == WakeAction.START
    assert "ended ABORTED" in decision.reason
    assert decide_wake(record, ASLEEP, policy, NOW, execution_ended="FAILED").action == WakeAction.START
