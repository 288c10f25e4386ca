"""The handler through ModelServer: real speech in any WAV shape, FLAC and JSON; bad input is a 4xx, never a crash."""

from __future__ import annotations

import base64
import io
import json
import struct
import subprocess
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.io import wavfile

from sagemaker_model.model_server import InvocationResult, ModelServer
from tests.model.conftest import VARIANTS, SpeechClip

EDGE_S = 0.35  # a segment edge may sit this far from the spoken edge (32 ms frames, padding, espeak's onsets)


def _ok(result: InvocationResult) -> dict[str, Any]:
    assert result.status == 200, result.body[:300]
    assert result.content_type == "application/json"
    return json.loads(result.body)


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    wavfile.write(buf, rate, samples)
    return buf.getvalue()


def _assert_speech_where_spoken(doc: dict[str, Any], clip: SpeechClip) -> None:
    segments = doc["segments"]
    assert segments, "no speech found in a clip of spoken words"
    assert segments[0]["start"] == pytest.approx(clip.speech_start, abs=EDGE_S)
    assert segments[-1]["end"] == pytest.approx(clip.speech_end, abs=EDGE_S)
    covered = sum(s["end"] - s["start"] for s in segments)
    assert covered >= 0.7 * (clip.speech_end - clip.speech_start)


def test_speech_is_found_where_spoken_and_not_in_the_silence_around_it(server: ModelServer, speech: SpeechClip) -> None:
    doc = _ok(server.invoke(speech.path.read_bytes(), "audio/wav"))
    _assert_speech_where_spoken(doc, speech)
    probs = np.array(doc["speech_probability"])
    frame = doc["frame_seconds"]
    lead = probs[: int((speech.speech_start - EDGE_S) / frame)]
    tail = probs[int((speech.speech_end + EDGE_S) / frame) :]
    assert lead.max() < 0.5 and tail.max() < 0.5
    assert doc["duration_seconds"] == pytest.approx(speech.duration, abs=0.04)


def test_a_clip_cut_mid_word_has_no_segment_past_its_end(server: ModelServer, speech: SpeechClip) -> None:
    rate, samples = wavfile.read(speech.path)
    cut_at = (speech.speech_start + speech.speech_end) / 2 + 0.0123  # mid-speech, not on a frame boundary
    doc = _ok(server.invoke(_wav(samples[: int(cut_at * rate)], rate), "audio/wav"))
    assert doc["segments"], doc
    assert doc["segments"][-1]["end"] <= doc["duration_seconds"]


@pytest.mark.parametrize("variant", [*VARIANTS, "flac_44100_stereo"])
def test_every_common_wav_shape_gives_the_same_answer(
    server: ModelServer, speech: SpeechClip, variants: dict[str, Path], variant: str
) -> None:
    content_type = "audio/flac" if variant.startswith("flac") else "audio/wav"
    doc = _ok(server.invoke(variants[variant].read_bytes(), content_type))
    _assert_speech_where_spoken(doc, speech)
    assert doc["sample_rate"] == 16000
    channels = int(VARIANTS[variant][3]) if variant in VARIANTS else 2
    assert doc["input"]["channels"] == channels


def test_six_channel_wav_uses_the_extensible_header(variants: dict[str, Path]) -> None:
    raw = variants["32k_6ch_s16_extensible"].read_bytes()
    fmt = raw.index(b"fmt ")
    assert struct.unpack("<H", raw[fmt + 8 : fmt + 10])[0] == 0xFFFE


def test_json_with_base64_audio_matches_the_raw_wav(server: ModelServer, variants: dict[str, Path]) -> None:
    raw = variants["44100_stereo_s16"].read_bytes()
    direct = _ok(server.invoke(raw, "audio/wav"))
    body = json.dumps({"audio": base64.b64encode(raw).decode()}).encode()
    via_json = _ok(server.invoke(body, "application/json"))
    assert via_json["segments"] == direct["segments"]
    assert via_json["speech_probability"] == direct["speech_probability"]


