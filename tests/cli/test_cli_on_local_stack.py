"""The operator CLI as operators run it: a separate process against the local stack at SPEED=20.

One stack serves the module, put back as deployed before each test (each puts the component in the state it
needs). Emulated time starts about a day ahead of the wall clock, as it is after `make local SPEED=20` has run
for a while, at 10:00 PT (daytime: no schedule fires and the idle check stands aside), so a CLI that stamped
wakes with its own clock would be a day off the stack's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localaws.local_stack import LocalStack
from sleepwake.core import iso
from tests.e2e.conftest import sleep_now
from tests.stacks import FAST, as_deployed, local_stack
from tests.waits import held_still

ROOT = Path(__file__).resolve().parents[2]
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    deployment = tmp_path_factory.mktemp("local") / "deployment.json"
    # Without a fallback: these tests read the quiet-hours rule and IdleMinutes in the CLI's answers
    # (with one, the idle check naps at any hour: tests/e2e/test_fallback.py). The real model: its loads hold
    # the emulated clock, so a wake is still under way when the next CLI process (seconds of wall time) joins it.
    with local_stack(
        start=START,
        parameters=FAST | {"CreateFallback": "false"},
        deployment_file=deployment,
        real_model=True,
        shared=True,
    ) as stack:
        yield stack


@pytest.fixture
def local(deployed: LocalStack) -> Iterator[LocalStack]:
    """The module's stack as deployed, its clock too, whatever the test before left running (tests/stacks.py)."""
    with as_deployed(deployed) as stack:
        yield stack


def cli_command(local: LocalStack, *args: str) -> list[str]:
    assert local.deployment_file
    return [sys.executable, "-m", "sleepwake_cli", *args, "--deployment-file", str(local.deployment_file)]


def cli_env(**extra: str) -> dict[str, str]:
    """This checkout's code (not whatever the venv's editable install points at), with the stack's
    AWS_* variables gone: the deployment file alone must be enough."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {"PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "sleepwake"), str(ROOT)])} | extra


def sleepwake(local: LocalStack, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(local, *args), capture_output=True, text=True, timeout=timeout, env=cli_env(), cwd=ROOT
    )


def one_document(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout is exactly one JSON document (json.loads refuses anything before or after it)."""
    assert "Traceback" not in run.stderr, run.stderr
    return dict(json.loads(run.stdout))


def wake_to_ready(local: LocalStack) -> None:
    code, _ = local.wake(reason="test set-up")
    assert code in (200, 202)
    local.wait_for_state("ready", timeout=900)


# ---- one clock ------------------------------------------------------------------------------------------
def test_wake_wait_succeeds_on_a_stack_running_at_speed_20(local):
    sleep_now(local)
    run = sleepwake(local, "wake", "--wait", "--json", "--reason", "cli at x20")
    answer = one_document(run)
    assert run.returncode == 0, run.stdout + run.stderr
    assert answer["outcome"] == "ready" and answer["status"]["state"] == "ready"
    assert answer["wake"]["outcome"] == "started"
    # The wake was stamped with the stack's time: its request time and its execution's start agree.
    sfn = local.emu.client("stepfunctions")
    execution = sfn.describe_execution(executionArn=answer["wake"]["execution"])
    requested = datetime.fromisoformat(json.loads(execution["input"])["requested_at"])
    assert json.loads(execution["input"])["requested_at"].endswith("Z")
    assert abs((execution["startDate"] - requested).total_seconds()) < 60
    # Not a TTY here: progress came as plain lines on stderr, in the stack's time.
    progress = [line for line in run.stderr.splitlines() if "wake: " in line]
    assert progress and "ETA ~" in progress[0] and "elapsed" in progress[0]
    assert abs((datetime.fromisoformat(progress[0].split()[0]) - requested).total_seconds()) < 60


