"""Each policy on tiny traces whose cost and waits are worked out by hand below, line by line."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sleepwake_cli.simulate.engine import PolicyResult, Provisioning, Span, nearest_rank, slot_counts
from sleepwake_cli.simulate.policies import SimulationSettings, SleepwakeSettings, simulate
from sleepwake_cli.simulate.trace import Request, Trace

# Monday 5 May 2025 (PDT / EDT). START is 00:00 Los_Angeles = 07:00 UTC, the sleep firing; the wake firing
# 07:00 New_York = 11:00 UTC is at(4). Every time below is hours after START.
START = datetime(2025, 5, 5, 7, 0, tzinfo=UTC)
PRICE = 0.25
SCALE_UP = 200.0  # seconds, fixed so the arithmetic is exact
DETECT = 90.0
RELEASE = 600.0
LOAD_MS = (3000.0, 1500.0, 1000.0)  # 1st, 2nd, 3rd request after a load
STEADY_MS = 500.0
# sleepwake warm-up, by sleepwake.core.is_warm with the default Policy: at least 3 requests, and the last two
# agree within 1.5x: after the 3rd, 1500 <= 1.5 x 1000 -> warm. It takes 3.0 + 1.5 + 1.0 = 5.5 s.
WARMUP = 5.5
# Without a warm-up the first three user requests pay (3000-500), (1500-500), (1000-500) ms extra.
COLD_EXTRA = (2.5, 1.0, 0.5)


def at(hours: float, minutes: float = 0, seconds: float = 0) -> datetime:
    return START + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def trace(*requests: Request, days: int = 1) -> Trace:
    return Trace(tuple(requests), START, START + timedelta(days=days), "hand-made")


def run(tr: Trace, key: str, **sleepwake: int) -> PolicyResult:
    settings = SimulationSettings(
        prov=Provisioning(
            scale_up=Span(SCALE_UP, SCALE_UP),
            copy_on_instance=Span(SCALE_UP, SCALE_UP),  # one phase: the arithmetic below stays simple
            alarm_detection=Span(DETECT, DETECT),
            instance_release_seconds=RELEASE,
            native_idle_minutes=15,
            load_latencies_ms=LOAD_MS,
            steady_latency_ms=STEADY_MS,
        ),
        sleepwake=SleepwakeSettings(**sleepwake),  # type: ignore[arg-type]
        price_per_hour=PRICE,
    )
    return {r.key: r for r in simulate(tr, settings)}[key]


def test_always_on_costs_every_hour_of_the_period_at_the_instance_price() -> None:
    result = run(trace(Request(at(1)), Request(at(12))), "always_on")

    assert result.instance_hours == pytest.approx(24)
    assert result.cost == pytest.approx(24 * PRICE)
    assert (result.met_no_capacity, result.wait_max_s, result.wakes, result.saving_pct) == (0, 0, 0, 0)


def test_a_night_request_under_sleepwake_waits_exactly_provisioning_plus_warm_up() -> None:
    result = run(trace(Request(at(1))), "sleepwake")

    assert result.met_no_capacity == 1
    assert result.wait_max_s == pytest.approx(SCALE_UP + WARMUP)
    # Instance: woken at 01:00; invocations at 01:03:23-01:03:25.5 (warm-up + the request). Idle checks at
    # 01:15 and 01:30 see them in the last 30 min; 01:45 does not -> 0 copies, instance gone at 01:55.
    # Then the 07:00 New_York wake (at 4 h) keeps it to the end of the day: 20 h.
    hours = 55 / 60 + 20
    assert result.instance_hours == pytest.approx(hours)
    # Plus the control plane: 95 idle checks (every 15 min inside the day), each the idle-check Lambda, its
    # GetMetricStatistics and the scheduler's invocation (Lambda first: no state transition when it skips).
    checks = 95 * (0.0000002 + 0.25 * 0.2 * 0.0000166667 + 0.00001 + 0.000001)
    assert result.cost == pytest.approx(hours * PRICE + checks)
    assert result.saving_pct == pytest.approx(100 * (1 - (hours * PRICE + checks) / (24 * PRICE)))
    assert result.wakes == 2
    assert result.details["decisions"]["wake no_capacity: start"] == 1


def test_a_request_announced_by_a_wake_five_minutes_earlier_does_not_wait() -> None:
    result = run(trace(Request(at(1), wake_lead_seconds=300)), "sleepwake")

    # /wake at 00:55 -> serving 00:58:20 -> warm 00:58:25.5, before the request at 01:00.
    assert result.met_no_capacity == 0
    assert result.wait_max_s == 0


def test_a_wake_announced_one_minute_ahead_leaves_the_rest_of_the_wake_to_wait() -> None:
    result = run(trace(Request(at(1), wake_lead_seconds=60)), "sleepwake")

    assert result.met_no_capacity == 1
    assert result.wait_max_s == pytest.approx(SCALE_UP + WARMUP - 60)


def test_a_late_session_postpones_the_scheduled_sleep_until_it_has_been_idle() -> None:
    # A request at 23:50 Los_Angeles on day 1; the sleep firing at 00:00 (24 h) skips, it was 10 min ago.
    tr = trace(Request(at(23, 50)), days=2)
    result = run(tr, "sleepwake")

    # Idle checks: 00:15 still sees 23:50 within 30 min; 00:30 does not -> sleep; instance gone 00:40.
    # Day 1: wake at 4 h -> 24 h 40 min = 20 h 40 min. Day 2: wake at 28 h -> end at 48 h = 20 h.
    assert result.instance_hours == pytest.approx(20 + 40 / 60 + 20)
    assert result.details["decisions"]["sleep schedule: skip"] == 1
    assert result.details["decisions"]["sleep idle: sleep"] == 1
    assert result.wait_max_s == 0

    scheduled = run(tr, "scheduled")  # sleeps at 00:00 regardless: 20 h 10 min + 20 h
    assert scheduled.instance_hours == pytest.approx(20 + 10 / 60 + 20)


def test_idle_sleep_is_sooner_with_fewer_idle_minutes() -> None:
    tr = trace(Request(at(23, 50)), days=2)
    # IdleMinutes 15: the 00:00 firing sees 23:50 in (23:45, 00:00] and skips; 00:15 sees nothing in
    # (00:00, 00:15] -> sleep at 00:15, instance gone 00:25.
    result = run(tr, "sleepwake", idle_minutes=15)
    assert result.instance_hours == pytest.approx(20 + 25 / 60 + 20)


def test_scheduled_only_leaves_a_night_request_waiting_for_the_morning() -> None:
    result = run(trace(Request(at(1))), "scheduled")

    # Waits from 01:00 to the 07:00 New_York wake (4 h after START) + scale-up, and is the first,
    # cold request on the fresh copy.
    assert result.wait_max_s == pytest.approx(3 * 3600 + SCALE_UP + COLD_EXTRA[0])
    assert result.long_waits == 1
    assert result.instance_hours == pytest.approx(20)
    assert result.cost == pytest.approx(20 * PRICE)


def test_native_autoscale_waits_for_the_alarm_then_scales_in_after_fifteen_idle_minutes() -> None:
    result = run(trace(Request(at(6), wake_lead_seconds=300)), "native")  # no /wake endpoint: intent ignored

    assert result.met_no_capacity == 1
    assert result.wait_max_s == pytest.approx(DETECT + SCALE_UP + COLD_EXTRA[0])
    # Instance from the scale-out (after the alarm) to 15 idle minutes after the request was served, + 10 min.
    assert result.instance_hours == pytest.approx((SCALE_UP + 15 * 60 + RELEASE) / 3600)
    assert result.wakes == 1


def test_the_first_requests_after_a_load_are_slow_without_a_warm_up() -> None:
    result = run(trace(Request(at(6)), Request(at(6, 0, 10)), Request(at(6, 0, 20))), "native")

    served = DETECT + SCALE_UP  # all three are taken when the copy serves
    waits = [served + COLD_EXTRA[0], served - 10 + COLD_EXTRA[1], served - 20 + COLD_EXTRA[2]]
    assert result.wait_max_s == pytest.approx(max(waits))
    assert result.wait_p50_s == pytest.approx(sorted(waits)[1])
    assert result.met_no_capacity == 3


def test_an_intent_just_before_the_night_sleep_keeps_the_component_up_for_its_user() -> None:
    # /wake at 23:59 is answered already-ready; the 00:00 firing has seen no invocations for 30 min. The /wake's
    # hold (WakeHoldMinutes, 10) keeps the component up for the user it announced, 3 minutes later.
    tr = trace(Request(at(24, 2), wake_lead_seconds=180), days=2)

    held = run(tr, "sleepwake")
    assert (held.met_no_capacity, held.wait_max_s) == (0, 0)

    # Without the hold the firing sleeps the component and the user waits for a whole wake.
    no_hold = run(tr, "sleepwake", wake_hold_minutes=0)
    assert no_hold.met_no_capacity == 1
    assert no_hold.wait_max_s == pytest.approx(SCALE_UP + WARMUP)

    # The product's own keep_awake_minutes does the same.
    with_lease = run(tr, "sleepwake", wake_hold_minutes=0, intent_lease_minutes=15)
    assert with_lease.met_no_capacity == 0
    assert with_lease.wait_max_s == 0


def test_percentiles_are_nearest_rank_values_that_were_observed() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert nearest_rank(values, 50) == 3.0  # ceil(2.5) = 3rd of 1..5
    assert nearest_rank(values, 95) == 5.0
    assert nearest_rank([], 95) == 0.0


def test_the_planners_request_slots_read_a_naive_moment_as_utc_on_a_machine_in_any_zone(monkeypatch) -> None:
    """`datetime.timestamp()` reads a naive datetime as the machine's local time: on a laptop in New York a
    naive trace's requests would move 5 hours."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        naive = datetime(2026, 3, 2, 9, 7)
        assert slot_counts([naive, naive.replace(tzinfo=UTC)]) == [(datetime(2026, 3, 2, 9, 5, tzinfo=UTC), 2)]
    finally:
        monkeypatch.undo()
        time.tzset()
