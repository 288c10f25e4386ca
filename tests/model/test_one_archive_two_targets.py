"""One archive for the inf1 component and the serverless CPU fallback: model.pt (Neuron) + model.cpu.pt (CPU)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sagemaker_model import package
from sagemaker_model.model_server import (
    CPU_MODEL_FILE,
    MODEL_FILE,
    WARMUP_WAV,
    ModelServer,
    prepare_model_dir,
    silero_jit_path,
)

NEURON_STAND_IN = b"a Neuron-compiled TorchScript archive: it cannot load on CPU"


def test_the_cpu_target_serves_the_cpu_model_beside_a_neuron_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = prepare_model_dir(tmp_path / "model")
    (model_dir / CPU_MODEL_FILE).write_bytes(silero_jit_path().read_bytes())
    (model_dir / MODEL_FILE).write_bytes(NEURON_STAND_IN)
    monkeypatch.setenv("SLEEPWAKE_TARGET", "cpu")
    monkeypatch.setenv("SLEEPWAKE_WARMUP_ITERATIONS", "0")

    server = ModelServer(model_dir)
    try:
        result = server.invoke(WARMUP_WAV.read_bytes(), "audio/wav")
    finally:
        server.close()

    assert result.status == 200, result.error
    assert json.loads(result.body)["segments"]


def test_an_archive_built_with_a_neuron_model_carries_both(tmp_path: Path) -> None:
    neuron = tmp_path / "neuron.pt"
    neuron.write_bytes(NEURON_STAND_IN)

    staging = package.stage(tmp_path / "staging", silero_jit_path(), neuron)
    archive = tmp_path / "model.tar.gz"
    package.write_archive(staging, archive)
    package.verify_archive(archive)

    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert files[MODEL_FILE] == NEURON_STAND_IN
    assert files[CPU_MODEL_FILE] == silero_jit_path().read_bytes()


def test_a_missing_neuron_model_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        package.main(["--neuron-model-file", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "m.tar.gz")])

    assert stopped.value.code == 2
    assert "nope.pt: no such file" in capsys.readouterr().err
