"""SageMaker PyTorch-toolkit handler for the sleepwake audio model, one file for inf1 (Neuron) and CPU.

The toolkit imports this file by path (`SAGEMAKER_PROGRAM=inference.py`), so it must stay a standalone script that
needs only what the inf1 DLC has (Python 3.10, torch 1.13, numpy 1.24, scipy 1.10). The archive installs nothing at
container start (no code/requirements.txt: a serverless container may not write to site-packages).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import itertools
import json
import logging
import math
import os
import struct
import time
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.io import wavfile
from scipy.signal import firwin, resample_poly

try:  # The toolkit only turns BaseInferenceToolkitError into its status code; anything else becomes a 500.
    from sagemaker_inference.errors import BaseInferenceToolkitError
except ImportError:  # pragma: no cover - exercised only where the toolkit is absent (plain local runs)

    class BaseInferenceToolkitError(Exception):  # type: ignore[no-redef]
        """Same shape as sagemaker_inference.errors.BaseInferenceToolkitError."""

        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


try:  # FLAC needs soundfile (libsndfile via cffi, compiled): used where the image has it, never installed.
    import soundfile
except (ImportError, OSError):  # pragma: no cover - the WAV path never needs it
    soundfile = None

logger = logging.getLogger("sleepwake.model")

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


# ---------------------------------------------------------------------------------------------------------------
# END OF MODEL-SPECIFIC PART.
# ---------------------------------------------------------------------------------------------------------------

MIN_INPUT_RATE = 8000
MAX_INPUT_RATE = 48000
MAX_FLOAT_PEAK = 1000.0  # generous: clipped float audio a little over ±1 is fine, 1e20 is not audio
DEFAULT_MAX_AUDIO_SECONDS = 60.0  # SageMaker gives a container 60 s per request; clips are short
DEFAULT_WARMUP_ITERATIONS = 3
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
FLAC_TYPES = {"audio/flac", "audio/x-flac"}
JSON_TYPES = {"application/json"}
SNIFF_TYPES = {"application/octet-stream", "audio/*"}


class RequestError(BaseInferenceToolkitError):
    """A request the handler refuses: the toolkit answers with `status_code` and this message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message, message)


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
class LoadedModel:
    """What model_fn returns: the TorchScript module plus how it was loaded, for logs and the bench."""

    module: torch.jit.ScriptModule
    target: str
    load_ms: float
    warmup_ms: float = 0.0
    warmup_iterations: int = 0


