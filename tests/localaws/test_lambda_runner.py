"""Lambda Invoke runs the project's real handler code in-process, with its environment, a context object,
emulated time and AWS-shaped function errors."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from tests.localaws.conftest import ROLE, START, ensure_role, make_function
from tests.waits import CRAWL, eventually, sleeping_until


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


def test_invocations_run_at_once_each_in_an_execution_environment_of_its_function(emu):
    """As on AWS (Lambda developer guide, "Understanding Lambda function scaling"): an invocation reuses an idle
    environment of its function (warm: the same module globals), one arriving while all are busy gets a new one,
    and no invocation waits for another, of its function or any other: with one asleep for an hour of emulated
    time, the others answer while time stands still (the test holds the clock, which never jumps)."""
    make_function(emu, "probe", "fn_probe")
    make_function(emu, "other", "fn_probe")
    clock = emu.clock
    clock.set_speed(CRAWL)
    clock.jump_when_idle(True)
    began = clock.now()
    try:
        with clock.held():
            first = _invoke(emu, "probe", {})[0]["module"]
            assert _invoke(emu, "probe", {})[0]["module"] == first  # warm: the environment of the first
            payload = json.dumps({"clock_sleep": 3600}).encode()
            emu.client("lambda").invoke(FunctionName="probe", InvocationType="Event", Payload=payload)
            sleeping_until(clock, began + timedelta(minutes=59))  # the sleeper holds the warm environment
            beside, _ = _invoke(emu, "probe", {})
            other, _ = _invoke(emu, "other", {})
            [sleeper] = [record for record in emu.lambdas.invocations if "clock_sleep" in record.event]
            assert not sleeper.done
        assert eventually(lambda: sleeper.done)  # released, the clock jumps to the sleeper's end
    finally:
        clock.jump_when_idle(False)
    assert beside["module"] != first  # a new environment, with its own module globals
    for out in (beside, other):
        assert datetime.fromisoformat(out["now"]) < began + timedelta(minutes=1)


def test_no_handler_or_layer_module_uses_boto3s_default_session():
    """The emulator's functions share one process, so boto3's default session (boto3.client(), boto3.resource())
    would be shared by every function and environment, with whichever role made it first (localaws.lambdas,
    "Differs from AWS"); the project's handlers take their clients from sleepwake.runtime, one session per
    environment."""
    pattern = re.compile(r"\bboto3\.(client|resource|DEFAULT_SESSION|setup_default_session)\b|from boto3 import")
    sources = [*Path("functions").rglob("*.py"), *Path("layers/sleepwake").rglob("*.py")]
    assert sources
    using = [
        f"{path}:{n}"
        for path in sources
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert using == []


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
    minute beside the next emulator's start."""
    make_function(emu, "probe", "fn_probe")
    emu.client("lambda").invoke(
        FunctionName="probe", InvocationType="Event", Payload=json.dumps({"wall_sleep": 0.5}).encode()
    )
    assert emu.wait_for(lambda: len(emu.lambdas.invocations) == 1, timeout=60, poll=0.1)
    emu.stop()
    [record] = emu.lambdas.invocations
    assert record.done
    assert record.result is not None and record.result["event"] == {"wall_sleep": 0.5}


def test_a_metric_added_while_another_invocation_flushes_is_not_lost(emu):
    """Powertools keeps one metric set per process, which invocations running at once share here (on AWS each
    environment is a process of its own): a metric added while another invocation's flush is printing must reach
    the next flush, not be cleared with the first (localaws.lambdas._atomic_powertools_metrics)."""
    import contextlib
    import threading

    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="Probe", service="probe")
    printing, go_on, written = threading.Event(), threading.Event(), []

    class SlowStdout:
        def write(self, text: str) -> int:
            written.append(text)
            if '"First"' in text:  # the first flush, printing its document: hold it there
                printing.set()
                go_on.wait(30)
            return len(text)

        def flush(self) -> None:
            pass

    def first() -> None:
        metrics.add_metric(name="First", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()

    def second() -> None:
        metrics.add_metric(name="Second", unit=MetricUnit.Count, value=1)

    with contextlib.redirect_stdout(SlowStdout()):
        flushing = threading.Thread(target=first)
        flushing.start()
        assert printing.wait(30)
        adding = threading.Thread(target=second)
        adding.start()
        eventually(lambda: not adding.is_alive(), wall=1.0)  # done at once, unless it waits for the flush
        go_on.set()
        flushing.join(30)
        adding.join(30)
        metrics.flush_metrics()
    documents = [json.loads(text) for text in written if text.strip()]
    assert [[m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for d in documents] == [
        ["First"],
        ["Second"],
    ]
