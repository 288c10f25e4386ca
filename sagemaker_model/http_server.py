"""`make serve-model`: GET /ping and POST /invocations on 127.0.0.1:8080, the SageMaker container contract.

Requests go through ModelServer, i.e. the same inference.py the archive ships, loaded and warmed the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import signal
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NoReturn

from sagemaker_model.model_server import DEFAULT_MODEL_DIR, ModelServer, prepare_model_dir

logger = logging.getLogger("sleepwake.serve")
MAX_BODY_BYTES = 25 * 1024 * 1024  # SageMaker real-time endpoints reject larger payloads before the container
# An oversized body is read and thrown away after the 413 is sent, so the client finishes sending and reads the
# answer instead of a connection reset (closing a socket with unread data makes the kernel send RST). A body
# beyond this is not worth reading: the connection is just closed.
MAX_DISCARD_BYTES = 4 * MAX_BODY_BYTES
DISCARD_TIMEOUT_S = 10.0
# A body that stops arriving: 408 Request Timeout ("the server did not receive a complete request message
# within the time that it was prepared to wait", RFC 9110 §15.5.9), as nginx answers one after its
# client_body_timeout (60 s by default; nginx docs, ngx_http_core_module) in front of SageMaker's
# serving containers. Without it a client that sends half a body holds a thread until it disconnects.
BODY_TIMEOUT_S = 60.0


class BodyError(Exception):
    """A request whose body cannot be read as sent: answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def make_handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "text/plain; charset=utf-8",
            extra: dict[str, str] | None = None,
            *,
            close: bool = False,
            log: bool = True,
        ) -> None:
            if log:
                self.send_response(status)
            else:  # the caller logged this answer itself, in one line
                self.send_response_only(status)
                self.send_header("Server", self.version_string())
                self.send_header("Date", self.date_time_string())
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def _body_length(self) -> int:
            """Content-Length as a number, or BodyError: without a trustworthy length the next request on this
            connection cannot be found, so every refusal here also closes it."""
            if self.headers.get("Transfer-Encoding"):
                raise BodyError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length (not chunked)")
            values = self.headers.get_all("Content-Length") or []
            if not values:
                return 0
            if len(set(values)) > 1:
                raise BodyError(HTTPStatus.BAD_REQUEST, f"conflicting Content-Length headers: {', '.join(values)}")
            text = values[0].strip()
            if not text.isdigit() or not text.isascii():
                raise BodyError(HTTPStatus.BAD_REQUEST, f"Content-Length must be a whole number of bytes, got {text!r}")
            length = int(text)
            if length > MAX_BODY_BYTES:
                raise BodyError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"payload of {length} bytes is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MB limit",
                )
            return length

        def _refuse_body(self, error: BodyError) -> None:
            self._send(error.status, error.message.encode(), close=True)
            length = self.headers.get("Content-Length", "").strip()
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE and length.isdigit():
                self._discard(min(int(length), MAX_DISCARD_BYTES))

        def _discard(self, remaining: int) -> None:
            self.connection.settimeout(DISCARD_TIMEOUT_S)
            try:
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            except OSError:
                pass  # the client gave up: nothing left to tell it

        def _read_body(self, length: int) -> bytes | None:
            """The body, or None after answering 408 when it stops arriving for BODY_TIMEOUT_S."""
            chunks, received = [], 0
            self.connection.settimeout(BODY_TIMEOUT_S)
            try:
                while received < length:
                    chunk = self.rfile.read1(min(length - received, 1 << 16))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    received += len(chunk)
            except TimeoutError:
                logger.warning(
                    "%s POST %s 408: %d of %d body bytes arrived, then nothing for %g s; connection closed",
                    self.address_string(),
                    self.path,
                    received,
                    length,
                    BODY_TIMEOUT_S,
                )
                message = f"the body stopped arriving: {received} of {length} bytes in {BODY_TIMEOUT_S:g} s"
                with contextlib.suppress(OSError):
                    self._send(HTTPStatus.REQUEST_TIMEOUT, message.encode(), close=True, log=False)
                self.close_connection = True
                return None
            finally:
                with contextlib.suppress(OSError):
                    self.connection.settimeout(None)
            return b"".join(chunks)

        def handle_expect_100(self) -> bool:
            # `Expect: 100-continue` (curl sends it for bodies over 1 MB): refuse before the body is sent at all.
            try:
                self._body_length()
            except BodyError as error:
                self._send(error.status, error.message.encode(), close=True)
                return False
            return super().handle_expect_100()

        def do_GET(self) -> None:
            if self.path == "/ping":
                ok = server.ping()
                self._send(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, b"" if ok else b"not ready")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found")

        def do_POST(self) -> None:
            try:
                length = self._body_length()
            except BodyError as error:
                self._refuse_body(error)
                return
            body = self._read_body(length)
            if body is None:
                return
            if len(body) < length:
                self._send(
                    HTTPStatus.BAD_REQUEST, f"body ended after {len(body)} of {length} bytes".encode(), close=True
                )
                return
            if self.path != "/invocations":
                self._send(HTTPStatus.NOT_FOUND, b"not found")
                return
            result = server.invoke(
                body,
                self.headers.get("Content-Type", ""),
                self.headers.get("Accept", "application/json"),
            )
            payload, content_type = result.body, result.content_type
            if result.status != HTTPStatus.OK:
                # The message only: a traceback names files on this machine and helps no caller. It goes to the log.
                logger.warning("POST /invocations %d: %s", result.status, result.body.decode("utf-8", "replace"))
                payload = (result.error or "model error").encode()
                content_type = "text/plain; charset=utf-8"
            self._send(result.status, payload, content_type, {"X-Model-Latency-Ms": f"{result.model_latency_ms:.3f}"})

        def log_message(self, format: str, *args: object) -> None:
            logger.info("%s %s", self.address_string(), format % args)

    return Handler


