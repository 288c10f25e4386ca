"""Sleepwake replayed: its decisions come from `sleepwake.core`, never from here."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from sleepwake.core import (
    DayPlan,
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
    wake_hold_minutes,
)
from sleepwake.core.planner import wakes_on_demand
from sleepwake_cli.simulate.base import Simulated, SimulationError, SimulationSettings, firings
from sleepwake_cli.simulate.engine import slot_counts
from sleepwake_cli.simulate.trace import Request, Trace


class Sleepwake(Simulated):
    """The control plane: schedule firings, intent /wake, no-capacity /wake and idle checks, each decided by
    `sleepwake.core`; a wake polls the copies with `check_scale` and warms with `is_warm` before READY.

    On a no-capacity error the product calls /wake, polls /status until READY (docs/aws-behaviour.md §4: a wake answers
    202), so a request that met no capacity is served when the record turns READY.
    """

    key, label = "sleepwake", "sleepwake"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        self.policy = settings.sleepwake.policy(settings.prov)
        quiet = self.policy.quiet_hours.is_quiet(trace.start)
        super().__init__(trace, settings, rng, serving=not quiet)
        self.record = StateRecord(state=State.ASLEEP if quiet else State.READY, since=trace.start)
        self.invocations: list[datetime] = []  # what CloudWatch's Invocations sum is computed from
        self.decisions: Counter[str] = Counter()
        self._ops = 0
        self._idle_checks = 0

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
        if trigger in ("intent", "no_capacity"):  # the product's /wake: its keep_awake_minutes or the policy's hold
            asked = self.settings.sleepwake.intent_lease_minutes if trigger == "intent" else 0
            minutes = wake_hold_minutes(asked or None, self.policy)
            until = extend_lease(self.record.lease_until, self.sim.now, minutes, self.policy)
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

    def before_sleep(self) -> float:
        """Seconds the sleep waits before setting the copies to 0: the fallback policies warm the fallback first
        when the keep-warm mode says so, so nobody meets its cold start right after the copy goes."""
        return 0.0

    def control_plane_cost(self) -> float:
        return self._idle_checks * self.settings.control_plane.per_check

    def _sleep(self, trigger: str) -> None:
        if trigger == "idle" and self.sim.now < self.trace.end:
            self._idle_checks += 1
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
        delay = self.before_sleep()
        if delay > 0:
            self.sim.after(delay, self._copies_to_zero, self.record.op_id)
        else:
            self._copies_to_zero(self.record.op_id)

    def _copies_to_zero(self, op_id: str | None) -> None:
        if self.record.op_id != op_id or self.record.state != State.SLEEPING:
            return  # a wake superseded the sleep meanwhile
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

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng)
        self.policy = settings.sleepwake.policy(settings.prov, naps=True)
        self.fallback = self.use_fallback()
        self._last_signal: datetime | None = None
        self._signals = 0
        self._last_intent: datetime | None = None
        self.fallback_why: Counter[str] = Counter()

    def _arrive(self, request: Request) -> None:
        if self.comp.serving:
            super()._arrive(request)
            return
        self.answer_by_fallback()
        self._count_why()
        window = timedelta(seconds=self.settings.sleepwake.wake_signal_seconds)
        if self._last_signal is None or self.sim.now - self._last_signal >= window:
            self._last_signal = self.sim.now
            self._signals += 1
            self._wake("no_capacity")

    def _count_why(self) -> None:
        """Why a request went to the fallback, each reason counted apart (a request may have several)."""
        hold = timedelta(minutes=self.settings.sleepwake.wake_hold_minutes)
        announced = self._last_intent is not None and self.sim.now - self._last_intent <= hold
        self.fallback_why["announced by an intent too late" if announced else "unannounced"] += 1
        if self.comp.provisioning:
            self.fallback_why["came while a wake was under way"] += 1
        else:
            self.fallback_why["met the component asleep"] += 1
            if self.comp.instance_up:  # the nap had saved nothing yet
                self.fallback_why["met a nap before its instance was released"] += 1

    def on_intent(self) -> None:
        self._last_intent = self.sim.now
        if self._wake("intent") and self.fallback is not None:
            self.fallback.prewarm()
        elif self.keep_warm is not None:
            self.keep_warm.on_intent()

    def before_sleep(self) -> float:
        return 0.0 if self.keep_warm is None else self.keep_warm.on_sleep()

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "fallback": {
                **self.fallback_details(),
                "wake_signals": self._signals,
                "why": dict(sorted(self.fallback_why.items())),
            },
        }


class SleepwakePlanner(SleepwakeNaps):
    """Sleepwake with the learned schedule and the fallback: every local midnight (wake zone) it plans the day
    from the demand seen before it (`sleepwake.core.plan_day`: never the day itself), wakes one lead before each
    planned window, naps outside the windows after `nap_idle_minutes` and inside them only after
    `planned_idle_minutes`. Days with too little history keep the configured crons."""

    key, label = "sleepwake_planner", "sleepwake + planner + fallback"

    def __init__(self, trace: Trace, settings: SimulationSettings, rng: np.random.Generator) -> None:
        super().__init__(trace, settings, rng)
        # As the live idle check (sleepwake/control/sleep.py): UnplannedIdleMinutes on a learned day outside
        # its windows (planned_idle_minutes inside them), NapIdleMinutes on a day the crons keep.
        self._crons_policy = self.policy
        self._learned_policy = self.policy.model_copy(
            update={"idle_minutes": settings.sleepwake.unplanned_idle_minutes}
        )
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

    def _count_why(self) -> None:
        super()._count_why()
        self.fallback_why["inside a planned window" if self.planned_awake() else "outside the planned windows"] += 1

    def planned_awake(self) -> bool:
        return self.plan is not None and self.plan.learned and self.plan.is_awake(self.sim.now)

    def _wake(self, trigger: str) -> bool:
        if trigger == "schedule" and self.plan is not None and self.plan.learned:
            return False  # the plan replaces the morning cron on days it has learned
        if trigger == "no_capacity" and not wakes_on_demand(self.plan, self.sim.now, self.settings.planner):
            self.decisions["wake no_capacity: the fallback answers outside the plan"] += 1
            return False
        return super()._wake(trigger)

    def _sleep(self, trigger: str) -> None:
        learned = self.plan is not None and self.plan.learned
        if trigger == "schedule" and learned:
            return  # naps replace the night cron on learned days
        self.policy = self._learned_policy if learned else self._crons_policy
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
