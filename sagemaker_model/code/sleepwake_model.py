"""The model: what it is, how its scores become speech segments, and how it is loaded on inf1 or CPU. The
part the team changes for its own model. Part of the model archive's code/ (docs/model.md)."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sleepwake_common import _env_int, logger

# ---------------------------------------------------------------------------------------------------------------
# MODEL-SPECIFIC PART. Everything the team's own model needs to change lives between these two rules.
# Contract: the model takes float32 audio at SAMPLE_RATE in fixed chunks shaped [1, CHUNK_SAMPLES] (the shape
# compile_neuron.py traces with), called in order, and returns the speech probability of that chunk.
# A model with `reset_states()` (silero-vad) is streaming: it is called as model(chunk, SAMPLE_RATE) and its
# state is reset per request. Any other TorchScript/Neuron model is called as model(chunk).
# ---------------------------------------------------------------------------------------------------------------
MODEL_NAME = "silero-vad"
MODEL_FILE = "model.pt"
# The CPU TorchScript the Neuron model was traced from. An archive built with a Neuron model carries both, so
# one archive serves the inf1 component (model.pt) and the serverless CPU fallback (model.cpu.pt).
CPU_MODEL_FILE = "model.cpu.pt"
SAMPLE_RATE = 16000
CHUNK_SAMPLES = 512  # silero-vad's 16 kHz window; also the fixed input length a Neuron trace is compiled for
SPEECH_ON = 0.5  # hysteresis thresholds on the per-chunk probability
SPEECH_OFF = 0.35
MIN_SPEECH_S = 0.25
MIN_SILENCE_S = 0.10
SEGMENT_PAD_S = 0.03


def score_chunks(model: torch.jit.ScriptModule, audio: np.ndarray) -> np.ndarray:
    """Per-chunk speech probability for mono float32 audio at SAMPLE_RATE (zero-padded to whole chunks)."""
    n_chunks = max(1, math.ceil(audio.shape[0] / CHUNK_SAMPLES))
    padded = np.zeros(n_chunks * CHUNK_SAMPLES, dtype=np.float32)
    padded[: audio.shape[0]] = audio
    chunks = torch.from_numpy(padded).reshape(n_chunks, 1, CHUNK_SAMPLES)
    probs = np.empty(n_chunks, dtype=np.float32)
    streaming = hasattr(model, "reset_states")
    with torch.no_grad():
        if streaming:
            model.reset_states()
        for i in range(n_chunks):
            out = model(chunks[i], SAMPLE_RATE) if streaming else model(chunks[i])
            probs[i] = float(out.reshape(-1)[0])
    return probs


def speech_segments(probs: np.ndarray, duration_s: float | None = None) -> list[dict[str, float]]:
    """Speech segments (start/end seconds) from per-chunk probabilities, with hysteresis and minimum lengths.
    `duration_s` is the clip's real length: the last chunk is zero-padded, and no segment may end after it."""
    hop = CHUNK_SAMPLES / SAMPLE_RATE
    raw: list[list[float]] = []
    start: int | None = None
    for i, p in enumerate(probs):
        if start is None and p >= SPEECH_ON:
            start = i
        elif start is not None and p < SPEECH_OFF:
            raw.append([start * hop, i * hop])
            start = None
    if start is not None:
        raw.append([start * hop, len(probs) * hop])
    merged: list[list[float]] = []
    for seg in raw:  # short pauses inside a word or phrase do not split it
        if merged and seg[0] - merged[-1][1] < MIN_SILENCE_S:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    total = len(probs) * hop if duration_s is None else min(len(probs) * hop, duration_s)
    return [
        {"start": round(max(0.0, s - SEGMENT_PAD_S), 3), "end": round(min(total, e + SEGMENT_PAD_S), 3)}
        for s, e in merged
        if e - s >= MIN_SPEECH_S
    ]


@dataclass
class LoadedModel:
    """What model_fn returns: the TorchScript module plus how it was loaded, for logs and the bench."""

    module: torch.jit.ScriptModule
    target: str
    load_ms: float
    warmup_ms: float = 0.0
    warmup_iterations: int = 0


# --------------------------------------------------------------------------------------------------- loading ---
def detect_target() -> str:
    """'neuron' on an Inferentia host (or when told), else 'cpu'. SLEEPWAKE_TARGET=neuron|cpu overrides."""
    forced = os.environ.get("SLEEPWAKE_TARGET", "auto").strip().lower()
    if forced in ("neuron", "cpu"):
        return forced
    if Path("/dev/neuron0").exists():
        return "neuron"
    return "cpu"


def import_torch_neuron() -> Any:
    """Registers the Neuron TorchScript classes; must run before torch.jit.load of a Neuron-compiled model."""
    try:
        import torch_neuron
    except Exception as exc:  # PyPI's torch-neuron is a placeholder that raises at import
        raise RuntimeError(
            "target is 'neuron' but torch_neuron cannot be imported "
            f"({type(exc).__name__}: {exc}); use the pytorch-inference-neuron DLC or set SLEEPWAKE_TARGET=cpu"
        ) from exc
    return torch_neuron


def configure_threads(target: str) -> int:
    """Torch threads per worker. The toolkit's TorchServe starts one worker per vCPU unless
    SAGEMAKER_MODEL_SERVER_WORKERS says otherwise (set it to 1 on inf1: a NeuronCore group is not shared between
    processes); the vCPUs are split between workers so they never oversubscribe. SLEEPWAKE_TORCH_THREADS overrides.
    """
    cpus = os.cpu_count() or 1
    workers = max(1, _env_int("SAGEMAKER_MODEL_SERVER_WORKERS", 1 if target == "neuron" else cpus))
    if target == "neuron" and workers != 1:
        logger.warning("SAGEMAKER_MODEL_SERVER_WORKERS=%d on inf1: NeuronCores are not shared; use 1", workers)
    # On inf1 the model runs on the NeuronCore; torch on the CPU only moves tensors, so one thread is enough.
    default = 1 if target == "neuron" else max(1, cpus // workers)
    threads = _env_int("SLEEPWAKE_TORCH_THREADS", 0) or default
    torch.set_num_threads(threads)
    return threads


def model_path(model_dir: Path, target: str) -> Path:
    """model.pt on inf1; on CPU the archive's model.cpu.pt when it has one (model.pt is then Neuron-compiled)."""
    cpu = Path(model_dir) / CPU_MODEL_FILE
    if target == "cpu" and cpu.is_file():
        return cpu
    return Path(model_dir) / MODEL_FILE


def load_model(model_dir: Path, target: str) -> torch.jit.ScriptModule:
    path = model_path(model_dir, target)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the archive must hold {MODEL_FILE} at its root")
    if target == "neuron":
        import_torch_neuron()
        module = torch.jit.load(str(path))
    else:
        try:
            with warnings.catch_warnings():  # torch >= 2.9 flags jit.load as deprecated; TorchScript is the contract
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError as exc:
            if "neuron" in str(exc).lower():
                raise RuntimeError(
                    f"{path} is Neuron-compiled: it loads only on inf1 (SLEEPWAKE_TARGET=neuron)"
                ) from exc
            raise
    module.eval()
    return module
