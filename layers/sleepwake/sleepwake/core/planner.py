"""The learned schedule: when users are likely to come, from the component's own request history.

Input: request counts per 5-minute slot (CloudWatch `Invocations` of the component and of the fallback endpoint,
summed: a request the fallback answered is demand too) over the last 14-28 days. Output: a plan for a day, in
the wake zone's local time: windows to be awake in, each woken one provisioning time plus a margin ahead.

How it learns (every step a plain function of the history, the settings and the day planned):
1. Each past day is a row of 288 slots, 1 where a slot saw a request, 0 where it saw none.
2. The demand profile of a slot on the planned day is a weighted mean of that slot over past days of the same
   kind (workday or weekend; a workday without any request counts as a holiday and is left out of the
   workday pool), each day weighing `0.5 ** (age / half_life_days)` and a day on the same weekday weighing
   `same_weekday_boost` times more. Pooling the workdays is what makes a shift in customers' hours show within
   a few days instead of a few weeks; the boost keeps a weekday's own shape (a late Friday) when it has one.
3. A slot is likely to have traffic when its profile is at least `likely`. Likely slots make windows; gaps
   shorter than `bridge_minutes` are bridged (sleeping through them costs more than it saves: the instance
   is billed ~10 minutes after 0 copies and from the start of the next scale-up), windows shorter than
   `min_window_minutes` (not counting the lookahead) are dropped: the fallback answers a stray request more
   cheaply than a wake.
   Or, with `miss_cost_minutes` (the fallback's cost in the choice), a slot is awake where a nap started in it
   would save fewer instance-minutes than one user meeting the napping component costs (`nap_saving_minutes`):
   the minutes from the instance's release to the next request, less the wake's, in expectation over the
   chance of a request after an idle slot (`idle_hazard`; past midnight, the next day's). A short lull in a
   busy hour stays awake (the next user comes before the release), a long one naps; a dearer miss wakes earlier
   before the first user. The saving already weighs the release and the wake, so nothing is bridged or dropped.
4. With fewer than `min_history_days` days of history the planner does not guess: it says so and the
   configured crons apply.

Sources: EC2 Auto Scaling predictive scaling forecasts from 14 days of history and acts ahead of the forecast;
Shahrad et al., "Serverless in the Wild", USENIX ATC 2020, for learning per-application patterns
(docs/aws-behaviour.md §8). The thresholds' defaults are chosen on the simulator (docs/simulate.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sleepwake.core import defaults

SLOT_MINUTES = 5
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES


@dataclass(frozen=True)
class PlannerSettings:
    min_history_days: int = 7
    max_history_days: int = 28
    half_life_days: float = 4.0
    same_weekday_boost: float = 3.0
    likely: float = 0.85
    # A slot counts as likely when traffic is likely within this many minutes from it: a session that starts
    # in a ramp (the first users of the morning) is caught by a window that opens before it.
    lookahead_minutes: int = 15
    bridge_minutes: int = 30
    min_window_minutes: int = 20
    lead_seconds: int = 300  # one provisioning time (240 s by default) plus a margin
    # A request that meets no capacity outside every planned window: wake for it (True), or let the fallback
    # answer it alone (False: only the plan and intents wake the instance there). The fallback's cost in the
    # planner's choice: kept warm where users may come (core.keep_warm), the fallback answers such a request in
    # ~2 s for a fraction of a cent, where a wake bills the instance 15-30 minutes. More requests then go to the
    # fallback; `sleepwake simulate --frontier` shows the trade.
    wake_outside_windows: bool = True
    # Step 3's other rule: awake where a nap saves fewer instance-minutes than this (None: the `likely` rule).
    miss_cost_minutes: float | None = defaults.PLANNER_MISS_COST_MINUTES
    # The instance is billed this long after its copies go (docs/aws-behaviour.md §2): a nap saves nothing sooner.
    release_minutes: float = defaults.INSTANCE_RELEASE_MINUTES
    hazard_smoothing_minutes: int = defaults.PLANNER_HAZARD_SMOOTHING_MINUTES

    def __post_init__(self) -> None:
        if not 0 < self.likely <= 1:
            raise ValueError(f"likely must be in (0, 1], got {self.likely}")
        if self.miss_cost_minutes is not None and not self.miss_cost_minutes >= 0:
            raise ValueError(f"miss_cost_minutes must be 0 or more (or None), got {self.miss_cost_minutes}")
        if self.release_minutes < 0 or self.hazard_smoothing_minutes < 0:
            raise ValueError("release_minutes and hazard_smoothing_minutes must not be negative")
        if self.min_history_days < 1 or self.max_history_days < self.min_history_days:
            raise ValueError("need 1 <= min_history_days <= max_history_days")
        if self.half_life_days <= 0 or self.same_weekday_boost < 1:
            raise ValueError("half_life_days must be > 0 and same_weekday_boost >= 1")


@dataclass(frozen=True)
class Window:
    """Awake from `start` to `end` (local wall-clock times of the planned day; `end` may be 24:00 as None)."""

    start_slot: int
    end_slot: int  # exclusive

    @property
    def start(self) -> time:
        return _slot_time(self.start_slot)

    @property
    def minutes(self) -> int:
        return (self.end_slot - self.start_slot) * SLOT_MINUTES


@dataclass(frozen=True)
class DayPlan:
    """The plan for one local day: its awake windows, how it was made and why."""

    day: date
    tz: str
    learned: bool
    reason: str
    windows: tuple[Window, ...] = ()
    profile: tuple[float, ...] = field(default=(), repr=False)  # per slot, for the heatmap
    lead_seconds: int = 300

    def _at(self, slot: int) -> datetime:
        """Local wall-clock time of a slot boundary (a DST day keeps wall times, as the crons do)."""
        naive = datetime.combine(self.day, time(0)) + timedelta(minutes=slot * SLOT_MINUTES)
        return naive.replace(tzinfo=ZoneInfo(self.tz))

    def wake_times(self) -> list[datetime]:
        """When to start each planned wake: one lead before each window."""
        return [self._at(w.start_slot) - timedelta(seconds=self.lead_seconds) for w in self.windows]

    def spans(self) -> list[tuple[datetime, datetime]]:
        """Each window as (pre-wake, end) instants."""
        return [
            (self._at(w.start_slot) - timedelta(seconds=self.lead_seconds), self._at(w.end_slot)) for w in self.windows
        ]

    def is_awake(self, at: datetime) -> bool:
        """Inside a planned window (its lead included)."""
        return any(a <= at < b for a, b in self.spans())

    @property
    def awake_minutes(self) -> int:
        return sum(w.minutes for w in self.windows)


def _slot_time(slot: int) -> time:
    minutes = (slot * SLOT_MINUTES) % (24 * 60)
    return time(minutes // 60, minutes % 60)


def day_rows(
    history: Iterable[tuple[datetime, float]], tz: str, before: date, settings: PlannerSettings
) -> dict[date, list[int]]:
    """Per local day before `before` (and within max_history_days of it): 1 per slot that saw a request."""
    zone = ZoneInfo(tz)
    first = before - timedelta(days=settings.max_history_days)
    rows: dict[date, list[int]] = {}
    for at, count in history:
        local = at.astimezone(zone)
        day = local.date()
        if not first <= day < before:
            continue
        row = rows.setdefault(day, [0] * SLOTS_PER_DAY)
        if count > 0:
            row[(local.hour * 60 + local.minute) // SLOT_MINUTES] = 1
    return rows


def _is_workday(day: date) -> bool:
    return day.weekday() < 5


def comparable_days(day: date, rows: dict[date, list[int]], settings: PlannerSettings) -> list[tuple[float, list[int]]]:
    """Step 2 above: (weight, row) of each past day of the same kind as `day`."""
    workday = _is_workday(day)
    out = []
    for past, row in rows.items():
        if _is_workday(past) != workday:
            continue
        if workday and not any(row):
            continue  # a workday nobody used: a holiday, not a pattern
        weight = 0.5 ** ((day - past).days / settings.half_life_days)
        if past.weekday() == day.weekday():
            weight *= settings.same_weekday_boost
        out.append((weight, row))
    return out


def profile_for(day: date, rows: dict[date, list[int]], settings: PlannerSettings) -> list[float]:
    """Step 2 above: the weighted share of comparable past days that saw a request in each slot."""
    totals = [0.0] * SLOTS_PER_DAY
    weight_sum = 0.0
    for weight, row in comparable_days(day, rows, settings):
        weight_sum += weight
        for slot, seen in enumerate(row):
            if seen:
                totals[slot] += weight
    return [t / weight_sum for t in totals] if weight_sum else totals


def idle_hazard(day: date, rows: dict[date, list[int]], settings: PlannerSettings) -> list[float]:
    """Per slot: the chance that a request comes in it when none came in the slot before (a user the component
    would meet napping), over comparable past days weighted as in step 2, averaged over `hazard_smoothing_minutes`
    either side; 1 where those days were never idle in the slot before. The slot before midnight is taken as idle.
    Without any comparable day (no day of this kind saw a request: CloudWatch has no datum for an empty day),
    nobody is expected: 0 everywhere, as the `likely` rule's profile plans such a day asleep."""
    came = [0.0] * SLOTS_PER_DAY
    idle = [0.0] * SLOTS_PER_DAY
    days = comparable_days(day, rows, settings)
    if not days:
        return idle
    for weight, row in days:
        for slot in range(SLOTS_PER_DAY):
            if slot and row[slot - 1]:
                continue  # busy in the slot before: this day says nothing about a user coming to an idle component
            idle[slot] += weight
            if row[slot]:
                came[slot] += weight
    k = settings.hazard_smoothing_minutes // SLOT_MINUTES
    out = []
    for slot in range(SLOTS_PER_DAY):
        lo, hi = max(0, slot - k), min(SLOTS_PER_DAY, slot + k + 1)
        # Never idle in this slot on those days: users were always there (the neighbours would say otherwise at
        # the edges of a busy spell, and end its window before its last users).
        out.append(sum(came[lo:hi]) / sum(idle[lo:hi]) if idle[slot] else 1.0)
    return out


