"""`make serve-model`'s HTTP server: the SageMaker container contract on GET /ping and POST /invocations."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest

from sagemaker_model.http_server import make_http_server
from sagemaker_model.model_server import ModelServer
from tests.model.conftest import SpeechClip


@pytest.fixture()
def port(server: ModelServer) -> Iterator[int]:
    httpd = make_http_server(server, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_ping_is_200_when_the_model_is_loaded(port: int) -> None:
    assert _request(port, "GET", "/ping")[0] == 200


def test_invocations_answers_json_for_a_wav(port: int, speech: SpeechClip) -> None:
    status, body = _request(
        port, "POST", "/invocations", speech.path.read_bytes(), {"Content-Type": "audio/wav", "Accept": "*/*"}
    )
    assert status == 200
    assert json.loads(body)["segments"]


def test_bad_input_is_a_4xx_with_the_message_and_unknown_paths_404(port: int) -> None:
    status, body = _request(port, "POST", "/invocations", b"nope", {"Content-Type": "audio/wav"})
    assert status == 400 and body.startswith(b"body is not a WAV file")
    assert _request(port, "GET", "/nothing")[0] == 404


def test_a_body_that_stops_arriving_gets_a_408_and_one_log_line(
    port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    from sagemaker_model import http_server

    monkeypatch.setattr(http_server, "BODY_TIMEOUT_S", 0.5)
    caplog.set_level("INFO", logger="sleepwake.serve")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.sendall(b"RIFF" + b"\0" * 96)  # 100 of 1000 bytes, then silence
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b"the body stopped arriving: 100 of 1000 bytes in 0.5 s")
    lines = [r for r in caplog.records if r.name == "sleepwake.serve"]
    assert len(lines) == 1 and "408" in lines[0].getMessage(), [r.getMessage() for r in lines]
    assert not any(r.exc_info for r in caplog.records)
    assert _request(port, "GET", "/ping")[0] == 200  # the server goes on
