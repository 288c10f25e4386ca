"""The replay driver's schedule: what the product does, and when, from a trace (localaws/replay.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localaws.replay import Event, Intent, Sent, events, requests_of, timeliness
from sleepwake_cli.simulate.trace import Request, Trace

T0 = datetime(2025, 5, 5, 7, tzinfo=UTC)


def _trace(*requests: Request) -> Trace:
    return Trace(tuple(requests), T0, T0 + timedelta(days=1), "test")


def test_an_intent_comes_its_lead_before_its_request_and_plain_requests_come_alone():
    at = T0 + timedelta(hours=5)
    plan = events(_trace(Request(at, 300.0), Request(at + timedelta(seconds=40))))
    assert plan == [
        Event(at - timedelta(seconds=300), "intent", 0),
        Event(at, "request", 0),
        Event(at + timedelta(seconds=40), "request", 1),
    ]


def test_events_are_in_time_order_even_when_an_intent_overtakes_earlier_requests():
    first = T0 + timedelta(hours=5)
    later = first + timedelta(minutes=3)
    plan = events(_trace(Request(first), Request(later, 600.0)))
    assert [(e.kind, e.index) for e in plan] == [("intent", 1), ("request", 0), ("request", 1)]
    assert [e.at for e in plan] == sorted(e.at for e in plan)


def test_an_intent_is_never_before_the_trace_and_goes_first_at_the_same_instant():
    plan = events(_trace(Request(T0, None), Request(T0 + timedelta(seconds=30), 120.0)))
    assert plan[0] == Event(T0, "intent", 1)  # as the simulator clamps it (simulate/base.py run)
    assert plan[1] == Event(T0, "request", 0)


def test_the_drivers_figures_count_what_users_saw():
    def sent(index: int, latency: float, path: str | None, ok: bool = True) -> Sent:
        return Sent(index, T0, T0, latency, path, ok, None if ok else "FallbackFailed: down")  # type: ignore[arg-type]

    figures = requests_of(
        [sent(0, 0.0, "component"), sent(1, 15.2, "fallback"), sent(2, 0.1, "fallback"), sent(3, 0.0, None, False)],
        slow_seconds=3.0,
    )
    assert figures == {
        "requests": 4,
        "failed": 1,
        "served_by_component": 1,
        "served_by_fallback": 2,
        "slow_answers": 1,
    }


def test_late_sends_and_refused_intents_are_counted_so_a_slow_replay_cannot_shift_traffic_silently():
    def sent(index: int, lag: float) -> Sent:
        return Sent(index, T0, T0 + timedelta(seconds=lag), 0.0, "component", True)

    def intent(index: int, lag: float, status: int) -> Intent:
        return Intent(index, T0, T0 + timedelta(seconds=lag), status, "waking" if status < 300 else "throttled")

    figures = timeliness(
        [sent(0, 0.0), sent(1, 0.2), sent(2, 4.5), *(sent(3 + i, 0.1) for i in range(97))],
        [intent(0, 1.5, 202), intent(1, 0.0, 429), intent(2, 0.0, 0)],
    )
    assert figures["late_sends"]["max_s"] == 4.5
    assert figures["late_sends"]["over_1_s"] == 2  # the request 4.5 s late and the intent 1.5 s late
    assert 0.2 <= figures["late_sends"]["p99_s"] <= 4.5
    assert figures["failed_intents"] == 2  # a 429 and no answer at all; the 202 was taken
    assert [d["status"] for d in figures["failed_intent_details"]] == [429, 0]


def test_a_punctual_replay_reports_no_lag():
    figures = timeliness([Sent(0, T0, T0, 0.0, "component", True)], [])
    assert figures["late_sends"] == {"max_s": 0.0, "p99_s": 0.0, "over_1_s": 0, "calls": 1}
    assert figures["failed_intents"] == 0 and figures["failed_intent_details"] == []
