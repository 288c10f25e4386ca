"""A burst of HTTP requests over N simultaneous keep-alive connections, counting answers and resets.

`make bench-wake` and the wake API's tests use it to show that the local API holds a burst: every request
gets an HTTP answer (any status), none sees its connection reset, refused or closed before the answer.
All connections open at the same instant (a barrier), so the server's accept queue is tested too.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class BurstResult:
    connections: int
    requests: int
    codes: Counter[int] = field(default_factory=Counter)  # HTTP status -> how many
    failures: Counter[str] = field(default_factory=Counter)  # "ConnectionResetError" etc. -> how many
    latencies_ms: list[float] = field(default_factory=list)  # answered requests only, wall ms
    wall_seconds: float = 0.0

    @property
    def answers(self) -> int:
        return sum(self.codes.values())

    @property
    def resets(self) -> int:
        """Requests that got no HTTP answer: reset, refused, closed early or timed out."""
        return sum(self.failures.values())

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        failures = ", ".join(f"{n} {kind}" for kind, n in self.failures.most_common()) or "none"
        return (
            f"{self.requests} requests over {self.connections} connections in {self.wall_seconds:.1f} s: "
            f"{self.answers} answers {dict(sorted(self.codes.items()))}, {self.resets} without an answer "
            f"({failures}); p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms"
        )


def burst(
    url: str,
    *,
    method: str = "POST",
    path: str = "/wake",
    body: bytes | None = b'{"reason": "burst"}',
    requests: int = 300,
    connections: int = 64,
    timeout: float = 120.0,
    headers: dict[str, str] | None = None,
) -> BurstResult:
    """Send `requests` requests from `connections` threads, each on its own keep-alive connection.

    A connection that fails is opened again for that thread's next request (as a client's pool would).
    `headers` replace the default Content-Type header: pass SigV4-signed ones (`localaws.local_stack.sign`) for the
    local wake API, which checks signatures as API Gateway does (the emulator does not model the 5-minute
    validity window, so one signature serves the whole burst).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = BurstResult(connections=connections, requests=requests)
    tickets = itertools.count()
    lock = threading.Lock()
    start = threading.Barrier(connections)
    headers = headers or {"Content-Type": "application/json"}

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        start.wait()
        while next(tickets) < requests:
            began = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    result.codes[answer.status] += 1
                    result.latencies_ms.append(elapsed)
                if answer.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    result.failures[type(error).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, name=f"burst-{i}", daemon=True) for i in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.perf_counter() - began
    return result
