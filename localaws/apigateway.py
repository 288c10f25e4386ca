"""The wake API on http://127.0.0.1:3000, as `sam local start-api` would serve it: each HTTP request becomes an
API Gateway REST proxy event for the function the template routes it to (Stack.call_api), and the
function's proxy response becomes the HTTP response.

Every request is first authenticated as API Gateway's AWS_IAM authorization does (SigV4 with the caller's
key, then `execute-api:Invoke` on the method ARN: `localaws.iam.authenticate_api_call`); the function is
then invoked under its resource policy (`Stack.call_api`), not with the caller's credentials.

Differs from AWS: the stage prefix (/v1) is optional; no throttling.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from localaws import iam

if TYPE_CHECKING:
    from localaws.stack import Stack

LOG = logging.getLogger(__name__)
MAX_READ = 1 << 20  # API Gateway's own payload limit is 10 MB; the function rejects anything over 4 KB


class WakeApiServer:
    def __init__(self, stack: Stack, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.stack = stack
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="wake-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> WakeApiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stack = self.stack

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(min(length, MAX_READ)) if length else b""
                raw = data.decode("utf-8", "replace") if length else None
                path = self.path.split("?", 1)[0]
                if path.startswith("/v1/"):
                    path = path[3:]
                headers = {k: v for k, v in self.headers.items()}
                caller, refusal = iam.authenticate_api_call(
                    self.command, self.path, headers, data, stack.method_arn(self.command, path), stack.emu.account
                )
                answer: dict[str, Any] = (
                    {
                        "statusCode": refusal.status,
                        "body": refusal.body,
                        "headers": {"x-amzn-ErrorType": refusal.error_type},
                    }
                    if refusal
                    else stack.call_api(self.command, path, raw, headers=headers, caller=caller)
                )
                body = answer.get("body")
                payload = body if isinstance(body, str) else json.dumps(body)
                data = (payload or "").encode()
                self.send_response(int(answer.get("statusCode", 502)))
                for key, value in (answer.get("headers") or {}).items():
                    if key.lower() != "content-length":
                        self.send_header(key, str(value))
                if not any(k.lower() == "content-type" for k in (answer.get("headers") or {})):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                LOG.debug("wake api: " + format, *args)

        return Handler
