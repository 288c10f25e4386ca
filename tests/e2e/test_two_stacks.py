"""Two sleepwake stacks side by side on one endpoint, as a team with two models on one inf1 endpoint deploys
them: the first stack creates the endpoint and its component; the second adopts a component the team added
to that endpoint. Each stack sleeps and wakes only its own component, and the endpoint's instances go only
when both components are at 0 copies."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from localaws.local_stack import LocalStack
from tests.e2e.conftest import sleep_now
from tests.stacks import FAST, local_stack
from tests.waits import eventually

RELEASE = 1800.0  # long enough that holding the clock after a sleep never races the release


@pytest.fixture
def two() -> Iterator[tuple[LocalStack, LocalStack]]:
    with local_stack(release_seconds=RELEASE, jump=True) as first, contextlib.redirect_stdout(io.StringIO()):
        second: LocalStack | None = None
        try:
            sm = first.emu.client("sagemaker")
            endpoint = first.outputs["EndpointName"]
            spec = sm.describe_inference_component(InferenceComponentName=first.outputs["InferenceComponentName"])
            sm.create_inference_component(
                InferenceComponentName="sleepwake-ic-b",
                EndpointName=endpoint,
                VariantName="AllTraffic",
                Specification={
                    "ModelName": spec["Specification"]["ModelName"],
                    "ComputeResourceRequirements": spec["Specification"]["ComputeResourceRequirements"],
                },
                RuntimeConfig={"CopyCount": 1},
            )
            assert first.emu.wait_for(lambda: copies(first, "sleepwake-ic-b") == 1, timeout=1800)
            adopt = {"DeploymentMode": "adopt", "EndpointName": endpoint, "InferenceComponentName": "sleepwake-ic-b"}
            second = LocalStack.beside(first, "sleepwake-b", FAST | adopt).start()
            yield first, second
        finally:
            if second:
                second.stop()


def copies(local: LocalStack, ic: str) -> int:
    described = local.emu.client("sagemaker").describe_inference_component(InferenceComponentName=ic)
    return int(described["RuntimeConfig"]["CurrentCopyCount"])


def instances(local: LocalStack) -> int:
    endpoint = local.emu.client("sagemaker").describe_endpoint(EndpointName=local.outputs["EndpointName"])
    return int(endpoint["ProductionVariants"][0]["CurrentInstanceCount"])


def reached_zero(local: LocalStack) -> datetime:
    """When the component's copies last reached 0 (the emulator's history)."""
    history = local.emu.component(local.outputs["InferenceComponentName"]).history
    return next(at for at, _status, _desired, current in reversed(history) if current == 0)


def test_two_stacks_on_one_endpoint_each_sleep_and_wake_their_own_component(two):
    a, b = two
    ic_a, ic_b = a.outputs["InferenceComponentName"], b.outputs["InferenceComponentName"]
    assert a.outputs["EndpointName"] == b.outputs["EndpointName"]
    assert a.outputs["SleepScheduleName"] != b.outputs["SleepScheduleName"]
    assert a.status()["state"] == b.status()["state"] == "ready"
    code, _ = b.wake(reason="keep b up through the test", keep_awake_minutes=720)  # no idle sleep for b
    assert code == 200

    # The first stack's sleep takes only its own component to 0; the instances stay for the second.
    sleep_now(a)
    assert (copies(a, ic_a), copies(b, ic_b)) == (0, 1)
    assert b.status()["state"] == "ready"
    with a.clock.paused():
        a.clock.advance(RELEASE + 60)
        time.sleep(0.3)
        assert instances(a) >= 1, "an instance went while the second component still had its copy"

    # The first stack wakes its component again: on the instance still there, without touching the second.
    code, _ = a.wake(reason="first stack's users are back")
    assert code == 202
    a.wait_for_state("ready", timeout=900)
    assert not a.emu.component(ic_a).provisions[-1].new_instance
    assert (copies(a, ic_a), copies(b, ic_b)) == (1, 1)
    assert not b.executions("Wake")  # the second stack never started a wake of its own

    # Both asleep: only now do the endpoint's instances go, RELEASE seconds after the last copy reached 0.
    sleep_now(a)
    sleep_now(b)
    with a.clock.paused():
        last_zero = max(reached_zero(a), reached_zero(b))
        assert instances(a) >= 1
        a.clock.advance_to(last_zero + timedelta(seconds=RELEASE - 10))
        time.sleep(0.3)
        assert instances(a) >= 1, "the instances went before the release time"
        a.clock.advance(20)
        assert eventually(lambda: instances(a) == 0), "the instances did not go once both components slept"
    assert a.status()["state"] == b.status()["state"] == "asleep"
