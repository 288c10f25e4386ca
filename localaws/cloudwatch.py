"""CloudWatch metric data written by the emulated services and the functions, read in emulated time.

Metrics go into moto's cloudwatch backend (so GetMetricStatistics/GetMetricData read them) with emulated
timestamps. `evaluate` gives one metric alarm's state over its last EvaluationPeriods complete periods; the
thread that evaluates every alarm once per its period and delivers state changes (events, SNS, Application Auto
Scaling) is localaws/cloudwatch_alarms.py, woken by `kick()` whenever data or alarms change.

GetMetricData for metric-stat queries (the planner's request history) is replaced (`install()`): moto 5.2.5's
walks every datum for every period (28 days at Period 300 is 8,064 periods times every datum recorded, minutes
per call on a stack that has run for a while), starts its periods at StartTime unrounded, and drops the
namespace filter as soon as a query has dimensions. Here each query buckets the data once, StartTime is rounded
as the GetMetricData API reference says ("Start time less than 15 days ago - round down to the nearest whole
minute; between 15 and 63 days ago - round down to the nearest 5-minute clock interval; greater than 63 days
ago - round down to the nearest 1-hour clock interval"), periods count from the rounded start, and a datum
matches on namespace, name and exactly its dimensions. Queries with an Expression still go to moto.

GetMetricStatistics is replaced too (`install()`): moto 5.2.5's (moto/cloudwatch/models.py,
`get_metric_statistics`) keeps every datum whose dimensions include the requested ones (a subset match; with no
dimensions, every datum of the metric), so a metric published under {A} and {A, B} summed both. AWS
(GetMetricStatistics API reference, Dimensions): "If the metric contains multiple dimensions, you must include a
value for each dimension. CloudWatch treats each unique combination of dimensions as a separate metric. If a
specific combination of dimensions was not published, you can't retrieve statistics for it." Here a datum
matches on exactly its dimensions (`_same_dimensions`, one rule for both reads, the alarm evaluator and
`total`); periods still start at the first matching datum, as moto's do.

GetMetricData's metric-stat queries take the basic statistics and the extended ones pNN and PR(X:Y) (see
`_stat`), which `sleepwake report` reads.

Differs from AWS: only single-metric alarms with Statistic (no metric math, no percentile alarms, no anomaly
detection); no evaluation delay beyond period alignment; ExtendedStatistic and composite alarms are ignored.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import InvalidParameterValue
from moto.cloudwatch.models import CloudWatchBackend, MetricDatum, cloudwatch_backends

from localaws import clock as clock_mod

LOG = logging.getLogger(__name__)
_LOCK = threading.Lock()


def record(
    account: str,
    region: str,
    namespace: str,
    name: str,
    value: float,
    dims: list[dict[str, str]],
    unit: str,
    at: datetime | None = None,
) -> None:
    """One datum at the emulated now, or at `at` (seeded history); moto keeps naive UTC timestamps."""
    backend: CloudWatchBackend = cloudwatch_backends[account][region]
    ts = (at or clock_mod.now()).astimezone(UTC).replace(tzinfo=None)
    with _LOCK:
        backend.metric_data.append(MetricDatum(namespace, name, value, dims, ts, unit))
    kick()


# The alarm evaluators' wake-ups (localaws.cloudwatch_alarms): new data, a new or changed alarm, an execution that
# starts or ends, a component whose copies change. An evaluator with nothing to change sleeps until one of them.
_KICKS: list[threading.Event] = []


def kick() -> None:
    for event in list(_KICKS):
        event.set()


class _Index:
    """The backend's `metric_data` by (namespace, name), each sorted by timestamp, caught up with the list on each
    read: the alarm rounds (every minute) and target tracking's per-minute totals read one metric's last minutes,
    and scanning every datum recorded so far for each made a replayed week's rounds grow with its data (the
    evaluator's CPU was a tenth of the replay's wall time by its last day). Reads only: what is stored is moto's
    list, as before. Call with _LOCK held."""

    def __init__(self) -> None:
        self._source: list[Any] | None = None
        self._seen = 0
        self._by_metric: dict[tuple[str, str], tuple[list[datetime], list[Any]]] = {}

    def window(self, backend: CloudWatchBackend, namespace: str, name: str, lo: datetime, hi: datetime) -> list[Any]:
        """The data of one metric with lo <= timestamp < hi (naive UTC), oldest first."""
        data = backend.metric_data
        if data is not self._source or len(data) < self._seen:  # another backend, or moto reset it
            self._source, self._seen, self._by_metric = data, 0, {}
        new = data[self._seen :]
        self._seen += len(new)  # not len(data): what is appended meanwhile is caught up on the next read
        for md in new:
            times, items = self._by_metric.setdefault((md.namespace, md.name), ([], []))
            at = bisect.bisect_right(times, md.timestamp)
            times.insert(at, md.timestamp)
            items.insert(at, md)
        times, items = self._by_metric.get((namespace, name), ([], []))
        return items[bisect.bisect_left(times, lo) : bisect.bisect_left(times, hi)]


_INDEXES: dict[tuple[str, str], _Index] = {}


def _window(backend: CloudWatchBackend, namespace: str, name: str, lo: datetime, hi: datetime) -> list[Any]:
    """`_Index.window` for this backend's account and region. Call with _LOCK held."""
    index = _INDEXES.setdefault((backend.account_id, backend.region_name), _Index())
    return index.window(backend, namespace, name, lo, hi)


