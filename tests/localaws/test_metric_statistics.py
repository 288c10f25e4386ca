"""GetMetricData's extended statistics on the emulator: percentiles and percentile rank, as `sleepwake report`
asks for them (CloudWatch User Guide, "Statistics definitions")."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.models import CloudWatchBackend

from localaws import clock as clock_mod
from localaws import cloudwatch
from tests.localaws.conftest import metric_total

DIMS = [{"Name": "InferenceComponentName", "Value": "ic"}]


def stats(emu, *names: str) -> dict[str, float | None]:
    now = clock_mod.now()
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": DIMS},
                "Period": 7200,
                "Stat": name,
            },
        }
        for i, name in enumerate(names)
    ]
    page = emu.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1)
    )
    found = {r["Id"]: (r["Values"] or [None])[0] for r in page["MetricDataResults"]}
    return {name: found[f"q{i}"] for i, name in enumerate(names)}


@pytest.mark.parametrize("method", ["nearest-rank", "linear"])
def test_percentiles_and_percentile_rank_of_latencies(emu, monkeypatch, method):
    monkeypatch.setattr(cloudwatch, "PERCENTILE_METHOD", method)
    for value in range(1, 11):  # 1..10 seconds, in microseconds
        cloudwatch.record(emu.account, emu.region, "AWS/SageMaker", "ModelLatency", value * 1e6, DIMS, "Microseconds")
    got = stats(emu, "p50", "p99", "Maximum", "SampleCount", "PR(:3000000)", "PR(3000000:)")
    assert got["Maximum"] == 10e6 and got["SampleCount"] == 10
    assert got["PR(:3000000)"] == 30.0  # 1, 2 and 3 s are at or below 3 s
    assert got["PR(3000000:)"] == 70.0  # the rest are above
    if method == "nearest-rank":
        assert (got["p50"], got["p99"]) == (5e6, 10e6)  # values that were published
    else:
        assert got["p50"] == pytest.approx(5.5e6) and got["p99"] == pytest.approx(9.91e6)


def test_a_statistic_cloudwatch_does_not_have_is_refused(emu):
    with pytest.raises(ClientError, match=r"InvalidParameterValue.*Median .*is not supported"):
        stats(emu, "Median")


def test_statistics_read_each_combination_of_dimensions_as_its_own_metric(emu):
    """A metric published under {service} and {service, component} (as the control plane's wait metrics are):
    GetMetricStatistics and GetMetricData each read exactly the dimensions asked for, and agree."""
    cw = emu.client("cloudwatch")
    now = clock_mod.now()
    service = {"Name": "service", "Value": "sleepwake"}
    both = [service, {"Name": "InferenceComponentName", "Value": "ic"}]
    for dims, value in (([service], 1.0), ([service], 2.0), (both, 10.0)):
        cw.put_metric_data(
            Namespace="Sleepwake",
            MetricData=[{"MetricName": "Waits", "Dimensions": dims, "Value": value, "Timestamp": now}],
        )

    def statistics(dims: list[dict[str, str]]) -> float:
        return metric_total(emu, "Waits", dims, namespace="Sleepwake")

    def data(dims: list[dict[str, str]]) -> float:
        query = {"Namespace": "Sleepwake", "MetricName": "Waits", "Dimensions": dims}
        page = cw.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": query, "Period": 600, "Stat": "Sum"}}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
        )
        return sum(page["MetricDataResults"][0]["Values"])

    assert statistics([service]) == data([service]) == 3.0
    assert statistics(list(reversed(both))) == data(both) == 10.0  # the order dimensions are given in is no matter
    assert statistics([]) == data([]) == 0.0  # nothing was published without dimensions
    assert statistics([{"Name": "InferenceComponentName", "Value": "ic"}]) == 0.0  # a combination never published


def test_totals_and_alarms_read_every_datum_whatever_order_or_path_it_came_by(emu):
    """The per-metric index the alarm rounds and target tracking read (cloudwatch._Index) catches up between
    reads: data recorded after a read, data stamped in the past (seeded history) and data put through the API
    all count, each metric and combination of dimensions apart."""
    from moto.cloudwatch.models import cloudwatch_backends

    now = clock_mod.now().replace(second=30, microsecond=0)
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=1)

    def record(value: float, at=None, name: str = "Requests", dims=DIMS) -> None:
        cloudwatch.record(emu.account, emu.region, "Sleepwake", name, value, dims, "Count", at)

    def total() -> float:
        return cloudwatch.total(emu.account, emu.region, "Sleepwake", "Requests", DIMS, start, end)

    record(1.0, now)
    assert total() == 1.0
    record(2.0, now - timedelta(minutes=5))  # older than the datum already read
    record(4.0, now - timedelta(minutes=20))  # before the window
    record(32.0, now, name="Other")  # another metric
    record(64.0, now, dims=[{"Name": "InferenceComponentName", "Value": "another"}])
    emu.client("cloudwatch").put_metric_data(
        Namespace="Sleepwake",
        MetricData=[
            {"MetricName": "Requests", "Dimensions": DIMS, "Value": 8.0, "Timestamp": now - timedelta(minutes=1)}
        ],
    )
    assert total() == 11.0

    emu.client("cloudwatch").put_metric_alarm(
        AlarmName="requests",
        Namespace="Sleepwake",
        MetricName="Requests",
        Dimensions=DIMS,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=9,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    backend = cloudwatch_backends[emu.account][emu.region]
    alarm = backend.alarms["requests"]
    assert cloudwatch.evaluate(backend, alarm, now)[0] == "OK"  # the minute before now: 8
    record(1.0, now - timedelta(seconds=45))  # into that minute, after it was read
    assert cloudwatch.evaluate(backend, alarm, now)[0] == "ALARM"  # 9


class _Datum:
    """A datum whose timestamp, when first read, runs `on_read`: another thread's PutMetricData landing while
    the index catches up with the backend's list."""

    def __init__(self, at, on_read=None) -> None:
        self.namespace, self.name, self._at, self._on_read = "Sleepwake", "Requests", at, on_read

    @property
    def timestamp(self):
        if self._on_read:
            self._on_read, run = None, self._on_read
            run()
        return self._at


def test_a_datum_put_while_the_alarms_index_catches_up_is_read_on_the_next_round():
    t0 = datetime(2026, 12, 7, 9, 0)
    data: list = []
    late = _Datum(t0 + timedelta(seconds=30))
    data.append(_Datum(t0, on_read=lambda: data.append(late)))
    backend = SimpleNamespace(metric_data=data)
    index = cloudwatch._Index()
    window = (t0, t0 + timedelta(minutes=1))
    assert index.window(backend, "Sleepwake", "Requests", *window) == [data[0]]  # `late` came meanwhile
    assert index.window(backend, "Sleepwake", "Requests", *window) == [data[0], late]


def test_put_metric_data_through_the_api_waits_for_the_index(emu):
    """moto's PutMetricData appends under the lock the index reads with (localaws.cloudwatch.put_metric_data)."""
    assert CloudWatchBackend.put_metric_data is cloudwatch.put_metric_data  # installed by the emulator
    with cloudwatch._LOCK:
        put = threading.Thread(
            target=emu.client("cloudwatch").put_metric_data,
            kwargs={"Namespace": "Sleepwake", "MetricData": [{"MetricName": "Requests", "Value": 1.0}]},
        )
        put.start()
        put.join(timeout=1.0)
        assert put.is_alive()  # held back while the lock is taken
    put.join(timeout=30)
    assert not put.is_alive()
