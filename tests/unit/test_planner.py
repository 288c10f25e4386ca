"""The learned schedule (sleepwake.core.planner): what it plans from a history, and what it never looks at."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sleepwake.core import DayPlan, PlannerSettings, plan_day

NY = "America/New_York"
ZONE = ZoneInfo(NY)
MONDAY = date(2025, 5, 5)


def busy(day: date, start: time, end: time, every_minutes: int = 5) -> list[tuple[datetime, float]]:
    """One request per slot between `start` and `end` local time on `day`."""
    at = datetime.combine(day, start, tzinfo=ZONE)
    stop = datetime.combine(day, end, tzinfo=ZONE)
    out = []
    while at < stop:
        out.append((at.astimezone(UTC), 1.0))
        at += timedelta(minutes=every_minutes)
    return out


def workdays_before(day: date, n: int) -> list[date]:
    days, d = [], day
    while len(days) < n:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            days.append(d)
    return days


def history_9_to_5(day: date, weeks: int = 3) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    for d in workdays_before(day, 5 * weeks):
        out += busy(d, time(9), time(17))
    # Weekends are present but empty: days with no request at all are still days of history.
    for k in range(1, 7 * weeks):
        d = day - timedelta(days=k)
        if d.weekday() >= 5:
            out.append((datetime.combine(d, time(12), tzinfo=ZONE).astimezone(UTC), 0.0))
    return out


def test_a_daily_pattern_becomes_one_window_woken_one_lead_before_it() -> None:
    plan = plan_day(history_9_to_5(MONDAY), MONDAY, NY)

    assert plan.learned, plan.reason
    [window] = plan.windows
    assert window.start <= time(9) and window.start >= time(8, 40)
    [wake] = plan.wake_times()
    assert wake == datetime.combine(MONDAY, window.start, tzinfo=ZONE) - timedelta(seconds=plan.lead_seconds)
    assert plan.is_awake(datetime.combine(MONDAY, time(12), tzinfo=ZONE))
    assert not plan.is_awake(datetime.combine(MONDAY, time(20), tzinfo=ZONE))


def test_weekends_without_traffic_are_planned_asleep() -> None:
    saturday = MONDAY + timedelta(days=5)
    plan = plan_day(history_9_to_5(saturday), saturday, NY)

    assert plan.learned
    assert plan.windows == ()


def test_with_too_little_history_the_configured_schedules_apply_and_it_says_so() -> None:
    history = busy(MONDAY - timedelta(days=1), time(9), time(17)) + busy(MONDAY - timedelta(days=3), time(9), time(17))

    plan = plan_day(history, MONDAY, NY)

    assert not plan.learned
    assert plan.windows == ()
    assert "2 day(s) of history, fewer than 7: the configured schedules apply" in plan.reason


def test_the_plan_for_a_day_depends_only_on_the_days_before_it() -> None:
    history = history_9_to_5(MONDAY)
    # The day itself and every later day busy all night: a planner that peeked would plan the night awake.
    future = []
    for k in range(0, 7):
        future += busy(MONDAY + timedelta(days=k), time(0), time(6))

    assert plan_day(history + future, MONDAY, NY) == plan_day(history, MONDAY, NY)


def test_a_holiday_is_not_learned_as_a_pattern() -> None:
    history = [
        (at, n)
        for at, n in history_9_to_5(MONDAY)
        if at.astimezone(ZONE).date() != MONDAY - timedelta(days=7)  # last Monday: a holiday, nobody came
    ]
    history.append((datetime.combine(MONDAY - timedelta(days=7), time(12), tzinfo=ZONE).astimezone(UTC), 0.0))

    plan = plan_day(history, MONDAY, NY)

    assert len(plan.windows) == 1 and plan.windows[0].start <= time(9)


def test_a_shift_in_customers_hours_is_followed_within_a_working_week() -> None:
    history = history_9_to_5(MONDAY)
    plans = []
    day = MONDAY
    for _ in range(8):  # from MONDAY on, users come 11:00-19:00
        plan = plan_day(history, day, NY)
        if day.weekday() < 5:
            plans.append(plan)
            history += busy(day, time(11), time(19))
        day += timedelta(days=1)

    def covers(plan: DayPlan, at: time) -> bool:
        return plan.is_awake(datetime.combine(plan.day, at, tzinfo=ZONE))

    # With the default half-life (4 days) the new evening hours are planned from the 4th workday on (the
    # fallback answers them before), and the old morning hours are let go after a working week.
    covered = next(i for i, p in enumerate(plans) if covers(p, time(18, 30)))
    released = next(i for i, p in enumerate(plans) if not covers(p, time(9, 15)))
    assert 1 <= covered <= 3, [(p.day, [(w.start, w.minutes) for w in p.windows]) for p in plans]
    assert 1 <= released <= 5, [(p.day, [(w.start, w.minutes) for w in p.windows]) for p in plans]


def test_gaps_shorter_than_the_bridge_stay_awake_and_short_windows_are_dropped() -> None:
    history: list[tuple[datetime, float]] = []
    for d in workdays_before(MONDAY, 15):
        history += busy(d, time(9), time(11)) + busy(d, time(11, 20), time(13))  # 20-minute lunch gap
        history += busy(d, time(18), time(18, 5))  # one stray slot: not worth a wake
    plan = plan_day(history, MONDAY, NY, PlannerSettings(bridge_minutes=30, min_window_minutes=10))

    assert len(plan.windows) == 1
    assert plan.windows[0].start <= time(9) and plan.windows[0].minutes >= 4 * 60


def test_outside_the_plan_a_demand_wake_is_the_plans_choice() -> None:
    from sleepwake.core.planner import wakes_on_demand

    plan = plan_day(history_9_to_5(MONDAY), MONDAY, NY)
    night = datetime.combine(MONDAY, time(3), tzinfo=ZONE)
    noon = datetime.combine(MONDAY, time(12), tzinfo=ZONE)
    fallback_only = PlannerSettings(wake_outside_windows=False)

    assert wakes_on_demand(plan, night, PlannerSettings())  # the default wakes for anyone, anywhere
    assert not wakes_on_demand(plan, night, fallback_only)  # the warm fallback answers alone
    assert wakes_on_demand(plan, noon, fallback_only)  # inside a window it always wakes
    unlearned = plan_day([], MONDAY, NY)
    assert wakes_on_demand(unlearned, night, fallback_only)  # no plan, no guess: it wakes
    assert wakes_on_demand(None, night, fallback_only)


def _lunch_hour_history() -> list[tuple[datetime, float]]:
    history: list[tuple[datetime, float]] = []
    for d in workdays_before(MONDAY, 15):
        history += busy(d, time(9), time(12)) + busy(d, time(13), time(17))  # nobody 12:00-13:00
    return history


def test_with_a_miss_cost_a_lull_is_napped_only_when_the_nap_saves_more_than_a_user_meeting_it_costs() -> None:
    lunch = datetime.combine(MONDAY, time(12, 10), tzinfo=ZONE)

    cheap = plan_day(_lunch_hour_history(), MONDAY, NY, PlannerSettings(miss_cost_minutes=20))
    dear = plan_day(_lunch_hour_history(), MONDAY, NY, PlannerSettings(miss_cost_minutes=60))

    # The lunch hour: a nap there saves ~45 instance-minutes (60 idle, less the 10-minute release and one wake).
    assert not cheap.is_awake(lunch) and len(cheap.windows) == 2, cheap.windows
    assert dear.is_awake(lunch) and len(dear.windows) == 1, dear.windows
    assert "slots where a nap saves under 20 instance-minutes" in cheap.reason
    for plan in (cheap, dear):  # the busy hours are awake either way, the evening and the night asleep
        assert plan.is_awake(datetime.combine(MONDAY, time(10), tzinfo=ZONE))
        assert plan.is_awake(datetime.combine(MONDAY, time(16, 55), tzinfo=ZONE))
        assert not plan.is_awake(datetime.combine(MONDAY, time(20), tzinfo=ZONE))


def test_with_a_miss_cost_a_dearer_miss_wakes_earlier_before_the_first_user() -> None:
    starts = [
        plan_day(_lunch_hour_history(), MONDAY, NY, PlannerSettings(miss_cost_minutes=cost)).windows[0].start
        for cost in (10, 20, 40)
    ]

    # Awake from where a nap before 09:00 would save less than the miss costs: earlier as the miss costs more.
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == 3, starts
    assert time(8) <= starts[-1] < starts[0] <= time(9)


def test_with_a_miss_cost_the_plan_still_depends_only_on_the_days_before_it() -> None:
    settings = PlannerSettings(miss_cost_minutes=20)
    history = _lunch_hour_history()
    future = [point for k in range(7) for point in busy(MONDAY + timedelta(days=k), time(0), time(6))]

    assert plan_day(history + future, MONDAY, NY, settings) == plan_day(history, MONDAY, NY, settings)


def test_a_negative_miss_cost_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="miss_cost_minutes must be 0 or more"):
        PlannerSettings(miss_cost_minutes=-1)


def _workdays_with_users_right_after_midnight() -> list[tuple[datetime, float]]:
    """Workdays 00:00-00:30 (users abroad) and 09:00-17:00; weekends seen but empty."""
    history: list[tuple[datetime, float]] = []
    for d in workdays_before(MONDAY, 15):
        history += busy(d, time(0), time(0, 30)) + busy(d, time(9), time(17))
    for k in range(1, 22):
        d = MONDAY - timedelta(days=k)
        if d.weekday() >= 5:
            history.append((datetime.combine(d, time(12), tzinfo=ZONE).astimezone(UTC), 0.0))
    return history


def test_with_a_miss_cost_a_sunday_evening_wakes_for_the_users_who_come_right_after_midnight() -> None:
    # Monday's own plan is made at midnight, too late to wake one lead ahead of a 00:00 user: the Sunday evening
    # must look ahead to Monday's first slots, not back to Sunday's (empty) morning.
    sunday = MONDAY + timedelta(days=6)
    settings = PlannerSettings(miss_cost_minutes=20)
    plan = plan_day(_workdays_with_users_right_after_midnight(), sunday, NY, settings)

    assert plan.learned, plan.reason
    assert plan.is_awake(datetime.combine(sunday, time(23, 50), tzinfo=ZONE)), plan.windows
    assert not plan.is_awake(datetime.combine(sunday, time(20), tzinfo=ZONE)), plan.windows


def test_with_a_miss_cost_a_friday_evening_before_an_empty_weekend_naps() -> None:
    # Friday's late evening is followed by an empty Saturday: a nap there saves the whole night. Read against
    # Friday's own morning (its 00:00 users) it would look like a short lull and stay awake until midnight.
    friday = MONDAY + timedelta(days=4)
    settings = PlannerSettings(miss_cost_minutes=20)
    history = _workdays_with_users_right_after_midnight()
    plan = plan_day(history, friday, NY, settings)
    thursday = plan_day(history, friday - timedelta(days=1), NY, settings)

    assert not plan.is_awake(datetime.combine(friday, time(23, 50), tzinfo=ZONE)), plan.windows
    assert thursday.is_awake(datetime.combine(thursday.day, time(23, 50), tzinfo=ZONE)), thursday.windows


def test_with_a_miss_cost_a_kind_of_day_nobody_ever_used_is_planned_asleep() -> None:
    # CloudWatch has no datum for a day without requests: weekends absent from the history are empty days, not
    # unknown ones, and get no window (as the `likely` rule plans them).
    saturday = MONDAY + timedelta(days=5)

    plan = plan_day(_lunch_hour_history(), saturday, NY, PlannerSettings(miss_cost_minutes=20))

    assert plan.learned and plan.windows == (), plan.windows
