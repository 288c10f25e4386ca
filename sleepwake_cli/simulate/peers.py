"""The peers sleepwake is compared with: always on, the first schedule, AWS's native recipe, the hybrid
histogram of Shahrad et al. and the oracle."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from itertools import pairwise

import numpy as np

from sleepwake_cli.simulate.base import Simulated, SimulationSettings, firings
from sleepwake_cli.simulate.engine import Outcome
from sleepwake_cli.simulate.trace import Request, Trace


class AlwaysOn(Simulated):
    key, label = "always_on", "always on"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng, serving=True)


class ScheduledOnly(Simulated):
    """The team's first setup: copies to 0 at the sleep firing, to 1 at the wake firing, nothing else."""

    key, label = "scheduled", "scheduled only"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        self.quiet = settings.sleepwake.quiet_hours()
        super().__init__(trace, settings, rng, serving=not self.quiet.is_quiet(trace.start))

    def schedule(self) -> None:
        for at in firings(self.quiet.wake, self.trace.start, self.horizon):
            self.sim.at(at, self.comp.scale_up, self.release_waiters)
        for at in firings(self.quiet.sleep, self.trace.start, self.horizon):
            self.sim.at(at, self.comp.scale_down)


class NativeAutoscale(Simulated):
    """AWS's recipe (docs/aws-behaviour.md §3): a step policy on the NoCapacityInvocationFailures alarm scales out of 0,
    target tracking scales in to 0 after `native_idle_minutes` without an invocation."""

    key, label = "native", "native scale-to-zero"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng, serving=False)
        self._alarm_pending = False
        self._last_invocation = trace.start
        self._alarms = 0

    def on_no_capacity(self) -> None:
        if self.comp.provisioning or self._alarm_pending:
            return
        self._alarm_pending = True
        self.sim.after(self.settings.prov.alarm_detection.draw(self.rng), self._alarm)

    def _alarm(self) -> None:
        self._alarm_pending = False
        self._alarms += 1
        self.comp.scale_up(self.release_waiters)

    def on_invocation(self, at: datetime) -> None:
        self._last_invocation = at
        self.sim.after(self.settings.prov.native_idle_minutes * 60, self._scale_in_check)

    def _scale_in_check(self) -> None:
        idle = (self.sim.now - self._last_invocation).total_seconds()
        if self.comp.serving and idle >= self.settings.prov.native_idle_minutes * 60:
            self.comp.scale_down()

    def details(self) -> dict[str, object]:
        return {"alarms": self._alarms}


