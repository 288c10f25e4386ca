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
  component's NoCapacityInvocationFailures. With one, the product client (sleepwake_client) answers each of
  those from the fallback, where it is counted again as a fallback request; the no-capacity answers beyond the
  fallback's requests met nobody who asked the fallback (a product calling the component without the client)
  and failed too (`unanswered_no_capacity`). Both paths' requests and failures leave out the control plane's
  own warm-ups, which it counts itself (what counts and how: sleepwake.core.warmups).
- traffic: hits are the users' requests the component took (it was awake: its Invocations, answered or not,
  less the control plane's warm-ups), misses
  the requests that found it asleep (its NoCapacityInvocationFailures), answered by the fallback or failed;
  awake hours nobody used are the awake time in clock hours that saw no request. Per hour and per path from
  the same CloudWatch metrics in 5-minute periods (hourly past 63 days, GetMetricData's API reference).
- plan: the windows the plan job stored for each local day (kept in the state table, sleepwake.core.
  applied_plan.AppliedDay) against the same requests: those in an applied window (learned mode, a learned day)
  and those outside, and the planned hours that saw none. A 5-minute period counts where its middle falls
  (the window's last period, cut short by its end, where the middle of what is left falls).
  Days whose plan did not apply (the crons did, or no plan is kept) are counted as such.
  Per period too, the control plane's warm-ups are left out (`less_own`), so the hour after a wake is used only
  when a user came.
- waits: what users waited for each wake that reached ready, from the control plane's own embedded metrics
  (CloudWatch has no time to ready for an inference component): from the wake's request to ready, the
  provisioning the wake expected (a copy on the instance still there: FirstPollOnInstanceSeconds; a new
  instance first: ProvisioningEstimateSeconds; an estimate SageMaker may beat, not a floor), the time over it,
  and the warm-up (`wake_wait`).
- latency: ModelLatency per path (p50, p99, max over the window), the control plane's warm-ups of it included
  (no dimension tells them apart: report_waits.latency_note says so beside the figures); users' answers from the
  fallback alone as the product client timed them, when it did (report_waits.fallback_answer_waits).
- slow answers: the answers over `slow_seconds` on each path by ModelLatency, and the total users waited over
  it, a cold fallback included (sleepwake.core.report_waits).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sleepwake.core import defaults
from sleepwake.core.applied_plan import AppliedDay
from sleepwake.core.report_waits import fallback_answer_waits, over, slow_answers, waits
from sleepwake.core.timestamps import iso
from sleepwake.core.warmups import Path

Kind = Literal["wake", "sleep"]
Outcome = Literal["ready", "asleep", "skipped", "superseded", "failed", "running"]


@dataclass(frozen=True)
class Execution:
    """One wake or sleep execution as the report needs it."""

    kind: Kind
    name: str
    started: datetime
    stopped: datetime | None
    trigger: str  # a wake's `source` (api, alarm, schedule, planned, cli, ...), a sleep's `trigger`
    outcome: Outcome
    error: str | None = None
    # A wake's expected provisioning, by its phase (its input's expected_provisioning_seconds; None before 7 Dec 2026)
    expected_seconds: float | None = None


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
    expected = given.get("expected_provisioning_seconds")
    expected = float(expected) if isinstance(expected, int | float) and not isinstance(expected, bool) else None
    return Execution(kind, name, started, stopped, trigger, outcome, error, expected)


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
    cold_within_slow_pct: float | None = None  # the fallback only: PR(:slow) of ModelSetupTime
    warmups: float = 0.0  # the control plane's own requests (sleepwake.core.warmups.OWN[path].requests)
    warmup_errors: float = 0.0  # those of them that failed (OWN[path].errors)
    warmups_timed: float = 0.0  # the fallback only: those of them that say how long they took (OWN[path].seconds)
    warmups_within_slow_pct: float | None = None  # the fallback only: PR(:slow) of those seconds

    @property
    def users_errors(self) -> float:
        """The path's 4XX and 5XX answers less the control plane's own failed requests, which are no user's."""
        return max(0.0, self.errors_4xx + self.errors_5xx - self.warmup_errors)


@dataclass(frozen=True)
class Prices:
    instance_per_hour: float
    fallback_per_gb_second: float
    fallback_memory_gb: float
    release_minutes: float = defaults.INSTANCE_RELEASE_MINUTES


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
    slow_answers: dict[str, float]
    wakes: dict[str, dict[str, Any]]
    sleeps: dict[str, int]
    naps: int
    failures: list[dict[str, str]]
    awake_periods: list[list[str]] = field(default_factory=list)
    traffic: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    # [hour, component requests, fallback requests, no-capacity answers] per clock hour of the window
    requests_per_hour: list[list[Any]] = field(default_factory=list)
    waits: dict[str, Any] = field(default_factory=dict)
    # Users' answers from the fallback as the product client timed them, no pings (report_waits.fallback_answer_waits)
    fallback_answer_waits: dict[str, Any] = field(default_factory=dict)

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
        done = [e for e in runs if e.outcome == "ready" and e.stopped]
        ready = [(e.stopped - e.started).total_seconds() for e in done if e.stopped]
        # Each against what it expected by its phase (as the waits' over_expected), the estimate for older wakes.
        expected = [estimate_seconds if e.expected_seconds is None else e.expected_seconds for e in done]
        by_trigger[trigger] = {
            "started": len(runs),
            "ready": len(ready),
            "failed": sum(1 for e in runs if e.outcome == "failed"),
            "superseded": sum(1 for e in runs if e.outcome == "superseded"),
            "time_to_ready_p50_s": _round(_percentile(ready, 50)),
            "time_to_ready_max_s": _round(max(ready) if ready else None),
            "over_estimate": sum(1 for s, x in zip(ready, expected, strict=True) if s > x),
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
    slots: list[Slot] | None = None,
    plan_days: list[AppliedDay] | None = None,
    wait_stats: Mapping[str, float | None] | None = None,
    answer_stats: Mapping[str, float | None] | None = None,
) -> Report:
    """The figures of the window [start, end] (module docstring); without `slots` (the per-period requests)
    the traffic and plan figures are left empty."""
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
    failed = component.users_errors + fb.users_errors
    # With a fallback, each client request that met no capacity is one fallback request (module docstring).
    unanswered = max(0.0, component.no_capacity - (fb.invocations - fb.warmups)) if has_fallback else 0.0
    failed += unanswered if has_fallback else component.no_capacity
    component_served = max(0.0, component.invocations - component.users_errors - component.warmups)
    fallback_served = max(0.0, fb.invocations - fb.users_errors - fb.warmups)
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
            "unanswered_no_capacity": round(unanswered),
            "fallback_warmups": round(fb.warmups),
            "component_warmups": round(component.warmups),
            "component_warmup_errors": round(component.warmup_errors),
            "fallback_warmup_errors": round(fb.warmup_errors),
        },
        latency_ms={
            "component": _latency(component),
            **({"fallback": _latency(fb)} if has_fallback else {}),
        },
        slow_answers=slow_answers(
            over(component.latency_samples, component.within_slow_pct),
            over(fb.latency_samples, fb.within_slow_pct) if has_fallback else None,
            over(fb.cold_starts, fb.cold_within_slow_pct),
            answer_stats or {},
            round(component_served + fallback_served + failed),
            fallback_answers=round(fallback_served),
            own_fallback=over(fb.warmups_timed, fb.warmups_within_slow_pct),
        ),
        wakes=_wakes(runs, estimate_seconds),
        sleeps=sleeps,
        naps=sleeps.get("idle", 0),
        failures=failures,
        awake_periods=[[iso(a), iso(b)] for a, b in periods],
        **(_against_traffic(slots, plan_days or [], periods, component, fb, start, end) if slots is not None else {}),
        waits=waits(wait_stats or {}),
        fallback_answer_waits=fallback_answer_waits(answer_stats or {}) if has_fallback else {},
    )