def _same_dimensions(md: Any, dims: list[dict[str, str]]) -> bool:
    """The datum was published with exactly these dimensions (CloudWatch: each combination is its own metric)."""
    return sorted((d.name, d.value) for d in md.dimensions) == sorted((d["Name"], d.get("Value")) for d in dims)


def total(
    account: str, region: str, namespace: str, name: str, dims: list[dict[str, str]], start: datetime, end: datetime
) -> float:
    """Sum of one metric's data with exactly these dimensions in [start, end)."""
    backend: CloudWatchBackend = cloudwatch_backends[account][region]
    lo, hi = start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None)
    with _LOCK:
        data = _window(backend, namespace, name, lo, hi)
    return sum(float(getattr(md, "value", 0.0) or 0.0) for md in data if _same_dimensions(md, dims))


def _stat(values: list[float], statistic: str) -> float | None:
    if not values:
        return None
    if statistic == "Sum":
        return sum(values)
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "SampleCount":
        return float(len(values))
    percentile = _PERCENTILE.fullmatch(statistic)
    if percentile:
        return _percentile(sorted(values), float(percentile.group(1)))
    rank = _RANK.fullmatch(statistic)
    if rank:
        low = float(rank.group(1)) if rank.group(1) else float("-inf")
        high = float(rank.group(2)) if rank.group(2) else float("inf")
        return 100.0 * sum(1 for v in values if low < v <= high) / len(values)
    raise ValueError(f"unsupported statistic {statistic}")


# Extended statistics (CloudWatch User Guide, "Statistics definitions"): pNN.NN is the NN-th percentile;
# PR(X:Y) the percentile rank, the percentage of values above X and at or below Y ("PR(:300) returns the
# percentage of data points that have a value of 300 or less"), either bound may be left out. CloudWatch
# computes percentiles of raw values approximately and does not publish how; PERCENTILE_METHOD chooses the
# reading here ("nearest-rank": a value that was published; "linear": interpolated between the two nearest),
# and the tests run both.
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")
_RANK = re.compile(r"PR\(([-\d.eE]*):([-\d.eE]*)\)")
PERCENTILE_METHOD = "nearest-rank"


def _known_statistic(statistic: str) -> bool:
    basic = {"Sum", "Average", "Maximum", "Minimum", "SampleCount"}
    return statistic in basic or bool(_PERCENTILE.fullmatch(statistic) or _RANK.fullmatch(statistic))


