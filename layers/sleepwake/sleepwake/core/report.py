"""`sleepwake report`: what the live stack did over a window, as figures, from what AWS keeps (issue 16).

Pure: the inputs are what the adapters read (sleepwake.adapters.report_sources) — the wake and sleep state
machines' executions (each classified by `classify` from its input and output), CloudWatch statistics of
each path over the whole window, and the state table's record now — and the figures are a function of them,
the window and the prices.

What each figure means:
- awake: from the start of a wake that reached ready (its copy count was raised then, and an instance
  provisioned for it) until the end of a sleep that saw the copies gone. A wake still running at the end of
  the window counts as awake from its start; a failed or superseded wake or sleep changes nothing. The state
  at the window's start is the opposite of the first change in it, or, with none, the state now.
- instance hours: awake plus, after each sleep, the time AWS keeps the instance once its last copy is gone
  (`release_minutes`; README: "AWS keeps instances ~10 min after the last copy"), cut short by the next wake.
  always-on is the whole window at the same price; the saving counts the fallback's compute
  (its ModelLatency and cold starts, billed per GB-second of its memory, the simulator's reading).
- requests: Invocations on each path; their 4XX/5XX answers are failed, and without a fallback so are the
  component's NoCapacityInvocationFailures (with one, the product client answers those from the fallback,
  where they are counted again as fallback requests).
- latency: ModelLatency per path (p50, p99, max over the window) and answers over `slow_seconds`, counted from
  ModelLatency's percentile rank; the wait a user sees on top (a cold fallback, a retry) is not in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sleepwake.core.timestamps import iso

Kind = Literal["wake", "sleep"]
Path = Literal["component", "fallback"]  # the inference component, or the fallback endpoint
Outcome = Literal["ready", "asleep", "skipped", "superseded", "failed", "running"]
SLOW_SECONDS = 3.0


@dataclass(frozen=True)
class Execution:
    """One wake or sleep execution as the report needs it."""

    kind: Kind
    name: str
    started: datetime
    stopped: datetime | None
    trigger: str  # a wake's `source` (api, alarm, schedule, planned, manual, ...), a sleep's `trigger`
    outcome: Outcome
    error: str | None = None


def classify(
    kind: Kind,
    name: str,
    status: str,
    started: datetime,
    stopped: datetime | None,
    payload: str,
    output: str | None,
    failure: str | None = None,
) -> Execution:
    """An execution from DescribeExecution's fields: its outcome from the state machines' end states
    (statemachines/*.asl.json: Ready / Asleep with the whole state as output, Skipped when the decision was not
    to sleep, Superseded when the check's verdict said another operation took over; Fail states otherwise,
    whose error and cause DescribeExecution gives as `failure`)."""
    given = _json(payload)
    ended = _json(output)
    trigger = str(given.get("source" if kind == "wake" else "trigger") or "unknown")
    outcome: Outcome
    error = None
    if status == "RUNNING":
        outcome = "running"
    elif status != "SUCCEEDED":
        outcome, error = "failed", failure or status.lower()
    elif kind == "sleep" and (ended.get("decision") or {}).get("sleep") is False:
        outcome = "skipped"
    elif (ended.get("check") or {}).get("verdict") == "superseded":
        outcome = "superseded"
    else:
        outcome = "ready" if kind == "wake" else "asleep"
    return Execution(kind, name, started, stopped, trigger, outcome, error)


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class PathMetrics:
    """CloudWatch statistics of one path (the component, or the fallback endpoint) over the whole window.
    Latencies in microseconds, as ModelLatency is published."""

    invocations: float = 0.0
    errors_4xx: float = 0.0
    errors_5xx: float = 0.0
    latency_samples: float = 0.0
    latency_sum_us: float = 0.0
    latency_p50_us: float | None = None
    latency_p99_us: float | None = None
    latency_max_us: float | None = None
    within_slow_pct: float | None = None  # PR(:slow) of ModelLatency: the share answered within slow_seconds
    no_capacity: float = 0.0  # the component only
    cold_starts: float = 0.0  # the fallback only (ModelSetupTime's sample count)
    cold_start_sum_us: float = 0.0  # the fallback only (ModelSetupTime's sum)


@dataclass(frozen=True)
class Prices:
    instance_per_hour: float
    fallback_per_gb_second: float
    fallback_memory_gb: float
    release_minutes: float = 10.0


@dataclass
class Report:
    start: str
    end: str
    hours: float
    awake_hours: float
    asleep_hours: float
    instance_hours: float
    always_on_cost: float
    instance_cost: float
    fallback_cost: float
    saving: float
    saving_vs_always_on_pct: float
    requests: dict[str, int]
    latency_ms: dict[str, dict[str, float | None]]
    slow_answers: dict[str, int]
    wakes: dict[str, dict[str, Any]]
    sleeps: dict[str, int]
    naps: int
    failures: list[dict[str, str]]
    awake_periods: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def awake_periods(
    executions: Iterable[Execution], start: datetime, end: datetime, *, awake_now: bool
) -> list[tuple[datetime, datetime]]:
    """The intervals within [start, end] when the component was awake (module docstring)."""
    changes: list[tuple[datetime, bool]] = []
    for e in executions:
        if e.kind == "wake" and e.outcome in ("ready", "running"):
            changes.append((e.started, True))
        elif e.kind == "sleep" and e.outcome == "asleep" and e.stopped is not None:
            changes.append((e.stopped, False))
    changes = sorted((at, up) for at, up in changes if start <= at <= end)
    awake = (not changes[0][1]) if changes else awake_now
    periods: list[tuple[datetime, datetime]] = []
    since: datetime | None = start if awake else None
    for at, up in changes:
        if up and since is None:
            since = at
        elif not up and since is not None:
            periods.append((since, at))
            since = None
    if since is not None:
        periods.append((since, end))
    return [(a, b) for a, b in periods if b > a]


def _instance_hours(periods: list[tuple[datetime, datetime]], end: datetime, release_minutes: float) -> float:
    seconds = 0.0
    tail = timedelta(minutes=release_minutes)
    for i, (a, b) in enumerate(periods):
        stop = b if b >= end else min(b + tail, end, periods[i + 1][0] if i + 1 < len(periods) else end)
        seconds += (stop - a).total_seconds()
    return seconds / 3600


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000.0, 1)


def _slow(path: PathMetrics) -> int:
    if path.within_slow_pct is None or not path.latency_samples:
        return 0
    return round(path.latency_samples * (100.0 - path.within_slow_pct) / 100.0)


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _wakes(executions: list[Execution], estimate_seconds: float) -> dict[str, dict[str, Any]]:
    by_trigger: dict[str, dict[str, Any]] = {}
    for trigger in sorted({e.trigger for e in executions if e.kind == "wake"}):
        runs = [e for e in executions if e.kind == "wake" and e.trigger == trigger]
        ready = [(e.stopped - e.started).total_seconds() for e in runs if e.outcome == "ready" and e.stopped]
        by_trigger[trigger] = {
            "started": len(runs),
            "ready": len(ready),
            "failed": sum(1 for e in runs if e.outcome == "failed"),
            "superseded": sum(1 for e in runs if e.outcome == "superseded"),
            "time_to_ready_p50_s": _round(_percentile(ready, 50)),
            "time_to_ready_max_s": _round(max(ready) if ready else None),
            "over_estimate": sum(1 for s in ready if s > estimate_seconds),
        }
    return by_trigger


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def build_report(
    executions: Iterable[Execution],
    component: PathMetrics,
    fallback: PathMetrics | None,
    *,
    start: datetime,
    end: datetime,
    awake_now: bool,
    prices: Prices,
    estimate_seconds: float,
) -> Report:
    """The figures of the window [start, end] (module docstring)."""
    if end <= start:
        raise ValueError("the report's window must end after it starts")
    given = sorted(executions, key=lambda e: e.started)
    periods = awake_periods(given, start, end, awake_now=awake_now)  # a sleep started before may end inside
    runs = [e for e in given if start <= e.started <= end]
    hours = (end - start).total_seconds() / 3600
    awake = sum((b - a).total_seconds() for a, b in periods) / 3600
    instance_hours = _instance_hours(periods, end, prices.release_minutes)
    always_on = hours * prices.instance_per_hour
    instance_cost = instance_hours * prices.instance_per_hour
    fb = fallback or PathMetrics()
    # Billed compute: the fallback's ModelLatency and, the costlier reading the simulator takes too, its cold
    # starts (sleepwake_cli/simulate/engine.py, FallbackModel).
    compute_seconds = (fb.latency_sum_us + fb.cold_start_sum_us) / 1e6
    fallback_cost = compute_seconds * prices.fallback_memory_gb * prices.fallback_per_gb_second
    spent = instance_cost + fallback_cost
    has_fallback = fallback is not None
    failed = component.errors_4xx + component.errors_5xx + fb.errors_4xx + fb.errors_5xx
    if not has_fallback:
        failed += component.no_capacity
    component_served = component.invocations - component.errors_4xx - component.errors_5xx
    fallback_served = fb.invocations - fb.errors_4xx - fb.errors_5xx
    sleeps: dict[str, int] = {}
    for e in runs:
        if e.kind == "sleep" and e.outcome == "asleep":
            sleeps[e.trigger] = sleeps.get(e.trigger, 0) + 1
    failures = [
        {"kind": e.kind, "execution": e.name, "started": iso(e.started), "error": e.error or "failed"}
        for e in runs
        if e.outcome == "failed"
    ]
    return Report(
        start=iso(start),
        end=iso(end),
        hours=round(hours, 3),
        awake_hours=round(awake, 3),
        asleep_hours=round(hours - awake, 3),
        instance_hours=round(instance_hours, 3),
        always_on_cost=round(always_on, 2),
        instance_cost=round(instance_cost, 2),
        fallback_cost=round(fallback_cost, 4),
        saving=round(always_on - spent, 2),
        saving_vs_always_on_pct=round(100.0 * (always_on - spent) / always_on, 1) if always_on else 0.0,
        requests={
            "served_by_component": round(component_served),
            "served_by_fallback": round(fallback_served),
            "failed": round(failed),
            "no_capacity": round(component.no_capacity),
            "fallback_cold_starts": round(fb.cold_starts),
        },
        latency_ms={
            "component": _latency(component),
            **({"fallback": _latency(fb)} if has_fallback else {}),
        },
        slow_answers={"component": _slow(component), **({"fallback": _slow(fb)} if has_fallback else {})},
        wakes=_wakes(runs, estimate_seconds),
        sleeps=sleeps,
        naps=sleeps.get("idle", 0),
        failures=failures,
        awake_periods=[[iso(a), iso(b)] for a, b in periods],
    )


def _latency(path: PathMetrics) -> dict[str, float | None]:
    return {"p50": _ms(path.latency_p50_us), "p99": _ms(path.latency_p99_us), "max": _ms(path.latency_max_us)}


def statistics(path: Path, slow_seconds: float = SLOW_SECONDS) -> list[tuple[str, str, str]]:
    """(id, MetricName, Stat) of what the adapter asks CloudWatch for on each path, over the whole window; the
    ids are PathMetrics' fields. PR(:X) is CloudWatch's percentile rank: the percentage of values at or below X
    (CloudWatch User Guide, "Statistics definitions")."""
    asked = [
        ("invocations", "Invocations", "Sum"),
        ("errors_4xx", "Invocation4XXErrors", "Sum"),
        ("errors_5xx", "Invocation5XXErrors", "Sum"),
        ("latency_samples", "ModelLatency", "SampleCount"),
        ("latency_sum_us", "ModelLatency", "Sum"),
        ("latency_p50_us", "ModelLatency", "p50"),
        ("latency_p99_us", "ModelLatency", "p99"),
        ("latency_max_us", "ModelLatency", "Maximum"),
        ("within_slow_pct", "ModelLatency", f"PR(:{slow_seconds * 1e6:.0f})"),
    ]
    if path == "component":
        asked.append(("no_capacity", "NoCapacityInvocationFailures", "Sum"))
    else:
        asked += [("cold_starts", "ModelSetupTime", "SampleCount"), ("cold_start_sum_us", "ModelSetupTime", "Sum")]
    return asked


def path_metrics(stats: Mapping[str, float | None]) -> PathMetrics:
    """PathMetrics from one window's statistics keyed by `statistics`' ids; a count with no datapoint is 0, a
    latency with none is unknown (None)."""
    optional = {"latency_p50_us", "latency_p99_us", "latency_max_us", "within_slow_pct"}
    values: dict[str, Any] = {k: (v if k in optional else float(v or 0.0)) for k, v in stats.items()}
    return PathMetrics(**values)
