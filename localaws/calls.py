"""Calls into the emulator from threads of its own process: which thread waits on each, while it does
(`EmulatedClock.serving`).

The emulator runs the stack's Lambda handlers, and a replay its product client, in the process that serves the
API: their boto3 calls reach the emulator's HTTP server over loopback. A call that waits on emulated time in the
server (a serverless endpoint's cold start) keeps its caller's pauses held, so the clock could not jump over that
wait (localaws/clock.py). Every botocore request this process sends to a running emulator opens a `Call` (the
sending thread's) and carries its number in `CALLER_HEADER` (added after signing, so it is not a signed header and
an emulator's signature check ignores it, as AWS ignores unsigned headers), and the server answers it inside
`clock.serving(caller)`.

The header names the call, not the thread (review2-s23 finding 6): a `Call` is open from its send until botocore's
`response-received`, which botocore's Endpoint._get_response emits after every attempt, answered or failed (a read
timeout or any other error: _do_get_response catches them), so a caller that gave up and works on, or a new thread
that reuses an exited caller's ident, is not taken for a thread still waiting on it. A call whose response-received
never came (a BaseException in the send) closes at the thread's next call, or counts as closed once it has ended (and
is let go at the next call any thread opens).

A window remains (review2-s24 finding 7): when the read times out, the caller runs urllib3's and botocore's exception
handling before response-received closes its call, and it still counts as asleep meanwhile. If that thread is not
scheduled for longer than the clock's idle_settle (10 wall ms, localaws/clock.py) and nothing else runs, the clock
may jump (to the serving thread's wake-up, or another sleeper's) before the caller is awake again. botocore has no
event at the socket's timeout to close it earlier; a loaded host makes that delay plausible.

AWS has no such header; requests from other processes (the operator's CLI) have none, and one naming another
process, or a call no longer open, is ignored.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

CALLER_HEADER = "X-Localaws-Caller"
_ENVIRON_KEY = "HTTP_" + CALLER_HEADER.upper().replace("-", "_")
_ENDPOINTS: set[str] = set()  # the running emulators' endpoint URLs


class Call:
    """One request a thread of this process sends to a running emulator: open from its send until its response
    came or the thread gave up on it (`close`), or the thread ended."""

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.number = next(_NUMBERS)
        self._lock = threading.Lock()
        self._closed = False
        self._on_close: list[Callable[[], None]] = []

    @property
    def open(self) -> bool:
        return not self._closed and self.thread.is_alive()

    @property
    def header(self) -> str:
        """The value of CALLER_HEADER that names this call (`caller` finds it by)."""
        return f"{os.getpid()}:{self.number}"

    def when_closed(self, callback: Callable[[], None]) -> bool:
        """Run `callback` in the thread that closes the call, once; False (and never) when it is no longer open."""
        with self._lock:
            if not self.open:
                return False
            self._on_close.append(callback)
            return True

    def forget(self, callback: Callable[[], None]) -> None:
        """Run `callback` no more when the call closes (who waited for that has stopped waiting)."""
        with self._lock:
            if callback in self._on_close:
                self._on_close.remove(callback)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            callbacks, self._on_close = self._on_close, []
        with _OPEN_LOCK:
            _OPEN.pop(self.number, None)
        if getattr(_CURRENT, "call", None) is self:
            _CURRENT.call = None
        for callback in callbacks:  # outside the lock: a callback takes the clock's
            callback()


_NUMBERS = itertools.count(1)
_OPEN: dict[int, Call] = {}  # the open calls by number
_OPEN_LOCK = threading.Lock()
_CURRENT = threading.local()  # this thread's open call (a thread sends one request at a time)


def open_call() -> Call:
    """Open a call of this thread, as a request to a running emulator does at its send (`_tag`): `caller` finds it
    by its header until it is closed (`close`, botocore's response-received) or this thread opens another."""
    _done()  # one left open (its response-received never came) ends here
    call = Call()
    with _OPEN_LOCK:
        for number in [n for n, c in _OPEN.items() if not c.thread.is_alive()]:
            del _OPEN[number]  # one whose thread ended inside it (review2-s24 finding 6): it holds its callbacks
        _OPEN[call.number] = call
    _CURRENT.call = call
    return call


def _tag(request: Any, **_kwargs: Any) -> None:
    """botocore `before-send` handler: open a call for a request to a running emulator and name it."""
    url = str(getattr(request, "url", ""))
    if any(url.startswith(endpoint) for endpoint in list(_ENDPOINTS)):
        request.headers[CALLER_HEADER] = open_call().header


def _done(**_kwargs: Any) -> None:
    """botocore `response-received` handler (after every attempt, answered or failed): this thread's call is over."""
    call = getattr(_CURRENT, "call", None)
    if call is not None:
        _CURRENT.call = None
        call.close()


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

    for handler in (("before-send", _tag), ("response-received", _done)):
        if handler not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(handler)
    _ENDPOINTS.update(_names(endpoint_url))


def stop_serving(endpoint_url: str) -> None:
    _ENDPOINTS.difference_update(_names(endpoint_url))


def caller(environ: dict[str, Any]) -> Call | None:
    """The open call of this process a WSGI request is; None without the header, from another process, or over."""
    pid, _, number = str(environ.get(_ENVIRON_KEY, "")).partition(":")
    if pid != str(os.getpid()) or not number.isdigit():
        return None
    with _OPEN_LOCK:
        call = _OPEN.get(int(number))
    return call if call is not None and call.open else None
