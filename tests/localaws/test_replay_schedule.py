"""The replay driver's schedule: what the product does, and when, from a trace (localaws/replay.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localaws.replay import Event, Sent, events, requests_of
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
