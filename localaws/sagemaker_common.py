"""What the SageMaker modules share: the error answers, the model server's interface, and how model work
and emulated waits use the clock. Inference components (`localaws.sagemaker`), serverless endpoints
(`localaws.sagemaker_serverless`), the refusals (`localaws.sagemaker_rules`) and the moto hooks
(`localaws.sagemaker_api`) all build on this module and on nothing of each other's but what they import
explicitly, so there is no import cycle.

Error codes: the botocore sagemaker model declares ConflictException, ResourceInUse, ResourceLimitExceeded and
ResourceNotFound; SageMaker answers bad requests with ValidationException (not declared, so botocore raises a
plain ClientError with that code). sagemaker-runtime declares ValidationError and ModelError.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from moto.core.exceptions import ServiceException

from localaws import clock as clock_mod

LOG = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------- errors
class SageMakerValidation(ServiceException):
    code = "ValidationException"


class SageMakerThrottling(ServiceException):
    code = "ThrottlingException"  # not modelled for SageMaker in botocore; AWS sends it with HTTP 400


class SageMakerConflict(ServiceException):
    code = "ConflictException"  # botocore sagemaker service-2.json: ConflictException


class SageMakerResourceInUse(ServiceException):
    code = "ResourceInUse"  # botocore sagemaker service-2.json: ResourceInUse


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class RuntimeModelError(ServiceException):
    code = "ModelError"

    def __init__(self, message: str, original_status: int, original_message: str) -> None:
        super().__init__(message)
        self.OriginalStatusCode = original_status
        self.OriginalMessage = original_message


# ------------------------------------------------------------------------------------------ model server
class InvocationResultLike(Protocol):
    status: int
    body: bytes
    content_type: str
    model_latency_ms: float


class ModelServerLike(Protocol):
    def invoke(self, body: bytes, content_type: str, accept: str) -> InvocationResultLike: ...
    def close(self) -> None: ...


def close_quietly(server: ModelServerLike | None, what: str) -> None:
    """Close a model server whose copy or endpoint is going away; a failure to close is logged, not raised (the
    resource goes all the same)."""
    if server is not None:
        try:
            server.close()
        except Exception:
            LOG.exception("closing the model server of %s", what)


_MODEL_DIR_LOCK = threading.Lock()
_MODEL_DIR: Any = None


def model_dir(prepare: Callable[[], Any]) -> Any:
    """Prepare the model directory once per process (it is the same artefact for every copy)."""
    global _MODEL_DIR
    with _MODEL_DIR_LOCK:
        if _MODEL_DIR is None:
            _MODEL_DIR = prepare()
        return _MODEL_DIR


# ------------------------------------------------------------------------------------------------ clock
# Real model work (load, inference) takes wall time that the speed factor would multiply into minutes of
# emulated time; emulated time stands still during it instead (its cost is inside the provisioning times).
PAUSE_CLOCK_DURING_MODEL_WORK = True


def paused() -> Any:
    """A context in which emulated time stands still while real model work runs."""
    clock = clock_mod.current()
    if clock is None or not PAUSE_CLOCK_DURING_MODEL_WORK:
        return contextlib.nullcontext()
    return clock.paused()


def wait_while(still_wanted: Callable[[], bool], deadline: datetime) -> bool:
    """Wait until `deadline` (emulated); False as soon as the wait is no longer wanted. On the emulator's clock
    this is one wait for the deadline, the wish re-checked as the clock's sleepers re-check (every few wall ms):
    a jumping clock then jumps once, to the deadline, instead of once per polling step (a 600 s release polled
    every 5 s cost 120 jumps)."""
    clock = clock_mod.current()
    if clock:
        clock.wait_until(deadline, stop=lambda: not still_wanted())
        return still_wanted()
    while clock_mod.now() < deadline:  # no emulator clock: wall time
        if not still_wanted():
            return False
        clock_mod.sleep(min(1.0, (deadline - clock_mod.now()).total_seconds()))
    return still_wanted()
