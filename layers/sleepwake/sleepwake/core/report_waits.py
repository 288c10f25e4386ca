"""What users waited, as `sleepwake report` counts it: for a wake (the control plane's own embedded metrics,
written when a wake reaches ready) and for each answer (the product client's, sleepwake_client.answer_metric),
and the answers over the slow line from those and from SageMaker's metrics. Pure, like sleepwake.core.report.

The answers over `slow_seconds` (`slow_answers`):
- `component`, `fallback`: from each path's ModelLatency percentile rank (the model's time: the control plane's
  warm-ups of the component are in it, and neither a cold start nor a wait for a queued request is).
- `cold_fallback`: the fallback's cold starts that took longer (ModelSetupTime's percentile rank; "Alarms and
  logs for tracking metrics from serverless endpoints" lists ModelSetupTime, "the time it takes to launch new
  compute resources for a serverless endpoint" in botocore's RecommendationMetrics, among the metrics a
  serverless endpoint publishes). Whoever sent the request that met it waited that long on top.
- `own_fallback`: the control plane's own requests to the fallback (pings, pre-warms, the post-deploy warm-up)
  that took longer, from the call to the answer on its clock (Sleepwake/FallbackWarmupSeconds' percentile rank).
  Shown beside the estimate below, not taken from it: a slow one met a cold start of its own (no user's wait)
  or queued behind a user's (the pre-warm a user's fallen-back request signals does), and nothing SageMaker
  publishes tells the two apart; taking them out would hide the second kind, the wait issue 14 is about.
- `timed_answers`: the answers the product client timed (Sleepwake/AnswerWaitSeconds: from its call to the
  answer, a no-capacity answer, the fallback's cold start and any queue included).
- `timed_share_pct`: the share of users' requests (answered by either path, or failed) that the client timed.
- `total`: what users waited over the line. The client's count when it timed every request: exact for the
  requests sent through it. Without a timed answer, an estimate from SageMaker alone, component + fallback +
  cold_fallback: it counts the cold starts of the control plane's own requests too (`own_fallback` bounds how
  many), and no request that queued behind a cold start. When it timed only some ("partly timed":
  one product of several uses the client, or it began timing late in the window), the larger of its count and
  that estimate, so the untimed answers are not silently left out. In that estimate the fallback's part is the
  client's own count of the fallback's answers when it timed every answer users got from the fallback (only the
  client falls back, so it usually has): SageMaker's figures hold the control plane's keep-warm pings and
  pre-warms (on by default, FallbackKeepWarm ping) and the cold starts they meet, which no user waited for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

# The control plane's per-wake embedded metrics (namespace Sleepwake, dimensions service and
# InferenceComponentName), emitted when a wake reaches ready: what `wake_wait` computes. The expected provisioning
# is the estimate the wake planned its polls by, not a floor: SageMaker may provision faster (the emulator's 210 s
# against the default 240 s), and its own provisioning time, the real floor, is in no API the control plane reads.
# (Named ProvisioningFloorSeconds and OverFloorSeconds until 7 Dec 2026, when the demo's report printed a p50 wait
# below its "floor".)
WAIT_METRICS = ("TimeToReadySeconds", "ExpectedProvisioningSeconds", "OverExpectedSeconds", "WarmupSeconds")


def wake_wait(
    requested: datetime, ready: datetime, expected_seconds: int | None, warming_since: datetime | None
) -> dict[str, float]:
    """One ready wake's waits in seconds, by WAIT_METRICS name: from the request to ready, and when known the
    provisioning the wake expected, the time over it (negative when SageMaker beat the estimate), and the
    warm-up (from the copy serving to ready)."""
    waited = (ready - requested).total_seconds()
    found = {"TimeToReadySeconds": waited}
    if expected_seconds is not None:
        found |= {
            "ExpectedProvisioningSeconds": float(expected_seconds),
            "OverExpectedSeconds": waited - expected_seconds,
        }
    if warming_since is not None:
        found["WarmupSeconds"] = (ready - warming_since).total_seconds()
    return found


def waits(stats: Mapping[str, float | None]) -> dict[str, Any]:
    """The waits figures from CloudWatch statistics of WAIT_METRICS over the window, keyed `<metric>:<stat>`
    (stats `SampleCount`, `p50`, `Maximum`); empty without a measured wake."""
    count = stats.get("TimeToReadySeconds:SampleCount") or 0.0
    if not count:
        return {}

    def figure(metric: str, stat: str) -> float | None:
        value = stats.get(f"{metric}:{stat}")
        return None if value is None else round(value, 1)

    return {
        "wakes_measured": round(count),
        "time_to_ready_p50_s": figure("TimeToReadySeconds", "p50"),
        "time_to_ready_max_s": figure("TimeToReadySeconds", "Maximum"),
        "expected_p50_s": figure("ExpectedProvisioningSeconds", "p50"),
        "over_expected_p50_s": figure("OverExpectedSeconds", "p50"),
        "over_expected_max_s": figure("OverExpectedSeconds", "Maximum"),
        "warmup_max_s": figure("WarmupSeconds", "Maximum"),
    }


# Each answer's wait as the product client timed it (namespace Sleepwake, dimension InferenceComponentName, and
# a second set with ServedBy), written by sleepwake_client.answer_metric.
ANSWER_METRIC = "AnswerWaitSeconds"


def over(samples: float, within_pct: float | None) -> int:
    """How many of `samples` values lie above the line, from the percentile rank PR(:line) of them."""
    if within_pct is None or not samples:
        return 0
    return round(samples * (100.0 - within_pct) / 100.0)


def answer_statistics(slow_seconds: float) -> list[tuple[str, str, str, str | None]]:
    """(id, MetricName, Stat, ServedBy or None for all) of the product client's answer waits the report asks for
    over the window. PR(:X) is CloudWatch's percentile rank, the percentage of values at or below X ("Statistics
    definitions")."""
    within = f"PR(:{slow_seconds:g})"
    return [
        ("timed", ANSWER_METRIC, "SampleCount", None),
        ("within_slow_pct", ANSWER_METRIC, within, None),
        ("timed_fallback", ANSWER_METRIC, "SampleCount", "fallback"),
        ("fallback_within_slow_pct", ANSWER_METRIC, within, "fallback"),
        ("fallback_p50", ANSWER_METRIC, "p50", "fallback"),
        ("fallback_p99", ANSWER_METRIC, "p99", "fallback"),
        ("fallback_max", ANSWER_METRIC, "Maximum", "fallback"),
    ]


