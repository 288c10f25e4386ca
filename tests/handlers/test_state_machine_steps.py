"""The Lambda steps of the wake and sleep state machines, driven with the sample events in events/."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from sleepwake.control.status import status as read_status
from sleepwake.control.wake import request_wake
from sleepwake.core import ICStatus, State
from tests.conftest import LambdaContext, load_event, load_handler
from tests.handlers.conftest import IC

check_copy = load_handler("check_copy")
record_state = load_handler("record_state")
warmup = load_handler("warmup")
decide_sleep = load_handler("decide_sleep")
wake_trigger = load_handler("wake_trigger")
deploy_warmup = load_handler("deploy_warmup")


def start_wake(stack) -> str:
    outcome = request_wake(stack.plane, reason="test", source="api")
    assert outcome.started
    return stack.plane.aws.table.get(IC).op_id


def check_event(op_id: str, target: int, stack) -> dict:
    event = load_event("check_copy")
    event.update(op_id=op_id, target=target, started_at=stack.now[0].isoformat())
    return event


def test_check_copy_waits_while_the_component_updates(stack):
    op_id = start_wake(stack)
    stack.component.status, stack.component.desired = ICStatus.UPDATING, 1
    result = check_copy.handler(check_event(op_id, 1, stack), LambdaContext())
    assert result["verdict"] == "wait"
    assert (result["status"], result["current"], result["desired"]) == ("Updating", 0, 1)


def test_check_copy_reaches_only_when_a_copy_serves(stack):
    op_id = start_wake(stack)
    stack.component.desired = stack.component.current = 1
    assert check_copy.handler(check_event(op_id, 1, stack), LambdaContext())["verdict"] == "reached"


def test_check_copy_fails_with_the_components_reason(stack):
    op_id = start_wake(stack)
    stack.component.status = ICStatus.FAILED
    result = check_copy.handler(check_event(op_id, 1, stack), LambdaContext())
    assert result["verdict"] == "failed"


def test_check_copy_times_out_after_the_wake_timeout(stack):
    op_id = start_wake(stack)
    stack.component.status, stack.component.desired = ICStatus.UPDATING, 1
    event = check_event(op_id, 1, stack)
    stack.now[0] += timedelta(seconds=stack.plane.policy.wake_timeout_seconds + 1)
    assert check_copy.handler(event, LambdaContext())["verdict"] == "timed_out"


def test_record_state_moves_the_owner_and_refuses_anyone_else(stack):
    op_id = start_wake(stack)
    event = load_event("record_state") | {"op_id": op_id}
    assert record_state.handler(event, LambdaContext())["state"] == "warming"
    with pytest.raises(Exception) as refused:
        record_state.handler(load_event("record_state"), LambdaContext())  # the sample's op_id owns nothing
    assert type(refused.value).__name__ == "NotOwner"  # the name the state machines Catch


def test_mark_ready_records_warmup_latencies(stack):
    op_id = start_wake(stack)
    record_state.handler({"op_id": op_id, "to": "ready", "latencies_ms": [850.0, 60.0, 41.0]}, LambdaContext())
    record = stack.plane.aws.table.get(IC)
    assert record.state == State.READY
    assert record.warmup_latencies_ms == [850.0, 60.0, 41.0]


def test_warmup_sends_requests_until_latency_settles(stack):
    stack.component.desired = stack.component.current = 1
    result = warmup.handler(load_event("warmup"), LambdaContext())
    assert result["warm"] is True
    assert result["latencies_ms"] == [850.0, 60.0, 41.0]
    endpoint, component, size = stack.runtime.calls[0]
    assert (endpoint, component) == ("sleepwake-endpoint", IC)
    assert size > 10_000  # the real speech clip from the layer


def test_warmup_without_a_copy_raises_not_serving_for_the_retry(stack):
    with pytest.raises(Exception) as refused:
        warmup.handler(load_event("warmup"), LambdaContext())
    assert type(refused.value).__name__ == "NotServing"


def test_decide_sleep_claims_an_idle_night_component(stack):
    stack.component.desired = stack.component.current = 1
    result = decide_sleep.handler(load_event("decide_sleep"), LambdaContext())
    assert result["sleep"] is True
    assert stack.plane.aws.table.get(IC).state == State.SLEEPING


def test_decide_sleep_skips_when_the_component_served_requests(stack):
    stack.component.desired = stack.component.current = 1
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": 3,
                "Timestamp": stack.now[0] - timedelta(minutes=5),
                "Dimensions": [{"Name": "InferenceComponentName", "Value": IC}],
            }
        ],
    )
    result = decide_sleep.handler(load_event("decide_sleep"), LambdaContext())
    assert result == {"sleep": False, "reason": "served 3 request(s) in the last 30 minutes", "op_id": None}


def test_the_morning_schedule_starts_a_wake(stack):
    result = wake_trigger.handler(load_event("wake_trigger_schedule"), LambdaContext())
    assert result["started"] is True
    assert len(stack.executions()) == 1


def test_the_no_capacity_alarm_starts_the_same_wake_and_a_second_alarm_joins_it(stack):
    first = wake_trigger.handler(load_event("wake_trigger_alarm"), LambdaContext())
    second = wake_trigger.handler(load_event("wake_trigger_alarm"), LambdaContext())
    assert first["started"] and not second["started"]
    assert second["execution"] == first["execution"]
    assert "no-capacity alarm" in stack.plane.aws.table.get(IC).reason


def test_an_alarm_returning_to_ok_starts_nothing(stack):
    event = load_event("wake_trigger_alarm")
    event["detail"]["state"]["value"] = "OK"
    assert wake_trigger.handler(event, LambdaContext())["started"] is False
    assert stack.executions() == []


def test_post_deploy_warmup_warms_a_serving_component_and_reports_it(stack, monkeypatch):
    stack.component.desired = stack.component.current = 1
    sent = []
    monkeypatch.setattr(deploy_warmup, "send", lambda url, response: sent.append((url, response)))
    response = deploy_warmup.handler(load_event("deploy_warmup_create"), LambdaContext())
    assert response["Status"] == "SUCCESS"
    assert response["Data"]["Result"] == "warm"
    assert response["Data"]["Summary"].startswith("3 warm-up requests: first 850 ms")
    assert sent[0][0] == "http://127.0.0.1:9/cfn-response"


def test_after_the_post_deploy_warmup_status_says_ready_since_the_deploy(stack, monkeypatch):
    stack.component.desired = stack.component.current = 1
    monkeypatch.setattr(deploy_warmup, "send", lambda url, response: None)
    deploy_warmup.handler(load_event("deploy_warmup_create"), LambdaContext())
    status = read_status(stack.plane)
    assert (status.state, status.since) == (State.READY, stack.now[0])
    assert stack.plane.aws.table.get(IC).warmup_latencies_ms == [850.0, 60.0, 41.0]


def test_post_deploy_warmup_skips_an_asleep_component_without_failing_the_deploy(stack, monkeypatch):
    monkeypatch.setattr(deploy_warmup, "send", lambda url, response: None)
    response = deploy_warmup.handler(load_event("deploy_warmup_create"), LambdaContext())
    assert (response["Status"], response["Data"]["Result"]) == ("SUCCESS", "skipped")
    assert "asleep" in response["Data"]["Summary"]
    assert (read_status(stack.plane).state, read_status(stack.plane).since) == (State.ASLEEP, stack.now[0])


def test_the_post_deploy_warmup_leaves_a_running_wake_alone(stack, monkeypatch):
    op_id = start_wake(stack)
    stack.component.desired = stack.component.current = 1
    monkeypatch.setattr(deploy_warmup, "send", lambda url, response: None)
    deploy_warmup.handler(load_event("deploy_warmup_create"), LambdaContext())
    record = stack.plane.aws.table.get(IC)
    assert (record.state, record.op_id) == (State.WAKING, op_id)


def test_a_wake_that_reaches_ready_writes_its_waits_as_embedded_metrics_of_its_component(stack, capsys):
    """CloudWatch has no time to ready for an inference component: the step that marks it ready writes the
    wait, the provisioning the wake expected and the warm-up as EMF documents (CloudWatch Logs turns them into
    metrics; tests/localaws/test_embedded_metrics.py shows the local stack does too)."""
    op_id = start_wake(stack)
    expected = stack.plane.aws.table.get(IC).provisioning_seconds
    stack.now[0] += timedelta(seconds=200)
    record_state.handler({"op_id": op_id, "to": "warming"}, LambdaContext())
    stack.now[0] += timedelta(seconds=30)
    capsys.readouterr()
    record_state.handler({"op_id": op_id, "to": "ready"}, LambdaContext())
    waits = component_emf(capsys.readouterr().out)
    assert waits == {
        "TimeToReadySeconds": [230.0],
        "ExpectedProvisioningSeconds": [float(expected)],  # the wake expected a new instance: the estimate
        "OverExpectedSeconds": [230.0 - expected],
        "WarmupSeconds": [30.0],
    }


def component_emf(out: str) -> dict[str, list[float]]:
    """The values of the embedded metrics with the component as a dimension in a function's output."""
    found: dict[str, list[float]] = {}
    for doc in (json.loads(line) for line in out.splitlines() if '"_aws"' in line):
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        if directive["Dimensions"] == [["service", "InferenceComponentName"]]:
            assert (directive["Namespace"], doc["InferenceComponentName"]) == ("Sleepwake", IC)
            for m in directive["Metrics"]:
                found.setdefault(m["Name"], []).extend(
                    doc[m["Name"]] if isinstance(doc[m["Name"]], list) else [doc[m["Name"]]]
                )
    return found