def nap_saving_minutes(
    hazard: Sequence[float], next_day_hazard: Sequence[float], settings: PlannerSettings
) -> list[float]:
    """Per slot of the planned day: the instance-minutes a nap started there saves against staying awake until the
    next request, in expectation: the minutes from the instance's release (`release_minutes` after the copies go) to
    the next request, less one wake's billed minutes (`lead_seconds`) when that request comes after the release.
    Idle slots follow one another with the chance 1 - hazard: the planned day's `hazard`, then past midnight the
    next day's (`next_day_hazard`: a Friday evening looks ahead to Saturday, a Sunday evening to Monday's first
    users, never back to the morning of the day itself). It looks one day ahead from each slot; a longer stretch
    with nobody counts as that day (a lower bound, and already far above any miss cost)."""
    ahead = list(hazard) + list(next_day_hazard)
    n = len(hazard)
    release = math.ceil(settings.release_minutes / SLOT_MINUTES)
    wake_minutes = settings.lead_seconds / 60
    out = []
    for slot in range(n):
        still_idle, after_release, idle_at_release = 1.0, 0.0, 1.0
        for step in range(1, min(n, len(ahead) - 1 - slot) + 1):
            still_idle *= 1 - ahead[slot + step]
            if step == release:
                idle_at_release = still_idle
            elif step > release:
                after_release += SLOT_MINUTES * still_idle
            if still_idle < 1e-4:
                break
        out.append(after_release - wake_minutes * idle_at_release)
    return out


