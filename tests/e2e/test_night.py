"""What the product and the operators rely on, end to end on the local stack."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from localaws import iam
from localaws.demo import Night, Timeline
from sleepwake.adapters.autoscaling import CopyScaling
from sleepwake.adapters.cloudwatch import ComponentMetrics
from sleepwake.adapters.sagemaker import InferenceComponents, Runtime
from sleepwake.adapters.state_table import StateTable
from sleepwake.adapters.stepfunctions import Executions
from sleepwake.control.plane import ControlPlane
from sleepwake.control.ports import Adapters
from sleepwake.control.wake import WakeOutcome, request_wake
from sleepwake.settings import Settings
from tests.e2e.conftest import scale_ups, sleep_now
from tests.stacks import DEMO_PROVISIONING, local_stack


def test_a_whole_night_runs_phase_by_phase(tmp_path):
    """The demo's night: sleep at 00:00 PT, no-capacity request, /wake, warm, idle sleep, 07:00 ET wake, and
    `sleepwake report` of it agreeing with the emulator."""
    from localaws.demo import ACTIVE_SPEED, START

    out = io.StringIO()
    with (
        contextlib.redirect_stdout(io.StringIO()),
        local_stack(
            start=START,
            speed=ACTIVE_SPEED,
            provisioning_seconds=DEMO_PROVISIONING,
            parameters={},
            # The stand-in model: this night checks what happens, not the model; the first-request ratio is make
            # bench-wake's, the real handler through a wake is this module's `local`.
            deployment_file=tmp_path / "deployment.json",  # the report reads the stack as the operator does
            jump=True,  # the idle stretches of the night cost no wall time; this thread drives (tests/stacks.py)
        ) as local,
    ):
        night = Night(local, Timeline(out))
        try:
            night.run()
            night.report(tmp_path)
        finally:
            night.stop()
    phases = {p["phase"]: p["ok"] for p in night.tl.phases}
    assert all(phases.values()), out.getvalue()
    assert list(phases) == [
        "deploy",
        "00:00 PT sleep",
        "request while asleep",
        "/wake accepted",
        "waking -> warming -> ready",
        "next request warm",
        "idle -> asleep",
        "request while asleep: fallback",
        "wake runs, later requests on the component",
        "idle -> nap",
        "07:00 ET wake",
        "first user served",
        "report of the night",
    ]
    assert json.loads((tmp_path / "report.json").read_text())["requests"]["served_by_fallback"] >= 1
    assert night.figures["night_wake_executions"] == 1


def test_three_hundred_concurrent_wakes_start_one_wake_and_one_scale_up(local):
    sleep_now(local)
    before_exec, before_scale = len(local.executions("Wake")), scale_ups(local)
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda _: local.wake(reason="burst"), range(300)))
    assert {code for code, _ in answers} <= {200, 202}
    assert len({body["execution"] for _, body in answers if body.get("execution")}) == 1
    local.wait_for_state("ready", timeout=900)
    assert len(local.executions("Wake")) - before_exec == 1
    assert scale_ups(local) - before_scale == 1


def test_wakes_racing_from_separate_lambda_containers_start_one_wake(local):
    """The burst above's handlers run at once (an execution environment each, localaws/lambdas.py) but seldom
    race two claims at one instant. Here 24 control
    planes, each built like a fresh Lambda container from the wake function's own environment with its own
    clients, call request_wake at the same instant (keep_awake_minutes too, so joiners write the lease):
    the conditional writes in the state table must let exactly one start the wake, and every caller must
    get an answer (no "kept changing" 503)."""
    sleep_now(local)
    before_exec, before_scale = len(local.executions("Wake")), scale_ups(local)
    function = local.emu.client("lambda").get_function_configuration(
        FunctionName=str(local.stack.ref("WakeApiFunction"))
    )
    settings = Settings.model_validate(function["Environment"]["Variables"])
    callers = 24
    start = threading.Barrier(callers)

    # Each container calls AWS as the function does: with the function's role (IAM is enforced).
    keys = iam.SESSIONS.keys(local.emu.account, function["Role"], function["FunctionName"])

    def container_wakes(i: int) -> WakeOutcome:
        emu = local.emu
        dynamodb = boto3.resource("dynamodb", region_name=emu.region, endpoint_url=emu.endpoint_url, **keys.boto())
        plane = ControlPlane(
            settings,
            Adapters(
                components=InferenceComponents(emu.client_as(keys, "sagemaker")),
                runtime=Runtime(emu.client_as(keys, "sagemaker-runtime")),
                scaling=CopyScaling(emu.client_as(keys, "application-autoscaling")),
                table=StateTable(dynamodb.Table(settings.state_table_name)),
                executions=Executions(emu.client_as(keys, "stepfunctions")),
                metrics=ComponentMetrics(emu.client_as(keys, "cloudwatch")),
            ),
        )
        start.wait()
        return request_wake(plane, reason=f"container {i}", source="api", keep_awake_minutes=30)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        outcomes = list(pool.map(container_wakes, range(callers)))
    assert sum(1 for o in outcomes if o.started) == 1
    assert len({o.execution for o in outcomes}) == 1
    local.wait_for_state("ready", timeout=900)
    assert len(local.executions("Wake")) - before_exec == 1
    assert scale_ups(local) - before_scale == 1
    assert local.status()["lease_until"] is not None


def test_a_wake_during_a_sleep_ends_awake(local):
    sfn = local.emu.client("stepfunctions")
    sleep = sfn.start_execution(
        stateMachineArn=local.outputs["SleepStateMachineArn"],
        name="night-sleep",
        input=json.dumps({"trigger": "manual", "force": True}),
    )["executionArn"]
    local.wait_for_state("sleeping", timeout=300, poll=0.5)
    with local.emu.clock.paused():  # the wake lands while the sleep still runs, however slow this machine
        assert sfn.describe_execution(executionArn=sleep)["status"] == "RUNNING"
        code, body = local.wake(reason="a therapist arrived mid-sleep")
    assert (code, body["state"]) == (202, "waking")
    ready = local.wait_for_state("ready", timeout=900)
    assert ready["current_copies"] >= 1
    finished = local.emu.wait_for_execution(sleep, timeout=900)
    assert finished["status"] == "SUCCEEDED"
    history = [e["type"] for e in sfn.get_execution_history(executionArn=sleep)["events"]]
    assert "SucceedStateEntered" in history
    # Still awake well after the sleep would have finished.
    local.emu.clock.advance(120)
    assert local.status()["state"] == "ready"
    assert local.invoke().ok


def test_a_failed_provisioning_fails_the_wake_reports_the_reason_and_notifies(local):
    sns, sqs = local.emu.client("sns"), local.emu.client("sqs")
    queue = sqs.create_queue(QueueName="ops")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=local.outputs["FailureTopicArn"], Protocol="sqs", Endpoint=queue_arn)
    sleep_now(local)
    local.emu.fail_next_provisioning(
        local.outputs["InferenceComponentName"], "Insufficient capacity for ml.inf1.xlarge"
    )
    code, body = local.wake(reason="will fail")
    assert code == 202
    failed = local.wait_for_state("failed", timeout=900)
    assert "Insufficient capacity for ml.inf1.xlarge" in failed["last_error"]
    execution = local.emu.wait_for_execution(body["execution"], timeout=600)  # notifying comes after recording
    assert execution["status"] == "FAILED"
    # One message, from the status-change rule's function (it runs just after the execution ends).
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=20)["Messages"]
    notice = json.loads(messages[0]["Body"])["Message"]
    assert "Insufficient capacity" in notice
    # The next wake starts afresh (a failed state does not block waking).
    code, body = local.wake(reason="try again")
    assert (code, body["state"]) == (202, "waking")
    assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1


def test_throttled_sagemaker_calls_are_retried_and_the_wake_succeeds(local):
    sleep_now(local)
    ic = local.outputs["InferenceComponentName"]
    local.emu.throttle("UpdateInferenceComponentRuntimeConfig", ic, times=2)
    local.emu.throttle("DescribeInferenceComponent", ic, times=2)
    code, _ = local.wake(reason="throttled")
    assert code == 202
    assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1


@pytest.mark.parametrize(
    ("code", "reported"),
    [
        ("ValidationException", "SageMaker.SageMakerException"),  # not in the API model: named by the service
        ("ConflictException", "SageMaker.ConflictException"),  # in the model: named by the code
        ("ResourceInUse", "SageMaker.ResourceInUseException"),
    ],
)
def test_a_wake_succeeds_when_sagemaker_refuses_a_second_update_while_one_runs(local, code, reported):
    """Raising MinCapacity already starts the scale-up (autoscaling clamps the count into range); if SageMaker
    then refuses the explicit copy-count update (with whichever code: it is not published), the wake follows
    the update that runs."""
    sleep_now(local)
    local.emu.refuse_updates_while_updating(code)
    code, body = local.wake(reason="second update refused")
    assert code == 202
    assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1
    execution = local.emu.wait_for_execution(body["execution"], timeout=600)
    assert execution["status"] == "SUCCEEDED"
    events = local.emu.client("stepfunctions").get_execution_history(executionArn=body["execution"])["events"]
    refused = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert refused and set(refused) == {reported}
    assert "Is An Update Running?" in local.entered(body["execution"])
    assert local.invoke().ok


def test_a_failed_alarm_wake_rearms_the_alarm_so_requests_that_keep_failing_wake_again(local):
    """The alarm fires on entering ALARM only. Users keep trying while the first wake fails, so the alarm
    would stay in ALARM and nothing would wake the component again; the failed wake re-arms it."""
    sleep_now(local)
    local.emu.fail_next_provisioning(local.outputs["InferenceComponentName"], "Insufficient capacity for inf1")
    before = len(local.executions("Wake"))

    def users_keep_trying_until(done) -> None:
        for _ in range(200):
            if done():
                return
            assert local.invoke().no_capacity
            local.clock.sleep(20)
        raise AssertionError("gave up waiting")

    users_keep_trying_until(lambda: local.status()["state"] == "failed")
    users_keep_trying_until(lambda: len(local.executions("Wake")) - before == 2)
    assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1
    failed = sorted(local.executions("Wake"), key=lambda e: e["startDate"])[before]  # the first wake of the night
    assert local.emu.wait_for_execution(failed["executionArn"], timeout=600)["status"] == "FAILED"
    assert "Re-arm The No-Capacity Alarm" in local.entered(failed["executionArn"])


def test_a_night_request_after_idle_sleep_wakes_and_warms_through_the_alarm(local):
    sleep_now(local)
    before = len(local.executions("Wake"))
    first = local.invoke()
    assert not first.ok and first.no_capacity
    # No /wake call: the NoCapacityInvocationFailures alarm alone starts the wake (with its warm-up).
    ready = local.wait_for_state("ready", timeout=900, poll=2.0)
    assert ready["current_copies"] == 1
    assert len(local.executions("Wake")) - before == 1
    record = (
        boto3.resource("dynamodb", endpoint_url=local.emu.endpoint_url, **local.emu.client_keys().boto())
        .Table(local.outputs["StateTableName"])
        .get_item(Key={"ic": local.outputs["InferenceComponentName"]})["Item"]
    )
    assert "no-capacity alarm" in record["reason"]
    assert len(json.loads(record["warmup_latencies_ms"])) >= 3
    assert local.invoke().ok


def test_the_operator_cli_works_against_the_local_stack(local, tmp_path, capsys, monkeypatch):
    from sleepwake_cli.main import main

    path = tmp_path / "deployment.json"
    local._write_deployment(path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.emu.endpoint_url)
    assert main(["status", "--deployment-file", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["state"] == "ready"
    assert main(["sleep", "--deployment-file", str(path), "--force", "--wait", "--timeout", "120"]) == 0
    assert "asleep" in capsys.readouterr().out
    assert main(["fire-schedule", "wake", "--deployment-file", str(path)]) == 0
    assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1
