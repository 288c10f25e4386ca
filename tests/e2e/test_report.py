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
from zoneinfo import ZoneInfo

import boto3
import pytest

from localaws.demo_report import awake_hours
from localaws.local_stack import SAMPLE, LocalStack
from sleepwake.adapters.state_table import StateTable
from sleepwake.core import iso
from sleepwake.core.applied_plan import PlannedDay, PlannedSpan, StoredPlan
from tests.cli.test_cli_on_local_stack import cli_env, one_document
from tests.e2e.conftest import sleep_now
from tests.stacks import FAST, local_stack

pytestmark = pytest.mark.e2e
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture
def local(tmp_path) -> Iterator[LocalStack]:
    # The stand-in model, and the clock jumping over idle time (the test drives it): the body's idle minutes cost
    # no wall time (at speed 20 they were a minute of waiting). No keep-warm: the product's request after the sleep
    # must meet the cold fallback (the slow answer the report counts), and with pings (the default) the sleep
    # pre-warms it where users may come; the request met it cold only while that pre-warm's cold start was still
    # running, i.e. when the host was slow. tests/e2e/test_keep_warm.py covers the pings.
    parameters = FAST | {"FallbackKeepWarm": "none"}
    with local_stack(deployment_file=tmp_path / "deployment.json", parameters=parameters, jump=True) as stack:
        yield stack


def report(local: LocalStack, since: str, *options: str) -> dict[str, Any]:
    assert local.deployment_file
    command = [sys.executable, "-m", "sleepwake_cli", "report", "--since", since, "--json", *options]
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


def keep_a_plan(local: LocalStack, wake: datetime, sleep: datetime) -> None:
    """A learned plan with one window, stored as the plan job stores it (its days kept for the report)."""
    tz = "America/New_York"  # the template's WakeTimezone default
    day = PlannedDay(
        day=wake.astimezone(ZoneInfo(tz)).date(),
        learned=True,
        reason="a test window",
        spans=[PlannedSpan(wake=wake, sleep=sleep)],
    )
    # The administrator's keys, not boto3's default session: the emulator hosts the functions in this process, and
    # that session keeps whatever credentials it first resolved, a function role's session keys if a handler's
    # thread made it (seen: UnrecognizedClientException, "The security token included in the request is invalid").
    dynamodb = boto3.resource(
        "dynamodb", region_name=local.emu.region, endpoint_url=local.emu.endpoint_url, **local.emu.client_keys().boto()
    )
    table = StateTable(dynamodb.Table(local.outputs["StateTableName"]))
    table.put_plan(local.outputs["InferenceComponentName"], StoredPlan(made_at=wake, mode="learned", tz=tz, days=[day]))


