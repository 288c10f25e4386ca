"""`make serve-model`'s HTTP server: the SageMaker container contract on GET /ping and POST /invocations."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest

from sagemaker_model.local import ModelServer
from sagemaker_model.serve import make_http_server
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
