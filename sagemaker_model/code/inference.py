"""SageMaker PyTorch-toolkit handler for the sleepwake audio model, one archive for inf1 (Neuron) and CPU.

The toolkit imports this file (`SAGEMAKER_PROGRAM=inference.py`) with code/ on the Python path, so its modules
import each other by name: sleepwake_common (errors, settings), sleepwake_model (the model: the part the team
changes for its own), sleepwake_audio (request decoding and resampling). They need only what the inf1 DLC has
(Python 3.10, torch 1.13, numpy 1.24, scipy 1.10). The archive installs nothing at container start (no
code/requirements.txt: a serverless container may not write to site-packages).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly
from sleepwake_audio import (
    FLAC_TYPES,
    JSON_TYPES,
    MAX_INPUT_RATE,
    MAX_RATIO_TERM,
    MIN_INPUT_RATE,
    SNIFF_TYPES,
    WAV_TYPES,
    DecodedAudio,
    _downmix,
    _media_type,
    _resample_filter,
    decode_container,
    decode_flac,
    decode_json,
    decode_wav,
    max_audio_seconds,
    resample,
    resample_ratio,
    to_model_audio,
    warmup_iterations,
)
from sleepwake_common import BaseInferenceToolkitError, RequestError, logger
from sleepwake_model import (
    CHUNK_SAMPLES,
    CPU_MODEL_FILE,
    MODEL_FILE,
    MODEL_NAME,
    SAMPLE_RATE,
    LoadedModel,
    configure_threads,
    detect_target,
    import_torch_neuron,
    load_model,
    model_path,
    score_chunks,
    speech_segments,
)

# What tests, tools and the toolkit reach through this module (the handler's public surface).
__all__ = [
    "CHUNK_SAMPLES",
    "CPU_MODEL_FILE",
    "MAX_INPUT_RATE",
    "MAX_RATIO_TERM",
    "MIN_INPUT_RATE",
    "MODEL_FILE",
    "MODEL_NAME",
    "SAMPLE_RATE",
    "BaseInferenceToolkitError",
    "DecodedAudio",
    "LoadedModel",
    "Prediction",
    "Refusal",
    "RequestError",
    "_resample_filter",
    "configure_threads",
    "decode_flac",
    "decode_wav",
    "detect_target",
    "import_torch_neuron",
    "input_fn",
    "load_model",
    "max_audio_seconds",
    "model_fn",
    "model_path",
    "output_fn",
    "predict_fn",
    "resample",
    "resample_ratio",
    "speech_segments",
    "warmup_payloads",
]


@dataclass(frozen=True)
class Refusal:
    """A request already answered with an error status through the serving context: the hooks after input_fn
    pass it through, and output_fn sends its message as the whole body."""

    status: int
    message: str


def _refuse(exc: RequestError, context: Any) -> Refusal:
    """Answer `exc` through TorchServe's context instead of raising it.

    Raised, the toolkit's Transformer.handle_error sends "message\ntraceback" (`traceback.format_exc()`, with the
    container's file paths) as the body. TorchServe takes each response's status from the request's context
    (ts/context.py set_response_status; otf_message_handler.create_predict_response reads get_response_status),
    the same call handle_error makes, so setting it here and returning normally sends the message alone.
    Without such a context (warm-up, a plain call) the error is raised as before.
    """
    set_status = getattr(context, "set_response_status", None)
    if set_status is None:
        raise exc
    set_status(code=exc.status_code, phrase=" ".join(str(exc.phrase).split()))  # a reason phrase has no CR/LF
    logger.info("request refused: %d %s", exc.status_code, exc.message)
    return Refusal(exc.status_code, exc.message)


def _internal(exc: Exception, context: Any) -> Refusal:
    """An unexpected failure: the traceback goes to the log, the caller gets a 500 with no server paths."""
    if getattr(context, "set_response_status", None) is None:
        raise exc
    logger.exception("request failed")
    return _refuse(
        RequestError(500, f"the model handler failed ({type(exc).__name__}); see the endpoint's logs"), context
    )


@dataclass
class Prediction:
    """predict_fn's output."""

    audio: DecodedAudio
    probabilities: np.ndarray
    segments: list[dict[str, float]]


# --------------------------------------------------------------------------------------------- toolkit hooks ---


def model_fn(model_dir: str, context: Any = None) -> LoadedModel:
    """Load model.pt for this host (torch_neuron first on inf1), then warm it over the real request path."""
    target = detect_target()
    threads = configure_threads(target)
    t0 = time.perf_counter()
    module = load_model(Path(model_dir), target)
    load_ms = (time.perf_counter() - t0) * 1000
    model = LoadedModel(module=module, target=target, load_ms=load_ms)
    logger.info("model loaded: target=%s threads=%d load_ms=%.1f", target, threads, load_ms)
    warm_up(model, Path(model_dir), warmup_iterations())
    return model


