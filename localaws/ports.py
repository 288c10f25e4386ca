"""Listening sockets and the one-line answers for ports that cannot be used (busy, privileged, out of range).

Kept free of heavy imports so `make local` can check its ports before loading moto or deploying anything.
"""

from __future__ import annotations

import errno
import socket

MAX_PORT = 65535


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); OSError (e.g. EADDRINUSE) if it cannot."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server and werkzeug do
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0-65535 (0 lets the system pick a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a port number") from None
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"{port} is out of range (0-{MAX_PORT}; 0 picks a free port)")
    return port


def why_unusable(host: str, port: int) -> str | None:
    """None if host:port can be listened on now, else why not, in words (the port is tried, then released)."""
    try:
        listen(host, port, backlog=1).close()
    except OSError as error:
        return describe(error, port)
    return None


def describe(error: OSError, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} is already in use by another program"
    if error.errno == errno.EACCES:
        return f"port {port} needs privileges to listen on (ports below 1024 usually need root)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on port {port}: address not available"
    return f"cannot listen on port {port}: {error.strerror or error}"
