"""A serverless endpoint (the fallback): InvokeEndpoint without an inference component runs the model server
after a cold start, stays warm while used, goes cold after idling, writes EndpointName/VariantName metrics in
emulated time, and fails on the fault switch."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import EmulatedClock, Emulator
from localaws.sagemaker_serverless import SERVERLESS
from sleepwake.adapters.report_sources import ReportSources
from sleepwake.core.report import PathMetrics, Prices, build_report
from tests.localaws.conftest import START, make_serverless_endpoint, metric_total
from tests.waits import sleeping_until

COLD, EVICT = 15.0, 600.0
DIMS = [{"Name": "EndpointName", "Value": "ep-fallback"}, {"Name": "VariantName", "Value": "AllTraffic"}]


class CpuServer:
    loads: list[dict[str, str]] = []

    def __init__(self, environment: dict[str, str]) -> None:
        CpuServer.loads.append(environment)

    def invoke(self, body: bytes, content_type: str, accept: str) -> Any:
        from tests.localaws.conftest import Result

        if body == b"bad":
            return Result(400, b"not a WAV file", "text/plain", 1.0)
        return Result(200, b'{"ok": true}', "application/json", 250.0)

    def close(self) -> None:
        pass


CONTAINER = {"ModelDataUrl": "s3://b/m.tar.gz", "Environment": {"SLEEPWAKE_TARGET": "cpu"}}


@pytest.fixture
def emu():
    CpuServer.loads = []
    emulator = Emulator(
        EmulatedClock(start=START, speed=600),
        port=0,
        fallback_cold_start_seconds=COLD,
        fallback_idle_evict_seconds=EVICT,
        fallback_server_factory=CpuServer,
    ).start()
    make_serverless_endpoint(emulator, "ep-fallback", 5, container=CONTAINER)
    try:
        yield emulator
    finally:
        emulator.stop()


def _invoke(emu: Emulator, body: bytes = b"RIFF") -> tuple[bytes, float]:
    """The answer and the emulated seconds it took."""
    before = emu.now()
    answer = emu.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="ep-fallback", Body=body, ContentType="audio/wav", Accept="application/json"
    )
    return answer["Body"].read(), (emu.now() - before).total_seconds()


def test_the_first_request_waits_for_a_cold_start_and_loads_the_model_with_its_container_environment(emu):
    body, took = _invoke(emu)
    assert body == b'{"ok": true}'
    assert took >= COLD
    assert CpuServer.loads == [{"SLEEPWAKE_TARGET": "cpu"}]
    assert len(emu.serverless_endpoint("ep-fallback").cold_starts) == 1


def test_a_used_endpoint_stays_warm_and_goes_cold_after_idling(emu):
    _invoke(emu)
    with emu.clock.paused():  # no emulated time between the two requests, however slow this machine
        _, took = _invoke(emu)
    assert took < COLD
    assert len(CpuServer.loads) == 1
    emu.clock.advance(EVICT + 1)
    _, took = _invoke(emu)
    assert took >= COLD
    assert len(CpuServer.loads) == 2


def test_provisioned_concurrency_keeps_the_endpoint_warm_however_long_it_idles(emu):
    make_serverless_endpoint(emu, "ep-provisioned", 5, container=CONTAINER, provisioned=1)
    runtime = emu.client("sagemaker-runtime")

    def took() -> float:
        with emu.clock.paused():  # only the emulated cold start may move the clock during the request
            before = emu.now()
            runtime.invoke_endpoint(EndpointName="ep-provisioned", Body=b"RIFF", ContentType="audio/wav")
            return (emu.now() - before).total_seconds()

    assert took() < COLD  # warm from creation: no cold start on the first request
    emu.clock.advance(EVICT * 10)
    assert took() < COLD
    assert emu.serverless_endpoint("ep-provisioned").cold_starts == []
    assert len(CpuServer.loads) == 1


def test_invocations_latency_and_setup_time_carry_the_endpoint_and_variant(emu):
    _invoke(emu)
    _invoke(emu)
    assert metric_total(emu, "Invocations", DIMS) == 2
    assert metric_total(emu, "ModelLatency", DIMS) == 2 * 250_000  # microseconds, as AWS reports it
    assert metric_total(emu, "ModelSetupTime", DIMS) >= COLD * 1e6  # one cold start


def test_the_fault_switch_makes_every_request_fail_with_a_model_error(emu):
    emu.fail_fallback("ep-fallback", "out of memory")
    with pytest.raises(ClientError) as caught:
        _invoke(emu)
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert "out of memory" in caught.value.response["Error"]["Message"]
    assert metric_total(emu, "Invocation5XXErrors", DIMS) == 1
    emu.fail_fallback("ep-fallback", fail=False)
    assert _invoke(emu)[0] == b'{"ok": true}'


def test_a_handler_error_comes_back_as_a_model_error_with_a_4xx_metric(emu):
    with pytest.raises(ClientError) as caught:
        _invoke(emu, b"bad")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert "not a WAV file" in caught.value.response["Error"]["Message"]
    assert metric_total(emu, "Invocation4XXErrors", DIMS) == 1


def test_an_endpoint_with_instances_keeps_motos_canned_answer(emu):
    sm = emu.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="cfg-instances",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "ep-fallback-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="ep-instances", EndpointConfigName="cfg-instances")
    answer = emu.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="ep-instances", Body=b"x", ContentType="text/csv"
    )
    assert answer["Body"].read()
    assert CpuServer.loads == []


class _WatchedLock:
    """An endpoint's request lock that tells when a request has to wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waited = threading.Event()

    def acquire(self) -> bool:
        if self._lock.locked():
            self.waited.set()
        return self._lock.acquire()

    def release(self) -> None:
        self._lock.release()


