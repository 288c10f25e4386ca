"""Keeping the fallback warm in the simulator: pings in the hours users may come, provisioned concurrency over
them, pre-warms at sleeps; each priced, each given to sleepwake and to the hybrid peer alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sleepwake.core.keep_warm import KeepWarmMode
from sleepwake_cli.simulate.engine import FallbackModel, PolicyResult, Span
from sleepwake_cli.simulate.policies import simulate
from sleepwake_cli.simulate.trace import Request, Trace
from tests.simulate.test_fallback_and_oracle import COLD, FALLBACK_MS, settings
from tests.simulate.test_policies_on_hand_made_traces import at, trace

MEMORY_GB = 2.0
# One ping: 2 s of the fallback's compute, one clip of data, and the pinger's Lambda (256 MB for the 2 s it waits).
PING_USD = FALLBACK_MS / 1000 * MEMORY_GB * 0.0000200 + 0.16 / 1024 * 0.016 + 0.0000002 + 0.25 * 2.0 * 0.0000166667


def nightly_history(days: int = 21) -> tuple:
    """A request at 02:00 Los_Angeles on each of the `days` days before the trace: users may come around 02:00."""
    return tuple(at(2) - timedelta(days=k) for k in range(1, days + 1))


def run(tr: Trace, key: str, mode: KeepWarmMode, evict: float = 600.0) -> PolicyResult:
    s = settings(mode)
    s = replace(
        s,
        history=nightly_history(),
        fallback=FallbackModel(cold_start=Span(COLD, COLD), latency_ms=FALLBACK_MS, idle_evict_seconds=evict),
    )
    return {r.key: r for r in simulate(tr, s)}[key]


def pings(result: PolicyResult) -> int:
    return result.details["fallback"]["keep_warm"]["pings"]


def test_pings_in_the_hours_users_may_come_spare_a_night_user_the_cold_start() -> None:
    tr = trace(Request(at(2, minutes=4, seconds=30)))
    cold = run(tr, "sleepwake_naps", KeepWarmMode.NONE)
    warm = run(tr, "sleepwake_naps", KeepWarmMode.PING)

    assert (cold.fallback_cold_starts, cold.slow_answers, cold.keep_warm_cost) == (1, 1, 0.0)
    assert (warm.fallback_cold_starts, warm.slow_answers) == (0, 0)
    assert warm.latency_max_s == pytest.approx(FALLBACK_MS / 1000)
    # Priced: every ping, plus the cold starts pings met (at 00:55, and at the nap after the wake: the fallback
    # went cold while the copy served, and the sleep warms it before the copy goes). No user met one.
    n, cold_starts = pings(warm), warm.details["fallback"]["cold_starts"]
    assert cold_starts == 2
    assert warm.keep_warm_cost == pytest.approx(n * PING_USD + cold_starts * COLD * MEMORY_GB * 0.0000200)
    assert warm.fallback_cost > warm.keep_warm_cost  # the user's request is billed too
    # Only around 02:00 (00:55-03:05 at most, one every 5 min) and never while the copy serves.
    assert 10 <= n <= 27


def test_an_eviction_shorter_than_the_ping_interval_brings_the_cold_start_back() -> None:
    # AWS does not publish the eviction: at 600 s the 5-minute pings hold the endpoint warm, at 240 s a request
    # 4.5 min after a ping finds it gone.
    tr = trace(Request(at(2, minutes=4, seconds=30)))

    assert run(tr, "sleepwake_naps", KeepWarmMode.PING, evict=600).fallback_cold_starts == 0
    assert run(tr, "sleepwake_naps", KeepWarmMode.PING, evict=240).fallback_cold_starts == 1


def test_outside_the_hours_users_may_come_the_fallback_goes_cold_and_nothing_pings() -> None:
    tr = trace(Request(at(20)))
    result = run(tr, "sleepwake_naps", KeepWarmMode.PING)

    assert result.fallback_cold_starts == 1
    assert pings(result) <= 27  # the 02:00 window's, none in the evening


def test_provisioned_concurrency_is_warm_over_the_window_and_billed_for_all_of_it() -> None:
    tr = trace(Request(at(2, minutes=4, seconds=30)))
    result = run(tr, "sleepwake_planner", KeepWarmMode.PROVISIONED)

    assert result.fallback_cold_starts == 0
    # 01:00-03:05 Los_Angeles (an hour around 02:00, the 5-minute slot included) plus the 5-minute lead.
    provisioned_seconds = (2 * 60 + 10) * 60
    assert result.keep_warm_cost == pytest.approx(provisioned_seconds * MEMORY_GB * 0.0000050)


def test_the_hybrid_peer_gets_the_same_keep_warm() -> None:
    tr = trace(Request(at(2, minutes=4, seconds=30)))

    assert run(tr, "hybrid_histogram", KeepWarmMode.NONE).fallback_cold_starts == 1
    assert run(tr, "hybrid_histogram", KeepWarmMode.PING).fallback_cold_starts == 0


def test_with_the_fallback_warm_the_planner_may_leave_a_request_outside_its_windows_to_the_fallback() -> None:
    # History: a request at 02:00 Los_Angeles every day, so 02:00 may come (kept warm) but is not a planned
    # window (one request in 5 minutes is too short for one). A request at 02:04:30 meets no capacity.
    tr = trace(Request(at(2, minutes=4, seconds=30)))
    base = replace(settings(KeepWarmMode.PING), history=nightly_history())
    wakes = {r.key: r for r in simulate(tr, base)}["sleepwake_planner"]
    alone = replace(base, planner=replace(base.planner, wake_outside_windows=False))
    left = {r.key: r for r in simulate(tr, alone)}["sleepwake_planner"]

    assert wakes.details["decisions"]["wake no_capacity: start"] == 1
    assert left.details["decisions"]["wake no_capacity: the fallback answers outside the plan"] == 1
    assert "wake no_capacity: start" not in left.details["decisions"]
    assert (left.served_by_fallback, left.slow_answers, left.failed) == (1, 0, 0)
    assert left.instance_hours < wakes.instance_hours
