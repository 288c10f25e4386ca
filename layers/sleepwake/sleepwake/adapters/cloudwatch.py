"""CloudWatch: how many requests the component served recently (the idle rule reads this)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


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
