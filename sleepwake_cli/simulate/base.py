"""What every replayed policy shares: the control plane's settings, the replay loop and its result."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from sleepwake.core import DailyCron, PlannerSettings, Policy, QuietHours, defaults
from sleepwake.core.keep_warm import KeepWarmSettings
from sleepwake_cli.simulate.engine import (
    Component,
    Fallback,
    FallbackModel,
    Outcome,
    PolicyResult,
    Provisioning,
    Sim,
    nearest_rank,
)
from sleepwake_cli.simulate.keep_warm import KeepWarmDriver
from sleepwake_cli.simulate.trace import Request, Trace

# Requests still waiting when the trace ends are followed this far (a Sunday-night request under a
# schedule waits for Monday's wake); anything later counts as unserved.
HORIZON = timedelta(days=3)
# Fallback answers further apart than this are different users (a session's clips come 15-75 s apart).
RUN_GAP = timedelta(minutes=5)


class SimulationError(RuntimeError):
    """The parameters make the control plane do something the simulator does not model (e.g. a wake timeout)."""


@dataclass(frozen=True)
class SleepwakeSettings:
    """The control plane's configuration (template parameters); defaults are the team's night window."""

    sleep_cron: str = defaults.SLEEP_CRON
    sleep_tz: str = defaults.SLEEP_TIMEZONE
    wake_cron: str = defaults.WAKE_CRON
    wake_tz: str = defaults.WAKE_TIMEZONE
    idle_minutes: int = defaults.IDLE_MINUTES
    idle_check_minutes: int = defaults.IDLE_CHECK_MINUTES
    wake_timeout_seconds: int = defaults.WAKE_TIMEOUT_SECONDS
    # The product's `keep_awake_minutes` on an intent /wake (the core's extend_lease); decide_sleep honours
    # the lease. 0 = the product asks for none.
    intent_lease_minutes: int = 0
    # The template's WakeHoldMinutes: a product /wake without keep_awake_minutes (an intent, or the client's signal
    # after a fallback answer) holds the component awake this long (core.wake_hold_minutes).
    wake_hold_minutes: int = defaults.WAKE_HOLD_MINUTES
    # With the fallback: the product's client signals /wake at most once per this many seconds while the
    # fallback answers (every signal inside a wake only joins it; this keeps API calls few).
    wake_signal_seconds: int = 60
    # Idle minutes before a nap when a fallback answers meanwhile. 15 (with the 15-minute check) is where the
    # built-in week saves > 60 % with < 5 % of requests on the fallback: `make simulate` prints the neighbours.
    nap_idle_minutes: int = defaults.NAP_IDLE_MINUTES
    # Inside a window the learned plan expects users in: idle minutes before a nap there.
    planned_idle_minutes: int = defaults.PLANNED_IDLE_MINUTES
    # With the planner, outside its windows: idle minutes before a nap (nobody is expected there).
    unplanned_idle_minutes: int = defaults.UNPLANNED_IDLE_MINUTES

    @classmethod
    def from_template(cls) -> SleepwakeSettings:
        """The deployed defaults, read from template.yaml (the one place they live)."""
        from sleepwake_cli.deployment import load_template

        params = {k: str(v.get("Default", "")) for k, v in load_template()["Parameters"].items()}
        rate = params["IdleCheckSchedule"].removeprefix("rate(").removesuffix(")").split()
        return cls(
            sleep_cron=params["SleepSchedule"],
            sleep_tz=params["SleepTimezone"],
            wake_cron=params["WakeSchedule"],
            wake_tz=params["WakeTimezone"],
            idle_minutes=int(params["IdleMinutes"]),
            idle_check_minutes=int(rate[0]) if len(rate) == 2 and rate[0].isdigit() else cls.idle_check_minutes,
            wake_timeout_seconds=int(params["WakeTimeoutSeconds"]),
            wake_hold_minutes=int(params["WakeHoldMinutes"]),
        )

    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.sleep_cron, self.sleep_tz, self.wake_cron, self.wake_tz)

    def policy(self, prov: Provisioning, *, naps: bool = False) -> Policy:
        return Policy(
            quiet_hours=self.quiet_hours(),
            naps=naps,
            idle_minutes=self.nap_idle_minutes if naps else self.idle_minutes,
            planned_idle_minutes=self.planned_idle_minutes,
            wake_hold_minutes=self.wake_hold_minutes,
            wake_timeout_seconds=self.wake_timeout_seconds,
            provisioning_estimate_seconds=round(prov.scale_up.mean),
            warmup_estimate_seconds=round(sum(prov.load_latencies_ms) / 1000),
        )


@dataclass(frozen=True)
class ControlPlanePrices:
    """What each idle check costs, as the template deploys it (Lambda first): the schedule invokes the idle-check
    Lambda (functions/idle_check), which reads the component's Invocations (GetMetricStatistics) and starts the
    sleep state machine only when it decides to sleep, so a check that skips passes no state transition. AWS
    Lambda: $0.20 per million requests and $0.0000166667 per GB-second (the functions' 256 MB,
    defaults.LAMBDA_MEMORY_MB, for ~0.2 s taken here); Amazon CloudWatch: $0.01 per 1,000 GetMetricStatistics
    requests (aws.amazon.com/cloudwatch/pricing); EventBridge Scheduler: $1.00 per million invocations past 14
    million free a month (aws.amazon.com/eventbridge/pricing; the free tier is left out, the costlier reading).
    Counted so that a faster idle check (`--idle-check-minutes`) pays for itself or not; wakes and sleeps
    themselves (their state machines' transitions, a few a day) are not counted. The check before it started the
    state machine every time (4 transitions at $0.025 per 1,000, ~9 times the price; priced by `lambda_first=False`
    up to commit 0961c4b, docs/simulate.md)."""

    lambda_per_check: float = 0.0000002 + defaults.LAMBDA_MEMORY_MB / 1024 * 0.2 * 0.0000166667
    metric_read_per_check: float = 0.01 / 1000
    scheduler_per_check: float = 1.00 / 1_000_000

    @property
    def per_check(self) -> float:
        return self.lambda_per_check + self.metric_read_per_check + self.scheduler_per_check


@dataclass(frozen=True)
class HybridSettings:
    """The hybrid histogram peer's knobs (Shahrad et al. 2020): pre-warm at the `head_pct`-th percentile of idle
    times minus `margin`, keep alive to the `tail_pct`-th plus `margin`; a fixed keep-alive when the histogram
    is not representative. The paper's values are the defaults; `--frontier` sweeps them."""

    head_pct: float = 5.0
    tail_pct: float = 99.0
    margin: float = 0.1
    fixed_keep_alive_minutes: float = 10.0


@dataclass(frozen=True)
class SimulationSettings:
    prov: Provisioning = field(default_factory=Provisioning)
    sleepwake: SleepwakeSettings = field(default_factory=SleepwakeSettings)
    fallback: FallbackModel = field(default_factory=FallbackModel)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    keep_warm: KeepWarmSettings = field(default_factory=KeepWarmSettings)
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    control_plane: ControlPlanePrices = field(default_factory=ControlPlanePrices)
    # Requests before the scored trace: what the planner (and the histogram peer) learn from at its start.
    history: tuple[datetime, ...] = ()
    price_per_hour: float = defaults.INSTANCE_PRICE_PER_HOUR
    long_wait_minutes: float = 10.0
    # An answer slower than this is a slow answer (the clinicians' "no waiting": 3 s by the issue's goal).
    slow_seconds: float = defaults.SLOW_SECONDS
    seed: int = 7


def firings(cron: DailyCron, start: datetime, until: datetime) -> Iterator[datetime]:
    """Every firing strictly after `start` and before `until` (one at exactly `start` is the initial state)."""
    moment = cron.next(start)
    while moment < until:
        yield moment
        moment = cron.next(moment)


class Simulated:
    """Replays a trace against one policy: requests are served by a copy or wait (the product retries)."""

    key: ClassVar[str]
    label: ClassVar[str]

    def __init__(
        self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator, *, serving: bool = False
    ) -> None:
        self.trace, self.settings, self.rng = trace, settings, rng
        self.sim = Sim(trace.start)
        self.comp = Component(self.sim, settings.prov, rng, serving=serving)
        self.horizon = trace.end + HORIZON
        self.outcomes: list[Outcome] = []
        self.waiting: list[Outcome] = []
        self.fallback: Fallback | None = None
        self.keep_warm: KeepWarmDriver | None = None

    def use_fallback(self) -> Fallback:
        """Give this policy the serverless fallback and the keep-warm option: the same for sleepwake and the peers,
        so the comparison is fair."""
        # Its own stream of draws: keeping it warm (fewer cold starts drawn) leaves the component's draws as they
        # were, so keep-warm modes are compared on the same scale-ups.
        stream = np.random.default_rng([self.settings.seed, 1, *map(ord, self.key)])
        self.fallback = Fallback(self.sim, self.settings.fallback, stream)
        self.keep_warm = KeepWarmDriver(
            self.sim,
            self.fallback,
            self.settings.keep_warm,
            self.settings.planner,
            tuple(t for t in self.settings.history if t < self.trace.start),
            self.settings.sleepwake.wake_tz,
            lambda: self.comp.serving,
        )
        return self.fallback

    def answer_by_fallback(self) -> Outcome:
        """A request that met no capacity, answered by the fallback (a cold start included if it is cold)."""
        assert self.fallback is not None
        outcome = Outcome(self.sim.now, met_no_capacity=True, by_fallback=True, served_at=self.sim.now)
        outcome.service_seconds = self.fallback.invoke()
        self.outcomes.append(outcome)
        return outcome

    # Hooks a policy overrides.
    def schedule(self) -> None:
        """Queue the policy's own events (schedules, checks)."""

    def on_no_capacity(self) -> None:
        """A request just met no serving copy (it is already in `waiting`)."""

    def on_intent(self) -> None:
        """The product called /wake ahead of a request; only sleepwake has that endpoint."""

    def on_invocation(self, at: datetime) -> None:
        """A copy served a request at `at`."""

    def details(self) -> dict[str, object]:
        return {}

    # Shared behaviour.
    def run(self) -> PolicyResult:
        for request in self.trace.requests:
            if request.wake_lead_seconds is not None:
                intent_at = max(self.trace.start, request.at - timedelta(seconds=request.wake_lead_seconds))
                self.sim.at(intent_at, self.on_intent)
            self.sim.at(request.at, self._arrival, request)
        self.schedule()
        if self.keep_warm is not None:
            self.keep_warm.schedule(self.trace.start, self.horizon)
        self.sim.run(self.trace.end, self.horizon, lambda: bool(self.waiting))
        return self._result()

    def _arrival(self, request: Request) -> None:
        if self.keep_warm is not None:
            self.keep_warm.observe(self.sim.now)
        self._arrive(request)

    def _arrive(self, request: Request) -> None:
        outcome = Outcome(self.sim.now)
        self.outcomes.append(outcome)
        if self.comp.serving:
            self.serve(outcome)
        else:
            outcome.met_no_capacity = True
            self.waiting.append(outcome)
            self.on_no_capacity()

    def serve(self, outcome: Outcome) -> None:
        outcome.served_at = self.sim.now
        outcome.extra_seconds = self.comp.invoke()
        outcome.service_seconds = self.settings.prov.steady_latency_ms / 1000 + outcome.extra_seconds
        self.on_invocation(self.sim.now)

    def fallback_cost(self) -> float:
        return 0.0 if self.fallback is None else self.fallback.cost(self.trace.start, self.trace.end)

    def control_plane_cost(self) -> float:
        """The control plane's own running cost over the trace (sleepwake's idle checks; peers: none counted)."""
        return 0.0

    def keep_warm_cost(self) -> float:
        return 0.0 if self.fallback is None else self.fallback.keep_warm_cost(self.trace.start, self.trace.end)

    def fallback_cold_starts(self) -> int:
        """Cold starts of the fallback a user request waited for (policies without a fallback: none)."""
        return 0 if self.fallback is None else self.fallback.cold_starts_met

    def fallback_details(self) -> dict[str, object]:
        """The fallback's figures every policy with one reports alike under details["fallback"] (sleepwake adds its
        own), so users met across policies compare (scripts/simulate_goals.py); {} without a fallback."""
        if self.fallback is None:
            return {}
        return {
            "requests": self.fallback.requests,
            "cold_starts": self.fallback.cold_starts,
            "billed_seconds": round(self.fallback.billed_seconds, 1),
            "runs": self.fallback_runs(),
            "keep_warm": self.keep_warm.details() if self.keep_warm else {},
        }

    def fallback_runs(self) -> int:
        """Runs of requests the fallback answered, with no copy's answer between them and none more than
        `RUN_GAP` after the one before: each is a user meeting the component asleep or waking, whose first
        requests go to the fallback until a copy serves. The fallback's share is these runs times their length,
        and only fewer runs lower it much (docs/simulate.md)."""
        runs, last = 0, None
        for outcome in self.outcomes:  # appended as each request arrives
            if not outcome.by_fallback:
                last = None
                continue
            if last is None or outcome.arrival - last > RUN_GAP:
                runs += 1
            last = outcome.arrival
        return runs

    def release_waiters(self) -> None:
        waiting, self.waiting = self.waiting, []
        for outcome in waiting:
            self.serve(outcome)

    def _result(self) -> PolicyResult:
        waits = [o.wait_seconds(self.horizon) for o in self.outcomes]
        latencies = [o.latency_seconds(self.horizon) for o in self.outcomes]
        hours = self.comp.instance_seconds(self.trace.start, self.trace.end) / 3600
        instance_cost, fallback_cost = hours * self.settings.price_per_hour, self.fallback_cost()
        control_cost = self.control_plane_cost()
        return PolicyResult(
            key=self.key,
            label=self.label,
            instance_hours=hours,
            cost=instance_cost + fallback_cost + control_cost,
            control_plane_cost=control_cost,
            instance_cost=instance_cost,
            fallback_cost=fallback_cost,
            keep_warm_cost=self.keep_warm_cost(),
            failed=sum(o.failed for o in self.outcomes),
            served_by_fallback=sum(o.by_fallback for o in self.outcomes),
            latency_p50_s=nearest_rank(latencies, 50),
            latency_p95_s=nearest_rank(latencies, 95),
            latency_p99_s=nearest_rank(latencies, 99),
            latency_max_s=max(latencies, default=0.0),
            slow_answers=sum(latency > self.settings.slow_seconds for latency in latencies),
            fallback_cold_starts=self.fallback_cold_starts(),
            requests=len(self.outcomes),
            met_no_capacity=sum(o.met_no_capacity for o in self.outcomes),
            long_waits=sum(w > self.settings.long_wait_minutes * 60 for w in waits),
            unserved=sum(o.served_at is None for o in self.outcomes),
            wait_p50_s=nearest_rank(waits, 50),
            wait_p95_s=nearest_rank(waits, 95),
            wait_max_s=max(waits, default=0.0),
            wakes=self.comp.wakes,
            copy_changes=[(t, c) for t, c in self.comp.copy_changes if t < self.trace.end],
            details=self.details(),
        )