def test_a_warm_up_counts_the_requests_it_sent_the_component_so_the_report_leaves_them_out(stack, capsys):
    stack.component.desired = stack.component.current = 1
    capsys.readouterr()
    written: list[dict[str, list[float]]] = []  # what was on stdout as each request was sent
    stack.runtime.before_call = lambda: written.append(component_emf(capsys.readouterr().out))
    result = warmup.handler(load_event("warmup"), LambdaContext())
    written.append(component_emf(capsys.readouterr().out))
    assert len(result["latencies_ms"]) == len(stack.runtime.calls) == 3
    # Each request is counted as it returns: a Lambda timeout during the third loses none of the first two.
    assert written == [{}] + [{"ComponentWarmupRequests": [1.0]}] * 3


def test_a_warm_up_request_that_fails_is_counted_as_the_control_planes_not_a_users_failure(stack, capsys):
    stack.component.desired = stack.component.current = 1
    stack.runtime.fail_calls = {2}  # the model answers the second with a ModelError (a 5XX Invocation)
    capsys.readouterr()
    with pytest.raises(Exception) as failed:
        warmup.handler(load_event("warmup"), LambdaContext())
    assert type(failed.value).__name__ == "InvocationError"  # the name the state machine's Retry takes
    assert component_emf(capsys.readouterr().out) == {
        "ComponentWarmupRequests": [1.0, 1.0],
        "ComponentWarmupErrors": [1.0],
    }


