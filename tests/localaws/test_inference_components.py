"""Inference components per docs/aws-behaviour.md §2: copies follow the desired count only when provisioning ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.localaws.conftest import FakeModelServer, describe, make_endpoint, no_retry_client


def copy_served_at(emu, ic: str = "ic"):
    """When the emulator made the first copy current (not when a describe happened to notice)."""
    return next(at for at, _status, _desired, current in emu.component(ic).history if current >= 1)


def test_created_component_at_zero_copies_reports_in_service(emu):
    with emu.clock.paused():  # emulated time stands still, so the describe sees the state the create left
        make_endpoint(emu, copies=0, wait=False)
        assert describe(emu)["InferenceComponentStatus"] == "Creating"
    assert emu.wait_for(lambda: describe(emu)["InferenceComponentStatus"] == "InService", timeout=3600)
    d = describe(emu)
    assert d["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert d["EndpointName"] == "ep" and d["VariantName"] == "AllTraffic"
    assert d["Specification"]["ModelName"] == "ic-model"
    assert FakeModelServer.loads == 0


def test_desired_moves_at_once_and_current_follows_after_provisioning(emu):
    make_endpoint(emu)
    sm = emu.client("sagemaker")
    with emu.clock.paused():  # however slow this machine, no provisioning time passes before the describe
        t0 = emu.now()
        sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})
        d = describe(emu)
    assert d["InferenceComponentStatus"] == "Updating"
    assert d["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 0}
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600, poll=2)
    # The endpoint's initial instance is still there, so this is the copy's share of provisioning, emulated.
    assert copy_served_at(emu) - t0 >= timedelta(seconds=emu.sagemaker.switches.copy_on_instance_seconds)
    assert describe(emu)["InferenceComponentStatus"] == "InService"
    assert FakeModelServer.loads == 1


def test_scaling_to_zero_releases_the_model(emu):
    make_endpoint(emu, copies=1)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 0, timeout=3600)
    assert describe(emu)["InferenceComponentStatus"] == "InService"
    assert FakeModelServer.closes == 1
    assert emu.component("ic").server is None


def test_injected_provisioning_failure_reports_failed_with_reason(emu):
    make_endpoint(emu)
    emu.fail_next_provisioning("ic", "CapacityError: no ml.inf1.xlarge capacity")
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    assert emu.wait_for(lambda: describe(emu)["InferenceComponentStatus"] == "Failed", timeout=3600)
    d = describe(emu)
    assert d["FailureReason"] == "CapacityError: no ml.inf1.xlarge capacity"
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 0
    # A failed component can be asked again, and then succeeds.
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    assert "FailureReason" not in describe(emu)


def test_model_that_fails_to_load_fails_the_component(emu):
    make_endpoint(emu)

    def broken(ic):
        raise RuntimeError("Unknown type name '__torch__.torch.classes.neuron.Model'")

    emu.sagemaker.switches.model_server_factory = broken
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    assert emu.wait_for(lambda: describe(emu)["InferenceComponentStatus"] == "Failed", timeout=3600)
    assert "neuron.Model" in describe(emu)["FailureReason"]


def test_injected_throttling_is_a_400_throttling_exception(emu):
    make_endpoint(emu)
    emu.throttle("UpdateInferenceComponentRuntimeConfig", "ic")
    sm = no_retry_client(emu, "sagemaker")
    with pytest.raises(ClientError) as err:
        sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert describe(emu)["RuntimeConfig"]["DesiredCopyCount"] == 0  # the throttled call changed nothing
    sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})


def test_list_and_delete(emu):
    make_endpoint(emu)
    sm = emu.client("sagemaker")
    names = [
        c["InferenceComponentName"]
        for c in sm.list_inference_components(EndpointNameEquals="ep")["InferenceComponents"]
    ]
    assert names == ["ic"]
    with emu.clock.paused():  # so the Deleting state outlives one describe, however slow this machine
        sm.delete_inference_component(InferenceComponentName="ic")
        assert describe(emu)["InferenceComponentStatus"] == "Deleting"
    assert emu.wait_for(lambda: not sm.list_inference_components()["InferenceComponents"], timeout=3600)
    with pytest.raises(ClientError) as err:
        describe(emu)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_unknown_endpoint_is_rejected(emu):
    with pytest.raises(ClientError) as err:
        emu.client("sagemaker").create_inference_component(
            InferenceComponentName="x",
            EndpointName="nope",
            VariantName="AllTraffic",
            Specification={"ModelName": "m", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
            RuntimeConfig={"CopyCount": 1},
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_asking_again_for_the_same_count_does_not_restart_provisioning(emu):
    make_endpoint(emu)
    sm = emu.client("sagemaker")
    with emu.clock.paused():  # the second ask lands 90 s into provisioning, however slow this machine
        t0 = emu.now()
        sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})
        emu.clock.advance(90)
        sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600, poll=2)
    assert copy_served_at(emu) - t0 < timedelta(seconds=120 + 90)
