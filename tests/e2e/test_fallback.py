"""No request fails while the component sleeps: the product's client answers from the serverless fallback,
the wake still runs, and with a fallback the idle check naps at any hour. The fallback is the emulator's
serverless endpoint running the real model handler on CPU (localaws/sagemaker_serverless.py), or the stand-in model
where a test does not read the answers (tests/stacks.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from localaws.local_stack import SAMPLE, LocalStack
from sleepwake_client import FallbackFailed
from tests.e2e.conftest import sleep_now
from tests.stacks import PT, local_stack

NAP_SPEED = 20.0  # emulated seconds per wall second between the clock's jumps over idle time (tests/stacks.py)


def test_a_request_to_a_sleeping_component_gets_a_200_from_the_fallback_and_starts_the_wake(local_real_model):
    local = local_real_model
    sleep_now(local)
    client = local.product_client()
    fallback = local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])
    wakes_before, served_before = len(local.executions("Wake")), len(fallback.requests)

    answer = client.invoke(SAMPLE.read_bytes())

    assert answer.served_by == "fallback"
    assert answer.wake_signalled
    assert isinstance(json.loads(answer.body), dict)  # the real handler's JSON answer, from model.cpu.pt
    assert fallback.server is not None and fallback.server.model.target == "cpu"  # type: ignore[attr-defined]
    assert len(local.executions("Wake")) == wakes_before + 1
    # The wake API pre-warmed the fallback through the warm-up function: one request more than the product's.
    assert local.emu.wait_for(lambda: len(fallback.requests) >= served_before + 2, timeout=600, poll=1)
    local.wait_for_state("ready", timeout=900)
    assert client.invoke(SAMPLE.read_bytes()).served_by == "component"
    status = local.status()
    assert status["fallback"]["endpoint"] == local.outputs["FallbackEndpointName"]
    assert status["fallback"]["used_recently"] is True


def test_a_failing_fallback_gives_the_product_a_clear_error_and_the_wake_still_happens(local):
    sleep_now(local)
    local.emu.fail_fallback(local.outputs["FallbackEndpointName"], "out of memory")
    client = local.product_client()
    wakes_before = len(local.executions("Wake"))

    with pytest.raises(FallbackFailed) as caught:
        client.invoke(SAMPLE.read_bytes())

    assert "the inference component is asleep (a wake was signalled)" in str(caught.value)
    assert "out of memory" in str(caught.value)
    assert len(local.executions("Wake")) == wakes_before + 1
    local.wait_for_state("ready", timeout=900)
    assert client.invoke(SAMPLE.read_bytes()).served_by == "component"


@pytest.fixture
def evening() -> Iterator[LocalStack]:
    """21:00 PT: three hours before the quiet hours, so any sleep before 00:00 PT is a nap."""
    start = datetime(2026, 11, 24, 21, 0, tzinfo=PT).astimezone(UTC)
    # The stand-in model: the night reads who served each request, not what the model answered (the real model's
    # loads cost 40 s of CPU over the night's wakes and cold starts, and the clock now jumps, so no load needs to
    # hold it).
    with local_stack(start=start, speed=NAP_SPEED, jump=True) as stack:
        yield stack


# Minutes after 21:00 PT at which the product sends a request: a busy start, gaps long enough for naps in the
# evening, a request inside the quiet hours, and one after the 07:00 ET (04:00 PT) morning wake.
REQUEST_MINUTES = [0, 2, 5, 50, 54, 58, 120, 125, 200, 206, 430]


def test_a_whole_night_with_naps_fails_no_request(evening):
    local = evening
    client = local.product_client()
    start = local.now()
    served: list[tuple[datetime, str]] = []
    for minute in REQUEST_MINUTES:
        local.clock.wait_until(start + timedelta(minutes=minute))
        answer = client.invoke(SAMPLE.read_bytes())  # raises if a request fails: the test fails with it
        served.append((local.now(), answer.served_by))

    quiet_from = datetime(2026, 11, 25, 0, 0, tzinfo=PT)
    sfn = local.emu.client("stepfunctions")
    naps = [
        e["startDate"]
        for e in local.executions("Sleep")
        if json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]).get("trigger") == "idle"
        and e["startDate"] < quiet_from
    ]
    counts = Counter(path for _, path in served)
    assert len(served) == len(REQUEST_MINUTES)
    assert counts["fallback"] >= 3, served  # after each evening nap and in the night
    assert served[-1][1] == "component", served  # the morning wake was ready before 04:10 PT
    assert len(naps) >= 2, naps  # the idle check slept it twice before the quiet hours began
