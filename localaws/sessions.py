"""boto3 sessions of the emulator's process, all sharing one botocore loader.

On AWS each Lambda container is a process that parses the service models it uses once (botocore.loaders caches
them per loader). Here every function's container, Step Functions' task clients, the wake API's Lambda client and
the emulator's own clients live in one process, and a loader per session parsed the models again: ~100 ms of
CPU per client of a new session. boto3's default session is not used for the emulator's own clients either: it
is one for the process, so it would carry the credentials of whoever made it first (a handler's role, if a handler
used it; the project's do not, localaws.lambdas).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.loaders
import botocore.session


class _SearchPaths(list[str]):
    """A loader's search paths that each boto3 session adds its own data folder to only once (sessions are made
    on many threads: the check and the append happen under one lock)."""

    _lock = threading.Lock()

    def append(self, path: str) -> None:
        with self._lock:
            if path not in self:
                super().append(path)


_LOADER = botocore.loaders.Loader(extra_search_paths=_SearchPaths())


def session() -> Any:
    """A new boto3 session on the shared loader (a session is not thread-safe: one per user); credentials are
    read from the environment of the thread that makes its first client, unless given to the client."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core)


def client(service: str, **kwargs: Any) -> Any:
    """A client of a new session on the shared loader (boto3's low-level clients are thread-safe)."""
    return session().client(service, **kwargs)
