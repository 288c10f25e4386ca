"""`make model-check-py310`: run build/model.tar.gz's handler in what the inf1 container has, and nothing more.

A Python 3.10 venv with only the DLC's numpy 1.24 / scipy 1.10 (soundfile and anything else removed, as the
archive installs nothing at container start); the handler's audio path runs there against WAV inputs, FLAC is
refused with 415 (no soundfile in the image), with torch stubbed (torch-neuron 1.13 cannot be installed here),
so the torch resampling step is not exercised.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from sagemaker_model.model_server import REPO_ROOT
from sagemaker_model.package import DEFAULT_ARCHIVE

CONTAINER_PINS = ("numpy==1.24.4", "scipy==1.10.1")  # the DLC's numpy 1.24 / scipy 1.10 (patch level assumed)
NOT_IN_THE_IMAGE = ("soundfile", "cffi", "pycparser")  # what the archive once installed at container start
VENV = REPO_ROOT / "build" / "py310-container"

CHECK = r"""
import importlib.util, io, json, sys, types
import numpy as np
from scipy.io import wavfile
assert importlib.util.find_spec("soundfile") is None, "soundfile is not in the image: the venv must not have it"
torch = types.ModuleType("torch")
torch.jit = types.SimpleNamespace(ScriptModule=object)
torch.set_num_threads = lambda n: None
sys.modules["torch"] = torch
sys.path.insert(0, __import__("os").path.dirname(sys.argv[1]))  # the toolkit puts code/ on the path
spec = importlib.util.spec_from_file_location("inference", sys.argv[1])
inf = importlib.util.module_from_spec(spec); sys.modules["inference"] = inf; spec.loader.exec_module(inf)
rate = 16000  # resampling runs in torch (stubbed here); its scipy filter design is checked below
t = np.arange(rate) / rate
tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
cases = {}
for name, data in {"pcm16": (tone * 32767).astype(np.int16), "float32": tone,
                   "stereo_pcm32": np.stack([(tone * 2**31 * 0.99).astype(np.int32)] * 2, axis=1),
                   "pcm8": ((tone + 1) * 127.5).astype(np.uint8)}.items():
    buf = io.BytesIO(); wavfile.write(buf, rate, data); cases["wav/" + name] = (buf.getvalue(), "audio/wav")
for name, (body, ctype) in cases.items():
    audio = inf.input_fn(bytearray(body), ctype)
    assert audio.samples.dtype == np.float32 and audio.samples.shape[0] == 16000, (name, audio.samples.shape)
    rms = float(np.sqrt(np.mean(audio.samples[1000:-1000] ** 2)))
    assert abs(rms - 0.5 / 2 ** 0.5) < 0.01, (name, rms)
    print(f"  {name:18s} ok  rms={rms:.4f}  timings={audio.timings_ms}")
try:
    inf.input_fn(bytearray(b"RIFF\x00\x00"), "audio/wav")
except inf.RequestError as exc:
    print("  corrupt WAV -> ", exc.status_code, exc.message)
try:
    inf.input_fn(bytearray(b"fLaC" + bytes(64)), "audio/flac")
    raise AssertionError("FLAC decoded without soundfile")
except inf.RequestError as exc:
    assert exc.status_code == 415, exc.status_code
    print("  FLAC without soundfile -> ", exc.status_code, exc.message)
taps = inf._resample_filter(*inf.resample_ratio(44100))
assert taps.shape == (2 * 12 * 441 + 1,) and abs(taps.sum() - 1) < 1e-3, taps.shape
print("  resample filter for 44.1 kHz designed by scipy", __import__("scipy").__version__, taps.shape)
probs = np.array([0.0] * 10 + [0.9] * 20 + [0.0] * 10, dtype=np.float32)
pred = inf.Prediction(audio=inf.input_fn(bytearray(cases["wav/pcm16"][0]), "audio/wav"), probabilities=probs,
                      segments=inf.speech_segments(probs))
body, ctype = inf.output_fn(pred, "application/json")
print("  output_fn ok:", ctype, json.loads(body)["segments"])
print("python", sys.version.split()[0], "numpy", np.__version__, "scipy", __import__("scipy").__version__)
"""


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def find_python310() -> str:
    """pyenv's 3.10 (its shim fails unless that version is selected), else a python3.10 on PATH that runs."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [str(p) for p in sorted(root.glob("versions/3.10.*/bin/python3.10"))]
    candidates.append(shutil.which("python3.10") or "")
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit("check-py310: no working python3.10 found (pyenv install 3.10)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        raise SystemExit(f"check-py310: {args.archive} missing: run `make model` first")
    py = VENV / "bin" / "python"
    if not py.exists():
        run([find_python310(), "-m", "venv", str(VENV)])
        run([str(py), "-m", "pip", "install", "--quiet", *CONTAINER_PINS])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "opt-ml-model"
        with tarfile.open(args.archive, "r:gz") as tar:
            tar.extractall(model_dir, filter="data")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        # The container's state each run: only what the image has (an older archive installed these).
        run([str(py), "-m", "pip", "uninstall", "--quiet", "--yes", *NOT_IN_THE_IMAGE], env=env, capture_output=True)
        if (model_dir / "code" / "requirements.txt").exists():
            raise SystemExit("check-py310: the archive has code/requirements.txt; it must install nothing")
        print("check-py310: the archive's handler with only numpy/scipy (torch stubbed), nothing installed")
        run([str(py), "-c", CHECK, str(model_dir / "code" / "inference.py")], env=env)
    print("check-py310: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
