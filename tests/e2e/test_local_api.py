"""The local wake API as callers meet it over HTTP: a burst over many connections, and the edges API Gateway
answers itself (see localaws/apigateway.py for what AWS does at each and the sources)."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from localaws.activity import Activity
from localaws.burst import burst
from localaws.local_stack import LocalStack, sign
from tests.e2e.conftest import sleep_now
from tests.stacks import as_deployed, local_stack
from tests.waits import eventually, held_still


@pytest.fixture(scope="module")
def deployed() -> Iterator[LocalStack]:
    with local_stack(jump=True, shared=True) as stack:
        yield stack


@pytest.fixture
def local(deployed: LocalStack) -> Iterator[LocalStack]:
    """The module's stack as deployed, whatever the test before did (tests/stacks.py)."""
    with as_deployed(deployed) as stack:
        yield stack


def signed(local: LocalStack, method: str, path: str, body: bytes | None) -> dict[str, str]:
    """SigV4 headers of the stack's operator: the local API checks signatures as API Gateway does."""
    assert local.operator_keys is not None
    return sign(local.operator_keys, method, f"{local.api_url}{path}", body, {}, local.emu.region)


def ask(local: LocalStack, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    parts = urlsplit(local.api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=signed(local, method, path, body))
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def test_300_wakes_over_64_simultaneous_connections_all_get_an_answer_and_start_one_wake(local):
    with contextlib.redirect_stdout(io.StringIO()):
        sleep_now(local)
    before = len(local.executions("Wake"))
    body = b'{"reason": "burst"}'
    headers = signed(local, "POST", "/wake", body) | {"Content-Type": "application/json"}
    result = burst(local.api_url, body=body, requests=300, connections=64, headers=headers)
    assert result.resets == 0, result.line()
    assert result.answers == 300, result.line()
    assert set(result.codes) <= {200, 202}, result.line()
    assert len(local.executions("Wake")) - before == 1
    local.wait_for_state("ready", timeout=900)  # the burst's wake ends before the next test


def test_status_answers_while_the_fallbacks_pre_warm_waits_out_its_cold_start(local):
    """On AWS each function runs in execution environments of its own (Lambda developer guide, "Understanding
    Lambda function scaling"), so /status does not wait for the pre-warm function, which waits out the fallback's
    cold start (15 emulated s): the answer comes while the pre-warm still sleeps on the clock, and emulated time
    all but stands still meanwhile."""
    clock, fallback = local.clock, local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])
    switches = local.emu.serverless.switches
    switches.idle_evict_seconds = 0  # the post-deploy warm-up's container is gone: the pre-warm meets a cold start
    cold_starts, began = len(fallback.cold_starts), clock.now()
    cold_end = began + timedelta(seconds=switches.cold_start_seconds)
    with held_still(clock):
        local.emu.client("lambda").invoke(
            FunctionName=str(local.stack.ref("WarmupFunction")),
            InvocationType="Event",
            Payload=json.dumps({"target": "fallback"}).encode(),
        )
        assert eventually(lambda: any(cold_end <= when < cold_end + timedelta(seconds=1) for when in clock.sleepers()))
        try:
            status = local.status()
        except TimeoutError:
            pytest.fail("/status got no answer in 60 wall s: it waited for the pre-warm, asleep on the held clock")
        answered = clock.now()
    assert status["fallback"]["endpoint"] == local.outputs["FallbackEndpointName"]
    assert answered < began + timedelta(seconds=1), f"/status answered {answered - began} after the pre-warm began"
    assert local.emu.wait_for(lambda: len(fallback.cold_starts) > cold_starts, timeout=600, poll=1)


def test_the_root_path_is_api_gateways_missing_authentication_token(local):
    for path in ("/", "/v1", "/v1/"):
        status, headers, body = ask(local, "GET", path)
        assert status == 403, path
        assert json.loads(body) == {"message": "Missing Authentication Token"}
        assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_method_api_gateway_does_not_support_is_missing_authentication_token(local):
    status, headers, _ = ask(local, "TRACE", "/status")
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_an_unknown_path_reaches_the_function_through_the_catch_all_and_gets_its_404(local):
    status, _, body = ask(local, "GET", "/v1/nope")
    assert status == 404
    assert "no route GET /nope" in json.loads(body)["message"]


def test_a_trailing_slash_reaches_the_same_route(local):
    status, _, body = ask(local, "GET", "/v1/status/")
    assert status == 200
    assert "state" in json.loads(body)
    status, _, body = ask(local, "POST", "/status/")
    assert status == 405
    assert json.loads(body)["allowed"] == ["GET"]