def test_the_planner_history_leaves_the_wakes_warm_ups_out_even_when_counted_a_period_later(stack):
    """A wake's warm-up requests are not users: the plan job would learn that users come whenever it woke."""
    from sleepwake.adapters.cloudwatch import ComponentMetrics

    cw = boto3.client("cloudwatch", region_name="us-east-1")
    woke = stack.now[0].replace(minute=4, second=0, microsecond=0)
    component = [{"Name": "InferenceComponentName", "Value": IC}]
    own = [{"Name": "service", "Value": "sleepwake"}, *component]  # as the warm-up's embedded metric carries them

    def put(metric: str, namespace: str, dims: list, value: float, at) -> None:
        datum = {"MetricName": metric, "Dimensions": dims, "Value": value, "Timestamp": at}
        cw.put_metric_data(Namespace=namespace, MetricData=[datum])

    put("Invocations", "AWS/SageMaker", component, 3, woke + timedelta(seconds=50))  # the warm-up's 3 requests
    put("ComponentWarmupRequests", "Sleepwake", own, 3, woke + timedelta(seconds=70))  # counted as it ended
    put("Invocations", "AWS/SageMaker", component, 2, woke + timedelta(minutes=20))  # two users
    hour = woke.replace(minute=0)  # 5-minute periods from the hour: the warm-up's requests and its count part
    history = ComponentMetrics(cw).invocation_history(IC, hour - timedelta(hours=1), hour + timedelta(hours=1))
    assert history == [(hour.replace(minute=20), 2.0)]
