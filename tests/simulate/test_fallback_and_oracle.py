"""The serverless fallback, naps at any hour and the oracle, on hand-made traces and on the built-in week."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from sleepwake.core.keep_warm import KeepWarmMode, KeepWarmSettings
from sleepwake_cli.main import main
from sleepwake_cli.simulate.engine import FallbackModel, PolicyResult, Provisioning, Span
from sleepwake_cli.simulate.policies import SimulationSettings, SleepwakeSettings, simulate
from sleepwake_cli.simulate.trace import Request, SyntheticWeek, Trace
from tests.simulate.test_policies_on_hand_made_traces import (
    DETECT,
    LOAD_MS,
    PRICE,
    RELEASE,
    SCALE_UP,
    STEADY_MS,
    WARMUP,
    at,
    trace,
)

COLD = 12.0  # fallback cold start, seconds
FALLBACK_MS = 2000.0


def settings(keep_warm: KeepWarmMode = KeepWarmMode.NONE, **sleepwake: int) -> SimulationSettings:
    """The hand-made traces' settings; the fallback is left to go cold unless `keep_warm` says otherwise."""
    return SimulationSettings(
        prov=Provisioning(
            scale_up=Span(SCALE_UP, SCALE_UP),
            copy_on_instance=Span(SCALE_UP, SCALE_UP),  # one phase: the arithmetic below stays simple
            alarm_detection=Span(DETECT, DETECT),
            instance_release_seconds=RELEASE,
            load_latencies_ms=LOAD_MS,
            steady_latency_ms=STEADY_MS,
        ),
        sleepwake=SleepwakeSettings(**sleepwake),  # type: ignore[arg-type]
        fallback=FallbackModel(cold_start=Span(COLD, COLD), latency_ms=FALLBACK_MS, idle_evict_seconds=600),
        price_per_hour=PRICE,
        keep_warm=KeepWarmSettings(mode=keep_warm),
    )


def run(tr: Trace, key: str, keep_warm: KeepWarmMode = KeepWarmMode.NONE, **sleepwake: int) -> PolicyResult:
    return {r.key: r for r in simulate(tr, settings(keep_warm, **sleepwake))}[key]


def test_a_request_while_asleep_is_answered_by_the_fallback_and_wakes_the_component() -> None:
    # 02:00 LA: asleep. The first request goes to a cold fallback; its wake makes the copy serve 200 s + warm-up
    # later, so a request 5 minutes on is served by the component.
    result = run(trace(Request(at(2)), Request(at(2, minutes=5))), "sleepwake_naps")

    assert (result.failed, result.served_by_fallback, result.wakes) == (0, 1, 2)  # + the 07:00 ET wake
    assert result.latency_p95_s == pytest.approx(COLD + FALLBACK_MS / 1000)
    assert result.details["fallback"]["cold_starts"] == 1
    assert result.details["fallback"]["why"] == {"met the component asleep": 1, "unannounced": 1}


def test_why_each_request_went_to_the_fallback_is_counted() -> None:
    # 02:00: an intent 30 s ahead starts the wake, so the user and the next clip come while it is under way.
    # 03:00: the component napped after 15 idle minutes, its instance released before; an unannounced user meets it.
    announced = [Request(at(2), wake_lead_seconds=30), Request(at(2, minutes=1))]
    result = run(trace(*announced, Request(at(3))), "sleepwake_naps", nap_idle_minutes=15)

    assert result.served_by_fallback == 3
    assert result.details["fallback"]["why"] == {
        "announced by an intent too late": 2,
        "came while a wake was under way": 2,
        "met the component asleep": 1,
        "unannounced": 1,
    }
    assert result.details["fallback"]["runs"] == 2  # two users met it not serving: 2 answers, then 1