def test_status_agrees_with_get_status_at_the_same_instant(local):
    sleep_now(local)
    code, _ = local.wake(reason="mid-wake comparison")
    assert code == 202
    local.wait_for_state("waking", timeout=60)
    # Until the wake has set the copy count it moves on without emulated time passing; from then on it waits on
    # the clock (Wait For Provisioning), so a paused clock is one instant for both readers.
    assert local.emu.wait_for(lambda: local.status()["desired_copies"] == 1, timeout=60)
    with local.clock.paused():
        run = sleepwake(local, "status", "--json")
        api = local.status()
    assert run.returncode == 0, run.stderr
    assert one_document(run) == api
    assert api["state"] == "waking" and api["eta_seconds"] > 0
    local.wait_for_state("ready", timeout=900)


def test_the_text_status_writes_times_as_the_api_does(local):
    wake_to_ready(local)
    run = sleepwake(local, "status")
    assert run.returncode == 0, run.stderr
    since = datetime.fromisoformat(local.status()["since"])
    assert f"since {since:%Y-%m-%dT%H:%M:%S}Z" in run.stdout


# ---- honest, scriptable output ------------------------------------------------------------------------
def test_every_command_prints_exactly_one_json_document(local):
    wake_to_ready(local)
    runs = {
        "status": sleepwake(local, "status", "--json"),
        "warmup": sleepwake(local, "warmup", "-n", "1", "--json"),
        "sleep": sleepwake(local, "sleep", "--json"),
        "sleep --force --wait": sleepwake(local, "sleep", "--force", "--wait", "--json"),
        "fire-schedule idle": sleepwake(local, "fire-schedule", "idle", "--json"),
        "fire-schedule idle --wait": sleepwake(local, "fire-schedule", "idle", "--wait", "--json"),
        "wake": sleepwake(local, "wake", "--json"),
        "fire-schedule wake --wait": sleepwake(local, "fire-schedule", "wake", "--wait", "--json"),
        "wake --wait": sleepwake(local, "wake", "--wait", "--json"),
    }
    answers = {name: one_document(run) for name, run in runs.items()}
    assert answers["status"]["state"] == "ready"
    assert answers["warmup"]["outcome"] in ("warm", "not_warm")
    assert answers["sleep"]["outcome"] == "started" and answers["sleep"]["execution"]
    assert answers["sleep --force --wait"]["outcome"] == "asleep"
    # The idle check decides before it starts anything: asleep, it skips at once.
    assert answers["fire-schedule idle"]["outcome"] == "skipped"
    assert answers["fire-schedule idle --wait"]["outcome"] == "skipped"  # 10:00 PT: outside the quiet hours
    assert "quiet hours" in answers["fire-schedule idle --wait"]["reason"]
    assert answers["wake"]["outcome"] == "started"
    assert answers["fire-schedule wake --wait"]["outcome"] == "ready"
    # It joins the wake `wake` started, or (when that wake was quicker than this command's start-up) finds the
    # copy serving and answers at once, without the request/status pair --wait adds.
    fired = answers["fire-schedule wake --wait"]
    assert fired.get("wake", fired)["outcome"] in ("joined", "ready")
    assert answers["wake --wait"]["outcome"] == "ready"
    codes = {name: run.returncode for name, run in runs.items()}
    assert codes == dict.fromkeys(runs, 0) | {"fire-schedule idle": 3, "fire-schedule idle --wait": 3}


def test_a_skipped_sleep_says_skipped_and_why_with_exit_status_3(local):
    # The operator's wake: no hold (a product's POST /wake would hold it WakeHoldMinutes and the skip would say so).
    assert sleepwake(local, "wake", "--wait").returncode == 0
    local.invoke()  # a request in the last IdleMinutes
    run = sleepwake(local, "sleep", "--wait")
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.startswith("skipped: served ")
    assert "in the last 30 minutes" in run.stdout

    assert local.wake(reason="keep it", keep_awake_minutes=60)[0] == 200
    run = sleepwake(local, "sleep", "--wait", "--json")
    answer = one_document(run)
    assert run.returncode == 3 and answer["outcome"] == "skipped"
    lease = local.status()["lease_until"]
    assert answer["reason"] == f"awake lease active until {lease.removesuffix('Z').split('.')[0]}Z"