def within(profile: Sequence[float], lookahead_minutes: int) -> list[float]:
    """The chance of traffic in a slot or the slots of the next `lookahead_minutes` (slots taken as independent)."""
    ahead = lookahead_minutes // SLOT_MINUTES
    out = []
    for slot in range(len(profile)):
        none = 1.0
        for p in profile[slot : slot + ahead + 1]:
            none *= 1 - p
        out.append(1 - none)
    return out


def windows_from(profile: Sequence[float], settings: PlannerSettings) -> tuple[Window, ...]:
    """Step 3 above: likely slots -> windows, short gaps bridged, short windows dropped."""
    likely = [p >= settings.likely for p in within(profile, settings.lookahead_minutes)]
    return _windows(likely, settings.bridge_minutes, settings.min_window_minutes + settings.lookahead_minutes)


def _windows(awake: Sequence[bool], bridge_minutes: int, min_minutes: int) -> tuple[Window, ...]:
    raw: list[list[int]] = []
    for slot, yes in enumerate(awake):
        if not yes:
            continue
        if raw and slot - raw[-1][1] <= bridge_minutes // SLOT_MINUTES:
            raw[-1][1] = slot + 1  # adjacent, or a gap too short to be worth a sleep
        else:
            raw.append([slot, slot + 1])
    # (The lookahead opens every window that much early; the length that counts is what follows it.)
    keep = [w for w in raw if (w[1] - w[0]) * SLOT_MINUTES >= min_minutes]
    return tuple(Window(a, b) for a, b in keep)


