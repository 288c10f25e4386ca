"""Pydantic models of every payload a function receives from Step Functions, Scheduler or CloudFormation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sleepwake.core import State


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CheckCopyInput(_Input):
    op_id: str
    target: int = Field(ge=0)
    started_at: datetime
    poll_seconds: int | None = Field(default=None, ge=1)  # the state machine's PollIntervalSeconds


class RecordStateInput(_Input):
    op_id: str
    to: Literal[State.WARMING, State.READY, State.FAILED, State.ASLEEP, State.SLEEPING]
    error: str | None = None
    latencies_ms: list[float] | None = None


class WarmupInput(_Input):
    op_id: str | None = None
    invocations: int | None = Field(default=None, ge=1, le=50)
    # "fallback": one request to the serverless fallback (a started wake's pre-warm), not the component's warm-up.
    target: Literal["component", "fallback"] = "component"


class DecideSleepInput(_Input):
    trigger: Literal["schedule", "idle", "manual"] = "schedule"
    force: bool = False


class ScheduledWake(_Input):
    """What the wake schedule sends (its Input in the template)."""

    source: Literal["schedule"] = "schedule"
    reason: str = "morning wake schedule"


class AlarmStateChange(_Input):
    """EventBridge "CloudWatch Alarm State Change" for the no-capacity alarm."""

    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: dict[str, Any]

    @property
    def alarm_name(self) -> str:
        return str(self.detail.get("alarmName", ""))

    @property
    def entered_alarm(self) -> bool:
        return self.detail.get("state", {}).get("value") == "ALARM"
