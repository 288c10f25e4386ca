"""A wake or sleep that ends outside its own failure path (stopped, a States.Runtime error, a timeout) is noticed:
the record says failed, /wake starts a new wake instead of joining the dead one, and every failure notifies
exactly once."""

from __future__ import annotations

from typing import Any

from moto.sns.models import sns_backends

from localaws.local_stack import LocalStack
from sleepwake.control import steps
from tests.e2e.conftest import sleep_now
from tests.waits import eventually, held_still


def _notifications(local: LocalStack) -> list[Any]:
    topic = sns_backends[local.emu.account][local.emu.region].topics[local.outputs["FailureTopicArn"]]
    return list(topic.sent_notifications)


def test_a_stopped_wake_is_recorded_failed_and_the_next_wake_starts_a_new_execution(local):
    """Asleep, POST /wake, StopExecution on the ARN it returned: within a minute /status shows the failure and
    /wake starts a new execution (before, /wake joined the dead one for 20 minutes)."""
    sleep_now(local)
    sfn = local.emu.client("stepfunctions")
    code, first = local.wake(reason="will be stopped")
    assert code == 202
    started = local.now()
    with held_still(local.emu.clock):  # nothing below may depend on how fast this host is
        sfn.stop_execution(executionArn=first["execution"], error="Operator", cause="stopped by hand")
        assert eventually(lambda: local.status()["state"] == "failed", wall=180.0), local.status()
        status = local.status()
        code, second = local.wake(reason="after the stop")
        elapsed = (local.now() - started).total_seconds()
    assert "ABORTED" in status["last_error"]
    assert (code, second["state"]) == (202, "waking")
    assert second["execution"] != first["execution"]
    assert elapsed <= 60
    assert local.wait_for_state("ready", timeout=900)["current_copies"] >= 1
    assert len([n for n in _notifications(local) if "ABORTED" in n[1]]) == 1


def test_a_wake_that_dies_of_a_runtime_error_is_recorded_and_notified(local, monkeypatch):
    """A States.Runtime error skips every Catch: a check whose answer lacks the verdict the ASL selects."""
    sleep_now(local)
    real = steps.check_copies
    monkeypatch.setattr(steps, "check_copies", lambda plane, **kw: {"broken": True})
    code, body = local.wake(reason="will break")
    assert code == 202
    execution = local.emu.wait_for_execution(body["execution"], timeout=900)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "States.Runtime"
    monkeypatch.setattr(steps, "check_copies", real)
    with held_still(local.emu.clock):
        assert eventually(lambda: local.status()["state"] == "failed", wall=180.0), local.status()
        assert "States.Runtime" in local.status()["last_error"]
        code, again = local.wake(reason="after the runtime error")
    assert (code, again["state"]) == (202, "waking")
    assert again["execution"] != body["execution"]
    assert local.wait_for_state("ready", timeout=900)["current_copies"] >= 1


def test_a_joiner_does_not_join_a_wake_whose_execution_ended_even_if_its_event_was_lost(local):
    """Step Functions sends status-change events best effort: a wake older than a minute is confirmed with
    DescribeExecution before anyone joins it."""
    sleep_now(local)
    sfn = local.emu.client("stepfunctions")
    rule = next(r["Name"] for r in local.emu.client("events").list_rules()["Rules"] if "ExecutionEnded" in r["Name"])
    local.emu.client("events").disable_rule(Name=rule)  # the event is lost
    code, first = local.wake(reason="its end event will be lost")
    assert code == 202
    local.emu.clock.advance(90)
    sfn.stop_execution(executionArn=first["execution"])
    # Emulated time runs while the execution winds down: a step in flight (a Lambda call that waits on the
    # clock) ends before the stop is seen, and a paused clock held it for ever (seen under load).
    assert local.emu.wait_for(
        lambda: sfn.describe_execution(executionArn=first["execution"])["status"] == "ABORTED", timeout=600
    )
    with local.emu.clock.paused():
        assert local.status()["state"] == "waking"  # nothing recorded the end
        code, second = local.wake(reason="after the lost event")
    assert (code, second["state"]) == (202, "waking")
    assert second["execution"] != first["execution"]


def test_a_failed_wake_notifies_exactly_once(local):
    """The state machine records the failure, the status-change rule notifies; no second message from an
    ExecutionsFailed alarm on the same topic, however long one waits."""
    sleep_now(local)
    before = len(_notifications(local))
    local.emu.fail_next_provisioning(local.outputs["InferenceComponentName"], "Insufficient capacity for inf1")
    code, body = local.wake(reason="will fail")
    assert code == 202
    assert local.emu.wait_for_execution(body["execution"], timeout=900)["status"] == "FAILED"
    local.emu.wait_for(lambda: False, timeout=600, poll=30, wall_timeout=90)  # alarms evaluate every minute
    sent = _notifications(local)[before:]
    assert len(sent) == 1, sent
    assert "Insufficient capacity for inf1" in sent[0][1]
