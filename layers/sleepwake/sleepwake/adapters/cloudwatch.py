"""CloudWatch: how many requests the component served recently (the idle rule reads this), its request history
per 5-minute slot (the planner learns from it), and the fallback's requests per minute (GET /status)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sleepwake.core import defaults, warmups
from sleepwake.core.warmups import OWN, Served, own_dimensions
from sleepwake.observability import SERVICE


class ComponentMetrics:
    def __init__(self, client: Any) -> None:
        self._cw = client

    def invocations(self, component: str, minutes: int, now: datetime) -> float:
        """Sum of AWS/SageMaker Invocations over the last `minutes`; no datapoints means no requests."""
        result = self._cw.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[{"Name": "InferenceComponentName", "Value": component}],
            StartTime=now - timedelta(minutes=minutes),
            EndTime=now,
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(point["Sum"] for point in result.get("Datapoints", [])))

    def fallback_served(self, endpoint: str, start: datetime, end: datetime) -> Served:
        """The fallback's requests per minute between `start` and `end`, and the control plane's own among them
        (its keep-warm pings and pre-warms, sleepwake.core.warmups), in one GetMetricData call: its
        AWS/SageMaker Invocations (a serverless endpoint has no inference component; its metrics carry
        EndpointName and VariantName) and the Sleepwake namespace's count of its own. GET /status derives both
        the users' recent requests and whether it is warm, since when, from this one read of a day.

        Why per minute over the whole day, not per minute for the last hour and per hour before: the GetMetricData
        API reference (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html)
        keeps 60-second data 15 days (300 s: 63 days; 3600 s: 455 days), returns up to 100,800 points a call
        (a day is at most 1,440 a query; minutes without data are left out) and rounds a StartTime under 15 days
        old down to the minute. Amazon CloudWatch pricing (https://aws.amazon.com/cloudwatch/pricing/) bills
        GetMetricData per metric requested ($0.01 per 1,000 in us-east-1), not per point: this read is 2 metrics
        whatever its period and window, and a second, coarser read would bill 4. And /status's `since` is a
        minute anywhere in the day: the first request of a warm run (after a gap of FallbackIdleEvictMinutes,
        which a 5-minute or hourly sum hides) or the last request of a cold one, up to 24 h back
        (tests/handlers/test_fallback.py checks both)."""
        queries = [
            _query("fallback", "EndpointName", endpoint, variant="AllTraffic", period=60),
            _own_query("fallback", endpoint, period=60),
        ]
        return self._per_period(queries, 60, start, end)

    def invocation_history(
        self, component: str, start: datetime, end: datetime, *, fallback_endpoint: str | None = None
    ) -> list[tuple[datetime, float]]:
        """Requests per 5-minute slot between `start` and `end`: the component's Invocations plus, when there is
        a fallback endpoint, its Invocations too (a request the fallback answered is demand all the same).
        GetMetricData returns at most 100,800 points per call; 28 days x 288 slots x 4 metrics fit, and the
        paginator (NextToken) covers the rest.

        Our own requests are not demand: without leaving them out, the keep-warm pings would teach the planner
        that users come whenever it pinged, and each wake's warm-up that they come whenever it woke. They are
        counted when they end (sleepwake.core.warmups), so a count is taken from its slot and the slot before
        (`less_own`)."""
        queries: list[dict[str, Any]] = [
            _query("component", "InferenceComponentName", component),
            _own_query("component", component),
        ]
        if fallback_endpoint:
            queries.append(_query("fallback", "EndpointName", fallback_endpoint, variant="AllTraffic"))
            queries.append(_own_query("fallback", fallback_endpoint))
        # Warm-ups that matched no request of their slot or the one before are no demand to take away: dropped.
        users = self._per_period(queries, SLOT_SECONDS, start, end).users()
        return [(at, total) for at, total in users if total > 0]

    def _per_period(self, queries: list[dict[str, Any]], period: int, start: datetime, end: datetime) -> Served:
        """Requests and the control plane's own (the queries `_own_query` made: Id OWN_ID_PREFIX...) per period
        of the queries (all of them `period` long), summed over the queries of each kind."""
        requests: dict[datetime, float] = {}
        own: dict[datetime, float] = {}
        pages = self._cw.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end
        )
        for page in pages:
            for series in page.get("MetricDataResults", []):
                into = own if str(series.get("Id", "")).startswith(OWN_ID_PREFIX) else requests
                for at, value in zip(series.get("Timestamps", []), series.get("Values", []), strict=False):
                    into[at] = into.get(at, 0.0) + float(value)
        return Served(period, requests, own)

    def record_own_requests(
        self,
        counted: Mapping[str, float],
        dimensions: list[dict[str, str]],
        at: datetime,
        seconds: Mapping[str, float] | None = None,
    ) -> None:
        """Count requests the control plane sent (sleepwake.core.warmups), `counted` by metric name, so the request
        history and the report leave them out of users' requests and failures; `seconds`: how long they took, by
        metric name (Unit Seconds)."""
        data = [(name, value, "Count") for name, value in counted.items()]
        data += [(name, value, "Seconds") for name, value in (seconds or {}).items()]
        self._cw.put_metric_data(
            Namespace=defaults.METRICS_NAMESPACE,
            MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value, "Unit": unit}
                for name, value, unit in data
            ],
        )


SLOT_SECONDS = 300  # the request history's period (sleepwake.core.planner's 5-minute slots)


def _query(
    query_id: str, dimension: str, value: str, *, variant: str | None = None, period: int = SLOT_SECONDS
) -> dict[str, Any]:
    """AWS/SageMaker Invocations of a component or an endpoint's variant per period (a slot unless told)."""
    dimensions = [{"Name": dimension, "Value": value}]
    if variant:
        dimensions.append({"Name": "VariantName", "Value": variant})
    return metric_query(query_id, "AWS/SageMaker", "Invocations", dimensions, period, "Sum")


OWN_ID_PREFIX = "own_"  # the Id of every query of the control plane's own requests, so _per_period tells them apart


def _own_query(path: warmups.Path, name: str, *, period: int = SLOT_SECONDS) -> dict[str, Any]:
    """The control plane's own requests to the component or fallback endpoint `name` per period (a slot unless
    told)."""
    return metric_query(
        OWN_ID_PREFIX + path,
        defaults.METRICS_NAMESPACE,
        OWN[path].requests,
        own_dimensions(path, name, SERVICE),
        period,
        "Sum",
    )


def metric_query(
    query_id: str, namespace: str, metric: str, dimensions: list[dict[str, str]], period: int, stat: str
) -> dict[str, Any]:
    """One GetMetricData MetricDataQuery of a metric's statistic per period."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


class Alarms:
    def __init__(self, client: Any) -> None:
        self._cw = client

    def rearm(self, alarm_name: str, reason: str) -> None:
        """Set the alarm to OK: it acts on entering ALARM only, so this lets the next breach act again."""
        self._cw.set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason=reason[:1023])
