"""When to keep the fallback warm (sleepwake.core.keep_warm): the hours users may come, and what each mode does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from sleepwake.core import PlannerSettings
from sleepwake.core.applied_plan import PlannedDay, PlannedSpan, StoredMayCome, StoredPlan, users_may_come
from sleepwake.core.keep_warm import (
    KeepWarmMode,
    KeepWarmSettings,
    Warmth,
    fallback_warmth,
    may_come_plan,
    prewarm_on,
    provisioned_spans,
    should_ping,
)
from tests.unit.test_planner import MONDAY, NY, ZONE, busy, workdays_before

PLANNER = PlannerSettings()


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZONE)


def one_request_at_noon_each_workday(day: date, weeks: int = 3) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    for d in workdays_before(day, 5 * weeks):
        out += busy(d, time(12, 25), time(12, 30))
    return out


def test_with_too_little_history_the_fallback_is_kept_warm_all_day() -> None:
    plan = may_come_plan([], MONDAY, NY, PLANNER, KeepWarmSettings())

    assert not plan.learned
    assert plan.is_awake(local(MONDAY, 3)) and plan.is_awake(local(MONDAY, 23, 59))


def test_a_request_seen_at_12_25_says_users_may_come_around_noon_not_at_night() -> None:
    plan = may_come_plan(one_request_at_noon_each_workday(MONDAY), MONDAY, NY, PLANNER, KeepWarmSettings())

    assert plan.learned
    assert plan.is_awake(local(MONDAY, 11, 30)) and plan.is_awake(local(MONDAY, 13, 20))
    assert plan.is_awake(local(MONDAY, 11, 20))  # the lead: pings start before the first hour users may come
    assert not plan.is_awake(local(MONDAY, 3)) and not plan.is_awake(local(MONDAY, 15))


def test_a_narrower_radius_keeps_it_warm_for_fewer_hours() -> None:
    history = one_request_at_noon_each_workday(MONDAY)
    wide = may_come_plan(history, MONDAY, NY, PLANNER, KeepWarmSettings(radius_minutes=60))
    narrow = may_come_plan(history, MONDAY, NY, PLANNER, KeepWarmSettings(radius_minutes=10))

    assert narrow.awake_minutes < wide.awake_minutes
    assert not narrow.is_awake(local(MONDAY, 11, 30))


def test_may_come_zero_keeps_it_warm_everywhere_even_with_history() -> None:
    plan = may_come_plan(one_request_at_noon_each_workday(MONDAY), MONDAY, NY, PLANNER, KeepWarmSettings(may_come=0))

    assert plan.is_awake(local(MONDAY, 3))


def test_weekends_are_planned_from_weekends() -> None:
    saturday = MONDAY + timedelta(days=5)
    plan = may_come_plan(one_request_at_noon_each_workday(saturday), saturday, NY, PLANNER, KeepWarmSettings())

    assert plan.learned and plan.awake_minutes == 0


def test_only_the_ping_mode_pings_and_only_while_the_component_does_not_serve_in_a_window() -> None:
    plan = may_come_plan(one_request_at_noon_each_workday(MONDAY), MONDAY, NY, PLANNER, KeepWarmSettings())
    noon, night = local(MONDAY, 12), local(MONDAY, 3)
    ping = KeepWarmSettings(mode=KeepWarmMode.PING)

    assert should_ping(noon, plan, False, ping)
    assert not should_ping(noon, plan, True, ping)  # the component answers: nothing to keep warm
    assert not should_ping(night, plan, False, ping)  # nobody comes: the fallback goes cold and costs nothing
    for mode in (KeepWarmMode.NONE, KeepWarmMode.PROVISIONED, KeepWarmMode.PREWARM):
        assert not should_ping(noon, plan, False, KeepWarmSettings(mode=mode))


@pytest.mark.parametrize(
    ("mode", "sleep_at_noon", "sleep_at_night", "intent"),
    [
        (KeepWarmMode.NONE, False, False, False),
        (KeepWarmMode.PING, True, False, False),
        (KeepWarmMode.PROVISIONED, False, False, False),
        (KeepWarmMode.PREWARM, True, True, True),
    ],
)
def test_which_events_prewarm(mode: KeepWarmMode, sleep_at_noon: bool, sleep_at_night: bool, intent: bool) -> None:
    plan = may_come_plan(one_request_at_noon_each_workday(MONDAY), MONDAY, NY, PLANNER, KeepWarmSettings())
    settings = KeepWarmSettings(mode=mode)

    assert prewarm_on("sleep", local(MONDAY, 12), plan, settings) is sleep_at_noon
    assert prewarm_on("sleep", local(MONDAY, 3), plan, settings) is sleep_at_night
    assert prewarm_on("intent", local(MONDAY, 12), plan, settings) is intent


def test_provisioned_concurrency_is_scheduled_over_the_windows_only_in_its_mode() -> None:
    history = one_request_at_noon_each_workday(MONDAY)
    plan = may_come_plan(history, MONDAY, NY, PLANNER, KeepWarmSettings(mode=KeepWarmMode.PROVISIONED))

    spans = provisioned_spans(plan, KeepWarmSettings(mode=KeepWarmMode.PROVISIONED))
    assert spans == plan.spans() and len(spans) == 1
    start, end = spans[0]
    assert start.astimezone(UTC) < local(MONDAY, 11, 30).astimezone(UTC) < end.astimezone(UTC)
    assert provisioned_spans(plan, KeepWarmSettings(mode=KeepWarmMode.PING)) == []


@pytest.mark.parametrize("bad", [{"may_come": 1.5}, {"ping_minutes": 0}, {"radius_minutes": -1}])
def test_bad_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        KeepWarmSettings(**bad)  # type: ignore[arg-type]


T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EVICT = 600.0


def test_the_fallback_is_warm_since_the_first_request_of_a_run_no_eviction_gap_broke() -> None:
    pings = [T0 - timedelta(minutes=m) for m in (2, 7, 12, 17)]  # every 5 min: a run since 17 min ago
    older = [T0 - timedelta(minutes=60)]  # then a gap longer than the eviction

    assert fallback_warmth(pings + older, T0, EVICT) == Warmth(True, T0 - timedelta(minutes=17))


def test_the_fallback_is_cold_from_one_eviction_after_its_last_request() -> None:
    last = T0 - timedelta(minutes=30)

    assert fallback_warmth([last], T0, EVICT) == Warmth(False, last + timedelta(minutes=1) + timedelta(seconds=EVICT))
    assert fallback_warmth([], T0, EVICT) == Warmth(False, None)  # nothing in the history read


def test_the_stored_plan_says_when_users_may_come_and_nothing_stored_means_they_may() -> None:
    day = T0.date()
    window = PlannedSpan(wake=T0 - timedelta(hours=1), sleep=T0 + timedelta(hours=1))
    plan = StoredPlan(
        made_at=T0, mode="crons", tz="UTC", days=[PlannedDay(day=day, learned=True, reason="", may_come=[window])]
    )

    assert users_may_come(plan, T0) is True
    assert users_may_come(plan, T0 + timedelta(hours=2)) is False
    assert users_may_come(plan, T0 + timedelta(days=1)) is None  # no stored day covers it
    assert users_may_come(None, T0) is None
    assert StoredMayCome(None).is_awake(T0) and not StoredMayCome(plan).is_awake(T0 + timedelta(hours=2))
