"""`sleepwake report` on the local stack agrees with what the emulator itself saw: the hours the component had
copies asked for (its copy-count history), the requests the fallback served (its own request log) and the
wakes the state machine ran."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from localaws.local_stack import SAMPLE, LocalStack
from tests.cli.test_cli_on_local_stack import cli_env, one_document
from tests.e2e.conftest import sleep_now
from tests.stacks import local_stack

pytestmark = pytest.mark.e2e
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture
def local(tmp_path) -> Iterator[LocalStack]:
    with local_stack(deployment_file=tmp_path / "deployment.json", real_model=True) as stack:
        yield stack


def report(local: LocalStack, since: str) -> dict[str, Any]:
    assert local.deployment_file
    command = [sys.executable, "-m", "sleepwake_cli", "report", "--since", since, "--json"]
    run = subprocess.run(
        [*command, "--deployment-file", str(local.deployment_file)],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(),
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    return one_document(run)


def awake_hours(history: list[tuple[datetime, str, int, int]], start: datetime, end: datetime) -> float:
    """From the emulator's copy-count history: from copies asked for (desired rises from 0) until they are all
    gone (desired and current 0), clipped to [start, end]."""
    awake_since: datetime | None = None
    seconds = 0.0
    for at, _, desired, current in history:
        if awake_since is None and desired >= 1:
            awake_since = at
        elif awake_since is not None and desired == 0 and current == 0:
            seconds += max(0.0, (min(at, end) - max(awake_since, start)).total_seconds())
            awake_since = None
    if awake_since is not None:
        seconds += max(0.0, (end - max(awake_since, start)).total_seconds())
    return seconds / 3600


def test_the_report_of_a_night_matches_the_emulators_ground_truth(local):
    deployed = local.now()
    local.emu.clock.sleep(600)  # the window starts after the deploy, while the component is ready
    begins = local.now()
    for _ in range(2):
        assert local.invoke().ok
    sleep_now(local)
    client = local.product_client()
    answer = client.invoke(SAMPLE.read_bytes())  # asleep: the fallback answers and the wake starts
    assert answer.served_by == "fallback"
    local.wait_for_state("ready", timeout=900)
    assert client.invoke(SAMPLE.read_bytes()).served_by == "component"

    # The CLI reads the stack's clock when it starts, which runs on meanwhile: 5 minutes more keep `begins` in.
    since_minutes = math.ceil((local.now() - begins).total_seconds() / 60) + 5
    got = report(local, f"{since_minutes}m")
    start, end = datetime.fromisoformat(got["start"]), datetime.fromisoformat(got["end"])
    assert deployed < start <= begins

    history = local.emu.component(local.outputs["InferenceComponentName"]).history
    truth = awake_hours(history, start, end)
    # The report reads the wake's start and the sleep's end from Step Functions; the copy count changes a
    # Lambda step after the one and a copy poll before the other (FAST: 5 s polls), well inside 30 s.
    assert got["awake_hours"] == pytest.approx(truth, abs=30 / 3600)
    assert 0 < got["asleep_hours"] < got["hours"]

    fallback = local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])
    served = sum(1 for at, ok, _ in fallback.requests if ok and start <= at <= end)
    assert got["requests"]["served_by_fallback"] == served >= 1
    assert got["requests"]["failed"] == 0
    assert got["requests"]["served_by_component"] >= 3  # two before the sleep, one after, and the warm-ups

    wakes = [
        e
        for e in local.executions("Wake")
        if start <= e["startDate"] <= end + timedelta(seconds=1) and e["status"] == "SUCCEEDED"
    ]
    assert sum(w["ready"] for w in got["wakes"].values()) == len(wakes) >= 1
    assert sum(got["sleeps"].values()) >= 1
    # A sleep of minutes saves nothing: AWS keeps the instance ~10 minutes after its last copy.
    assert got["awake_hours"] < got["instance_hours"] <= got["hours"]
