"""WAV sizes: a cut upload is a 400 naming both sizes; a streaming writer's "unknown size" reads to the end.

The streaming files are real where the tool is here (sox and espeak-ng writing to a pipe) and crafted byte for
byte the way FFmpeg writes to a pipe where it is not (libavformat/wavenc.c + riffenc.c: RIFF and data sizes
left at -1, a LIST/INFO chunk naming the encoder before the data; older releases left 0).
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sagemaker_model.model_server import ModelServer
from tests.model.conftest import SpeechClip


def _pcm_and_fmt(wav: bytes) -> tuple[bytes, bytes]:
    """The fmt chunk (id, size and body) and the samples of a plain 44-byte-header WAV as sox writes it."""
    assert wav[36:40] == b"data", "expected a canonical 44-byte header"
    return wav[12:36], wav[44:]


def _ffmpeg_pipe_wav(fmt_chunk: bytes, pcm: bytes, placeholder: int) -> bytes:
    """What `ffmpeg -i in -f wav -` writes: sizes it could not seek back to fill, and its LIST/INFO ISFT chunk."""
    encoder = b"Lavf60.16.100\x00"
    info = b"INFO" + b"ISFT" + struct.pack("<I", len(encoder)) + encoder
    return (
        b"RIFF"
        + struct.pack("<I", placeholder)
        + b"WAVE"
        + fmt_chunk
        + b"LIST"
        + struct.pack("<I", len(info))
        + info
        + b"data"
        + struct.pack("<I", placeholder)
        + pcm
    )


def _answer(server: ModelServer, body: bytes) -> dict[str, Any]:
    result = server.invoke(body, "audio/wav")
    assert result.status == 200, result.body[:300]
    return json.loads(result.body)


def _same_analysis(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["duration_seconds"] == b["duration_seconds"]
    assert a["segments"] == b["segments"]
    assert a["speech_probability"] == b["speech_probability"]


def test_a_cut_upload_is_a_400_naming_the_declared_and_the_sent_size(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    cut = raw[: len(raw) // 2]  # whole 16-bit samples: scipy alone would read them as a shorter clip
    result = server.invoke(cut, "audio/wav")
    assert result.status == 400
    declared, held = len(raw) - 44, len(cut) - 44
    assert f"declares {declared} bytes" in (result.error or "")
    assert f"holds {held} bytes" in (result.error or "")


def test_a_cut_upload_with_a_riff_size_that_matches_what_was_sent_is_still_refused(
    server: ModelServer, speech: SpeechClip
) -> None:
    # A RIFF size rewritten for the bytes sent (a proxy, a client that patches it) hides the cut from a reader
    # that only checks the RIFF size: the data chunk's own size must be checked.
    raw = speech.path.read_bytes()
    cut = bytearray(raw[: len(raw) // 2])
    cut[4:8] = struct.pack("<I", len(cut) - 8)
    result = server.invoke(bytes(cut), "audio/wav")
    assert result.status == 400, "a truncated upload was analysed as shorter audio"
    assert f"declares {len(raw) - 44} bytes" in (result.error or "")


def test_a_header_chunk_cut_short_is_a_400_naming_it(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    result = server.invoke(raw[:30], "audio/wav")
    assert result.status == 400
    assert "'fmt ' chunk declares 16 bytes but only 10 follow" in (result.error or "")


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0], ids=["ffmpeg", "older-ffmpeg"])
def test_ffmpeg_writing_to_a_pipe_is_read_to_the_end(server: ModelServer, speech: SpeechClip, placeholder: int) -> None:
    raw = speech.path.read_bytes()
    fmt_chunk, pcm = _pcm_and_fmt(raw)
    _same_analysis(_answer(server, _ffmpeg_pipe_wav(fmt_chunk, pcm, placeholder)), _answer(server, raw))


def test_sox_writing_to_a_pipe_is_read_to_the_end(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    _, pcm = _pcm_and_fmt(raw)
    # Raw samples in, WAV out, both pipes: sox cannot know the length in advance nor seek back to write it,
    # so it warns and writes its MS_UNSPEC 0x7ffff000 as the data size.
    raw_in = ["-t", "raw", "-r", "16000", "-e", "signed-integer", "-b", "16", "-c", "1", "-"]
    piped = subprocess.run(["sox", *raw_in, "-t", "wav", "-"], input=pcm, check=True, capture_output=True).stdout
    assert piped[40:44] == struct.pack("<I", 0x7FFFF000)
    _same_analysis(_answer(server, piped), _answer(server, raw))


def test_espeak_ng_stdout_is_read_to_the_end(server: ModelServer, tmp_path: Path) -> None:
    text = "Please read the next sentence out loud."
    piped = subprocess.run(["espeak-ng", "--stdout", text], check=True, capture_output=True).stdout
    assert piped[40:44] == struct.pack("<I", 0x7FFFF000)
    written = tmp_path / "file.wav"
    subprocess.run(["espeak-ng", "-w", str(written), text], check=True, capture_output=True)
    from_pipe, from_file = _answer(server, piped), _answer(server, written.read_bytes())
    _same_analysis(from_pipe, from_file)
    assert from_pipe["segments"]


def test_a_stream_of_unknown_size_ending_inside_a_frame_is_cut_to_whole_frames(
    server: ModelServer, speech: SpeechClip
) -> None:
    raw = speech.path.read_bytes()
    fmt_chunk, pcm = _pcm_and_fmt(raw)
    whole = _answer(server, _ffmpeg_pipe_wav(fmt_chunk, pcm, 0xFFFFFFFF))
    ragged = _answer(server, _ffmpeg_pipe_wav(fmt_chunk, pcm + b"\x01", 0xFFFFFFFF))
    _same_analysis(ragged, whole)


def test_chunks_after_the_data_do_not_change_the_answer(server: ModelServer, speech: SpeechClip) -> None:
    raw = speech.path.read_bytes()
    tail = b"LIST" + struct.pack("<I", 4) + b"INFO"
    with_tail = bytearray(raw + tail)
    with_tail[4:8] = struct.pack("<I", len(with_tail) - 8)
    _same_analysis(_answer(server, bytes(with_tail)), _answer(server, raw))
