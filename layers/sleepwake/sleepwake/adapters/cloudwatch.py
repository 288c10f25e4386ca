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


class Alarms:
    def __init__(self, client: Any) -> None:
        self._cw = client

    def rearm(self, alarm_name: str, reason: str) -> None:
        """Set the alarm to OK: it acts on entering ALARM only, so this lets the next breach act again."""
        self._cw.set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason=reason[:1023])
