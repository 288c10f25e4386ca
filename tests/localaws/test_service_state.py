"""Each emulated service puts itself back from its snapshot (localaws/service_state.py), as a shared stack's reset
asks it to (localaws/stack_reset.py): here on the emulator alone, a component and moto's resources."""

from __future__ import annotations

from datetime import timedelta

import pytest

from localaws.clock import EmulatedClock
from localaws.emulator import Emulator
from localaws.stack_reset import AsDeployed
from tests.localaws.conftest import START, FakeModelServer, describe, make_endpoint


def test_a_reset_puts_a_scaled_in_component_back_with_its_copy_and_model_server(emu):
    make_endpoint(emu, copies=1)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    emu.clock.set_speed(1)  # taken at 1 x: after the rewind the clock runs at wall speed, whatever the load
    kept = AsDeployed.take(emu)
    emu.clock.set_speed(600)
    before, history = describe(emu), list(emu.component("ic").history)
    sm = emu.client("sagemaker")
    sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0})
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 0, timeout=3600)
    assert emu.component("ic").server is None and FakeModelServer.closes == 1
    emu.throttle("DescribeInferenceComponent", "ic", times=5)  # an injected fault, cleared by the reset
    emu.client("sqs").create_queue(QueueName="made-after")  # a service first used after the snapshot
    emu.clock.advance(1200)

    kept.restore()
    assert emu.clock.speed == 1  # the speed as taken
    assert kept.at <= emu.now() < kept.at + timedelta(minutes=10)  # the clock went back 20 minutes

    for answer in (before, after := describe(emu)):
        answer.pop("ResponseMetadata")
    assert after == before
    assert emu.component("ic").history == history
    assert emu.component("ic").server is not None and FakeModelServer.loads == 2  # loaded again, as it was
    assert emu.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_reset_is_refused_while_another_emulator_runs_in_the_process(emu):
    """moto's backends are the process's: resetting one emulator would rewind another's resources too. The reset
    says so in one line and changes nothing."""
    kept = AsDeployed.take(emu)
    emu.client("sqs").create_queue(QueueName="made-after")
    other = Emulator(EmulatedClock(start=START), port=0).start(reset=False)
    try:
        with pytest.raises(RuntimeError, match=f"while another runs in this process \\({other.endpoint_url}\\)"):
            kept.restore()
        assert len(emu.client("sqs").list_queues()["QueueUrls"]) == 1  # nothing put back
    finally:
        other.stop()
    assert Emulator.running() == [emu]
