"""`sleepwake report`'s traffic and plan figures: the requests that found the component awake or asleep, the
awake hours nobody used, and the plan's windows against the requests that came (sleepwake.core.report)."""

from __future__ import annotations

from datetime import timedelta

from sleepwake.core.applied_plan import AppliedDay, PlannedDay, PlannedSpan
from sleepwake.core.report import PathMetrics, Slot, build_report, misses_with_their_answers
from sleepwake.core.warmups import Served, less_own
from tests.unit.test_report import DAY, PRICES, at, run

# Awake 07:00-12:00 (a schedule wake, an idle nap), asleep before and after.
DAY_RUNS = [run("wake", "schedule", "ready", 7.0, 7.05), run("sleep", "idle", "asleep", 11.99, 12.0)]


def slot(hours: float, component: float = 0, no_capacity: float = 0, fallback: float = 0) -> Slot:
    return Slot(at(hours), 300, component, no_capacity, fallback)


def applied(day_spans: list[tuple[float, float]], *, mode: str = "learned", learned: bool = True) -> AppliedDay:
    spans = [PlannedSpan(wake=at(a), sleep=at(b)) for a, b in day_spans]
    planned = PlannedDay(day=DAY.date(), learned=learned, reason="test", spans=spans)
    return AppliedDay(made_at=DAY, mode=mode, tz="UTC", plan=planned)  # type: ignore[arg-type]


def report(slots: list[Slot], days: list[AppliedDay] | None = None, *, component=None, fallback=None):
    return build_report(
        DAY_RUNS,
        component or PathMetrics(invocations=sum(s.component for s in slots)),
        fallback,
        start=DAY,
        end=at(24),
        awake_now=False,
        prices=PRICES,
        estimate_seconds=260,
        slots=slots,
        plan_days=days,
    )


def test_hits_found_the_component_awake_and_misses_found_it_asleep_answered_by_the_fallback_or_not():
    component = PathMetrics(invocations=40, no_capacity=6)
    fallback = PathMetrics(invocations=7, warmups=3)  # 4 users; 3 of its requests were our own warm-ups
    r = report([], component=component, fallback=fallback)
    assert r.traffic | {"awake_hours_unused": None} == {
        "hits": 40,
        "misses": 6,
        "misses_to_fallback": 4,
        "misses_failed": 2,
        "awake_hours_unused": None,
        "warmups_unmatched": 0,
    }
    assert r.requests["failed"] == 2


def test_hits_leave_out_the_control_planes_warm_ups_of_the_component():
    r = report([], component=PathMetrics(invocations=40, warmups=6))
    assert r.traffic["hits"] == 34


def minutes(*offsets: int) -> list:
    return [at(0) + timedelta(minutes=m) for m in offsets]


def test_warm_ups_counted_when_they_ended_are_taken_from_the_periods_they_were_sent_in():
    # Each warm-up is counted once it ends, stamped then: 3 requests at the end of one period, counted in the next.
    five = minutes(0, 5, 10, 15, 20)
    assert less_own([0, 3, 1, 0, 2], [0, 0, 3, 0, 2], five, 300) == ([0, 1, 0, 0, 0], [0, 0, 0, 0, 0])
    assert less_own([1, 0], [0, 2], five[:2], 300) == ([0, 0], [0, 1])  # never below none; the rest is reported
    assert less_own([5, 5], [0, 0], five[:2], 300) == ([5, 5], [0, 0])


def test_warm_ups_are_never_taken_from_users_requests_periods_earlier():
    # GetMetricData leaves empty periods out: users' 5 requests at 00:00, the warm-up's 3 counted at 00:15, with
    # nothing between. The warm-up's requests are not users' requests of 15 minutes before.
    users, unmatched = less_own([5, 0], [0, 3], minutes(0, 15), 300)
    assert users == [5, 0]
    assert unmatched == [0, 3]
    # With the period before it present, that one is taken from, and no earlier one.
    assert less_own([5, 1, 0], [0, 0, 3], minutes(0, 10, 15), 300) == ([5, 0, 0], [0, 0, 2])


