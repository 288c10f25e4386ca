"""Calls into the emulator from threads of its own process: which thread waits on each (`EmulatedClock.serving`).

The emulator runs the stack's Lambda handlers, and a replay its product client, in the process that serves the
API: their boto3 calls reach the emulator's HTTP server over loopback. A call that waits on emulated time in the
server (a serverless endpoint's cold start) keeps its caller's pauses held, so the clock could not jump over that
wait (localaws/clock.py). Every botocore request this process sends to a running emulator carries the sending
thread in `CALLER_HEADER` (added after signing, so it is not a signed header and an emulator's signature check
ignores it, as AWS ignores unsigned headers), and the server answers it inside `clock.serving(caller)`.

AWS has no such header; requests from other processes (the operator's CLI) have none, and one naming another
process is ignored.
"""

from __future__ import annotations

import os
import threading
from typing import Any

CALLER_HEADER = "X-Localaws-Caller"
_ENVIRON_KEY = "HTTP_" + CALLER_HEADER.upper().replace("-", "_")
_ENDPOINTS: set[str] = set()  # the running emulators' endpoint URLs


def _tag(request: Any, **_kwargs: Any) -> None:
    """botocore `before-send` handler: name this process and thread on a request to a running emulator."""
    url = str(getattr(request, "url", ""))
    if any(url.startswith(endpoint) for endpoint in list(_ENDPOINTS)):
        request.headers[CALLER_HEADER] = f"{os.getpid()}:{threading.get_ident()}"


def _names(endpoint_url: str) -> set[str]:
    """The URL prefixes that reach `endpoint_url`: loopback by either name, as moto's Step Functions calls
    the emulator's Lambda and SDK integrations at http://localhost:<port> (moto 5.2.5,
    stepfunctions/parser/asl/utils/boto_client.py) while the emulator serves http://127.0.0.1:<port>."""
    url = endpoint_url.rstrip("/") + "/"
    loopback = ("//127.0.0.1:", "//localhost:")
    return {url.replace(loopback[0], name).replace(loopback[1], name) for name in loopback} | {url}


def serve(endpoint_url: str) -> None:
    """Tag this process's requests to `endpoint_url` from now on (sessions created before keep no tag)."""
    from botocore import handlers

    if ("before-send", _tag) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(("before-send", _tag))
    _ENDPOINTS.update(_names(endpoint_url))


def stop_serving(endpoint_url: str) -> None:
    _ENDPOINTS.difference_update(_names(endpoint_url))


def caller(environ: dict[str, Any]) -> int | None:
    """The thread of this process a WSGI request came from; None without the header or from another process."""
    pid, _, ident = str(environ.get(_ENVIRON_KEY, "")).partition(":")
    if pid != str(os.getpid()) or not ident.isdigit():
        return None
    return int(ident)
