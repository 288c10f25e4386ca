"""GET /status: one pydantic document that the wake API returns and `sleepwake status` prints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_serializer

from sleepwake.control.plane import ControlPlane
from sleepwake.core import State, effective_state, eta_seconds, is_serving, iso
from sleepwake.core.applied_plan import StoredMayCome, StoredPlan, next_planned
from sleepwake.core.keep_warm import KeepWarmMode, fallback_warmth
from sleepwake.observability import logger


class FallbackStatus(BaseModel):
    """The serverless fallback as GET /status reports it: which endpoint, and whether it answered lately."""

    model_config = ConfigDict(frozen=True)

    endpoint: str
    window_minutes: int
    # Users' requests: its Invocations less the control plane's own pings and pre-warms (sleepwake.core.warmups);
    # None when CloudWatch could not be read.
    invocations: float | None
    error: str | None = None
    # Warm or cold as its requests say (an idle container is assumed gone after FallbackIdleEvictMinutes), since
    # when; None when CloudWatch could not be read. `since` None with warm False: cold all the history read.
    warm: bool | None = None
    since: datetime | None = None
    keep_warm: KeepWarmMode
    users_may_come: bool | None = None  # the stored plan's keep-warm windows, now (None: keep-warm off)

    @property
    def used_recently(self) -> bool | None:
        return None if self.invocations is None else self.invocations > 0

    @model_serializer
    def _document(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            f"invocations_last_{self.window_minutes}_minutes": self.invocations,
            "used_recently": self.used_recently,
            "warm": self.warm,
            "since": None if self.since is None else iso(self.since),
            "keep_warm": self.keep_warm.value,
            "users_may_come": self.users_may_come,
        }
        if self.error:
            out["error"] = self.error
        return out


class Status(BaseModel):
    """The document GET /status answers and `sleepwake status --json` prints (`model_dump(mode="json")`):
    times ISO 8601 UTC with a `Z` (core.iso)."""

    model_config = ConfigDict(frozen=True)

    state: State
    desired_copies: int
    current_copies: int
    since: datetime | None
    eta_seconds: int
    last_error: str | None
    lease_until: datetime | None
    execution: str | None
    warnings: list[str] = Field(
        default_factory=list, description="What the last deploy found wrong with the setup; [] when nothing"
    )
    next_planned_wake: datetime | None = Field(
        default=None, description="The next wake of the learned plan (null in crons mode or without a learned plan)"
    )
    next_planned_sleep: datetime | None = Field(
        default=None, description="When the planned window now open (or the next one) ends"
    )
    schedule: str = Field(default="crons", description="Which schedule applies today, and why")
    fallback: FallbackStatus | None = Field(
        default=None,
        description=(
            "The serverless fallback: endpoint, invocations_last_<N>_minutes and used_recently (users' requests, "
            "the control plane's own pings left out), warm and since when, "
            "keep_warm mode and whether users may come now; null if none"
        ),
    )

    @field_serializer("since", "lease_until", "next_planned_wake", "next_planned_sleep", when_used="json")
    def _time(self, value: datetime | None) -> str | None:
        return None if value is None else iso(value)


def status(plane: ControlPlane) -> Status:
    record, observed = plane.observe()
    now = plane.now()
    plan = plane.applied_plan()
    planned_wake, planned_sleep = next_planned(plan, now)
    return Status(
        state=effective_state(record, observed),
        desired_copies=observed.desired,
        current_copies=observed.current,
        since=record.since,
        eta_seconds=eta_seconds(record, observed, plane.policy, now),
        last_error=record.last_error,
        lease_until=record.lease_until,
        execution=plane.execution(record),
        warnings=list(record.warnings),
        next_planned_wake=planned_wake,
        next_planned_sleep=planned_sleep,
        schedule=schedule_summary(plane, plan, now),
        fallback=fallback_status(plane, now),
    )


def schedule_summary(plane: ControlPlane, plan: StoredPlan | None, now: datetime) -> str:
    settings = plane.settings
    if settings.schedule_mode != "learned":
        return "crons (ScheduleMode crons)"
    if settings.applied_schedule_mode != "learned":
        return "crons (ScheduleMode learned naps outside planned windows, which needs a fallback endpoint: none)"
    if plan is None:
        return "crons (no plan stored yet)"
    today = plan.day(now.astimezone(ZoneInfo(plan.tz)).date())
    if today is None:
        return f"crons (the stored plan, made {plan.made_at:%Y-%m-%d %H:%M %Z}, does not cover today)"
    return ("learned: " if today.learned else "crons: ") + today.reason


def fallback_status(plane: ControlPlane, now: datetime) -> FallbackStatus | None:
    """Users' requests to the fallback over the recent window (the control plane's own left out) and whether it is
    warm (its requests, pings included); None without a fallback. A failed read is reported in
    the answer, never raised: /status must answer even when CloudWatch does not."""
    endpoint = plane.settings.fallback_endpoint_name
    if not endpoint:
        return None
    settings = plane.settings
    minutes = settings.fallback_recent_minutes
    keep_warm = settings.keep_warm_settings()
    common: dict[str, Any] = {"endpoint": endpoint, "window_minutes": minutes, "keep_warm": keep_warm.mode}
    if keep_warm.mode != KeepWarmMode.NONE:
        common["users_may_come"] = StoredMayCome(plane.stored_plan()).is_awake(now)
    try:
        # One read for both: a day of history finds the start of a warm run kept alive by pings for a whole
        # working day, and its last minutes hold the users' recent requests.
        served = plane.aws.metrics.fallback_served(endpoint, now - timedelta(hours=24), now)
    except Exception as error:
        logger.warning("could not read the fallback's invocations", exc_info=True)
        return FallbackStatus(**common, invocations=None, error=f"could not read its Invocations: {error}")
    count = served.users_since(now - timedelta(minutes=minutes))
    warmth = fallback_warmth(served.served_periods(), now, settings.fallback_idle_evict_minutes * 60)
    return FallbackStatus(**common, invocations=count, warm=warmth.warm, since=warmth.since)


def is_ready(plane: ControlPlane) -> bool:
    """Whether the component has a copy serving now (what the copies say, whatever the record says)."""
    _, observed = plane.observe()
    return is_serving(observed)
