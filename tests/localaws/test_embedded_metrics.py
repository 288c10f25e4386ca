"""A function's embedded-metric-format log lines become CloudWatch metric data, as CloudWatch Logs extracts them
on AWS (localaws/cloudwatch_emf.py): the project's Powertools metrics reach CloudWatch on the local stack."""

from __future__ import annotations

import json
from datetime import timedelta

from localaws.cloudwatch_emf import metrics_of
from tests.localaws.conftest import make_function


def _invoke(emu, event: dict) -> None:
    response = emu.client("lambda").invoke(FunctionName="probe", Payload=json.dumps(event).encode())
    assert "FunctionError" not in response


def _statistics(emu, namespace: str, name: str, dimensions: list[dict]) -> tuple[float, ...]:
    """(SampleCount, Sum, Maximum) over the last hour; GetMetricData matches the dimensions exactly, as AWS does."""
    now = emu.now()
    queries = [
        {
            "Id": stat.lower(),
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                "Period": 7200,
                "Stat": stat,
            },
        }
        for stat in ("SampleCount", "Sum", "Maximum")
    ]
    results = emu.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1)
    )["MetricDataResults"]
    return tuple(r["Values"][0] if r["Values"] else 0.0 for r in results)


def test_powertools_metrics_of_a_function_reach_cloudwatch(emu):
    make_function(emu, "probe", "fn_probe")
    _invoke(emu, {"metric": 2.5})
    _invoke(emu, {"metric": 4.0})
    assert _statistics(emu, "Probe", "ProbeSeconds", [{"Name": "service", "Value": "probe"}]) == (2, 6.5, 4.0)


def test_each_dimension_set_of_a_directive_is_recorded_and_arrays_are_several_values(emu):
    make_function(emu, "probe", "fn_probe")
    line = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {"Namespace": "Probe", "Dimensions": [["service"], ["service", "path"]], "Metrics": [{"Name": "Hits"}]}
            ],
        },
        "service": "probe",
        "path": "fallback",
        "Hits": [1, 2, 3],
    }
    _invoke(emu, {"print": json.dumps(line)})
    by_service = _statistics(emu, "Probe", "Hits", [{"Name": "service", "Value": "probe"}])
    both = _statistics(
        emu, "Probe", "Hits", [{"Name": "service", "Value": "probe"}, {"Name": "path", "Value": "fallback"}]
    )
    assert by_service == both == (3, 6.0, 3.0)


def test_lines_that_do_not_follow_the_specification_stay_log_events():
    directive = {"Namespace": "Probe", "Dimensions": [["service"]], "Metrics": [{"Name": "Hits"}]}
    assert metrics_of("plain text") == [] and metrics_of('{"no": "aws"}') == []
    assert metrics_of(json.dumps({"_aws": {"CloudWatchMetrics": [directive]}, "Hits": 1})) == []  # no dimension
    assert metrics_of(json.dumps({"_aws": {"CloudWatchMetrics": [directive]}, "service": "p", "Hits": "1"})) == []
    too_many = {"_aws": {"CloudWatchMetrics": [directive]}, "service": "p", "Hits": list(range(101))}
    assert metrics_of(json.dumps(too_many)) == []
    good = {"_aws": {"CloudWatchMetrics": [directive]}, "service": "p", "Hits": 1}
    assert metrics_of(json.dumps(good)) == [("Probe", "Hits", [1.0], [{"Name": "service", "Value": "p"}], "None")]