def test_a_miss_the_fallback_answered_in_the_next_period_is_one_users_request():
    # No capacity at 00:04:55; the fallback's answer, after its cold start, is counted in the 00:05 period.
    moved = misses_with_their_answers([1, 0], [0, 1], minutes(0, 5), 300)
    assert moved == [0, 1]
    slots = [Slot(at, 300, no_capacity=n, fallback=f) for at, n, f in zip(minutes(0, 5), moved, [0, 1], strict=True)]
    assert sum(s.requests for s in slots) == 1
    # Periods apart (GetMetricData leaves the empty ones out): two users, one unanswered.
    assert misses_with_their_answers([1, 0], [0, 1], minutes(0, 15), 300) == [1, 0]
    # Already answered in its own period: nothing moves.
    assert misses_with_their_answers([1, 1], [1, 1], minutes(0, 5), 300) == [1, 1]


def test_the_report_says_how_many_warm_up_requests_matched_no_request():
    r = report([slot(8.0, component=4), Slot(at(9.0), 300, component=0, warmups_unmatched=3)])
    assert r.traffic["hits"] == 4
    assert r.traffic["warmups_unmatched"] == 3


def test_awake_hours_nobody_used_are_the_awake_clock_hours_without_a_request():
    r = report([slot(7.1, component=3), slot(9.5, component=1), slot(13.0, no_capacity=1, fallback=1)])
    assert r.awake_hours == 5.0
    assert r.traffic["awake_hours_unused"] == 3.0  # 08, 10 and 11 o'clock
    assert r.requests_per_hour == [
        ["2026-11-25T07:00:00Z", 3, 0, 0],
        ["2026-11-25T09:00:00Z", 1, 0, 0],
        ["2026-11-25T13:00:00Z", 0, 1, 1],
    ]


def test_the_plans_windows_against_the_requests_that_came():
    slots = [slot(9.0, component=3), slot(10.5, component=2), slot(13.0, no_capacity=2, fallback=2)]
    r = report(slots, [applied([(8 + 55 / 60, 12.0)])])
    assert r.plan == {
        "days_applied": 1,
        "days_crons": 0,
        "planned_hours": round(3 + 5 / 60, 3),
        "requests_in_windows": 5,
        "requests_outside_windows": 2,  # each met no capacity and went on to the fallback: counted once
        "planned_hours_unused": round(5 / 60 + 1, 3),  # 08:55-09:00 and 11 o'clock
        "windows": [{"wake": "2026-11-25T08:55:00Z", "sleep": "2026-11-25T12:00:00Z", "requests": 5}],
    }


def test_windows_of_a_day_the_crons_ran_did_not_apply():
    slots = [slot(9.0, component=3)]
    for day in (applied([(9, 12)], mode="crons"), applied([(9, 12)], learned=False)):
        r = report(slots, [day])
        assert (r.plan["days_applied"], r.plan["days_crons"], r.plan["planned_hours"]) == (0, 1, 0)
        assert (r.plan["requests_in_windows"], r.plan["requests_outside_windows"]) == (0, 3)


def test_a_window_is_cut_to_the_report_and_periods_outside_it_are_left_out():
    slots = [slot(-0.5, component=9), slot(23.9, component=1), slot(24.5, component=9)]
    r = report(slots, [applied([(22.0, 26.0)])])
    assert r.plan["windows"] == [{"wake": "2026-11-25T22:00:00Z", "sleep": "2026-11-26T00:00:00Z", "requests": 1}]
    assert r.plan["requests_outside_windows"] == 0


def test_without_periods_the_traffic_and_plan_figures_are_empty():
    r = build_report([], PathMetrics(), None, start=DAY, end=at(1), awake_now=True, prices=PRICES,
                     estimate_seconds=1)  # fmt: skip
    assert (r.traffic, r.plan, r.requests_per_hour) == ({}, {}, [])


def test_the_last_period_cut_short_by_the_windows_end_counts_where_what_is_left_falls():
    # The report ends at 24:00; a period starting at 23:57 covers 3 minutes of it, its middle at 23:58:30.
    slots = [Slot(at(23.95), 300, component=2)]
    r = report(slots, [applied([(23.0, 23.0 + 59 / 60)])])
    assert r.requests_per_hour == [["2026-11-25T23:00:00Z", 2, 0, 0]]
    assert r.plan["requests_in_windows"] == 2