def test_sleep_without_wait_says_what_started_and_how_to_follow_it(local):
    wake_to_ready(local)
    run = sleepwake(local, "sleep")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("sleep started: arn:aws:states:")
    assert "sleepwake status" in run.stdout
    # The AWS CLI's line, or without an AWS CLI the same call in boto3 (sleepwake_cli.awscli).
    assert "describe-execution --execution-arn" in run.stdout or "describe_execution(executionArn=" in run.stdout


def test_a_wait_that_times_out_says_so_and_that_the_wake_goes_on(local):
    sleep_now(local)
    run = sleepwake(local, "wake", "--wait", "--timeout", "5")
    assert run.returncode == 4, run.stdout + run.stderr
    assert run.stdout.startswith("timed out after ")
    assert "the wake goes on" in run.stdout
    local.wait_for_state("ready", timeout=900)  # and so it did


def test_ctrl_c_while_waiting_says_the_wake_goes_on_without_a_traceback(local):
    sleep_now(local)
    # Emulated time all but stands still from the wake on (1 emulated ms per 10 wall s): the wake can neither end
    # nor time out before the signal is handled, however slowly a loaded machine runs this process and the CLI.
    # Not a pause (tests/waits.py). The CLI polls in wall time and its --wait timeout is on the stack's clock, so
    # it waits on.
    with held_still(local.emu.clock):
        waiting = subprocess.Popen(
            cli_command(local, "wake", "--wait"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=ROOT,
            # As an operator's terminal gives it: SIGINT at its default, so Python turns it into Ctrl-C. A test
            # run started in the background (`cmd &`, nohup, a CI runner) has SIGINT ignored, children inherit
            # that, and Python keeps an ignored SIGINT ignored: the signal was dropped and the CLI waited on.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert waiting.stderr
        first = waiting.stderr.readline()  # the first progress line: it is waiting now
        assert "wake: " in first, first + (waiting.stderr.read() or "")
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 130, out + err
        assert "the wake goes on in the background" in err
        assert "Traceback" not in err
        assert local.status()["state"] == "waking"  # and so it does


def test_warmup_on_a_sleeping_component_sends_nothing_and_says_how_to_wake_it(local):
    sleep_now(local)
    before = local.now()
    run = sleepwake(local, "warmup")
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.startswith("not sent: ")
    assert "no-capacity alarm" in run.stdout and "sleepwake wake --wait" in run.stdout
    failures = local.emu.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=[{"Name": "InferenceComponentName", "Value": local.outputs["InferenceComponentName"]}],
        StartTime=before - timedelta(minutes=5),
        EndTime=local.now() + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(point["Sum"] for point in failures) == 0  # no request met "no capacity"
    assert local.status()["state"] == "asleep"


def test_an_operators_warmup_is_no_users_request_in_the_report(local):
    """`sleepwake warmup` counts its requests as the control plane's own (PutMetricData with the operator's keys,
    which the emulator checks against the operator's policy), so the report over its minutes finds no user."""
    wake_to_ready(local)
    # The report's window starts on a whole minute (CloudWatch's rounding): the first after the wake's warm-up.
    start = (local.now() + timedelta(minutes=1)).replace(second=0, microsecond=0)
    assert local.emu.wait_for(lambda: local.now() >= start, timeout=120, poll=1)
    warmed = one_document(sleepwake(local, "warmup", "-n", "3", "--json"))
    done = local.now()
    assert local.emu.wait_for(
        lambda: local.now() >= max(done + timedelta(seconds=10), start + timedelta(seconds=40)), timeout=120, poll=1
    )
    with held_still(local.emu.clock):  # the report's now is this one, give or take a crawl
        # 30 s before the start: the report moves its start up to the whole minute, `start` itself.
        since = (local.now() - start + timedelta(seconds=30)).total_seconds() / 60
        got = one_document(sleepwake(local, "report", "--since", f"{since:.3f}m", "--json"))

    assert got["start"] == iso(start)
    assert got["requests"]["served_by_component"] == 0
    assert got["requests"]["component_warmups"] == len(warmed["latencies_ms"]) >= 3
    assert warmed["uncounted"] == 0
