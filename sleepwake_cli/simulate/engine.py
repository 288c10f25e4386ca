"""Discrete-event machinery: simulated time, one simulated inference component, and what each request met."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from sleepwake.core import ICStatus, ObservedCopies


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
    """How the platform behaves, from the team's measurements (FACTS §1-§3) and the issue's defaults."""

    scale_up: Span = Span(180, 240)  # copy count set to 1 directly: 3-4 min to a serving copy (FACTS §1)
    alarm_detection: Span = Span(60, 120)  # NoCapacityInvocationFailures alarm adds 1-2 min (issue 5)
    instance_release_seconds: float = 600  # instances follow ~10 min after copies reach 0 (FACTS §2)
    native_idle_minutes: float = 15  # target tracking scales in after ~15 idle minutes (FACTS §3)
    # Latency of the 1st, 2nd, ... request after a model load; later ones take `steady_latency_ms`.
    # FACTS §1: "the first ~3 requests after a model loads are slow". Override with a model-bench file.
    load_latencies_ms: tuple[float, ...] = (3000.0, 1500.0, 1000.0)
    steady_latency_ms: float = 500.0

    def extra_seconds(self, index: int) -> float:
        """How much slower than steady the `index`-th request after a load is (0-based)."""
        if index >= len(self.load_latencies_ms):
            return 0.0
        return max(0.0, self.load_latencies_ms[index] - self.steady_latency_ms) / 1000

    def latency_ms(self, index: int) -> float:
        return self.load_latencies_ms[index] if index < len(self.load_latencies_ms) else self.steady_latency_ms


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

    def observed(self) -> ObservedCopies:
        """What DescribeInferenceComponent would report now (desired moves to 1 at once; FACTS §1)."""
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
        if self._instance_since is None:
            self._instance_since = self.sim.now
        seconds = self.prov.scale_up.draw(self.rng) if delay is None else delay
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
    """What one request met: when it arrived, when a copy took it, how much slower than steady it was."""

    arrival: datetime
    met_no_capacity: bool = False
    served_at: datetime | None = None
    extra_seconds: float = 0.0

    def wait_seconds(self, horizon: datetime) -> float:
        served = self.served_at or horizon
        return (served - self.arrival).total_seconds() + self.extra_seconds


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