@dataclass(frozen=True)
class Slot:
    """The requests of one CloudWatch period starting at `at`: the component's Invocations and the fallback's,
    each less the control plane's own warm-ups (`less_own`), and the component's no-capacity answers; and the
    warm-up requests counted in it that matched no request of it or the period before (`warmups_unmatched`)."""

    at: datetime
    seconds: int
    component: float = 0.0
    no_capacity: float = 0.0
    fallback: float = 0.0
    warmups_unmatched: float = 0.0

    @property
    def requests(self) -> float:
        """What users asked in it: each that met no capacity went on to the fallback with the product client, so
        the larger of the two counts it once."""
        return self.component + max(self.no_capacity, self.fallback)

    def middle(self, end: datetime) -> datetime:
        """The middle of its time up to `end` (the window's last period is cut short)."""
        return self.at + (min(self.at + timedelta(seconds=self.seconds), end) - self.at) / 2


def misses_with_their_answers(
    no_capacity: list[float], fallback: list[float], times: list[datetime], period: int
) -> list[float]:
    """Per period (oldest first, starting at `times`), the no-capacity answers, those the fallback answered in
    the period `period` seconds after moved there: the product client asks the fallback at once, but its answer
    (a cold start first) may be counted in the next period. `Slot.requests` then counts each such user once
    (`fallback` is the fallback's users' requests, `less_own`)."""
    moved = list(no_capacity)
    at = {when: i for i, when in enumerate(times)}
    for i, when in enumerate(times):
        j = at.get(when + timedelta(seconds=period))
        if j is not None:
            shift = min(moved[i] - fallback[i], fallback[j] - moved[j])
            if shift > 0:
                moved[i] -= shift
                moved[j] += shift
    return moved


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _hours_unused(spans: list[tuple[datetime, datetime]], used: set[datetime]) -> float:
    """The time of `spans` in clock hours (UTC) with no request."""
    seconds = 0.0
    for a, b in spans:
        hour = _hour(a)
        while hour < b:
            if hour not in used:
                seconds += (min(b, hour + timedelta(hours=1)) - max(a, hour)).total_seconds()
            hour += timedelta(hours=1)
    return round(seconds / 3600, 3)


