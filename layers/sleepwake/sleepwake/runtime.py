"""The control plane of this process, and the one hook for whoever hosts the layer outside Lambda.

On AWS a Lambda container builds its control plane once, from its environment: the settings, one boto3
session (the function's role credentials, AWS_ENDPOINT_URL[_<SERVICE>] endpoints) and its clients, with the
wall clock. A host that runs the layer otherwise says so through `host(...)`: the local stack runs every
function in one process on an emulated clock, so it passes its clock and which `Container` the invocation
in progress belongs to (one per function, as on AWS). The handler tests `install` a plane wired to fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sleepwake import clock
from sleepwake.adapters.aws import RETRY_CONFIG
from sleepwake.control.plane import ControlPlane
from sleepwake.control.ports import Adapters
from sleepwake.settings import Settings


@dataclass
class Container:
    """What one Lambda container builds once and keeps: its boto3 session (the function's role credentials,
    read when first used), clients and control plane."""

    plane: ControlPlane | None = None
    clients: dict[str, Any] = field(default_factory=dict)
    session: Any = None

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self._session().client(service, config=RETRY_CONFIG)
        return self.clients[service]

    def resource(self, service: str) -> Any:
        return self._session().resource(service, config=RETRY_CONFIG)

    def _session(self) -> Any:
        if self.session is None:
            import boto3

            self.session = boto3.session.Session()
        return self.session


_process = Container()
_current: Callable[[], Container] = lambda: _process  # noqa: E731


def plane() -> ControlPlane:
    """The control plane for this container's environment, built on first use."""
    container = _current()
    if container.plane is None:
        settings = Settings()  # filled from the environment the template sets
        adapters = Adapters.from_clients(settings, container.client, container.resource("dynamodb"))
        container.plane = ControlPlane(settings, adapters)
    return container.plane


def client(service: str) -> Any:
    """A boto3 client of this container (for a handler outside the control plane, e.g. scaling adoption)."""
    return _current().client(service)


def resource(service: str) -> Any:
    """A boto3 resource of this container."""
    return _current().resource(service)


def host(
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    containers: Callable[[], Container] | None = None,
) -> None:
    """Run the layer under a host: its clock for every handler, and `containers()` naming the container of the
    invocation in progress (None: one for the process). Every control plane built so far is forgotten, so
    the next ones read the host's environment and endpoints."""
    global _current, _process
    clock.use(now, sleep)
    _process = Container()
    _current = containers or (lambda: _process)


def unhost() -> None:
    """Back to Lambda's own terms: the wall clock, one container for the process, nothing cached."""
    global _current, _process
    clock.reset()
    _process = Container()
    _current = lambda: _process  # noqa: E731


def install(control_plane: ControlPlane) -> None:
    """Use `control_plane` for every handler in this process (the handler tests wire their own adapters)."""
    _current().plane = control_plane


def reset() -> None:
    """Forget the control plane and clients built so far (tests re-point the environment between runs)."""
    container = _current()
    container.plane, container.session = None, None
    container.clients.clear()
