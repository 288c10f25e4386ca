"""The Neuron compile script: argument handling, the fixed input shape shared with the handler, no torch-neuron."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from sagemaker_model import compile_neuron
from sagemaker_model.model_server import ModelServer, load_handler, prepare_model_dir
from tests.model.conftest import SpeechClip
from tests.model.test_toolkit_contract import _EnergyModel

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The input to trace is already a ScriptModule:UserWarning"),
]


@pytest.fixture()
def scripted(tmp_path: Path) -> Path:
    path = tmp_path / "team_model.pt"
    torch.jit.script(_EnergyModel()).save(str(path))
    return path


def test_the_traced_shape_is_the_chunk_the_handler_feeds(model_dir: Path) -> None:
    handler = load_handler(model_dir)
    try:
        assert compile_neuron.example_shape() == (1, handler.CHUNK_SAMPLES)
        assert compile_neuron.handler_contract() == {"CHUNK_SAMPLES": handler.CHUNK_SAMPLES, "SAMPLE_RATE": 16000}
    finally:
        sys.modules.pop(handler.__name__, None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: model"),
        (["missing.pt"], "does not exist"),
        (["{model}", "--output", "out.onnx"], "must end in .pt"),
        (["{model}", "--output", "{model}"], "would overwrite the input model"),
    ],
)
def test_bad_arguments_stop_with_a_usage_error(
    scripted: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        compile_neuron.main([a.format(model=scripted) for a in argv])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_dry_run_prints_the_input_contract(scripted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compile_neuron.main([str(scripted), "--dry-run"]) == 0
    assert '"input_shape": [1, 512]' in capsys.readouterr().out


def test_without_torch_neuron_it_stops_with_a_clear_message(
    scripted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch_neuron", None)  # like PyPI's placeholder: the import fails
    code = compile_neuron.main([str(scripted), "--output", str(tmp_path / "out" / "model.pt")])
    assert code == compile_neuron.EXIT_NO_NEURON
    assert "torch-neuron is not installed" in capsys.readouterr().err
    assert not (tmp_path / "out" / "model.pt").exists()


class _FakeNeuron:
    """torch.neuron.trace's signature; records what it was given and traces on CPU instead."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def trace(self, model: Any, example_inputs: list[torch.Tensor], compiler_args: Any = None) -> Any:
        self.calls.append({"shapes": [tuple(x.shape) for x in example_inputs], "compiler_args": compiler_args})
        return torch.jit.trace(model, example_inputs[0])


def test_the_compiled_model_serves_through_the_handler(scripted: Path, tmp_path: Path, speech: SpeechClip) -> None:
    fake = _FakeNeuron()
    out = tmp_path / "neuron" / "model.pt"
    args = compile_neuron.parse_args([str(scripted), "--output", str(out), "--compiler-args", "--fast-math none"])
    compile_neuron.compile_model(args, fake)
    assert fake.calls == [{"shapes": [(1, 512)], "compiler_args": ["--fast-math", "none"]}]
    server = ModelServer(prepare_model_dir(tmp_path / "m", model_file=out))
    try:  # _EnergyModel asserts its input is exactly [1, 512]: the handler's chunking matches the trace
        assert server.invoke(speech.path.read_bytes(), "audio/wav").status == 200
    finally:
        server.close()
