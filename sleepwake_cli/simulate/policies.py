"""The four policies replayed on one trace. Sleepwake's decisions come from `sleepwake.core`, never from here."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import pairwise
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np

from sleepwake.core import (
    DailyCron,
    DayPlan,
    PlannerSettings,
    Policy,
    QuietHours,
    ScaleVerdict,
    State,
    StateRecord,
    WakeAction,
    check_scale,
    decide_sleep,
    decide_wake,
    extend_lease,
    is_warm,
    plan_day,
)
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
from sleepwake_cli.simulate.trace import Request, Trace

# Requests still waiting when the trace ends are followed this far (a Sunday-night request under a
# schedule waits for Monday's wake); anything later counts as unserved.
HORIZON = timedelta(days=3)


class SimulationError(RuntimeError):
    """The parameters make the control plane do something the simulator does not model (e.g. a wake timeout)."""


@dataclass(frozen=True)
class SleepwakeSettings:
    """The control plane's configuration (template parameters); defaults are the team's night window."""

    sleep_cron: str = "cron(0 0 * * ? *)"
    sleep_tz: str = "America/Los_Angeles"
    wake_cron: str = "cron(0 7 * * ? *)"
    wake_tz: str = "America/New_York"
    idle_minutes: int = 30
    idle_check_minutes: int = 15
    wake_timeout_seconds: int = 900
    # The product's `keep_awake_minutes` on an intent /wake (the core's extend_lease); decide_sleep honours
    # the lease. 0 = the product asks for none.
    intent_lease_minutes: int = 0
    # With the fallback: the product's client signals /wake at most once per this many seconds while the
    # fallback answers (every signal inside a wake only joins it; this keeps API calls few).
    wake_signal_seconds: int = 60
    # Idle minutes before a nap when a fallback answers meanwhile. 15 (with the 15-minute check) is where the
    # built-in week saves > 60 % with < 5 % of requests on the fallback: `make simulate` prints the neighbours.
    nap_idle_minutes: int = 15
    # Inside a window the learned plan expects users in: idle minutes before a nap there.
    planned_idle_minutes: int = 20
    # With the planner, outside its windows: idle minutes before a nap (nobody is expected there).
    unplanned_idle_minutes: int = 5

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
        )

    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.sleep_cron, self.sleep_tz, self.wake_cron, self.wake_tz)

    def policy(self, prov: Provisioning, *, naps: bool = False) -> Policy:
        return Policy(
            quiet_hours=self.quiet_hours(),
            naps=naps,
            idle_minutes=self.nap_idle_minutes if naps else self.idle_minutes,
            planned_idle_minutes=self.planned_idle_minutes,
            wake_timeout_seconds=self.wake_timeout_seconds,
            provisioning_estimate_seconds=round(prov.scale_up.mean),
            warmup_estimate_seconds=round(sum(prov.load_latencies_ms) / 1000),
        )


@dataclass(frozen=True)
class Settings:
    prov: Provisioning = field(default_factory=Provisioning)
    sleepwake: SleepwakeSettings = field(default_factory=SleepwakeSettings)
    fallback: FallbackModel = field(default_factory=FallbackModel)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    # Requests before the scored trace: what the planner (and the histogram peer) learn from at its start.
    history: tuple[datetime, ...] = ()
    price_per_hour: float = 0.20
    long_wait_minutes: float = 10.0
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

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator, *, serving: bool = False) -> None:
        self.trace, self.settings, self.rng = trace, settings, rng
        self.sim = Sim(trace.start)
        self.comp = Component(self.sim, settings.prov, rng, serving=serving)
        self.horizon = trace.end + HORIZON
        self.outcomes: list[Outcome] = []
        self.waiting: list[Outcome] = []

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
            self.sim.at(request.at, self._arrive, request)
        self.schedule()
        self.sim.run(self.trace.end, self.horizon, lambda: bool(self.waiting))
        return self._result()

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
        return 0.0

    def release_waiters(self) -> None:
        waiting, self.waiting = self.waiting, []
        for outcome in waiting:
            self.serve(outcome)

    def _result(self) -> PolicyResult:
        waits = [o.wait_seconds(self.horizon) for o in self.outcomes]
        latencies = [o.latency_seconds(self.horizon) for o in self.outcomes]
        hours = self.comp.instance_seconds(self.trace.start, self.trace.end) / 3600
        instance_cost, fallback_cost = hours * self.settings.price_per_hour, self.fallback_cost()
        return PolicyResult(
            key=self.key,
            label=self.label,
            instance_hours=hours,
            cost=instance_cost + fallback_cost,
            instance_cost=instance_cost,
            fallback_cost=fallback_cost,
            failed=sum(o.failed for o in self.outcomes),
            served_by_fallback=sum(o.by_fallback for o in self.outcomes),
            latency_p50_s=nearest_rank(latencies, 50),
            latency_p95_s=nearest_rank(latencies, 95),
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


class AlwaysOn(Simulated):
    key, label = "always_on", "always on"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng, serving=True)


class ScheduledOnly(Simulated):
    """The team's first setup: copies to 0 at the sleep firing, to 1 at the wake firing, nothing else."""

    key, label = "scheduled", "scheduled only"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
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

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
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


