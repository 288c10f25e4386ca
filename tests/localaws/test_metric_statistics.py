"""GetMetricData's extended statistics on the emulator: percentiles and percentile rank, as `sleepwake report`
asks for them (CloudWatch User Guide, "Statistics definitions")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from localaws import clock as clock_mod
from localaws import cloudwatch

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
