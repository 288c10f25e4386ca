"""Errors as callers see them: the local model server's limits answered (never a reset connection), and error
bodies that carry the message, not a traceback with server paths, through `make serve-model` and the toolkit."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_model import http_server
from sagemaker_model.model_server import ModelServer
from tests.model.conftest import SpeechClip, TorchServeContext

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

LIMIT = 1024 * 1024  # a small limit keeps the oversized bodies quick to send; the behaviour is the same at 25 MB


@pytest.fixture()
def port(server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(http_server, "MAX_BODY_BYTES", LIMIT)
    httpd = http_server.make_http_server(server, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes as they are (http.client would fix the headers) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _no_traceback(body: bytes) -> None:
    assert b"Traceback" not in body and b".py" not in body and str(Path.cwd()).encode() not in body


def test_an_oversized_body_gets_the_413_not_a_reset_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = b"\0" * (32 * LIMIT)  # far more than the socket buffers hold: the server must read it to answer
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "audio/wav"})
    resp = conn.getresponse()
    assert resp.status == 413
    assert resp.getheader("Connection") == "close"
    assert f"payload of {len(body)} bytes is larger than" in resp.read().decode()
    conn.close()


def test_an_oversized_body_announced_with_expect_100_is_refused_before_it_is_sent(port: int) -> None:
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: {2 * LIMIT}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw(port, head))
    assert status == 413 and b"larger than" in body


@pytest.mark.parametrize(
    ("length_header", "status", "says"),
    [
        ("Content-Length: -5", 400, b"Content-Length must be a whole number of bytes, got '-5'"),
        ("Content-Length: lots", 400, b"got 'lots'"),
        ("Content-Length: 4\r\nContent-Length: 5", 400, b"conflicting Content-Length headers"),
        ("Transfer-Encoding: chunked", 411, b"Content-Length"),
    ],
)
def test_a_body_length_the_server_cannot_trust_is_a_4xx_and_the_connection_closes(
    port: int, length_header: str, status: int, says: bytes
) -> None:
    head = f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n{length_header}\r\n\r\n".encode()
    answer = _raw(port, head, b"4\r\nRIFF\r\n0\r\n\r\n" if "chunked" in length_header else b"")
    got, body = _status_and_body(answer)
    assert got == status and says in body
    assert b"Connection: close" in answer


def test_the_server_still_serves_after_refusing_a_body(port: int, speech: SpeechClip) -> None:
    _raw(port, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/invocations", body=speech.path.read_bytes(), headers={"Content-Type": "audio/wav"})
    assert conn.getresponse().status == 200


def test_a_bad_request_body_is_the_message_alone(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/invocations", body=b"nope", headers={"Content-Type": "audio/wav"})
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status == 400
    assert body == b"body is not a WAV file (no RIFF/WAVE header)"
    # The connection stays usable after a refused request.
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200


def test_a_failure_inside_the_handler_is_a_500_without_a_traceback(
    port: int, server: ModelServer, speech: SpeechClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError(f"boom in {Path(__file__)}")

    monkeypatch.setattr(server.handler, "score_chunks", broken)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/invocations", body=speech.path.read_bytes(), headers={"Content-Type": "audio/wav"})
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status == 500
    assert b"the model handler failed (RuntimeError)" in body
    _no_traceback(body)


def test_through_the_real_toolkit_a_bad_request_answers_the_message_without_a_traceback(
    toolkit: tuple[Any, TorchServeContext], speech: SpeechClip
) -> None:
    transformer, context = toolkit
    bad = context.new_request({"Content-Type": "audio/wav"})
    out = transformer.transform([{"body": bytearray(b"garbage")}], context)
    assert bad.status == (400, "body is not a WAV file (no RIFF/WAVE header)")
    assert out == ["body is not a WAV file (no RIFF/WAVE header)"]

    refused = context.new_request({"Content-Type": "audio/wav", "Accept": "text/csv"})
    out = transformer.transform([{"body": bytearray(speech.path.read_bytes())}], context)
    assert refused.status is not None and refused.status[0] == 406
    assert out[0].startswith("unsupported accept type") and "Traceback" not in out[0]

    # The next request on the same context is a plain 200: the error status belonged to its request only.
    good = context.new_request({"Content-Type": "audio/wav", "Accept": "application/json"})
    out = transformer.transform([{"body": bytearray(speech.path.read_bytes())}], context)
    assert good.status is None and context.content_type == "application/json"
    assert '"segments":[{' in out[0]
