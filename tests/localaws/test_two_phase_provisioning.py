"""Provisioning has two phases, as on AWS: a copy on an instance the endpoint still has comes up much sooner
than one that needs a new instance, and the instances go ~10 min after every copy on the endpoint is at 0."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from localaws import Emulator
from tests.localaws.conftest import ROLE, describe, make_endpoint
from tests.waits import eventually

COLD = 120.0  # the emu fixture's provisioning_seconds: new instance + copy


def copies(emu: Emulator, ic: str = "ic") -> int:
    return int(describe(emu, ic)["RuntimeConfig"]["CurrentCopyCount"])


def instances(emu: Emulator, endpoint: str = "ep") -> int:
    variant = emu.client("sagemaker").describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    return int(variant["CurrentInstanceCount"])


def set_copies(emu: Emulator, count: int, ic: str = "ic") -> None:
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName=ic, DesiredRuntimeConfig={"CopyCount": count}
    )


def arrives_after(emu: Emulator, seconds: float, ic: str = "ic", want: int = 1) -> None:
    """With emulated time held: not there a second before `seconds`, there a second after."""
    emu.clock.advance(seconds - 1)
    time.sleep(0.3)  # let the provisioning thread run, if it (wrongly) would
    assert copies(emu, ic) != want, f"{ic} came up before {seconds} s"
    emu.clock.advance(2)
    assert eventually(lambda: copies(emu, ic) == want), f"{ic} not up {seconds + 1} s after the ask"


def sleep_component(emu: Emulator, ic: str = "ic") -> None:
    set_copies(emu, 0, ic)
    emu.clock.advance(emu.sagemaker.switches.scale_in_seconds + 1)
    assert eventually(lambda: copies(emu, ic) == 0)


def test_a_copy_on_the_instance_still_there_comes_up_in_the_copy_time_only(emu):
    make_endpoint(emu, copies=0)  # the endpoint starts with its InitialInstanceCount of 1
    with emu.clock.paused():
        assert instances(emu) == 1
        set_copies(emu, 1)
        arrives_after(emu, emu.sagemaker.switches.copy_on_instance_seconds)
    assert emu.sagemaker.switches.copy_on_instance_seconds < COLD


def test_instances_go_ten_minutes_after_the_last_copy_and_the_next_copy_needs_a_new_one(emu):
    make_endpoint(emu, copies=1)
    with emu.clock.paused():
        sleep_component(emu)
        emu.clock.advance(598)
        time.sleep(0.3)
        assert instances(emu) == 1  # still there: the release is ~10 min after the copies reached 0
        emu.clock.advance(2)
        assert eventually(lambda: instances(emu) == 0)
        set_copies(emu, 1)
        arrives_after(emu, COLD)
        assert instances(emu) == 1


def test_a_copy_asked_for_before_the_release_keeps_the_instance(emu):
    make_endpoint(emu, copies=1)
    with emu.clock.paused():
        sleep_component(emu)
        emu.clock.advance(540)  # one minute before the instance would go
        set_copies(emu, 1)
        arrives_after(emu, emu.sagemaker.switches.copy_on_instance_seconds)
        emu.clock.advance(600)  # the release that was due has been called off
        time.sleep(0.3)
        assert instances(emu) == 1


def add_second_component(emu: Emulator, max_instances: int) -> None:
    """A second component, ic2, at 1 copy on the endpoint `ep`, which may now grow to `max_instances` instances
    (created, not waited for)."""
    sm = emu.client("sagemaker")
    sm.create_model(ModelName="ic2-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    emu.sagemaker.instances(emu.account, emu.region, "ep").max_count = max_instances
    sm.create_inference_component(
        InferenceComponentName="ic2",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={"ModelName": "ic2-model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1},
    )


def make_shared_endpoint(emu: Emulator, max_instances: int) -> None:
    """One endpoint, two components (two sleepwake stacks side by side), each at 1 copy."""
    make_endpoint(emu, copies=1)
    add_second_component(emu, max_instances)
    assert emu.wait_for(lambda: describe(emu, "ic2")["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)


@pytest.mark.parametrize("copies_per_instance", [1, 2])
def test_the_instances_stay_until_both_components_on_the_endpoint_are_at_zero(emu, copies_per_instance):
    emu.sagemaker.switches.copies_per_instance = copies_per_instance
    make_shared_endpoint(emu, max_instances=2)
    with emu.clock.paused():
        assert instances(emu) == (2 if copies_per_instance == 1 else 1)
        sleep_component(emu, "ic")
        emu.clock.advance(900)
        time.sleep(0.3)
        assert instances(emu) >= 1  # ic2 still has its copy
        sleep_component(emu, "ic2")
        emu.clock.advance(590)
        time.sleep(0.3)
        assert instances(emu) >= 1
        emu.clock.advance(20)
        assert eventually(lambda: instances(emu) == 0)


def test_a_second_component_that_does_not_fit_waits_for_a_new_instance(emu):
    emu.sagemaker.switches.copies_per_instance = 1
    make_endpoint(emu, copies=1)
    with emu.clock.paused():
        add_second_component(emu, max_instances=2)
        arrives_after(emu, COLD, ic="ic2")  # ic's copy fills the one instance there
        assert instances(emu) == 2


def test_both_phases_are_settings():
    settings = Emulator(provisioning_seconds=300, copy_seconds=40, release_seconds=60).sagemaker.switches
    assert (settings.copy_on_instance_seconds, settings.instance_seconds, settings.release_seconds) == (40, 260, 60)
    assert timedelta(seconds=settings.release_seconds) == timedelta(minutes=1)


@pytest.mark.parametrize("value", ["-3", "abc", "nan"])
def test_a_bad_provisioning_option_gets_a_one_line_error(value, capsys):
    import argparse

    from localaws.options import add_instance_options

    parser = argparse.ArgumentParser(prog="make local")
    add_instance_options(parser)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--copy-seconds", value])
    assert exit_.value.code == 2
    assert "--copy-seconds" in capsys.readouterr().err.splitlines()[-1]
