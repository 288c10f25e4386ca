"""Request audio: content types, WAV/FLAC/JSON decoding, validation, downmix and resampling to the model's
rate. Part of the model archive's code/ (docs/model.md)."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import itertools
import json
import struct
import time
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from scipy.io import wavfile
from scipy.signal import firwin
from sleepwake_common import RequestError, _env_float, _env_int
from sleepwake_model import SAMPLE_RATE

try:  # FLAC needs soundfile (libsndfile via cffi, compiled): used where the image has it, never installed.
    import soundfile
except (ImportError, OSError):  # pragma: no cover - the WAV path never needs it
    soundfile = None

MIN_INPUT_RATE = 8000
MAX_INPUT_RATE = 48000
MAX_FLOAT_PEAK = 1000.0  # generous: clipped float audio a little over ±1 is fine, 1e20 is not audio
DEFAULT_MAX_AUDIO_SECONDS = 60.0  # SageMaker gives a container 60 s per request; clips are short
DEFAULT_WARMUP_ITERATIONS = 3
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
FLAC_TYPES = {"audio/flac", "audio/x-flac"}
JSON_TYPES = {"application/json"}
SNIFF_TYPES = {"application/octet-stream", "audio/*"}


@dataclass
class DecodedAudio:
    """input_fn's output: mono float32 audio at SAMPLE_RATE and where it came from."""

    samples: np.ndarray
    input_rate: int
    input_channels: int
    input_format: str
    started: float
    timings_ms: dict[str, float] = field(default_factory=dict)


def max_audio_seconds() -> float:
    return _env_float("SLEEPWAKE_MAX_AUDIO_SECONDS", DEFAULT_MAX_AUDIO_SECONDS)


def warmup_iterations() -> int:
    return max(0, _env_int("SLEEPWAKE_WARMUP_ITERATIONS", DEFAULT_WARMUP_ITERATIONS))


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