def test_the_report_of_a_night_matches_the_emulators_ground_truth(local, tmp_path):
    deployed = local.now()
    local.emu.clock.sleep(600)  # the window starts after the deploy, while the component is ready
    begins = local.now()
    for _ in range(2):
        assert local.invoke().ok
    local.emu.clock.sleep(600)  # the two requests' 5-minute periods end well before the planned window does
    window_ends = local.now()
    keep_a_plan(local, begins - timedelta(hours=1), window_ends)
    local.emu.clock.sleep(120)  # the sleep two minutes after the window
    sleep_now(local)
    # Asleep a while before the product comes: on a jumping clock it would come the instant the sleep ended, and
    # the report's hours asleep (to three decimals) and the instance kept after the copies went could read 0.
    local.emu.clock.sleep(300)
    client = local.product_client()  # it times each answer, as users wait for it (emulated seconds)
    waited: list[float] = []

    def timed(expected: str) -> None:
        asked = local.now()
        assert client.invoke(SAMPLE.read_bytes()).served_by == expected
        waited.append((local.now() - asked).total_seconds())

    timed("fallback")  # asleep: the fallback answers, cold since the deploy's warm-up long ago; the wake starts
    local.wait_for_state("ready", timeout=900)
    timed("component")

    # The CLI reads the stack's clock when it starts, which runs on meanwhile: 5 minutes more keep `begins` in.
    since_minutes = math.ceil((local.now() - begins).total_seconds() / 60) + 5
    got = report(local, f"{since_minutes}m", "--png", str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    start, end = datetime.fromisoformat(got["start"]), datetime.fromisoformat(got["end"])
    assert deployed < start <= begins

    ic = local.emu.component(local.outputs["InferenceComponentName"])
    truth = awake_hours(ic.history, start, end)
    # The report reads the wake's start and the sleep's end from Step Functions; the copy count changes a
    # Lambda step after the one and a copy poll before the other (FAST: 5 s polls), well inside 30 s.
    assert got["awake_hours"] == pytest.approx(truth, abs=30 / 3600)
    assert 0 < got["asleep_hours"] < got["hours"]

    fallback = local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])
    # Answers over 3 s: the user who met the cold fallback waited its cold start; its ModelLatency is fast, so
    # only what the product client timed (or, without it, the cold starts) shows it.
    colds = [at for at in fallback.cold_starts if start <= at <= end]
    assert waited[0] > 3  # the cold fallback's answer (a slow machine may make the warm one slow too)
    # The two requests before the sleep went to the component untimed: the client timed 2 of the 4 users'
    # requests, so the total is the larger of its count and SageMaker's estimate ("partly timed").
    slow = got["slow_answers"]
    assert slow["timed_answers"] == len(waited) == 2
    assert slow["timed_share_pct"] == 50.0
    assert slow["total"] == max(
        sum(w > 3 for w in waited), slow["component"] + slow["fallback"] + slow["cold_fallback"]
    )
    assert got["slow_answers"]["fallback"] == 0
    assert got["slow_answers"]["cold_fallback"] == len(colds) >= 1
    # Users' answers from the fallback as the client timed them: the one that met the cold start, timed from inside
    # the test's own timing; the wake's pre-warm, in the fallback's ModelLatency, is not in them.
    users = got["fallback_answer_waits"]
    assert users["answers"] == 1
    assert 3 < users["max_s"] <= waited[0] and users["p50_s"] == pytest.approx(users["max_s"], rel=0.05)
    # The emulator's log of the fallback holds the control plane's pre-warms too; the report leaves them out.
    warmups = got["requests"]["fallback_warmups"]
    served = sum(1 for at, ok, _ in fallback.requests if ok and start <= at <= end)
    assert got["requests"]["served_by_fallback"] == served - warmups == 1
    assert got["requests"]["failed"] == 0
    # The component answered the test's three requests (two before the sleep, one after the wake) and the wake's
    # warm-up; the report tells them apart by the warm-up's own count (Sleepwake/ComponentWarmupRequests).
    answered = sum(1 for at, _, _ in ic.served if start <= at <= end)
    assert got["requests"]["served_by_component"] == 3
    assert got["requests"]["component_warmups"] == answered - 3 > 0

    wakes = [
        e
        for e in local.executions("Wake")
        if start <= e["startDate"] <= end + timedelta(seconds=1) and e["status"] == "SUCCEEDED"
    ]
    assert sum(w["ready"] for w in got["wakes"].values()) == len(wakes) >= 1
    assert sum(got["sleeps"].values()) >= 1
    # The waits: each ready wake wrote its own (embedded metrics, turned into CloudWatch data by the emulator as
    # CloudWatch Logs does); nobody waited less than the provisioning SageMaker took (the emulator's floor).
    assert got["waits"]["wakes_measured"] == len(wakes)
    floors = [p.seconds for p in ic.provisions if start <= p.asked <= end]
    assert floors and got["waits"]["time_to_ready_max_s"] >= max(floors)
    # A sleep of minutes saves nothing: AWS keeps the instance ~10 minutes after its last copy.
    assert got["awake_hours"] < got["instance_hours"] <= got["hours"]

    # Traffic: the product's one request that found it asleep went to the fallback; every other found it awake.
    assert got["traffic"]["hits"] == 3
    assert (got["traffic"]["misses"], got["traffic"]["misses_to_fallback"], got["traffic"]["misses_failed"]) == (
        1,
        1,
        0,
    )
    assert 0 <= got["traffic"]["awake_hours_unused"] <= got["awake_hours"]
    columns = list(zip(*(row[1:] for row in got["requests_per_hour"]), strict=True))
    assert [sum(c) for c in columns] == [3, 1, 1]  # component, fallback (both less warm-ups), no capacity

    # The plan: its window held the first two requests; everything after it came outside.
    plan = got["plan"]
    assert (plan["days_applied"], plan["days_crons"]) == (1, 0)
    assert plan["windows"] == [{"wake": got["start"], "sleep": iso(window_ends), "requests": 2}]
    assert plan["requests_in_windows"] == 2
    assert plan["requests_outside_windows"] == 1 + 1  # the client's: the fallback's, and the component's after the wake
    assert plan["planned_hours"] == pytest.approx((window_ends - start).total_seconds() / 3600, abs=1e-3)
