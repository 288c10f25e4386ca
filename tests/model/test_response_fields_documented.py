"""docs/model.md describes every field the model handler answers, so a client never meets an undocumented one."""

from __future__ import annotations

import json
import re
from typing import Any

from sagemaker_model.model_server import ModelServer
from tests.conftest import ROOT

SPEECH = ROOT / "layers" / "sleepwake" / "sleepwake" / "assets" / "warmup.wav"


def _field_names(doc: dict[str, Any], prefix: str = "") -> set[str]:
    """`key`, or `parent.child` inside nested objects (a list such as `segments` is described as a whole)."""
    names = set()
    for key, value in doc.items():
        names |= _field_names(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return names


def test_every_response_field_is_in_the_model_docs(server: ModelServer) -> None:
    result = server.invoke(SPEECH.read_bytes(), "audio/wav")
    assert result.status == 200, result.body[:300]
    answered = _field_names(json.loads(result.body))

    table = (ROOT / "docs" / "model.md").read_text(encoding="utf-8").split("### Response fields", 1)[-1]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE))

    assert answered - documented == set(), "add these to the Response fields table of docs/model.md"
    assert documented - answered == set(), "docs/model.md documents fields the handler no longer answers"
