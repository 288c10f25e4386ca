"""After a local stack has run a Lambda handler in this process, os.environ is the emulator's per-thread
environment; code that runs later in the same process (a test worker, the CLI in-process) still gets all of
what os.environ offers: `|`, `|=`, copy(), setdefault(), repr()."""

from __future__ import annotations

import json
import os
import threading

import pytest

from localaws.lambdas import ThreadEnviron
from tests.localaws.conftest import make_function


def test_os_environ_keeps_its_operators_after_a_stack_ran_a_handler(emu, monkeypatch):
    make_function(emu, "probe", "fn_probe", {"GREETING": "hello"})
    emu.client("lambda").invoke(FunctionName="probe", Payload=json.dumps({}).encode())
    assert isinstance(os.environ, ThreadEnviron)
    monkeypatch.setenv("SLEEPWAKE_ENV_PROBE", "base")

    merged = os.environ | {"A": "1"}
    assert type(merged) is dict and merged["A"] == "1" and merged["SLEEPWAKE_ENV_PROBE"] == "base"
    assert ({"SLEEPWAKE_ENV_PROBE": "mine", "B": "2"} | os.environ)["SLEEPWAKE_ENV_PROBE"] == "base"
    copied = os.environ.copy()
    assert type(copied) is dict and copied == dict(os.environ)
    assert "GREETING" not in copied  # the handler's environment stayed with its invocation

    monkeypatch.delenv("SLEEPWAKE_ENV_PROBE")
    environ = os.environ
    environ |= {"SLEEPWAKE_ENV_PROBE": "ior"}
    assert os.environ is environ and os.environ["SLEEPWAKE_ENV_PROBE"] == "ior"
    assert os.environ.setdefault("SLEEPWAKE_ENV_PROBE", "other") == "ior"
    assert repr(os.environ).startswith("environ({")
    with pytest.raises(TypeError):
        os.environ | [("A", "1")]  # os._Environ refuses a non-mapping too


def test_a_thread_with_an_overlay_merges_and_copies_its_own_view():
    environ = ThreadEnviron({"SHARED": "base", "KEPT": "k"})
    seen: dict[str, dict[str, str]] = {}

    def handler() -> None:
        mine = environ  # `environ |= ...` here would make environ a local name
        mine.push_overlay({"SHARED": "mine"})
        try:
            mine |= {"SET": "here"}
            seen["merged"] = mine | {"X": "1"}
            seen["copy"] = mine.copy()
        finally:
            mine.pop_overlay()

    thread = threading.Thread(target=handler)
    thread.start()
    thread.join()
    assert seen["merged"] == {"SHARED": "mine", "SET": "here", "KEPT": "k", "X": "1"}
    assert seen["copy"] == {"SHARED": "mine", "SET": "here", "KEPT": "k"}
    assert environ.copy() == {"SHARED": "base", "KEPT": "k"}  # other threads never saw the overlay
