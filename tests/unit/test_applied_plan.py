"""The stored plan as the control plane applies it: which crons step aside, when the idle check is inside a
window, what /status says comes next, which wakes get scheduled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sleepwake.core import DayPlan, Window
from sleepwake.core.applied_plan import (
    PlannedDay,
    ScheduleMode,
    StoredPlan,
    cron_skip_reason,
    is_planned_awake,
    next_planned,
    unplanned_hours,
    wake_schedule_name,
    wakes_to_schedule,
)

TZ = "America/New_York"
ET = ZoneInfo(TZ)
WED = date(2026, 11, 25)
# 09:00-12:00 (slots 108-144), woken 300 s ahead.
LEARNED = DayPlan(WED, TZ, learned=True, reason="learned from 10 days", windows=(Window(108, 144),))
TOO_LITTLE = DayPlan(WED, TZ, learned=False, reason="3 day(s) of history, fewer than 7")


def at(hour: int, minute: int = 0, day: date = WED) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ET).astimezone(UTC)


def stored(*plans: DayPlan, mode: ScheduleMode = "learned") -> StoredPlan:
    return StoredPlan(made_at=at(0, 5), mode=mode, tz=TZ, days=[PlannedDay.of(p) for p in plans])


def test_the_window_counts_from_its_pre_wake_to_its_end():
    plan = stored(LEARNED)
    assert not is_planned_awake(plan, at(8, 54))
    assert is_planned_awake(plan, at(8, 55)) and is_planned_awake(plan, at(11, 59))
    assert not is_planned_awake(plan, at(12, 0))


def test_on_a_learned_day_both_crons_step_aside_and_say_why():
    plan = stored(LEARNED)
    assert "planned wakes replace the morning cron" in (cron_skip_reason(plan, at(7), "wake") or "")
    assert "naps outside the planned windows" in (cron_skip_reason(plan, at(3), "sleep") or "")
    assert unplanned_hours(plan, at(15)) and not unplanned_hours(plan, at(10))


def test_the_crons_apply_with_too_little_history_in_crons_mode_and_on_a_day_the_plan_does_not_cover():
    assert cron_skip_reason(stored(TOO_LITTLE), at(7), "wake") is None
    assert cron_skip_reason(stored(LEARNED, mode="crons"), at(7), "wake") is None
    assert cron_skip_reason(stored(LEARNED), at(7, day=WED + timedelta(days=2)), "wake") is None
    assert cron_skip_reason(None, at(7), "sleep") is None
    assert not is_planned_awake(stored(LEARNED, mode="crons"), at(10))


def test_status_gets_the_next_wake_and_the_end_of_the_open_or_next_window():
    thursday = DayPlan(WED + timedelta(days=1), TZ, learned=True, reason="r", windows=(Window(108, 144),))
    plan = stored(LEARNED, thursday)
    assert next_planned(plan, at(6)) == (at(8, 55), at(12))
    assert next_planned(plan, at(10)) == (at(8, 55, WED + timedelta(days=1)), at(12))
    assert next_planned(stored(LEARNED, mode="crons"), at(6)) == (None, None)


def test_only_learned_days_future_wakes_are_scheduled_and_each_has_one_name():
    wakes = wakes_to_schedule([LEARNED, TOO_LITTLE], at(6))
    assert wakes == [at(8, 55)]
    assert wakes_to_schedule([LEARNED], at(9)) == []
    assert wake_schedule_name(wakes[0]) == "planned-wake-20261125T135500Z"
