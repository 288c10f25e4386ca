"""When to keep the serverless fallback warm: a pure function of the learned demand, the mode and the time.

While the inference component sleeps, a request is answered by the serverless CPU fallback. An idle on-demand
serverless endpoint scales to 0 and the next request meets a cold start ("in the order of seconds", longer for
large containers: SageMaker developer guide, "Deploy models with Amazon SageMaker Serverless Inference"); with
the team's PyTorch CPU image that is 10-20 s, the slow answers issue 14 counts. The modes:

- `none`: nothing beyond today's pre-warm on an intent that starts a wake; cold whenever idle past the eviction.
- `ping`: one request every `ping_minutes` while the component does not serve, and one at each sleep (before
  the copies go), only inside the windows in which users may come (`may_come_plan`). How long an idle
  serverless container stays warm is NOT published by AWS (docs/aws-behaviour.md §8): the eviction is an
  assumption of the caller, and a ping keeps the endpoint warm only if `ping_minutes` is below it.
- `provisioned`: ServerlessConfig ProvisionedConcurrency 1 over the same windows, scheduled with Application
  Auto Scaling scheduled actions on `sagemaker:variant:DesiredProvisionedConcurrency` (AWS ML blog "Announcing
  provisioned concurrency for Amazon SageMaker Serverless Inference"; developer guide "Automatically scale
  Provisioned Concurrency for a serverless endpoint"): warm "within milliseconds", billed per memory x time
  provisioned, whether or not the component sleeps (a schedule cannot follow naps).
- `prewarm`: one request at every sleep and at every intent /wake, so the fallback is warm for one eviction
  period after each; no schedule.

The windows users may come in are the planner's demand profile (`sleepwake.core.planner`) read with a low bar
(`may_come`, a share of comparable days) instead of the planner's `likely`: the planner wakes the instance
where traffic is likely, keep-warm covers where it is possible. Pre-warming where the history says a request
may come is the hybrid histogram's idea (Shahrad et al., "Serverless in the Wild", USENIX ATC 2020).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sleepwake.core import defaults
from sleepwake.core.planner import (
    SLOT_MINUTES,
    SLOTS_PER_DAY,
    DayPlan,
    PlannerSettings,
    Window,
    day_rows,
    profile_for,
)


class KeepWarmMode(StrEnum):
    NONE = "none"
    PING = "ping"
    PROVISIONED = "provisioned"
    PREWARM = "prewarm"


# The template's FallbackKeepWarm default (what a deployed stack does unless told otherwise).
DEFAULT_MODE = KeepWarmMode(defaults.FALLBACK_KEEP_WARM)


@dataclass(frozen=True)
class KeepWarmSettings:
    mode: KeepWarmMode = DEFAULT_MODE
    # A slot is one users may come in when traffic was seen within `radius_minutes` of it on at least this share
    # of comparable past days (weighted as the planner weighs them). 0: every slot of every day.
    may_come: float = 0.02
    # Sparse demand (a weekend, a night) lands on other minutes each day: a request seen at 12:25 says users may
    # come around noon, not at 12:25 only. The hours around each request seen count as the hours it says.
    radius_minutes: int = 60
    # EventBridge rate(N minutes); must stay below the (unpublished) idle eviction
    ping_minutes: int = defaults.FALLBACK_PING_MINUTES
    # Windows open this long before the first slot users may come in: the first ping's (or the provisioned
    # concurrency's) cold start is over before them.
    lead_seconds: int = 300
    # Gaps between windows shorter than this are kept warm too: a ping costs far less than a cold answer, and
    # sparse days (a weekend) leave gaps no history covers (180: a held-out Saturday's 13:16 request met a cold
    # fallback at 60, for $0.01 a week more).
    bridge_minutes: int = 180

    def __post_init__(self) -> None:
        if not 0 <= self.may_come <= 1:
            raise ValueError(f"may_come must be in [0, 1], got {self.may_come}")
        if self.ping_minutes < 1:
            raise ValueError(f"ping_minutes must be 1 or more, got {self.ping_minutes}")
        if self.lead_seconds < 0 or self.bridge_minutes < 0 or self.radius_minutes < 0:
            raise ValueError("lead_seconds, bridge_minutes and radius_minutes must not be negative")


def pings_keep_warm(ping_minutes: float, idle_evict_minutes: float) -> bool:
    """Whether a ping every `ping_minutes` keeps warm a serverless endpoint assumed evicted after
    `idle_evict_minutes` idle (the template's FallbackPingMinutes and FallbackIdleEvictMinutes): only when each
    comes before the eviction (one at the eviction's minute races it). Otherwise every ping meets a cold start
    and is billed for it, and a user who comes between two pings meets one too."""
    return ping_minutes < idle_evict_minutes


def may_come_plan(
    history: Iterable[tuple[datetime, float]],
    day: date,
    tz: str,
    planner: PlannerSettings,
    settings: KeepWarmSettings,
) -> DayPlan:
    """The windows of local `day` in which a user may come, from request counts per 5-minute slot before it.

    Too little history (fewer than the planner's `min_history_days`) or `may_come` 0: the whole day, since
    nothing says nobody comes."""
    rows = day_rows(history, tz, day, planner)
    whole_day = (Window(0, SLOTS_PER_DAY),)
    if len(rows) < planner.min_history_days or settings.may_come == 0:
        why = "may_come 0" if settings.may_come == 0 else f"{len(rows)} day(s) of history"
        return DayPlan(day, tz, False, f"{why}: warm all day", whole_day, lead_seconds=0)
    radius = settings.radius_minutes // SLOT_MINUTES
    chance = profile_for(day, {d: _dilate(row, radius) for d, row in rows.items()}, planner)
    windows: list[list[int]] = []
    for slot, p in enumerate(chance):
        if p < settings.may_come:
            continue
        if windows and slot - windows[-1][1] <= settings.bridge_minutes // SLOT_MINUTES:
            windows[-1][1] = slot + 1
        else:
            windows.append([slot, slot + 1])
    minutes = sum(b - a for a, b in windows) * SLOT_MINUTES
    reason = f"{len(windows)} window(s), {minutes // 60} h {minutes % 60:02d} min in which users may come"
    return DayPlan(
        day,
        tz,
        True,
        reason,
        tuple(Window(a, b) for a, b in windows),
        lead_seconds=settings.lead_seconds,
    )


def _dilate(row: list[int], radius: int) -> list[int]:
    """1 in every slot within `radius` slots of a slot that saw a request (the day's edges cut it)."""
    seen = [0]
    for value in row:
        seen.append(seen[-1] + (1 if value else 0))
    n = len(row)
    return [1 if seen[min(n, i + radius + 1)] - seen[max(0, i - radius)] else 0 for i in range(n)]


class MayCome(Protocol):
    """When users may come: a day's `may_come_plan`, or the stored plan as the control plane reads it
    (sleepwake.core.applied_plan.StoredMayCome)."""

    def is_awake(self, at: datetime) -> bool: ...


def should_ping(now: datetime, may_come: MayCome, component_serving: bool, settings: KeepWarmSettings) -> bool:
    """At a ping tick: ping the fallback when the mode pings, the component does not serve (the fallback
    answers) and users may come now."""
    return settings.mode == KeepWarmMode.PING and not component_serving and may_come.is_awake(now)


def prewarm_on(event: str, now: datetime, may_come: MayCome | None, settings: KeepWarmSettings) -> bool:
    """Pre-warm the fallback at this event ('sleep' or 'intent')? The prewarm mode does at both. The ping mode
    does at a sleep in a window users may come in: the fallback went cold while the component served, and the
    next ping tick may be minutes away."""
    if settings.mode == KeepWarmMode.PREWARM:
        return event in ("sleep", "intent")
    if settings.mode == KeepWarmMode.PING and event == "sleep":
        return may_come is not None and may_come.is_awake(now)
    return False


def provisioned_spans(may_come: DayPlan, settings: KeepWarmSettings) -> list[tuple[datetime, datetime]]:
    """The scheduled actions of the provisioned mode: ProvisionedConcurrency 1 from each start, 0 at each end."""
    return may_come.spans() if settings.mode == KeepWarmMode.PROVISIONED else []


@dataclass(frozen=True)
class Warmth:
    """Whether the fallback is warm now, as far as its requests say, and since when (None: not in the history
    read, so cold since before it)."""

    warm: bool
    since: datetime | None


def fallback_warmth(request_minutes: Iterable[datetime], now: datetime, evict_seconds: float) -> Warmth:
    """Warm or cold from the minutes in which the fallback served requests (CloudWatch Invocations, 1-minute
    periods): warm while the last one is less than `evict_seconds` old, since the first of the run of requests no
    gap of `evict_seconds` interrupted; cold since the last request plus `evict_seconds`. The eviction is the
    caller's assumption (AWS publishes none, docs/aws-behaviour.md §8): this says what the container likely is."""
    minutes = sorted(m for m in request_minutes if m <= now)
    if not minutes:
        return Warmth(False, None)
    evict = timedelta(seconds=evict_seconds)
    # A 1-minute datapoint's request may have come at any second of it: count it as at the minute's end.
    last = minutes[-1] + timedelta(minutes=1)
    if now - last >= evict:
        return Warmth(False, last + evict)
    start = minutes[-1]
    for earlier in reversed(minutes[:-1]):
        if start - (earlier + timedelta(minutes=1)) >= evict:
            break
        start = earlier
    return Warmth(True, start)