def test_users_who_met_the_component_not_serving_are_counted_alike_for_sleepwake_and_the_hybrid_peer() -> None:
    """Every policy with the fallback reports its runs (users met not serving) and the rest of the fallback's
    figures in the same place, so the goals script compares them (issue 14's fairness)."""
    announced = [Request(at(2), wake_lead_seconds=30), Request(at(2, minutes=1))]
    results = {r.key: r for r in simulate(trace(*announced, Request(at(3))), settings())}
    shared = {"requests", "cold_starts", "billed_seconds", "runs", "keep_warm"}
    for key in ("sleepwake_naps", "sleepwake_planner", "hybrid_histogram"):
        fallback = results[key].details["fallback"]
        assert shared <= set(fallback), key
        assert fallback["requests"] == results[key].served_by_fallback == 3, key
    assert results["hybrid_histogram"].details["fallback"]["runs"] == 2  # 02:00-02:01, then 03:00


def test_without_a_fallback_the_same_request_fails_and_waits_for_the_wake() -> None:
    result = run(trace(Request(at(2)), Request(at(2, minutes=5))), "sleepwake")

    assert (result.failed, result.served_by_fallback) == (1, 0)
    assert result.wait_max_s == pytest.approx(SCALE_UP + WARMUP + 0.0)


def test_an_intent_wake_prewarms_the_fallback_so_the_user_never_meets_its_cold_start() -> None:
    # /wake 60 s ahead: too short for a copy (200 s), long enough for the fallback's 12 s cold start.
    result = run(trace(Request(at(2), wake_lead_seconds=60)), "sleepwake_naps")

    assert result.served_by_fallback == 1
    assert result.latency_p95_s == pytest.approx(FALLBACK_MS / 1000)


def test_naps_in_the_afternoon_after_idle_minutes_and_the_fallback_answers_meanwhile() -> None:
    # 10:00 and 12:00 LA, daytime: sleepwake without naps stays up from the 07:00 ET wake (04:00 LA) to
    # midnight; with naps it sleeps 15 idle minutes after that wake and after each request's wake, and both
    # requests are answered by the fallback while the copy comes back.
    tr = trace(Request(at(10)), Request(at(12)))
    plain, naps = run(tr, "sleepwake"), run(tr, "sleepwake_naps", nap_idle_minutes=15)

    assert plain.instance_hours > 19
    assert (naps.failed, naps.served_by_fallback) == (0, 2)
    assert naps.instance_hours < 3


def test_the_oracle_is_ready_for_every_request_and_sleeps_through_every_gap_that_pays() -> None:
    # Gap of 2 h between requests: sleeping pays (2 h > release + scale-up + warm-up), so the instance is billed
    # from one lead before each request to the release after it.
    result = run(trace(Request(at(2)), Request(at(4))), "oracle")
    lead = SCALE_UP + WARMUP

    assert (result.failed, result.wait_max_s, result.wakes) == (0, 0, 2)
    assert result.instance_hours == pytest.approx(2 * (lead + RELEASE) / 3600)


def test_on_the_built_in_week_naps_with_a_fallback_save_most_and_fail_nothing() -> None:
    results = {r.key: r for r in simulate(SyntheticWeek(seed=7).build(), SimulationSettings())}
    naps, oracle = results["sleepwake_naps"], results["oracle"]
    saving_usd = results["always_on"].cost - naps.cost

    assert naps.failed == 0
    assert naps.saving_pct >= 60
    assert naps.served_by_fallback <= 0.05 * naps.requests
    assert naps.fallback_cost < 0.02 * saving_usd
    assert oracle.failed == 0
    assert all(oracle.cost <= r.cost + 1e-9 for r in results.values() if r.failed == 0)


