"""Discrete-event machinery: simulated time, one simulated inference component, and what each request met."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from sleepwake.core import ICStatus, ObservedCopies, defaults


@dataclass(frozen=True)
class Span:
    """A duration known only as a range (seconds); each use draws uniformly from it, seeded."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low < 0:
            raise ValueError(f"{self.low:g}-{self.high:g}: durations must be finite and not negative")
        if self.low > self.high:
            raise ValueError(f"LOW {self.low:g} is above HIGH {self.high:g}: write the range low first")

    @classmethod
    def parse(cls, text: str) -> Span:
        """`210` or `180-240` (seconds, not negative)."""
        parts = text.strip().split("-")
        if len(parts) not in (1, 2) or not all(p.strip() for p in parts):
            raise ValueError(f"{text!r} is not SECONDS or LOW-HIGH (seconds, not negative)")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"{text!r} is not SECONDS or LOW-HIGH (seconds, not negative)") from None
        return cls(values[0], values[-1])

    def draw(self, rng: np.random.Generator) -> float:
        return self.low if self.low == self.high else float(rng.uniform(self.low, self.high))

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def __str__(self) -> str:
        return f"{self.low:g}" if self.low == self.high else f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class Provisioning:
    """How the platform behaves, from the team's measurements (docs/aws-behaviour.md §1-§3) and the issue's defaults."""

    scale_up: Span = Span(180, 240)  # copy count set to 1: 3-4 min to a serving copy (docs/aws-behaviour.md §1)
    # A copy placed on an instance the endpoint still has (within instance_release_seconds of 0 copies) skips
    # the instance phase: AWS's scale-to-zero blog measured ~1.75 min instance + ~2.3 min copy from zero, so
    # the team's 3-4 min splits into ~1.5 min instance + ~2 min copy (localaws/sagemaker.py uses the same split).
    copy_on_instance: Span = Span(100, 140)
    alarm_detection: Span = Span(60, 120)  # NoCapacityInvocationFailures alarm adds 1-2 min (issue 5)
    instance_release_seconds: float = defaults.INSTANCE_RELEASE_MINUTES * 60  # docs/aws-behaviour.md §2
    native_idle_minutes: float = 15  # target tracking scales in after ~15 idle minutes (docs/aws-behaviour.md §3)
    # Latency of the 1st, 2nd, ... request after a model load; later ones take `steady_latency_ms`.
    # docs/aws-behaviour.md §1: "the first ~3 requests after a model loads are slow". Override with a model-bench file.
    load_latencies_ms: tuple[float, ...] = (3000.0, 1500.0, 1000.0)
    steady_latency_ms: float = 500.0

    def extra_seconds(self, index: int) -> float:
        """How much slower than steady the `index`-th request after a load is (0-based)."""
        if index >= len(self.load_latencies_ms):
            return 0.0
        return max(0.0, self.load_latencies_ms[index] - self.steady_latency_ms) / 1000

    def latency_ms(self, index: int) -> float:
        return self.load_latencies_ms[index] if index < len(self.load_latencies_ms) else self.steady_latency_ms


@dataclass(frozen=True)
class FallbackModel:
    """A SageMaker Serverless Inference endpoint serving the same model handler on CPU.

    Sources: ServerlessConfig takes MemorySizeInMB 1024-6144 and MaxConcurrency 1-200 (CloudFormation
    AWS::SageMaker::EndpointConfig ServerlessConfig); cold starts are "in the order of seconds", longer for large
    containers, and an idle endpoint scales to 0 (docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
    Price (aws.amazon.com/sagemaker/pricing, Serverless Inference, us-east-1): compute billed per millisecond at
    $0.0000200 per second per GB of configured memory, plus $0.016 per GB of data processed in and out; no
    per-request charge. Not re-checked from here: pass the options to use your region's figures.
    Provisioned concurrency is billed per second per GB of memory while provisioned, plus the requests (same
    page, "Serverless Inference with Provisioned Concurrency"); its per-second figure could not be read from
    here: the default is an assumption, a quarter of the on-demand rate, the ratio AWS Lambda publishes
    (provisioned $0.0000041667 vs on-demand $0.0000166667 per GB-second, aws.amazon.com/lambda/pricing). Requests
    served on provisioned concurrency are billed at the on-demand rate here (the costlier reading).
    A keep-warm ping is one request to the endpoint sent by a scheduled Lambda function: AWS Lambda, us-east-1,
    $0.20 per million requests and $0.0000166667 per GB-second; the functions' 256 MB (defaults.LAMBDA_MEMORY_MB)
    waiting for the answer.
    Silent in every source: how long an idle serverless endpoint stays warm (`idle_evict_seconds`, an assumption),
    and whether the cold start is billed (counted as billed here, the costlier reading).
    """

    memory_gb: float = defaults.FALLBACK_MEMORY_MB / 1024
    cold_start: Span = Span(10, 20)  # a PyTorch CPU framework container: "longer for large containers"
    latency_ms: float = 2000.0  # the team's CPU image: ~2 s per request (docs/aws-behaviour.md §1)
    idle_evict_seconds: float = defaults.FALLBACK_IDLE_EVICT_MINUTES * 60.0
    price_per_gb_second: float = defaults.SERVERLESS_PRICE_PER_GB_SECOND
    price_per_gb_data: float = 0.016
    payload_mb: float = 0.16  # a 5 s clip, 16 kHz 16-bit mono WAV; the JSON answer is a few KB
    provisioned_price_per_gb_second: float = 0.0000050
    ping_lambda_gb: float = defaults.LAMBDA_MEMORY_MB / 1024
    lambda_price_per_gb_second: float = 0.0000166667
    lambda_price_per_request: float = 0.0000002


