"""The emulated runtime runs the project's real model handler (sagemaker_model.model_server.ModelServer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localaws import EmulatedClock, Emulator
from tests.localaws.conftest import describe, make_endpoint

pytest.importorskip("sagemaker_model.model_server")
WAV = Path("layers/sleepwake/sleepwake/assets/warmup.wav")


@pytest.fixture
def real_emu():
    emulator = Emulator(
        EmulatedClock(start=datetime(2025, 3, 10, tzinfo=UTC), speed=600), port=0, provisioning_seconds=60
    )
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_a_copy_serves_the_real_handler_and_zero_copies_release_it(real_emu):
    emu = real_emu
    make_endpoint(emu, copies=1)
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 1, timeout=3600)
    server = emu.component("ic").server
    assert type(server).__module__ == "sagemaker_model.model_server"
    rt = emu.client("sagemaker-runtime")
    resp = rt.invoke_endpoint(
        EndpointName="ep",
        InferenceComponentName="ic",
        Body=WAV.read_bytes(),
        ContentType="audio/wav",
        Accept="application/json",
    )
    assert resp["ContentType"].startswith("application/json")
    assert json.loads(resp["Body"].read())  # a real prediction, not canned bytes
    # Each answer is kept with its ModelLatency and the serving thread's CPU time (the demo's warm ratio).
    [(_, latency_ms, cpu_ms)] = emu.component("ic").served
    assert cpu_ms > 0 and latency_ms > 0
    emu.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    assert emu.wait_for(lambda: describe(emu)["RuntimeConfig"]["CurrentCopyCount"] == 0, timeout=3600)
    assert server.ping() is False  # closed at 0 copies
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(
            EndpointName="ep", InferenceComponentName="ic", Body=WAV.read_bytes(), ContentType="audio/wav"
        )
    assert "no capacity" in err.value.response["Error"]["Message"]