class Sleepwake(Simulated):
    """The control plane: schedule firings, intent /wake, no-capacity /wake and idle checks, each decided by
    `sleepwake.core`; a wake polls the copies with `check_scale` and warms with `is_warm` before READY.

    On a no-capacity error the product calls /wake, polls /status until READY (docs/aws-behaviour.md §4: a wake answers
    202), so a request that met no capacity is served when the record turns READY.
    """

    key, label = "sleepwake", "sleepwake"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
        self.policy = settings.sleepwake.policy(settings.prov)
        quiet = self.policy.quiet_hours.is_quiet(trace.start)
        super().__init__(trace, settings, rng, serving=not quiet)
        self.record = StateRecord(state=State.ASLEEP if quiet else State.READY, since=trace.start)
        self.invocations: list[datetime] = []  # what CloudWatch's Invocations sum is computed from
        self.decisions: Counter[str] = Counter()
        self._ops = 0

    def schedule(self) -> None:
        quiet = self.policy.quiet_hours
        for at in firings(quiet.wake, self.trace.start, self.horizon):
            self.sim.at(at, self._wake, "schedule")
        for at in firings(quiet.sleep, self.trace.start, self.horizon):
            self.sim.at(at, self._sleep, "schedule")
        # EventBridge rate(N minutes), taken as aligned to the clock.
        step = timedelta(minutes=self.settings.sleepwake.idle_check_minutes)
        epoch = datetime(2000, 1, 1, tzinfo=self.trace.start.tzinfo)
        at = self.trace.start + (step - (self.trace.start - epoch) % step)
        while at < self.horizon:
            self.sim.at(at, self._sleep, "idle")
            at += step

    def on_no_capacity(self) -> None:
        self._wake("no_capacity")

    def on_intent(self) -> None:
        self._wake("intent")

    def on_invocation(self, at: datetime) -> None:
        insort(self.invocations, at)

    def _recent_invocations(self, planned_awake: bool = False) -> int:
        window = timedelta(minutes=self.policy.idle_window_minutes(planned_awake=planned_awake))
        return bisect_right(self.invocations, self.sim.now) - bisect_right(self.invocations, self.sim.now - window)

    def _move(self, state: State, **changes: object) -> None:
        self.record = self.record.model_copy(
            update={"state": state, "since": self.sim.now, "version": self.record.version + 1, **changes}
        )

    def _wake(self, trigger: str) -> bool:
        """One wake request through the core; True when it started a wake."""
        decision = decide_wake(self.record, self.comp.observed(), self.policy, self.sim.now)
        self.decisions[f"wake {trigger}: {decision.action.value}"] += 1
        if trigger == "intent":  # the product's keep_awake_minutes on /wake, by the core's lease rule
            until = extend_lease(
                self.record.lease_until, self.sim.now, self.settings.sleepwake.intent_lease_minutes, self.policy
            )
            self.record = self.record.model_copy(update={"lease_until": until})
        if decision.action != WakeAction.START:
            return False
        self._ops += 1
        self._move(State.WAKING, op_id=f"wake-{self._ops}", op_kind="wake", reason=f"{trigger}: {decision.reason}")
        if not self.comp.scale_up(self._copy_serving) and self.comp.serving:
            self._copy_serving()
        return True

    def _copy_serving(self) -> None:
        elapsed = (self.sim.now - (self.record.since or self.sim.now)).total_seconds()
        # MinCapacity rises with the copies (docs/aws-behaviour.md §3), so autoscaling never fights it here.
        target = self.policy.day_min_copies
        check = check_scale(self.comp.observed(), target, elapsed, self.policy, min_capacity=target)
        if check.verdict != ScaleVerdict.REACHED:
            raise SimulationError(f"{self.record.op_id}: {check.verdict.value}: {check.reason} (raise --wake-timeout?)")
        self._move(State.WARMING)
        # The control plane sends warm-up requests until the core calls the copy warm; they are invocations.
        latencies: list[float] = []
        elapsed_warm = 0.0
        while True:
            latencies.append(self.settings.prov.latency_ms(self.comp.load_index))
            self.comp.load_index += 1
            elapsed_warm += latencies[-1] / 1000
            insort(self.invocations, self.sim.now + timedelta(seconds=elapsed_warm))
            if is_warm(latencies, self.policy)[0]:
                break
        self.decisions[f"warm-up requests: {len(latencies)}"] += 1
        self.sim.after(elapsed_warm, self._warmed, self.record.op_id)

    def _warmed(self, op_id: str) -> None:
        if self.record.op_id != op_id or self.record.state != State.WARMING:
            return
        self._move(State.READY, reason="warm")
        self.release_waiters()

    def planned_awake(self) -> bool:
        """Inside a window of a learned plan (only the planner policy has one)."""
        return False

    def _sleep(self, trigger: str) -> None:
        planned = self.planned_awake()
        decision = decide_sleep(
            self.record,
            self.comp.observed(),
            self.policy,
            self.sim.now,
            trigger="idle" if trigger == "idle" else "schedule",
            recent_invocations=self._recent_invocations(planned),
            planned_awake=planned,
        )
        self.decisions[f"sleep {trigger}: {'sleep' if decision.sleep else 'skip'}"] += 1
        if not decision.sleep:
            return
        self._ops += 1
        self._move(State.SLEEPING, op_id=f"sleep-{self._ops}", op_kind="sleep", reason=f"{trigger}: {decision.reason}")
        self.comp.scale_down()
        check = check_scale(self.comp.observed(), 0, 0.0, self.policy)
        if check.verdict == ScaleVerdict.REACHED:
            self._move(State.ASLEEP)

    def details(self) -> dict[str, object]:
        return {"decisions": dict(sorted(self.decisions.items()))}


