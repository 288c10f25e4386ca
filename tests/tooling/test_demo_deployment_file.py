"""`make demo` beside a running `make local`: the demo writes its own deployment file, so the one `make local`
wrote (and every line it printed) keeps pointing at the running stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localaws import demo
from sleepwake_cli.deployment import LOCAL_DEPLOYMENT


class Refused:
    """Stands in for LocalStack: records what the demo asks for, then fails the way a busy port would."""

    asked: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        Refused.asked = kwargs

    def __enter__(self) -> Refused:
        raise RuntimeError("stopped before deploying")

    def __exit__(self, *exc: object) -> None:
        return None


def test_make_demo_writes_its_own_deployment_file_not_make_locals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo, "LocalStack", Refused)
    monkeypatch.setattr(demo, "plot", lambda timeline, path: None)
    assert demo.main(["--log", str(tmp_path / "demo.log")]) == 1
    written = Path(Refused.asked["deployment_file"])
    assert written == demo.OUT / "deployment.json"
    assert written.resolve() != LOCAL_DEPLOYMENT.resolve()
