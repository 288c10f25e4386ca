"""The reactive bound (sleepwake_cli.simulate.bounds): the best saving a policy can reach with a budget of fallback
answers when it knows every gap's length but not when the user who ends it comes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.bounds import reactive_bound
from sleepwake_cli.simulate.trace import Request, Trace

NY = "America/New_York"
START = datetime(2025, 5, 6, tzinfo=ZoneInfo("America/Los_Angeles"))  # 03:00 in New York
HOUR = 3600.0
SETTINGS = SimulationSettings()
RELEASE = SETTINGS.prov.instance_release_seconds  # 600 s
PRE_WAKE = SETTINGS.prov.scale_up.mean + sum(SETTINGS.prov.load_latencies_ms) / 1000  # 210 + 5.5 s


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 5, 6, hour, minute, tzinfo=ZoneInfo(NY))


def day_of(*requests: Request) -> Trace:
    return Trace(requests, START, START + timedelta(days=1), "hand-made day")


def test_a_gap_slept_through_costs_the_answers_that_come_before_the_wake_is_done() -> None:
    # 09:00 the day's first user (pre-woken, free); 15:00 and 15:01 after a 6-hour gap: both come within the
    # 210-s wake that the 15:00 request starts, so sleeping through the gap costs 2 fallback answers.
    trace = day_of(Request(at(9)), Request(at(15)), Request(at(15, 1)))
    free = (6 * HOUR - PRE_WAKE) + (12 * HOUR - 60 - RELEASE)  # the night before 09:00 and after 15:01
    day = 24 * HOUR

    (none, _one, both) = reactive_bound(trace, SETTINGS, [0.0, 100 / 3, 200 / 3], NY)

    assert none == (0.0, pytest.approx(100 * free / day))
    # With 2 answers to spend the afternoon gap is slept through; its release is still billed.
    assert both == (200 / 3, pytest.approx(100 * (free + 6 * HOUR - RELEASE) / day))
    assert none[1] < _one[1] < both[1]  # half the answers, half the gap: the fractional upper bound


def test_an_intent_a_wake_ahead_makes_a_gap_free() -> None:
    announced = day_of(Request(at(9)), Request(at(15), wake_lead_seconds=300), Request(at(15, 1)))
    late = day_of(Request(at(9)), Request(at(15), wake_lead_seconds=30), Request(at(15, 1)))

    [(_, announced_saving)] = reactive_bound(announced, SETTINGS, [0.0], NY)
    [(_, late_saving)] = reactive_bound(late, SETTINGS, [0.0], NY)

    assert announced_saving > late_saving  # 300 s covers the 210-s wake; 30 s does not
    assert reactive_bound(late, SETTINGS, [100.0], NY)[0][1] == pytest.approx(announced_saving)


def test_a_nap_that_waits_for_idle_minutes_saves_that_much_less_of_every_gap() -> None:
    trace = day_of(Request(at(9)), Request(at(15)), Request(at(15, 1)))
    day = 24 * HOUR

    [(_, at_once)] = reactive_bound(trace, SETTINGS, [100.0], NY)
    [(_, late)] = reactive_bound(trace, SETTINGS, [100.0], NY, nap_delay_seconds=210)

    # Two gaps slept through after a request (15:00-15:01 is too short): each loses the 210 s; the night before
    # 09:00 starts asleep and loses nothing.
    assert at_once - late == pytest.approx(100 * 2 * 210 / day)


def test_requests_no_history_foresees_are_the_ones_after_a_nap_where_most_days_are_empty() -> None:
    from sleepwake_cli.simulate.bounds import unforeseen_share

    # Every workday of the last three weeks saw a user at 09:00 and nobody at 15:00.
    days = [START.date() - timedelta(days=k) for k in range(1, 22)]
    history = tuple(datetime.combine(d, at(9).timetz()) for d in days if d.weekday() < 5)
    settings = SimulationSettings(history=history)
    # 09:00 and 09:01: foreseen. 15:00 and 15:01 (within the 210-s wake 15:00 starts): unforeseen. 15:10: the
    # component was idle 9 minutes, too short for a nap to pay, so no schedule would have slept.
    trace = day_of(*(Request(at(h, m)) for h, m in ((9, 0), (9, 1), (15, 0), (15, 1), (15, 10))))

    assert unforeseen_share(trace, settings, NY) == pytest.approx(100 * 2 / 5)
    announced = day_of(Request(at(9)), Request(at(9, 1)), Request(at(15), 300), Request(at(15, 1)), Request(at(15, 10)))
    assert unforeseen_share(announced, settings, NY) == pytest.approx(100 * 0 / 5)  # its intent covers the wake
