"""The handler meets the SageMaker PyTorch toolkit's contract: signatures, error mapping, inf1 loading, warm-up."""

from __future__ import annotations

import inspect
import io
import json
import logging
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from scipy.io import wavfile

from sagemaker_model.model_server import HANDLER_SOURCE, ModelServer, load_handler, prepare_model_dir
from tests.model.conftest import SpeechClip, TorchServeContext

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


@pytest.fixture()
def handler(model_dir: Path) -> types.ModuleType:
    module = load_handler(model_dir)
    yield module
    sys.modules.pop(module.__name__, None)


def test_handler_functions_take_the_context_argument_and_no_varargs(handler: types.ModuleType) -> None:
    expected = {"model_fn": 2, "input_fn": 3, "predict_fn": 3, "output_fn": 3}
    for name, count in expected.items():
        params = inspect.signature(getattr(handler, name)).parameters.values()
        assert len(params) == count, name  # the toolkit counts parameters to decide whether to pass context
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params), name


def test_the_real_toolkit_transformer_serves_speech_and_maps_bad_input_to_4xx(
    toolkit: tuple[Any, TorchServeContext], speech: SpeechClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the toolkit importing code/inference.py as the user module, warming up once as it loads the model
    transformer, context = toolkit
    monkeypatch.setenv("SLEEPWAKE_WARMUP_ITERATIONS", "1")
    # WHEN a good WAV arrives
    ok = context.new_request({"Content-Type": "audio/wav", "Accept": "application/json"})
    out = transformer.transform([{"body": bytearray(speech.path.read_bytes())}], context)
    # THEN it answers JSON with segments
    assert ok.status is None and context.content_type == "application/json"
    assert '"segments":[{' in out[0]
    # WHEN garbage arrives THEN the toolkit answers the handler's 4xx with its message. TorchServe keeps one
    # context per model and gives each request new properties and status.
    bad = context.new_request({"Content-Type": "audio/wav"})
    out = transformer.transform([{"body": bytearray(b"garbage")}], context)
    assert bad.status is not None and bad.status[0] == 400
    assert out[0].startswith("body is not a WAV file")
    unsupported = context.new_request({"Content-Type": "image/png"})
    transformer.transform([{"body": bytearray(b"\x89PNG")}], context)
    assert unsupported.status is not None and unsupported.status[0] == 415


def test_on_inf1_torch_neuron_is_imported_before_the_model_is_loaded(
    handler: types.ModuleType, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    fake = types.ModuleType("torch_neuron")
    monkeypatch.setitem(sys.modules, "torch_neuron", fake)
    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) else __builtins__.__import__

    def tracking_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch_neuron":
            events.append("import torch_neuron")
        return real_import(name, *args, **kwargs)

    real_load = torch.jit.load

    def tracking_load(path: str, *args: Any, **kwargs: Any) -> Any:
        events.append("torch.jit.load")
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", tracking_import)
    monkeypatch.setattr(torch.jit, "load", tracking_load)
    monkeypatch.setenv("SLEEPWAKE_TARGET", "neuron")
    handler.load_model(model_dir, handler.detect_target())
    assert events == ["import torch_neuron", "torch.jit.load"]


def test_on_inf1_without_torch_neuron_loading_stops_with_a_clear_message(
    handler: types.ModuleType, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch_neuron", None)  # import raises ImportError, like PyPI's placeholder
    monkeypatch.setenv("SLEEPWAKE_TARGET", "neuron")
    with pytest.raises(RuntimeError, match="torch_neuron cannot be imported"):
        handler.model_fn(str(model_dir))


def test_cpu_is_the_target_off_inferentia(handler: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLEEPWAKE_TARGET", raising=False)
    assert handler.detect_target() == ("neuron" if Path("/dev/neuron0").exists() else "cpu")
    monkeypatch.setenv("SLEEPWAKE_TARGET", "cpu")
    assert handler.detect_target() == "cpu"


def test_threads_split_the_vcpus_between_workers(handler: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "64")
        assert handler.configure_threads("cpu") == 1
        monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "1")
        assert handler.configure_threads("cpu") == (os.cpu_count() or 1)
        assert handler.configure_threads("neuron") == 1
        monkeypatch.delenv("SAGEMAKER_MODEL_SERVER_WORKERS")
        assert handler.configure_threads("cpu") == 1  # TorchServe's default: one worker per vCPU
        monkeypatch.setenv("SLEEPWAKE_TORCH_THREADS", "2")
        assert handler.configure_threads("cpu") == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("iterations", ["0", "2"])
def test_model_fn_warms_up_the_configured_number_of_times_and_logs_the_times(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, iterations: str
) -> None:
    monkeypatch.setenv("SLEEPWAKE_WARMUP_ITERATIONS", iterations)
    with caplog.at_level(logging.INFO, logger="sleepwake.model"):
        server = ModelServer(model_dir)
    try:
        assert server.model.warmup_iterations == int(iterations)
        assert server.model.load_ms > 0
        assert any("load_ms=" in r.message for r in caplog.records)
        assert any(f"iterations={iterations} warmup_ms=" in r.message for r in caplog.records)
    finally:
        server.close()


def test_warm_up_uses_the_speech_sample_shipped_in_code(handler: types.ModuleType, model_dir: Path) -> None:
    payloads = handler.warmup_payloads(model_dir)
    assert len(payloads) == 2 and all(p[:4] == b"RIFF" for p in payloads)
    assert (model_dir / "code" / "warmup.wav").is_file()


def test_prepare_model_dir_is_idempotent_and_laid_out_like_the_archive(tmp_path: Path) -> None:
    first = prepare_model_dir(tmp_path / "m")
    stamps = {p: p.stat().st_mtime_ns for p in first.rglob("*") if p.is_file()}
    second = prepare_model_dir(tmp_path / "m")
    assert second == first
    assert {p: p.stat().st_mtime_ns for p in second.rglob("*") if p.is_file()} == stamps
    modules = sorted(f"code/{p.name}" for p in HANDLER_SOURCE.parent.glob("*.py"))
    assert sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file()) == sorted(
        [*modules, "code/warmup.wav", "model.pt"]
    )
    for module in modules:
        assert (first / module).read_bytes() == (HANDLER_SOURCE.parent / module.split("/")[1]).read_bytes()


class _EnergyModel(torch.nn.Module):
    """A stand-in for the team's model: fixed [1, 512] input, speech probability out."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[0] == 1 and x.shape[1] == 512, "chunk shape must be [1, 512]")
        rms = torch.sqrt(torch.mean(x * x, dim=1, keepdim=True))
        return torch.sigmoid((rms - 0.02) * 400.0)


def test_another_torchscript_model_drops_in_with_the_same_chunk_contract(tmp_path: Path) -> None:
    model_file = tmp_path / "energy.pt"
    torch.jit.script(_EnergyModel()).save(str(model_file))
    server = ModelServer(prepare_model_dir(tmp_path / "m", model_file=model_file))
    try:
        tone = (0.3 * torch.sin(torch.arange(16000) * 0.2)).numpy()
        samples = torch.cat([torch.zeros(16000), torch.from_numpy(tone), torch.zeros(16000)]).numpy()
        buf = io.BytesIO()
        wavfile.write(buf, 16000, samples.astype("float32"))
        result = server.invoke(buf.getvalue(), "audio/wav")
        assert result.status == 200, result.body[:300]
        segments = json.loads(result.body)["segments"]
        assert len(segments) == 1
        assert segments[0]["start"] == pytest.approx(1.0, abs=0.1)
        assert segments[0]["end"] == pytest.approx(2.0, abs=0.1)
    finally:
        server.close()