def input_fn(input_data: Any, content_type: str, context: Any = None) -> DecodedAudio | Refusal:
    """Bytes (the toolkit hands JSON over as str) → validated mono float32 audio at SAMPLE_RATE."""
    try:
        return _decode_request(input_data, content_type)
    except RequestError as exc:
        return _refuse(exc, context)
    except Exception as exc:
        return _internal(exc, context)


def _decode_request(input_data: Any, content_type: str) -> DecodedAudio:
    started = time.perf_counter()
    media = _media_type(content_type)
    if media in JSON_TYPES:
        raw = decode_json(input_data)
    elif media in WAV_TYPES | FLAC_TYPES | SNIFF_TYPES:
        if not isinstance(input_data, (bytes, bytearray, memoryview)):
            raise RequestError(400, f"{media} body must be binary audio, not {type(input_data).__name__}")
        raw = bytes(input_data)
    else:
        raise RequestError(
            415, f"unsupported content type {content_type!r}: send audio/wav, audio/flac or application/json"
        )
    data, rate, fmt = decode_container(raw, media)
    return to_model_audio(data, rate, fmt, started, (time.perf_counter() - started) * 1000)


def predict_fn(data: DecodedAudio | Refusal, model: LoadedModel, context: Any = None) -> Prediction | Refusal:
    if isinstance(data, Refusal):
        return data
    try:
        return _predict(data, model)
    except Exception as exc:
        return _internal(exc, context)


def _predict(data: DecodedAudio, model: LoadedModel) -> Prediction:
    t0 = time.perf_counter()
    probs = score_chunks(model.module, data.samples)
    segments = speech_segments(probs, data.samples.shape[0] / SAMPLE_RATE)
    data.timings_ms["model"] = (time.perf_counter() - t0) * 1000
    return Prediction(audio=data, probabilities=probs, segments=segments)


def output_fn(prediction: Prediction | Refusal, accept: str, context: Any = None) -> tuple[str, str]:
    if not isinstance(prediction, Refusal):
        try:
            return _serialise(prediction, accept)
        except RequestError as exc:
            prediction = _refuse(exc, context)
        except Exception as exc:
            prediction = _internal(exc, context)
    return prediction.message, "text/plain; charset=utf-8"


def _serialise(prediction: Prediction, accept: str) -> tuple[str, str]:
    # Accept may list several types (text/html,application/json;q=0.9): JSON is fine if any of them allows it.
    media_types = [_media_type(part) for part in (accept or "").split(",")] or [""]
    if not any(media in ("", "*/*", "application/json", "application/*") for media in media_types):
        raise RequestError(406, f"unsupported accept type {accept!r}: this model answers application/json")
    audio = prediction.audio
    result = {
        "model": MODEL_NAME,
        "sample_rate": SAMPLE_RATE,
        "frame_seconds": CHUNK_SAMPLES / SAMPLE_RATE,
        "duration_seconds": round(audio.samples.shape[0] / SAMPLE_RATE, 3),
        "input": {"sample_rate": audio.input_rate, "channels": audio.input_channels, "format": audio.input_format},
        "speech_probability": [round(float(p), 4) for p in prediction.probabilities],
        "segments": prediction.segments,
    }
    timings = dict(audio.timings_ms)
    timings["total"] = (time.perf_counter() - audio.started) * 1000
    result["timings_ms"] = {k: round(v, 3) for k, v in timings.items()}
    return json.dumps(result, separators=(",", ":"), allow_nan=False), "application/json"  # strict JSON only


# ---------------------------------------------------------------------------------------------------- warm-up ---


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    wavfile.write(buf, rate, (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16))
    return buf.getvalue()


def warmup_payloads(model_dir: Path) -> list[bytes]:
    """Real speech (code/warmup.wav) at 16 kHz mono and as 44.1 kHz stereo, so both request paths get warm."""
    path = model_dir / "code" / "warmup.wav"
    if path.is_file():
        data, rate, _ = decode_wav(path.read_bytes())
        mono = resample(_downmix(data), rate)
    else:  # a voiced-like tone burst keeps warm-up working from a bare model directory
        t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
        mono = (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    stereo_441 = resample_poly(mono, 441, 160).astype(np.float32)
    return [_wav_bytes(mono, SAMPLE_RATE), _wav_bytes(np.stack([stereo_441, stereo_441], axis=1), 44100)]


def warm_up(model: LoadedModel, model_dir: Path, iterations: int) -> None:
    """Run whole requests before serving: TorchScript optimises on its first calls and filters get designed."""
    t0 = time.perf_counter()
    payloads = warmup_payloads(model_dir) if iterations else []
    per_iteration = []
    for _ in range(iterations):
        t = time.perf_counter()
        for body in payloads:
            output_fn(predict_fn(input_fn(body, "audio/wav"), model), "application/json")
        per_iteration.append(round((time.perf_counter() - t) * 1000, 1))
    model.warmup_ms = (time.perf_counter() - t0) * 1000
    model.warmup_iterations = iterations
    logger.info(
        "model warm: iterations=%d warmup_ms=%.1f per_iteration_ms=%s", iterations, model.warmup_ms, per_iteration
    )
