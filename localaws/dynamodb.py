"""DynamoDB conditional writes made atomic under concurrency.

moto checks a ConditionExpression and then writes, with no lock between: under a threaded server two
concurrent conditional writes can both pass their check. DynamoDB guarantees one winner, and sleepwake's
one-wake rule rests on that guarantee, so every write action here runs under one lock.
Differs from AWS: writes to different items also serialise (throughput is not what this emulates).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def install() -> None:
    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, "_localaws_atomic", False):
            continue

        def atomic(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        functools.update_wrapper(atomic, original)
        atomic._localaws_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)


def installed() -> bool:
    return all(getattr(getattr(DynamoDBBackend, n, None), "_localaws_atomic", True) for n in _WRITES)
