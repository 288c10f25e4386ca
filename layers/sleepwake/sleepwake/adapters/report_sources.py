"""What `sleepwake report` reads from AWS: the wake and sleep executions of a window (Step Functions
ListExecutions, newest first, then DescribeExecution for each one's input and output) and each path's
CloudWatch statistics over the whole window (GetMetricData, one period as long as the window).

The operator's permissions cover both (states:ListExecutions on the state machines, states:DescribeExecution on
their executions, cloudwatch:GetMetricData); Step Functions keeps a standard workflow's executions for 90 days
after they close (Step Functions quotas), so a window reaching further back shows fewer wakes and sleeps.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sleepwake.adapters.cloudwatch import metric_query
from sleepwake.core import defaults
from sleepwake.core.report import (
    Execution,
    Kind,
    Path,
    PathMetrics,
    Slot,
    classify,
    misses_with_their_answers,
    path_metrics,
    statistics,
)
from sleepwake.core.report_waits import WAIT_METRICS, answer_statistics
from sleepwake.core.warmups import OWN, less_own, own_dimensions
from sleepwake.observability import SERVICE

# GetMetricData rounds StartTime down by its age, to 1, 5 or 60 minutes (API reference, StartTime): one
# period this much longer than the window holds every datapoint of it.
ROUNDING_MARGIN = timedelta(hours=1)


class ReportSources:
    def __init__(self, stepfunctions: Any, cloudwatch: Any) -> None:
        self._sfn = stepfunctions
        self._cw = cloudwatch

    def executions(
        self, kind: Kind, state_machine_arn: str, start: datetime, end: datetime, *, lookback: timedelta
    ) -> list[Execution]:
        """The machine's executions started in [start, end], and those started up to `lookback` before it
        (they may end inside it: a wake or sleep lasts at most WakeTimeoutSeconds and a warm-up), each with
        its outcome."""
        start -= lookback
        found: list[Execution] = []
        for page in self._sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
            for item in page.get("executions", []):
                started = item["startDate"]
                if started > end:
                    continue
                if started < start:
                    return found  # newest first: everything after this is older still
                detail = self._sfn.describe_execution(executionArn=item["executionArn"])
                found.append(
                    classify(
                        kind,
                        item["name"],
                        detail["status"],
                        started,
                        detail.get("stopDate"),
                        detail.get("input") or "{}",
                        detail.get("output"),
                        ": ".join(detail[k] for k in ("error", "cause") if detail.get(k)) or None,
                    )
                )
        return found

    def path(self, path: Path, name: str, start: datetime, end: datetime, slow_seconds: float) -> PathMetrics:
        """One path's statistics over [start, end], `name` the component or the fallback endpoint: a single period
        covers the window, so each statistic is one value (or none, when nothing was published)."""
        dimensions = component_dimensions(name) if path == "component" else endpoint_dimensions(name)
        asked = [
            (key, "AWS/SageMaker", metric, stat, dimensions) for key, metric, stat in statistics(path, slow_seconds)
        ]
        # The control plane's own requests to each path, counted by the control plane.
        own = own_dimensions(path, name, SERVICE)
        asked.append(("warmups", defaults.METRICS_NAMESPACE, OWN[path].requests, "Sum", own))
        asked.append(("warmup_errors", defaults.METRICS_NAMESPACE, OWN[path].errors, "Sum", own))
        timed = OWN[path].seconds
        if timed:  # how long they took: those over the slow line are no user's wait
            asked.append(("warmups_timed", defaults.METRICS_NAMESPACE, timed, "SampleCount", own))
            within = f"PR(:{slow_seconds:g})"
            asked.append(("warmups_within_slow_pct", defaults.METRICS_NAMESPACE, timed, within, own))
        return path_metrics(self._whole_window(asked, start, end))

    def _whole_window(
        self, asked: list[tuple[str, str, str, str, list[dict[str, str]]]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        """(key, namespace, metric, stat, dimensions) -> the statistic over [start, end] in one period, or None
        when nothing was published."""
        # Whole hours: a valid Period at any age of the data (GetMetricData's API reference: a multiple of 60,
        # of 300 past 15 days, of 3600 past 63 days).
        period = 3600 * math.ceil((end - start + ROUNDING_MARGIN).total_seconds() / 3600)
        queries = [
            metric_query(f"q{i}", namespace, metric, dims, period, stat)
            for i, (_, namespace, metric, stat, dims) in enumerate(asked)
        ]
        values: dict[str, float | None] = {key: None for key, _, _, _, _ in asked}
        pages = self._cw.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end
        )
        for page in pages:
            for series in page.get("MetricDataResults", []):
                points = series.get("Values") or []
                if points:
                    values[asked[int(series["Id"][1:])][0]] = float(points[0])
        return values

    def slots(self, component: str, fallback: str | None, start: datetime, end: datetime, now: datetime) -> list[Slot]:
        """Requests per period over [start, end]: 5 minutes while CloudWatch keeps them (63 days), an hour beyond
        (GetMetricData's API reference, Period); the component's Invocations and NoCapacityInvocationFailures,
        the fallback's Invocations, each path's less the control plane's warm-ups of it."""
        period = 300 if now - start <= timedelta(days=63) else 3600
        asked: list[tuple[str, str, str, list[dict[str, str]]]] = [
            ("component", "AWS/SageMaker", "Invocations", component_dimensions(component)),
            ("no_capacity", "AWS/SageMaker", "NoCapacityInvocationFailures", component_dimensions(component)),
            (
                "component_own",
                defaults.METRICS_NAMESPACE,
                OWN["component"].requests,
                own_dimensions("component", component, SERVICE),
            ),
        ]
        if fallback:
            asked += [
                ("fallback", "AWS/SageMaker", "Invocations", endpoint_dimensions(fallback)),
                (
                    "fallback_own",
                    defaults.METRICS_NAMESPACE,
                    OWN["fallback"].requests,
                    own_dimensions("fallback", fallback, SERVICE),
                ),
            ]
        queries = [metric_query(key, namespace, metric, dims, period, "Sum") for key, namespace, metric, dims in asked]
        counts: dict[datetime, dict[str, float]] = {}
        pages = self._cw.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end
        )
        for page in pages:
            for series in page.get("MetricDataResults", []):
                for at, value in zip(series.get("Timestamps", []), series.get("Values", []), strict=False):
                    row = counts.setdefault(at, {})
                    row[series["Id"]] = row.get(series["Id"], 0.0) + float(value)
        times = sorted(counts)
        rows = [counts[at] for at in times]
        component_users, component_left = less_own(
            [r.get("component", 0.0) for r in rows], [r.get("component_own", 0.0) for r in rows], times, period
        )
        fallback_users, fallback_left = less_own(
            [r.get("fallback", 0.0) for r in rows], [r.get("fallback_own", 0.0) for r in rows], times, period
        )
        misses = misses_with_their_answers([r.get("no_capacity", 0.0) for r in rows], fallback_users, times, period)
        return [
            Slot(at=at, seconds=period, component=c, no_capacity=n, fallback=f, warmups_unmatched=c_left + f_left)
            for at, c, n, f, c_left, f_left in zip(
                times, component_users, misses, fallback_users, component_left, fallback_left, strict=True
            )
        ]

    def waits(self, component: str, start: datetime, end: datetime) -> dict[str, float | None]:
        """The control plane's per-wake embedded metrics of this component over [start, end] (one period, as
        `path`), keyed `<metric>:<stat>` for sleepwake.core.report.waits."""
        dims = [{"Name": "service", "Value": SERVICE}, *component_dimensions(component)]
        asked = [
            (f"{metric}:{stat}", defaults.METRICS_NAMESPACE, metric, stat, dims)
            for metric in WAIT_METRICS
            for stat in ("SampleCount", "p50", "Maximum")
        ]
        return self._whole_window(asked, start, end)

    def answers(self, component: str, start: datetime, end: datetime, slow_seconds: float) -> dict[str, float | None]:
        """The product client's answer waits of this component over [start, end] (one period, as `path`), keyed
        by sleepwake.core.report_waits.answer_statistics' ids; none when no client wrote them."""
        dims = component_dimensions(component)
        asked = [
            (key, defaults.METRICS_NAMESPACE, metric, stat, dims + ([{"Name": "ServedBy", "Value": by}] if by else []))
            for key, metric, stat, by in answer_statistics(slow_seconds)
        ]
        return self._whole_window(asked, start, end)


def component_dimensions(component: str) -> list[dict[str, str]]:
    return [{"Name": "InferenceComponentName", "Value": component}]


def endpoint_dimensions(endpoint: str, variant: str = "AllTraffic") -> list[dict[str, str]]:
    """A serverless endpoint's metrics carry EndpointName and VariantName ("SageMaker AI metrics in Amazon
    CloudWatch"); the template's fallback has the one variant AllTraffic."""
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
