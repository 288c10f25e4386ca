"""Real speech for the model tests: espeak-ng + sox WAVs in every shape the handler accepts, made once per session;
the model served locally; the SageMaker PyTorch toolkit's Transformer over a TorchServe context."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sagemaker_model.model_server import ModelServer, prepare_model_dir

LEAD_SILENCE_S = 1.0
TAIL_SILENCE_S = 1.5
SENTENCE = "Hello there. Please read the next sentence out loud, slowly and clearly."


@dataclass(frozen=True)
class SpeechClip:
    path: Path
    speech_start: float  # where the spoken words begin and end, in seconds
    speech_end: float
    duration: float


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _soxi_duration(path: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [tool for tool in ("espeak-ng", "sox", "soxi") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{missing} not installed: run `make setup` (requirements/apt.txt lists espeak-ng and sox)")
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def speech(audio_dir: Path) -> SpeechClip:
    """16 kHz mono 16-bit: 1 s silence, espeak-ng speech trimmed to its first/last sound, 1.5 s silence."""
    raw, words, lead, tail = (audio_dir / n for n in ("raw.wav", "words.wav", "lead.wav", "tail.wav"))
    _run("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), SENTENCE)
    trim = ["silence", "1", "0.02", "0.5%"]  # drop espeak-ng's leading silence; twice with reverse for the tail
    _run("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(words), *trim, "reverse", *trim, "reverse")
    _run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(lead), "trim", "0", str(LEAD_SILENCE_S))
    _run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(tail), "trim", "0", str(TAIL_SILENCE_S))
    out = audio_dir / "speech_16k_mono_s16.wav"
    _run("sox", str(lead), str(words), str(tail), str(out))
    spoken = _soxi_duration(words)
    return SpeechClip(out, LEAD_SILENCE_S, LEAD_SILENCE_S + spoken, _soxi_duration(out))


# name -> sox output options; covers rates 8-48 kHz, 8/16/24/32-bit PCM, float32, 1/2/6 channels (extensible).
VARIANTS: dict[str, list[str]] = {
    "8k_mono_u8": ["-r", "8000", "-c", "1", "-b", "8", "-e", "unsigned-integer"],
    "11025_mono_s16": ["-r", "11025", "-c", "1", "-b", "16"],
    "22050_stereo_s16": ["-r", "22050", "-c", "2", "-b", "16"],
    "44100_stereo_s16": ["-r", "44100", "-c", "2", "-b", "16"],
    "44100_stereo_s24": ["-r", "44100", "-c", "2", "-b", "24"],
    "48k_mono_s32": ["-r", "48000", "-c", "1", "-b", "32", "-e", "signed-integer"],
    "48k_stereo_f32": ["-r", "48000", "-c", "2", "-b", "32", "-e", "floating-point"],
    "32k_6ch_s16_extensible": ["-r", "32000", "-c", "6", "-b", "16"],
}


@pytest.fixture(scope="session")
def variants(audio_dir: Path, speech: SpeechClip) -> dict[str, Path]:
    out = {}
    for name, opts in VARIANTS.items():
        path = audio_dir / f"speech_{name}.wav"
        _run("sox", str(speech.path), *opts, str(path))
        out[name] = path
    flac = audio_dir / "speech_44100_stereo.flac"
    _run("sox", str(speech.path), "-r", "44100", "-c", "2", str(flac))
    out["flac_44100_stereo"] = flac
    return out


@pytest.fixture(scope="session")
def silence_wav(audio_dir: Path) -> Path:
    path = audio_dir / "silence.wav"
    _run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "trim", "0", "3")
    return path


@pytest.fixture(scope="session")
def noise_wav(audio_dir: Path) -> Path:
    path = audio_dir / "noise.wav"
    _run("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(path), "synth", "3", "whitenoise", "vol", "0.05")
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def server(model_dir: Path) -> Iterator[ModelServer]:
    srv = ModelServer(model_dir)
    yield srv
    srv.close()


class RequestProcessor:
    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers
        self.status: tuple[int, str] | None = None

    def get_request_properties(self) -> dict[str, str]:
        return self._headers


class TorchServeContext:
    """TorchServe's one context per model: each request gets a new request processor, which holds its status
    (ts/context.py: set_response_status stores it on request_processor[idx])."""

    def __init__(self, model_dir: Path) -> None:
        self.system_properties = {"model_dir": str(model_dir)}
        self.request_processor: list[RequestProcessor] = []
        self.content_type: str | None = None

    def new_request(self, headers: dict[str, str]) -> RequestProcessor:
        self.request_processor = [RequestProcessor(headers)]
        return self.request_processor[0]

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.request_processor[idx].status = (code, phrase)

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_type = value


@pytest.fixture()
def toolkit(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, TorchServeContext]]:
    """The real toolkit's Transformer importing code/inference.py as the user module (SAGEMAKER_PROGRAM), as in
    the container, and the context TorchServe would hand it. No warm-up unless the test sets
    SLEEPWAKE_WARMUP_ITERATIONS before its first request (the model loads then)."""
    from sagemaker_inference.transformer import Transformer

    monkeypatch.setenv("SAGEMAKER_PROGRAM", "inference.py")
    monkeypatch.setenv("SLEEPWAKE_WARMUP_ITERATIONS", "0")
    monkeypatch.syspath_prepend(str(model_dir / "code"))
    monkeypatch.delitem(sys.modules, "inference", raising=False)
    try:
        yield Transformer(), TorchServeContext(model_dir)
    finally:
        sys.modules.pop("inference", None)