def plan_day(
    history: Iterable[tuple[datetime, float]], day: date, tz: str, settings: PlannerSettings | None = None
) -> DayPlan:
    """The plan for local `day` in `tz`, from history strictly before that day: it never sees the day itself."""
    settings = settings or PlannerSettings()
    rows = day_rows(history, tz, day, settings)
    seen_days = len(rows)
    if seen_days < settings.min_history_days:
        return DayPlan(
            day,
            tz,
            learned=False,
            reason=(
                f"{seen_days} day(s) of history, fewer than {settings.min_history_days}: the configured schedules apply"
            ),
            lead_seconds=settings.lead_seconds,
        )
    profile = profile_for(day, rows, settings)
    if settings.miss_cost_minutes is None:
        windows = windows_from(profile, settings)
        rule = f"slots with traffic on >= {settings.likely:.0%} of comparable days"
    else:
        hazard = idle_hazard(day, rows, settings)
        # The day after, from the same history (still nothing of the planned day itself).
        saving = nap_saving_minutes(hazard, idle_hazard(day + timedelta(days=1), rows, settings), settings)
        # No bridge and no shortest window: the saving already weighs the release and the wake they stand for.
        windows = _windows([minutes < settings.miss_cost_minutes for minutes in saving], 0, 0)
        rule = f"slots where a nap saves under {settings.miss_cost_minutes:g} instance-minutes"
    kind = "workday" if _is_workday(day) else "weekend day"
    awake = sum(w.minutes for w in windows)
    reason = (
        f"learned from {seen_days} days: {len(windows)} window(s), {awake // 60} h {awake % 60:02d} min awake on this "
        f"{kind} ({rule})"
    )
    return DayPlan(
        day,
        tz,
        learned=True,
        reason=reason,
        windows=windows,
        profile=tuple(profile),
        lead_seconds=settings.lead_seconds,
    )


def wakes_on_demand(plan: DayPlan | None, at: datetime, settings: PlannerSettings) -> bool:
    """Should a request that met no capacity at `at` start a wake? Yes without a learned plan, yes inside a
    planned window (its lead included), and outside them only when `wake_outside_windows`."""
    if plan is None or not plan.learned or settings.wake_outside_windows:
        return True
    return plan.is_awake(at)


def plan_week(
    history: Sequence[tuple[datetime, float]], first_day: date, tz: str, settings: PlannerSettings | None = None
) -> list[DayPlan]:
    """Seven day plans from the same history (the stored plan; recomputed daily, so each day sees its eve)."""
    return [plan_day(history, first_day + timedelta(days=i), tz, settings) for i in range(7)]