class Fallback:
    """The fallback endpoint's warm/cold state and its bill (user requests, keep-warm pings, provisioned time)."""

    def __init__(self, sim: Sim, model: FallbackModel, rng: np.random.Generator) -> None:
        self.sim, self.model, self.rng = sim, model, rng
        self._warm_until: datetime | None = None
        self._ready_at: datetime | None = None
        self.billed_seconds = 0.0
        self.requests = 0
        self.cold_starts = 0
        self.cold_starts_met = 0  # cold starts at least one user request waited for
        self._met_ready_at: datetime | None = None
        self.pings = 0
        self.ping_billed_seconds = 0.0  # the pings' compute and the cold starts they started
        self.provisioned: list[tuple[datetime, datetime]] = []

    def _provisioned_now(self) -> bool:
        now = self.sim.now
        return any(a <= now < b for a, b in self.provisioned)

    def _start_if_cold(self) -> float:
        """Start a cold start if the endpoint is cold; returns the billed seconds of one it started (else 0)."""
        now = self.sim.now
        if self._ready_at is not None and now < self._ready_at:
            return 0.0  # a cold start is under way
        if self._warm_until is not None and now <= self._warm_until:
            return 0.0
        if self._provisioned_now():
            return 0.0
        cold = self.model.cold_start.draw(self.rng)
        self.cold_starts += 1
        self.billed_seconds += cold
        self._ready_at = now + timedelta(seconds=cold)
        self._warm_until = self._ready_at + timedelta(seconds=self.model.idle_evict_seconds)
        return cold

    def prewarm(self) -> None:
        """The asynchronous request /wake sends so the cold start overlaps the user's lead."""
        self._start_if_cold()
        self._note_use(self.model.latency_ms / 1000)

    def ping(self) -> float:
        """A keep-warm request from the scheduled pinger; billed as a request plus the pinger's Lambda.
        Returns the seconds until its answer (a cold start included)."""
        cold = self._start_if_cold()
        wait = self.wait_seconds()
        self._note_use(wait + self.model.latency_ms / 1000)
        self.pings += 1
        self.ping_billed_seconds += cold + self.model.latency_ms / 1000
        return wait + self.model.latency_ms / 1000

    def wait_seconds(self) -> float:
        """How long a request sent now waits for a cold start under way (0 when warm or provisioned)."""
        if self._ready_at is None or self._provisioned_now():
            return 0.0
        return max(0.0, (self._ready_at - self.sim.now).total_seconds())

    def provision(self, start: datetime, end: datetime) -> None:
        """ProvisionedConcurrency 1 from `start` to `end` (scheduled actions): warm throughout, billed throughout."""
        if end > start:
            self.provisioned.append((start, end))

    def invoke(self) -> float:
        """One request; returns its latency in seconds (a wait for a cold start included)."""
        self._start_if_cold()
        wait = self.wait_seconds()
        if wait > 0 and self._met_ready_at != self._ready_at:
            self._met_ready_at = self._ready_at
            self.cold_starts_met += 1
        service = self.model.latency_ms / 1000
        self._note_use(wait + service)
        self.requests += 1
        return wait + service

    def _note_use(self, seconds: float) -> None:
        self.billed_seconds += self.model.latency_ms / 1000
        done = self.sim.now + timedelta(seconds=seconds)
        self._warm_until = max(self._warm_until or done, done + timedelta(seconds=self.model.idle_evict_seconds))

    def provisioned_seconds(self, start: datetime, end: datetime) -> float:
        return sum(max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b in self.provisioned)

    def keep_warm_cost(self, start: datetime, end: datetime) -> float:
        """What keeping it warm cost: the pings (compute, data, the pinger's Lambda) and provisioned time."""
        m = self.model
        ping = (
            self.ping_billed_seconds * m.memory_gb * m.price_per_gb_second
            + self.pings * m.payload_mb / 1024 * m.price_per_gb_data
            + self.pings
            * (m.lambda_price_per_request + m.ping_lambda_gb * m.latency_ms / 1000 * m.lambda_price_per_gb_second)
        )
        return ping + self.provisioned_seconds(start, end) * m.memory_gb * m.provisioned_price_per_gb_second

    def cost(self, start: datetime, end: datetime) -> float:
        """The whole bill over [start, end): compute, data, and keeping it warm."""
        m = self.model
        compute = (self.billed_seconds - self.ping_billed_seconds) * m.memory_gb * m.price_per_gb_second
        data = self.requests * m.payload_mb / 1024 * m.price_per_gb_data
        return compute + data + self.keep_warm_cost(start, end)


