"""Adopt mode over an endpoint set up with AWS's scale-to-zero recipe (scalable target with MinCapacity 0, a
target-tracking policy, a step policy, a NoCapacityInvocationFailures alarm that runs the step policy), end to end
on the local stack: ExistingScaling=refuse fails before changing anything with its exact message; take-over runs a
night, a nap and the morning wake with no policy of the recipe's acting against the control plane. The emulator's
ground truth is the judge: the component's copy-count history and the scaling activities Application Auto
Scaling recorded."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from localaws import EmulatedClock, Emulator
from localaws.cfn_stack import Stack
from localaws.cfn_template import StackError
from sleepwake.core.adoption import ExistingAlarm, ExistingPolicy, ExistingScaling, ExistingTarget, refusal_message
from tests.e2e.conftest import FAST, PROVISIONING
from tests.localaws.conftest import ensure_role
from tests.localaws.test_adopt_endpoint_check import adopted_endpoint
from tests.localaws.test_adopt_existing_scaling import IC, RECIPE, WHERE, recipe_scaling, scaling_of
from tests.stacks import StandInModel

pytestmark = pytest.mark.e2e

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
PT = ZoneInfo("America/Los_Angeles")
ET = ZoneInfo("America/New_York")
# The fallback (from the archive the local stack serves) lets the idle check nap the component at any hour.
TAKE_OVER = FAST | {"ExistingScaling": "take-over", "ModelDataUrl": "s3://sleepwake-local/model.tar.gz"}


@pytest.fixture
def recipe_endpoint() -> Iterator[Emulator]:
    """The emulator at 23:45 PT with the recipe's endpoint: one serving copy, its scaling as the recipe sets it.
    The clock jumps over idle time, with this test as its driver (as tests.stacks.local_stack(jump=True))."""
    emu = Emulator(
        EmulatedClock(start=datetime(2026, 11, 24, 23, 45, tzinfo=PT), speed=20.0),
        port=0,
        provisioning_seconds=PROVISIONING,
        # The stand-in model (tests/stacks.py): the test reads copy counts and scaling activities, never an answer.
        model_server_factory=StandInModel,
        fallback_server_factory=StandInModel,
    )
    emu.clock.hold()
    emu.clock.jump_when_idle()
    emu.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
            ensure_role(emu)
            adopted_endpoint(emu, min_instances=0)
            recipe_scaling(emu)
            yield emu
    finally:
        emu.stop()
        emu.clock.jump_when_idle(False)
        emu.clock.release()


def state(stack: Stack) -> str:
    return str(stack.call_api("GET", "/status")["body"]["state"])


def wait_state(emu: Emulator, stack: Stack, wanted: str, timeout: float = 3 * 3600) -> None:
    assert emu.wait_for(lambda: state(stack) == wanted, timeout=timeout, poll=15), (wanted, state(stack))


def scale_ups(emu: Emulator) -> list[datetime]:
    history = emu.component(IC).history
    return [after[0] for before, after in itertools.pairwise(history) if after[2] > before[2]]


def activities(emu: Emulator) -> list[dict[str, Any]]:
    return emu.client("application-autoscaling").describe_scaling_activities(**WHERE)["ScalingActivities"]


def wake_executions(emu: Emulator, stack: Stack) -> int:
    sfn = emu.client("stepfunctions")
    return len(sfn.list_executions(stateMachineArn=stack.outputs["WakeStateMachineArn"])["executions"])


def test_refuse_then_take_over_a_recipe_endpoint_and_run_a_night_a_nap_and_a_wake(recipe_endpoint):
    emu = recipe_endpoint
    with contextlib.redirect_stdout(io.StringIO()):
        # refuse (the default): the deploy fails before touching the recipe's scaling, and says what to remove.
        refused = Stack(emu, TEMPLATE, parameters=FAST)
        with pytest.raises(StackError, match="ExistingScaling=refuse"):
            refused.deploy()
        policies = emu.client("application-autoscaling").describe_scaling_policies(**WHERE)["ScalingPolicies"]
        expected = refusal_message(
            ExistingScaling(
                component=IC,
                target=ExistingTarget(min_capacity=0, max_capacity=2),
                policies=[
                    ExistingPolicy(name=p["PolicyName"], arn=p["PolicyARN"], policy_type=p["PolicyType"])
                    for p in policies
                ],
                alarms=[
                    ExistingAlarm(
                        name=f"{IC}-no-capacity",
                        alarm_actions=[p["PolicyARN"] for p in policies if p["PolicyType"] == "StepScaling"],
                    )
                ],
            )
        )
        [failed] = refused.failures()
        assert re.fullmatch(
            re.escape(f"Received response status [FAILED] from custom resource. Message returned: {expected}")
            + r" \(RequestId: [0-9a-f-]{36}\)",
            failed["ResourceStatusReason"],
        )
        assert (refused.status, scaling_of(emu)) == ("ROLLBACK_COMPLETE", RECIPE)

        # take-over: the same endpoint, deployed again with the other mode.
        stack = Stack(emu, TEMPLATE, parameters=TAKE_OVER).deploy()
        assert scaling_of(emu)["policies"] == [(f"{IC}-concurrency", "TargetTrackingScaling", None)]
        assert scaling_of(emu)["alarms"] == {f"{IC}-no-capacity": []}
        copies_up_before = len(scale_ups(emu))

        # The night: the 00:00 PT sleep; a request finds no copy, the control plane wakes the component.
        wait_state(emu, stack, "asleep")
        with pytest.raises(ClientError, match="no capacity"):
            emu.client("sagemaker-runtime").invoke_endpoint(
                EndpointName=stack.outputs["EndpointName"],
                InferenceComponentName=IC,
                Body=b"x",
                ContentType="audio/wav",
            )
        wait_state(emu, stack, "ready")
        # A nap: nothing more comes, so the idle check sleeps it again (the fallback answers meanwhile).
        wait_state(emu, stack, "asleep")
        # The morning wake, 07:00 ET. The clock jumps there from deadline to deadline, so every keep-warm ping
        # and alarm round fires at its time (one advance() over the hours fired the pings all at once after it).
        emu.clock.wait_until(datetime(2026, 11, 25, 6, 59, 30, tzinfo=ET))
        wait_state(emu, stack, "ready")
        assert emu.component(IC).desired == 1

    # Ground truth: every scale-up was one of the control plane's two wakes; no policy acted at all.
    ups = scale_ups(emu)[copies_up_before:]
    assert len(ups) == 2 == wake_executions(emu, stack), ups
    assert activities(emu) == []
    # The recipe's alarm is still there and fired at the night's request; it runs nothing now.
    alarm = emu.client("cloudwatch").describe_alarms(AlarmNames=[f"{IC}-no-capacity"])["MetricAlarms"][0]
    assert alarm["AlarmActions"] == []
    fired = [e for e in emu.alarms.events if e["detail"]["alarmName"] == f"{IC}-no-capacity"]
    assert "ALARM" in [e["detail"]["state"]["value"] for e in fired]
