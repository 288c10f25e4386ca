"""Keeping the fallback warm in simulated time: the core decides (`sleepwake.core.keep_warm`), this acts.

Each local midnight (wake zone) the driver asks the core for the day's windows users may come in, from the
demand seen before that day (the history and every request since, the fallback's included); it schedules the
pinger's ticks (EventBridge rate(N minutes), aligned to the clock) inside them, or the provisioned concurrency
over them, and pre-warms at the events the mode names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sleepwake.core import DayPlan, PlannerSettings
from sleepwake.core.keep_warm import (
    KeepWarmMode,
    KeepWarmSettings,
    may_come_plan,
    prewarm_on,
    provisioned_spans,
    should_ping,
)
from sleepwake_cli.simulate.engine import Fallback, Sim, slot_counts


class KeepWarmDriver:
    def __init__(
        self,
        sim: Sim,
        fallback: Fallback,
        settings: KeepWarmSettings,
        planner: PlannerSettings,
        history: tuple[datetime, ...],
        tz: str,
        serving: Callable[[], bool],
    ) -> None:
        self.sim, self.fallback, self.settings, self.planner, self.tz = sim, fallback, settings, planner, tz
        self.demand: list[datetime] = sorted(history)
        self.serving = serving
        self.plans: list[DayPlan] = []
        self._plan: DayPlan | None = None

    def schedule(self, start: datetime, horizon: datetime) -> None:
        if self.settings.mode not in (KeepWarmMode.PING, KeepWarmMode.PROVISIONED):
            return
        zone = ZoneInfo(self.tz)
        day = start.astimezone(zone).date()
        self.sim.at(start, self._plan_day, day, horizon)
        while True:
            day += timedelta(days=1)
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            if midnight >= horizon:
                break
            self.sim.at(midnight, self._plan_day, day, horizon)

    def observe(self, at: datetime) -> None:
        """A request arrived (either the component or the fallback answered it): demand for later days."""
        self.demand.append(at)

    def _plan_day(self, day: date, horizon: datetime) -> None:
        plan = may_come_plan(slot_counts(self.demand), day, self.tz, self.planner, self.settings)
        self._plan = plan
        self.plans.append(plan)
        for a, b in provisioned_spans(plan, self.settings):
            self.fallback.provision(max(a, self.sim.now), b)
        if self.settings.mode != KeepWarmMode.PING:
            return
        step = timedelta(minutes=self.settings.ping_minutes)
        epoch = datetime(2000, 1, 1, tzinfo=self.sim.now.tzinfo)
        for a, b in plan.spans():
            a = max(a, self.sim.now)
            tick = a + (-(a - epoch)) % step  # the first aligned tick at or after a
            while tick < min(b, horizon):
                self.sim.at(tick, self._tick)
                tick += step

    def _tick(self) -> None:
        if self._plan is not None and should_ping(self.sim.now, self._plan, self.serving(), self.settings):
            self.fallback.ping()

    def on_sleep(self) -> float:
        """At a sleep: pre-warm when the mode says so; returns the seconds until the fallback is warm (0: it is)."""
        if prewarm_on("sleep", self.sim.now, self._plan, self.settings):
            return self.fallback.ping()
        return 0.0

    def on_intent(self) -> None:
        if prewarm_on("intent", self.sim.now, self._plan, self.settings):
            self.fallback.ping()

    def details(self) -> dict[str, object]:
        return {
            "mode": self.settings.mode.value,
            "pings": self.fallback.pings,
            "provisioned_hours": round(sum((b - a).total_seconds() for a, b in self.fallback.provisioned) / 3600, 1),
            "may_come_hours": round(sum(p.awake_minutes for p in self.plans) / 60, 1),
        }