class SleepwakeNaps(Sleepwake):
    """Sleepwake with a serverless CPU fallback: a request that meets no capacity is answered by the fallback
    and signals a wake (the product's client, `sleepwake_client`), and the idle check may sleep at any hour
    (`Policy.naps`). An intent /wake that starts a wake also pre-warms the fallback."""

    key, label = "sleepwake_naps", "sleepwake + naps + fallback"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng)
        self.policy = settings.sleepwake.policy(settings.prov, naps=True)
        self.fallback = Fallback(self.sim, settings.fallback, rng)
        self._last_signal: datetime | None = None
        self._signals = 0

    def _arrive(self, request: Request) -> None:
        if self.comp.serving:
            super()._arrive(request)
            return
        outcome = Outcome(self.sim.now, met_no_capacity=True, by_fallback=True, served_at=self.sim.now)
        outcome.service_seconds = self.fallback.invoke()
        self.outcomes.append(outcome)
        window = timedelta(seconds=self.settings.sleepwake.wake_signal_seconds)
        if self._last_signal is None or self.sim.now - self._last_signal >= window:
            self._last_signal = self.sim.now
            self._signals += 1
            self._wake("no_capacity")

    def on_intent(self) -> None:
        if self._wake("intent"):
            self.fallback.prewarm()

    def fallback_cost(self) -> float:
        return self.fallback.cost

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "fallback": {
                "requests": self.fallback.requests,
                "cold_starts": self.fallback.cold_starts,
                "billed_seconds": round(self.fallback.billed_seconds, 1),
                "wake_signals": self._signals,
            },
        }