def test_head_gets_the_functions_answer_without_a_body(local):
    status, headers, body = ask(local, "HEAD", "/v1/status")
    assert status == 405
    assert body == b""
    assert int(headers["content-length"]) > 0  # the length of the body a GET-like answer carries


def test_options_reaches_the_function_which_names_the_allowed_method(local):
    status, _, body = ask(local, "OPTIONS", "/v1/wake")
    assert status == 405
    assert json.loads(body)["allowed"] == ["POST"]


def test_a_body_over_4_kib_is_refused_by_the_function_and_over_10_mb_by_the_gateway(local):
    status, _, body = ask(local, "POST", "/v1/wake", b'{"reason": "' + b"x" * 5000 + b'"}')
    assert status == 413
    assert "4096" in json.loads(body)["message"]
    parts = urlsplit(local.api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:  # the gateway answers from the declared length, without reading 10 MB
        conn.putrequest("POST", "/v1/wake")
        conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 413
        assert answer.getheader("x-amzn-ErrorType") == "RequestTooLargeException"
    finally:
        conn.close()


def test_a_reason_over_200_characters_names_the_field_and_the_limit(local):
    status, _, body = ask(local, "POST", "/v1/wake", json.dumps({"reason": "x" * 201}).encode())
    assert status == 422
    message = json.loads(body)["message"]
    assert "reason" in message and "200" in message


def wait_for(lines: list[str], pattern: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in list(lines) if re.search(pattern, line)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(lines))


def _idle_checks_answered(local) -> int:
    """The idle-check function's invocations that have ended (the schedule invokes it asynchronously)."""
    return sum(
        1
        for r in list(local.emu.lambdas.invocations)
        if isinstance(r.event, dict) and r.event.get("trigger") == "idle" and r.done
    )


def test_what_happens_is_one_line_each_in_emulated_time_failures_with_their_reason(local):
    """Runs last: it leaves the component failed."""
    local.wait_for_state({"ready", "asleep"}, timeout=900)  # no wake in flight: the forced sleep below would skip
    lines: list[str] = []
    activity = Activity(local, lines.append).start()
    try:
        # An idle check says one line when it ends: what it did (no firing or start line).
        local.emu.fire_schedule(local.outputs["IdleCheckScheduleName"])
        wait_for(lines, r"Z  sleep +\S+ \(idle check\) (skipped the sleep: .+|succeeded after \d+ s)$")
        assert not any(" fired " in line or "(trigger idle)" in line for line in lines), lines

        with contextlib.redirect_stdout(io.StringIO()):
            sleep_now(local)
        wait_for(lines, r"Z  state +\w+ -> asleep")
        # The watcher sees the state change and the forced sleep's end on separate polls, in either order: its line
        # must be out before the idle checks' lines are read (a full run saw it land among them).
        wait_for(lines, r"Z  sleep +forced-\S+ succeeded after \d+ s$")
        # Asleep: an idle check says at most one line (why it skipped), and one skipping for the same reason as
        # the check before it says nothing.
        said = []
        for _ in range(2):
            checked = _idle_checks_answered(local)
            before = len(lines)
            local.emu.fire_schedule(local.outputs["IdleCheckScheduleName"])
            assert local.emu.wait_for(
                lambda checked=checked: _idle_checks_answered(local) > checked, timeout=600, poll=1
            )
            time.sleep(1.0)  # the watcher polls every 0.1 s
            # Only the sleep lines: the scaling alarms may change state meanwhile (their own lines).
            said.append([line for line in lines[before:] if re.search(r"Z  sleep ", line)])
        assert len(said[0]) <= 1 and said[1] == [], said
        assert all("(idle check) skipped the sleep: " in line for line in said[0]), said
        ic = local.outputs["InferenceComponentName"]
        local.emu.fail_next_provisioning(ic, "Model container failed health checks")
        code, _ = local.wake(reason="doomed")
        assert code == 202
        wait_for(lines, r"Z  state +asleep -> waking: api: doomed$")
        wait_for(lines, r"Z  wake +started wake-\S+ \(api: doomed\)$")
        wait_for(lines, r"Z  copies +desired 1, serving 0 \(Updating\)$")
        wait_for(lines, r"Z  failure +.*Model container failed health checks", timeout=300)
        wait_for(lines, r"Z  state +\w+ -> failed")
    finally:
        activity.stop()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  [a-z]+ +\S", line) for line in lines), lines
    assert not any("Traceback" in line for line in lines)
