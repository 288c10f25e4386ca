"""The night window follows the schedules' own time zones, including on DST change dates."""

from datetime import UTC, datetime, timedelta

import pytest

from sleepwake.core import DailyCron, QuietHours

SLEEP = ("cron(0 0 * * ? *)", "America/Los_Angeles")
WAKE = ("cron(0 7 * * ? *)", "America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def night() -> QuietHours:
    return QuietHours.parse(*SLEEP, *WAKE)


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (datetime(2026, 3, 7).date(), utc(2026, 3, 7, 8)),  # PST, UTC-8
        (datetime(2026, 3, 8).date(), utc(2026, 3, 8, 8)),  # midnight comes before the 02:00 change
        (datetime(2026, 3, 9).date(), utc(2026, 3, 9, 7)),  # PDT, UTC-7
        (datetime(2026, 11, 1).date(), utc(2026, 11, 1, 7)),  # still PDT at midnight
        (datetime(2026, 11, 2).date(), utc(2026, 11, 2, 8)),  # PST again
    ],
)
def test_sleep_fires_at_midnight_los_angeles_across_dst(day, expected_utc):
    assert DailyCron.parse(*SLEEP).at(day) == expected_utc


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (datetime(2026, 3, 7).date(), utc(2026, 3, 7, 12)),  # EST, UTC-5
        (datetime(2026, 3, 8).date(), utc(2026, 3, 8, 11)),  # EDT from 02:00 that morning
        (datetime(2026, 10, 31).date(), utc(2026, 10, 31, 11)),
        (datetime(2026, 11, 1).date(), utc(2026, 11, 1, 12)),  # EST from 02:00 that morning
    ],
)
def test_wake_fires_at_seven_new_york_across_dst(day, expected_utc):
    assert DailyCron.parse(*WAKE).at(day) == expected_utc


def test_the_spring_forward_night_is_three_hours_and_the_fall_back_night_five(night):
    assert night.next_wake(utc(2026, 3, 8, 8)) - night.sleep.previous(utc(2026, 3, 8, 8)) == timedelta(hours=3)
    assert night.next_wake(utc(2026, 11, 1, 7)) - night.sleep.previous(utc(2026, 11, 1, 7)) == timedelta(hours=5)
    assert night.next_wake(utc(2026, 6, 1, 7)) - night.sleep.previous(utc(2026, 6, 1, 7)) == timedelta(hours=4)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (utc(2026, 3, 8, 7, 59), False),  # 23:59 PST on the 7th
        (utc(2026, 3, 8, 8, 0), True),  # midnight PST
        (utc(2026, 3, 8, 10, 59), True),  # 06:59 EDT
        (utc(2026, 3, 8, 11, 0), False),  # 07:00 EDT: morning
        (utc(2026, 11, 1, 6, 59), False),
        (utc(2026, 11, 1, 7, 0), True),  # midnight PDT
        (utc(2026, 11, 1, 11, 30), True),  # 06:30 EST: the extra hour is still night
        (utc(2026, 11, 1, 12, 0), False),
        (utc(2026, 7, 15, 20, 0), False),  # afternoon
    ],
)
def test_quiet_hours_run_from_la_midnight_to_ny_seven(night, moment, quiet):
    assert night.is_quiet(moment) is quiet


def test_a_time_skipped_by_spring_forward_does_not_fire_that_day_as_on_eventbridge_scheduler():
    cron = DailyCron.parse("cron(30 2 * * ? *)", "America/New_York")
    assert cron.at(datetime(2026, 3, 8).date()) is None  # 02:30 does not exist in New York that night
    assert cron.next(utc(2026, 3, 7, 8, 0)) == utc(2026, 3, 9, 6, 30)  # the next firing is Monday's 02:30 EDT
    assert cron.previous(utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 7, 7, 30)  # Saturday's 02:30 EST


def test_a_time_repeated_by_fall_back_fires_once_at_its_first_occurrence():
    cron = DailyCron.parse("cron(30 1 * * ? *)", "America/New_York")
    assert cron.at(datetime(2026, 11, 1).date()) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert cron.next(utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)  # next day, not 06:30 UTC the same day


def test_weekday_schedules_skip_the_weekend():
    cron = DailyCron.parse("cron(0 7 ? * MON-FRI *)", "America/New_York")
    friday_after = utc(2026, 11, 20, 13)  # Fri 08:00 EST
    assert cron.next(friday_after) == utc(2026, 11, 23, 12)  # Monday 07:00 EST


@pytest.mark.parametrize(
    "bad",
    ["rate(5 minutes)", "cron(0 7 * * ?)", "cron(*/5 7 * * ? *)", "cron(0 25 * * ? *)", "cron(0 7 1 * ? *)"],
)
def test_unsupported_schedules_are_rejected_with_a_message(bad):
    with pytest.raises(ValueError, match=r"cron|field|supported|range"):
        DailyCron.parse(bad, "UTC")


def test_unknown_time_zones_are_rejected():
    with pytest.raises(Exception, match="Nowhere"):
        DailyCron.parse("cron(0 7 * * ? *)", "America/Nowhere")


def test_naive_times_are_refused(night):
    with pytest.raises(ValueError, match="timezone-aware"):
        night.is_quiet(datetime(2026, 1, 1))