def test_content_type_parameters_and_octet_stream_are_accepted(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    assert server.invoke(raw, "audio/wav; codecs=1").status == 200
    assert server.invoke(raw, "application/octet-stream").status == 200
    assert server.invoke(raw, "audio/x-wav", accept="*/*").status == 200


def test_silence_and_noise_contain_no_speech(server: ModelServer, silence_wav: Path, noise_wav: Path) -> None:
    for path in (silence_wav, noise_wav):
        doc = _ok(server.invoke(path.read_bytes(), "audio/wav"))
        assert doc["segments"] == [], path.name
        assert max(doc["speech_probability"]) < 0.5


def test_response_reports_decode_resample_model_and_total_times(server: ModelServer, variants: dict[str, Path]) -> None:
    result = server.invoke(variants["44100_stereo_s16"].read_bytes(), "audio/wav")
    timings = _ok(result)["timings_ms"]
    assert set(timings) == {"decode", "resample", "model", "total"}
    assert all(v >= 0 for v in timings.values())
    assert timings["total"] >= timings["decode"] + timings["resample"] + timings["model"] - 0.01
    assert result.model_latency_ms >= timings["total"]


def _float_wav(value: float) -> bytes:
    samples = np.zeros(16000, dtype=np.float32)
    samples[100] = value
    return _wav(samples, 16000)


def _header_only_wav() -> bytes:
    return _wav(np.zeros(0, dtype=np.int16), 16000)


def _wav_at_rate(rate: int) -> bytes:
    return _wav(np.zeros(max(rate, 1), dtype=np.int16), rate)


BAD_INPUTS: dict[str, tuple[Any, str, int, str]] = {
    # name: (body or factory, content type, status, fragment of the message)
    "empty body": (b"", "audio/wav", 400, "empty body"),
    "non-audio bytes": (b"this is not audio at all, just text", "audio/wav", 400, "not a WAV"),
    "zero-length WAV": (_header_only_wav, "audio/wav", 400, "no samples"),
    "NaN sample": (lambda: _float_wav(float("nan")), "audio/wav", 400, "NaN or infinite"),
    "inf sample": (lambda: _float_wav(float("inf")), "audio/wav", 400, "NaN or infinite"),
    "4 kHz": (lambda: _wav_at_rate(4000), "audio/wav", 400, "outside the supported"),
    "96 kHz": (lambda: _wav_at_rate(96000), "audio/wav", 400, "outside the supported"),
    "1 Hz": (lambda: _wav_at_rate(1), "audio/wav", 400, "outside the supported"),
    "unsupported content type": (b"abc", "text/plain", 415, "unsupported content type"),
    "no content type": (b"abc", "", 415, "unsupported content type"),
    "malformed JSON": (b'{"audio": ', "application/json", 400, "malformed JSON"),
    "JSON list": (b"[1, 2]", "application/json", 400, "must be an object"),
    "JSON without audio": (b'{"wav": "AAAA"}', "application/json", 400, "must be an object"),
    "bad base64": (b'{"audio": "not*base64!"}', "application/json", 400, "not valid base64"),
    "base64 of non-audio": (b'{"audio": "aGVsbG8gd29ybGQ="}', "application/json", 400, "not a WAV"),
    "corrupt FLAC": (b"fLaC" + b"\x00" * 50, "audio/flac", 400, "corrupt or truncated FLAC"),
    "float samples far beyond full scale": (lambda: _float_wav(1e20), "audio/wav", 400, "scaled to ±1"),
    "deeply nested JSON": (b"[" * 100_000, "application/json", 400, "malformed JSON"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_a_client_error_and_the_next_request_is_served(
    server: ModelServer, speech: SpeechClip, name: str
) -> None:
    body, content_type, status, fragment = BAD_INPUTS[name]
    body = body() if callable(body) else body
    result = server.invoke(body, content_type)
    assert result.status == status, result.body[:300]
    assert result.error is not None and fragment in result.error
    assert result.body.decode().startswith(result.error)  # the toolkit sends message + "\n" + traceback
    assert server.invoke(speech.path.read_bytes(), "audio/wav").status == 200


def test_truncated_and_corrupt_wavs_are_client_errors(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    for cut in (raw[:30], raw[:44], raw[:1001], raw[: len(raw) // 2], raw[:12] + b"\x00" * 200):
        result = server.invoke(cut, "audio/wav")
        assert result.status == 400, (len(cut), result.body[:200])
        assert "WAV" in (result.error or "")


def test_too_long_audio_is_refused_with_413(
    server: ModelServer, speech: SpeechClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEEPWAKE_MAX_AUDIO_SECONDS", "2")
    result = server.invoke(speech.path.read_bytes(), "audio/wav")
    assert result.status == 413 and "maximum is 2 s" in (result.error or "")
    monkeypatch.delenv("SLEEPWAKE_MAX_AUDIO_SECONDS")
    assert server.invoke(speech.path.read_bytes(), "audio/wav").status == 200


def test_a_tiny_flac_of_long_silence_is_refused_without_decoding_it_all(
    server: ModelServer, speech: SpeechClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decompression bomb: ten minutes of 8-channel 48 kHz silence compresses to a few hundred KB."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros((48000 * 600, 8), dtype=np.int16), 48000, format="FLAC", subtype="PCM_16")
    assert len(buffer.getvalue()) < 1_000_000
    tracemalloc.start()
    try:
        result = server.invoke(buffer.getvalue(), "audio/flac")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == 413 and "maximum" in (result.error or "")
    assert peak < 200e6  # decoding it all would take 48000 * 600 * 8 * 4 bytes = 922 MB
    assert server.invoke(speech.path.read_bytes(), "audio/wav").status == 200


def test_a_big_endian_rifx_wav_gives_the_same_answer(server: ModelServer, speech: SpeechClip, tmp_path: Path) -> None:
    rifx = tmp_path / "rifx.wav"
    subprocess.run(["sox", str(speech.path), "--endian", "big", "-t", "wav", str(rifx)], check=True)
    assert rifx.read_bytes()[:4] == b"RIFX"
    little = _ok(server.invoke(speech.path.read_bytes(), "audio/wav"))
    big = _ok(server.invoke(rifx.read_bytes(), "audio/wav"))
    assert big["segments"] == little["segments"]


def test_an_accept_header_listing_json_among_other_types_is_served(server: ModelServer, speech: SpeechClip) -> None:
    result = server.invoke(speech.path.read_bytes(), "audio/wav", "text/html, application/json;q=0.9")
    assert result.status == 200, result.body[:200]


def test_a_misspelt_setting_falls_back_to_its_default_instead_of_failing_requests(
    server: ModelServer, speech: SpeechClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEEPWAKE_MAX_AUDIO_SECONDS", "sixty")
    assert server.invoke(speech.path.read_bytes(), "audio/wav").status == 200


def test_unsupported_accept_is_406(server: ModelServer, speech: SpeechClip) -> None:
    result = server.invoke(speech.path.read_bytes(), "audio/wav", accept="text/csv")
    assert result.status == 406


def test_json_that_is_not_utf8_is_a_500_because_the_toolkit_decodes_it_first(server: ModelServer) -> None:
    # Transformer.transform decodes application/json bodies before input_fn runs: the handler never sees them.
    result = server.invoke(b"\xff\xfe{}", "application/json")
    assert result.status == 500
    assert "utf-8" in (result.error or "")


def test_concurrent_invocations_are_serialised_and_all_correct(server: ModelServer, variants: dict[str, Path]) -> None:
    bodies = [variants[n].read_bytes() for n in ("44100_stereo_s16", "8k_mono_u8", "48k_stereo_f32")]
    expected = [_ok(server.invoke(b, "audio/wav"))["segments"] for b in bodies]
    results: dict[int, list[Any]] = {}

    def worker(i: int) -> None:
        results[i] = _ok(server.invoke(bodies[i % 3], "audio/wav"))["segments"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == expected[i % 3] for i in range(9))
