"""The wake API as the product sees it: 202 while waking, 200 when ready, one wake however many callers,
and a clear 4xx for anything malformed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from sleepwake.control.sleep import decide_and_claim_sleep
from sleepwake.control.steps import transition
from sleepwake.core import ICStatus, State, StateRecord
from tests.conftest import LambdaContext, load_handler
from tests.handlers.conftest import IC, api_event

api = load_handler("wake_api")


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_wake_while_asleep_answers_202_and_starts_one_execution(stack):
    status, body = call(api_event("wake_api_post_wake"))
    assert status == 202
    assert body["state"] == "waking"
    assert body["eta_seconds"] == 245
    assert body["execution"].startswith(stack.wake_arn.replace(":stateMachine:", ":execution:"))
    assert [e["executionArn"] for e in stack.executions()] == [body["execution"]]


def test_the_wake_execution_gets_what_the_state_machine_needs(stack):
    call(api_event("wake_api_post_wake"))
    execution = stack.sfn.describe_execution(executionArn=stack.executions()[0]["executionArn"])
    payload = json.loads(execution["input"])
    assert payload["copies"] == 1
    assert payload["source"] == "api"
    assert payload["reason"] == "user opened the practice screen"
    assert {"op_id", "requested_at"} <= payload.keys()


def test_a_second_wake_joins_the_first(stack):
    _, first = call(api_event("wake_api_post_wake_empty"))
    status, second = call(api_event("wake_api_post_wake_empty"))
    assert status == 202
    assert second["execution"] == first["execution"]
    assert len(stack.executions()) == 1


def test_fifty_wakes_in_a_row_start_exactly_one_execution(stack):
    # Sequential here (each call is a full read-decide-claim). Claims racing at the same instant from
    # separate containers, against the emulator's atomic conditional writes, are in tests/e2e/test_night.py.
    answers = [call(api_event("wake_api_post_wake_empty")) for _ in range(50)]
    assert {status for status, _ in answers} == {202}
    assert len({body["execution"] for _, body in answers}) == 1
    assert len(stack.executions()) == 1


def test_wake_when_already_serving_answers_200_ready(stack):
    stack.component.desired = stack.component.current = 1
    status, body = call(api_event("wake_api_post_wake_empty"))
    assert (status, body["state"], body["eta_seconds"]) == (200, "ready", 0)
    assert stack.executions() == []


def test_a_wake_during_an_autoscaling_scale_out_answers_ready_and_starts_nothing(stack):
    stack.component.status, stack.component.desired, stack.component.current = ICStatus.UPDATING, 2, 1
    stack.plane.aws.table.put(IC, StateRecord(state=State.READY), expected_version=0)
    status, body = call(api_event("wake_api_post_wake_empty"))
    assert (status, body["state"]) == (200, "ready")
    assert stack.executions() == []


def test_a_wake_restores_min_capacity_left_at_zero_without_cutting_the_copies(stack):
    stack.component.desired = stack.component.current = 2
    stack.scaling.min_capacity = 0  # a sleep failed after lowering it
    status, body = call(api_event("wake_api_post_wake_empty"))
    assert (status, body["state"]) == (202, "waking")
    assert "MinCapacity is 0" in body["reason"]
    payload = json.loads(stack.sfn.describe_execution(executionArn=body["execution"])["input"])
    assert payload["copies"] == 2  # never below what autoscaling asked for


def test_keep_awake_sets_a_lease_that_blocks_sleep(stack):
    stack.component.desired = stack.component.current = 1
    call(api_event("wake_api_post_wake"))
    decision = decide_and_claim_sleep(stack.plane, trigger="schedule")
    assert decision["sleep"] is False
    assert "lease" in decision["reason"]


def test_a_wake_during_a_sleep_starts_a_wake_that_takes_over(stack):
    stack.component.desired = stack.component.current = 1
    claim = decide_and_claim_sleep(stack.plane, trigger="schedule")
    assert claim["sleep"] is True
    status, body = call(api_event("wake_api_post_wake_empty"))
    assert (status, body["state"]) == (202, "waking")
    record = stack.plane.aws.table.get(IC)
    assert record.op_kind == "wake"
    assert record.op_id != claim["op_id"]


def test_status_reports_the_component(stack):
    call(api_event("wake_api_post_wake_empty"))
    stack.component.status, stack.component.desired = ICStatus.UPDATING, 1
    status, body = call(api_event("wake_api_get_status"))
    assert status == 200
    assert body["state"] == "waking"
    assert (body["desired_copies"], body["current_copies"]) == (1, 0)
    assert body["since"].startswith("2026-11-24T10:00:00")
    assert body["last_error"] is None
    assert set(body) >= {"state", "desired_copies", "current_copies", "since", "eta_seconds", "last_error"}


def test_status_shows_the_reason_of_a_failed_wake(stack):
    _, body = call(api_event("wake_api_post_wake_empty"))
    op_id = stack.plane.aws.table.get(IC).op_id
    transition(stack.plane, op_id=op_id, to=State.FAILED, error="failed: component Failed: no capacity in us-east-1a")
    _, body = call(api_event("wake_api_get_status"))
    assert body["state"] == "failed"
    assert "no capacity in us-east-1a" in body["last_error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body: not valid JSON: Expecting property name enclosed in double quotes (at character 1)"),
        ({"keep_awake_minutes": "ten"}, "keep_awake_minutes"),
        ({"keep_awake_minutes": 0}, "keep_awake_minutes"),
        ({"keep_awake_minutes": 100000}, "keep_awake_minutes"),
        ({"reason": 5}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x", "colour": "blue"}, "colour"),
        ([1, 2], "body"),
    ],
)
def test_bad_wake_bodies_get_a_422_that_names_the_problem_and_start_nothing(stack, body, field):
    status, answer = call(api_event("wake_api_post_wake", body=body))
    assert status == 422
    assert field in answer["message"]
    assert stack.executions() == []
    assert stack.plane.aws.table.get(IC).version == 0


def test_an_oversized_body_gets_413(stack):
    status, answer = call(api_event("wake_api_post_wake", body={"reason": "x" * 5000}))
    assert status == 413
    assert "4096 bytes" in answer["message"]


def test_unknown_paths_get_404_and_wrong_methods_405(stack):
    status, answer = call(api_event("wake_api_get_status", path="/sleep", resource="/sleep"))
    assert status == 404
    assert "POST /wake" in answer["message"]
    status, answer = call(api_event("wake_api_get_status", path="/wake", resource="/wake"))
    assert status == 405
    assert answer["allowed"] == ["POST"]


def test_a_wake_that_aws_refuses_to_start_answers_503_and_leaves_no_claim(stack, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("StartExecution throttled")

    monkeypatch.setattr(stack.plane.aws.executions, "start", refuse)
    status, answer = call(api_event("wake_api_post_wake_empty"))
    assert status == 503
    assert "nothing was changed" in answer["message"]
    assert stack.plane.aws.table.get(IC).state == State.ASLEEP
    monkeypatch.undo()


def test_a_refused_start_gives_the_claim_back_even_after_a_joiner_wrote_a_lease(stack, monkeypatch):
    """Between the claim and the failed StartExecution a joiner extends the lease (the version moves): the
    claim must still be released, or every wake would join an execution that does not exist."""

    def joiner_then_refuse(*args: Any, **kwargs: Any) -> str:
        claimed = stack.plane.aws.table.get(IC)
        lease = stack.now[0] + timedelta(minutes=30)
        stack.plane.aws.table.put(
            IC, claimed.model_copy(update={"lease_until": lease}), expected_version=claimed.version
        )
        raise RuntimeError("StartExecution throttled")

    monkeypatch.setattr(stack.plane.aws.executions, "start", joiner_then_refuse)
    status, _ = call(api_event("wake_api_post_wake_empty"))
    assert status == 503
    record = stack.plane.aws.table.get(IC)
    assert (record.state, record.op_id) == (State.ASLEEP, None)
    assert record.lease_until == stack.now[0] + timedelta(minutes=30)
    assert "wake not started" in record.last_error
    monkeypatch.undo()
    assert call(api_event("wake_api_post_wake_empty"))[0] == 202  # the next wake starts


def test_a_json_body_sent_as_a_form_is_still_read_as_json(stack):
    event = api_event("wake_api_post_wake", body={"reason": "curl -d", "keep_awake_minutes": 5})
    event["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    event["multiValueHeaders"] = {"Content-Type": ["application/x-www-form-urlencoded"]}
    status, body = call(event)
    assert (status, body["state"]) == (202, "waking")


def test_a_wake_without_keep_awake_minutes_holds_the_component_up_for_the_announced_user(stack):
    # The product's /wake announces a user minutes ahead: the idle check must not nap the component before they
    # come (WakeHoldMinutes, 10 by default), even when it already serves.
    stack.component.desired = stack.component.current = 1
    status, _ = call(api_event("wake_api_post_wake_empty"))
    assert status == 200
    assert stack.plane.aws.table.get(IC).lease_until == stack.now[0] + timedelta(minutes=10)
    stack.now[0] += timedelta(minutes=9)
    assert decide_and_claim_sleep(stack.plane, trigger="idle")["sleep"] is False
    stack.now[0] += timedelta(minutes=2)
    assert "lease" not in decide_and_claim_sleep(stack.plane, trigger="idle")["reason"]


def test_a_caller_that_says_how_long_to_stay_awake_gets_that_instead_of_the_hold(stack):
    stack.component.desired = stack.component.current = 1
    call(api_event("wake_api_post_wake"))  # keep_awake_minutes 30
    assert stack.plane.aws.table.get(IC).lease_until == stack.now[0] + timedelta(minutes=30)
