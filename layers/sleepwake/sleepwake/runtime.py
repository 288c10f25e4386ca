"""The control plane of this process: built once per Lambda container from its environment, or installed by
whoever hosts the layer (the handler tests and the local stack wire their own adapters)."""

from __future__ import annotations

from sleepwake import settings as settings_module
from sleepwake.adapters import aws
from sleepwake.control.plane import ControlPlane
from sleepwake.control.ports import Adapters

_instance: ControlPlane | None = None


def plane() -> ControlPlane:
    """The control plane for this Lambda's environment, built once per container."""
    global _instance
    if _instance is None:
        import boto3

        loaded = settings_module.load()
        dynamodb = boto3.resource("dynamodb", config=aws.RETRY_CONFIG)
        _instance = ControlPlane(loaded, Adapters.from_clients(loaded, aws.client, dynamodb))
    return _instance


def install(control_plane: ControlPlane) -> None:
    """Use `control_plane` for every handler in this process."""
    global _instance
    _instance = control_plane


def reset() -> None:
    """Forget the cached control plane, settings and clients (tests and the local stack re-point them)."""
    global _instance
    _instance = None
    settings_module.load.cache_clear()
    aws.reset()
