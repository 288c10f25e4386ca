"""`make serve-model MODEL_PORT=...`: a port that cannot be used is a one-line error before the model loads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve_model(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "sleepwake"), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-m", "sagemaker_model.http_server", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_busy_port_is_one_line_before_the_model_loads(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve_model("--port", str(port), "--model-dir", str(tmp_path / "model"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"make serve-model: port {port} is already in use by another program; choose another with MODEL_PORT= (--port)"
    ]
    assert not (tmp_path / "model").exists()  # the model was not even prepared


def test_an_out_of_range_port_is_one_line():
    done = serve_model("--port", "65536")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "make serve-model: error: argument --port: 65536 is out of range (0-65535) (see --help)"
    ]
