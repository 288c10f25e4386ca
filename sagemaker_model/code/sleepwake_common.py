"""What the handler's modules share: the toolkit's error type, the request error, the logger and settings read
from the environment. Part of the model archive's code/ (docs/model.md); the toolkit puts code/ on the path,
so the handler's modules import each other by name."""

from __future__ import annotations

import logging
import os
from typing import Any

try:  # The toolkit only turns BaseInferenceToolkitError into its status code; anything else becomes a 500.
    from sagemaker_inference.errors import BaseInferenceToolkitError
except ImportError:  # pragma: no cover - exercised only where the toolkit is absent (plain local runs)

    class BaseInferenceToolkitError(Exception):  # type: ignore[no-redef]
        """Same shape as sagemaker_inference.errors.BaseInferenceToolkitError."""

        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


logger = logging.getLogger("sleepwake.model")


class RequestError(BaseInferenceToolkitError):
    """A request the handler refuses: the toolkit answers with `status_code` and this message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message, message)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_number(name: str, default: Any, kind: Any) -> Any:
    """A misspelt setting must not fail every request (or crash model_fn in a restart loop): warn, use the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        logger.warning(
            "%s=%r is not a%s number; using the default %s", name, raw, "n integer" if kind is int else "", default
        )
        return default