class Sim:
    """A clock and an event queue. Events at the same instant run in the order they were scheduled."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._queue: list[tuple[datetime, int, Callable[..., object], tuple[Any, ...]]] = []
        self._seq = 0

    def at(self, when: datetime, fn: Callable[..., object], *args: Any) -> None:
        if when < self.now:
            raise ValueError(f"event in the past: {when} < {self.now}")
        heapq.heappush(self._queue, (when, self._seq, fn, args))
        self._seq += 1

    def after(self, seconds: float, fn: Callable[..., object], *args: Any) -> None:
        self.at(self.now + timedelta(seconds=seconds), fn, *args)

    def run(self, end: datetime, horizon: datetime, more_needed: Callable[[], bool]) -> None:
        """Run every event before `end`; past it only while `more_needed()` (requests still waiting)."""
        while self._queue:
            when = self._queue[0][0]
            if when >= horizon or (when >= end and not more_needed()):
                break
            _, _, fn, args = heapq.heappop(self._queue)
            self.now = when
            fn(*args)


class Component:
    """One inference component with 0 or 1 copy on a scale-to-zero endpoint, and its billed instance.

    The instance is billed from the moment a scale-up from no instance starts until
    `instance_release_seconds` after the copies reach 0 (cancelled if a copy comes back first).
    """

    def __init__(self, sim: Sim, prov: Provisioning, rng: np.random.Generator, *, serving: bool) -> None:
        self.sim, self.prov, self.rng = sim, prov, rng
        self.copies = 1 if serving else 0
        self.provisioning = False
        # A copy that is already serving at the start of the trace is taken as warm.
        self.load_index = len(prov.load_latencies_ms) if serving else 0
        self.wakes = 0
        self.copy_changes: list[tuple[datetime, int]] = [(sim.now, self.copies)]
        self.instance_spans: list[tuple[datetime, datetime]] = []
        self._instance_since: datetime | None = sim.now if serving else None
        self._gen = 0  # invalidates a pending scale-up completion
        self._release_token = 0  # invalidates a pending instance release

    @property
    def serving(self) -> bool:
        return self.copies > 0

    @property
    def instance_up(self) -> bool:
        """An instance is billed now (a copy serves or comes, or the copies went less than the release ago)."""
        return self._instance_since is not None

    def observed(self) -> ObservedCopies:
        """What DescribeInferenceComponent would report now (desired moves to 1 at once; docs/aws-behaviour.md §1)."""
        return ObservedCopies(
            status=ICStatus.UPDATING if self.provisioning else ICStatus.IN_SERVICE,
            desired=1 if (self.copies or self.provisioning) else 0,
            current=self.copies,
        )

    def scale_up(self, on_serving: Callable[[], None], *, delay: float | None = None) -> bool:
        """Ask for 1 copy; `on_serving` runs when it serves. False when a copy serves or is coming already."""
        if self.copies or self.provisioning:
            return False
        self.provisioning = True
        self.wakes += 1
        self._gen += 1
        self._release_token += 1
        instance_present = self._instance_since is not None
        if self._instance_since is None:
            self._instance_since = self.sim.now
        span = self.prov.copy_on_instance if instance_present else self.prov.scale_up
        seconds = span.draw(self.rng) if delay is None else delay
        self.sim.after(seconds, self._served, self._gen, on_serving)
        return True

    def _served(self, gen: int, on_serving: Callable[[], None]) -> None:
        if gen != self._gen:
            return
        self.provisioning = False
        self.copies = 1
        self.load_index = 0  # a fresh load: the next requests are the slow ones
        self.copy_changes.append((self.sim.now, 1))
        on_serving()

    def scale_down(self) -> None:
        """Copies to 0 now; the instance goes `instance_release_seconds` later."""
        if not (self.copies or self.provisioning):
            return
        self._gen += 1
        self.provisioning = False
        if self.copies:
            self.copies = 0
            self.copy_changes.append((self.sim.now, 0))
        self._release_token += 1
        self.sim.after(self.prov.instance_release_seconds, self._release, self._release_token)

    def _release(self, token: int) -> None:
        if token == self._release_token and self._instance_since is not None:
            self.instance_spans.append((self._instance_since, self.sim.now))
            self._instance_since = None

    def invoke(self) -> float:
        """One request on the serving copy; returns its extra latency over steady (cold-after-load effect)."""
        extra = self.prov.extra_seconds(self.load_index)
        self.load_index += 1
        return extra

    def instance_seconds(self, start: datetime, end: datetime) -> float:
        spans = list(self.instance_spans)
        if self._instance_since is not None:
            spans.append((self._instance_since, max(self.sim.now, end)))
        return sum(max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b in spans)


@dataclass
class Outcome:
    """What one request met: when it arrived, when a copy (or the fallback) took it, how long it took."""

    arrival: datetime
    met_no_capacity: bool = False
    served_at: datetime | None = None
    extra_seconds: float = 0.0
    by_fallback: bool = False
    service_seconds: float = 0.0  # the answer's own latency once taken (steady, cold-after-load or fallback)

    def wait_seconds(self, horizon: datetime) -> float:
        """Time lost against a warm copy: waiting for capacity plus the cold-after-load effect."""
        served = self.served_at or horizon
        return (served - self.arrival).total_seconds() + self.extra_seconds

    def latency_seconds(self, horizon: datetime) -> float:
        """What the user saw from sending the request to getting the answer."""
        served = self.served_at or horizon
        return (served - self.arrival).total_seconds() + self.service_seconds

    @property
    def failed(self) -> bool:
        """Met no capacity and nothing else answered it: the product saw an error (and retried)."""
        return self.met_no_capacity and not self.by_fallback


def slot_counts(moments: list[datetime]) -> list[tuple[datetime, float]]:
    """Requests per 5-minute slot, as CloudWatch's Invocations Sum at period 300 would report them. A naive
    moment is taken as UTC (its wall fields kept), never as this machine's local time, which is what
    `datetime.timestamp()` reads it as."""
    # Whole 5-minute periods since the epoch (every zone's offset is whole 5 minutes), read back in UTC.
    counts = Counter(int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()) // 300 for at in moments)
    return [(datetime.fromtimestamp(period * 300, tz=UTC), n) for period, n in sorted(counts.items())]


def nearest_rank(values: list[float], pct: float) -> float:
    """The pct-th percentile by nearest rank (an actual observed value; easy to check by hand)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass
class PolicyResult:
    key: str
    label: str
    instance_hours: float
    cost: float
    requests: int
    met_no_capacity: int
    long_waits: int
    unserved: int
    wait_p50_s: float
    wait_p95_s: float
    wait_max_s: float
    wakes: int
    copy_changes: list[tuple[datetime, int]]
    details: dict[str, Any] = field(default_factory=dict)
    saving_pct: float = 0.0
    failed: int = 0
    served_by_fallback: int = 0
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    # The tail: what p95 cannot show (a cold fallback met by under 1 % of requests).
    latency_p99_s: float = 0.0
    latency_max_s: float = 0.0
    # Answers slower than SimulationSettings.slow_seconds, waits and fallback cold starts included.
    slow_answers: int = 0
    fallback_cold_starts: int = 0  # fallback cold starts a user request waited for
    instance_cost: float = 0.0
    fallback_cost: float = 0.0
    keep_warm_cost: float = 0.0  # part of fallback_cost: pings or provisioned concurrency
    control_plane_cost: float = 0.0  # sleepwake's idle checks (state machine transitions and their Lambda)
