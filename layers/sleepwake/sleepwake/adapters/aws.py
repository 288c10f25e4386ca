"""boto3 clients with one shared retry configuration; endpoints come from AWS_ENDPOINT_URL[_<SERVICE>]."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling with backoff; the state machines add their own Retry on top.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=70)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=RETRY_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (tests and the local stack change endpoints between runs)."""
    client.cache_clear()
