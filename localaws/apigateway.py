"""The wake API over HTTP (http://127.0.0.1:3000), as API Gateway fronts it in AWS: a REST API with IAM auth,
stage `v1`, and the template's routes `ANY /wake`, `ANY /status`, `ANY /{proxy+}` (none on `/`), each a
Lambda proxy integration. `WakeApiServer.handle()` is the whole request path: the edges API Gateway answers
itself, then Stack.call_api (the proxy event to the routed function, whose proxy response becomes the answer).

What API Gateway does at each edge, and what this server does (sources):
- A method or path with no resource method (here: anything on `/`, and methods outside the seven below)
  gets 403 `{"message": "Missing Authentication Token"}` with `x-amzn-ErrorType:
  MissingAuthenticationTokenException`: AWS API Gateway developer guide, "Gateway response types"
  (MISSING_AUTHENTICATION_TOKEN, e.g. "an unsupported API method or resource"); AWS re:Post knowledge center
  "api-gateway-authentication-token-errors" ("for APIs with proxy resource integration where the request
  is sent to the root resource, verify that a method is configured under the root resource"); LocalStack's
  AWS-validated next-gen router (`execute_api/handlers/resource_router.py`, `gateway_exception.py` for the
  header). An unknown path such as `/nope` matches `/{proxy+}` and gets the function's 404.
- A trailing slash is ignored when matching (`/status/` reaches the `/status` resource), while the event's
  `path` keeps it: aws-powertools/powertools-lambda-python#1552 and PR #1609 (tested on AWS: REST APIs route
  `/hello/` as `/hello`), LocalStack `resource_router.py` ("trailing slashes are ignored in APIGW"),
  floci-io/floci#1557 (the proxy event's path keeps the slash).
- `ANY` stands for DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT: developer guide,
  "x-amazon-apigateway-any-method object"; AWS CDK `HttpMethod` ("HTTP methods supported by API Gateway").
  So HEAD and OPTIONS reach the function, which answers 405 naming the allowed method. A HEAD answer carries
  the headers (Content-Length of the body a GET-like answer would have) and no body, as HTTP requires
  (RFC 9110 §9.3.2); sources are silent on whether API Gateway itself strips a body the integration returns
  for HEAD, and an HTTP client reading a HEAD answer ignores one anyway.
- OPTIONS: the template configures no CORS, so there is no OPTIONS method of API Gateway's own and `ANY`
  takes it, under AWS_IAM like every method: an unsigned preflight gets the 403 of a missing signature,
  here as on AWS.
- A payload over 10 MB gets 413 (gateway response REQUEST_TOO_LARGE; "Quotas for configuring and running a
  REST API": payload size 10 MB, not adjustable). The message text is ours: sources are silent on it. The
  function itself answers 413 above 4 KiB (functions/wake_api/app.py).
- A function error is 502 `{"message": "Internal server error"}` (Stack.call_api).
- AWS serves `https://{api-id}.execute-api.{region}.amazonaws.com/v1/...`; here the `/v1` prefix is optional
  (`/v1/wake` and `/wake` both work) so the printed curl lines stay short; the event says stage `v1`.

Every request is then authenticated as API Gateway's AWS_IAM authorization does (the SigV4 credential scope,
this API's region and service `execute-api`, else 403 "Credential should be scoped to ..." as aws/aws-sdk-js#792
shows API Gateway answering; then the caller's key and signature; then `execute-api:Invoke` on the method ARN:
`localaws.iam_wire.authenticate_api_call`, which names its sources); the function is
invoked under its resource policy (`Stack.call_api`), not with the caller's credentials.

Differs from AWS: no
throttling (the template allows bursts of 100 and 50 requests/s; AWS answers 429 beyond), no 29 s integration
timeout; the function runs in this process one request at a time (localaws/lambdas.py), so a burst queues
instead of scaling out. Connections wait in a listen backlog of LISTEN_BACKLOG (http.server's default of 5
reset most of a 64-connection burst).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from localaws import iam_wire

if TYPE_CHECKING:
    from localaws.cfn_stack import Stack

LOG = logging.getLogger(__name__)
STAGE = "/v1"
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # REST API payload quota
LISTEN_BACKLOG = 1024  # connections the kernel queues before the server accepts them (capped by somaxconn)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # as sent, without the query string and the stage prefix
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    target: str = ""  # the request line's target exactly as sent (stage prefix and query string included)


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, body: Any, **headers: str) -> ApiResponse:
        return cls(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})


def gateway_error(status: int, message: str, error_type: str) -> ApiResponse:
    """An answer API Gateway gives itself (a gateway response), before or instead of the function."""
    return ApiResponse.json(status, {"message": message}, **{"x-amzn-ErrorType": error_type})


MISSING_AUTHENTICATION_TOKEN = (403, "Missing Authentication Token", "MissingAuthenticationTokenException")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG


class WakeApiServer:
    """Binds its port at construction (so a busy port fails fast); serves from `start()`, once `stack` is set."""

    def __init__(self, stack: Stack | None, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.stack = stack
        self.httpd = _Server((host, port), self._handler_class())
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="wake-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> WakeApiServer:
        if self.stack is None:
            raise RuntimeError("WakeApiServer.start(): no stack to route to yet")
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() waits for serve_forever, which never ran if start() was not called
            self.httpd.shutdown()
        self.httpd.server_close()

    # -- the request path -------------------------------------------------------------------------------
    def handle(self, request: ApiRequest) -> ApiResponse:
        """One request, as API Gateway handles it: its own edges first, then the routed function."""
        if request.method not in API_GATEWAY_METHODS:
            return gateway_error(*MISSING_AUTHENTICATION_TOKEN)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return gateway_error(413, "Request Too Long", "RequestTooLargeException")
        assert self.stack is not None
        # AWS_IAM authorization comes before the integration: SigV4, then execute-api:Invoke on the method ARN.
        stack = self.stack
        caller, refusal = iam_wire.authenticate_api_call(
            request.method,
            request.target or request.path,
            request.headers,
            request.body,
            stack.method_arn(request.method, request.path),
            stack.emu.account,
        )
        if refusal:
            return ApiResponse(
                refusal.status,
                (refusal.body if isinstance(refusal.body, str) else json.dumps(refusal.body)).encode(),
                {"Content-Type": "application/json", "x-amzn-ErrorType": refusal.error_type},
            )
        body = request.body.decode("utf-8", "replace") if request.body else None
        answer: dict[str, Any] = stack.call_api(
            request.method, request.path, body, headers=request.headers, caller=caller
        )
        payload = answer.get("body")
        text = payload if isinstance(payload, str) else ("" if payload is None else json.dumps(payload))
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items() if k.lower() != "content-length"}
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        return ApiResponse(int(answer.get("statusCode", 502)), text.encode(), headers)

    # -- HTTP ---------------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def __getattr__(self, name: str) -> Any:
                # Every method reaches handle(), which decides as API Gateway would (http.server: 501 otherwise).
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def _serve(self) -> None:
                try:
                    response = self._answer()
                except Exception:
                    LOG.exception("wake api: %s %s failed", self.command, self.path)
                    response = ApiResponse.json(500, {"message": "Internal server error"})
                self._send(response)

            def _answer(self) -> ApiResponse:
                length_header = self.headers.get("Content-Length")
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunked = self._read_chunked()
                    if chunked is None:
                        self.close_connection = True
                        return gateway_error(413, "Request Too Long", "RequestTooLargeException")
                    body = chunked
                else:
                    try:
                        length = int(length_header or 0)
                    except ValueError:
                        self.close_connection = True
                        return ApiResponse.json(400, {"message": f"Content-Length {length_header!r} is not a number"})
                    if length > MAX_PAYLOAD_BYTES:  # not read: the connection closes after the answer
                        self.close_connection = True
                        return gateway_error(413, "Request Too Long", "RequestTooLargeException")
                    body = self.rfile.read(length) if length > 0 else b""
                path = self.path.split("?", 1)[0]
                if path == STAGE or path.startswith(STAGE + "/"):
                    path = path[len(STAGE) :] or "/"
                return server.handle(ApiRequest(self.command, path, dict(self.headers.items()), body, self.path))

            def _read_chunked(self) -> bytes | None:
                """The body of a chunked request; None once it passes the payload quota (the rest is not read)."""
                chunks: list[bytes] = []
                total = 0
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                            pass
                        return b"".join(chunks)
                    total += size
                    if total > MAX_PAYLOAD_BYTES:
                        return None
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()

            def _send(self, response: ApiResponse) -> None:
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: Any) -> None:
                LOG.debug("wake api: " + format, *args)

        return Handler
