"""The vocabulary of the core: lifecycle states, what AWS reports about the copies, and the policy."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sleepwake.core import defaults
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
    last_notified: str | None = None  # the execution whose end was last notified (events may arrive twice)
    warmup_latencies_ms: list[float] = Field(default_factory=list)
    # What the last deploy found wrong with the setup (e.g. an adopted endpoint that keeps its instance).
    warnings: list[str] = Field(default_factory=list)
    # The running wake's expected seconds until a copy serves, by its phase (core.polling.expected_provisioning).
    provisioning_seconds: int | None = None
    version: int = 0


class Policy(BaseModel):
    """Everything the decisions depend on besides state and time; built from the template's parameters."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    quiet_hours: QuietHours
    day_min_copies: int = Field(default=defaults.DAY_MIN_COPIES, ge=1)
    idle_minutes: int = Field(default=defaults.IDLE_MINUTES, ge=1)
    provisioning_estimate_seconds: int = Field(default=defaults.PROVISIONING_ESTIMATE_SECONDS, ge=0)
    wake_timeout_seconds: int = Field(default=defaults.WAKE_TIMEOUT_SECONDS, ge=60)
    warmup_invocations: int = Field(default=defaults.WARMUP_INVOCATIONS, ge=1)
    max_warmup_invocations: int = Field(default=10, ge=1)
    warm_latency_tolerance: float = Field(default=1.5, gt=1.0)
    warmup_estimate_seconds: int = Field(default=defaults.WARMUP_ESTIMATE_SECONDS, ge=0)
    max_keep_awake_minutes: int = Field(default=defaults.MAX_KEEP_AWAKE_MINUTES, ge=1)
    # A product's /wake without keep_awake_minutes holds the component awake this long (0: no hold): its user is
    # on the way (core.decisions.wake_hold_minutes).
    wake_hold_minutes: int = Field(default=defaults.WAKE_HOLD_MINUTES, ge=0)
    # With a fallback endpoint to answer requests while the component sleeps, the idle check may sleep it at
    # any hour (a nap); without one it sleeps only in the quiet hours, where nobody is expected.
    naps: bool = False
    # Inside a window the learned plan says users are likely in, the idle check waits this long before a nap.
    planned_idle_minutes: int = Field(default=defaults.PLANNED_IDLE_MINUTES, ge=1)
    # Polling a scale-up (core.polling): the first poll depends on whether the endpoint still has an instance.
    first_poll_seconds: int = Field(default=defaults.FIRST_POLL_SECONDS, ge=1)  # a new instance is needed
    # A copy on an instance that is there.
    first_poll_on_instance_seconds: int = Field(default=defaults.FIRST_POLL_ON_INSTANCE_SECONDS, ge=1)
    poll_interval_seconds: int = Field(default=defaults.POLL_INTERVAL_SECONDS, ge=1)
    poll_growth: float = Field(default=0.04, ge=0.0, le=1.0)
    # AWS releases instances ~10 min after 0 copies.
    instance_release_seconds: int = Field(default=round(defaults.INSTANCE_RELEASE_MINUTES * 60), ge=0)
    # A joiner asks Step Functions whether a wake older than this still runs (its end event may be lost).
    confirm_execution_after_seconds: int = Field(default=60, ge=0)

    def idle_window_minutes(self, *, planned_awake: bool = False) -> int:
        """How far back the idle check counts requests: longer inside a planned window."""
        return self.planned_idle_minutes if planned_awake else self.idle_minutes

    @property
    def stale_after_seconds(self) -> int:
        """A wake older than its own timeout plus a margin has died without recording it."""
        return self.wake_timeout_seconds + 300


ExecutionStatus = Literal["FAILED", "TIMED_OUT", "ABORTED"]


class EndedExecution(BaseModel):
    """A wake or sleep execution that ended without succeeding ("Step Functions Execution Status Change")."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["wake", "sleep"]
    name: str
    status: ExecutionStatus
    error: str | None = None
    cause: str | None = None
