"""Lambda: invoke a function asynchronously (the wake API hands the fallback's pre-warm to the warm-up function)."""

from __future__ import annotations

import json
from typing import Any


class Functions:
    def __init__(self, client: Any) -> None:
        self._lambda = client

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None:
        """InvocationType Event: Lambda queues the event and answers 202 at once; the caller never waits for
        the function (Lambda retries a failed run twice on its own)."""
        self._lambda.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
