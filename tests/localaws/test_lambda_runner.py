"""Lambda Invoke runs the project's real handler code in-process, with its environment, a context object,
emulated time and AWS-shaped function errors."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from tests.localaws.conftest import ROLE, START, ensure_role, make_function
from tests.waits import sleeping_until


def _invoke(emu, name: str, event: dict) -> tuple[dict, str | None]:
    resp = emu.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(resp["Payload"].read()), resp.get("FunctionError")


def test_invoke_runs_the_handler_with_env_context_and_emulated_time(emu):
    make_function(emu, "probe", "fn_probe", {"GREETING": "hello"})
    out, error = _invoke(emu, "probe", {"k": 1})
    assert error is None
    assert out["event"] == {"k": 1}
    assert out["greeting"] == "hello"
    assert out["function_name"] == "probe"
    assert out["remaining_ms_positive"] is True
    assert out["sibling"] == "helper"
    assert datetime.fromisoformat(out["now"]).year == START.year  # sleepwake.clock reads the emulated clock


def test_unhandled_exception_is_a_function_error_named_after_the_class(emu):
    make_function(emu, "probe", "fn_probe")
    out, error = _invoke(emu, "probe", {"raise": "bad input"})
    assert error == "Unhandled"
    assert out["errorType"] == "ProbeError"
    assert out["errorMessage"] == "bad input"


def test_function_environment_is_not_visible_outside_the_invocation(emu):
    make_function(emu, "a", "fn_probe", {"GREETING": "from-a"})
    make_function(emu, "b", "fn_probe", {"GREETING": "from-b"})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: _invoke(emu, n, {})[0]["greeting"], ["a", "b"] * 4))
    assert results == ["from-a", "from-b"] * 4
    assert "GREETING" not in os.environ


def test_a_handler_queued_behind_one_sleeping_on_the_clock_lets_it_jump(emu):
    """With isolated containers (a deployed stack's) handlers run one at a time; one queued behind a handler
    that waits on the clock (a pre-warm waiting on a cold fallback) waits idle, with its caller, so the clock
    jumps to that wait's end (at speed 1, crawling through it would take an hour)."""
    make_function(emu, "sleeper", "fn_probe")
    make_function(emu, "next", "fn_probe")
    emu.lambdas.isolate("boto3", "DEFAULT_SESSION", lambda: None)
    clock = emu.clock
    clock.set_speed(1)
    clock.jump_when_idle(True)
    began = clock.now()
    try:
        with clock.held():
            payload = json.dumps({"clock_sleep": 3600}).encode()
            emu.client("lambda").invoke(FunctionName="sleeper", InvocationType="Event", Payload=payload)
            sleeping_until(clock, began + timedelta(minutes=59))  # the sleeper holds its container, asleep on the clock
            out, error = _invoke(emu, "next", {})
    finally:
        clock.jump_when_idle(False)
    assert error is None
    assert datetime.fromisoformat(out["now"]) >= began + timedelta(hours=1)


def test_unregistered_function_fails_loudly(emu):
    import io
    import zipfile

    ensure_role(emu)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "")
    emu.client("lambda").create_function(
        FunctionName="ghost",
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    out, error = _invoke(emu, "ghost", {})
    assert error == "Unhandled"
    assert "no code registered" in out["errorMessage"]


def test_stopping_the_emulator_lets_an_event_invocation_under_way_finish_its_calls(emu):
    """A handler still running after the server stopped would call a closed port, its SDK retrying for half a
    minute while it holds the container lock the next emulator's start waits for."""
    make_function(emu, "probe", "fn_probe")
    emu.client("lambda").invoke(
        FunctionName="probe", InvocationType="Event", Payload=json.dumps({"wall_sleep": 0.5}).encode()
    )
    assert emu.wait_for(lambda: len(emu.lambdas.invocations) == 1, timeout=60, poll=0.1)
    emu.stop()
    [record] = emu.lambdas.invocations
    assert record.done
    assert record.result is not None and record.result["event"] == {"wall_sleep": 0.5}