def _clip(
    spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    return [(max(a, start), min(b, end)) for a, b in spans if b > start and a < end]


def _in(slots: list[Slot], a: datetime, b: datetime, end: datetime) -> float:
    return sum(s.requests for s in slots if a <= s.middle(end) < b)


def _against_traffic(
    slots: list[Slot],
    days: list[AppliedDay],
    periods: list[tuple[datetime, datetime]],
    component: PathMetrics,
    fallback: PathMetrics,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The traffic, plan and requests_per_hour figures (module docstring)."""
    slots = [s for s in slots if start <= s.at < end]
    per_hour: dict[datetime, list[float]] = {}
    for slot in slots:
        row = per_hour.setdefault(_hour(slot.at), [0.0, 0.0, 0.0])
        row[0], row[1], row[2] = row[0] + slot.component, row[1] + slot.fallback, row[2] + slot.no_capacity
    used = {hour for hour, row in per_hour.items() if row[0] + max(row[1], row[2]) > 0}
    answered_elsewhere = min(component.no_capacity, max(0.0, fallback.invocations - fallback.warmups))
    traffic = {
        "hits": round(max(0.0, component.invocations - component.warmups)),
        "misses": round(component.no_capacity),
        "misses_to_fallback": round(answered_elsewhere),
        "misses_failed": round(component.no_capacity - answered_elsewhere),
        "awake_hours_unused": _hours_unused(periods, used),
        "warmups_unmatched": round(sum(s.warmups_unmatched for s in slots)),
    }
    windows = sorted(((span.wake, span.sleep) for d in days if d.applied for span in d.plan.spans), key=lambda w: w[0])
    windows = _clip(windows, start, end)
    inside = [s for s in slots if any(a <= s.middle(end) < b for a, b in windows)]
    in_windows = sum(s.requests for s in inside)
    local_days = {(d.plan.day, d.applied) for d in days}
    plan = {
        "days_applied": sum(1 for _, applied in local_days if applied),
        "days_crons": sum(1 for _, applied in local_days if not applied),
        "planned_hours": round(sum((b - a).total_seconds() for a, b in windows) / 3600, 3),
        "requests_in_windows": round(in_windows),
        "requests_outside_windows": round(sum(s.requests for s in slots) - in_windows),
        "planned_hours_unused": _hours_unused(windows, used),
        "windows": [
            {
                "wake": iso(a),
                "sleep": iso(b),
                "requests": round(sum(s.requests for s in inside if a <= s.middle(end) < b)),
            }
            for a, b in windows
        ],
    }
    rows = [[iso(hour), round(c), round(f), round(n)] for hour, (c, f, n) in sorted(per_hour.items())]
    return {"traffic": traffic, "plan": plan, "requests_per_hour": rows}


def _latency(path: PathMetrics) -> dict[str, float | None]:
    return {"p50": _ms(path.latency_p50_us), "p99": _ms(path.latency_p99_us), "max": _ms(path.latency_max_us)}


def aligned_start(start: datetime, now: datetime) -> datetime:
    """The window's start moved up to the clock interval GetMetricData rounds StartTime down to by its age (API
    reference, StartTime: to the minute under 15 days, to 5 minutes up to 63 days, to the hour beyond), so the
    CloudWatch figures and the executions cover the same time (rounded down, a metric window would take in up to
    an hour before the executions' start)."""
    age = now - start
    step = 60 if age < timedelta(days=15) else 300 if age <= timedelta(days=63) else 3600
    seconds = -(-start.timestamp() // step) * step
    return datetime.fromtimestamp(seconds, start.tzinfo)


def statistics(path: Path, slow_seconds: float = defaults.SLOW_SECONDS) -> list[tuple[str, str, str]]:
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
        asked += [
            ("cold_starts", "ModelSetupTime", "SampleCount"),
            ("cold_start_sum_us", "ModelSetupTime", "Sum"),
            ("cold_within_slow_pct", "ModelSetupTime", f"PR(:{slow_seconds * 1e6:.0f})"),
        ]
    return asked


def path_metrics(stats: Mapping[str, float | None]) -> PathMetrics:
    """PathMetrics from one window's statistics keyed by `statistics`' ids; a count with no datapoint is 0, a
    latency with none is unknown (None)."""
    optional = {
        "latency_p50_us",
        "latency_p99_us",
        "latency_max_us",
        "within_slow_pct",
        "cold_within_slow_pct",
        "warmups_within_slow_pct",
    }
    values: dict[str, Any] = {k: (v if k in optional else float(v or 0.0)) for k, v in stats.items()}
    return PathMetrics(**values)