def test_a_wakes_waits_are_its_time_to_ready_the_provisioning_it_expected_the_time_over_it_and_the_warm_up():
    from sleepwake.core.report_waits import wake_wait

    assert wake_wait(at(7), at(7) + timedelta(seconds=250), 210, at(7) + timedelta(seconds=240)) == {
        "TimeToReadySeconds": 250.0,
        "ExpectedProvisioningSeconds": 210.0,
        "OverExpectedSeconds": 40.0,
        "WarmupSeconds": 10.0,
    }
    assert wake_wait(at(7), at(7) + timedelta(seconds=5), None, None) == {"TimeToReadySeconds": 5.0}


def test_a_wake_faster_than_the_estimate_is_reported_under_what_it_expected_not_under_a_floor():
    """`make demo` printed "waits p50 217.1 s (floor 240.0 s)": the 240 s is ProvisioningEstimateSeconds, what the
    wake planned its polls by, and SageMaker (the emulator: 210 s) may beat it. A floor nobody can wait less than
    is SageMaker's own provisioning, which the control plane cannot see; the report calls the estimate what it is."""
    from sleepwake.core.report_waits import waits, wake_wait

    faster = wake_wait(at(7), at(7) + timedelta(seconds=217), 240, at(7) + timedelta(seconds=212))
    assert faster["OverExpectedSeconds"] == -23.0
    stats = {f"{name}:{stat}": value for name, value in faster.items() for stat in ("p50", "Maximum")}
    figures = waits(stats | {"TimeToReadySeconds:SampleCount": 1.0})
    assert figures["time_to_ready_p50_s"] == 217.0 and figures["expected_p50_s"] == 240.0
    assert figures["over_expected_p50_s"] == -23.0
    assert not [key for key in figures if "floor" in key]


def test_the_waits_figures_come_from_the_statistics_of_the_control_planes_metrics():
    from sleepwake.core.report_waits import waits

    assert waits({}) == {} and waits({"TimeToReadySeconds:SampleCount": 0.0}) == {}
    stats = {
        "TimeToReadySeconds:SampleCount": 3.0,
        "TimeToReadySeconds:p50": 215.04,
        "TimeToReadySeconds:Maximum": 266.0,
        "ExpectedProvisioningSeconds:p50": 210.0,
        "OverExpectedSeconds:p50": 5.04,
        "OverExpectedSeconds:Maximum": 56.0,
        "WarmupSeconds:Maximum": None,  # no wake went through warming
    }
    assert waits(stats) == {
        "wakes_measured": 3,
        "time_to_ready_p50_s": 215.0,
        "time_to_ready_max_s": 266.0,
        "expected_p50_s": 210.0,
        "over_expected_p50_s": 5.0,
        "over_expected_max_s": 56.0,
        "warmup_max_s": None,
    }
    r = build_report([], PathMetrics(), None, start=DAY, end=at(1), awake_now=True, prices=PRICES,
                     estimate_seconds=1, wait_stats=stats)  # fmt: skip
    assert r.waits["wakes_measured"] == 3


def test_one_days_read_per_minute_gives_users_recent_requests_and_the_minutes_the_fallback_served():
    """GET /status reads the fallback once (sleepwake.core.warmups.Served): its requests and the control plane's
    own per minute over a day; users' recent requests are the former less the latter in the recent window only."""
    day = {at(0) + timedelta(minutes=m): 1.0 for m in range(0, 600, 5)}  # a ping every 5 minutes for 10 h ...
    day[at(0) + timedelta(minutes=598)] = 3.0  # ... and 2 users' requests beside the ping at 09:58
    own = {t + timedelta(minutes=1): 1.0 for t in day}  # each ping counted when it ended, the minute after
    served = Served(60, day, own)
    now = at(0) + timedelta(minutes=600)

    assert served.users_since(now - timedelta(minutes=60)) == 2.0
    assert served.users_since(now - timedelta(minutes=1)) == 0.0  # nothing in the last minute
    assert served.users_since(at(0) + timedelta(minutes=598, seconds=30)) == 2.0  # the minute the window starts in
    assert served.served_periods() == sorted(day)  # pings included: they keep it warm
    assert Served(60, {}, {at(0): 1.0}).users_since(at(0)) == 0.0  # an own request SageMaker did not count yet