def latency_note(path: str, requests: Mapping[str, Any]) -> str:
    """What a path's ModelLatency figures hold besides users' answers, where the report prints them (the table,
    the chart): SageMaker publishes one ModelLatency per endpoint or component, with no dimension that tells the
    control plane's own requests apart, and a percentile of the mixture cannot have a part taken out."""
    own = round(requests.get(f"{path}_warmups") or 0)
    if not own:
        return ""
    return f"{own} of the control plane's own requests included"  # warm-ups; the fallback's pings and pre-warms


def fallback_answer_waits(answers: Mapping[str, float | None]) -> dict[str, Any]:
    """Users' answers from the fallback as the product client timed them (AnswerWaitSeconds with ServedBy
    fallback, statistics of `answer_statistics`): the fallback's latency without the control plane's pings and
    pre-warms (they are sent without the client), from the call to the answer (the component's no-capacity answer,
    a cold start and any queue included, unlike ModelLatency). Empty when the client timed none."""
    count = round(answers.get("timed_fallback") or 0.0)
    if not count:
        return {}

    def seconds(key: str) -> float | None:
        value = answers.get(key)
        return None if value is None else round(value, 3)

    return {
        "answers": count,
        "p50_s": seconds("fallback_p50"),
        "p99_s": seconds("fallback_p99"),
        "max_s": seconds("fallback_max"),
    }


def slow_answers(
    component: int,
    fallback: int | None,
    cold_fallback: int,
    answers: Mapping[str, float | None],
    requests: int,
    *,
    fallback_answers: int,
    own_fallback: int = 0,
) -> dict[str, float]:
    """The answers over the slow line (module docstring): each path's by ModelLatency (`fallback` None without a
    fallback), the fallback's slow cold starts, and the total users waited, from `answers` (the statistics of
    `answer_statistics`) when the product client timed any of users' `requests`; `fallback_answers`: how many of
    them the fallback answered; `own_fallback`: how many of the control plane's own requests to the fallback took
    longer than the line (Sleepwake/FallbackWarmupSeconds; none before they were recorded)."""
    timed = round(answers.get("timed") or 0.0)
    found: dict[str, float] = {"component": component}
    fallback_part = 0
    if fallback is not None:
        found |= {"fallback": fallback, "cold_fallback": cold_fallback, "own_fallback": own_fallback}
        timed_fallback = round(answers.get("timed_fallback") or 0.0)
        if timed and timed_fallback >= fallback_answers:  # the client timed every answer users got from it
            fallback_part = over(timed_fallback, answers.get("fallback_within_slow_pct"))
        else:  # SageMaker's, the control plane's own included (`own_fallback` says how many of them were slow)
            fallback_part = fallback + cold_fallback
    estimate = component + fallback_part
    timed_over = over(timed, answers.get("within_slow_pct"))
    if not timed:
        total = estimate
    elif timed < requests:
        total = max(timed_over, estimate)
    else:
        total = timed_over
    share = round(min(100.0, 100.0 * timed / requests), 1) if requests else (100.0 if timed else 0.0)
    return found | {"timed_answers": timed, "timed_share_pct": share, "total": total}


def partly_timed(slow: Mapping[str, float]) -> bool:
    """Whether the product client timed some of users' requests but not all (`total` is then the larger count)."""
    return 0 < slow.get("timed_share_pct", 100.0) < 100.0 and bool(slow.get("timed_answers"))