@pytest.mark.parametrize("queued_setup", [False, True])
def test_a_request_queued_behind_a_cold_start_counts_in_the_reports_cold_fallbacks_as_the_switch_says(
    emu, queued_setup
):
    """Whether AWS writes a ModelSetupTime for a request that waited behind another's cold start is not
    published (localaws.sagemaker_serverless): the report's count of cold fallbacks over 3 s is read both ways."""
    emu.serverless.switches.setup_time_for_queued = queued_setup
    loading, loaded = threading.Event(), threading.Event()

    def slow_load(environment: dict[str, str]) -> CpuServer:
        loading.set()
        loaded.wait(30)  # the second request comes while the first's container starts
        return CpuServer(environment)

    emu.serverless.switches.model_server_factory = slow_load
    endpoint = SERVERLESS.lookup(emu.account, emu.region, "ep-fallback")
    assert endpoint is not None
    endpoint.lock.lock = _WatchedLock()  # type: ignore[assignment]
    began = emu.now()
    calls = [threading.Thread(target=_invoke, args=(emu,)) for _ in range(2)]
    calls[0].start()
    assert loading.wait(30)
    calls[1].start()
    assert endpoint.lock.lock.waited.wait(30)  # type: ignore[attr-defined]
    loaded.set()
    for call in calls:
        call.join(60)
    assert len(endpoint.cold_starts) == 1 and len(endpoint.requests) == 2

    start, end = began - timedelta(minutes=1), emu.now() + timedelta(minutes=1)
    fallback = ReportSources(None, emu.client("cloudwatch")).path("fallback", "ep-fallback", start, end, 3)
    prices = Prices(instance_per_hour=1.0, fallback_per_gb_second=0.0001, fallback_memory_gb=2.0)
    report = build_report([], PathMetrics(), fallback, start=start, end=end, awake_now=False, prices=prices,
                          estimate_seconds=260)  # fmt: skip
    assert report.slow_answers["cold_fallback"] == (2 if queued_setup else 1)


def test_on_a_jumping_clock_a_request_queued_behind_a_cold_start_waits_idle_with_its_caller(emu):
    """Two users' requests meet a cold fallback (its one container: the second queues behind the first's cold
    start): both callers wait on the cold start, so the idle clock jumps to its end (at speed 1 an hour away)."""
    emu.serverless.switches.cold_start_seconds = 3600
    endpoint = SERVERLESS.lookup(emu.account, emu.region, "ep-fallback")
    assert endpoint is not None
    endpoint.lock.lock = _WatchedLock()  # type: ignore[assignment]
    clock = emu.clock
    clock.set_speed(1)
    clock.jump_when_idle(True)
    began, answers = emu.now(), []

    def user() -> None:
        with clock.held():  # a driver, as the replay's users are
            answers.append(_invoke(emu))

    first, second = threading.Thread(target=user), threading.Thread(target=user)
    try:
        first.start()
        sleeping_until(clock, began + timedelta(minutes=59))  # the first request's cold start sleeps on the clock
        second.start()
        assert endpoint.lock.lock.waited.wait(30)  # type: ignore[attr-defined]
        first.join(60)
        second.join(60)
    finally:
        clock.jump_when_idle(False)
    assert len(answers) == 2 and len(endpoint.cold_starts) == 1
    assert emu.now() >= began + timedelta(hours=1)