def _percentile(ordered: list[float], q: float) -> float:
    if PERCENTILE_METHOD == "linear":
        position = (len(ordered) - 1) * q / 100.0
        below = int(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
    rank = max(1, math.ceil(len(ordered) * q / 100.0))
    return ordered[rank - 1]


_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def evaluate(backend: CloudWatchBackend, alarm: Any, now: datetime) -> tuple[str, str, dict[str, Any]] | None:
    """(state, reason, reason_data) for one alarm at `now`, or None when it cannot be evaluated here."""
    if not alarm.metric_name or alarm.comparison_operator not in _COMPARE or not alarm.statistic:
        return None
    period = int(alarm.period)
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % period, UTC).replace(tzinfo=None)
    dims = [{"Name": d.name, "Value": d.value} for d in alarm.dimensions]
    with _LOCK:
        window = _window(backend, alarm.namespace, alarm.metric_name, end - timedelta(seconds=period * n), end)
    data = [md for md in window if _same_dimensions(md, dims)]
    points: list[float | None] = []
    for i in range(n):
        lo = end - timedelta(seconds=period * (n - i))
        hi = lo + timedelta(seconds=period)
        values = [getattr(md, "value", 0.0) for md in data if lo <= md.timestamp < hi]
        points.append(_stat(values, alarm.statistic))
    compare = _COMPARE[alarm.comparison_operator]
    treat = alarm.treat_missing_data or "missing"
    present = [p for p in points if p is not None]
    breaching = sum(1 for p in present if compare(p, alarm.threshold))
    missing = n - len(present)
    if treat == "breaching":
        breaching += missing
    reason_data = {
        "version": "1.0",
        "queryDate": now.isoformat(),
        "statistic": alarm.statistic,
        "period": period,
        "recentDatapoints": present,
        "threshold": alarm.threshold,
        "evaluatedDatapoints": [{"timestamp": end.isoformat(), "value": present[-1]}] if present else [],
    }
    if breaching >= m:
        return "ALARM", f"Threshold Crossed: {breaching} out of the last {n} datapoints were breaching", reason_data
    if not present and treat == "missing":
        return "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received", reason_data
    if treat == "ignore" and not present:
        return None
    return "OK", f"Threshold Crossed: {breaching} out of the last {n} datapoints were breaching", reason_data


