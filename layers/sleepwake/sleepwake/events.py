"""Pydantic models of every payload a function receives from Step Functions, Scheduler or CloudFormation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sleepwake.core import State

# The most warm-up requests one warm-up step sends (each is a model call of up to a few seconds inside one Lambda
# invocation); the template's WarmupInvocations MaxValue is this figure (tests/template check they agree).
MAX_WARMUP_INVOCATIONS = 50


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
    invocations: int | None = Field(default=None, ge=1, le=MAX_WARMUP_INVOCATIONS)
    # "fallback": one request to the serverless fallback (a started wake's pre-warm), not the component's warm-up;
    # "keep-warm": the keep-warm schedule's tick (one request to the fallback if users may come and it answers).
    target: Literal["component", "fallback", "keep-warm"] = "component"


class DecideSleepInput(_Input):
    trigger: Literal["schedule", "idle", "manual"] = "schedule"
    force: bool = False
    execution_name: str | None = None  # the sleep execution, so its end can be matched to the record

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        # The sleep state machine sends {"request": <its input>, "execution_name": ...}; a bare input still works.
        if isinstance(data, dict) and isinstance(data.get("request"), dict):
            return {**data["request"], "execution_name": data.get("execution_name")}
        return data


class ScheduledWake(_Input):
    """What the wake schedule sends (its Input in the template), or a planned wake (the plan job's one-time
    schedules send source "planned")."""

    source: Literal["schedule", "planned"] = "schedule"
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


class ExecutionStatusChange(_Input):
    """EventBridge "Step Functions Execution Status Change" (Step Functions developer guide, cw-events)."""

    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionDetail


class ExecutionDetail(_Input):
    executionArn: str  # AWS's field names
    stateMachineArn: str
    name: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    error: str | None = None
    cause: str | None = None


ExecutionStatusChange.model_rebuild()


class PlanRequest(_Input):
    """The plan job's input: the daily schedule sends {}, `sleepwake plan --apply` the same."""

    days: int = Field(default=2, ge=1, le=7)