class HybridHistogram(Simulated):
    """The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020), as a peer.

    Per application, a histogram of idle times (minutes between consecutive requests, 1-minute bins up to
    4 hours). When it is representative (enough idle times inside its range, and a coefficient of variation of
    the bin counts of at least 2), after each request the copy is unloaded and loaded again at the 5th
    percentile (minus 10 %) and kept until the 99th percentile (plus 10 %) (`HybridSettings`, the paper's
    values by default); when the 5th percentile is too
    short to be worth unloading here (a reload costs a scale-up and the instance is billed 10 minutes after 0
    copies), it simply stays until then. Not representative: a fixed 10-minute keep-alive, the paper's
    baseline. The paper's ARIMA branch for idle times beyond the range is not modelled (such gaps fall back to
    the keep-alive). A miss is answered by the same serverless fallback as sleepwake's, and scales up.
    """

    key, label = "hybrid_histogram", "hybrid histogram (Shahrad et al.) + fallback"
    RANGE_MINUTES = 240
    MIN_SAMPLES = 10
    CV_THRESHOLD = 2.0

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng, serving=False)
        self.fallback = self.use_fallback()
        self.bins = [0] * self.RANGE_MINUTES
        self.out_of_range = 0
        self._last: datetime | None = None
        for at in sorted(t for t in settings.history if t < trace.start):
            self._observe(at)
        self._token = 0
        self.lead = settings.prov.scale_up.mean + sum(settings.prov.load_latencies_ms) / 1000
        self.windows: Counter[str] = Counter()

    def _observe(self, at: datetime) -> None:
        if self._last is not None:
            minutes = (at - self._last).total_seconds() / 60
            if minutes < self.RANGE_MINUTES:
                self.bins[int(minutes)] += 1
            else:
                self.out_of_range += 1
        self._last = at

    def _windows(self) -> tuple[float, float] | None:
        """(pre-warm, keep-alive) minutes after a request, or None when the histogram is not representative."""
        total = sum(self.bins)
        if total < self.MIN_SAMPLES:
            return None
        mean = total / len(self.bins)
        cv = float(np.std(self.bins)) / mean if mean else 0.0
        if cv < self.CV_THRESHOLD:
            return None
        knobs = self.settings.hybrid
        cumulative, head, tail = 0, None, None
        for minute, count in enumerate(self.bins):
            cumulative += count
            if head is None and cumulative >= knobs.head_pct / 100 * total:
                head = minute
            if tail is None and cumulative >= knobs.tail_pct / 100 * total:
                tail = minute + 1
        return (head or 0) * (1 - knobs.margin), (tail or self.RANGE_MINUTES) * (1 + knobs.margin)

    def _arrive(self, request: Request) -> None:
        self._observe(self.sim.now)
        if self.comp.serving:
            outcome = Outcome(self.sim.now)
            self.outcomes.append(outcome)
            self.serve(outcome)
        else:
            self.answer_by_fallback()
            self.comp.scale_up(lambda: None)
        self._after_request()

    def _after_request(self) -> None:
        self._token += 1
        token = self._token
        windows = self._windows()
        if windows is None:
            self.windows["fixed keep-alive"] += 1
            self.sim.after(self.settings.hybrid.fixed_keep_alive_minutes * 60, self._unload, token)
            return
        prewarm, keep_alive = windows
        release = self.settings.prov.instance_release_seconds
        if prewarm * 60 - self.lead > release:
            self.windows["unload, pre-warm"] += 1
            self.sim.after(0, self._unload, token)
            self.sim.after(prewarm * 60 - self.lead, self._load, token)
        else:
            self.windows["keep alive"] += 1
        self.sim.after(keep_alive * 60, self._unload, token)

    def _unload(self, token: int) -> None:
        """Unload after the fallback is warm when the keep-warm mode pre-warms at a sleep (as sleepwake does)."""
        if token != self._token or not (self.comp.serving or self.comp.provisioning):
            return  # nothing to unload (a load under way is cancelled, as before keep-warm existed)
        delay = 0.0 if self.keep_warm is None else self.keep_warm.on_sleep()
        if delay > 0:
            self.sim.after(delay, self._scale_down, token)
        else:
            self._scale_down(token)

    def _scale_down(self, token: int) -> None:
        if token == self._token:
            self.comp.scale_down()

    def _load(self, token: int) -> None:
        if token == self._token:
            self.comp.scale_up(lambda: None)

    def details(self) -> dict[str, object]:
        windows = self._windows()
        return {
            "windows_after_requests": dict(self.windows),
            "final_windows_minutes": None if windows is None else [round(w, 1) for w in windows],
            "idle_times_out_of_range": self.out_of_range,
            "fallback": self.fallback_details(),
        }


class Oracle(Simulated):
    """The physical limit: perfect foresight of every request, billed like the others.

    After each request it sleeps at once if the gap to the next one is long enough to pay (the instance is
    billed `instance_release_seconds` after 0 copies and from the start of the next scale-up), and starts each
    wake exactly one provisioning time plus the warm-up before the request that needs it, so nobody waits.
    """

    key, label = "oracle", "oracle (perfect foresight)"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        prov = settings.prov
        self.lead = prov.scale_up.mean + sum(prov.load_latencies_ms) / 1000
        first = trace.requests[0].at if trace.requests else trace.end
        # Serving at the start only when the first request comes sooner than a wake could be had.
        super().__init__(trace, settings, rng, serving=(first - trace.start).total_seconds() < self.lead)

    def schedule(self) -> None:
        prov = self.settings.prov
        times = [r.at for r in self.trace.requests]
        if not times:
            return
        if not self.comp.serving:
            self._wake_at(times[0])
        pays_off = prov.instance_release_seconds + self.lead
        for before, after in pairwise(times):
            if (after - before).total_seconds() > pays_off:
                self.sim.at(before, self.comp.scale_down)
                self._wake_at(after)
        self.sim.at(times[-1], self.comp.scale_down)

    def _wake_at(self, needed: datetime) -> None:
        at = max(self.sim.now, needed - timedelta(seconds=self.lead))
        self.sim.at(at, partial(self.comp.scale_up, self._warm, delay=self.settings.prov.scale_up.mean))

    def _warm(self) -> None:
        self.comp.load_index = len(self.settings.prov.load_latencies_ms)  # warmed by its own requests