def slot_counts(moments: list[datetime]) -> list[tuple[datetime, float]]:
    """Requests per 5-minute slot, as CloudWatch's Invocations Sum at period 300 would report them."""
    counts: Counter[datetime] = Counter()
    for at in moments:
        counts[at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)] += 1
    return sorted(counts.items())


class SleepwakePlanner(SleepwakeNaps):
    """Sleepwake with the learned schedule and the fallback: every local midnight (wake zone) it plans the day
    from the demand seen before it (`sleepwake.core.plan_day`: never the day itself), wakes one lead before each
    planned window, naps outside the windows after `nap_idle_minutes` and inside them only after
    `planned_idle_minutes`. Days with too little history keep the configured crons."""

    key, label = "sleepwake_planner", "sleepwake + planner + fallback"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng)
        self.policy = self.policy.model_copy(update={"idle_minutes": settings.sleepwake.unplanned_idle_minutes})
        self.demand: list[datetime] = sorted(t for t in settings.history if t < trace.start)
        self.plan: DayPlan | None = None
        self.plans: list[DayPlan] = []
        self.tz = self.policy.quiet_hours.wake.tz

    def schedule(self) -> None:
        super().schedule()
        zone = ZoneInfo(self.tz)
        day = self.trace.start.astimezone(zone).date()
        self.sim.at(self.trace.start, self._plan_day, day)
        while True:
            day += timedelta(days=1)
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            if midnight >= self.horizon:
                break
            self.sim.at(midnight, self._plan_day, day)

    def _plan_day(self, day: date) -> None:
        plan = plan_day(slot_counts(self.demand), day, self.tz, self.settings.planner)
        self.plan = plan
        self.plans.append(plan)
        self.decisions[f"plan: {'learned' if plan.learned else 'crons'}"] += 1
        for at in plan.wake_times():
            if at >= self.sim.now:
                self.sim.at(at, self._wake, "plan")

    def _arrive(self, request: Request) -> None:
        self.demand.append(self.sim.now)
        super()._arrive(request)

    def planned_awake(self) -> bool:
        return self.plan is not None and self.plan.learned and self.plan.is_awake(self.sim.now)

    def _wake(self, trigger: str) -> bool:
        if trigger == "schedule" and self.plan is not None and self.plan.learned:
            return False  # the plan replaces the morning cron on days it has learned
        return super()._wake(trigger)

    def _sleep(self, trigger: str) -> None:
        if trigger == "schedule" and self.plan is not None and self.plan.learned:
            return  # naps replace the night cron on learned days
        super()._sleep(trigger)

    def day_table(self) -> list[dict[str, object]]:
        """Per planned day: its windows (local wake-zone times), and requests the fallback answered that day."""
        zone = ZoneInfo(self.tz)
        fallback = Counter(o.arrival.astimezone(zone).date() for o in self.outcomes if o.by_fallback)
        requests = Counter(o.arrival.astimezone(zone).date() for o in self.outcomes)
        rows = []
        for plan in self.plans:
            spans = [f"{a.strftime('%H:%M')}-{b.strftime('%H:%M')}" for a, b in plan.spans()]
            rows.append(
                {
                    "day": plan.day.isoformat(),
                    "learned": plan.learned,
                    "windows": spans,
                    "requests": requests[plan.day],
                    "by_fallback": fallback[plan.day],
                }
            )
        return rows

    def details(self) -> dict[str, object]:
        learned = [p for p in self.plans if p.learned]
        return {
            **super().details(),
            "days": self.day_table(),
            "plans": {
                "learned_days": len(learned),
                "crons_days": len(self.plans) - len(learned),
                "planned_awake_hours": round(sum(p.awake_minutes for p in learned) / 60, 1),
                "first_reason": self.plans[0].reason if self.plans else "",
            },
        }


