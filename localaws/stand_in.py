"""A stand-in for the model handler: a copy (or the fallback's container) that loads at once and answers every
request with the same small JSON document, for runs that exercise the control plane, not the model (the
tests' stacks, `make replay`). The real handler is what `make demo` and the model tests run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STAND_IN_LATENCY_MS = 1.0  # the ModelLatency it reports for every answer


@dataclass
class StandInAnswer:  # not frozen: sagemaker_common.InvocationResultLike's fields are plain attributes
    status: int
    body: bytes
    content_type: str
    model_latency_ms: float


class StandInModel:
    """A model copy (or the fallback's container) that loads at once and answers every request 200 with
    `{"model": "stand-in", "bytes": <body length>}`; closing it makes it answer 503 as the real one does."""

    def __init__(self, _where: Any = None) -> None:  # an inference component, or the fallback's environment
        self.closed = False

    def invoke(self, body: bytes, content_type: str, accept: str) -> StandInAnswer:
        if self.closed:
            return StandInAnswer(503, b"model server is closed", "text/plain", 0.0)
        answer = json.dumps({"model": "stand-in", "bytes": len(body)}).encode()
        return StandInAnswer(200, answer, "application/json", STAND_IN_LATENCY_MS)

    def close(self) -> None:
        self.closed = True
