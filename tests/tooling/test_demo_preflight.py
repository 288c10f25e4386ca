"""`make demo` begins with `sleepwake preflight`'s checks on its own parameters, as the deployer, in the fresh
emulator before anything is deployed; a failing check ends the demo there."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest

from localaws import demo, servicequotas
from localaws.local_stack import LocalStack


class Stop(Exception):
    """Ends LocalStack.start() after the preflight phase: the test needs no deploy."""


def start_until_deploy(parameters: dict[str, str] | None = None) -> tuple[demo.Timeline, dict[str, Any]]:
    timeline = demo.Timeline(io.StringIO())
    seen: dict[str, Any] = {}

    def before_deploy(local: LocalStack) -> None:
        seen["functions"] = local.emu.client("lambda").list_functions()["Functions"]
        demo.preflight_phase(local, timeline)
        raise Stop

    local = LocalStack(port=0, api_port=0, deployment_file=None, parameters=parameters, before_deploy=before_deploy)
    with contextlib.redirect_stdout(io.StringIO()) as log:
        try:
            local.start()
        except (Stop, demo.PhaseFailed) as ended:
            seen["ended"] = ended
    seen["log"] = log.getvalue()
    return timeline, seen


def test_the_demo_starts_with_a_passing_preflight_before_anything_is_deployed():
    timeline, seen = start_until_deploy()
    assert seen["functions"] == []
    assert isinstance(seen["ended"], Stop)
    assert [p["phase"] for p in timeline.phases] == ["preflight"]
    assert timeline.phases[0]["ok"], timeline.phases[0]["detail"]
    assert timeline.phases[0]["detail"].endswith("0 fail before the deploy")
    assert re.search(r"preflight ok   archive layout: \d+ entries: code/inference.py, model at the root", seen["log"])
    assert "[ok ] preflight:" in timeline.out.getvalue()  # type: ignore[attr-defined]


def test_a_failing_preflight_ends_the_demo_before_its_deploy(monkeypatch):
    monkeypatch.setattr(
        servicequotas.ServiceQuotasSwitches, "applied", 4.0
    )  # below the demo's FallbackMaxConcurrency 5
    timeline, seen = start_until_deploy()
    assert isinstance(seen["ended"], demo.PhaseFailed)
    assert timeline.phases[0]["ok"] is False
    assert "serverless quota: FallbackMaxConcurrency 5 + 0" in str(seen["ended"])


def test_make_demo_runs_the_preflight_phase(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    asked: dict[str, Any] = {}

    class Refused:
        def __init__(self, **kwargs: Any) -> None:
            asked.update(kwargs)

        def __enter__(self) -> Refused:
            raise RuntimeError("stopped before starting")

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(demo, "LocalStack", Refused)
    monkeypatch.setattr(demo, "plot", lambda timeline, path: None)
    assert demo.main(["--log", str(tmp_path / "demo.log")]) == 1
    assert callable(asked["before_deploy"])