class HybridHistogram(Simulated):
    """The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020), as a peer.

    Per application, a histogram of idle times (minutes between consecutive requests, 1-minute bins up to
    4 hours). When it is representative (enough idle times inside its range, and a coefficient of variation of
    the bin counts of at least 2), after each request the copy is unloaded and loaded again at the 5th
    percentile (minus 10 %) and kept until the 99th percentile (plus 10 %); when the 5th percentile is too
    short to be worth unloading here (a reload costs a scale-up and the instance is billed 10 minutes after 0
    copies), it simply stays until then. Not representative: a fixed 10-minute keep-alive, the paper's
    baseline. The paper's ARIMA branch for idle times beyond the range is not modelled (such gaps fall back to
    the keep-alive). A miss is answered by the same serverless fallback as sleepwake's, and scales up.
    """

    key, label = "hybrid_histogram", "hybrid histogram (Shahrad et al.) + fallback"
    RANGE_MINUTES = 240
    MIN_SAMPLES = 10
    CV_THRESHOLD = 2.0
    FIXED_KEEP_ALIVE_MINUTES = 10.0

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng, serving=False)
        self.fallback = Fallback(self.sim, settings.fallback, rng)
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
        cumulative, head, tail = 0, None, None
        for minute, count in enumerate(self.bins):
            cumulative += count
            if head is None and cumulative >= 0.05 * total:
                head = minute
            if tail is None and cumulative >= 0.99 * total:
                tail = minute + 1
        return (head or 0) * 0.9, (tail or self.RANGE_MINUTES) * 1.1

    def _arrive(self, request: Request) -> None:
        self._observe(self.sim.now)
        if self.comp.serving:
            outcome = Outcome(self.sim.now)
            self.outcomes.append(outcome)
            self.serve(outcome)
        else:
            outcome = Outcome(self.sim.now, met_no_capacity=True, by_fallback=True, served_at=self.sim.now)
            outcome.service_seconds = self.fallback.invoke()
            self.outcomes.append(outcome)
            self.comp.scale_up(lambda: None)
        self._after_request()

    def _after_request(self) -> None:
        self._token += 1
        token = self._token
        windows = self._windows()
        if windows is None:
            self.windows["fixed keep-alive"] += 1
            self.sim.after(self.FIXED_KEEP_ALIVE_MINUTES * 60, self._unload, token)
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
        if token == self._token:
            self.comp.scale_down()

    def _load(self, token: int) -> None:
        if token == self._token:
            self.comp.scale_up(lambda: None)

    def fallback_cost(self) -> float:
        return self.fallback.cost

    def details(self) -> dict[str, object]:
        windows = self._windows()
        return {
            "windows_after_requests": dict(self.windows),
            "final_windows_minutes": None if windows is None else [round(w, 1) for w in windows],
            "idle_times_out_of_range": self.out_of_range,
        }


class Oracle(Simulated):
    """The physical limit: perfect foresight of every request, billed like the others.

    After each request it sleeps at once if the gap to the next one is long enough to pay (the instance is
    billed `instance_release_seconds` after 0 copies and from the start of the next scale-up), and starts each
    wake exactly one provisioning time plus the warm-up before the request that needs it, so nobody waits.
    """

    key, label = "oracle", "oracle (perfect foresight)"

    def __init__(self, trace: Trace, settings: Settings, rng: np.random.Generator) -> None:
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


POLICIES: tuple[type[Simulated], ...] = (
    AlwaysOn,
    ScheduledOnly,
    NativeAutoscale,
    Sleepwake,
    SleepwakeNaps,
    SleepwakePlanner,
    HybridHistogram,
    Oracle,
)


def simulate(trace: Trace, settings: Settings, keys: tuple[str, ...] | None = None) -> list[PolicyResult]:
    """Every policy on the same trace; savings are against always-on when it is among them."""
    results = []
    for index, cls in enumerate(POLICIES):
        if keys is not None and cls.key not in keys:
            continue
        rng = np.random.default_rng([settings.seed, index])
        results.append(cls(trace, settings, rng).run())
    base = next((r.cost for r in results if r.key == AlwaysOn.key), None)
    if base is None:
        base = trace.hours * settings.price_per_hour
    for result in results:
        result.saving_pct = 100 * (1 - result.cost / base) if base else 0.0
    return results