@dataclass
class DecodedAudio:
    """input_fn's output: mono float32 audio at SAMPLE_RATE and where it came from."""

    samples: np.ndarray
    input_rate: int
    input_channels: int
    input_format: str
    started: float
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Prediction:
    """predict_fn's output."""

    audio: DecodedAudio
    probabilities: np.ndarray
    segments: list[dict[str, float]]


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_number(name: str, default: Any, kind: Any) -> Any:
    """A misspelt setting must not fail every request (or crash model_fn in a restart loop): warn, use the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        logger.warning(
            "%s=%r is not a%s number; using the default %s", name, raw, "n integer" if kind is int else "", default
        )
        return default


def max_audio_seconds() -> float:
    return _env_float("SLEEPWAKE_MAX_AUDIO_SECONDS", DEFAULT_MAX_AUDIO_SECONDS)


def warmup_iterations() -> int:
    return max(0, _env_int("SLEEPWAKE_WARMUP_ITERATIONS", DEFAULT_WARMUP_ITERATIONS))


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


# ---------------------------------------------------------------------------------------------------- decode ---


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


_PCM_SCALE = {
    np.dtype(np.uint8): (128.0, 1 / 128.0),
    np.dtype(np.int16): (0.0, 1 / 32768.0),
    np.dtype(np.int32): (0.0, 1 / 2147483648.0),
}  # 24-bit WAV arrives left-justified in int32


def _downmix(data: np.ndarray) -> np.ndarray:
    """[frames, channels] in the file's dtype → mono float32. Sums channel columns in float32 and scales once:
    several times faster than mean(axis=1) over an interleaved array."""
    if data.dtype.byteorder == ">":  # big-endian RIFX files decode as >i2 / >f4: same samples, native order
        data = data.astype(data.dtype.newbyteorder("="))
    if data.dtype not in _PCM_SCALE and data.dtype not in (np.float32, np.float64):
        raise RequestError(415, f"unsupported WAV sample type {data.dtype}; send PCM 8/16/24/32-bit or float32")
    mono = data[:, 0].astype(np.float32)
    for c in range(1, data.shape[1]):
        mono += data[:, c]
    offset, scale = _PCM_SCALE.get(data.dtype, (0.0, 1.0))
    mono *= np.float32(scale / data.shape[1])
    if offset:
        mono -= np.float32(offset * scale)
    return mono


# Data-chunk sizes that mean "unknown, read to the end" rather than a length. A writer that streams to a pipe
# cannot seek back to fill the sizes in once it knows them, so it leaves a placeholder:
# - 0xFFFFFFFF: FFmpeg's RIFF writer starts every chunk with size -1 (libavformat/riffenc.c ff_start_tag,
#   `avio_wl32(pb, -1)`) and wavenc.c writes -1 as the RIFF size; both are patched only when the output is
#   seekable (wav_write_trailer), so `ffmpeg ... -f wav -` leaves them.
# - 0: what older FFmpeg releases' ff_start_tag wrote (`avio_wl32(pb, 0)`, libavformat/riff.c), the same way.
# - 0x7FFFF000: SoX's MS_UNSPEC ("magic length written when it's not possible to write valid lengths ... when
#   magic length is detected on inputs, disable any length logic", src/wav.c); `sox ... -t wav -` and
#   `espeak-ng --stdout` write it (with 0x7FFFF000 + header size as the RIFF size).
# Any other data size larger than the body is a cut upload: answered 400, never analysed as shorter audio.
WAV_UNKNOWN_DATA_SIZES = {0, 0xFFFFFFFF, 0x7FFFF000}


def _whole_wav(raw: bytes) -> bytes:
    """The WAV as scipy should read it: header chunks, then the data chunk with the size actually sent.

    Walks the RIFF chunks up to `data`. A data size the body cannot hold is a truncated upload (400, both sizes
    named); a streaming writer's "unknown size" placeholder means the samples run to the end of the body (cut to
    whole frames). The RIFF size is not trusted either way: streaming writers leave a placeholder there too.
    Returns `raw` itself when its sizes already agree with it (the usual file), else a corrected copy.
    """
    order = ">" if raw[:4] == b"RIFX" else "<"
    pos, block_align = 12, 0
    while pos + 8 <= len(raw):
        chunk_id = raw[pos : pos + 4]
        (size,) = struct.unpack(order + "I", raw[pos + 4 : pos + 8])
        body = pos + 8
        available = len(raw) - body
        if chunk_id == b"data":
            if size in WAV_UNKNOWN_DATA_SIZES and size != available:
                size = available - available % block_align if block_align else available
            elif size > available:
                raise RequestError(
                    400,
                    f"truncated WAV: the data chunk declares {size} bytes but the body holds {available} bytes "
                    f"after its header ({len(raw)} bytes in all); send the whole file",
                )
            elif raw[4:8] == struct.pack(order + "I", len(raw) - 8):
                return raw  # sizes agree with the body: no copy
            head = bytearray(raw[:body])
            head[4:8] = struct.pack(order + "I", len(head) - 8 + size)
            head[body - 4 : body] = struct.pack(order + "I", size)
            return bytes(head) + raw[body : body + size]
        if size > available:
            raise RequestError(
                400,
                f"truncated WAV: the {chunk_id.decode('latin-1')!r} chunk declares {size} bytes but only "
                f"{available} follow; send the whole file",
            )
        if chunk_id == b"fmt " and size >= 14:
            (block_align,) = struct.unpack(order + "H", raw[body + 12 : body + 14])
        pos = body + size + (size & 1)  # chunks are word-aligned
    raise RequestError(400, "WAV has no data chunk (truncated before the samples?)")


def decode_wav(raw: bytes) -> tuple[np.ndarray, int, str]:
    """(samples [frames, channels] in their file dtype, rate, format label) via scipy.io.wavfile."""
    if raw[:4] == b"RF64":
        raise RequestError(415, "RF64 WAV is not supported; send a RIFF WAV (clips are far below 4 GB)")
    if len(raw) < 12 or raw[:4] not in (b"RIFF", b"RIFX") or raw[8:12] != b"WAVE":
        raise RequestError(400, "body is not a WAV file (no RIFF/WAVE header)")
    raw = _whole_wav(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rate, data = wavfile.read(io.BytesIO(raw), mmap=False)
        except Exception as exc:  # parsing untrusted bytes: every failure here is the input's fault
            raise RequestError(400, f"corrupt or truncated WAV: {exc}") from exc
    for w in caught:
        if "EOF" in str(w.message):  # scipy returns the samples it found and only warns; a cut file is an error
            raise RequestError(400, f"truncated WAV: {w.message}")
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, None]
    return data, int(rate), f"wav/{data.dtype}"


def decode_flac(raw: bytes) -> tuple[np.ndarray, int, str]:
    if soundfile is None:
        raise RequestError(415, "audio/flac is unavailable: this container has no soundfile (send audio/wav)")
    # Check rate and length before decoding all of it: FLAC compresses silence so well that a small body can
    # decode to gigabytes (the header's frame count may be 0 or false, so read at most the limit plus one).
    try:
        with soundfile.SoundFile(io.BytesIO(raw)) as flac:
            rate = int(flac.samplerate)
            if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
                raise RequestError(
                    400, f"sample rate {rate} Hz is outside the supported {MIN_INPUT_RATE}-{MAX_INPUT_RATE} Hz"
                )
            limit = max_audio_seconds()
            most = int(limit * rate) + 1
            data = flac.read(frames=most, dtype="float32", always_2d=True)
    except RequestError:
        raise
    except Exception as exc:
        raise RequestError(400, f"corrupt or truncated FLAC: {exc}") from exc
    if data.shape[0] >= most:
        raise RequestError(413, f"audio is longer than the maximum of {limit:g} s")
    return data, rate, "flac"


def decode_container(raw: bytes, media_type: str) -> tuple[np.ndarray, int, str]:
    if not raw:
        raise RequestError(400, f"empty body: expected {media_type or 'audio'} bytes")
    if media_type in FLAC_TYPES or (media_type not in WAV_TYPES and raw[:4] == b"fLaC"):
        return decode_flac(raw)
    return decode_wav(raw)


def decode_json(body: Any) -> bytes:
    """{"audio": "<base64 of a WAV or FLAC file>"} → the file's bytes."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise RequestError(400, f"malformed JSON body: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("audio"), str):
        raise RequestError(400, 'JSON body must be an object {"audio": "<base64 WAV or FLAC>"}')
    try:
        return base64.b64decode(doc["audio"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(400, f'"audio" is not valid base64: {exc}') from exc


@functools.lru_cache(maxsize=16)
def _resample_filter(up: int, down: int) -> np.ndarray:
    """The anti-alias FIR at the up-sampled rate, the same design scipy.signal.resample_poly would use.

    Kaiser β=8.0, 12 zero-crossings per side, cut-off 0.93 of the output Nyquist: a 9 kHz tone at 44.1 kHz drops
    by ~59 dB and speech below 6 kHz matches libsoxr's VHQ within -85 dB (tests/model/test_resample).
    """
    max_rate = max(up, down)
    return firwin(2 * 12 * max_rate + 1, 0.93 / max_rate, window=("kaiser", 8.0))


MAX_RATIO_TERM = 1000  # 44.1 kHz → 16 kHz is 160/441; a rate like 47999 Hz would be 16000/47999 (a 1.1M-tap filter)


def resample_ratio(rate: int) -> tuple[int, int]:
    """up/down for rate → SAMPLE_RATE. Odd rates get the nearest ratio with terms ≤ MAX_RATIO_TERM (error < 0.02 %,
    far below any clock's drift), so no request can make the handler design a huge filter."""
    ratio = Fraction(SAMPLE_RATE, rate)
    if max(ratio.numerator, ratio.denominator) > MAX_RATIO_TERM:
        ratio = ratio.limit_denominator(MAX_RATIO_TERM // 2)
    return ratio.numerator, ratio.denominator


POLYPHASE_GROUPS = 4  # output phases per conv1d call: fewer calls vs fewer zero taps (4 measured fastest)


@functools.lru_cache(maxsize=16)
def _polyphase_kernels(up: int, down: int) -> list[tuple[int, torch.Tensor]]:
    """The filter split into conv1d kernels: output (block b, phase i) = sum_r x[b*down + r] * h[c + r*up - i*down]."""
    h = _resample_filter(up, down) * up
    half = (len(h) - 1) // 2
    bounds = np.linspace(0, up, min(POLYPHASE_GROUPS, up) + 1).astype(int)
    kernels = []
    for lo, hi in itertools.pairwise(bounds):
        phases = np.arange(lo, hi)
        r_min = -((half - lo * down) // up)  # ceil((lo*down - half) / up)
        r_max = ((hi - 1) * down + half) // up
        idx = half + np.arange(r_min, r_max + 1)[None, :] * up - phases[:, None] * down
        taps = np.where((idx >= 0) & (idx < len(h)), h[np.clip(idx, 0, len(h) - 1)], 0.0).astype(np.float32)
        kernels.append((int(r_min), torch.from_numpy(taps[:, None, :])))
    return kernels


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at `rate` → SAMPLE_RATE, equal to scipy.signal.resample_poly with the filter above (1e-5).

    Why this resampler: torchaudio is missing in the inf1 DLC and unusable here (CUDA-only wheel); soxr would need
    another wheel shipped. The filter is designed by scipy (1.10 in the DLC) and applied as a polyphase conv1d in
    torch (in both places): 4x faster than resample_poly's upfirdn, which kept the handler within its overhead budget.
    """
    if rate == SAMPLE_RATE:
        return audio
    up, down = resample_ratio(rate)
    n = audio.shape[0]
    n_out = -(-n * up // down)
    n_blocks = -(-n_out // up)
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, None, :]
    outs = []
    with torch.no_grad():
        for r_min, taps in _polyphase_kernels(up, down):
            span = (n_blocks - 1) * down + taps.shape[-1]  # input samples [r_min, r_min + span) feed this group
            left, right = max(0, -r_min), max(0, r_min + span - n)
            padded = torch.nn.functional.pad(x, (left, right))
            window = padded[..., r_min + left : r_min + left + span]
            outs.append(torch.nn.functional.conv1d(window, taps, stride=down)[0])
        out = torch.cat(outs, 0).t().reshape(-1)[:n_out]
    return out.numpy()


def to_model_audio(data: np.ndarray, rate: int, fmt: str, started: float, decode_ms: float) -> DecodedAudio:
    """Validate decoded samples, downmix to mono and resample to the model's rate."""
    if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
        raise RequestError(400, f"sample rate {rate} Hz is outside the supported {MIN_INPUT_RATE}-{MAX_INPUT_RATE} Hz")
    frames, channels = data.shape
    if frames == 0 or channels == 0:
        raise RequestError(400, "audio has no samples (zero length)")
    limit = max_audio_seconds()
    if frames / rate > limit:
        raise RequestError(413, f"audio is {frames / rate:.1f} s long; the maximum is {limit:g} s")
    t0 = time.perf_counter()
    mono = _downmix(data)
    if not np.isfinite(mono).all():  # a NaN or inf in any channel survives the sum
        raise RequestError(400, "audio contains NaN or infinite samples")
    peak = float(np.abs(mono).max())
    if peak > MAX_FLOAT_PEAK:  # float audio is scaled to ±1; far beyond that the model's output is NaN
        raise RequestError(400, f"float samples must be scaled to ±1 (full scale); the peak is {peak:.3g}")
    decode_ms += (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    mono = np.ascontiguousarray(resample(mono, rate), dtype=np.float32)
    resample_ms = (time.perf_counter() - t1) * 1000
    return DecodedAudio(
        samples=mono,
        input_rate=rate,
        input_channels=channels,
        input_format=fmt,
        started=started,
        timings_ms={"decode": decode_ms, "resample": resample_ms},
    )


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
