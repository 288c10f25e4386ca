"""Resampling to the model's 16 kHz: the handler's scipy polyphase filter against libsoxr (VHQ) and exact sines.

Tolerances (stated, measured with margin): a 1 kHz sine stays within 1e-4 of the analytic one away from the edges;
real speech band-limited to 6 kHz matches libsoxr's VHQ output with an RMS error below -80 dB of the signal
(measured about -85 dB; the filters differ only in how they roll off between 6 and 8 kHz, which a VAD does not
use); tones above the new Nyquist are rejected by more than 55 dB (measured 59 dB).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soxr
from scipy.signal import butter, resample_poly, sosfiltfilt

from sagemaker_model.model_server import load_handler
from tests.model.conftest import SpeechClip

EDGE = 400  # output samples at each end where filters legitimately differ (startup transients)


@pytest.fixture(scope="module")
def handler(model_dir: Path) -> types.ModuleType:
    module = load_handler(model_dir)
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 32000, 44100, 48000])
def test_a_sine_keeps_its_frequency_and_level(handler: types.ModuleType, rate: int) -> None:
    t = np.arange(2 * rate) / rate
    out = handler.resample(np.sin(2 * np.pi * 1000.0 * t).astype(np.float32), rate)
    assert out.dtype == np.float32
    assert abs(out.shape[0] - 32000) <= 1
    ref = np.sin(2 * np.pi * 1000.0 * np.arange(out.shape[0]) / 16000)
    assert np.abs(out[EDGE:-EDGE] - ref[EDGE:-EDGE]).max() < 1e-4


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_speech_matches_libsoxr_vhq_within_minus_80_db(
    handler: types.ModuleType, speech: SpeechClip, rate: int
) -> None:
    audio, _ = handler.decode_wav(speech.path.read_bytes())[:2]
    at_16k = sosfiltfilt(butter(10, 6000, fs=16000, output="sos"), handler._downmix(audio)).astype(np.float32)
    source = soxr.resample(at_16k, 16000, rate, quality="VHQ").astype(np.float32)  # speech at the input rate
    ours = handler.resample(source, rate)
    reference = soxr.resample(source, rate, 16000, quality="VHQ")
    n = min(ours.shape[0], reference.shape[0])
    err = ours[EDGE : n - EDGE] - reference[EDGE : n - EDGE]
    rel_db = 20 * np.log10(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(reference[EDGE : n - EDGE] ** 2)))
    assert rel_db < -80, f"{rel_db:.1f} dB"


def test_tones_above_the_new_nyquist_do_not_alias(handler: types.ModuleType) -> None:
    t = np.arange(44100 * 2) / 44100
    out = handler.resample(np.sin(2 * np.pi * 9000.0 * t).astype(np.float32), 44100)
    assert 20 * np.log10(np.abs(out[EDGE:-EDGE]).max()) < -55


def test_16k_input_is_passed_through_untouched(handler: types.ModuleType) -> None:
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    assert handler.resample(x, 16000) is x


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 12345])
def test_the_torch_polyphase_filter_equals_scipy_resample_poly(handler: types.ModuleType, rate: int) -> None:
    x = np.random.default_rng(rate).standard_normal(rate + 17).astype(np.float32)
    up, down = handler.resample_ratio(rate)
    reference = resample_poly(x, up, down, window=handler._resample_filter(up, down))
    out = handler.resample(x, rate)
    assert out.shape == reference.shape
    assert np.abs(out - reference).max() < 1e-4


def test_an_odd_rate_uses_a_near_ratio_instead_of_a_huge_filter(handler: types.ModuleType) -> None:
    up, down = handler.resample_ratio(47999)
    assert max(up, down) <= handler.MAX_RATIO_TERM
    assert abs(up / down - 16000 / 47999) / (16000 / 47999) < 2e-4
    assert handler.resample(np.zeros(47999, dtype=np.float32), 47999).shape[0] == 16000
