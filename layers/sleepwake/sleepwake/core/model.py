"""The vocabulary of the core: lifecycle states, what AWS reports about the copies, and the policy."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sleepwake.core.schedule import QuietHours


class State(StrEnum):
    """Where the inference component is in its night/day life, as the control plane records it."""

    ASLEEP = "asleep"
    WAKING = "waking"
    WARMING = "warming"
    READY = "ready"
    SLEEPING = "sleeping"
    FAILED = "failed"


IN_FLIGHT_WAKE = frozenset({State.WAKING, State.WARMING})


class ICStatus(StrEnum):
    """`InferenceComponentStatus` as DescribeInferenceComponent reports it."""

    IN_SERVICE = "InService"
    CREATING = "Creating"
    UPDATING = "Updating"
    FAILED = "Failed"
    DELETING = "Deleting"


class ObservedCopies(BaseModel):
    """What DescribeInferenceComponent says right now."""

    model_config = ConfigDict(frozen=True)

    status: ICStatus
    desired: int = Field(ge=0)
    current: int = Field(ge=0)
    failure_reason: str | None = None


class StateRecord(BaseModel):
    """The control plane's own record of the component (one DynamoDB item).

    `op_id` names the wake or sleep that owns the current transition; every conditional write compares
    it, so two writers never both believe they own the component.
    """

    state: State = State.ASLEEP
    op_id: str | None = None
    op_kind: Literal["wake", "sleep"] | None = None
    execution_name: str | None = None
    since: datetime | None = None  # when the current state began
    op_started: datetime | None = None  # when the owning wake or sleep began
    reason: str | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    warmup_latencies_ms: list[float] = Field(default_factory=list)
    # What the last deploy found wrong with the setup (e.g. an adopted endpoint that keeps its instance).
    warnings: list[str] = Field(default_factory=list)
    version: int = 0


class Policy(BaseModel):
    """Everything the decisions depend on besides state and time; built from the template's parameters."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    quiet_hours: QuietHours
    day_min_copies: int = Field(default=1, ge=1)
    idle_minutes: int = Field(default=30, ge=1)
    provisioning_estimate_seconds: int = Field(default=240, ge=0)
    wake_timeout_seconds: int = Field(default=900, ge=60)
    warmup_invocations: int = Field(default=3, ge=1)
    max_warmup_invocations: int = Field(default=10, ge=1)
    warm_latency_tolerance: float = Field(default=1.5, gt=1.0)
    warmup_estimate_seconds: int = Field(default=5, ge=0)
    max_keep_awake_minutes: int = Field(default=720, ge=1)

    @property
    def stale_after_seconds(self) -> int:
        """A wake older than its own timeout plus a margin has died without recording it."""
        return self.wake_timeout_seconds + 300