def state_change_event(alarm: Any, account: str, region: str, old: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The EventBridge event CloudWatch emits on an alarm state change."""
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [alarm.alarm_arn],
        "detail": {
            "alarmName": alarm.name,
            "state": {
                "value": alarm.state_value,
                "reason": alarm.state_reason,
                "reasonData": alarm.state_reason_data,
                "timestamp": ts,
            },
            "previousState": old,
            "configuration": {
                "description": alarm.description,
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": alarm.namespace,
                                "name": alarm.metric_name,
                                "dimensions": {d.name: d.value for d in alarm.dimensions},
                            },
                            "period": int(alarm.period),
                            "stat": alarm.statistic,
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


def _rounded_start(start: datetime, now: datetime) -> datetime:
    """GetMetricData's rounding of StartTime by its age (API reference, StartTime)."""
    age = now - start
    if age < timedelta(days=15):
        step = 60
    elif age <= timedelta(days=63):
        step = 300
    else:
        step = 3600
    epoch = int(start.replace(tzinfo=UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC).replace(tzinfo=None)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def get_metric_data(
    self: CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    if any("MetricStat" not in q for q in queries):
        return _ORIGINAL_GET_METRIC_DATA(self, queries, start_time, end_time, scan_by)
    start, end = _naive_utc(start_time), _naive_utc(end_time)
    if start >= end:  # moto's own messages for these
        return _ORIGINAL_GET_METRIC_DATA(self, queries, start_time, end_time, scan_by)
    for number, query in enumerate(queries, 1):
        if not _known_statistic(query["MetricStat"]["Stat"]):
            # moto's wording for an ExtendedStatistic it does not know (moto/cloudwatch/models.py, put_metric_alarm)
            raise InvalidParameterValue(
                f"The value {query['MetricStat']['Stat']} for parameter "
                f"MetricDataQueries.member.{number}.MetricStat.Stat is not supported."
            )
    start = _rounded_start(start, _naive_utc(clock_mod.now()))
    with _LOCK:
        window = [md for md in self.get_all_metrics() if start <= md.timestamp < end]
    results = []
    for query in queries:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        dims = metric.get("Dimensions", [])
        period = int(stat["Period"])
        unit = stat.get("Unit")
        buckets: dict[int, list[float]] = {}
        for md in window:
            value = getattr(md, "value", None)
            if value is None or md.namespace != metric["Namespace"] or md.name != metric["MetricName"]:
                continue
            if not _same_dimensions(md, dims) or (unit and md.unit != unit):
                continue
            buckets.setdefault(int((md.timestamp - start).total_seconds()) // period, []).append(float(value))
        keys = sorted(buckets, reverse=scan_by == "TimestampDescending")
        values = [_stat(buckets[k], stat["Stat"]) for k in keys]
        results.append(
            {
                "id": query["Id"],
                "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                "values": values,
                "timestamps": [start + timedelta(seconds=k * period) for k in keys],
                "status_code": "Complete",
            }
        )
    return [r for r, q in zip(results, queries, strict=True) if q.get("ReturnData", True)]


def get_metric_statistics(
    self: CloudWatchBackend,
    namespace: str,
    metric_name: str,
    start_time: datetime,
    end_time: datetime,
    period: int,
    stats: list[str],
    dimensions: list[dict[str, str]],
    unit: str | None = None,
) -> list[cw_models.Statistics]:
    """moto's GetMetricStatistics with an exact dimension match (module docstring)."""
    start, end = _naive_utc(start_time).replace(microsecond=0), _naive_utc(end_time).replace(microsecond=0)
    if start >= end:  # moto's own message
        return _ORIGINAL_GET_METRIC_STATISTICS(self, namespace, metric_name, start_time, end_time, period, stats, [])
    with _LOCK:
        data = [
            md
            for md in self.get_all_metrics()
            if md.namespace == namespace
            and md.name == metric_name
            and start <= md.timestamp < end
            and (not unit or md.unit == unit)
            and _same_dimensions(md, dimensions or [])
        ]
    data.sort(key=lambda md: md.timestamp)
    buckets: dict[int, cw_models.Statistics] = {}
    for md in data:  # periods from the first datum on, as moto's
        k = int((md.timestamp - data[0].timestamp).total_seconds()) // period
        bucket = buckets.setdefault(k, cw_models.Statistics(stats, data[0].timestamp + timedelta(seconds=k * period)))
        bucket.metric_data.append(md)
        bucket.unit = md.unit
    return list(buckets.values())


_ORIGINAL_GET_METRIC_DATA = cw_models.CloudWatchBackend.get_metric_data
_ORIGINAL_GET_METRIC_STATISTICS = cw_models.CloudWatchBackend.get_metric_statistics


_ORIGINAL_PUT_METRIC_DATA = cw_models.CloudWatchBackend.put_metric_data


def put_metric_data(self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """moto's PutMetricData (moto/cloudwatch/models.py, `put_metric_data`: it appends to `metric_data`) under
    _LOCK, as `record` appends, so no datum lands while `_Index` catches up with the list; then a kick, as
    `record` kicks."""
    with _LOCK:
        _ORIGINAL_PUT_METRIC_DATA(self, namespace, metric_data)
    kick()


def _kicking(original: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            kick()

    call.__wrapped__ = original  # type: ignore[attr-defined]
    return call


_KICKING = ("put_metric_alarm", "set_alarm_state", "delete_alarms")


def install() -> None:
    for name in _KICKING:  # alarms changed through the API: the evaluators look again (kick)
        if not hasattr(getattr(cw_models.CloudWatchBackend, name), "__wrapped__"):
            setattr(cw_models.CloudWatchBackend, name, _kicking(getattr(cw_models.CloudWatchBackend, name)))
    if cw_models.CloudWatchBackend.put_metric_data is not put_metric_data:
        cw_models.CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]
    if cw_models.CloudWatchBackend.get_metric_data is not get_metric_data:
        cw_models.CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    if cw_models.CloudWatchBackend.get_metric_statistics is not get_metric_statistics:
        cw_models.CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]
