"""The learned plan as the control plane applies it: what is stored, which wakes to schedule, whether a fixed
cron acts, whether the idle check is inside a planned window, and what /status says comes next.

The plan job stores a `StoredPlan` (today and tomorrow in the wake zone, as instants) and schedules one
one-time wake per window; every other decision reads the stored plan with the time passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from sleepwake.core.planner import DayPlan

ScheduleMode = Literal["learned", "crons"]


class PlannedSpan(BaseModel):
    """One planned window: woken at `wake` (one lead before its first likely slot), asleep-able from `sleep`."""

    model_config = ConfigDict(frozen=True)

    wake: datetime
    sleep: datetime


class PlannedDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    learned: bool
    reason: str
    spans: list[PlannedSpan] = Field(default_factory=list)
    # The windows in which users may come (sleepwake.core.keep_warm.may_come_plan): the fallback is kept warm in
    # them while the component does not serve. None: a plan stored before keep-warm existed.
    may_come: list[PlannedSpan] | None = None
    may_come_reason: str = ""

    @classmethod
    def of(cls, plan: DayPlan, may_come: DayPlan | None = None) -> PlannedDay:
        return cls(
            day=plan.day,
            learned=plan.learned,
            reason=plan.reason,
            spans=[PlannedSpan(wake=a, sleep=b) for a, b in plan.spans()],
            may_come=None if may_come is None else [PlannedSpan(wake=a, sleep=b) for a, b in may_come.spans()],
            may_come_reason="" if may_come is None else may_come.reason,
        )


class StoredPlan(BaseModel):
    """What the plan job wrote (one state-table item beside the component's record)."""

    made_at: datetime
    mode: ScheduleMode
    tz: str
    days: list[PlannedDay] = Field(default_factory=list)
    # Names of the one-time wake schedules this plan created (so the next run deletes its leftovers by name,
    # without ListSchedules, which supports no resource-level permission).
    schedules: list[str] = Field(default_factory=list)

    def day(self, local_day: date) -> PlannedDay | None:
        return next((d for d in self.days if d.day == local_day), None)

    def spans(self) -> list[PlannedSpan]:
        return sorted((s for d in self.days for s in d.spans), key=lambda s: s.wake)


class AppliedDay(BaseModel):
    """One local day of a stored plan, kept on its own for `sleepwake report` (the plan item holds only today and
    tomorrow): the plan job's last word on that day, and whether its windows applied (learned mode and a
    learned day; otherwise the crons did)."""

    model_config = ConfigDict(frozen=True)

    made_at: datetime
    mode: ScheduleMode
    tz: str
    plan: PlannedDay

    @property
    def applied(self) -> bool:
        return self.mode == "learned" and self.plan.learned

    @classmethod
    def of(cls, stored: StoredPlan) -> list[AppliedDay]:
        return [cls(made_at=stored.made_at, mode=stored.mode, tz=stored.tz, plan=day) for day in stored.days]


def wake_schedule_name(wake: datetime) -> str:
    """One name per planned wake instant (UTC), so re-planning the same day is idempotent."""
    return f"planned-wake-{wake.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def wakes_to_schedule(plans: Iterable[DayPlan], now: datetime) -> list[datetime]:
    """The planned wakes still ahead of `now`, from learned day plans only (a fallback day keeps the crons)."""
    return sorted(w for plan in plans if plan.learned for w in plan.wake_times() if w > now)


def is_planned_awake(plan: StoredPlan | None, now: datetime) -> bool:
    """Inside a planned window (its lead included) of a learned day, in learned mode."""
    if plan is None or plan.mode != "learned":
        return False
    return any(span.wake <= now < span.sleep for span in plan.spans())


def learned_day(plan: StoredPlan | None, now: datetime) -> PlannedDay | None:
    """Today's (in the plan's zone) stored day when the plan is applied and learned; None otherwise."""
    if plan is None or plan.mode != "learned":
        return None
    today = plan.day(now.astimezone(ZoneInfo(plan.tz)).date())
    return today if today and today.learned else None


def cron_skip_reason(plan: StoredPlan | None, now: datetime, cron: Literal["sleep", "wake"]) -> str | None:
    """Why a fixed cron does not act now (the learned plan decides today), or None when it applies."""
    today = learned_day(plan, now)
    if today is None:
        return None
    if cron == "wake":
        return f"learned schedule applies on {today.day}: the planned wakes replace the morning cron ({today.reason})"
    return f"learned schedule applies on {today.day}: the idle check naps outside the planned windows ({today.reason})"


def unplanned_hours(plan: StoredPlan | None, now: datetime) -> bool:
    """A learned day outside its windows: the plan expects nobody, so the idle check may sleep as at night."""
    return learned_day(plan, now) is not None and not is_planned_awake(plan, now)


def users_may_come(plan: StoredPlan | None, now: datetime) -> bool | None:
    """Whether the stored plan says users may come now (keep the fallback warm); None when no stored day covers
    `now` with keep-warm windows (the caller then keeps it warm: nothing says nobody comes). Applies in both
    schedule modes: the windows are learned from the history whatever wakes the component."""
    if plan is None:
        return None
    today = plan.day(now.astimezone(ZoneInfo(plan.tz)).date())
    spans = [s for d in plan.days if d.may_come is not None for s in d.may_come]
    if today is None or today.may_come is None:
        # A window of yesterday's may reach past midnight (its lead, or a day plan in another zone's terms).
        return True if any(s.wake <= now < s.sleep for s in spans) else None
    return any(s.wake <= now < s.sleep for s in spans)


@dataclass(frozen=True)
class StoredMayCome:
    """The stored plan's keep-warm windows as `sleepwake.core.keep_warm.MayCome`: where no stored day covers a
    time, users may come (nothing says nobody comes)."""

    plan: StoredPlan | None

    def is_awake(self, at: datetime) -> bool:
        may = users_may_come(self.plan, at)
        return True if may is None else may


def next_planned(plan: StoredPlan | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(next planned wake, next planned sleep) after `now`; the sleep is the end of the window now open, or of
    the next one. None where the stored plan has none (crons mode, too little history, or past its days)."""
    if plan is None or plan.mode != "learned":
        return None, None
    spans = plan.spans()
    wake = next((s.wake for s in spans if s.wake > now), None)
    sleep = next((s.sleep for s in spans if s.sleep > now), None)
    return wake, sleep
