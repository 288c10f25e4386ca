"""A serverless container writes only under /tmp (localaws/serverless_container.py): an archive with
code/requirements.txt (the toolkit would pip-install it into site-packages) or a handler that writes elsewhere
while it starts fails the start, and the request gets the /ping failure the Serverless Inference
troubleshooting page describes; a handler that writes under /tmp serves."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localaws import EmulatedClock, Emulator, sagemaker_serverless, serverless_container
from sagemaker_model.model_server import WARMUP_WAV
from tests.localaws.conftest import START, make_serverless_endpoint

HANDLER = """
import os

def model_fn(model_dir):
    with open(os.path.join({where!r}, "cache.bin"), "wb") as out:
        out.write(b"a cache the handler builds at start")
    return "model"

def input_fn(body, content_type):
    return bytes(body)

def predict_fn(data, model):
    return len(data)

def output_fn(prediction, accept):
    return '{{"bytes": %d}}' % prediction, "application/json"
"""


@pytest.fixture
def roots(tmp_path, monkeypatch) -> Path:
    """The container's writable place for these tests (the rule is the same with /tmp; pytest's own files
    live under /tmp, so the model directory would be writable there)."""
    writable = tmp_path / "tmp"
    writable.mkdir()
    monkeypatch.setattr(serverless_container, "WRITABLE_ROOTS", (str(writable),))
    return writable


def _model_dir(tmp_path: Path, where: str, requirements: bool = False) -> Path:
    model = tmp_path / "opt-ml-model"
    (model / "code").mkdir(parents=True)
    (model / "model.pt").write_bytes(b"m")
    (model / "code" / "inference.py").write_text(HANDLER.format(where=where))
    (model / "code" / "warmup.wav").write_bytes(WARMUP_WAV.read_bytes())
    if requirements:
        (model / "code" / "requirements.txt").write_text("soundfile==0.14.0\n")
    return model


def _emulator(model: Path) -> Emulator:
    emu = Emulator(
        EmulatedClock(start=START, speed=600),
        port=0,
        fallback_cold_start_seconds=1,
        fallback_server_factory=lambda env: sagemaker_serverless.container_model_server(model, env),
    ).start()
    make_serverless_endpoint(emu, "fallback")
    return emu


def _invoke(emu: Emulator) -> dict:
    return emu.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="fallback", Body=b"abc", ContentType="audio/wav"
    )


@pytest.mark.parametrize(
    ("requirements", "write_to_model_dir", "reason"),
    [(True, False, "pip install -r code/requirements.txt"), (False, True, "Permission denied")],
    ids=["toolkit-installs-requirements", "handler-writes-beside-the-model"],
)
def test_a_container_start_that_writes_outside_tmp_fails_its_ping(
    tmp_path, roots, requirements, write_to_model_dir, reason
):
    model = _model_dir(tmp_path, str(tmp_path / "opt-ml-model") if write_to_model_dir else str(roots), requirements)
    emu = _emulator(model)
    try:
        with pytest.raises(ClientError) as caught:
            _invoke(emu)
        assert caught.value.response["Error"]["Code"] == "ModelError"
        assert "did not pass the ping health check" in caught.value.response["Error"]["Message"]
        endpoint = emu.serverless_endpoint("fallback")
        assert reason in endpoint.start_failures[0]
        assert not (model / "cache.bin").exists()
    finally:
        emu.stop()


def test_a_handler_that_writes_under_tmp_starts_and_serves(tmp_path, roots):
    emu = _emulator(_model_dir(tmp_path, str(roots)))
    try:
        assert _invoke(emu)["Body"].read() == b'{"bytes": 3}'
        assert (roots / "cache.bin").is_file()
        assert emu.serverless_endpoint("fallback").start_failures == []
    finally:
        emu.stop()


def test_the_guard_refuses_writes_outside_its_roots_in_its_own_thread_only(tmp_path):
    inside, outside = tmp_path / "tmp", tmp_path / "opt"
    inside.mkdir()
    outside.mkdir()
    (outside / "model.pt").write_bytes(b"m")
    seen_by_other_thread: list[bool] = []
    with serverless_container.writes_only_under((str(inside),)):
        (inside / "ok.txt").write_text("fine")
        assert (outside / "model.pt").read_bytes() == b"m"  # reads are never refused
        for attempt in (
            lambda: (outside / "x.txt").write_text("no"),
            lambda: os.mkdir(outside / "cache"),
            lambda: os.replace(inside / "ok.txt", outside / "moved.txt"),
            lambda: os.remove(outside / "model.pt"),
            lambda: os.open(outside / "y", os.O_WRONLY | os.O_CREAT),
        ):
            with pytest.raises(PermissionError):
                attempt()
        other = threading.Thread(target=lambda: seen_by_other_thread.append((outside / "t.txt").write_text("x") == 1))
        other.start()
        other.join()
    assert seen_by_other_thread == [True]
    (outside / "after.txt").write_text("the guard is gone")
    assert sorted(p.name for p in outside.iterdir()) == ["after.txt", "model.pt", "t.txt"]