def make_http_server(model_server: ModelServer, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(model_server))


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range (0-65535)")
    return port


def _bind(host: str, port: int) -> ThreadingHTTPServer | str:
    """The HTTP server bound to host:port (requests wait in the backlog until it serves), or why it cannot be."""
    try:
        return ThreadingHTTPServer((host, port), BaseHTTPRequestHandler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"port {port} is already in use by another program; choose another with MODEL_PORT= (--port)"
        if error.errno == errno.EACCES:
            return f"port {port} needs privileges to listen on (ports below 1024 usually need root)"
        return f"cannot listen on {host}:{port}: {error.strerror or error}"


class _Stop(BaseException):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="make serve-model", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8080, help="default 8080 (make serve-model MODEL_PORT=...)")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="prepared if missing")
    parser.add_argument("--model-file", type=Path, default=None, help="TorchScript model.pt (default: silero-vad)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # The port first: a busy one is a one-line error now, not after seconds of model loading.
    httpd = _bind(args.host, args.port)
    if isinstance(httpd, str):
        print(f"make serve-model: {httpd}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, _stop)  # Ctrl-C and SIGTERM stop it, during the model load too
    signal.signal(signal.SIGTERM, _stop)
    model_server: ModelServer | None = None
    try:
        model_dir = prepare_model_dir(args.model_dir, args.model_file)
        t0 = time.perf_counter()
        model_server = ModelServer(model_dir)
        logger.info("model ready in %.0f ms (load + warm-up) from %s", (time.perf_counter() - t0) * 1000, model_dir)
        httpd.RequestHandlerClass = make_handler(model_server)
        logger.info("serving http://%s:%d  (GET /ping, POST /invocations)", args.host, httpd.server_address[1])
        httpd.serve_forever()
    except _Stop:
        logger.info("stopped")
    finally:
        httpd.server_close()
        if model_server is not None:
            model_server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