def test_simulate_json_carries_failed_and_served_by_fallback_per_policy(tmp_path: Path) -> None:
    assert main(["simulate", "--out", str(tmp_path), "--no-chart", "--no-variants"]) == 0

    report = json.loads((tmp_path / "simulate.json").read_text())
    by_key = {p["key"]: p for p in report["policies"]}
    assert set(by_key) >= {"always_on", "scheduled", "native", "sleepwake", "sleepwake_naps", "oracle"}
    assert all({"failed", "served_by_fallback", "latency_p50_s", "latency_p95_s"} <= set(p) for p in by_key.values())
    assert by_key["sleepwake_naps"]["failed"] == 0
    assert by_key["sleepwake"]["failed"] == by_key["sleepwake"]["met_no_capacity"]


def test_fallback_idle_eviction_brings_the_cold_start_back() -> None:
    # Two requests 30 min apart at night: each wakes nothing faster than the fallback; the fallback went cold
    # (600 s idle) in between, so both pay its cold start.
    result = run(
        trace(Request(at(2)), Request(at(2, minutes=30) + timedelta(seconds=1))), "sleepwake_naps", nap_idle_minutes=15
    )

    assert result.details["fallback"]["cold_starts"] >= 1
    assert result.failed == 0


def test_a_wake_within_ten_minutes_of_a_sleep_reuses_the_instance_and_is_faster() -> None:
    two_phase = replace(settings(), prov=replace(settings().prov, copy_on_instance=Span(120, 120)))
    # Night: a request at 02:00 wakes it (new instance, 200 s); the 02:45 idle check (30 idle minutes) puts it
    # to sleep; a request at 02:50 finds the instance still there (released 10 min after 0 copies): the copy
    # alone takes 120 s.
    tr = trace(Request(at(2)), Request(at(2, minutes=50)))
    result = {r.key: r for r in simulate(tr, two_phase)}["sleepwake"]

    assert result.failed == 2
    assert result.wait_max_s == pytest.approx(SCALE_UP + WARMUP)
    assert result.wait_p50_s == pytest.approx(120 + WARMUP)


def test_each_idle_check_is_priced_so_a_faster_check_must_pay_for_itself() -> None:
    # A day with no request: 95 checks at 15 min (the first 15 min after the start, the last 15 min before the
    # end) vs 287 at 5 min, each counted in the cost.
    tr = trace()
    every_15 = run(tr, "sleepwake_naps", idle_check_minutes=15)
    every_5 = run(tr, "sleepwake_naps", idle_check_minutes=5)
    # The deployed check, Lambda first: the idle-check Lambda (256 MB for 0.2 s, and its request), one
    # GetMetricStatistics, one scheduler invocation; no state transition when it skips.
    per_check = 0.0000002 + 0.25 * 0.2 * 0.0000166667 + 0.00001 + 0.000001

    assert every_15.control_plane_cost == pytest.approx(95 * per_check)
    assert every_5.control_plane_cost == pytest.approx(287 * per_check)
    for result in (every_15, every_5):
        assert result.cost == pytest.approx(result.instance_cost + result.fallback_cost + result.control_plane_cost)
    assert run(tr, "hybrid_histogram").control_plane_cost == 0.0


def test_a_user_who_announced_themselves_is_served_by_the_component_not_napped_away() -> None:
    # 10:00 LA a request wakes the component (the fallback answers it); it serves from about 10:03.5 and idles.
    # At 10:23 the product announces a user for 10:31 (/wake 8 minutes ahead): the component already serves.
    # Without a hold the 10:30 idle check (15 idle minutes) naps it and the user meets the fallback; with the
    # wake API's hold (10 minutes) the check leaves it up and the component answers.
    tr = trace(Request(at(10)), Request(at(10, minutes=31), wake_lead_seconds=8 * 60))

    held = run(tr, "sleepwake_naps", nap_idle_minutes=15)
    assert held.served_by_fallback == 1  # the 10:00 request only

    no_hold = run(tr, "sleepwake_naps", nap_idle_minutes=15, wake_hold_minutes=0)
    assert no_hold.served_by_fallback == 2
    # The nap saved nothing either: a copy back within the instance release is billed the same as one kept up.
    assert held.instance_hours == pytest.approx(no_hold.instance_hours)
